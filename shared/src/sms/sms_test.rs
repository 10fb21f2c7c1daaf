//! Unit tests of `sms`.

use super::*;

#[test]
fn phone_numbers_are_read_in_international_form() {
    assert_eq!(parse_phone("+91 98123-45678"), Ok("+919812345678".into()));
    assert_eq!(parse_phone("+1 (415) 555.0100"), Ok("+14155550100".into()));
    for bad in [
        "9812345678",
        "+0123456789",
        "+12",
        "+1234567890123456",
        "+91 98x2345678",
        "",
    ] {
        assert!(parse_phone(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_masked_number_keeps_only_its_country_code_and_last_four_digits() {
    assert_eq!(masked("+919812345678"), "+91••••••5678");
    assert_eq!(masked("+12345678"), "+12••5678");
}
