//! The idempotent request: a write a client may retry under an `Idempotency-Key` runs once.
//! The key is claimed before the work, completed inside the change's own transaction (so the
//! answer and the change commit together), and released when the work fails without writing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::auth::{Caller, digest};
use crate::http::ApiError;
use crate::store::{Begin, Write};

/// A request running under an idempotency key: begun, then completed inside the change's
/// own transaction, or released when the request fails without writing.
#[derive(Debug, Clone)]
pub struct IdempotentRequest {
    scope: String,
    key: String,
}

impl IdempotentRequest {
    /// Runs `work` once per key: replays the first answer to a repeat, and frees the key again
    /// when `work` fails (it wrote nothing), so the client can retry with it.
    pub async fn run<T, F, Fut>(
        state: &AppState,
        caller: &Caller,
        route: &str,
        key: &str,
        request: &T,
        work: F,
    ) -> Result<Response, ApiError>
    where
        T: serde::Serialize,
        F: FnOnce(IdempotentRequest) -> Fut,
        Fut: std::future::Future<Output = Result<Response, ApiError>>,
    {
        let once = match Self::begin(state, caller, route, key, request).await? {
            Ok(once) => once,
            Err(replay) => return Ok(replay),
        };
        let result = work(once.clone()).await;
        once.finish(state, result.is_err()).await;
        result
    }

    /// Claims the key; `Ok(Err(response))` replays the first answer.
    async fn begin<T: serde::Serialize>(
        state: &AppState,
        caller: &Caller,
        route: &str,
        key: &str,
        request: &T,
    ) -> Result<Result<Self, Response>, ApiError> {
        let scope = format!("{}:{route}", caller.user_id);
        let canonical = serde_json::to_string(request).map_err(ApiError::internal)?;
        match state
            .idempotency
            .begin(&scope, key, &digest(&canonical))
            .await?
        {
            Begin::Proceed => Ok(Ok(Self {
                scope,
                key: key.to_owned(),
            })),
            Begin::Replay { status, body } => Ok(Err(replayed(status, body))),
            Begin::Mismatch => Err(ApiError::invalid(
                "Idempotency-Key",
                "was already used with a different request body",
            )),
            Begin::InProgress { retry_in } => Err(ApiError::InProgress(retry_in)),
        }
    }

    /// The write that records `body` as the answer, to commit with the change.
    pub fn completion(&self, state: &AppState, body: &str) -> Result<Write, ApiError> {
        Ok(state
            .idempotency
            .completion(&self.scope, &self.key, 201, body)?)
    }

    /// After the request: a failure wrote nothing, so let a retry with the same key run again.
    async fn finish(self, state: &AppState, failed: bool) {
        if failed && let Err(e) = state.idempotency.abandon(&self.scope, &self.key).await {
            tracing::warn!(error = %e, "could not release an idempotency key; it frees itself in 30 s");
        }
    }
}

fn replayed(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
