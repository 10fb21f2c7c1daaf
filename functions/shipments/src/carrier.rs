//! Carriers' tracking updates: verified on the raw body before anything is parsed (HMAC-SHA256
//! under a shared secret, like Razorpay's webhooks), applied once per carrier event id, in
//! whatever order they arrive (the shipment's status is a function of the checkpoints it
//! heard, [`Shipment::status_of`]).
//!
//! ```json
//! {"event_id": "evt_0001", "carrier": "delhivery", "tracking_number": "DL123456789IN",
//!  "status": "out_for_delivery", "occurred_at": "2026-12-07T09:30:00Z",
//!  "location": "Bengaluru South", "note": "with the courier"}
//! ```
//! signed as `X-Carrier-Signature: <lowercase hex HMAC-SHA256 of the body>`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use shared::domain::shipment::{Carrier, CheckpointInput, Reporter, Shipment};
use shared::http::{ApiError, OrMissing, RequestMeta, SignedWebhook, json_response};
use shared::services::commit::{committed, contending_for};
use shared::telemetry::sampling::Sampler;

use super::ShipmentsState;

/// Rejected updates are logged at most once a minute per instance.
static REJECTIONS_LOGGED: Sampler = Sampler::every(60);

/// A carrier signs the raw body with the carrier secret.
const SIGNED: SignedWebhook = SignedWebhook {
    header: "X-Carrier-Signature",
    what: "carrier update",
    service: "shipments",
    metric: "CarrierSignatureFailures",
    logged: &REJECTIONS_LOGGED,
};

/// A carrier's update as it is posted. Fields beyond these are ignored: a carrier that adds
/// one must not have its updates refused (and retried forever).
#[derive(Debug, Deserialize)]
struct CarrierUpdate {
    /// The carrier's id for this update: a repeat is the same update.
    event_id: String,
    carrier: String,
    tracking_number: String,
    status: String,
    /// When it happened, by the carrier's clock (required: it orders the timeline).
    #[serde(with = "time::serde::rfc3339")]
    occurred_at: OffsetDateTime,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

fn answer(status: &str, shipment: &Shipment) -> Response {
    json_response(
        StatusCode::OK,
        json!({"status": status, "shipment_id": shipment.id, "shipment_status": shipment.status})
            .to_string(),
    )
}

#[tracing::instrument(name = "Receiving a carrier update", skip_all)]
pub(crate) async fn receive(
    State(state): State<ShipmentsState>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    SIGNED.check(
        &state.own.secrets,
        &state.metrics_namespace,
        state.body_limit,
        &headers,
        &body,
        &meta,
    )?;
    let update: CarrierUpdate = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a carrier update: {e}")))?;
    let event_id = update.event_id.trim();
    if event_id.is_empty()
        || event_id.len() > 100
        || !event_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ApiError::invalid(
            "event_id",
            "must be 1 to 100 letters, digits, '_' or '-'",
        ));
    }
    let carrier =
        Carrier::parse(&update.carrier, &update.tracking_number).map_err(ApiError::from)?;
    let checkpoint = CheckpointInput {
        status: update.status,
        occurred_at: Some(update.occurred_at),
        location: update.location,
        note: update.note,
    }
    .parse(
        Reporter::Carrier,
        Some(event_id.to_owned()),
        OffsetDateTime::now_utc(),
    )
    .map_err(ApiError::from)?;
    let not_found = || {
        ApiError::NotFound(format!(
            "no shipment has {} tracking number '{}' (yet): retry once it is shipped",
            carrier.name, carrier.tracking_number
        ))
    };
    let found = state
        .shipments
        .by_tracking(&carrier.name, &carrier.tracking_number)
        .await
        .or_missing(not_found)?;
    contending_for("shipment", || async {
        let current = state.shipments.shipment(&found.id).await?;
        let Some(next) = current
            .tracked(checkpoint.clone(), OffsetDateTime::now_utc())
            .map_err(ApiError::from)?
        else {
            return Ok(Some(answer("duplicate", &current)));
        };
        let writes = state.shipments.shipment_writes(Some(&current), &next)?;
        committed(state.shipments.commit(writes).await, || {
            answer("applied", &next)
        })
    })
    .await
}
