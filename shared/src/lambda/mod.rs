//! The start-up every function shares, so each `main.rs` is one call: configuration (failing
//! fast and naming the bad setting), SDK clients, what only that function holds
//! ([`Resource`]), then the Lambda runtime loop.

mod function;
mod resources;

pub use function::{Function, FunctionState, Resource, StartError, With, build, serve};
pub use resources::{CarrierWebhook, SecretState, load_signing_key, secret_state};

use crate::aws::AwsClients;
use crate::config::Config;
use crate::services::AppState;
use crate::telemetry;

/// Starts `function`: logging, configuration (failing fast and naming the bad variable),
/// SDK clients and keys loaded once, then the Lambda runtime loop.
pub async fn run<S: FunctionState>(function: Function<S>) -> Result<(), lambda_http::Error> {
    telemetry::init_logging();
    let started = async {
        let config = Config::from_env()?;
        let clients = AwsClients::from_env(&config).await;
        let state = AppState::new(&config, &clients);
        build(function, &config, &clients, state).await
    };
    let app = started.await.map_err(|e| {
        tracing::error!(error = %e, "start-up failed; refusing to serve");
        e
    })?;
    lambda_http::run(app).await
}

/// Starts a scheduled (non-HTTP) function: on every invocation, runs `job` with the shared
/// state. Used by the reservation sweep.
pub async fn run_scheduled<F, Fut>(name: &'static str, job: F) -> Result<(), lambda_http::Error>
where
    F: Fn(AppState) -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value, crate::http::ApiError>>,
{
    telemetry::init_logging();
    let config = Config::from_env().map_err(|e| {
        tracing::error!(error = %e, "start-up failed; refusing to run");
        e
    })?;
    let clients = AwsClients::from_env(&config).await;
    let state = AppState::new(&config, &clients);
    let job = &job;
    let state = &state;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |_event: lambda_http::LambdaEvent<serde_json::Value>| async move {
            let outcome = job(state.clone()).await;
            match outcome {
                Ok(report) => {
                    tracing::info!(function = name, %report, "scheduled run finished");
                    Ok::<_, lambda_http::Error>(report)
                }
                Err(e) => {
                    tracing::error!(function = name, error = %e, "scheduled run failed");
                    Err(e.to_string().into())
                }
            }
        },
    ))
    .await
}

/// Starts the stream consumer that forwards outbox events to the bus named by
/// `EVENT_BUS_NAME`, recording its progress in `TABLE_NAME` (read by `/health`).
pub async fn run_outbox_forwarder() -> Result<(), lambda_http::Error> {
    telemetry::init_logging();
    let setting = |name: &'static str| {
        std::env::var(name).map_err(|_| {
            tracing::error!("missing environment variable {name}; refusing to start");
            format!("missing environment variable {name}")
        })
    };
    let (bus, table) = (setting("EVENT_BUS_NAME")?, setting("TABLE_NAME")?);
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let table = crate::store::Table::from_sdk(&sdk, table);
    let forwarder = &crate::outbox::Forwarder {
        bus,
        events: aws_sdk_eventbridge::Client::new(&sdk),
        progress: crate::store::ConsumerLog::new(table.clone()),
        outbox: crate::store::Outbox::new(table),
    };
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<serde_json::Value>| async move {
            let answer = match serde_json::from_value::<ForwarderInput>(event.payload) {
                Ok(ForwarderInput::Stream(batch)) => {
                    serde_json::to_value(forwarder.handle(&batch).await)
                }
                Ok(ForwarderInput::Republish { republish }) => serde_json::to_value(
                    forwarder
                        .republish(republish, crate::outbox::REPUBLISH_BUDGET)
                        .await?,
                ),
                Err(e) => {
                    return Err(lambda_http::Error::from(format!(
                        "expected a stream batch or {{\"republish\": {{\"from\", \"to\"}}}}: {e}"
                    )));
                }
            };
            answer.map_err(lambda_http::Error::from)
        },
    ))
    .await
}

/// What the events forwarder accepts: a batch of the table's stream, or a window of outbox
/// events to publish again (`{"republish": {"from": ..., "to": ...}}`, sent with
/// `aws lambda invoke`).
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum ForwarderInput {
    Stream(aws_lambda_events::dynamodb::Event),
    Republish { republish: crate::outbox::Window },
}

/// What the search indexer accepts: a batch of the table's stream, or a request to rebuild the
/// whole index (`{"rebuild": true}`, sent with `aws lambda invoke`).
#[cfg(feature = "search")]
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum IndexerInput {
    Stream(aws_lambda_events::dynamodb::Event),
    Rebuild { rebuild: bool },
}

/// Starts the search indexer: the index's only writer (reserved concurrency 1 in the template).
#[cfg(feature = "search")]
pub async fn run_search_indexer() -> Result<(), lambda_http::Error> {
    telemetry::init_logging();
    let config = Config::from_env().map_err(|e| {
        tracing::error!(error = %e, "start-up failed; refusing to run");
        e
    })?;
    let clients = AwsClients::from_env(&config).await;
    let indexer = AppState::new(&config, &clients).indexer();
    let indexer = &indexer;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<serde_json::Value>| async move {
            match serde_json::from_value::<IndexerInput>(event.payload) {
                Ok(IndexerInput::Stream(batch)) => {
                    let (report, response) = indexer.handle(&batch).await;
                    tracing::info!(?report, "indexed a stream batch");
                    Ok::<_, lambda_http::Error>(serde_json::to_value(response)?)
                }
                Ok(IndexerInput::Rebuild { rebuild: true }) => {
                    let report = indexer.rebuild().await.map_err(|e| {
                        tracing::error!(error = %e, "the rebuild failed");
                        e.to_string()
                    })?;
                    tracing::info!(?report, "rebuilt the search index");
                    Ok(serde_json::to_value(report)?)
                }
                Ok(IndexerInput::Rebuild { rebuild: false }) | Err(_) => {
                    Err("expected a DynamoDB stream batch or {\"rebuild\": true}".into())
                }
            }
        },
    ))
    .await
}
