//! CloudWatch metrics written as Embedded Metric Format lines on stdout, which Lambda ships
//! to CloudWatch Logs and CloudWatch turns into metrics, with no API call on the request path.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

static COLD: AtomicBool = AtomicBool::new(true);

/// One served request, recorded as `Requests`, `Latency`, `Errors` (5xx) and `ClientErrors`
/// (4xx) by `Service` and `Route`, plus `ColdStart` on the first request of a process.
#[derive(Debug)]
pub struct RequestMetric<'a> {
    /// CloudWatch namespace.
    pub namespace: &'a str,
    /// The function's name.
    pub service: &'a str,
    /// `METHOD /route/{template}`.
    pub route: &'a str,
    /// The response status.
    pub status: u16,
    /// Time spent serving the request.
    pub latency: Duration,
    /// The request id, kept as a property for finding the request's logs.
    pub request_id: &'a str,
}

impl RequestMetric<'_> {
    /// The EMF document for this request.
    pub fn document(&self, cold_start: bool, timestamp_ms: i64) -> Value {
        let mut metrics = vec![
            json!({"Name": "Requests", "Unit": "Count"}),
            json!({"Name": "Latency", "Unit": "Milliseconds"}),
            json!({"Name": "Errors", "Unit": "Count"}),
            json!({"Name": "ClientErrors", "Unit": "Count"}),
        ];
        if cold_start {
            metrics.push(json!({"Name": "ColdStart", "Unit": "Count"}));
        }
        let mut doc = json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [["Service", "Route"], ["Service"]],
                    "Metrics": metrics,
                }],
            },
            "Service": self.service,
            "Route": self.route,
            "Requests": 1,
            "Latency": self.latency.as_secs_f64() * 1000.0,
            "Errors": u8::from(self.status >= 500),
            "ClientErrors": u8::from((400..500).contains(&self.status)),
            "StatusCode": self.status,
            "request_id": self.request_id,
        });
        if cold_start {
            doc["ColdStart"] = json!(1);
        }
        doc
    }

    /// Writes the document as one line on stdout.
    pub fn emit(&self) {
        let cold = COLD.swap(false, Ordering::Relaxed);
        let now = time::OffsetDateTime::now_utc();
        let ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let line = self.document(cold, ms).to_string();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }
}

/// The EMF document of one business count (e.g. `LowStockCrossings`) by `Service`.
pub fn count_document(
    namespace: &str,
    service: &str,
    name: &str,
    value: usize,
    timestamp_ms: i64,
) -> Value {
    let mut doc = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Service"]],
                "Metrics": [{"Name": name, "Unit": "Count"}],
            }],
        },
        "Service": service,
    });
    doc[name] = json!(value);
    doc
}

/// Writes a business count as one EMF line on stdout.
pub fn emit_count(namespace: &str, service: &str, name: &str, value: usize) {
    let now = time::OffsetDateTime::now_utc();
    let ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let line = count_document(namespace, service, name, value, ms).to_string();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
#[path = "metrics_test.rs"]
mod tests;
