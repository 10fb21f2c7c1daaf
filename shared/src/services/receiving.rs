//! Receiving goods against a purchase order: the order's received quantities, the stock
//! movements and their levels commit together, once per idempotency key. The purchasing
//! function's receipts route and the stock function's scanner both receive through here.

// Client-influenced sums: every arithmetic step is checked or saturating (issue 15).
#![deny(clippy::arithmetic_side_effects)]

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use time::OffsetDateTime;

use super::AppState;
use super::audit::audit;
use super::commit::{committed, until_committed};
use super::idempotency::IdempotentRequest;
use super::movements::summarize;
use super::stock_alerts::level_alerts;
use crate::auth::Caller;
use crate::domain::purchasing::{PurchaseOrder, Receipt};
use crate::domain::stock::{Movement, MovementKind};
use crate::http::OrMissing;
use crate::http::{ApiError, RequestMeta, json_response};
use crate::telemetry::metrics::emit_count;

/// The purchase order with `id`, or a 404 naming it.
pub async fn load_purchase_order(state: &AppState, id: &str) -> Result<PurchaseOrder, ApiError> {
    state
        .purchasing
        .purchase_order(id)
        .await
        .or_404("purchase order", id)
}

/// Receives goods against purchase order `id`, once per idempotency key (also used by the
/// scanner).
pub async fn receive_goods(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    key: &str,
    id: &str,
    receipt: &Receipt,
) -> Result<Response, ApiError> {
    let (input, arrived) = (receipt.input(), receipt.arrived());
    let route = format!("purchase-orders/{id}/receipts");
    IdempotentRequest::run(state, caller, &route, key, input, |once| async move {
        let response = until_committed(|| async {
            let current = load_purchase_order(state, id).await?;
            let now = OffsetDateTime::now_utc();
            let next = current.receiving(arrived, now)?;
            let mut before = Vec::with_capacity(arrived.len());
            let mut levels = Vec::with_capacity(arrived.len());
            let mut movements = Vec::with_capacity(arrived.len());
            for (product_id, units) in arrived {
                let level = state
                    .stock
                    .level(product_id.as_str(), &current.warehouse_id)
                    .await?;
                let after = level
                    .moved(units.get(), now)
                    .map_err(|_| ApiError::internal("receiving cannot run short"))?;
                movements.push(Movement::between(
                    MovementKind::Receive,
                    &level,
                    &after,
                    &caller.user_id,
                    input
                        .note
                        .clone()
                        .or_else(|| Some("purchase order receipt".into())),
                    Some(format!("po:{}", current.id)),
                ));
                levels.push((level.version, after));
                before.push(level);
            }
            let alerts = level_alerts(state, &before, &levels, &[]).await?;
            let body = json!({"purchase_order": next, "movements": movements}).to_string();
            let entry = audit(meta, &caller.user_id, "purchasing.po_receive")
                .target(current.id.clone())
                .detail("status", next.status.as_str())
                .detail("movements", summarize(&movements));
            let mut writes = state
                .purchasing
                .purchase_order_writes(Some(&current), &next)?;
            writes.push(state.audit.put(&entry)?);
            writes.push(once.completion(state, &body)?);
            writes.extend(alerts.writes);
            let value: i64 = arrived
                .iter()
                .filter_map(|(p, u)| {
                    current
                        .lines
                        .iter()
                        .find(|l| l.product_id == p.as_str())
                        .map(|l| l.unit_cost.saturating_mul(u.get()))
                })
                .fold(0i64, i64::saturating_add);
            let done = committed(
                state.stock.commit(&levels, &movements, writes).await,
                || json_response(StatusCode::CREATED, body),
            )?;
            if done.is_some() {
                let units: i64 = arrived.iter().map(|(_, u)| u.get()).sum();
                let ns = &state.metrics_namespace;
                emit_count(
                    ns,
                    "purchasing",
                    "UnitsReceived",
                    usize::try_from(units).unwrap_or(0),
                );
                emit_count(
                    ns,
                    "purchasing",
                    "ValueReceivedMinor",
                    usize::try_from(value).unwrap_or(0),
                );
            }
            Ok(done)
        })
        .await?;
        Ok(response)
    })
    .await
}
