//! Signed webhooks at the edge (Razorpay's deliveries, carriers' tracking updates): the body's
//! size, then its HMAC signature, checked before anything is parsed. A request that fails is
//! counted (the metric an alarm watches), logged by sample (anyone can send them, and a flood
//! must not flood the log) and answered 401; nothing is written.

use axum::http::HeaderMap;

use super::{ApiError, BodyLimit, RequestMeta};
use crate::auth::WebhookSecrets;
use crate::telemetry::metrics::emit_count;
use crate::telemetry::sampling::Sampler;

/// One webhook endpoint's signature check.
#[derive(Debug)]
pub struct SignedWebhook {
    /// The header carrying the lowercase hex HMAC-SHA256 of the raw body, as documented.
    pub header: &'static str,
    /// What one request is called in the log and the answer, e.g. `webhook delivery`.
    pub what: &'static str,
    /// The `Service` dimension of the failure metric.
    pub service: &'static str,
    /// The failure metric's name.
    pub metric: &'static str,
    /// Admits one rejection to the log a minute (per instance).
    pub logged: &'static Sampler,
}

impl SignedWebhook {
    /// Checks that `body` fits `limit` and that the signature header signs it under one of
    /// `secrets`; counts and logs a failure under `namespace` before answering it.
    pub fn check(
        &self,
        secrets: &WebhookSecrets,
        namespace: &str,
        limit: BodyLimit,
        headers: &HeaderMap,
        body: &[u8],
        meta: &RequestMeta,
    ) -> Result<(), ApiError> {
        if body.len() > limit.0 {
            return Err(ApiError::PayloadTooLarge { limit: limit.0 });
        }
        let signature = headers.get(self.header).and_then(|v| v.to_str().ok());
        if signature.is_some_and(|s| secrets.verify(body, s)) {
            return Ok(());
        }
        let reason = if signature.is_some() {
            "invalid"
        } else {
            "missing"
        };
        emit_count(namespace, self.service, self.metric, 1);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if let Some(held_back) = self.logged.admit(now) {
            tracing::warn!(
                reason,
                source_ip = meta.source_ip.as_deref(),
                not_logged_since_the_last = held_back,
                "rejected a {}: bad signature",
                self.what
            );
        }
        Err(ApiError::InvalidSignature(format!(
            "the {} header is {reason}; the {} was not applied",
            self.header, self.what
        )))
    }
}
