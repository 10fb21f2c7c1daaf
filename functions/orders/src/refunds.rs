//! Refunds: made at Razorpay once per idempotency key, then recorded on the order with any
//! restock in one transaction.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use time::OffsetDateTime;

use shared::auth::can::ManageOrders;
use shared::auth::{Caller, digest};
use shared::domain::order::Order;
use shared::domain::order::RefundRecord;
use shared::domain::refund::{RefundRequest, restock_left};
use shared::domain::stock::{Movement, MovementKind};
use shared::http::json_response;
use shared::http::{ApiError, ApiJson, ApiPath, Authorized, IdempotencyKey, RequestMeta};
use shared::payments::{NewRefund, RazorpayRefund, RefundState};
use shared::services::audit::audit;
use shared::services::commit::{committed, until_committed};
use shared::services::idempotency::IdempotentRequest;
use shared::services::settlement::load_order;
use shared::services::stock_alerts::level_alerts;
use shared::store::AuditEntry;
use shared::telemetry::metrics::emit_count;

use crate::{OrdersState, view};

#[tracing::instrument(name = "Refunding an order", skip_all, fields(order_id = %id))]
pub(crate) async fn refund(
    State(state): State<OrdersState>,
    who: Authorized<ManageOrders>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(request): ApiJson<RefundRequest>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    let route = format!("orders/{id}/refund");
    let call = RefundCall {
        state: &state,
        caller: &caller,
        meta: &meta,
        id: &id,
        key: &key,
        request: &request,
    };
    IdempotentRequest::run(&state, &caller, &route, &key, &request, |once| {
        make_refund(call, once)
    })
    .await
}

/// Everything a refund request carries.
#[derive(Clone, Copy)]
struct RefundCall<'a> {
    state: &'a OrdersState,
    caller: &'a Caller,
    meta: &'a RequestMeta,
    id: &'a str,
    key: &'a str,
    request: &'a RefundRequest,
}

async fn make_refund(call: RefundCall<'_>, once: IdempotentRequest) -> Result<Response, ApiError> {
    let RefundCall {
        state,
        caller,
        id,
        key,
        request,
        ..
    } = call;
    let payments = &state.own;
    // Checked under the key, so a retry of a refund that emptied the order replays it.
    let order = load_order(state, id).await?;
    let made = match request.check(&order) {
        Ok(amount) => {
            let payment_id = order
                .payment_id
                .as_deref()
                .ok_or_else(|| ApiError::internal("a paid order has no payment id"))?;
            let (refund_key, refund) = refund_call(&order, &caller.user_id, key, request, amount);
            payments
                .razorpay
                .refund(payment_id, &refund_key, &refund)
                .await?
        }
        // A retry of a refund Razorpay made whose recording failed (the key was freed): a
        // webhook may have recorded it since, leaving nothing to refund. Razorpay answers the
        // same refund again under the same key; record it as this request's.
        Err(refused) => {
            let again = made_before(state, &order, caller, key).await;
            again.ok_or(refused)?
        }
    };
    let response = until_committed(|| record_refund(call, &made, &once)).await?;
    emit_count(&state.metrics_namespace, "orders", "RefundsCreated", 1);
    emit_count(
        &state.metrics_namespace,
        "orders",
        "RefundedAmountMinor",
        usize::try_from(made.amount).unwrap_or(0),
    );
    if made.amount >= state.order_limits.refund_alert_minor {
        // A notice, not a page: someone looks at large refunds the same day.
        tracing::warn!(order_id = %order.id, amount = made.amount, by = %caller.user_id, "large refund");
        emit_count(&state.metrics_namespace, "orders", "LargeRefunds", 1);
    }
    Ok(response)
}

/// What is sent to Razorpay for `request` on `order`: the idempotency key (Razorpay refunds
/// once per key however often it is sent: same order, same caller, same `Idempotency-Key`)
/// and the body.
pub fn refund_call(
    order: &Order,
    caller_id: &str,
    key: &str,
    request: &RefundRequest,
    amount: i64,
) -> (String, NewRefund) {
    let refund_key = request_key(&order.id, caller_id, key);
    let mut notes = serde_json::Map::new();
    notes.insert("order_id".into(), json!(order.id));
    // Names the request, so a retry can recognise its refund among those a webhook recorded.
    notes.insert(REQUEST_NOTE.into(), json!(refund_key));
    if let Some(r) = &request.reason {
        notes.insert("reason".into(), json!(r));
    }
    let refund = NewRefund {
        amount,
        speed: "normal",
        receipt: order.id.clone(),
        notes,
    };
    (refund_key, refund)
}

