//! Unit tests of `validation`.

use super::*;

#[test]
fn text_is_trimmed_and_bounded_in_characters_not_bytes() {
    assert_eq!(bounded_text("  héllo ", 1, 5).unwrap(), "héllo");
    assert_eq!(
        bounded_text("abcdef", 1, 5).unwrap_err(),
        "must be at most 5 characters, got 6"
    );
    assert_eq!(bounded_text("   ", 1, 5).unwrap_err(), "must not be empty");
    assert!(bounded_text("a\u{0}b", 1, 5).is_err());
}

#[test]
fn errors_are_collected_not_short_circuited() {
    let mut errors = FieldErrors::new();
    let a = errors.check("a", Err::<(), _>("bad a".into()));
    let b = errors.check("b", Err::<(), _>("bad b".into()));
    assert!(a.is_none() && b.is_none());
    let fields: Vec<_> = errors.into_vec().into_iter().map(|e| e.field).collect();
    assert_eq!(fields, vec!["a", "b"]);
}
