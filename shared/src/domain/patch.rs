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
