//! Orders and their payment state machine.
//!
//! Razorpay's messages arrive late, twice, or out of order. Every rule here is written so that
//! applying any sequence of them, with repeats, ends in the same place: money received is never
//! forgotten, a late failure never un-pays an order, and stock ships at most once.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::payment::{PaymentEvent, PaymentEventKind, RefundEvent, RefundState};
use super::stock::WarehouseId;
use super::validation::{FieldErrors, bounded_text, check_lines, id_key};
use super::{Currency, ProductId, Quantity};

/// Most lines one order may have (each line is a few items of one transaction).
pub const MAX_ORDER_LINES: usize = 20;

/// The body of `POST /v1/orders`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// 1 to [`MAX_ORDER_LINES`] lines, each product once.
    pub lines: Vec<NewOrderLine>,
    /// A note from the customer.
    #[serde(default)]
    pub notes: Option<String>,
}

/// One line of a new order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NewOrderLine {
    /// The product.
    pub product_id: String,
    /// Units, 1 to [`MAX_QUANTITY`].
    pub quantity: i64,
    /// Where to ship from; when absent, the first active warehouse (in creation order) that
    /// has the whole quantity available.
    #[serde(default)]
    pub warehouse_id: Option<String>,
}

/// An order request that passed every check: 1 to [`MAX_ORDER_LINES`] lines, each product
/// once, product ids well formed, quantities in range, notes within bounds. Only
/// [`OrderRequest::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    lines: Vec<RequestedLine>,
    notes: Option<String>,
}

/// One line of a parsed order request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedLine {
    /// The product.
    pub product_id: ProductId,
    /// Units.
    pub quantity: Quantity,
    /// Where to ship from, if the customer chose.
    pub warehouse_id: Option<WarehouseId>,
}

impl OrderRequest {
    /// Parses a client's order, naming each bad field.
    pub fn parse(input: &NewOrder) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        // Repeats are found on the parsed id: two spellings of one UUID are one product.
        check_lines(
            &mut e,
            input
                .lines
                .iter()
                .map(|l| (id_key(&l.product_id), l.quantity)),
            MAX_ORDER_LINES,
            Some("product_id"),
            "repeats the product of an earlier line; add the quantities instead",
        );
        if let Some(n) = &input.notes {
            e.check("notes", bounded_text(n, 1, 500));
        }
        let mut lines = Vec::with_capacity(input.lines.len());
        for (i, line) in input.lines.iter().enumerate() {
            let product_id = ProductId::parse(&line.product_id);
            if product_id.is_err() {
                e.add(
                    format!("lines[{i}].product_id"),
                    format!("no product with id '{}'", line.product_id),
                );
            }
            let warehouse_id = line
                .warehouse_id
                .as_deref()
                .map(|w| {
                    e.check(&format!("lines[{i}].warehouse_id"), WarehouseId::parse(w))
                        .ok_or(())
                })
                .transpose();
            if let (Ok(product_id), Ok(quantity), Ok(warehouse_id)) =
                (product_id, Quantity::parse(line.quantity), warehouse_id)
            {
                lines.push(RequestedLine {
                    product_id,
                    quantity,
                    warehouse_id,
                });
            }
        }
        e.finish(|| {
            Some(Self {
                lines,
                notes: input.notes.clone(),
            })
        })
    }

    /// The lines, in the order the customer gave them.
    pub fn lines(&self) -> &[RequestedLine] {
        &self.lines
    }

    /// The customer's note.
    pub fn notes(&self) -> Option<&str> {
        self.notes.as_deref()
    }
}

/// One priced line of an order. Prices come from the catalogue when the order is placed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderLine {
    /// The product.
    pub product_id: String,
    /// Its SKU when ordered.
    pub sku: String,
    /// Its name when ordered.
    pub name: String,
    /// The warehouse it ships from.
    pub warehouse_id: String,
    /// Units.
    pub quantity: i64,
    /// Catalogue price per unit, minor units.
    pub unit_price: i64,
    /// `unit_price * quantity`.
    pub line_total: i64,
}

