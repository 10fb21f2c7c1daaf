//! The start-up every function shares, so each `main.rs` is one call.

use std::sync::Arc;

use axum::Router;

use crate::auth::SigningKey;
use crate::aws::AwsClients;
use crate::config::{Config, SigningKeySource};
use crate::http::{HttpSettings, service};
use crate::services::AppState;
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

/// What a function is: its name, its routes, and whether it signs tokens.
#[derive(Debug, Clone, Copy)]
pub struct Function {
    /// The function's name (logs, metrics).
    pub name: &'static str,
    /// Its routes.
    pub routes: fn() -> Router<AppState>,
    /// Only the auth function loads the private signing key.
    pub signs_tokens: bool,
    /// The order and webhook functions load Razorpay's keys (and refuse to start without).
    pub uses_payments: bool,
    /// The personas function loads its provider (and its API key).
    pub uses_personas: bool,
}

/// Why a function refused to start: the setting at fault and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The environment does not parse into a [`Config`].
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A setting this function needs is absent.
    #[error("this function {needs}: set {settings}")]
    Missing {
        /// What the function does that needs it.
        needs: &'static str,
        /// The variables that provide it.
        settings: &'static str,
    },
    /// A setting is present but unusable.
    #[error("{setting}: {reason}")]
    Invalid {
        /// The variable (or secret) at fault.
        setting: &'static str,
        /// Why it cannot be used.
        reason: String,
    },
}

/// Builds `function`'s complete HTTP service from `state`: loads what only this function
/// holds (the signing key, Razorpay's keys, the persona provider) or refuses to start. `main`
/// and the test harness both come through here.
pub async fn build(
    function: Function,
    config: &Config,
    clients: &AwsClients,
    mut state: AppState,
) -> Result<Router, StartError> {
    if function.signs_tokens {
        let key = load_signing_key(config, clients).await?;
        state.signer = Some(Arc::new(key));
    }
    if function.uses_payments {
        let settings = config.payments.as_ref().ok_or(StartError::Missing {
            needs: "takes payments",
            settings: "RAZORPAY_SECRET_ARN (AWS) or RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET and \
                       RAZORPAY_WEBHOOK_SECRET (local)",
        })?;
        let payments = crate::payments::Payments::load(settings, &clients.sdk)
            .await
            .map_err(|reason| StartError::Invalid {
                setting: "Razorpay keys",
                reason,
            })?;
        state.payments = Some(Arc::new(payments));
    }
    if function.uses_personas {
        state.persona_provider = crate::personas::Provider::load(&config.personas, &clients.sdk)
            .await
            .map_err(|reason| StartError::Invalid {
                setting: "PERSONA_PROVIDER",
                reason,
            })?;
    }
    Ok(app(function.name, config, state, (function.routes)()))
}

/// Starts `function`: logging, configuration (failing fast and naming the bad variable),
/// SDK clients and keys loaded once, then the Lambda runtime loop.
pub async fn run(function: Function) -> Result<(), lambda_http::Error> {
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

/// Loads the private key that signs access tokens, and checks that `AUTH_JWKS` publishes it.
pub async fn load_signing_key(
    config: &Config,
    clients: &AwsClients,
) -> Result<SigningKey, StartError> {
    let key = match &config.signing_key {
        None => {
            return Err(StartError::Missing {
                needs: "signs tokens",
                settings: "AUTH_SIGNING_KEY_SECRET_ARN (AWS) or AUTH_SIGNING_KEY_FILE and \
                           AUTH_SIGNING_KEY_ID (local)",
            });
        }
        Some(SigningKeySource::File { path, kid }) => {
            let invalid = |reason: String| StartError::Invalid {
                setting: "AUTH_SIGNING_KEY_FILE",
                reason,
            };
            let der = std::fs::read(path)
                .map_err(|e| invalid(format!("reading {}: {e}", path.display())))?;
            SigningKey::from_pkcs8(kid.as_str(), &der).map_err(invalid)?
        }
        Some(SigningKeySource::SecretsManager { arn }) => {
            let invalid = |reason: String| StartError::Invalid {
                setting: "AUTH_SIGNING_KEY_SECRET_ARN",
                reason,
            };
            let secrets = aws_sdk_secretsmanager::Client::new(&clients.sdk);
            let value = secrets
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| invalid(format!("reading the secret: {e}")))?;
            let text = value
                .secret_string()
                .ok_or_else(|| invalid("the secret has no string value".into()))?;
            SigningKey::from_secret_json(text).map_err(invalid)?
        }
    };
    if config.jwks.key(key.kid()).is_none() {
        return Err(StartError::Invalid {
            setting: "AUTH_JWKS",
            reason: format!(
                "does not publish the signing key '{}'; tokens would not verify",
                key.kid()
            ),
        });
    }
    Ok(key)
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
/// `EVENT_BUS_NAME`.
pub async fn run_outbox_forwarder() -> Result<(), lambda_http::Error> {
    telemetry::init_logging();
    let bus = std::env::var("EVENT_BUS_NAME").map_err(|_| {
        tracing::error!("missing environment variable EVENT_BUS_NAME; refusing to start");
        "missing environment variable EVENT_BUS_NAME"
    })?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let client = aws_sdk_eventbridge::Client::new(&sdk);
    let (bus, client) = (&bus, &client);
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<aws_lambda_events::dynamodb::Event>| async move {
            Ok::<_, lambda_http::Error>(crate::outbox::forward(&event.payload, bus, client).await)
        },
    ))
    .await
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
