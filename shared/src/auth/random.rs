//! Secure random values and their storable digests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// `N` bytes from the operating system's secure random source.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The system source only fails when the OS cannot provide randomness at all; the key
    // generation path would fail the same way, so treat it as fatal rather than weaken tokens.
    aws_lc_rs::rand::fill(&mut bytes).unwrap_or_else(|_| panic!("the OS random source failed"));
    bytes
}

/// An opaque, URL-safe token with 256 bits of entropy.
pub fn opaque_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// `n` uniformly random decimal digits (a one-time code to type in).
pub fn random_digits(n: usize) -> String {
    (0..n)
        .map(|_| {
            loop {
                // 250 = 25 * 10: rejecting 250..=255 keeps every digit equally likely.
                let [byte] = random_bytes::<1>();
                if byte < 250 {
                    break char::from(b'0' + byte % 10);
                }
            }
        })
        .collect()
}

/// The SHA-256 of a secret as lowercase hex: what is stored instead of the secret itself.
pub fn digest(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[path = "random_test.rs"]
mod tests;
