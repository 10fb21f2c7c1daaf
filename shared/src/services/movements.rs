//! Stock movements: receive, ship, adjust, count and transfer, each a ledger entry committed
//! with its level change, its audit entry, its low-stock crossings and its idempotency record.
//! The stock function records them; the scanner, orders and purchasing build on the helpers.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::AppState;
use super::audit::audit;
use super::catalogue::{active_warehouse, orderable};
use super::commit::{after_commit, until_committed};
use super::idempotency::IdempotentRequest;
use super::stock_alerts::level_alerts;
use crate::auth::Caller;
use crate::domain::stock::{CheckedMovement, Movement, StockLevel};
use crate::http::{ApiError, RequestMeta};

/// A stock level as the API shows it, with what is available.
pub fn level_view(level: &StockLevel) -> Value {
    json!({
        "product_id": level.product_id,
        "warehouse_id": level.warehouse_id,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": level.available(),
        "updated_at": level.updated_at.format(&time::format_description::well_known::Rfc3339).ok(),
    })
}

/// Applies a checked movement once per idempotency key (also used by the scanner).
pub async fn move_once(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    key: &str,
    movement: &CheckedMovement,
) -> Result<Response, ApiError> {
    IdempotentRequest::run(
        state,
        caller,
        "stock-movements",
        key,
        movement,
        |once| async move { apply(state, caller, meta, movement, &once).await },
    )
    .await
}

async fn apply(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    request: &CheckedMovement,
    once: &IdempotentRequest,
) -> Result<Response, ApiError> {
    let target = request.target();
    let product = orderable(state, target.product).await?;
    for (field, id) in &target.warehouses {
        active_warehouse(state, field, id).await?;
    }
    until_committed(|| async {
        let mut levels = Vec::with_capacity(target.warehouses.len());
        for (_, warehouse_id) in &target.warehouses {
            levels.push(
                state
                    .stock
                    .level(target.product.as_str(), warehouse_id.as_str())
                    .await?,
            );
        }
        let now = OffsetDateTime::now_utc();
        let (next, movements) = request.plan(&levels, &caller.user_id, now)?;
        let body = json!({
            "movements": movements,
            "levels": next.iter().map(level_view).collect::<Vec<_>>(),
        })
        .to_string();
        let entry = audit(meta, &caller.user_id, request.action())
            .target(target.product.to_string())
            .detail("movements", summarize(&movements));
        let guarded: Vec<(u64, StockLevel)> = levels.iter().map(|l| l.version).zip(next).collect();
        let mut alerts = level_alerts(state, &levels, &guarded, &[&product]).await?;
        let mut others = std::mem::take(&mut alerts.writes);
        others.push(state.audit.put(&entry)?);
        others.push(once.completion(state, &body)?);
        let outcome = after_commit(
            state.stock.commit(&guarded, &movements, others).await,
            StatusCode::CREATED,
            body,
        )?;
        if outcome.is_some() {
            alerts.record(state);
        }
        Ok(outcome)
    })
    .await
}

pub fn summarize(movements: &[Movement]) -> String {
    movements
        .iter()
        .map(|m| {
            format!(
                "{} {:+} at {} ({} -> {})",
                m.id, m.quantity, m.warehouse_id, m.before, m.after
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}
