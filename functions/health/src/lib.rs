//! The health function: is the table reachable, is the bucket reachable.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use shared::services::AppState;

/// How long each dependency check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The `health` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<AppState> = shared::lambda::Function {
    name: "health",
    routes: router,
};

/// The health function's routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health(State(state): State<AppState>) -> Response {
    let (dynamodb, s3) = tokio::join!(
        check("DynamoDB", state.table.ping()),
        check("S3", state.media.ping()),
    );
    let checks: Map<String, Value> = [dynamodb, s3]
        .into_iter()
        .map(|(name, result)| (name.to_lowercase(), result))
        .collect();
    let failing: Vec<String> = checks
        .iter()
        .filter(|(_, c)| c["status"] != "ok")
        .map(|(name, _)| name.clone())
        .collect();
    if failing.is_empty() {
        return (
            StatusCode::OK,
            Json(json!({"status": "ok", "checks": checks})),
        )
            .into_response();
    }
    let mut extensions = Map::new();
    extensions.insert("checks".into(), Value::Object(checks));
    shared::http::problem_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "dependency-unavailable",
        "Service unavailable",
        &format!("unhealthy: {}", failing.join(", ")),
        extensions,
    )
}

async fn check<E: std::error::Error>(
    name: &'static str,
    probe: impl Future<Output = Result<(), E>>,
) -> (&'static str, Value) {
    let started = Instant::now();
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, probe).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = match outcome {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(dependency = name, error = %e, "health check failed");
            "unavailable"
        }
        Err(_) => {
            tracing::warn!(dependency = name, "health check timed out");
            "timeout"
        }
    };
    (name, json!({"status": status, "latency_ms": latency_ms}))
}
