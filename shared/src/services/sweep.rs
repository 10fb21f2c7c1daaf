//! The scheduled sweep (every minute in AWS, every few seconds under `make dev`): holds that
//! ended are given back. A reservation that belongs to an order changes only through the order,
//! so the sweep expires the order (which releases its stock and frees the customer's slot);
//! any other reservation is released directly.

use serde::Serialize;
use time::OffsetDateTime;

use super::AppState;
use super::reservations::release_held;
use super::settlement::expire;
use crate::http::{ApiError, RequestMeta};

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Swept {
    /// Reservations released (not an order's).
    pub released: usize,
    /// Orders expired, their stock given back.
    pub expired_orders: usize,
}

/// Gives back every hold that ended before `now`. An order whose payment is being confirmed
/// keeps its hold a while longer ([`crate::domain::order::AUTHORIZED_GRACE`]); the sweep
/// reads past it, and a later sweep expires it.
pub async fn sweep(state: &AppState, now: OffsetDateTime) -> Result<Swept, ApiError> {
    let meta = RequestMeta::default();
    let mut swept = Swept::default();
    let mut cursor = None;
    loop {
        let (page, next) = state
            .stock
            .expired_reservations(now, 25, cursor.as_ref())
            .await?;
        for reservation in &page {
            match reservation.order_id() {
                Some(order) => {
                    if expire(state, order, now).await? {
                        swept.expired_orders += 1;
                    }
                }
                None => {
                    release_held(
                        state,
                        reservation,
                        "system",
                        "stock.reservation_expired",
                        &meta,
                    )
                    .await?;
                    swept.released += 1;
                }
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(swept),
        }
    }
}
