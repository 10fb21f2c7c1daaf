//! Unit tests of `passwords`.

use super::*;

#[test]
fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
    let hash = hash("correct horse battery staple").unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(
        verify("correct horse battery staple", Some(&hash)),
        Some(Verified::Current)
    );
    assert_eq!(verify("correct horse battery stapler", Some(&hash)), None);
}

#[test]
fn an_unknown_account_never_verifies() {
    assert_eq!(verify("anything at all", None), None);
}

#[test]
fn hashes_with_old_parameters_ask_for_a_rehash() {
    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(8192, 1, 1, None).unwrap(),
    );
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    let old = weak
        .hash_password(b"correct horse battery staple", &salt)
        .unwrap()
        .to_string();
    assert_eq!(
        verify("correct horse battery staple", Some(&old)),
        Some(Verified::NeedsRehash)
    );
}

#[test]
fn the_policy_names_what_is_wrong() {
    assert_eq!(
        check_policy("short", &[]).unwrap_err(),
        "must be at least 10 characters, got 5"
    );
    assert!(
        check_policy("password123", &[])
            .unwrap_err()
            .starts_with("is too easy to guess")
    );
    assert!(check_policy("asha.rao@example.com", &["asha.rao@example.com"]).is_err());
    assert!(check_policy("velvet-otter-carries-17-lanterns", &[]).is_ok());
    assert!(check_policy(&"x".repeat(129), &[]).is_err());
}
