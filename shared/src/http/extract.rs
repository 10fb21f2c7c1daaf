//! Extractors that answer bad input with precise problem details instead of axum's plain text.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Query, Request};
use http::{header, request::Parts};
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::domain::FieldError;

/// The largest request body a function accepts, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON request body: 415 if it is not JSON, 413 if too large, 400 if malformed,
/// 422 naming the field if a value has the wrong type or a field is unknown.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    BodyLimit: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let BodyLimit(limit) = BodyLimit::from_ref(state);
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::UnsupportedMediaType(
                "the body must be JSON: send Content-Type: application/json".into(),
            ));
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|len| len > limit) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| ApiError::PayloadTooLarge { limit })?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn is_json(content_type: Option<&http::HeaderValue>) -> bool {
    let Some(mime) = content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
    else {
        return false;
    };
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Deserialises `bytes`, telling syntax errors (400) from wrong values (422).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "the request body is empty; a JSON object is required".into(),
        ));
    }
    // serde accepts an array for a struct; a request body is an object or it is wrong.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Err(e) => malformed(&e),
                Ok(_) => ApiError::invalid("(body)", "must be a JSON object"),
            },
        );
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = serde_path_to_error::deserialize(&mut de);
    if result.is_ok() {
        // Anything after the value (e.g. `{...} extra`) makes the body malformed.
        de.end().map_err(|e| malformed(&e))?;
    }
    result.map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::Validation(vec![field_error(&path, &inner)])
            }
            _ => malformed(&inner),
        }
    })
}

fn malformed(error: &serde_json::Error) -> ApiError {
    ApiError::BadRequest(format!(
        "malformed JSON at line {} column {}",
        error.line(),
        error.column()
    ))
}

fn field_error(path: &str, error: &serde_json::Error) -> FieldError {
    let message = error.to_string();
    // serde reports "... at line L column C"; the field path says where, more usefully.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m)
        .to_owned();
    let parent = if path == "." { "" } else { path };
    // serde_path_to_error's path already ends at an unknown field, but stops at the parent of
    // a missing one.
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    let field = match (missing, parent) {
        (Some(name), "") => name.to_owned(),
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, "") => "(body)".to_owned(),
        (None, parent) => parent.to_owned(),
    };
    FieldError { field, message }
}

/// Query parameters; a malformed query string is a 400 naming the problem.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::BadRequest(format!("invalid query string: {}", e.body_text())))
    }
}

/// Path parameters; a malformed one is a 400.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

/// The longest path parameter any route accepts (ids, codes and barcodes are far shorter).
const MAX_PATH_PARAM: usize = 200;

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // No id is this long: answer before the value can become a (too large) table key.
        if let Ok(raw) = axum::extract::RawPathParams::from_request_parts(parts, state).await
            && let Some((name, _)) = raw.iter().find(|(_, v)| v.len() > MAX_PATH_PARAM)
        {
            return Err(ApiError::NotFound(format!(
                "no such {name}: path ids are at most {MAX_PATH_PARAM} bytes"
            )));
        }
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| ApiError::BadRequest(format!("invalid path: {}", e.body_text())))
    }
}

#[cfg(test)]
#[path = "extract_test.rs"]
mod tests;

/// An optional RFC 3339 query parameter; a malformed one is a 422 naming `field`.
pub fn time_param(
    field: &str,
    value: Option<&str>,
) -> Result<Option<time::OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ApiError::invalid(field, format!("'{v}' is not an RFC 3339 time")))
        })
        .transpose()
}
