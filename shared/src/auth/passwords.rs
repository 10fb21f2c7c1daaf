//! Password hashing with argon2id, and the password policy.
//!
//! Parameters follow OWASP's argon2id recommendation (19 MiB memory, 2 passes, 1 lane): about
//! 15-30 ms per hash on a Lambda core (see docs/PERFORMANCE.md). Hashes are PHC strings that
//! carry their parameters, so raising them later re-hashes each password at its next login.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, Version};

use super::random::random_bytes;

/// Memory cost in KiB.
pub const MEMORY_KIB: u32 = 19_456;
/// Passes over memory.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;
/// Shortest password accepted.
pub const MIN_LENGTH: usize = 10;
/// Longest password accepted (bounds hashing work per request).
pub const MAX_LENGTH: usize = 128;

/// The result of a successful verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The hash uses the current parameters.
    Current,
    /// The hash uses older parameters: store a fresh hash.
    NeedsRehash,
}

fn argon2() -> Argon2<'static> {
    // The constants are valid argon2 parameters; `Params::new` only rejects out-of-range ones.
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .unwrap_or_else(|_| Params::default());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password, checked when an account does not exist so that a failed
/// login costs the same whether or not the e-mail is known. Computed once per process.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash(&super::random::opaque_token()).unwrap_or_default())
}

/// A PHC string for `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|e| e.to_string())?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks `password` against `stored`; `None` stands for an unknown account and is checked
/// against the decoy, so both take the same time. `None` when it does not match.
pub fn verify(password: &str, stored: Option<&str>) -> Option<Verified> {
    // An account without a password (signed up with Google) is checked like an unknown one.
    let stored = stored.filter(|s| !s.is_empty());
    let known = stored.is_some();
    let hash = PasswordHash::new(stored.unwrap_or_else(|| decoy())).ok()?;
    let matches = argon2().verify_password(password.as_bytes(), &hash).is_ok();
    if !(matches && known) {
        return None;
    }
    let current = hash.algorithm == argon2::ARGON2ID_IDENT
        && Params::try_from(&hash).is_ok_and(|p| {
            p.m_cost() == MEMORY_KIB && p.t_cost() == ITERATIONS && p.p_cost() == PARALLELISM
        });
    Some(if current {
        Verified::Current
    } else {
        Verified::NeedsRehash
    })
}

/// Checks a new password against the policy: 10 to 128 characters and not guessable
/// (zxcvbn score of at least 3 of 4, with the account's email and name counted as known).
pub fn check_policy(password: &str, known: &[&str]) -> Result<(), String> {
    let len = password.chars().count();
    if len < MIN_LENGTH {
        return Err(format!(
            "must be at least {MIN_LENGTH} characters, got {len}"
        ));
    }
    if len > MAX_LENGTH {
        return Err(format!(
            "must be at most {MAX_LENGTH} characters, got {len}"
        ));
    }
    let estimate = zxcvbn::zxcvbn(password, known);
    if (estimate.score() as u8) < 3 {
        let mut message = String::from("is too easy to guess");
        if let Some(feedback) = estimate.feedback() {
            if let Some(warning) = feedback.warning() {
                message.push_str(&format!(
                    ": {}",
                    warning.to_string().to_lowercase().trim_end_matches('.')
                ));
            }
            if let Some(tip) = feedback.suggestions().first() {
                message.push_str(&format!(
                    "; {}",
                    tip.to_string().to_lowercase().trim_end_matches('.')
                ));
            }
        }
        return Err(message);
    }
    Ok(())
}

#[cfg(test)]
#[path = "passwords_test.rs"]
mod tests;