/// Where an order's payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Created; waiting for the customer to pay.
    PendingPayment,
    /// The checkout reported a payment (or Razorpay authorized one); waiting for capture.
    PaymentAuthorized,
    /// Money received; stock shipped (or flagged short).
    Paid,
    /// The last payment attempt failed; the stock stays held until the order expires, so the
    /// customer may still pay.
    PaymentFailed,
    /// Cancelled before payment; the stock was given back. Money that arrives later is
    /// refunded in full.
    Cancelled,
    /// Not paid before its hold ended; the stock was given back. Money that arrives later is
    /// refunded in full.
    Expired,
    /// Part of the payment was refunded.
    PartiallyRefunded,
    /// All of the payment was refunded.
    Refunded,
}

impl OrderStatus {
    /// Every status.
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::PendingPayment,
        OrderStatus::PaymentAuthorized,
        OrderStatus::Paid,
        OrderStatus::PaymentFailed,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
        OrderStatus::PartiallyRefunded,
        OrderStatus::Refunded,
    ];

    /// The status's name in APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::PaymentAuthorized => "payment_authorized",
            OrderStatus::Paid => "paid",
            OrderStatus::PaymentFailed => "payment_failed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
            OrderStatus::PartiallyRefunded => "partially_refunded",
            OrderStatus::Refunded => "refunded",
        }
    }

    /// Parses a status name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether money has been received (refunds may follow).
    pub fn is_paid(self) -> bool {
        matches!(
            self,
            OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded
        )
    }

    /// Whether a payment may still move the order forward: the order is open, holding its
    /// stock (what a customer's cap on open orders counts).
    pub fn awaits_payment(self) -> bool {
        matches!(
            self,
            OrderStatus::PendingPayment
                | OrderStatus::PaymentAuthorized
                | OrderStatus::PaymentFailed
        )
    }
}

/// Where an order's stock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockState {
    /// Reserved for the order.
    Held,
    /// Shipped: ship movements are in the ledger.
    Shipped,
    /// Given back to the warehouse (cancelled or expired before payment).
    Released,
    /// Paid, but the stock had gone by then: flagged for review.
    Short,
}

/// A refund of part or all of an order's payment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefundRecord {
    /// Razorpay's refund id.
    pub id: String,
    /// Minor units.
    pub amount: i64,
    /// Where it stands.
    pub state: RefundState,
    /// Who asked for it (`None`: made outside Stockroom, e.g. in Razorpay's dashboard).
    pub requested_by: Option<String>,
    /// Units put back into stock with it.
    #[serde(default)]
    pub restocked: Vec<RestockLine>,
    /// When Stockroom learned of it.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Units of a product returned to stock with a refund.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RestockLine {
    /// The product (one of the order's lines).
    pub product_id: String,
    /// Units.
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Order {
    /// Id (UUIDv7); also the Razorpay `receipt`.
    pub id: String,
    /// The customer's account id.
    pub customer_id: String,
    /// Priced lines.
    pub lines: Vec<OrderLine>,
    /// ISO 4217 code shared by every line.
    pub currency: Currency,
    /// Total, minor units.
    pub amount: i64,
    /// Payment state.
    pub status: OrderStatus,
    /// Stock state.
    pub stock: StockState,
    /// The reservation holding the stock.
    pub reservation_id: String,
    /// Razorpay's order id.
    pub razorpay_order_id: String,
    /// The payment that authorized or paid the order.
    pub payment_id: Option<String>,
    /// Money received, minor units.
    pub amount_paid: i64,
    /// Refunds, oldest first.
    pub refunds: Vec<RefundRecord>,
    /// Why a person must look at this order (amount mismatch, paid after cancellation, short
    /// stock); `None` when all is well.
    pub review: Option<String>,
    /// A note from the customer.
    pub notes: Option<String>,
    /// When the hold on its stock ends: unpaid by then, the order expires. (`None` only on
    /// orders stored before orders expired; they expire [`LEGACY_HOLD`] after creation.)
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Incremented by every change; the `ETag`.
    pub version: u64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When the money arrived.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub paid_at: Option<OffsetDateTime>,
    /// When the latest payment event applied to this order happened (by the provider's clock):
    /// an older authorization or failure, delivered late or replayed, changes nothing.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub payment_event_at: Option<OffsetDateTime>,
    /// The Razorpay customer the order was opened for (the account linked one): the checkout
    /// offers its saved methods and may save a card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_customer_id: Option<String>,
    /// Loyalty points spent on it at checkout.
    #[serde(default)]
    pub points_redeemed: i64,
    /// What they took off the lines' total, in minor units (`amount` is what is left to pay).
    #[serde(default)]
    pub discount: i64,
}

