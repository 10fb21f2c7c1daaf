//! Unit tests of `money`.

use super::*;

#[test]
fn known_codes_parse_and_unknown_ones_are_named() {
    assert_eq!(Currency::parse("INR").unwrap().as_str(), "INR");
    assert_eq!(
        Currency::parse("ABC").unwrap_err(),
        "'ABC' is not an ISO 4217 currency code (expected e.g. INR, USD, EUR)"
    );
    assert!(Currency::parse("inr").is_err());
    assert!(Currency::parse("").is_err());
    assert!(Currency::parse("INRR").is_err());
}

#[test]
fn prices_are_never_negative_nor_absurd() {
    let inr = Currency::parse("INR").unwrap();
    assert!(Money::price(0, inr).is_ok());
    assert!(Money::price(-1, inr).is_err());
    assert!(Money::price(MAX_MINOR_UNITS + 1, inr).is_err());
}

#[test]
fn currency_serialises_as_its_code() {
    let m = Money::price(1999, Currency::parse("USD").unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(m).unwrap(),
        serde_json::json!({"amount_minor": 1999, "currency": "USD"})
    );
}
