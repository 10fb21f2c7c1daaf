//! Google sign-in: verifies the ID tokens Google Identity Services gives web and mobile apps
//! (RS256 JWTs) against Google's published keys, which are cached as long as Google's
//! `Cache-Control` allows and fetched again when a token names a key not yet seen.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::GoogleConfig;

/// How long keys are kept when Google's answer does not say.
const DEFAULT_KEY_AGE: Duration = Duration::from_secs(60 * 60);
/// The longest keys are kept, whatever Google's answer says.
const MAX_KEY_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// A token naming an unknown key fetches the keys again at most this often, so forged `kid`s
/// cannot make every request call Google.
const REFETCH_AFTER: Duration = Duration::from_secs(60);

/// Why an ID token was refused.
#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    /// Google sign-in is not configured (no client ids).
    #[error("Google sign-in is not enabled on this installation")]
    NotEnabled,
    /// Malformed, wrongly signed, expired, for another app or issuer, or without a verified
    /// address; the reason is for the log.
    #[error("the Google ID token is not valid: {0}")]
    Invalid(&'static str),
    /// Google's keys could not be fetched.
    #[error("Google's signing keys could not be fetched")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Who a valid ID token says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleIdentity {
    /// Google's stable id of the Google account.
    pub sub: String,
    /// The account's address, verified by Google.
    pub email: String,
    /// The account's name, if the token carries one.
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    email: Option<String>,
    /// Google sends a boolean; some older tokens carried the string `"true"`.
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Jwk {
    kid: String,
    kty: String,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Debug, Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
    max_age: Duration,
}

/// Verifies Google ID tokens for the configured client ids.
#[derive(Clone)]
pub struct GoogleVerifier {
    http: reqwest::Client,
    config: GoogleConfig,
    /// What every token must satisfy, built once.
    validation: Validation,
    keys: Arc<Mutex<Keys>>,
}

impl std::fmt::Debug for GoogleVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleVerifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl GoogleVerifier {
    /// A verifier for `config`.
    pub fn new(config: GoogleConfig) -> Result<Self, GoogleError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .connect_timeout(Duration::from_secs(2))
            .user_agent("stockroom")
            .build()
            .map_err(|e| GoogleError::Unavailable(Box::new(e)))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&config.client_ids);
        validation.set_issuer(&config.issuers);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        Ok(Self {
            http,
            config,
            validation,
            keys: Arc::default(),
        })
    }

    /// Who signed in with `id_token`, if Google issued it to one of our apps, it is unexpired,
    /// and its address is verified.
    pub async fn verify(&self, id_token: &str) -> Result<GoogleIdentity, GoogleError> {
        if self.config.client_ids.is_empty() {
            return Err(GoogleError::NotEnabled);
        }
        let header =
            jsonwebtoken::decode_header(id_token).map_err(|_| GoogleError::Invalid("malformed"))?;
        if header.alg != Algorithm::RS256 {
            return Err(GoogleError::Invalid("not RS256"));
        }
        let kid = header.kid.ok_or(GoogleError::Invalid("no kid"))?;
        let key = self.key(&kid).await?;
        let data =
            jsonwebtoken::decode::<Claims>(id_token, &key, &self.validation).map_err(|e| {
                GoogleError::Invalid(match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => "expired",
                    jsonwebtoken::errors::ErrorKind::InvalidAudience => "issued to another app",
                    jsonwebtoken::errors::ErrorKind::InvalidIssuer => "another issuer",
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => "bad signature",
                    _ => "invalid",
                })
            })?;
        let claims = data.claims;
        let verified = matches!(&claims.email_verified, Some(serde_json::Value::Bool(true)))
            || matches!(&claims.email_verified, Some(serde_json::Value::String(s)) if s == "true");
        let email = claims.email.ok_or(GoogleError::Invalid("no email"))?;
        if !verified {
            return Err(GoogleError::Invalid("email not verified"));
        }
        Ok(GoogleIdentity {
            sub: claims.sub,
            email,
            name: claims.name,
        })
    }

    /// The key `kid`, from the cache while it is fresh, else from Google.
    async fn key(&self, kid: &str) -> Result<DecodingKey, GoogleError> {
        let mut keys = self.keys.lock().await;
        let age = keys.fetched.map(|at| at.elapsed());
        let fresh = age.is_some_and(|a| a < keys.max_age);
        if fresh && let Some(key) = keys.by_kid.get(kid) {
            return Ok(key.clone());
        }
        // Unknown to fresh keys: Google may have rotated, but ask at most once a minute.
        if fresh && age.is_some_and(|a| a < REFETCH_AFTER) {
            return Err(GoogleError::Invalid("unknown key"));
        }
        *keys = self.fetch().await?;
        keys.by_kid
            .get(kid)
            .cloned()
            .ok_or(GoogleError::Invalid("unknown key"))
    }

    async fn fetch(&self) -> Result<Keys, GoogleError> {
        let unavailable = |e: reqwest::Error| GoogleError::Unavailable(Box::new(e));
        let response = self
            .http
            .get(&self.config.certs_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .unwrap_or(DEFAULT_KEY_AGE)
            .min(MAX_KEY_AGE);
        let set: JwkSet = response.json().await.map_err(unavailable)?;
        let by_kid = set
            .keys
            .into_iter()
            .filter(|k| k.kty == "RSA")
            .filter_map(|k| {
                let key = DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?);
                Some((k.kid, key.ok()?))
            })
            .collect();
        Ok(Keys {
            by_kid,
            fetched: Some(Instant::now()),
            max_age,
        })
    }
}

/// The `max-age` of a `Cache-Control` value.
fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|directive| {
        let seconds = directive.trim().strip_prefix("max-age=")?;
        seconds.parse().ok().map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_age_comes_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=19204, must-revalidate, no-transform"),
            Some(Duration::from_secs(19204))
        );
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }
}