/// What an event or request does to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing changes: already applied, or superseded by something that happened later.
    Unchanged,
    /// Store the new order; stock untouched.
    Update(Order),
    /// Money received: store the new order and ship its stock (the reservation if still held,
    /// else whatever is available; short stock is flagged).
    Ship(Order),
    /// Store the new order and give held stock back.
    Release(Order),
    /// Store the new order, flagged for review (its `review` says why); nothing ships.
    Flag(Order, Concern),
    /// Money arrived for an order that will not ship (cancelled or expired): store the
    /// payment, then refund it in full ([`Order::owed_refund`]); nothing ships.
    RefundLate(Order),
}

/// How long orders stored without `expires_at` held their stock.
pub const LEGACY_HOLD: time::Duration = time::Duration::minutes(30);

/// How much longer than its hold an order whose payment is being confirmed (authorized, not
/// yet captured) stays open: Razorpay captures within minutes, and expiring the order meanwhile
/// would refund a customer who paid in time.
pub const AUTHORIZED_GRACE: time::Duration = time::Duration::minutes(15);

/// Why an order was flagged for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concern {
    /// A payment's amount or currency differs from the order's.
    AmountMismatch,
    /// A second payment was captured for an order already paid.
    SecondPayment,
    /// A refund names a payment that is not the order's.
    ForeignRefund,
    /// Paid, but its stock was no longer held.
    ShortStock,
    /// Money for an order that will not ship could not be refunded automatically.
    RefundRefused,
}

impl Concern {
    /// The concern's name in metrics and audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Concern::AmountMismatch => "amount_mismatch",
            Concern::SecondPayment => "second_payment",
            Concern::ForeignRefund => "foreign_refund",
            Concern::ShortStock => "short_stock",
            Concern::RefundRefused => "refund_refused",
        }
    }
}

impl Order {
    /// The next version of this order.
    fn next(&self, now: OffsetDateTime) -> Order {
        let mut next = self.clone();
        next.version += 1;
        next.updated_at = now;
        next
    }

    fn flagged(&self, concern: Concern, reason: String, now: OffsetDateTime) -> Outcome {
        if self.review.as_deref() == Some(reason.as_str()) {
            return Outcome::Unchanged;
        }
        let mut next = self.next(now);
        next.review = Some(reason);
        Outcome::Flag(next, concern)
    }

    /// When the hold on the order's stock ends.
    pub fn deadline(&self) -> OffsetDateTime {
        self.expires_at
            .unwrap_or_else(|| self.created_at + LEGACY_HOLD)
    }

    /// Whether the customer may still pay through the checkout: the order waits for a
    /// payment and its hold has not ended.
    pub fn checkout_open(&self, now: OffsetDateTime) -> bool {
        matches!(
            self.status,
            OrderStatus::PendingPayment | OrderStatus::PaymentFailed
        ) && now < self.deadline()
    }

