//! Signing keys and the public JWKS that verifies them.

use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

/// A set of public keys, each named by `kid`, that access tokens may be signed with.
#[derive(Clone)]
pub struct Jwks {
    set: JwkSet,
    keys: Vec<(String, DecodingKey)>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|(kid, _)| kid.as_str()).collect();
        f.debug_struct("Jwks").field("kids", &kids).finish()
    }
}

impl Jwks {
    /// Parses a JWKS document. Every key must be an Ed25519 signing key with a `kid`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let set: JwkSet =
            serde_json::from_str(text).map_err(|e| format!("not a JWKS document: {e}"))?;
        Self::from_set(set)
    }

    /// Builds a verifier key set from parsed JWKs.
    pub fn from_set(set: JwkSet) -> Result<Self, String> {
        if set.keys.is_empty() {
            return Err("the key set holds no keys".into());
        }
        let mut keys = Vec::with_capacity(set.keys.len());
        for jwk in &set.keys {
            let kid = jwk
                .common
                .key_id
                .clone()
                .ok_or_else(|| "a key has no 'kid'".to_owned())?;
            if jwk.common.key_algorithm != Some(KeyAlgorithm::EdDSA) {
                return Err(format!("key '{kid}' is not an EdDSA key"));
            }
            let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key '{kid}': {e}"))?;
            keys.push((kid, key));
        }
        Ok(Self { set, keys })
    }

    /// The key named `kid`, if this set holds it.
    pub fn key(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.iter().find(|(k, _)| k == kid).map(|(_, key)| key)
    }

    /// The public document, as served at `/.well-known/jwks.json`.
    pub fn document(&self) -> &JwkSet {
        &self.set
    }
}

/// A private Ed25519 key that signs access tokens, named by `kid`.
pub struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    key: EncodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh key from the system's secure random source.
    pub fn generate(kid: impl Into<String>) -> Result<Self, String> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8v1(&rng)
            .map_err(|_| "could not generate an Ed25519 key".to_owned())?;
        Self::from_pkcs8(kid, doc.as_ref())
    }

    /// Loads a key from its PKCS#8 v1 DER bytes.
    pub fn from_pkcs8(kid: impl Into<String>, der: &[u8]) -> Result<Self, String> {
        let key = EncodingKey::from_ed_der(der);
        // Deriving the public half proves the bytes are a usable Ed25519 key.
        Jwk::from_encoding_key(&key, Algorithm::EdDSA)
            .map_err(|e| format!("not an Ed25519 PKCS#8 key: {e}"))?;
        Ok(Self {
            kid: kid.into(),
            pkcs8: der.to_vec(),
            key,
        })
    }

    /// Loads a key from the secret format `{"kid": "...", "private_key_pkcs8": "<base64 DER>"}`.
    pub fn from_secret_json(text: &str) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        struct Stored {
            kid: String,
            private_key_pkcs8: String,
        }
        use base64::Engine;
        let stored: Stored = serde_json::from_str(text).map_err(|_| {
            "the signing key secret is not {\"kid\", \"private_key_pkcs8\"} JSON".to_owned()
        })?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(stored.private_key_pkcs8.trim())
            .map_err(|_| "private_key_pkcs8 is not base64".to_owned())?;
        Self::from_pkcs8(stored.kid, &der)
    }

    /// The secret format read by [`SigningKey::from_secret_json`].
    pub fn to_secret_json(&self) -> String {
        use base64::Engine;
        serde_json::json!({
            "kid": self.kid,
            "private_key_pkcs8": base64::engine::general_purpose::STANDARD.encode(&self.pkcs8),
        })
        .to_string()
    }

    /// The key's id, written into every token's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A keyed hash (HMAC-SHA-256, hex) of `text` for `purpose`, under a key derived from this
    /// private key: lets the table key something by a personal value (sign-in locks by e-mail
    /// address) without holding the value or a hash anyone could reverse by guessing.
    pub fn keyed_hash(&self, purpose: &str, text: &str) -> String {
        use aws_lc_rs::hmac;
        let root = hmac::Key::new(hmac::HMAC_SHA256, &self.pkcs8);
        let derived = hmac::sign(&root, format!("stockroom keyed hash: {purpose}").as_bytes());
        let key = hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref());
        hmac::sign(&key, text.as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The private key's PKCS#8 DER bytes, for storing it.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.key
    }

    /// The public half as a JWK.
    pub fn public_jwk(&self) -> Result<Jwk, String> {
        let mut jwk = Jwk::from_encoding_key(&self.key, Algorithm::EdDSA)
            .map_err(|e| format!("cannot derive the public key: {e}"))?;
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(jwk)
    }
}
