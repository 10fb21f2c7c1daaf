//! Structured JSON logs (with the Lambda request id on every line) and CloudWatch metrics as
//! Embedded Metric Format.

pub mod metrics;
pub mod sampling;

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber once per process.
///
/// The level comes from Lambda's own logging configuration (`AWS_LAMBDA_LOG_LEVEL`, which
/// Lambda sets from the function's `LoggingConfig`), else `LOG_LEVEL` (or `RUST_LOG`, which
/// may name per-module levels), default `info`. Spans are flattened into each line, so the
/// runtime's `requestId` and our `request_id`/`route` appear on every line.
pub fn init_logging() {
    let filter = level_filter(|name| std::env::var(name).ok())
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

/// The log filter the environment asks for (see [`init_logging`]).
fn level_filter(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let lambda = var("AWS_LAMBDA_LOG_LEVEL").map(|level| match level.to_lowercase().as_str() {
        // Lambda's levels are tracing's, plus FATAL (errors are the most severe here).
        "fatal" => "error".to_owned(),
        other => other.to_owned(),
    });
    lambda
        .or_else(|| var("LOG_LEVEL"))
        .or_else(|| var("RUST_LOG"))
        .filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::level_filter;

    #[test]
    fn lambdas_own_log_level_wins_then_log_level_then_rust_log() {
        let env = |pairs: Vec<(&'static str, &'static str)>| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let all = vec![
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
            ("LOG_LEVEL", "debug"),
            ("RUST_LOG", "trace"),
        ];
        assert_eq!(level_filter(env(all)).as_deref(), Some("warn"));
        assert_eq!(
            level_filter(env(vec![("AWS_LAMBDA_LOG_LEVEL", "FATAL")])).as_deref(),
            Some("error")
        );
        assert_eq!(
            level_filter(env(vec![
                ("LOG_LEVEL", "info,shared=debug"),
                ("RUST_LOG", "trace")
            ]))
            .as_deref(),
            Some("info,shared=debug")
        );
        assert_eq!(level_filter(env(vec![])), None);
    }
}
