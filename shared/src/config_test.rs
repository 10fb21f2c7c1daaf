//! Unit tests of `config`.

use super::*;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1","alg":"EdDSA","use":"sig"}]}"#;

#[test]
fn a_complete_environment_is_read_with_defaults() {
    let cfg = Config::from_lookup(env(&[
        ("TABLE_NAME", "t"),
        ("MEDIA_BUCKET", "b"),
        ("AUTH_JWKS", JWKS),
        (
            "CORS_ALLOWED_ORIGINS",
            "https://a.example, https://b.example",
        ),
    ]))
    .unwrap();
    assert_eq!(cfg.table_name, "t");
    assert_eq!(cfg.max_body_bytes, 65_536);
    assert_eq!(cfg.cors_allowed_origins.len(), 2);
    assert!(!cfg.s3_force_path_style);
}

#[test]
fn a_missing_variable_is_named() {
    let err = Config::from_lookup(env(&[("MEDIA_BUCKET", "b"), ("AUTH_JWKS", JWKS)])).unwrap_err();
    assert_eq!(err, ConfigError::Missing("TABLE_NAME"));
    assert_eq!(err.to_string(), "missing environment variable TABLE_NAME");
}

#[test]
fn an_invalid_number_names_the_variable_and_the_expected_range() {
    let err = Config::from_lookup(env(&[
        ("TABLE_NAME", "t"),
        ("MEDIA_BUCKET", "b"),
        ("AUTH_JWKS", JWKS),
        ("MAX_BODY_BYTES", "lots"),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("MAX_BODY_BYTES"), "{err}");
    assert!(err.to_string().contains("'lots'"), "{err}");
}

#[test]
fn a_signing_key_file_needs_its_key_id() {
    let err = Config::from_lookup(env(&[
        ("TABLE_NAME", "t"),
        ("MEDIA_BUCKET", "b"),
        ("AUTH_JWKS", JWKS),
        ("AUTH_SIGNING_KEY_FILE", "/tmp/key.der"),
    ]))
    .unwrap_err();
    assert_eq!(err, ConfigError::Missing("AUTH_SIGNING_KEY_ID"));
}

#[test]
fn an_unparseable_jwks_is_rejected_at_start_up() {
    let err = Config::from_lookup(env(&[
        ("TABLE_NAME", "t"),
        ("MEDIA_BUCKET", "b"),
        ("AUTH_JWKS", "{not json"),
    ]))
    .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            name: "AUTH_JWKS",
            ..
        }
    ));
}

fn with(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
    let mut pairs = vec![
        ("TABLE_NAME", "t"),
        ("MEDIA_BUCKET", "b"),
        ("AUTH_JWKS", JWKS),
    ];
    pairs.extend_from_slice(extra);
    Config::from_lookup(env(&pairs))
}

#[test]
fn razorpay_keys_from_the_environment_accept_several_webhook_secrets() {
    let cfg = with(&[
        ("RAZORPAY_KEY_ID", "rzp_test_1"),
        ("RAZORPAY_KEY_SECRET", "ks"),
        ("RAZORPAY_WEBHOOK_SECRET", "old, new"),
        ("RAZORPAY_BASE_URL", "http://127.0.0.1:9010"),
    ])
    .unwrap();
    let payments = cfg.payments.unwrap();
    assert_eq!(payments.base_url, "http://127.0.0.1:9010");
    let PaymentCredentials::Environment {
        webhook_secrets, ..
    } = &payments.credentials
    else {
        panic!("expected environment credentials");
    };
    assert_eq!(webhook_secrets, &["old", "new"]);
    assert!(!format!("{:?}", payments.credentials).contains("ks"));
    assert!(with(&[]).unwrap().payments.is_none());
}

#[test]
fn incomplete_or_conflicting_razorpay_settings_are_named() {
    assert_eq!(
        with(&[("RAZORPAY_KEY_ID", "k"), ("RAZORPAY_KEY_SECRET", "s")]).unwrap_err(),
        ConfigError::Missing("RAZORPAY_WEBHOOK_SECRET")
    );
    let both = with(&[("RAZORPAY_KEY_ID", "k"), ("RAZORPAY_SECRET_ARN", "arn:x")]).unwrap_err();
    assert!(both.to_string().contains("RAZORPAY_KEY_ID"), "{both}");
    let url = with(&[
        ("RAZORPAY_SECRET_ARN", "arn:x"),
        ("RAZORPAY_BASE_URL", "ftp://x"),
    ])
    .unwrap_err();
    assert!(url.to_string().contains("RAZORPAY_BASE_URL"), "{url}");
}
