//! Unit tests of `pagination`.

use super::*;

#[test]
fn garbage_cursors_are_bad_requests() {
    for text in ["!!!", "bm90IGpzb24", &"A".repeat(2000)] {
        let params = PageParams {
            limit: None,
            cursor: Some(text.to_owned()),
        };
        assert!(
            matches!(params.cursor(), Err(ApiError::BadRequest(_))),
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