    /// The hold ended (the sweep found it): an order still waiting for payment expires and
    /// gives its stock back; one whose payment is being confirmed waits [`AUTHORIZED_GRACE`]
    /// longer. Anything else is already settled.
    pub fn expire(&self, now: OffsetDateTime) -> Outcome {
        let lapsed = match self.status {
            OrderStatus::PendingPayment | OrderStatus::PaymentFailed => now >= self.deadline(),
            OrderStatus::PaymentAuthorized => now >= self.deadline() + AUTHORIZED_GRACE,
            _ => false,
        };
        if !lapsed {
            return Outcome::Unchanged;
        }
        let mut next = self.next(now);
        next.status = OrderStatus::Expired;
        Outcome::Release(next)
    }

    /// What must be refunded because money arrived for an order that will not ship
    /// (cancelled or expired): the payment, less what was refunded already.
    pub fn owed_refund(&self) -> Option<i64> {
        let closed = matches!(self.status, OrderStatus::Cancelled | OrderStatus::Expired);
        let owed = self.amount_paid.saturating_sub(self.refunded());
        (closed && owed > 0).then_some(owed)
    }

    /// Whether Stockroom still has to refund late money itself: some is owed and no person
    /// was asked to see to the order instead.
    pub fn awaits_late_refund(&self) -> bool {
        self.owed_refund().is_some() && self.review.is_none()
    }

    /// The order flagged for a person with `reason` (nothing else changes).
    pub fn handed_over(&self, concern: Concern, reason: &str, now: OffsetDateTime) -> Outcome {
        self.flagged(concern, reason.to_owned(), now)
    }

    /// Refunds that took or may take money back (pending or processed), minor units.
    pub fn refunded(&self) -> i64 {
        self.refunds
            .iter()
            .filter(|r| r.state != RefundState::Failed)
            .map(|r| r.amount)
            .sum()
    }

    /// What may still be refunded.
    pub fn refundable(&self) -> i64 {
        if self.status.is_paid() {
            (self.amount_paid - self.refunded()).max(0)
        } else {
            0
        }
    }

    /// Units of `product_id` already put back into stock by refunds.
    pub fn restocked(&self, product_id: &str) -> i64 {
        self.refunds
            .iter()
            .flat_map(|r| &r.restocked)
            .filter(|l| l.product_id == product_id)
            .map(|l| l.quantity)
            .sum()
    }

    fn with_refund_status(mut self) -> Order {
        if self.status.is_paid() {
            let refunded = self.refunded();
            self.status = if refunded >= self.amount_paid && self.amount_paid > 0 {
                OrderStatus::Refunded
            } else if refunded > 0 {
                OrderStatus::PartiallyRefunded
            } else {
                OrderStatus::Paid
            };
        }
        self
    }

    /// The order with `refund` recorded (a refund made through Stockroom).
    pub fn with_refund(&self, refund: RefundRecord, now: OffsetDateTime) -> Order {
        let mut next = self.next(now);
        next.refunds.push(refund);
        next.with_refund_status()
    }

    /// The order with a refund Stockroom made recorded: a refund a webhook recorded first
    /// (same id, no requester) gains the requester and the restock; any other is added.
    pub fn with_recorded_refund(&self, refund: RefundRecord, now: OffsetDateTime) -> Order {
        match self.refunds.iter().position(|r| r.id == refund.id) {
            Some(i) => {
                let mut next = self.next(now);
                let known = &mut next.refunds[i];
                known.requested_by = refund.requested_by;
                known.restocked = refund.restocked;
                next.with_refund_status()
            }
            None => self.with_refund(refund, now),
        }
    }

    /// Recording a refund Stockroom made: nothing changes when it is recorded with its
    /// requester already.
    pub fn recording_refund(&self, refund: RefundRecord, now: OffsetDateTime) -> Outcome {
        let known = self
            .refunds
            .iter()
            .any(|r| r.id == refund.id && r.requested_by.is_some());
        if known {
            Outcome::Unchanged
        } else {
            Outcome::Update(self.with_recorded_refund(refund, now))
        }
    }

