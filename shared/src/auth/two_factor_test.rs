//! Unit tests of `two_factor`.

use super::*;

#[test]
fn a_code_matches_its_own_step_and_one_step_of_drift_only() {
    let secret = new_secret();
    let t = 1_800_000_000;
    let code = code_at(&secret, t).unwrap();
    assert_eq!(matching_step(&secret, &code, t), Some(t / 30));
    assert_eq!(matching_step(&secret, &code, t + 30), Some(t / 30));
    assert_eq!(matching_step(&secret, &code, t - 30), Some(t / 30));
    assert_eq!(matching_step(&secret, &code, t + 90), None);
}

#[test]
fn rfc_6238_test_vector() {
    // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); its last 6 are 287082.
    let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
    assert_eq!(code_at(&secret, 59).unwrap(), "287082");
}

#[test]
fn malformed_codes_never_match() {
    let secret = new_secret();
    for code in ["", "12345", "1234567", "abcdef", "12 456"] {
        assert_eq!(matching_step(&secret, code, 1_800_000_000), None, "{code}");
    }
}

#[test]
fn the_uri_names_the_issuer_and_account() {
    let uri = provisioning_uri(&new_secret(), "asha@example.com").unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Stockroom:asha%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains("issuer=Stockroom"));
}

#[test]
fn recovery_codes_are_distinct_and_stored_as_digests() {
    let (codes, digests) = new_recovery_codes();
    assert_eq!(codes.len(), RECOVERY_CODES);
    let unique: std::collections::BTreeSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), RECOVERY_CODES);
    assert_eq!(
        recovery_code_digest(&format!(" {} ", codes[0].to_uppercase())),
        digests[0]
    );
}

#[test]
fn every_recovery_code_letter_is_equally_likely() {
    let mut counts = std::collections::BTreeMap::new();
    for byte in 0..=u8::MAX {
        if let Some(c) = symbol(byte) {
            *counts.entry(c).or_insert(0) += 1;
        }
    }
    assert_eq!(counts.len(), ALPHABET.len());
    assert!(counts.values().all(|n| *n == 8), "{counts:?}");
    assert_eq!(symbol(247), Some('9'));
    assert_eq!(symbol(248), None);
}
