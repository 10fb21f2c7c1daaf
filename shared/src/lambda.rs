//! The start-up every function shares, so each `main.rs` is one call.

use axum::Router;

use crate::api::AppState;
use crate::aws::AwsClients;
use crate::config::Config;
use crate::http::{HttpSettings, service};
use crate::telemetry;

/// Builds a function's complete HTTP service: `routes` plus every shared layer.
pub fn app(
    name: &'static str,
    config: &Config,
    state: AppState,
    routes: Router<AppState>,
) -> Router {
    service(
        routes.with_state(state),
        HttpSettings {
            service: name,
            metrics_namespace: config.metrics_namespace.clone(),
            cors_allowed_origins: config.cors_allowed_origins.clone(),
        },
    )
}

/// Starts function `name` serving `routes`: logging, configuration (failing fast and naming
/// the bad variable), SDK clients built once, then the Lambda runtime loop.
pub async fn run(
    name: &'static str,
    routes: fn() -> Router<AppState>,
) -> Result<(), lambda_http::Error> {
    telemetry::init_logging();
    let config = Config::from_env().map_err(|e| {
        tracing::error!(error = %e, "configuration is incomplete; refusing to start");
        e
    })?;
    let clients = AwsClients::from_env(&config).await;
    let state = AppState::new(&config, &clients);
    lambda_http::run(app(name, &config, state, routes())).await
}
