//! Cursors: where a listing stopped, as the key attributes of the last item returned. Clients
//! see them as opaque base64url text, sealed with an HMAC-SHA256 under the table's cursor key
//! ([`seal`], [`open`]): a cursor a client made or changed is refused before any of it is used,
//! and the table also checks that an opened cursor belongs to the listing it is used with
//! ([`super::StoreError::BadCursor`]).

use std::collections::BTreeMap;

use aws_lc_rs::hmac;
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

/// The entry of a sealed cursor holding its tag.
const TAG: &str = "mac";

fn signed_bytes(keys: &BTreeMap<String, String>) -> Vec<u8> {
    serde_json::to_vec(keys).unwrap_or_default()
}

/// `cursor` with its tag under `key`: what the table hands out.
pub(crate) fn seal(key: &hmac::Key, mut cursor: Cursor) -> Cursor {
    cursor.0.remove(TAG);
    let tag = hmac::sign(key, &signed_bytes(&cursor.0));
    cursor
        .0
        .insert(TAG.into(), URL_SAFE_NO_PAD.encode(tag.as_ref()));
    cursor
}

/// The cursor inside a sealed one, if its tag is right under `key`.
pub(crate) fn open(key: &hmac::Key, cursor: &Cursor) -> Result<Cursor, InvalidCursor> {
    let mut keys = cursor.0.clone();
    let tag = keys.remove(TAG).ok_or(InvalidCursor)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| InvalidCursor)?;
    hmac::verify(key, &signed_bytes(&keys), &tag).map_err(|_| InvalidCursor)?;
    Ok(Cursor(keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, &[byte; 32])
    }

    #[test]
    fn a_sealed_cursor_opens_only_unchanged_and_under_its_own_key() {
        let c = Cursor(BTreeMap::from([
            ("PK".into(), "ORDER#1".into()),
            ("GSI1SK".into(), "2026-12-01#1".into()),
        ]));
        let sealed = Cursor::decode(&seal(&key(1), c.clone()).encode()).unwrap();
        assert_eq!(open(&key(1), &sealed), Ok(c.clone()));
        assert_eq!(
            open(&key(2), &sealed),
            Err(InvalidCursor),
            "another table's key"
        );
        let mut changed = sealed.clone();
        changed.0.insert("GSI1SK".into(), String::new());
        assert_eq!(
            open(&key(1), &changed),
            Err(InvalidCursor),
            "a changed value"
        );
        assert_eq!(open(&key(1), &c), Err(InvalidCursor), "no tag at all");
    }

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
