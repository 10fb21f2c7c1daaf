//! Cursor pagination: `?limit=&cursor=` in, `{items, next_cursor}` out.
//!
//! The store owns the cursor ([`Cursor`]): its last evaluated key, opaque to clients, checked
//! against the listing it is used with. Here it is only read from the query and written into
//! the page, so a forged or foreign cursor is a 400, never a read of someone else's partition.

use serde::{Deserialize, Serialize};

use super::ApiError;
pub use crate::store::Cursor;

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
        self.cursor
            .as_deref()
            .map(|text| {
                Cursor::decode(text).map_err(|_| {
                    ApiError::BadRequest(
                        "the cursor is not valid; use next_cursor from the previous page".into(),
                    )
                })
            })
            .transpose()
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
