//! The payments-webhook function: Razorpay's signed deliveries, verified before anything is
//! parsed, applied to orders once each (the delivery record commits with the change), in
//! whatever order they arrive.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::json;

use shared::auth::digest;
use shared::http::json_response;
use shared::http::{ApiError, RequestMeta, SignedWebhook};
use shared::payments::{PaymentEventKind, WebhookEvent};
use shared::services::settlement::{Actor, LateRefund, Settlement, refund_owed, settle};
use shared::telemetry::sampling::Sampler;

const PROVIDER: &str = "razorpay";

/// The state of this function's handlers. Razorpay's webhook secrets.
pub type WebhookState = shared::lambda::With<shared::payments::Payments>;

/// The `payments-webhook` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<WebhookState> = shared::lambda::Function {
    name: "payments-webhook",
    routes: router,
};

/// The webhook function's routes.
pub fn router() -> Router<WebhookState> {
    Router::new().route("/v1/webhooks/razorpay", post(receive))
}

fn answer(status: &str) -> Response {
    json_response(StatusCode::OK, json!({ "status": status }).to_string())
}

/// The oldest authorization or failure a delivery may carry: Razorpay retries a delivery for
/// 24 hours, so anything older is a replay (the de-duplication records outlive this window).
const MAX_DELIVERY_AGE: time::Duration = time::Duration::hours(48);

/// Rejected deliveries are logged at most once a minute per instance.
static REJECTIONS_LOGGED: Sampler = Sampler::every(60);

/// Razorpay signs the raw body with the webhook secret.
const SIGNED: SignedWebhook = SignedWebhook {
    header: "X-Razorpay-Signature",
    what: "webhook delivery",
    service: "payments-webhook",
    metric: "WebhookSignatureFailures",
    logged: &REJECTIONS_LOGGED,
};

#[tracing::instrument(name = "Receiving a Razorpay webhook", skip_all, fields(event_id))]
async fn receive(
    State(state): State<WebhookState>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let payments = &state.own;
    let event_id = headers
        .get("x-razorpay-event-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    tracing::Span::current().record("event_id", event_id.chars().take(100).collect::<String>());
    SIGNED.check(
        &payments.webhook_secrets,
        &state.metrics_namespace,
        state.body_limit,
        &headers,
        &body,
        &meta,
    )?;
    if event_id.is_empty()
        || event_id.len() > 100
        || !event_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ApiError::BadRequest(
            "the x-razorpay-event-id header must be Razorpay's event id".into(),
        ));
    }
    // De-duplicated on what the signature covers: the body (a redelivery repeats it exactly).
    // The event-id header is not signed, so a captured body re-sent under a fresh id is still
    // the same delivery.
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("the body is not UTF-8 JSON".into()))?;
    let delivery_id = digest(text);
    let event = WebhookEvent::parse(&body).map_err(ApiError::BadRequest)?;
    let now = time::OffsetDateTime::now_utc();
    // Money received or refunded is a fact however late it is told (and applying it twice
    // changes nothing); an old authorization or failure is refused as a replay.
    if let WebhookEvent::Payment(e) = &event
        && matches!(
            e.kind,
            PaymentEventKind::Authorized | PaymentEventKind::Failed
        )
        && now - e.at > MAX_DELIVERY_AGE
    {
        return Err(ApiError::BadRequest(format!(
            "the event happened at {}, more than {} hours ago; it was not applied",
            e.at,
            MAX_DELIVERY_AGE.whole_hours()
        )));
    }
    if state.orders.delivered(PROVIDER, &delivery_id).await? {
        return Ok(answer("duplicate"));
    }
    let (razorpay_order_id, name) = match &event {
        WebhookEvent::Payment(e) => (Some(e.razorpay_order_id.as_str()), "payment"),
        WebhookEvent::Refund(e) => (e.razorpay_order_id.as_deref(), "refund"),
        WebhookEvent::Unrelated(name) | WebhookEvent::Unknown(name) => {
            tracing::info!(event = %name, "acknowledged a webhook event Stockroom does not act on");
            return Ok(answer("ignored"));
        }
    };
    let order_id = match razorpay_order_id {
        Some(r) => state.orders.order_id_for(r).await?,
        None => None,
    };
    let Some(order_id) = order_id else {
        tracing::warn!(
            kind = name,
            razorpay_order_id,
            "acknowledged a webhook for an order that is not Stockroom's"
        );
        return Ok(answer("ignored"));
    };
    let event_name = match &event {
        WebhookEvent::Payment(e) => format!("{:?}", e.kind),
        WebhookEvent::Refund(e) => format!("refund {:?}", e.state),
        _ => String::new(),
    };
    let delivery = || {
        state
            .orders
            .delivery_write(PROVIDER, &delivery_id, &event_name, Some(&order_id), now)
    };
    let actor = Actor::person(PROVIDER, &meta);
    let settled = settle(&state, &order_id, &actor, Some(&delivery), |order, now| {
        Ok(match &event {
            WebhookEvent::Payment(e) => order.on_payment(e, now),
            WebhookEvent::Refund(e) => order.on_refund(e, now),
            _ => shared::domain::order::Outcome::Unchanged,
        })
    })
    .await?;
    // Money for an order that will not ship (cancelled or expired) goes back in full; until
    // the refund is recorded this delivery is not, so Razorpay's retry tries the refund again.
    if let Settlement::Changed(order) | Settlement::Unchanged(order) = &settled
        && order.awaits_late_refund()
    {
        let refunded = refund_owed(
            &state,
            &payments.razorpay,
            &order_id,
            &actor,
            Some(&delivery),
        )
        .await?;
        return match refunded {
            LateRefund::Made(_) => Ok(answer("refunded")),
            LateRefund::Refused => Ok(answer("applied")),
            LateRefund::NotOwed => Ok(answer("unchanged")),
            // Not acknowledged: Razorpay delivers again and the next attempt refunds anew.
            LateRefund::Failed => Err(ApiError::BadGateway(
                "Razorpay could not refund money paid for a closed order; deliver again to retry"
                    .into(),
            )),
        };
    }
    Ok(match settled {
        Settlement::DuplicateDelivery => answer("duplicate"),
        Settlement::Changed(_) => answer("applied"),
        Settlement::Unchanged(_) => answer("unchanged"),
    })
}
