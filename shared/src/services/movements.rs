//! Stock movements: receive, ship, adjust, count and transfer, each a ledger entry committed
//! with its level change, its audit entry, its low-stock crossings and its idempotency record.
//! The stock function records them; the scanner, orders and purchasing build on the helpers.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::AppState;
use super::audit::audit;
use super::catalogue::{active_warehouse, orderable_product};
use super::commit::{after_commit, until_committed};
use super::idempotency::IdempotentRequest;
use crate::auth::Caller;
use crate::domain::Product;
use crate::domain::stock::{Movement, MovementKind, MovementRefused, MovementRequest, StockLevel};
use crate::http::{ApiError, RequestMeta};
use crate::store::Write;

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

/// Validates and applies a movement once per idempotency key (also used by the scanner).
pub async fn move_once(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    key: &str,
    request: &MovementRequest,
) -> Result<Response, ApiError> {
    request.validate()?;
    IdempotentRequest::run(
        state,
        caller,
        "stock-movements",
        key,
        request,
        |once| async move { apply(state, caller, meta, request, &once).await },
    )
    .await
}

/// Outbox events for every level that `next` takes from above the product's reorder level to
/// at or below it (once per crossing: a level already below raises nothing), and their count.
pub fn low_stock_writes(
    state: &AppState,
    product: &Product,
    before: &[StockLevel],
    next: &[StockLevel],
) -> Result<(Vec<Write>, usize), ApiError> {
    let reorder = i64::from(product.reorder_level);
    let mut writes = Vec::new();
    for (old, new) in before.iter().zip(next) {
        if old.product_id == product.id.as_str()
            && old.available() > reorder
            && new.available() <= reorder
        {
            writes.push(state.stock.low_stock_event(
                new,
                product.reorder_level,
                product.sku.as_str(),
            )?);
        }
    }
    let crossings = writes.len();
    Ok((writes, crossings))
}

/// Counts committed low-stock crossings as a CloudWatch metric.
pub fn record_low_stock(state: &AppState, crossings: usize) {
    if crossings > 0 {
        crate::telemetry::metrics::emit_count(
            &state.metrics_namespace,
            "stock",
            "LowStockCrossings",
            crossings,
        );
    }
}

/// The parts of a request that name stock: its product and its warehouse(s).
struct Target<'a> {
    product_id: &'a str,
    warehouses: Vec<(&'static str, &'a str)>,
}

fn target(request: &MovementRequest) -> Target<'_> {
    match request {
        MovementRequest::Receive {
            product_id,
            warehouse_id,
            ..
        }
        | MovementRequest::Ship {
            product_id,
            warehouse_id,
            ..
        }
        | MovementRequest::Adjust {
            product_id,
            warehouse_id,
            ..
        }
        | MovementRequest::Count {
            product_id,
            warehouse_id,
            ..
        } => Target {
            product_id,
            warehouses: vec![("warehouse_id", warehouse_id)],
        },
        MovementRequest::Transfer {
            product_id,
            from_warehouse_id,
            to_warehouse_id,
            ..
        } => Target {
            product_id,
            warehouses: vec![
                ("from_warehouse_id", from_warehouse_id),
                ("to_warehouse_id", to_warehouse_id),
            ],
        },
    }
}