/// The key naming one refund request (same order, same caller, same `Idempotency-Key`): sent as
/// Razorpay's idempotency key and kept in the refund's notes.
fn request_key(order_id: &str, caller_id: &str, key: &str) -> String {
    digest(&format!("{order_id}:{caller_id}:{key}"))[..40].to_owned()
}

/// The note naming the request a refund was made for.
const REQUEST_NOTE: &str = "stockroom_request";

/// The refund this request already made at Razorpay, if the order holds it without a
/// requester (recorded from a webhook after the request's own recording failed): each such
/// refund is read back from Razorpay and is this request's when its note names the request.
/// Nothing is created here.
async fn made_before(
    state: &OrdersState,
    order: &Order,
    caller: &Caller,
    key: &str,
) -> Option<RazorpayRefund> {
    let refund_key = request_key(&order.id, &caller.user_id, key);
    for candidate in order.refunds.iter().filter(|r| r.requested_by.is_none()) {
        match state.own.razorpay.fetch_refund(&candidate.id).await {
            Ok(made) if made.notes.get(REQUEST_NOTE) == Some(&json!(refund_key)) => {
                return Some(made);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, refund = %candidate.id, "could not read a refund back")
            }
        }
    }
    None
}

/// Records a refund Razorpay made (and its restock) on the order, in one transaction with the
/// idempotency completion. A webhook may have recorded the refund first; then only the
/// requester and the restock are added.
async fn record_refund(
    call: RefundCall<'_>,
    made: &RazorpayRefund,
    once: &IdempotentRequest,
) -> Result<Option<Response>, ApiError> {
    let RefundCall {
        state,
        caller,
        meta,
        id,
        request,
        ..
    } = call;
    let current = load_order(state, id).await?;
    let now = OffsetDateTime::now_utc();
    // The restock was checked against the order read before Razorpay was called; another
    // refund may have put units back since. What is left is decided on this read, which the
    // order's version guards in the commit below (a lost race reads and decides again).
    let restock = restock_left(&current, &request.restock);
    let mut before = Vec::new();
    let mut levels = Vec::new();
    let mut movements = Vec::new();
    for r in &restock {
        let Some(line) = current.lines.iter().find(|l| l.product_id == r.product_id) else {
            continue;
        };
        let level = state
            .stock
            .level(&line.product_id, &line.warehouse_id)
            .await?;
        let next = level
            .moved(r.quantity, now)
            .map_err(|_| ApiError::internal("returning stock cannot run short"))?;
        movements.push(Movement::between(
            MovementKind::Return,
            &level,
            &next,
            &caller.user_id,
            request.reason.clone().or_else(|| Some("refund".into())),
            Some(format!("order:{id}:refund:{}", made.id)),
        ));
        levels.push((level.version, next));
        before.push(level);
    }
    let alerts = level_alerts(state, &before, &levels, &[]).await?;
    let record = RefundRecord {
        id: made.id.clone(),
        amount: made.amount,
        state: RefundState::from_provider(&made.status),
        requested_by: Some(caller.user_id.clone()),
        restocked: restock.clone(),
        created_at: now,
    };
    let next = current.with_recorded_refund(record.clone(), now);
    let body = json!({"order": view(state, &next, caller), "refund": record}).to_string();
    let mut entry: AuditEntry = audit(meta, &caller.user_id, "order.refund")
        .target(id.to_owned())
        .detail(
            "refund",
            format!("{} {} {}", made.id, made.amount, made.currency),
        );
    if restock != request.restock {
        entry = entry.detail(
            "restock",
            "reduced: a concurrent refund had put units back already",
        );
    }
    let mut writes = state.orders.order_writes(Some(&current), &next)?;
    writes.push(state.audit.put(&entry)?);
    writes.push(once.completion(state, &body)?);
    writes.extend(alerts.writes);
    committed(
        state.stock.commit(&levels, &movements, writes).await,
        || json_response(StatusCode::CREATED, body),
    )
}
