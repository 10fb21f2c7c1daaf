//! Optimistic concurrency: `ETag` out, `If-Match` in.

use axum::extract::FromRequestParts;
use http::{HeaderValue, header, request::Parts};

use super::ApiError;

/// The strong entity tag of a resource version.
pub fn etag(version: u64) -> HeaderValue {
    // Digits and quotes are always a valid header value.
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The version an `If-Match` header requires, if the header is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// No `If-Match` header.
    Absent,
    /// `If-Match: *`: any current version.
    Any,
    /// `If-Match: "N"`.
    Version(u64),
}

/// The version a change was made against, if the client named one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "check it against the version read"]
pub struct Expected(Option<u64>);

impl Expected {
    /// 412 when the client named a version other than `current`, the version of the `what`
    /// just read.
    pub fn check(self, what: &str, current: u64) -> Result<(), ApiError> {
        match self.0 {
            Some(v) if v != current => Err(ApiError::PreconditionFailed(format!(
                "If-Match names version \"{v}\" but the {what} is at \"{current}\"; fetch it again"
            ))),
            _ => Ok(()),
        }
    }
}

impl IfMatch {
    /// The version required, or 428 when the header is absent.
    pub fn required(self) -> Result<Expected, ApiError> {
        match self {
            IfMatch::Absent => Err(ApiError::PreconditionRequired(
                "this change requires an If-Match header with the ETag of the version you read"
                    .into(),
            )),
            IfMatch::Any => Ok(Expected(None)),
            IfMatch::Version(v) => Ok(Expected(Some(v))),
        }
    }

    /// The version required, if the client named one.
    pub fn optional(self) -> Expected {
        match self {
            IfMatch::Version(v) => Expected(Some(v)),
            IfMatch::Absent | IfMatch::Any => Expected(None),
        }
    }

    fn parse(raw: &str) -> Result<Self, ApiError> {
        let raw = raw.trim();
        if raw == "*" {
            return Ok(IfMatch::Any);
        }
        raw.strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .and_then(|v| v.parse::<u64>().ok())
            .map(IfMatch::Version)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "If-Match must be an ETag as returned by this API (e.g. \"3\") or *, got {raw}"
                ))
            })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get(header::IF_MATCH) {
            None => Ok(IfMatch::Absent),
            Some(v) => IfMatch::parse(
                v.to_str()
                    .map_err(|_| ApiError::BadRequest("If-Match must be visible ASCII".into()))?,
            ),
        }
    }
}

#[cfg(test)]
#[path = "conditional_test.rs"]
mod tests;

/// The `Idempotency-Key` header of a write that clients may retry: 1 to 255 visible ASCII
/// characters. Required where extracted; a missing or malformed key is a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub String);

impl IdempotencyKey {
    /// Reads the required header from `headers`.
    pub fn from_headers(headers: &http::HeaderMap) -> Result<Self, ApiError> {
        let value = headers
            .get("idempotency-key")
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "this write requires an Idempotency-Key header (e.g. a UUID) so a retry cannot apply it twice".into(),
                )
            })?
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into())
            })?;
        Ok(Self(value.to_owned()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_headers(&parts.headers)
    }
}
