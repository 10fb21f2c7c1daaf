//! Access-token claims, issuing and verification.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{Jwks, Permission, Role, SigningKey};

/// The claims of a Stockroom access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The account id.
    pub sub: String,
    /// The account's role when the token was issued.
    pub role: Role,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not before (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

impl AccessClaims {
    /// Signs these claims with `key`, naming it in the header's `kid`.
    pub fn sign(&self, key: &SigningKey) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid().to_owned());
        jsonwebtoken::encode(&header, self, key.encoding_key()).map_err(|_| TokenError::Invalid)
    }
}

impl AccessClaims {
    /// Claims for `sub` with `role`, valid from now for `ttl`.
    pub fn issue(
        sub: &str,
        role: Role,
        issuer: &str,
        audience: &str,
        ttl: std::time::Duration,
    ) -> Self {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Self {
            sub: sub.to_owned(),
            role,
            iss: issuer.to_owned(),
            aud: audience.to_owned(),
            iat: now,
            nbf: Some(now),
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        }
    }
}

/// Why a token was refused. Deliberately coarse: clients learn nothing useful for forging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No bearer token was presented.
    #[error("no bearer token was presented")]
    Missing,
    /// The token has expired.
    #[error("the access token has expired")]
    Expired,
    /// Malformed, wrongly signed, unknown key, wrong issuer or audience.
    #[error("the access token is not valid")]
    Invalid,
}

/// Verifies access tokens against a JWKS, issuer and audience.
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    jwks: Jwks,
    validation: Validation,
}

impl TokenVerifier {
    /// A verifier accepting tokens signed by any key of `jwks` for `issuer` and `audience`.
    pub fn new(jwks: Jwks, issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        validation.validate_nbf = true;
        Self { jwks, validation }
    }

    /// The public keys tokens are checked against.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// Checks `token` and returns who presented it.
    pub fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.jwks.key(kid))
            .ok_or(TokenError::Invalid)?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            },
        )?;
        Ok(Caller {
            user_id: data.claims.sub,
            role: data.claims.role,
        })
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account id (`sub`).
    pub user_id: String,
    /// The role the token grants.
    pub role: Role,
}

impl Caller {
    /// Whether the caller's role holds `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::JwkSet;

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn claims(exp_in: i64) -> AccessClaims {
        AccessClaims {
            sub: "user-1".into(),
            role: Role::Staff,
            iss: "stockroom".into(),
            aud: "stockroom-api".into(),
            iat: now(),
            nbf: None,
            exp: now() + exp_in,
        }
    }

    fn verifier_for(keys: &[&SigningKey]) -> TokenVerifier {
        let set = JwkSet {
            keys: keys.iter().map(|k| k.public_jwk().unwrap()).collect(),
        };
        TokenVerifier::new(Jwks::from_set(set).unwrap(), "stockroom", "stockroom-api")
    }

    #[test]
    fn a_token_signed_by_a_published_key_is_accepted() {
        let key = SigningKey::generate("k1").unwrap();
        let caller = verifier_for(&[&key])
            .verify(&claims(300).sign(&key).unwrap())
            .unwrap();
        assert_eq!(caller.user_id, "user-1");
        assert_eq!(caller.role, Role::Staff);
    }

    #[test]
    fn tokens_of_either_rotated_key_are_accepted() {
        let old = SigningKey::generate("old").unwrap();
        let new = SigningKey::generate("new").unwrap();
        let verifier = verifier_for(&[&old, &new]);
        assert!(verifier.verify(&claims(300).sign(&old).unwrap()).is_ok());
        assert!(verifier.verify(&claims(300).sign(&new).unwrap()).is_ok());
    }

    #[test]
    fn a_token_from_an_unpublished_key_is_refused() {
        let published = SigningKey::generate("k1").unwrap();
        // Same kid, different key: an attacker cannot borrow a published kid.
        let forged = SigningKey::generate("k1").unwrap();
        let result = verifier_for(&[&published]).verify(&claims(300).sign(&forged).unwrap());
        assert_eq!(result, Err(TokenError::Invalid));
    }

    #[test]
    fn an_expired_token_is_refused_as_expired() {
        let key = SigningKey::generate("k1").unwrap();
        let result = verifier_for(&[&key]).verify(&claims(-120).sign(&key).unwrap());
        assert_eq!(result, Err(TokenError::Expired));
    }

    #[test]
    fn a_token_for_another_audience_is_refused() {
        let key = SigningKey::generate("k1").unwrap();
        let mut c = claims(300);
        c.aud = "someone-else".into();
        let result = verifier_for(&[&key]).verify(&c.sign(&key).unwrap());
        assert_eq!(result, Err(TokenError::Invalid));
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        let key = SigningKey::generate("k1").unwrap();
        let token = claims(300).sign(&key).unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        // {"alg":"none","kid":"k1"}
        parts[0] = "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ";
        parts[2] = "";
        let result = verifier_for(&[&key]).verify(&parts.join("."));
        assert_eq!(result, Err(TokenError::Invalid));
    }

    #[test]
    fn a_signing_key_survives_storage_as_pkcs8() {
        let key = SigningKey::generate("k1").unwrap();
        let restored = SigningKey::from_pkcs8("k1", key.pkcs8()).unwrap();
        assert!(
            verifier_for(&[&key])
                .verify(&claims(300).sign(&restored).unwrap())
                .is_ok()
        );
    }
}
