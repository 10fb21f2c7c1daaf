//! Forged and stale tokens are refused by the shared middleware, on every function.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use shared::auth::SigningKey;
use stockroom_tests::TestApp;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn claims(app: &TestApp) -> Value {
    json!({
        "sub": "attacker", "role": "admin",
        "iss": app.config.token_issuer, "aud": app.config.token_audience,
        "iat": now(), "nbf": now(), "exp": now() + 300
    })
}

fn sign(key: &SigningKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid().to_owned());
    let der = key.pkcs8();
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der)).unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn forged_expired_and_misdirected_tokens_are_all_refused() {
    let app = TestApp::spawn().await;
    let good = sign(&app.key, &claims(&app));
    let public_x = app.key.public_jwk().unwrap();
    let public_bytes = serde_json::to_value(&public_x).unwrap()["x"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut attacks: Vec<(&str, String)> = Vec::new();
    attacks.push((
        "alg none",
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "kid": app.key.kid()})),
            b64(&claims(&app))
        ),
    ));
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(app.key.kid().to_owned());
    attacks.push((
        "HS256 keyed with the public key",
        jsonwebtoken::encode(
            &hs,
            &claims(&app),
            &EncodingKey::from_secret(public_bytes.as_bytes()).unwrap(),
        )
        .unwrap(),
    ));
    let mut expired = claims(&app);
    expired["exp"] = json!(now() - 3600);
    expired["iat"] = json!(now() - 7200);
    expired["nbf"] = json!(now() - 7200);
    attacks.push(("expired", sign(&app.key, &expired)));
    let mut early = claims(&app);
    early["nbf"] = json!(now() + 3600);
    early["exp"] = json!(now() + 7200);
    attacks.push(("not yet valid", sign(&app.key, &early)));
    let mut wrong_iss = claims(&app);
    wrong_iss["iss"] = json!("someone-else");
    attacks.push(("wrong issuer", sign(&app.key, &wrong_iss)));
    let mut wrong_aud = claims(&app);
    wrong_aud["aud"] = json!("another-api");
    attacks.push(("wrong audience", sign(&app.key, &wrong_aud)));
    let stranger = SigningKey::generate("unknown-kid").unwrap();
    attacks.push(("unknown kid", sign(&stranger, &claims(&app))));
    let impostor = SigningKey::generate(app.key.kid()).unwrap();
    attacks.push(("published kid, other key", sign(&impostor, &claims(&app))));
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut tampered = claims(&app);
    tampered["sub"] = json!("someone-important");
    parts[1] = b64(&tampered);
    attacks.push(("tampered payload", parts.join(".")));
    attacks.push(("truncated", good[..good.len() - 5].to_owned()));

    for path in ["/v1/auth/me", "/v1/products", "/v1/users", "/v1/audit"] {
        let control = app.call_with_token(Method::GET, path, &good, None).await;
        assert_ne!(
            control.status,
            StatusCode::UNAUTHORIZED,
            "{path}: the untampered token works"
        );
        for (name, token) in &attacks {
            let r = app.call_with_token(Method::GET, path, token, None).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{name} on {path}: {}",
                r.text
            );
        }
    }
}
