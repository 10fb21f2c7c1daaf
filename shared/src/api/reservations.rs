//! Reservations: stock held for a while (a checkout, a pick list), all lines or none, then
//! committed into shipments or released. Expired holds are released by the sweep.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::json;
use time::OffsetDateTime;

use super::AppState;
use super::auth::audit;
use super::stock::{
    Once, after_commit, check_product, check_warehouse, committed, json_response, low_stock_writes,
    record_low_stock, summarize, until_committed,
};
use crate::auth::can::MoveStock;
use crate::domain::stock::{
    Movement, MovementKind, MovementRefused, NewReservation, Reservation, ReservationStatus,
    StockLevel,
};
use crate::http::{ApiError, ApiJson, ApiPath, Authorized, IdempotencyKey, RequestMeta};
use crate::store::{Guard, StoreError};

/// Default hold.
const DEFAULT_HOLD_SECONDS: i64 = 900;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/stock/reservations", post(reserve))
        .route(
            "/v1/stock/reservations/{id}",
            axum::routing::delete(release),
        )
        .route("/v1/stock/reservations/{id}/commit", post(commit))
}

fn view(r: &Reservation) -> serde_json::Value {
    json!(r)
}

#[tracing::instrument(name = "Reserving stock", skip_all)]
async fn reserve(
    State(state): State<AppState>,
    who: Authorized<MoveStock>,
    meta: RequestMeta,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(request): ApiJson<NewReservation>,
) -> Result<Response, ApiError> {
    request.validate()?;
    let caller = who.0;
    let (state, caller, meta, request) = (&state, &caller, &meta, &request);
    Once::run(
        state,
        caller,
        "stock-reservations",
        &key,
        request,
        |once| async move {
            let held = hold(state, &caller.user_id, meta, request, Some(&once)).await?;
            Ok(json_response(StatusCode::CREATED, view(&held).to_string()))
        },
    )
    .await
}

