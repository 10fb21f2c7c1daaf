//! Unit tests of `conditional`.

use super::*;

#[test]
fn etags_round_trip_through_if_match() {
    let tag = etag(42);
    assert_eq!(tag, "\"42\"");
    assert_eq!(
        IfMatch::parse(tag.to_str().unwrap()).unwrap(),
        IfMatch::Version(42)
    );
}

#[test]
fn weak_or_garbled_tags_are_rejected() {
    assert!(IfMatch::parse("W/\"3\"").is_err());
    assert!(IfMatch::parse("3").is_err());
    assert_eq!(IfMatch::parse("*").unwrap(), IfMatch::Any);
}

#[test]
fn a_missing_if_match_is_precondition_required() {
    assert!(matches!(
        IfMatch::Absent.required(),
        Err(ApiError::PreconditionRequired(_))
    ));
}
