//! Order settlement: where an order's payment state changes after it is placed (refund
//! records are added by the orders function's refunds). Checkout verification, cancellation
//! and Razorpay's webhook all decide through the pure state machine
//! in [`crate::domain::order`] and commit here, with the stock the decision moves (shipping or
//! releasing the reservation), an audit entry and the webhook delivery record, in one
//! transaction.

use time::OffsetDateTime;

use super::AppState;
use super::audit::audit;
use super::catalogue::orderable_product;
use super::commit::{committed, contending_for};
use super::movements::{low_stock_writes, record_low_stock};
use super::reservations::{release_levels, ship_levels};
use crate::domain::order::{Concern, Order, Outcome, StockState};
use crate::domain::stock::{Movement, MovementKind, Reservation, ReservationStatus, StockLevel};
use crate::http::OrMissing;
use crate::http::{ApiError, RequestMeta};
use crate::store::{StoreError, Uniqueness, Write};
use crate::telemetry::metrics::emit_count;

/// The order with `id`, or a 404 naming it.
pub async fn load_order(state: &AppState, id: &str) -> Result<Order, ApiError> {
    state.orders.order(id).await.or_404("order", id)
}

/// Who is changing an order, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub id: &'a str,
    pub meta: &'a RequestMeta,
}

impl<'a> Actor<'a> {
    pub fn person(id: &'a str, meta: &'a RequestMeta) -> Self {
        Self { id, meta }
    }
}

/// How applying a change to an order ended.
#[derive(Debug)]
pub enum Settlement {
    /// The change committed: the order as it now is.
    Changed(Box<Order>),
    /// There was nothing to change: the order as it is.
    Unchanged(Box<Order>),
    /// The webhook delivery guarding the change was already applied.
    DuplicateDelivery,
}

impl Settlement {
    /// The order after a settlement that no delivery guarded.
    pub fn order(self) -> Result<Order, ApiError> {
        match self {
            Settlement::Changed(order) | Settlement::Unchanged(order) => Ok(*order),
            Settlement::DuplicateDelivery => Err(ApiError::internal(
                "a request without a delivery id was a duplicate",
            )),
        }
    }
}

type Writes = Vec<Write>;

