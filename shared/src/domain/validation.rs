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

/// Checks the `lines` of a request: 1 to `max` of them, each `key` once (a repeat is reported
/// at `lines[i].{key_field}`, or `lines[i]` when the key spans fields), each quantity between
/// 1 and [`super::quantity::MAX_QUANTITY`].
pub(crate) fn check_lines<K: Ord>(
    e: &mut FieldErrors,
    lines: impl ExactSizeIterator<Item = (K, i64)>,
    max: usize,
    key_field: Option<&str>,
    repeated: &str,
) {
    use super::quantity::Quantity;
    if lines.len() == 0 || lines.len() > max {
        e.add(
            "lines",
            format!("must have 1 to {max} lines, got {}", lines.len()),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, (key, quantity)) in lines.enumerate() {
        if let Err(message) = Quantity::parse(quantity) {
            e.add(format!("lines[{i}].quantity"), message);
        }
        if !seen.insert(key) {
            let field = key_field.map_or(format!("lines[{i}]"), |f| format!("lines[{i}].{f}"));
            e.add(field, repeated);
        }
    }
}

/// The canonical text of a UUID id (lower-case, hyphenated), however the client spelled it.
pub(crate) fn canonical_uuid(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// The key a repeated-line check compares an id by: its canonical UUID text, or the raw text
/// when it is not a UUID (that line is refused on its own field anyway).
pub(crate) fn id_key(raw: &str) -> String {
    canonical_uuid(raw).unwrap_or_else(|| raw.to_owned())
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
#[path = "validation_test.rs"]
mod tests;
