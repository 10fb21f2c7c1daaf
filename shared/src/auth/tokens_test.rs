//! Unit tests of `tokens`.

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
        generation: 0,
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