    /// The checkout reported `payment_id` with a valid signature.
    pub fn on_checkout(&self, payment_id: &str, now: OffsetDateTime) -> Outcome {
        match self.status {
            OrderStatus::PendingPayment | OrderStatus::PaymentFailed => {
                let mut next = self.next(now);
                next.status = OrderStatus::PaymentAuthorized;
                next.payment_id = Some(payment_id.to_owned());
                Outcome::Update(next)
            }
            _ => Outcome::Unchanged,
        }
    }

    /// Applies a payment event.
    pub fn on_payment(&self, e: &PaymentEvent, now: OffsetDateTime) -> Outcome {
        let receives_money = matches!(
            e.kind,
            PaymentEventKind::Captured | PaymentEventKind::OrderPaid
        );
        // Money received is a fact whenever it is told; an authorization or a failure older
        // than an event already applied would move the order backwards.
        if !receives_money && self.payment_event_at.is_some_and(|last| e.at < last) {
            return Outcome::Unchanged;
        }
        let latest = Some(self.payment_event_at.map_or(e.at, |last| last.max(e.at)));
        let stamped = |mut next: Order| {
            next.payment_event_at = latest;
            next
        };
        match self.payment_outcome(e, receives_money, now) {
            Outcome::Unchanged => Outcome::Unchanged,
            Outcome::Update(next) => Outcome::Update(stamped(next)),
            Outcome::Ship(next) => Outcome::Ship(stamped(next)),
            Outcome::Release(next) => Outcome::Release(stamped(next)),
            Outcome::Flag(next, concern) => Outcome::Flag(stamped(next), concern),
            Outcome::RefundLate(next) => Outcome::RefundLate(stamped(next)),
        }
    }

    fn payment_outcome(
        &self,
        e: &PaymentEvent,
        receives_money: bool,
        now: OffsetDateTime,
    ) -> Outcome {
        // Too late: the order was cancelled or expired and its stock given back. Whatever
        // arrived is recorded and refunded in full.
        let closed = !self.status.awaits_payment() && !self.status.is_paid();
        if closed && receives_money && e.currency == self.currency.as_str() {
            return self.late_payment(e, now);
        }
        if e.kind != PaymentEventKind::Failed
            && (e.amount != self.amount || e.currency != self.currency.as_str())
        {
            return self.flagged(
                Concern::AmountMismatch,
                format!(
                    "payment {} of {} {} does not match the order's {} {}; not marked paid",
                    e.payment_id, e.amount, e.currency, self.amount, self.currency
                ),
                now,
            );
        }
        match e.kind {
            PaymentEventKind::Authorized if self.status.awaits_payment() => {
                if self.status == OrderStatus::PaymentAuthorized
                    && self.payment_id.as_deref() == Some(e.payment_id.as_str())
                {
                    return Outcome::Unchanged;
                }
                let mut next = self.next(now);
                next.status = OrderStatus::PaymentAuthorized;
                next.payment_id = Some(e.payment_id.clone());
                Outcome::Update(next)
            }
            PaymentEventKind::Authorized => Outcome::Unchanged,
            _ if receives_money && self.status.is_paid() => {
                if self.payment_id.as_deref() == Some(e.payment_id.as_str()) {
                    Outcome::Unchanged
                } else {
                    self.flagged(
                        Concern::SecondPayment,
                        format!(
                            "a second payment {} was captured for an order already paid by {}; refund it",
                            e.payment_id,
                            self.payment_id.as_deref().unwrap_or("-")
                        ),
                        now,
                    )
                }
            }
            _ if receives_money => {
                let mut next = self.next(now);
                next.status = OrderStatus::Paid;
                next.payment_id = Some(e.payment_id.clone());
                next.amount_paid = e.amount;
                next.paid_at = Some(now);
                Outcome::Ship(next)
            }
            // A failure: only the attempt the order is waiting on, or any attempt before one
            // was authorized, counts; the stock stays held for the next attempt until the
            // order expires. Paid and closed orders ignore it.
            _ => {
                let waiting_on_it = match self.status {
                    OrderStatus::PendingPayment => true,
                    OrderStatus::PaymentAuthorized => {
                        self.payment_id.as_deref() == Some(e.payment_id.as_str())
                    }
                    _ => false,
                };
                if !waiting_on_it {
                    return Outcome::Unchanged;
                }
                let mut next = self.next(now);
                next.status = OrderStatus::PaymentFailed;
                Outcome::Update(next)
            }
        }
    }

