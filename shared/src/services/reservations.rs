//! Reservations: stock held for a while (a checkout, a pick list), all lines or none, then
//! committed into shipments or released. Orders hold their stock through [`hold`]; the stock
//! function's reservation routes and the scheduled sweep ([`release_expired`]) release it.

use serde_json::json;
use time::OffsetDateTime;

use super::AppState;
use super::audit::audit;
use super::catalogue::{active_warehouse, orderable};
use super::commit::{ATTEMPTS, backoff, committed, until_committed};
use super::idempotency::IdempotentRequest;
use super::movements::{low_stock_writes, record_low_stock};
use crate::domain::stock::{
    HoldRequest, Movement, MovementKind, Reservation, ReservationStatus, StockLevel, StockLine,
};
use crate::http::{ApiError, RequestMeta};
use crate::store::{AuditEntry, StoreError, Write};

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
        let mut levels = Vec::with_capacity(request.lines().len());
        let mut crossings = (Vec::new(), 0);
        for (line, product) in request.lines().iter().zip(&products) {
            let level = state
                .stock
                .level(line.product.as_str(), line.warehouse.as_str())
                .await?;
            let next = level.reserving(line.quantity.get(), now)?;
            let (writes, count) = low_stock_writes(
                state,
                product,
                std::slice::from_ref(&level),
                std::slice::from_ref(&next),
            )?;
            crossings.0.extend(writes);
            crossings.1 += count;
            levels.push((level.version, next));
        }
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
        others.extend(crossings.0);
        let outcome = committed(state.stock.commit(&levels, &[], others).await, || {
            reservation.clone()
        })?;
        if outcome.is_some() {
            record_low_stock(state, crossings.1);
        }
        Ok(outcome)
    })
    .await
}

/// The levels after giving a held reservation's stock back, computed from levels read now.
pub async fn release_levels(
    state: &AppState,
    reservation: &Reservation,
    now: OffsetDateTime,
) -> Result<Vec<(u64, StockLevel)>, ApiError> {
    let mut levels = Vec::with_capacity(reservation.lines.len());
    for line in &reservation.lines {
        let level = state
            .stock
            .level(&line.product_id, &line.warehouse_id)
            .await?;
        let next = level
            .reserving(-line.quantity, now)
            .map_err(|_| ApiError::internal("releasing a reservation cannot run short"))?;
        levels.push((level.version, next));
    }
    Ok(levels)
}

/// The levels and ship movements that turn a held reservation into shipments.
pub async fn ship_levels(
    state: &AppState,
    reservation: &Reservation,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(Vec<(u64, StockLevel)>, Vec<Movement>), ApiError> {
    let mut levels = Vec::with_capacity(reservation.lines.len());
    let mut movements = Vec::with_capacity(reservation.lines.len());
    for line in &reservation.lines {
        let level = state
            .stock
            .level(&line.product_id, &line.warehouse_id)
            .await?;
        let next = level.shipping_reserved(line.quantity, now);
        movements.push(Movement::between(
            MovementKind::Ship,
            &level,
            &next,
            actor,
            Some("reservation committed".into()),
            Some(
                reservation
                    .reference
                    .clone()
                    .unwrap_or_else(|| format!("reservation:{}", reservation.id)),
            ),
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
    let mut current = held.clone();
    for _ in 0..ATTEMPTS {
        if current.status != ReservationStatus::Held {
            return Ok(current);
        }
        let now = OffsetDateTime::now_utc();
        let levels = release_levels(state, &current, now).await?;
        let next = current.settled(ReservationStatus::Released, now);
        let entry = audit(meta, actor, action).target(current.id.clone());
        let others = rewrite(state, &current, &next, &entry)?;
        match state.stock.commit(&levels, &[], others).await {
            Ok(()) => return Ok(next),
            Err(StoreError::VersionMismatch) => {
                tokio::time::sleep(backoff(0)).await;
                current = state.stock.reservation(&current.id).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable {
        dependency: "stock level",
        source: "too many concurrent changes while releasing a reservation".into(),
    })
}

/// Releases every reservation whose hold ended before `now` (the scheduled sweep); returns
/// how many it released.
pub async fn release_expired(state: &AppState, now: OffsetDateTime) -> Result<usize, ApiError> {
    let meta = RequestMeta::default();
    let mut released = 0;
    loop {
        let expired = state.stock.expired_reservations(now, 25).await?;
        if expired.is_empty() {
            return Ok(released);
        }
        for reservation in &expired {
            release_held(
                state,
                reservation,
                "system",
                "stock.reservation_expired",
                &meta,
            )
            .await?;
            released += 1;
        }
    }
}
