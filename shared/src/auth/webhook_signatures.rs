//! Signed webhooks: HMAC-SHA256 of the raw body under a shared secret, lowercase hex, compared
//! in constant time (`aws_lc_rs::hmac::verify`). Razorpay signs its deliveries this way, and
//! carriers posting tracking updates sign theirs the same way.

use aws_lc_rs::hmac;

/// Lowercase hex HMAC-SHA256 of `message` under `secret` (what Razorpay sends).
pub fn sign_hex(secret: &str, message: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hex(hmac::sign(&key, message).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether `signature_hex` is the HMAC of `message` under `secret`, in constant time.
pub(crate) fn valid(secret: &str, message: &[u8], signature_hex: &str) -> bool {
    let Some(tag) = unhex(signature_hex.trim()) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hmac::verify(&key, message, &tag).is_ok()
}

/// The webhook secrets currently accepted: more than one while a secret is being rotated.
#[derive(Clone)]
pub struct WebhookSecrets(Vec<String>);

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookSecrets({} secret(s), redacted)", self.0.len())
    }
}

impl WebhookSecrets {
    /// The given secrets (at least one, none empty).
    pub fn new(secrets: Vec<String>) -> Result<Self, String> {
        if secrets.is_empty() || secrets.iter().any(|s| s.trim().is_empty()) {
            return Err("give at least one non-empty webhook secret".into());
        }
        Ok(Self(secrets))
    }

    /// Whether `signature_hex` is the HMAC of the raw `body` under any accepted secret.
    pub fn verify(&self, body: &[u8], signature_hex: &str) -> bool {
        // Check every secret, so the time taken does not reveal which one matched.
        self.0.iter().fold(false, |found, secret| {
            valid(secret, body, signature_hex) | found
        })
    }
}