/// Computes the new levels and ledger entries from levels as just read.
fn plan(
    request: &MovementRequest,
    levels: &[StockLevel],
    actor: &str,
    now: OffsetDateTime,
) -> Result<(Vec<StockLevel>, Vec<Movement>), ApiError> {
    let insufficient = |r: MovementRefused| match r {
        MovementRefused::Insufficient {
            available,
            requested,
        } => ApiError::InsufficientStock {
            available,
            requested,
        },
    };
    let entry = |kind,
                 level: &StockLevel,
                 next: &StockLevel,
                 reason: &Option<String>,
                 reference: &Option<String>| {
        Movement::between(kind, level, next, actor, reason.clone(), reference.clone())
    };
    let single = |kind, delta: i64, reason: &Option<String>, reference: &Option<String>| {
        let level = &levels[0];
        let next = level.moved(delta, now).map_err(insufficient)?;
        let movement = entry(kind, level, &next, reason, reference);
        Ok((vec![next], vec![movement]))
    };
    match request {
        MovementRequest::Receive {
            quantity,
            reason,
            reference,
            ..
        } => single(MovementKind::Receive, *quantity, reason, reference),
        MovementRequest::Ship {
            quantity,
            reason,
            reference,
            ..
        } => single(MovementKind::Ship, -*quantity, reason, reference),
        MovementRequest::Adjust {
            quantity,
            reason,
            reference,
            ..
        } => single(
            MovementKind::Adjust,
            *quantity,
            &Some(reason.clone()),
            reference,
        ),
        MovementRequest::Count {
            counted,
            reason,
            reference,
            ..
        } => {
            let level = &levels[0];
            if *counted < level.reserved {
                return Err(ApiError::Conflict(format!(
                    "counted {counted} is below the {} units reserved; release reservations first",
                    level.reserved
                )));
            }
            single(
                MovementKind::Count,
                counted - level.on_hand,
                reason,
                reference,
            )
        }
        MovementRequest::Transfer {
            quantity,
            reason,
            reference,
            ..
        } => {
            let reference = Some(
                reference
                    .clone()
                    .unwrap_or_else(|| format!("transfer:{}", uuid::Uuid::now_v7())),
            );
            let (from, to) = (&levels[0], &levels[1]);
            let from_next = from.moved(-*quantity, now).map_err(insufficient)?;
            let to_next = to.moved(*quantity, now).map_err(insufficient)?;
            let out = entry(
                MovementKind::TransferOut,
                from,
                &from_next,
                reason,
                &reference,
            );
            let inn = entry(MovementKind::TransferIn, to, &to_next, reason, &reference);
            Ok((vec![from_next, to_next], vec![out, inn]))
        }
    }
}

fn action(request: &MovementRequest) -> &'static str {
    match request {
        MovementRequest::Receive { .. } => "stock.receive",
        MovementRequest::Ship { .. } => "stock.ship",
        MovementRequest::Adjust { .. } => "stock.adjust",
        MovementRequest::Count { .. } => "stock.count",
        MovementRequest::Transfer { .. } => "stock.transfer",
    }
}

async fn apply(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    request: &MovementRequest,
    once: &IdempotentRequest,
) -> Result<Response, ApiError> {
    let target = target(request);
    let product = orderable_product(state, target.product_id).await?;
    for (field, id) in &target.warehouses {
        active_warehouse(state, field, id).await?;
    }
    until_committed(|| async {
        let mut levels = Vec::with_capacity(target.warehouses.len());
        for (_, warehouse_id) in &target.warehouses {
            levels.push(state.stock.level(target.product_id, warehouse_id).await?);
        }
        let now = OffsetDateTime::now_utc();
        let (next, movements) = plan(request, &levels, &caller.user_id, now)?;
        let body = json!({
            "movements": movements,
            "levels": next.iter().map(level_view).collect::<Vec<_>>(),
        })
        .to_string();
        let entry = audit(meta, &caller.user_id, action(request))
            .target(target.product_id.to_owned())
            .detail("movements", summarize(&movements));
        let (mut others, crossings) = low_stock_writes(state, &product, &levels, &next)?;
        others.push(state.audit.put(&entry)?);
        others.push(once.completion(state, &body)?);
        let guarded: Vec<(u64, StockLevel)> = levels.iter().map(|l| l.version).zip(next).collect();
        let outcome = after_commit(
            state.stock.commit(&guarded, &movements, others).await,
            StatusCode::CREATED,
            body,
        )?;
        if outcome.is_some() {
            record_low_stock(state, crossings);
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
