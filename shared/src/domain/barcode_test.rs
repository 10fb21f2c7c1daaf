//! Unit tests of `barcode`.

use super::*;
use proptest::prelude::*;

#[test]
fn real_gtins_are_accepted() {
    for code in [
        "4006381333931",
        "036000291452",
        "96385074",
        "10012345678902",
    ] {
        assert!(Barcode::parse(code).is_ok(), "{code}");
    }
}

#[test]
fn a_mistyped_gtin_is_refused_naming_the_check_digit() {
    assert_eq!(
        Barcode::parse("4006381333932").unwrap_err(),
        "'4006381333932' has an invalid GTIN check digit"
    );
}

#[test]
fn internal_codes_are_accepted_within_their_alphabet() {
    assert!(Barcode::parse("WH-BIN-0042").is_ok());
    assert!(Barcode::parse("A B C D").is_err());
    assert!(Barcode::parse("abc").is_err());
}

proptest! {
    #[test]
    fn changing_any_single_digit_of_a_gtin_13_is_detected(pos in 0usize..13, delta in 1u8..10) {
        let good = b"4006381333931";
        let mut bad = *good;
        bad[pos] = b'0' + (bad[pos] - b'0' + delta) % 10;
        let bad = std::str::from_utf8(&bad).unwrap();
        prop_assert!(Barcode::parse(bad).is_err());
    }
}
