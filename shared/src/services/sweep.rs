//! The scheduled sweep (every minute in AWS, every few seconds under `make dev`): holds that
//! ended are given back. A reservation that belongs to an order changes only through the order,
//! so the sweep expires the order (which releases its stock and frees the customer's slot);
//! any other reservation is released directly.

use serde::Serialize;
use time::OffsetDateTime;

use super::AppState;
use super::reservations::release_held;
use super::settlement::{SYSTEM, expire};
use crate::domain::stock::Reservation;
use crate::http::{ApiError, RequestMeta};
use crate::store::StoreError;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Swept {
    /// Reservations released (not an order's, or an order's that was never stored).
    pub released: usize,
    /// Orders expired, their stock given back.
    pub expired_orders: usize,
    /// Holds that could not be given back this time (logged); the next sweep tries again.
    pub failed: usize,
}

/// Gives back every hold that ended before `now`. An order whose payment is being confirmed
/// keeps its hold a while longer ([`crate::domain::order::AUTHORIZED_GRACE`]); the sweep
/// reads past it, and a later sweep expires it. One hold that cannot be given back is logged
/// and skipped, never stopping the others.
pub async fn sweep(state: &AppState, now: OffsetDateTime) -> Result<Swept, ApiError> {
    let mut swept = Swept::default();
    let mut cursor = None;
    loop {
        let (page, next) = state
            .stock
            .expired_reservations(now, 25, cursor.as_ref())
            .await?;
        for reservation in &page {
            match give_back(state, reservation, now).await {
                Ok(GivenBack::Released) => swept.released += 1,
                Ok(GivenBack::Expired) => swept.expired_orders += 1,
                Ok(GivenBack::Kept) => {}
                Err(e) => {
                    swept.failed += 1;
                    tracing::error!(error = %e, reservation_id = %reservation.id, "the sweep could not give a hold back; the next sweep tries again");
                }
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(swept),
        }
    }
}

enum GivenBack {
    Released,
    Expired,
    Kept,
}

async fn give_back(
    state: &AppState,
    reservation: &Reservation,
    now: OffsetDateTime,
) -> Result<GivenBack, ApiError> {
    if let Some(order) = reservation.order_id() {
        match state.orders.order(order).await {
            Ok(_) => {
                return Ok(if expire(state, order, now).await? {
                    GivenBack::Expired
                } else {
                    GivenBack::Kept
                });
            }
            // Held for an order that was never stored (placing it failed, and so did giving
            // the stock back): nothing else will release it.
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    release_held(
        state,
        reservation,
        SYSTEM,
        "stock.reservation_expired",
        &RequestMeta::default(),
    )
    .await?;
    Ok(GivenBack::Released)
}