/// Settles an order: reads it, decides with `decide`, and commits the decision with its stock changes,
/// an audit entry and `delivery` (a webhook delivery record) in one transaction, starting over
/// on fresh reads when it loses a race.
pub async fn settle(
    state: &AppState,
    order_id: &str,
    actor: &Actor<'_>,
    delivery: Option<&(dyn Fn() -> Result<Write, StoreError> + Sync)>,
    decide: impl Fn(&Order, OffsetDateTime) -> Result<Outcome, ApiError> + Send + Sync,
) -> Result<Settlement, ApiError> {
    contending_for("order", || async {
        let current = load_order(state, order_id).await?;
        let now = OffsetDateTime::now_utc();
        let outcome = decide(&current, now)?;
        let mut writes: Writes = Vec::new();
        if let Some(d) = delivery {
            writes.push(d()?);
        }
        let planned = plan(state, &current, outcome, actor, now).await?;
        let Some(plan) = planned else {
            // Nothing changes; still remember the delivery so a redelivery is a duplicate.
            if !writes.is_empty() {
                match state.orders.commit(writes).await {
                    Ok(()) | Err(StoreError::Duplicate(Uniqueness::WebhookDelivery)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            return Ok(Some(Settlement::Unchanged(Box::new(current))));
        };
        writes.extend(plan.others);
        let result = state
            .stock
            .commit(&plan.levels, &plan.movements, writes)
            .await;
        if let Err(StoreError::Duplicate(Uniqueness::WebhookDelivery)) = result {
            return Ok(Some(Settlement::DuplicateDelivery));
        }
        let done = committed(result, || ())?;
        if done.is_some() {
            record(state, &current, &plan.next, plan.concern, plan.crossings);
        }
        Ok(done.map(|()| Settlement::Changed(Box::new(plan.next))))
    })
    .await
}

/// A decision turned into writes.
struct Plan {
    next: Order,
    levels: Vec<(u64, StockLevel)>,
    movements: Vec<Movement>,
    others: Writes,
    concern: Option<Concern>,
    crossings: usize,
}

async fn plan(
    state: &AppState,
    current: &Order,
    outcome: Outcome,
    actor: &Actor<'_>,
    now: OffsetDateTime,
) -> Result<Option<Plan>, ApiError> {
    let mut plan = Plan {
        next: current.clone(),
        levels: Vec::new(),
        movements: Vec::new(),
        others: Vec::new(),
        concern: None,
        crossings: 0,
    };
    let action = match outcome {
        Outcome::Unchanged => return Ok(None),
        Outcome::Update(next) => {
            plan.next = next;
            format!("order.{}", plan.next.status.as_str())
        }
        Outcome::Flag(next, concern) => {
            plan.next = next;
            plan.concern = Some(concern);
            "order.flagged".to_owned()
        }
        Outcome::Release(next) => {
            plan.next = next;
            if current.stock == StockState::Held {
                let reservation = state.stock.reservation(&current.reservation_id).await?;
                if reservation.status == ReservationStatus::Held {
                    plan.levels = release_levels(state, &reservation, now).await?;
                    plan.others.extend(settle_reservation(
                        state,
                        &reservation,
                        ReservationStatus::Released,
                        now,
                    )?);
                }
                plan.next.stock = StockState::Released;
            }
            format!("order.{}", plan.next.status.as_str())
        }
        Outcome::Ship(next) => {
            plan.next = next;
            ship(state, current, &mut plan, actor.id, now).await?;
            "order.paid".to_owned()
        }
    };
    let mut entry = audit(actor.meta, actor.id, &action)
        .target(current.id.clone())
        .detail("status", plan.next.status.as_str());
    if let Some(review) = &plan.next.review
        && current.review.as_ref() != Some(review)
    {
        entry = entry.detail("review", review.clone());
    }
    plan.others.push(
        state
            .orders
            .order_write(&plan.next, Some(current.version))?,
    );
    plan.others.push(state.audit.put(&entry)?);
    Ok(Some(plan))
}

/// The reservation's rewrite to a final `status`, guarded by the version read.
fn settle_reservation(
    state: &AppState,
    reservation: &Reservation,
    status: ReservationStatus,
    now: OffsetDateTime,
) -> Result<Writes, ApiError> {
    let next = reservation.settled(status, now);
    Ok(vec![
        state
            .stock
            .reservation_write(&next, Some(reservation.version))?,
    ])
}

/// Ships a paid order: its held reservation if there is one, else whatever is available now;
/// when the stock has gone, the order is flagged short instead.
async fn ship(
    state: &AppState,
    current: &Order,
    plan: &mut Plan,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    if current.stock == StockState::Held {
        let reservation = state.stock.reservation(&current.reservation_id).await?;
        match reservation.status {
            ReservationStatus::Held => {
                let (levels, movements) = ship_levels(state, &reservation, actor, now).await?;
                plan.levels = levels;
                plan.movements = movements;
                plan.others.extend(settle_reservation(
                    state,
                    &reservation,
                    ReservationStatus::Committed,
                    now,
                )?);
                plan.next.stock = StockState::Shipped;
                return Ok(());
            }
            ReservationStatus::Committed => {
                plan.next.stock = StockState::Shipped;
                return Ok(());
            }
            ReservationStatus::Released => {}
        }
    }
    // The hold ended before the money came (a failed attempt, or expiry): take the stock now.
    for line in &current.lines {
        let level = state
            .stock
            .level(&line.product_id, &line.warehouse_id)
            .await?;
        match level.moved(-line.quantity, now) {
            Ok(next) => {
                plan.movements.push(Movement::between(
                    MovementKind::Ship,
                    &level,
                    &next,
                    actor,
                    Some("order paid after its hold ended".into()),
                    Some(format!("order:{}", current.id)),
                ));
                if let Ok(product) = orderable_product(state, &line.product_id).await {
                    let (writes, count) = low_stock_writes(
                        state,
                        &product,
                        std::slice::from_ref(&level),
                        std::slice::from_ref(&next),
                    )?;
                    plan.others.extend(writes);
                    plan.crossings += count;
                }
                plan.levels.push((level.version, next));
            }
            Err(_) => {
                plan.levels.clear();
                plan.movements.clear();
                plan.others.clear();
                plan.crossings = 0;
                plan.next.stock = StockState::Short;
                plan.next.review = Some(format!(
                    "paid, but {} of {} ({}) were no longer available at warehouse {}; fulfil later or refund",
                    line.quantity, line.sku, line.product_id, line.warehouse_id
                ));
                plan.concern = Some(Concern::ShortStock);
                return Ok(());
            }
        }
    }
    plan.next.stock = StockState::Shipped;
    Ok(())
}

/// Business metrics for a committed change.
fn record(
    state: &AppState,
    before: &Order,
    after: &Order,
    concern: Option<Concern>,
    crossings: usize,
) {
    let ns = &state.metrics_namespace;
    if !before.status.is_paid() && after.status.is_paid() {
        emit_count(ns, "orders", "OrdersPaid", 1);
        emit_count(
            ns,
            "orders",
            "PaidAmountMinor",
            usize::try_from(after.amount_paid).unwrap_or(0),
        );
    }
    match concern {
        Some(Concern::AmountMismatch) => emit_count(ns, "orders", "PaymentAmountMismatches", 1),
        Some(_) => emit_count(ns, "orders", "OrdersFlaggedForReview", 1),
        None => {}
    }
    record_low_stock(state, crossings);
}