/// Holds the request's stock (all lines or none) for `actor`; with `once`, records the answer
/// under its idempotency key in the same transaction.
pub(super) async fn hold(
    state: &AppState,
    actor: &str,
    meta: &RequestMeta,
    request: &NewReservation,
    once: Option<&Once>,
) -> Result<Reservation, ApiError> {
    let mut products = Vec::with_capacity(request.lines.len());
    for line in &request.lines {
        products.push(check_product(state, &line.product_id).await?);
        check_warehouse(state, "warehouse_id", &line.warehouse_id).await?;
    }
    let id = uuid::Uuid::now_v7().to_string();
    until_committed(|| async {
        let now = OffsetDateTime::now_utc();
        let mut levels = Vec::with_capacity(request.lines.len());
        let mut crossings = (Vec::new(), 0);
        for (line, product) in request.lines.iter().zip(&products) {
            let level = state
                .stock
                .level(&line.product_id, &line.warehouse_id)
                .await?;
            let next = level
                .reserving(line.quantity, now)
                .map_err(|refused| match refused {
                    MovementRefused::Insufficient {
                        available,
                        requested,
                    } => ApiError::InsufficientStock {
                        available,
                        requested,
                    },
                })?;
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
        let hold =
            time::Duration::seconds(request.expires_in_seconds.unwrap_or(DEFAULT_HOLD_SECONDS));
        let reservation = Reservation {
            id: id.clone(),
            lines: request.lines.clone(),
            status: ReservationStatus::Held,
            expires_at: now + hold,
            reference: request.reference.clone(),
            created_by: actor.to_owned(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let entry = audit(meta, actor, "stock.reserve")
            .target(reservation.id.clone())
            .detail("lines", reservation.lines.len().to_string());
        let mut others = vec![
            (
                Guard::Version,
                state.stock.reservation_write(&reservation, None)?,
            ),
            (Guard::None, state.audit.put(&entry)?),
        ];
        if let Some(once) = once {
            others.push(once.completion(state, &view(&reservation).to_string())?);
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
pub(super) async fn release_levels(
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
pub(super) async fn ship_levels(
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
        movements.push(Movement {
            id: uuid::Uuid::now_v7().to_string(),
            kind: MovementKind::Ship,
            product_id: line.product_id.clone(),
            warehouse_id: line.warehouse_id.clone(),
            quantity: -line.quantity,
            before: level.on_hand,
            after: next.on_hand,
            reason: Some("reservation committed".into()),
            reference: Some(
                reservation
                    .reference
                    .clone()
                    .unwrap_or_else(|| format!("reservation:{}", reservation.id)),
            ),
            actor: actor.to_owned(),
            at: now,
        });
        levels.push((level.version, next));
    }
    Ok((levels, movements))
}

async fn load(state: &AppState, id: &str) -> Result<Reservation, ApiError> {
    state.stock.reservation(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound(format!("no reservation with id '{id}'")),
        other => other.into(),
    })
}

#[tracing::instrument(name = "Committing a reservation", skip_all, fields(reservation_id = %id))]
async fn commit(
    State(state): State<AppState>,
    who: Authorized<MoveStock>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    until_committed(|| async {
        let reservation = load(&state, &id).await?;
        let now = OffsetDateTime::now_utc();
        match reservation.status {
            // Committing twice is harmless: answer with what the first commit did.
            ReservationStatus::Committed => {
                return Ok(Some(json_response(
                    StatusCode::OK,
                    json!({"reservation": view(&reservation)}).to_string(),
                )));
            }
            ReservationStatus::Released => {
                return Err(ApiError::Conflict(
                    "the reservation was released; reserve again".into(),
                ));
            }
            ReservationStatus::Held if reservation.expires_at <= now => {
                release_held(
                    &state,
                    &reservation,
                    "system",
                    "stock.reservation_expired",
                    &meta,
                )
                .await?;
                return Err(ApiError::Conflict(
                    "the reservation has expired and its stock was released".into(),
                ));
            }
            ReservationStatus::Held => {}
        }
        let (levels, movements) = ship_levels(&state, &reservation, &caller.user_id, now).await?;
        let next = reservation.settled(ReservationStatus::Committed, now);
        let entry = audit(&meta, &caller.user_id, "stock.reservation_committed")
            .target(reservation.id.clone())
            .detail("movements", summarize(&movements));
        let others = rewrite(&state, &reservation, &next, &entry)?;
        let body = json!({"reservation": view(&next), "movements": movements}).to_string();
        after_commit(
            state.stock.commit(&levels, &movements, others).await,
            StatusCode::OK,
            body,
        )
    })
    .await
}

#[tracing::instrument(name = "Releasing a reservation", skip_all, fields(reservation_id = %id))]
async fn release(
    State(state): State<AppState>,
    who: Authorized<MoveStock>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let reservation = load(&state, &id).await?;
    match reservation.status {
        ReservationStatus::Committed => Err(ApiError::Conflict(
            "the reservation was committed; its stock has shipped".into(),
        )),
        ReservationStatus::Released => Ok(json_response(
            StatusCode::OK,
            view(&reservation).to_string(),
        )),
        ReservationStatus::Held => {
            let released = release_held(
                &state,
                &reservation,
                &who.0.user_id,
                "stock.reservation_released",
                &meta,
            )
            .await?;
            Ok(json_response(StatusCode::OK, view(&released).to_string()))
        }
    }
}

/// The writes replacing `current` by `next` (guarded by the version read) with its audit entry.
fn rewrite(
    state: &AppState,
    current: &Reservation,
    next: &Reservation,
    entry: &crate::store::AuditEntry,
) -> Result<Vec<(Guard, aws_sdk_dynamodb::types::TransactWriteItem)>, ApiError> {
    Ok(vec![
        (
            Guard::Version,
            state.stock.reservation_write(next, Some(current.version))?,
        ),
        (Guard::None, state.audit.put(entry)?),
    ])
}

/// Gives a held reservation's stock back, retrying on contention; returns it as released
/// (or as whatever another request made of it meanwhile).
pub(super) async fn release_held(
    state: &AppState,
    held: &Reservation,
    actor: &str,
    action: &str,
    meta: &RequestMeta,
) -> Result<Reservation, ApiError> {
    let mut current = held.clone();
    for _ in 0..super::stock::ATTEMPTS {
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
                tokio::time::sleep(super::stock::backoff(0)).await;
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
