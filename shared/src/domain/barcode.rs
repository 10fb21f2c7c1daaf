//! Product barcodes: GS1 GTINs (check digit verified) or internal Code 128 style codes.

use serde::{Deserialize, Serialize};

use super::validation::code_characters;

/// A scannable product code.
///
/// All-digit codes of 8, 12, 13 or 14 digits are GTINs (EAN-8, UPC-A, EAN-13, GTIN-14) and
/// must carry a valid GS1 check digit, which catches most mistyped codes. Other codes are
/// internal labels: 4 to 48 characters of letters, digits, `-`, `.` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Barcode(String);

impl Barcode {
    /// Parses and checks a code as scanned or typed (surrounding spaces are ignored).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim();
        let all_digits = !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit());
        if all_digits && matches!(code.len(), 8 | 12 | 13 | 14) {
            if !gtin_check_digit_ok(code) {
                return Err(format!("'{code}' has an invalid GTIN check digit"));
            }
            return Ok(Self(code.to_owned()));
        }
        let len = code.chars().count();
        if !(4..=48).contains(&len) {
            return Err(format!(
                "must be a GTIN (8, 12, 13 or 14 digits) or an internal code of 4 to 48 characters, got {len} characters"
            ));
        }
        code_characters(code)?;
        Ok(Self(code.to_owned()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// GS1 mod-10: weights 3,1,3,1... from the rightmost digit before the check digit.
fn gtin_check_digit_ok(code: &str) -> bool {
    let digits: Vec<u32> = code.bytes().map(|b| u32::from(b - b'0')).collect();
    let Some((check, body)) = digits.split_last() else {
        return false;
    };
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    (10 - sum % 10) % 10 == *check
}

impl TryFrom<String> for Barcode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Barcode> for String {
    fn from(b: Barcode) -> Self {
        b.0
    }
}

#[cfg(test)]
#[path = "barcode_test.rs"]
mod tests;
