//! Field-level validation errors, collected so a client sees every problem at once.

use serde::Serialize;

/// One invalid field: where it is (a JSON pointer-like path) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path to the field, e.g. `price.currency` or `attributes.colour`.
    pub field: String,
    /// What is wrong, in lowercase, naming the expectation.
    pub message: String,
}

/// Accumulates [`FieldError`]s while parsing a request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is invalid.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Keeps the parsed value, or records the error and returns `None`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded, the errors otherwise.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, FieldErrors> {
        if self.0.is_empty()
            && let Some(v) = value()
        {
            return Ok(v);
        }
        Err(self)
    }

    /// The recorded errors.
    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

/// Checks a required, trimmed text field's length in characters.
pub(crate) fn bounded_text(value: &str, min: usize, max: usize) -> Result<String, String> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("must not contain control characters".into());
    }
    if len < min {
        return Err(if min == 1 {
            "must not be empty".into()
        } else {
            format!("must be at least {min} characters")
        });
    }
    if len > max {
        return Err(format!("must be at most {max} characters, got {len}"));
    }
    Ok(trimmed.to_owned())
}

/// Checks that a code (SKU, internal barcode) uses only letters, digits, `-`, `_` and `.`.
pub(crate) fn code_characters(code: &str) -> Result<(), String> {
    match code
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        Some(bad) => Err(format!(
            "'{bad}' is not allowed; use letters, digits, '-', '_' or '.'"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
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
}
