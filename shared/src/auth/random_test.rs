//! Unit tests of `random`.

use super::*;

#[test]
fn random_digits_are_digits_of_the_asked_length_and_vary() {
    let codes: std::collections::HashSet<String> = (0..50).map(|_| random_digits(6)).collect();
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 6 && c.chars().all(|d| d.is_ascii_digit()))
    );
    assert!(codes.len() > 45, "{codes:?}");
}

#[test]
fn tokens_are_unique_and_digests_stable() {
    let a = opaque_token();
    assert_ne!(a, opaque_token());
    assert_eq!(a.len(), 43);
    assert_eq!(digest("abc"), digest("abc"));
    assert_eq!(
        digest("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
