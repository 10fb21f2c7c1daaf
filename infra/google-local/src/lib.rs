//! A local development stand-in for Google sign-in: **not Google**. It publishes an RSA key as
//! a JWKS the way `https://www.googleapis.com/oauth2/v3/certs` does, and issues ID tokens
//! shaped like the ones Google Identity Services gives apps (RS256, `iss`
//! `https://accounts.google.com`, `aud` the client id, `sub`, `email`, `email_verified`,
//! `name`, `iat`, `exp` an hour later), so `make dev` and the tests sign in "with Google"
//! without the internet.
//!
//! - `GET /oauth2/v3/certs`: the JWKS (`Cache-Control: public, max-age=3600`).
//! - `GET /_stand-in/token?email=...[&aud=...][&email_verified=false]`: `{"id_token": "..."}`
//!   for that address (the same `sub` every time for one address).
//! - `GET /_stand-in/health`.

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};

/// The issuer Google's ID tokens name.
pub const ISSUER: &str = "https://accounts.google.com";

/// A Google stand-in with its own RSA key.
#[derive(Clone)]
pub struct StandIn {
    inner: Arc<Inner>,
}

struct Inner {
    client_id: String,
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandIn")
            .field("client_id", &self.inner.client_id)
            .field("kid", &self.inner.kid)
            .finish_non_exhaustive()
    }
}

impl StandIn {
    /// A stand-in with a fresh 2048-bit key, issuing tokens to `client_id` by default.
    pub fn new(client_id: &str) -> Result<Self, String> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|e| e.to_string())?;
        let pkcs8 = pair.as_der().map_err(|e| e.to_string())?;
        let pem = pem_of(pkcs8.as_ref());
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        let public = pair.public_key();
        let kid = format!("local-{}", &shared::auth::digest(&pem)[..16]);
        let jwk = json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        });
        Ok(Self {
            inner: Arc::new(Inner {
                client_id: client_id.to_owned(),
                kid,
                encoding,
                jwk,
            }),
        })
    }

    /// The published keys.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.inner.jwk] })
    }

    /// The claims of an ID token for `email` as Google would issue it now: verified address,
    /// this stand-in's client id, an hour to live.
    pub fn claims(&self, email: &str) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let local = email.split('@').next().unwrap_or(email);
        json!({
            "iss": ISSUER,
            "azp": self.inner.client_id,
            "aud": self.inner.client_id,
            "sub": sub_of(email),
            "email": email,
            "email_verified": true,
            "name": local,
            "iat": now,
            "exp": now + 3600,
        })
    }

    /// Signs `claims` with this stand-in's key, naming it by `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.inner.kid, claims)
    }

    /// The id of this stand-in's key.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// Signs `claims` with this stand-in's key but names key `kid` (a forgery, for tests).
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.inner.encoding).unwrap_or_default()
    }

    /// An ID token for `email`.
    pub fn id_token(&self, email: &str) -> String {
        self.sign(&self.claims(email))
    }

    /// The stand-in's HTTP API.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/oauth2/v3/certs", get(certs))
            .route("/_stand-in/token", get(token))
            .route("/_stand-in/health", get(|| async { "ok" }))
            .with_state(self.clone())
    }

    /// Serves the API on a free local port; its base URL.
    pub async fn spawn(&self) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let router = self.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(format!("http://{address}"))
    }
}

/// The same Google-like `sub` (21 digits) for one address every time.
fn sub_of(email: &str) -> String {
    let digest = shared::auth::digest(&email.trim().to_lowercase());
    let digits: String = digest
        .bytes()
        .map(|b| char::from(b'0' + b % 10))
        .take(21)
        .collect();
    format!("1{}", &digits[1..])
}

/// A PKCS#8 DER key as PEM.
fn pem_of(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

async fn certs(State(stand_in): State<StandIn>) -> Response {
    let mut response = Json(stand_in.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    email: Option<String>,
    aud: Option<String>,
    email_verified: Option<bool>,
}

async fn token(State(stand_in): State<StandIn>, Query(query): Query<TokenQuery>) -> Response {
    let Some(email) = query.email.filter(|e| e.contains('@')) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "pass ?email=someone@example.com"})),
        )
            .into_response();
    };
    let mut claims = stand_in.claims(&email);
    if let Some(aud) = query.aud {
        claims["aud"] = json!(aud);
    }
    if let Some(verified) = query.email_verified {
        claims["email_verified"] = json!(verified);
    }
    Json(json!({ "id_token": stand_in.sign(&claims) })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_against_the_published_key_and_names_the_same_sub_each_time() {
        let stand_in = StandIn::new("app-1").unwrap();
        let jwk = &stand_in.jwks()["keys"][0];
        let key = jsonwebtoken::DecodingKey::from_rsa_components(
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_audience(&["app-1"]);
        validation.set_issuer(&[ISSUER]);
        let token = stand_in.id_token("ana@example.com");
        let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["email"], "ana@example.com");
        assert_eq!(claims["email_verified"], true);
        let again = stand_in.claims("ana@example.com");
        assert_eq!(claims["sub"], again["sub"]);
        assert_ne!(claims["sub"], stand_in.claims("bo@example.com")["sub"]);
        assert_eq!(claims["sub"].as_str().unwrap().len(), 21);
    }
}
