//! Cursor pagination: `?limit=&cursor=` in, `{items, next_cursor}` out.
//!
//! A cursor is the store's last evaluated key, base64url-encoded JSON. It is opaque to clients;
//! the store checks that a decoded cursor belongs to the listing it is used with, so a forged
//! or foreign cursor is a 400, never a read of someone else's partition.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::ApiError;

/// The default page size.
pub const DEFAULT_LIMIT: u32 = 20;
/// The largest page size.
pub const MAX_LIMIT: u32 = 100;

/// Query parameters of a paginated list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Page size, 1 to [`MAX_LIMIT`].
    pub limit: Option<u32>,
    /// Where the previous page stopped.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page size, defaulted, or 422 when out of range.
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}, got {n}"),
            )),
        }
    }

    /// The decoded cursor, or 400 when it is not one this API issued.
    pub fn cursor(&self) -> Result<Option<Cursor>, ApiError> {
        self.cursor.as_deref().map(Cursor::decode).transpose()
    }
}

/// A position in a listing: the key attributes of the last item returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub BTreeMap<String, String>);

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self.0).unwrap_or_default())
    }

    /// Parses a cursor a client sent back.
    pub fn decode(text: &str) -> Result<Self, ApiError> {
        let bad = || {
            ApiError::BadRequest(
                "the cursor is not valid; use next_cursor from the previous page".into(),
            )
        };
        if text.len() > 1024 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        serde_json::from_slice(&bytes)
            .map(Cursor)
            .map_err(|_| bad())
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The items, in the listing's stable order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T: Serialize> Page<T> {
    /// The page of `items` that `next` continues, as a 200 JSON response.
    pub fn response(items: Vec<T>, next: Option<Cursor>) -> axum::response::Response {
        use axum::response::IntoResponse;
        axum::Json(Page {
            items,
            next_cursor: next.map(|c| c.encode()),
        })
        .into_response()
    }
}

#[cfg(test)]
#[path = "pagination_test.rs"]
mod tests;
