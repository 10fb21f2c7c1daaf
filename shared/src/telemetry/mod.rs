//! Structured JSON logs (with the Lambda request id on every line) and CloudWatch metrics as
//! Embedded Metric Format.

pub mod metrics;
pub mod sampling;

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber once per process.
///
/// The level comes from `LOG_LEVEL` (or `RUST_LOG`), default `info`. Spans are flattened into
/// each line, so the runtime's `requestId` and our `request_id`/`route` appear on every line.
pub fn init_logging() {
    let filter = std::env::var("LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .try_init();
}
