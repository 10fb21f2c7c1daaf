//! Cursors: where a listing stopped, as the key attributes of the last item returned. Clients
//! see them as opaque base64url text; the table checks that a decoded cursor belongs to the
//! listing it is used with ([`super::StoreError::BadCursor`]).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// The longest cursor text accepted; real ones are far shorter.
const MAX_TEXT: usize = 1024;

/// A position in a listing: the key attributes of the last item returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub(crate) BTreeMap<String, String>);

/// A cursor text that this API did not issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor this API issued")]
pub struct InvalidCursor;

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self.0).unwrap_or_default())
    }

    /// Parses a cursor a client sent back.
    pub fn decode(text: &str) -> Result<Self, InvalidCursor> {
        if text.len() > MAX_TEXT {
            return Err(InvalidCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
        serde_json::from_slice(&bytes)
            .map(Cursor)
            .map_err(|_| InvalidCursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = Cursor(BTreeMap::from([("PK".into(), "PRODUCT#1".into())]));
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
    }

    #[test]
    fn garbage_and_oversized_cursors_are_refused() {
        for text in ["!!!", "bm90IGpzb24", &"A".repeat(2000)] {
            assert_eq!(Cursor::decode(text), Err(InvalidCursor), "{text}");
        }
    }
}
