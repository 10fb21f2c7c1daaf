//! The health function: can the API serve, and what is degraded.
//!
//! | check          | what it asks                                         | when it fails  |
//! |----------------|------------------------------------------------------|----------------|
//! | `dynamodb`     | does the table answer                                | 503            |
//! | `signing_key`  | does the signing key load and does `AUTH_JWKS` publish it | 503       |
//! | `s3`           | does the media bucket answer (images, search index)  | degraded (200) |
//! | `razorpay`     | do Razorpay's keys load (payments, webhooks)         | degraded (200) |
//! | `search_index` | is an index published, and how old is it             | degraded (200) |
//! | `events`       | does the forwarder keep up with the stream           | degraded (200) |
//!
//! Only what makes the API unusable is a 503: without the table nothing works, and without the
//! signing key nobody can sign in or refresh. The rest is reported as `"degraded"` with a 200,
//! so a load balancer or canary keeps the API in service while an operator is told.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use shared::aws::AwsClients;
use shared::config::{Config, PaymentCredentials, SigningKeySource};
use shared::lambda::{Resource, SecretState, StartError, With};
use shared::payments::Payments;
use shared::store::{ConsumerLog, Progress};

/// How long each dependency check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a secrets check is reused: each one reads Secrets Manager.
const SECRETS_REUSED_FOR: Duration = Duration::from_secs(60);

/// How far behind the stream the events forwarder may be before it counts as behind (the
/// template's `IteratorAgeMs` alarm pages at the same default).
const EVENTS_LAG_LIMIT_MS: u64 = 60_000;

/// Where the search indexer publishes the current index's manifest (`shared::search`).
const SEARCH_MANIFEST: &str = "search/manifest.json";

/// What `/health` checks besides the shared state: the secrets' sources and the forwarder's
/// progress.
#[derive(Debug)]
pub struct Checks {
    config: Config,
    clients: AwsClients,
    consumers: ConsumerLog,
    secrets: tokio::sync::Mutex<Option<(Instant, Secrets)>>,
}

impl Resource for Checks {
    async fn load(config: &Config, clients: &AwsClients) -> Result<Self, StartError> {
        Ok(Self {
            config: config.clone(),
            clients: clients.clone(),
            consumers: ConsumerLog::new(shared::store::Table::new(
                clients.dynamodb.clone(),
                config.table_name.as_str(),
            )),
            secrets: tokio::sync::Mutex::new(None),
        })
    }
}

/// The state `/health` runs with.
pub type HealthState = With<Checks>;

/// The `health` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<HealthState> = shared::lambda::Function {
    name: "health",
    routes: router,
};

/// The health function's routes.
pub fn router() -> Router<HealthState> {
    Router::new().route("/health", get(health))
}

/// Whether a check's failure makes the API unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    Vital,
    Degrading,
}

async fn health(State(state): State<HealthState>) -> Response {
    let checks = &state.own;
    let (dynamodb, s3, secrets, search_index, events) = tokio::join!(
        probe(state.table.ping()),
        probe(state.media.ping()),
        checks.secrets(),
        search_index(&state),
        events(&checks.consumers),
    );
    // Secrets Manager not answering says nothing about the key: degraded, not down.
    let key_weight = match secrets.signing_key["status"].as_str() {
        Some("missing" | "invalid") => Weight::Vital,
        _ => Weight::Degrading,
    };
    let report = [
        ("dynamodb", Weight::Vital, dynamodb),
        ("signing_key", key_weight, secrets.signing_key),
        ("s3", Weight::Degrading, s3),
        ("razorpay", Weight::Degrading, secrets.razorpay),
        ("search_index", Weight::Degrading, search_index),
        ("events", Weight::Degrading, events),
    ];
    let failing = |weight: Weight| -> Vec<&str> {
        report
            .iter()
            .filter(|(_, w, c)| *w == weight && c["status"] != "ok")
            .map(|(name, _, _)| *name)
            .collect()
    };
    let (down, degraded) = (failing(Weight::Vital), failing(Weight::Degrading));
    let checks: Map<String, Value> = report
        .iter()
        .map(|(name, _, check)| ((*name).to_owned(), check.clone()))
        .collect();
    if down.is_empty() {
        let status = if degraded.is_empty() {
            "ok"
        } else {
            "degraded"
        };
        return (
            StatusCode::OK,
            Json(json!({"status": status, "degraded": degraded, "checks": checks})),
        )
            .into_response();
    }
    let mut extensions = Map::new();
    extensions.insert("checks".into(), Value::Object(checks));
    shared::http::problem_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "dependency-unavailable",
        "Service unavailable",
        &format!("unhealthy: {}", down.join(", ")),
        extensions,
    )
}

/// A dependency's answer within [`CHECK_TIMEOUT`], with its latency.
async fn probe<E: std::error::Error>(call: impl Future<Output = Result<(), E>>) -> Value {
    let started = Instant::now();
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, call).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = match outcome {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check failed");
            "unavailable"
        }
        Err(_) => {
            tracing::warn!("health check timed out");
            "timeout"
        }
    };
    json!({"status": status, "latency_ms": latency_ms})
}

/// Whether the secrets the API needs are there for their functions to load.
#[derive(Debug, Clone)]
struct Secrets {
    signing_key: Value,
    razorpay: Value,
}

impl Secrets {
    fn all_ok(&self) -> bool {
        self.signing_key["status"] == "ok" && self.razorpay["status"] == "ok"
    }
}

