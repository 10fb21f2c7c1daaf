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
    /// The account's token generation when the token was issued (0 for tokens minted outside
    /// the auth function, e.g. `make token`).
    #[serde(default, rename = "gen")]
    pub generation: u64,
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
        generation: u64,
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
            generation,
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
    /// Issued before the account was disabled, changed role or signed out everywhere.
    #[error("the access token was revoked; sign in again")]
    Revoked,
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
            generation: data.claims.generation,
            grants: Vec::new(),
            email_verified: true,
            expires_at: data.claims.exp,
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
    /// The account's token generation the token was issued in.
    pub generation: u64,
    /// Permissions granted to the account beyond its role, as the account says now (the
    /// request extractor reads them with the generation; the token does not carry them).
    pub grants: Vec<Permission>,
    /// Whether the account's address is verified, read like `grants` (true for tokens that
    /// name no account, which operators mint for tooling).
    pub email_verified: bool,
    /// When the token expires (`exp`, seconds since the epoch).
    pub expires_at: i64,
}

impl Caller {
    /// Whether the caller's role, or a grant, holds `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.role.allows(permission) || self.grants.contains(&permission)
    }
}

#[cfg(test)]
#[path = "tokens_test.rs"]
mod tests;
