//! Unit tests of `pagination`.

use super::*;

#[test]
fn cursors_round_trip() {
    let c = Cursor(BTreeMap::from([("PK".into(), "PRODUCT#1".into())]));
    assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
}

#[test]
fn garbage_cursors_are_bad_requests() {
    for text in ["!!!", "bm90IGpzb24", &"A".repeat(2000)] {
        assert!(
            matches!(Cursor::decode(text), Err(ApiError::BadRequest(_))),
            "{text}"
        );
    }
}

#[test]
fn limits_outside_the_range_are_named() {
    let p = PageParams {
        limit: Some(0),
        cursor: None,
    };
    assert!(matches!(p.limit(), Err(ApiError::Validation(_))));
    assert_eq!(PageParams::default().limit().unwrap(), DEFAULT_LIMIT);
}
