//! Unit tests of `extract`.

use super::*;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Body {
    name: String,
    price: Price,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Price {
    amount_minor: i64,
}

fn field(result: Result<Body, ApiError>) -> (String, String) {
    match result {
        Err(ApiError::Validation(errors)) => (errors[0].field.clone(), errors[0].message.clone()),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn malformed_json_is_a_bad_request_with_its_position() {
    match parse_json::<Body>(br#"{"name": "x",, }"#) {
        Err(ApiError::BadRequest(msg)) => assert_eq!(msg, "malformed JSON at line 1 column 14"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_wrong_type_names_the_nested_field() {
    let (f, m) = field(parse_json(
        br#"{"name": "x", "price": {"amount_minor": "ten"}}"#,
    ));
    assert_eq!(f, "price.amount_minor");
    assert!(
        m.starts_with("invalid type: string \"ten\", expected i64"),
        "{m}"
    );
}

#[test]
fn an_unknown_field_is_named() {
    let (f, m) = field(parse_json(
        br#"{"name": "x", "colour": "red", "price": {"amount_minor": 1}}"#,
    ));
    assert_eq!(f, "colour");
    assert!(m.starts_with("unknown field `colour`"), "{m}");
    let (f, _) = field(parse_json(
        br#"{"name": "x", "price": {"amount_minor": 1, "tax": 2}}"#,
    ));
    assert_eq!(f, "price.tax");
}

#[test]
fn a_missing_field_is_named() {
    let (f, m) = field(parse_json(br#"{"price": {"amount_minor": 1}}"#));
    assert_eq!((f.as_str(), m.as_str()), ("name", "missing field `name`"));
}

#[test]
fn trailing_garbage_and_empty_bodies_are_bad_requests() {
    assert!(matches!(
        parse_json::<Body>(br#"{"name": "x", "price": {"amount_minor": 1}} extra"#),
        Err(ApiError::BadRequest(_))
    ));
    assert!(matches!(
        parse_json::<Body>(b"  "),
        Err(ApiError::BadRequest(_))
    ));
}

#[test]
fn a_body_that_is_not_an_object_is_invalid() {
    for body in [&b"[]"[..], b"42", b"\"text\"", b"null"] {
        match parse_json::<Body>(body) {
            Err(ApiError::Validation(e)) => assert_eq!(e[0].message, "must be a JSON object"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn json_media_types_are_recognised() {
    let hv = |s: &'static str| http::HeaderValue::from_static(s);
    assert!(is_json(Some(&hv("application/json; charset=utf-8"))));
    assert!(is_json(Some(&hv("application/merge-patch+json"))));
    assert!(!is_json(Some(&hv("text/plain"))));
    assert!(!is_json(None));
}
