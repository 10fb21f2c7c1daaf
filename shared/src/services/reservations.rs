//! Reservations: stock held for a while (a checkout, a pick list), all lines or none, then
//! committed into shipments or released. Orders hold their stock through [`hold`]; the stock
//! function's reservation routes and the scheduled sweep ([`super::sweep`]) release it.

use serde_json::json;
use time::OffsetDateTime;

use super::AppState;
use super::audit::audit;
use super::catalogue::{active_warehouse, orderable};
use std::sync::atomic::{AtomicBool, Ordering};

use super::commit::{committed, until_committed};
use super::idempotency::IdempotentRequest;
use super::stock_alerts::level_alerts;
use crate::domain::Product;
use crate::domain::stock::{
    HoldRequest, Movement, MovementKind, Reservation, ReservationLine, ReservationStatus,
    StockLevel, StockLine,
};
use crate::http::{ApiError, RequestMeta};
use crate::store::{AuditEntry, Write};

/// Holds the request's stock (all lines or none) for `actor`; with `once`, records the answer
/// under its idempotency key in the same transaction.
pub async fn hold(
    state: &AppState,
    actor: &str,
    meta: &RequestMeta,
    request: &HoldRequest,
    once: Option<&IdempotentRequest>,
) -> Result<Reservation, ApiError> {
    let mut products = Vec::with_capacity(request.lines().len());
    for line in request.lines() {
        products.push(orderable(state, &line.product).await?);
        active_warehouse(state, "warehouse_id", &line.warehouse).await?;
    }
    let id = uuid::Uuid::now_v7().to_string();
    until_committed(|| async {
        let now = OffsetDateTime::now_utc();
        let mut before = Vec::with_capacity(request.lines().len());
        let mut levels = Vec::with_capacity(request.lines().len());
        for line in request.lines() {
            let level = state
                .stock
                .level(line.product.as_str(), line.warehouse.as_str())
                .await?;
            let next = level.reserving(line.quantity.get(), now)?;
            levels.push((level.version, next));
            before.push(level);
        }
        let known: Vec<&Product> = products.iter().collect();
        let mut alerts = level_alerts(state, &before, &levels, &known).await?;
        let reservation = Reservation {
            id: id.clone(),
            lines: request.lines().iter().map(StockLine::stored).collect(),
            status: ReservationStatus::Held,
            expires_at: now + request.hold(),
            reference: request.reference().map(str::to_owned),
            created_by: actor.to_owned(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let entry = audit(meta, actor, "stock.reserve")
            .target(reservation.id.clone())
            .detail("lines", reservation.lines.len().to_string());
        let mut others = vec![
            state.stock.reservation_write(&reservation, None)?,
            state.audit.put(&entry)?,
        ];
        if let Some(once) = once {
            others.push(once.completion(state, &json!(reservation).to_string())?);
        }
        others.append(&mut alerts.writes);
        let outcome = committed(state.stock.commit(&levels, &[], others).await, || {
            reservation.clone()
        })?;
        if outcome.is_some() {
            alerts.record(state);
        }
        Ok(outcome)
    })
    .await
}

/// The level of each line of `reservation`, read now, with the line.
async fn held_levels<'r>(
    state: &AppState,
    reservation: &'r Reservation,
) -> Result<Vec<(StockLevel, &'r ReservationLine)>, ApiError> {
    let mut levels = Vec::with_capacity(reservation.lines.len());
    for line in &reservation.lines {
        let level = state
            .stock
            .level(&line.product_id, &line.warehouse_id)
            .await?;
        levels.push((level, line));
    }
    Ok(levels)
}

/// The levels after giving a held reservation's stock back, computed from levels read now,
/// with the announcements of the lines they cross (stock back above its reorder level).
pub async fn release_levels(
    state: &AppState,
    reservation: &Reservation,
    now: OffsetDateTime,
) -> Result<(Vec<(u64, StockLevel)>, Vec<Write>), ApiError> {
    let held = held_levels(state, reservation).await?;
    let mut levels = Vec::with_capacity(held.len());
    for (level, line) in &held {
        let next = level
            .reserving(-line.quantity, now)
            .map_err(|_| ApiError::internal("releasing a reservation cannot run short"))?;
        levels.push((level.version, next));
    }
    let before: Vec<StockLevel> = held.into_iter().map(|(level, _)| level).collect();
    let alerts = level_alerts(state, &before, &levels, &[]).await?;
    Ok((levels, alerts.writes))
}

/// The levels and ship movements that turn a held reservation into shipments.
pub async fn ship_levels(
    state: &AppState,
    reservation: &Reservation,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(Vec<(u64, StockLevel)>, Vec<Movement>), ApiError> {
    let reference = reservation
        .reference
        .clone()
        .unwrap_or_else(|| format!("reservation:{}", reservation.id));
    let mut levels = Vec::with_capacity(reservation.lines.len());
    let mut movements = Vec::with_capacity(reservation.lines.len());
    for (level, line) in held_levels(state, reservation).await? {
        let next = level.shipping_reserved(line.quantity, now);
        movements.push(Movement::between(
            MovementKind::Ship,
            &level,
            &next,
            actor,
            Some("reservation committed".into()),
            Some(reference.clone()),
        ));
        levels.push((level.version, next));
    }
    Ok((levels, movements))
}

/// The writes replacing `current` by `next` (guarded by the version read) with its audit entry.
pub fn rewrite(
    state: &AppState,
    current: &Reservation,
    next: &Reservation,
    entry: &AuditEntry,
) -> Result<Vec<Write>, ApiError> {
    Ok(vec![
        state.stock.reservation_write(next, Some(current.version))?,
        state.audit.put(entry)?,
    ])
}

/// Gives a held reservation's stock back, retrying on contention; returns it as released
/// (or as whatever another request made of it meanwhile).
pub async fn release_held(
    state: &AppState,
    held: &Reservation,
    actor: &str,
    action: &str,
    meta: &RequestMeta,
) -> Result<Reservation, ApiError> {
    // The first round releases what the caller read; later rounds read it again.
    let reread = AtomicBool::new(false);
    until_committed(|| async {
        let current = if reread.swap(true, Ordering::Relaxed) {
            state.stock.reservation(&held.id).await?
        } else {
            held.clone()
        };
        if current.status != ReservationStatus::Held {
            return Ok(Some(current));
        }
        let now = OffsetDateTime::now_utc();
        let (levels, alerts) = release_levels(state, &current, now).await?;
        let next = current.settled(ReservationStatus::Released, now);
        let entry = audit(meta, actor, action).target(current.id.clone());
        let mut others = rewrite(state, &current, &next, &entry)?;
        others.extend(alerts);
        committed(state.stock.commit(&levels, &[], others).await, || next)
    })
    .await
}
