//! Commit-with-retry: optimistic writes that lost a race for a level, an order or a
//! reservation are recomputed on fresh reads, with a jittered pause between rounds.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;

use crate::http::{ApiError, json_response};
use crate::store::StoreError;

/// How many times a change is recomputed after losing a race.
pub const ATTEMPTS: u32 = 20;

/// Runs `attempt` until it commits: `Ok(None)` means it lost a race for a level and is tried
/// again on fresh reads, with a growing, jittered pause.
pub async fn until_committed<T, F, Fut>(attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ApiError>>,
{
    contending_for("stock level", attempt).await
}

/// [`until_committed`] for writes that race for something else than a level: `contended`
/// names it in the 503 answered after [`ATTEMPTS`] lost races.
pub async fn contending_for<T, F, Fut>(
    contended: &'static str,
    mut attempt: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ApiError>>,
{
    for round in 0..ATTEMPTS {
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
        tokio::time::sleep(backoff(round)).await;
    }
    Err(ApiError::Unavailable {
        dependency: contended,
        source: format!("too many concurrent changes to one {contended}").into(),
    })
}

/// "Full jitter" backoff: a random pause up to 5 ms doubling per round, capped at 160 ms, so
/// writers that collided spread out instead of colliding again in step.
fn backoff(round: u32) -> Duration {
    let cap = 5u64.saturating_mul(1 << round.min(5));
    let random = u64::from(u16::from_le_bytes([
        uuid::Uuid::new_v4().as_bytes()[0],
        uuid::Uuid::new_v4().as_bytes()[1],
    ]));
    Duration::from_micros(random % (cap * 1000 + 1))
}

/// What a commit's failure means for a request: retry on a lost race, refuse otherwise.
pub fn after_commit(
    result: Result<(), StoreError>,
    status: StatusCode,
    body: String,
) -> Result<Option<Response>, ApiError> {
    committed(result, || json_response(status, body))
}

/// [`after_commit`] for any value: `Some(value())` once committed, `None` after a lost race.
pub fn committed<T>(
    result: Result<(), StoreError>,
    value: impl FnOnce() -> T,
) -> Result<Option<T>, ApiError> {
    match result {
        Ok(()) => Ok(Some(value())),
        Err(StoreError::VersionMismatch) => Ok(None),
        Err(StoreError::Gone) => Err(ApiError::Conflict(
            "this Idempotency-Key was taken over by a retry; check the ledger before retrying"
                .into(),
        )),
        Err(e) => Err(e.into()),
    }
}
