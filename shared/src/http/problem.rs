//! [`ApiError`]: every failure a client can see, rendered as RFC 9457 problem details.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::auth::TokenError;
use crate::domain::{FieldError, FieldErrors};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

type Source = Box<dyn std::error::Error + Send + Sync>;

/// An error answered to the client. 5xx variants keep their cause for the log only.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be understood (malformed JSON, bad query, bad cursor).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid access token.
    #[error("{0}")]
    Unauthenticated(TokenError),
    /// 401: sign-in refused; one message whatever the reason, so it reveals nothing.
    #[error("{0}")]
    SignInFailed(&'static str),
    /// 401: the password was right; a second factor is needed.
    #[error("this account uses two-factor authentication: send {}", .methods.iter().map(|m| format!("{m}_code")).chain(["recovery_code".into()]).collect::<Vec<_>>().join(" or "))]
    TwoFactorRequired {
        /// The second factors the account offers (`totp`, `sms`).
        methods: Vec<&'static str>,
        /// Whether a code was just texted to the account's phone.
        sms_sent: bool,
    },
    /// 403: authenticated, but the role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// 403: the account must verify its e-mail address first.
    #[error(
        "verify the account's e-mail address first: open the link sent to it, or ask for a new one at /v1/auth/email/verification"
    )]
    EmailNotVerified,
    /// 404: no such resource or route.
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists, the method does not.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// 410: what the request names is no longer kept (a sync cursor older than the change
    /// log); start over.
    #[error("{0}")]
    Gone(String),
    /// 409: the change conflicts with current state (duplicate SKU, ...).
    #[error("{0}")]
    Conflict(String),
    /// 409: a request with the same Idempotency-Key is running, or was cut off by an outage
    /// before it could release the key; the lease ends in the given time (`Retry-After`).
    #[error(
        "a request with this Idempotency-Key is still in progress; retry in {} seconds",
        .0.as_secs().max(1)
    )]
    InProgress(std::time::Duration),
    /// 409: not enough available stock; nothing was written.
    #[error("insufficient stock: {available} available, {requested} requested")]
    InsufficientStock {
        /// Units available.
        available: i64,
        /// Units requested.
        requested: i64,
    },
    /// 412: `If-Match` names a version that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 413: the body is larger than allowed.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed, but some fields hold invalid values.
    #[error("{} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    /// 428: a conditional header is required (`If-Match`).
    #[error("{0}")]
    PreconditionRequired(String),
    /// 429: too many requests or attempts; retry after the given time.
    #[error("too many requests; retry in {} seconds", .0.as_secs().max(1))]
    TooManyRequests(std::time::Duration),
    /// 503: a dependency (DynamoDB, S3, ...) did not answer.
    #[error("{dependency} is unavailable")]
    Unavailable {
        /// Which dependency.
        dependency: &'static str,
        /// The cause, logged, never shown.
        #[source]
        source: Source,
    },
    /// 502: an upstream service answered, but not usefully (e.g. invalid LLM output).
    #[error("{0}")]
    BadGateway(String),
    /// 401: a signed request (a webhook delivery) whose signature does not verify.
    #[error("{0}")]
    InvalidSignature(String),
    /// An upstream provider (payments) failed or refused; the service that called it says how
    /// to answer.
    #[error(transparent)]
    Upstream(Box<UpstreamFailure>),
    /// 500: a bug or an unexpected state. Logged with its cause; opaque to clients.
    #[error("internal error")]
    Internal(#[source] Source),
}

