//! JSON merge patch (RFC 7396) fields, shared by every resource that is patched.

use serde::{Deserialize, Deserializer};

/// A field of a JSON merge patch: absent (unchanged), `null` (removed) or a new value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not mentioned: left as it is.
    #[default]
    Absent,
    /// `null`: removed.
    Null,
    /// A new value.
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Patch::Value(v),
            None => Patch::Null,
        })
    }
}

/// For an optional field that may be left out but not sent as `null` (its schema says it is a
/// boolean, a string, ...): `#[serde(default, deserialize_with = "present")]`. A `null` is then
/// refused like any other wrong type, naming the field.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(value) => Ok(Some(value)),
        None => Err(serde::de::Error::custom(
            "must not be null; leave the field out to keep it as it is",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Change {
        #[serde(default, deserialize_with = "present")]
        role: Option<crate::domain::Role>,
        #[serde(default, deserialize_with = "present")]
        disabled: Option<bool>,
    }

    #[test]
    fn a_present_field_may_be_left_out_but_not_null() {
        let absent: Change = serde_json::from_str("{}").unwrap();
        assert_eq!((absent.role, absent.disabled), (None, None));
        let given: Change = serde_json::from_str(r#"{"role":"staff","disabled":false}"#).unwrap();
        assert_eq!(given.disabled, Some(false));
        for body in [r#"{"role":null}"#, r#"{"disabled":null}"#] {
            let err = serde_json::from_str::<Change>(body).unwrap_err();
            assert_eq!(
                err.classify(),
                serde_json::error::Category::Data,
                "{body}: {err}"
            );
            assert!(err.to_string().contains("must not be null"), "{err}");
        }
    }
}
