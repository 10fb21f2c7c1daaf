//! Unit tests of `signature`.

use super::*;
use crate::auth::{WebhookSecrets, sign_hex};

#[test]
fn signs_like_the_published_hmac_sha256_test_vector() {
    // RFC 4231 test case 2.
    assert_eq!(
        sign_hex("Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn a_webhook_signed_with_any_current_secret_verifies() {
    let secrets = WebhookSecrets::new(vec!["old-secret".into(), "new-secret".into()]).unwrap();
    let body = br#"{"event":"payment.captured"}"#;
    assert!(secrets.verify(body, &sign_hex("old-secret", body)));
    assert!(secrets.verify(body, &sign_hex("new-secret", body)));
    assert!(!secrets.verify(body, &sign_hex("other-secret", body)));
}

#[test]
fn a_changed_body_or_malformed_signature_fails() {
    let secrets = WebhookSecrets::new(vec!["s3cret".into()]).unwrap();
    let signature = sign_hex("s3cret", b"{\"amount\":100}");
    assert!(!secrets.verify(b"{\"amount\":1000}", &signature));
    assert!(!secrets.verify(b"{\"amount\":100}", ""));
    assert!(!secrets.verify(b"{\"amount\":100}", "zz"));
    assert!(!secrets.verify(
        b"{\"amount\":100}",
        &signature.to_uppercase().replace('A', "g")
    ));
}

#[test]
fn checkout_signatures_bind_order_and_payment() {
    let sig = sign_hex("key-secret", b"order_A|pay_B");
    assert!(checkout_signature_valid(
        "key-secret",
        "order_A",
        "pay_B",
        &sig
    ));
    assert!(!checkout_signature_valid(
        "key-secret",
        "order_A",
        "pay_C",
        &sig
    ));
    assert!(!checkout_signature_valid("other", "order_A", "pay_B", &sig));
}

#[test]
fn no_secret_is_refused_and_secrets_never_print() {
    assert!(WebhookSecrets::new(vec![]).is_err());
    assert!(WebhookSecrets::new(vec![" ".into()]).is_err());
    let secrets = WebhookSecrets::new(vec!["hunter2".into()]).unwrap();
    assert!(!format!("{secrets:?}").contains("hunter2"));
}