impl ApiError {
    /// An internal error caused by `source`.
    pub fn internal(source: impl Into<Source>) -> Self {
        Self::Internal(source.into())
    }

    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// Status, problem type slug and title: the whole mapping, as data.
    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
            ),
            SignInFailed(_) => (
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "Sign-in failed",
            ),
            TwoFactorRequired { .. } => (
                StatusCode::UNAUTHORIZED,
                "two-factor-required",
                "Two-factor code required",
            ),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            EmailNotVerified => (
                StatusCode::FORBIDDEN,
                "email-not-verified",
                "E-mail address not verified",
            ),
            NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Gone(_) => (StatusCode::GONE, "gone", "Gone"),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Conflict(_) | InProgress(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            InsufficientStock { .. } => (
                StatusCode::CONFLICT,
                "insufficient-stock",
                "Insufficient stock",
            ),
            PreconditionFailed(_) => (
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "Precondition failed",
            ),
            PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation-failed",
                "Validation failed",
            ),
            PreconditionRequired(_) => (
                StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                "Precondition required",
            ),
            TooManyRequests(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
            ),
            Unavailable { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "dependency-unavailable",
                "Service unavailable",
            ),
            BadGateway(_) => (StatusCode::BAD_GATEWAY, "bad-gateway", "Bad gateway"),
            InvalidSignature(_) => (
                StatusCode::UNAUTHORIZED,
                "invalid-signature",
                "Invalid signature",
            ),
            Upstream(failure) => (failure.status, failure.slug, failure.title),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
                "Internal server error",
            ),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.kind().0
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::Validation(errors.into_vec())
    }
}

/// Builds a problem-details response with optional extension members.
pub fn problem_response(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: &str,
    extensions: serde_json::Map<String, serde_json::Value>,
) -> Response {
    let mut body = json!({
        "type": format!("urn:stockroom:problem:{slug}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(obj) = body.as_object_mut() {
        obj.extend(extensions);
    }
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// How to answer for a failed call to an upstream provider: the problem it becomes and the
/// cause, which is logged and never shown.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct UpstreamFailure {
    /// 502, 503 or 422.
    pub status: StatusCode,
    /// The problem type's slug.
    pub slug: &'static str,
    /// The problem's title.
    pub title: &'static str,
    /// What the client is told.
    pub detail: String,
    /// The request field the provider objected to, if it named one.
    pub field: Option<String>,
    /// Whether the same request may succeed later (answered with `Retry-After`).
    pub retryable: bool,
    /// The provider's error.
    #[source]
    pub source: Source,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.kind();
        let mut extensions = serde_json::Map::new();
        let detail = match &self {
            ApiError::Validation(errors) => {
                extensions.insert("errors".into(), json!(errors));
                match errors.as_slice() {
                    [one] => format!("{}: {}", one.field, one.message),
                    _ => format!("{} fields are invalid", errors.len()),
                }
            }
            ApiError::InsufficientStock {
                available,
                requested,
            } => {
                extensions.insert("available".into(), json!(available));
                extensions.insert("requested".into(), json!(requested));
                self.to_string()
            }
            ApiError::TwoFactorRequired { methods, sms_sent } => {
                extensions.insert("methods".into(), json!(methods));
                extensions.insert("sms_sent".into(), json!(sms_sent));
                self.to_string()
            }
            ApiError::Unavailable { dependency, source } => {
                tracing::error!(dependency, error = %chain(source.as_ref()), "dependency unavailable");
                format!("{dependency} is unavailable; retry later")
            }
            ApiError::Upstream(failure) => {
                tracing::error!(error = %chain(failure.source.as_ref()), "{} call failed", failure.slug);
                extensions.insert("retryable".into(), json!(failure.retryable));
                if let Some(field) = &failure.field {
                    extensions.insert("field".into(), json!(field));
                }
                failure.detail.clone()
            }
            ApiError::Internal(source) => {
                tracing::error!(error = %chain(source.as_ref()), "internal error");
                "an unexpected error occurred; it has been logged with the request id".into()
            }
            other => other.to_string(),
        };
        let mut response = problem_response(status, slug, title, &detail, extensions);
        if let ApiError::Unauthenticated(reason) = &self {
            let value = match reason {
                TokenError::Missing => "Bearer",
                TokenError::Expired => {
                    r#"Bearer error="invalid_token", error_description="the access token has expired""#
                }
                TokenError::Invalid => r#"Bearer error="invalid_token""#,
                TokenError::Revoked => {
                    r#"Bearer error="invalid_token", error_description="the access token was revoked""#
                }
            };
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        let retry_after = match &self {
            ApiError::Unavailable { .. } => Some(1),
            ApiError::Upstream(failure) if failure.retryable => Some(2),
            ApiError::TooManyRequests(wait) | ApiError::InProgress(wait) => {
                Some(wait.as_secs().max(1))
            }
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The error and all its causes, for one log line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[path = "problem_test.rs"]
mod tests;
