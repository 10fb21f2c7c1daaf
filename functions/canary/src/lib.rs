//! The synthetic check. Every minute (its schedule in template.yaml) it calls the deployed API
//! through its public endpoint, as a client would: DNS, TLS, API Gateway, the functions and
//! their dependencies. It asks two things: does `/health` say the API serves, and does a public
//! read (the signing keys at `/.well-known/jwks.json`, read by every token verifier) answer
//! with keys. It writes one EMF line per run: `CanaryFailures` (checks that failed, 0 when all
//! passed) and `CanaryLatency` (the slowest check, ms), under `Service=canary`;
//! `CanaryFailingAlarm` pages when 2 of 3 minutes fail or the canary does not run.
//!
//! Why a scheduled function and not a CloudWatch Synthetics canary: it is tested here like
//! the rest of the code (against the API served locally), it needs no second language or
//! browser runtime, and it costs a fraction (about 43,000 runs a month a stage: Synthetics
//! bills each run, Lambda bills milliseconds).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// One check's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Which check.
    pub check: &'static str,
    /// Why it failed; `None` when it passed.
    pub failure: Option<String>,
    /// How long it took, in milliseconds.
    pub latency_ms: f64,
}

/// A run's outcomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Each check, in order.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// How many checks failed.
    pub fn failures(&self) -> usize {
        self.outcomes.iter().filter(|o| o.failure.is_some()).count()
    }

    /// The run as one EMF document (`timestamp_ms`: when it ran).
    pub fn metrics(&self, namespace: &str, timestamp_ms: i64) -> Value {
        let slowest = self
            .outcomes
            .iter()
            .map(|o| o.latency_ms)
            .fold(0.0_f64, f64::max);
        json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["Service"]],
                    "Metrics": [
                        {"Name": "CanaryFailures", "Unit": "Count"},
                        {"Name": "CanaryLatency", "Unit": "Milliseconds"},
                    ],
                }],
            },
            "Service": "canary",
            "CanaryFailures": self.failures(),
            "CanaryLatency": slowest,
            "checks": self.outcomes.iter().map(|o| json!({
                "check": o.check,
                "ok": o.failure.is_none(),
                "failure": o.failure,
                "latency_ms": o.latency_ms,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Runs every check against the API at `base_url` (no trailing slash).
pub async fn check(client: &reqwest::Client, base_url: &str) -> Report {
    let (health, keys) = tokio::join!(
        timed("health", health(client, base_url)),
        timed("jwks", jwks(client, base_url)),
    );
    Report {
        outcomes: vec![health, keys],
    }
}

async fn timed(check: &'static str, call: impl Future<Output = Result<(), String>>) -> Outcome {
    let started = Instant::now();
    let failure = match tokio::time::timeout(CHECK_TIMEOUT, call).await {
        Ok(Ok(())) => None,
        Ok(Err(why)) => Some(why),
        Err(_) => Some(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    };
    Outcome {
        check,
        failure,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}

/// `GET path` as JSON, or why not.
async fn get_json(client: &reqwest::Client, url: String) -> Result<(u16, Value), String> {
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .json::<Value>()
        .await
        .map_err(|e| format!("GET {url}: {status} without a JSON body: {e}"))?;
    Ok((status, body))
}

/// `/health` answers 200: the API serves (a degraded API still serves; its checks page).
async fn health(client: &reqwest::Client, base_url: &str) -> Result<(), String> {
    let (status, body) = get_json(client, format!("{base_url}/health")).await?;
    if status == 200 && matches!(body["status"].as_str(), Some("ok" | "degraded")) {
        return Ok(());
    }
    Err(format!(
        "/health answered {status}: {}",
        body["detail"].as_str().unwrap_or("no detail")
    ))
}

/// The signing keys are published: token verifiers (and every authenticated call) work.
async fn jwks(client: &reqwest::Client, base_url: &str) -> Result<(), String> {
    let (status, body) = get_json(client, format!("{base_url}/.well-known/jwks.json")).await?;
    let keys = body["keys"].as_array().map_or(0, Vec::len);
    if status == 200 && keys > 0 {
        return Ok(());
    }
    Err(format!(
        "/.well-known/jwks.json answered {status} with {keys} keys"
    ))
}

/// The Lambda: on every scheduled invocation, runs the checks against `CANARY_BASE_URL` and
/// writes the run's metrics. A failed check is a metric, not an error: Lambda would retry an
/// error, and the alarm reads the metric.
pub async fn run() -> Result<(), lambda_http::Error> {
    shared::telemetry::init_logging();
    let base_url = std::env::var("CANARY_BASE_URL").map_err(|_| {
        tracing::error!("missing environment variable CANARY_BASE_URL; refusing to start");
        "missing environment variable CANARY_BASE_URL"
    })?;
    let base_url = base_url.trim_end_matches('/').to_owned();
    let namespace = std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "Stockroom".into());
    let client = reqwest::Client::builder()
        .timeout(CHECK_TIMEOUT)
        .user_agent("stockroom-canary")
        .build()?;
    let (client, base_url, namespace) = (&client, &base_url, &namespace);
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |_: lambda_http::LambdaEvent<Value>| async move {
            let report = check(client, base_url).await;
            let now = time::OffsetDateTime::now_utc();
            let ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
            let metrics = report.metrics(namespace, ms);
            println!("{metrics}");
            if report.failures() > 0 {
                tracing::warn!(failures = report.failures(), "the canary's checks failed");
            }
            Ok::<_, lambda_http::Error>(json!({"failures": report.failures()}))
        },
    ))
    .await
}