impl Checks {
    /// The secrets check; a passing one is reused for [`SECRETS_REUSED_FOR`] (each reads
    /// Secrets Manager), a failing one never is. In AWS the secrets are only described
    /// (`DescribeSecret`: present, current, not being deleted): this public function never
    /// holds the signing key or Razorpay's keys. Locally (a key file, keys in the environment)
    /// they are loaded as their functions load them. Why one failed goes to the log, never
    /// into the answer.
    async fn secrets(&self) -> Secrets {
        let mut cached = self.secrets.lock().await;
        if let Some((at, secrets)) = cached.as_ref()
            && at.elapsed() < SECRETS_REUSED_FOR
        {
            return secrets.clone();
        }
        let signing_key = async {
            match &self.config.signing_key {
                Some(SigningKeySource::SecretsManager { arn }) => {
                    described(&self.clients, arn).await
                }
                _ => {
                    loaded(
                        "signing key",
                        shared::lambda::load_signing_key(&self.config, &self.clients),
                    )
                    .await
                }
            }
        };
        let razorpay = async {
            match self.config.payments.as_ref().map(|p| &p.credentials) {
                Some(PaymentCredentials::SecretsManager { arn }) => {
                    described(&self.clients, arn).await
                }
                _ => loaded("Razorpay keys", Payments::load(&self.config, &self.clients)).await,
            }
        };
        let (signing_key, razorpay) = tokio::join!(signing_key, razorpay);
        let secrets = Secrets {
            signing_key,
            razorpay,
        };
        *cached = secrets.all_ok().then(|| (Instant::now(), secrets.clone()));
        secrets
    }
}

/// A secret in Secrets Manager, described within [`CHECK_TIMEOUT`].
async fn described(clients: &AwsClients, arn: &str) -> Value {
    let status =
        match tokio::time::timeout(CHECK_TIMEOUT, shared::lambda::secret_state(clients, arn)).await
        {
            Ok(SecretState::Current) => "ok",
            Ok(SecretState::Missing) => "missing",
            Ok(SecretState::Unusable) => "invalid",
            Ok(SecretState::Unknown) => "unavailable",
            Err(_) => "timeout",
        };
    if status != "ok" {
        tracing::warn!(secret = arn, status, "health: a secret is not usable");
    }
    json!({"status": status})
}

/// A secret loaded as its functions load it (locally).
async fn loaded<T>(what: &str, load: impl Future<Output = Result<T, StartError>>) -> Value {
    let status = match tokio::time::timeout(CHECK_TIMEOUT, load).await {
        Ok(Ok(_)) => "ok",
        Ok(Err(StartError::Missing { .. })) => {
            tracing::warn!("health: the {what} are not configured");
            "missing"
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health: the {what} do not load");
            "invalid"
        }
        Err(_) => {
            tracing::warn!("health: loading the {what} timed out");
            "timeout"
        }
    };
    json!({"status": status})
}

/// The published search index: its age, from its manifest (its size goes to the log only).
async fn search_index(state: &HealthState) -> Value {
    #[derive(serde::Deserialize)]
    struct Manifest {
        /// Milliseconds since the epoch when it was published.
        version: i64,
        documents: u64,
    }
    match tokio::time::timeout(CHECK_TIMEOUT, state.media.get(SEARCH_MANIFEST)).await {
        Ok(Ok(Some(body))) => match serde_json::from_slice::<Manifest>(&body) {
            Ok(m) => {
                let now_ms =
                    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
                        .unwrap_or(i64::MAX);
                let age_s = (now_ms - m.version).max(0) / 1000;
                tracing::debug!(age_s, documents = m.documents, "health: the search index");
                json!({"status": "ok", "age_s": age_s})
            }
            Err(e) => {
                tracing::warn!(error = %e, "health: the search manifest is unreadable");
                json!({"status": "unreadable"})
            }
        },
        Ok(Ok(None)) => json!({"status": "missing"}),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health: reading the search manifest failed");
            json!({"status": "unavailable"})
        }
        Err(_) => json!({"status": "timeout"}),
    }
}

/// The events forwarder's last batch: `ok`, `behind` (its oldest change waited longer than
/// [`EVENTS_LAG_LIMIT_MS`]) or `failing` (it handed records back to the stream; the stream
/// retries at once, so this stays only while the retries fail). Before its first batch (a new
/// stage) there is no backlog: `ok` with no `last_batch_age_s`. How many records and when
/// exactly go to the log, not the public answer.
async fn events(consumers: &ConsumerLog) -> Value {
    let last = tokio::time::timeout(CHECK_TIMEOUT, consumers.last(shared::outbox::CONSUMER)).await;
    match last {
        Ok(Ok(Some(progress))) => {
            let Progress {
                at,
                lag_ms,
                records,
                failed,
            } = progress;
            let status = if failed > 0 {
                "failing"
            } else if lag_ms > EVENTS_LAG_LIMIT_MS {
                "behind"
            } else {
                "ok"
            };
            let age_s = (OffsetDateTime::now_utc() - at).whole_seconds().max(0);
            tracing::debug!(
                records,
                failed,
                lag_ms,
                age_s,
                "health: the forwarder's last batch"
            );
            json!({"status": status, "lag_ms": lag_ms, "last_batch_age_s": age_s})
        }
        Ok(Ok(None)) => json!({"status": "ok", "last_batch_age_s": null}),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health: reading the forwarder's progress failed");
            json!({"status": "unavailable"})
        }
        Err(_) => json!({"status": "timeout"}),
    }
}
