//! After placing: the checkout callback verified against Razorpay's signature, and
//! cancellation; both settle the order through the settlement service.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use shared::auth::can::PlaceOrders;
use shared::auth::{Caller, Permission};
use shared::domain::order::Order;
use shared::http::json_response;
use shared::http::{ApiError, ApiJson, ApiPath, Authorized, RequestMeta};
use shared::services::audit::audit;
use shared::services::settlement::{Actor, settle};
use shared::telemetry::metrics::emit_count;

use crate::{OrdersState, load_visible, view};

/// The checkout callback's fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckoutResult {
    razorpay_payment_id: String,
    razorpay_signature: String,
    #[serde(default)]
    razorpay_order_id: Option<String>,
}

#[tracing::instrument(name = "Verifying a checkout", skip_all, fields(order_id = %id))]
pub(crate) async fn verify(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
    ApiJson(result): ApiJson<CheckoutResult>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    let order = load_visible(&state, &caller, &id).await?;
    let payment_id = result.razorpay_payment_id.trim();
    if payment_id.is_empty() || payment_id.len() > 64 {
        return Err(ApiError::invalid(
            "razorpay_payment_id",
            "must be Razorpay's payment id (1 to 64 characters)",
        ));
    }
    let order = confirm(
        &state,
        &caller,
        &meta,
        &order,
        payment_id,
        result.razorpay_order_id.as_deref(),
        &result.razorpay_signature,
    )
    .await?;
    Ok(json_response(
        StatusCode::OK,
        view(&state, &order, &caller).to_string(),
    ))
}

#[tracing::instrument(name = "Cancelling an order", skip_all, fields(order_id = %id))]
pub(crate) async fn cancel(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    let order = load_visible(&state, &caller, &id).await?;
    let manager = caller.can(Permission::ManageOrders);
    if order.customer_id != caller.user_id && !manager {
        return Err(ApiError::Forbidden(
            "only the customer or a manager may cancel an order".into(),
        ));
    }
    let order = settle(
        &state,
        &order.id,
        &Actor::person(&caller.user_id, &meta),
        None,
        |o, now| o.cancel(manager, now).map_err(ApiError::Conflict),
    )
    .await?
    .order()?;
    Ok(json_response(
        StatusCode::OK,
        view(&state, &order, &caller).to_string(),
    ))
}

/// Settles `order` with the payment Razorpay's callback fields name, once their signature is
/// checked against the order (a mismatch is audited, counted and refused).
pub(crate) async fn confirm(
    state: &OrdersState,
    caller: &Caller,
    meta: &RequestMeta,
    order: &Order,
    payment_id: &str,
    razorpay_order_id: Option<&str>,
    signature: &str,
) -> Result<Order, ApiError> {
    let payments = &state.own;
    let order_matches = razorpay_order_id.is_none_or(|o| o == order.razorpay_order_id);
    if !order_matches
        || !shared::payments::checkout_signature_valid(
            payments.razorpay.key_secret(),
            &order.razorpay_order_id,
            payment_id,
            signature,
        )
    {
        let entry = audit(meta, &caller.user_id, "order.verify_failed")
            .target(order.id.clone())
            .detail("payment_id", payment_id.to_owned());
        if let Err(e) = state.audit.append(&entry).await {
            tracing::warn!(error = %e, "could not audit a failed checkout verification");
        }
        emit_count(
            &state.metrics_namespace,
            "orders",
            "CheckoutSignatureFailures",
            1,
        );
        return Err(ApiError::BadRequest(
            "the payment signature does not match this order and payment".into(),
        ));
    }
    settle(
        state,
        &order.id,
        &Actor::person(&caller.user_id, meta),
        None,
        |o, now| Ok(o.on_checkout(payment_id, now)),
    )
    .await?
    .order()
}
