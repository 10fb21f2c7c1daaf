//! Order settlement: where an order's payment state changes after it is placed (refund
//! records are added by the orders function's refunds). Checkout verification, cancellation,
//! the expiry sweep and Razorpay's webhook all decide through the pure state machine
//! in [`crate::domain::order`] and commit here, with the stock the decision moves (shipping or
//! releasing the reservation), the customer's count of open orders, an audit entry and the
//! webhook delivery record, in one transaction; a payment that ships stock creates the order's
//! shipments (one per warehouse) in that transaction too. Money that arrives for an order that
//! will not ship is refunded here ([`refund_owed`]).

use time::OffsetDateTime;

use super::AppState;
use super::audit::audit;
use super::commit::{committed, contending_for};
use super::reservations::{release_levels, ship_levels};
use crate::auth::digest;
use crate::domain::order::{Concern, Order, Outcome, RefundRecord, StockState};
use crate::domain::payment::RefundState;
use crate::domain::shipment::Shipment;
use crate::domain::stock::{Movement, Reservation, ReservationStatus, StockLevel};
use crate::http::OrMissing;
use crate::http::{ApiError, RequestMeta};
use crate::payments::{NewRefund, PaymentError, RazorpayClient};
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
        let planned = plan(state, &current, outcome, actor, now).await?;
        // While money is owed back, the delivery is not recorded: it is recorded with the
        // refund ([`refund_owed`]), so a redelivery after a failed refund tries it again.
        let after = planned.as_ref().map_or(&current, |p| &p.next);
        if let Some(d) = delivery
            && !after.awaits_late_refund()
        {
            writes.push(d()?);
        }
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
            record(state, &current, &plan.next, plan.concern);
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
    /// Parcels the payment creates, written after the order so that their events come after
    /// `order.paid` (event ids sort by when they were made).
    shipments: Vec<Shipment>,
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
        shipments: Vec::new(),
    };
    let action = match outcome {
        Outcome::Unchanged => return Ok(None),
        Outcome::Update(next) => {
            plan.next = next;
            if plan.next.owed_refund().is_none() && current.owed_refund().is_some() {
                "order.late_payment_refunded".to_owned()
            } else {
                format!("order.{}", plan.next.status.as_str())
            }
        }
        Outcome::RefundLate(next) => {
            plan.next = next;
            "order.late_payment".to_owned()
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
                    let (levels, alerts) = release_levels(state, &reservation, now).await?;
                    plan.levels = levels;
                    plan.others.extend(alerts);
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
    plan.others
        .extend(state.orders.order_writes(Some(current), &plan.next)?);
    for shipment in &plan.shipments {
        plan.others
            .extend(state.shipments.shipment_writes(None, shipment)?);
    }
    // Orders stored before the count existed (no `expires_at`) were never counted.
    if current.status.awaits_payment()
        && !plan.next.status.awaits_payment()
        && current.expires_at.is_some()
    {
        plan.others
            .push(state.orders.open_order_release(&current.customer_id)?);
    }
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

/// Ships a paid order from its held reservation. An open order always holds its stock (it
/// is released only by cancelling or expiring the order, and money for those is refunded), so
/// a reservation that is no longer held is flagged for a person rather than taken from
/// whatever is available now.
async fn ship(
    state: &AppState,
    current: &Order,
    plan: &mut Plan,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
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
            plan.shipments = Shipment::for_order(&plan.next, now);
        }
        ReservationStatus::Committed => plan.next.stock = StockState::Shipped,
        ReservationStatus::Released => {
            plan.next.stock = StockState::Short;
            plan.next.review = Some(format!(
                "paid, but its reservation {} was no longer held; fulfil by hand or refund",
                reservation.id
            ));
            plan.concern = Some(Concern::ShortStock);
        }
    }
    Ok(())
}