    /// Money for a cancelled or expired order: recorded, to be refunded; a second late
    /// payment while the first is being refunded is left to a person.
    fn late_payment(&self, e: &PaymentEvent, now: OffsetDateTime) -> Outcome {
        match self.payment_id.as_deref() {
            Some(p) if self.amount_paid > 0 && p == e.payment_id => Outcome::Unchanged,
            Some(p) if self.amount_paid > 0 => self.flagged(
                Concern::SecondPayment,
                format!(
                    "a second payment {} was captured for an order that is {} and whose payment {p} is refunded automatically; refund this one by hand",
                    e.payment_id,
                    self.status.as_str()
                ),
                now,
            ),
            _ => {
                let mut next = self.next(now);
                next.payment_id = Some(e.payment_id.clone());
                next.amount_paid = e.amount;
                next.paid_at = Some(now);
                Outcome::RefundLate(next)
            }
        }
    }

    /// Applies a refund event.
    pub fn on_refund(&self, e: &RefundEvent, now: OffsetDateTime) -> Outcome {
        if self.payment_id.as_deref() != Some(e.payment_id.as_str())
            || e.currency != self.currency.as_str()
        {
            return self.flagged(
                Concern::ForeignRefund,
                format!(
                    "refund {} of {} {} on payment {} does not belong to this order's payment",
                    e.refund_id, e.amount, e.currency, e.payment_id
                ),
                now,
            );
        }
        let mut next = self.next(now);
        match next.refunds.iter_mut().find(|r| r.id == e.refund_id) {
            // Final states stay final; a late `refund.created` changes nothing.
            Some(r) if r.state != RefundState::Pending || e.state == RefundState::Pending => {
                return Outcome::Unchanged;
            }
            Some(r) => r.state = e.state,
            None => next.refunds.push(RefundRecord {
                id: e.refund_id.clone(),
                amount: e.amount,
                state: e.state,
                requested_by: None,
                restocked: Vec::new(),
                created_at: now,
            }),
        }
        Outcome::Update(next.with_refund_status())
    }

    /// Cancels the order; `manager` may also cancel one whose payment is being confirmed.
    pub fn cancel(&self, manager: bool, now: OffsetDateTime) -> Result<Outcome, String> {
        match self.status {
            OrderStatus::Cancelled => Ok(Outcome::Unchanged),
            OrderStatus::Expired => {
                Err("the order expired unpaid and its stock was given back; place a new one".into())
            }
            OrderStatus::PendingPayment | OrderStatus::PaymentFailed => {
                let mut next = self.next(now);
                next.status = OrderStatus::Cancelled;
                Ok(Outcome::Release(next))
            }
            OrderStatus::PaymentAuthorized if manager => {
                let mut next = self.next(now);
                next.status = OrderStatus::Cancelled;
                Ok(Outcome::Release(next))
            }
            OrderStatus::PaymentAuthorized => Err(
                "a payment for this order is being confirmed; ask a manager to cancel it".into(),
            ),
            _ => Err("the order is paid; refund it instead of cancelling".into()),
        }
    }
}

#[cfg(test)]
#[path = "order_test.rs"]
mod tests;
