//! Reservations: stock held for a while (a checkout, a pick list), all lines or none, then
//! committed into shipments or released. Expired holds are released by the sweep.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::json;
use time::OffsetDateTime;

use shared::auth::can::MoveStock;
use shared::domain::stock::{HoldRequest, NewReservation, Reservation, ReservationStatus};
use shared::http::OrMissing;
use shared::http::{
    ApiError, ApiJson, ApiPath, Authorized, IdempotencyKey, RequestMeta, json_response,
};
use shared::services::AppState;
use shared::services::audit::audit;
use shared::services::commit::{after_commit, until_committed};
use shared::services::idempotency::IdempotentRequest;
use shared::services::movements::summarize;
use shared::services::reservations::{hold, release_held, rewrite, ship_levels};

pub(crate) fn router() -> Router<AppState> {
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
    let parsed = HoldRequest::parse(&request)?;
    let caller = who.0;
    let (state, caller, meta, parsed) = (&state, &caller, &meta, &parsed);
    IdempotentRequest::run(
        state,
        caller,
        "stock-reservations",
        &key,
        &request,
        |once| async move {
            let held = hold(state, &caller.user_id, meta, parsed, Some(&once)).await?;
            Ok(json_response(StatusCode::CREATED, view(&held).to_string()))
        },
    )
    .await
}

async fn load(state: &AppState, id: &str) -> Result<Reservation, ApiError> {
    state.stock.reservation(id).await.or_404("reservation", id)
}

/// The reservation with `id`, unless it holds stock for an order: that one changes only
/// through the order (its payment ships it, cancelling or expiry releases it), so the order
/// and the ledger never disagree.
async fn load_unowned(state: &AppState, id: &str) -> Result<Reservation, ApiError> {
    let reservation = load(state, id).await?;
    if let Some(order) = reservation.order_id() {
        return Err(ApiError::Conflict(format!(
            "reservation {id} holds stock for order {order}; it changes only through the order"
        )));
    }
    Ok(reservation)
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
        let reservation = load_unowned(&state, &id).await?;
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
    let reservation = load_unowned(&state, &id).await?;
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