/// Expires the order if its hold has ended and it is still unpaid (the sweep): its stock is
/// given back and it leaves the customer's open orders. Returns whether it expired.
pub async fn expire(
    state: &AppState,
    order_id: &str,
    now: OffsetDateTime,
) -> Result<bool, ApiError> {
    let meta = RequestMeta::default();
    let settled = settle(
        state,
        order_id,
        &Actor::person(SYSTEM, &meta),
        None,
        |o, _| Ok(o.expire(now)),
    )
    .await?;
    Ok(matches!(settled, Settlement::Changed(_)))
}

/// What became of money owed back for an order that will not ship.
#[derive(Debug)]
pub enum LateRefund {
    /// Nothing is owed (or a person was asked to see to it).
    NotOwed,
    /// Refunded in full; the order as it now is.
    Made(Box<Order>),
    /// Razorpay made the refund but it failed at once; the next attempt makes a new one.
    Failed,
    /// Razorpay refused to refund; the order is flagged for a person (its `review` says why).
    Refused,
}

/// Refunds, in full, money that arrived for an order that will not ship (cancelled or
/// expired), then records the refund with an audit entry and `delivery` (the webhook
/// delivery that brought the money) in one transaction. The idempotency key names the order,
/// the payment and how many refunds of it failed, so a retry after any failure refunds
/// nothing twice and a failed refund is followed by a new one.
pub async fn refund_owed(
    state: &AppState,
    razorpay: &RazorpayClient,
    order_id: &str,
    actor: &Actor<'_>,
    delivery: Option<&(dyn Fn() -> Result<Write, StoreError> + Sync)>,
) -> Result<LateRefund, ApiError> {
    let order = load_order(state, order_id).await?;
    let (Some(amount), Some(payment_id)) = (order.owed_refund(), order.payment_id.as_deref())
    else {
        return Ok(LateRefund::NotOwed);
    };
    if order.review.is_some() {
        return Ok(LateRefund::NotOwed);
    }
    let failed = order
        .refunds
        .iter()
        .filter(|r| r.state == RefundState::Failed)
        .count();
    let key = digest(&format!("late-payment:{}:{payment_id}:{failed}", order.id))[..40].to_owned();
    let mut notes = serde_json::Map::new();
    notes.insert("order_id".into(), serde_json::json!(order.id));
    notes.insert(
        "reason".into(),
        serde_json::json!(format!(
            "paid after the order was {}",
            order.status.as_str()
        )),
    );
    let refund = NewRefund {
        amount,
        speed: "normal",
        receipt: order.id.clone(),
        notes,
    };
    let made = match razorpay.refund(payment_id, &key, &refund).await {
        Ok(made) => made,
        Err(PaymentError::Rejected { description, .. }) => {
            let reason = format!(
                "payment {payment_id} arrived after the order was {}, and Razorpay refused to refund it ({description}); refund it by hand",
                order.status.as_str()
            );
            settle(state, order_id, actor, delivery, |o, now| {
                Ok(o.handed_over(Concern::RefundRefused, &reason, now))
            })
            .await?;
            return Ok(LateRefund::Refused);
        }
        Err(e) => return Err(e.into()),
    };
    let record = RefundRecord {
        id: made.id.clone(),
        amount: made.amount,
        state: RefundState::from_provider(&made.status),
        requested_by: Some(SYSTEM.to_owned()),
        restocked: Vec::new(),
        created_at: OffsetDateTime::now_utc(),
    };
    let settled = settle(state, order_id, actor, delivery, |o, now| {
        Ok(o.recording_refund(record.clone(), now))
    })
    .await?;
    if record.state == RefundState::Failed {
        return Ok(LateRefund::Failed);
    }
    Ok(match settled {
        Settlement::Changed(o) => {
            emit_count(
                &state.metrics_namespace,
                "orders",
                "LatePaymentsRefunded",
                1,
            );
            LateRefund::Made(o)
        }
        Settlement::Unchanged(o) => LateRefund::Made(o),
        Settlement::DuplicateDelivery => LateRefund::NotOwed,
    })
}

/// Who Stockroom's own automatic changes are by, in audit entries and refund records.
pub const SYSTEM: &str = "system";

/// Business metrics for a committed change.
fn record(state: &AppState, before: &Order, after: &Order, concern: Option<Concern>) {
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
}
