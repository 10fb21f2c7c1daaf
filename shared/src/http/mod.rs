//! HTTP plumbing shared by every function: errors as `application/problem+json`, extractors
//! that turn bad input into precise 4xx answers, pagination, and the layers every response
//! passes through (request id, telemetry, security headers, CORS).

mod auth;
mod conditional;
mod extract;
mod layers;
pub mod pagination;
mod problem;
mod public;
mod refusals;
mod response;
mod webhooks;

pub use refusals::OrMissing;

pub use auth::{Authorized, Standing, Standings, require, require_verified_email};
pub use conditional::{Expected, IdempotencyKey, IfMatch, etag};
pub use extract::{ApiJson, ApiPath, ApiQuery, BodyLimit, time_param};
pub use layers::{HttpSettings, RequestId, RequestMeta, X_REQUEST_ID, service};
pub use pagination::{Cursor, Page, PageParams};
pub use problem::{ApiError, PROBLEM_JSON, UpstreamFailure, problem_response};
pub use public::{Freshness, Lifetimes, ReadThrottle, Reader, fingerprint};
pub use response::json_response;
pub use webhooks::SignedWebhook;
