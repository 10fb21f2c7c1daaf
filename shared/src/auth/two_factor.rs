//! TOTP two-factor authentication (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of drift)
//! and one-time recovery codes.

use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::random::{digest, random_bytes};

/// The issuer shown in authenticator apps.
pub const ISSUER: &str = "Stockroom";
/// How many recovery codes an account gets when it enables two-factor.
pub const RECOVERY_CODES: usize = 10;

/// A fresh 160-bit TOTP secret, base32-encoded as authenticator apps expect.
pub fn new_secret() -> String {
    Secret::from(random_bytes::<20>().to_vec()).to_base32()
}

fn totp(secret_base32: &str, account: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret_base32).ok()?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .ok()
}

/// The `otpauth://` URI an authenticator app scans.
pub fn provisioning_uri(secret_base32: &str, account: &str) -> Option<String> {
    totp(secret_base32, account)?.to_url().ok()
}

/// The time step `code` is valid for at `unix_time` (allowing one step of drift either way),
/// or `None`. Callers must refuse a step at or before the last one accepted, so each code
/// works once.
pub fn matching_step(secret_base32: &str, code: &str, unix_time: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret_base32, "account")?.check(code, unix_time)
}

/// The code for `unix_time` (for tests and tooling).
pub fn code_at(secret_base32: &str, unix_time: u64) -> Option<String> {
    Some(
        totp(secret_base32, "account")?
            .generate(unix_time)
            .to_string(),
    )
}

/// The letters recovery codes are made of (no look-alikes: no `i`, `l`, `o`, `0`, `1`).
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// The letter a random byte stands for, or `None` for the top bytes that would favour the
/// first letters (256 is not a multiple of the alphabet's 31): those are drawn again.
fn symbol(byte: u8) -> Option<char> {
    let accepted = 256 - 256 % ALPHABET.len();
    let b = usize::from(byte);
    (b < accepted).then(|| char::from(ALPHABET[b % ALPHABET.len()]))
}

/// Fresh recovery codes (shown once) and the digests to store.
pub fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let mut raw = String::with_capacity(10);
            while raw.len() < 10 {
                raw.extend(
                    random_bytes::<16>()
                        .into_iter()
                        .filter_map(symbol)
                        .take(10 - raw.len()),
                );
            }
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect();
    let digests = codes.iter().map(|c| digest(c)).collect();
    (codes, digests)
}

/// The stored digest of a recovery code as typed (case and surrounding space ignored).
pub fn recovery_code_digest(code: &str) -> String {
    digest(&code.trim().to_lowercase())
}

#[cfg(test)]
#[path = "two_factor_test.rs"]
mod tests;
