//! Domain events: the business changes other systems react to (an order paid, a product
//! repriced, a level running low), each derived here from the state before and after a change
//! so that every path that makes the change announces it the same way. The store commits
//! them to the outbox in the change's own transaction; the forwarder publishes them.
//!
//! An event's JSON is its contract: `events/schemas/<type>.v<schema_version>.json` describes
//! it, and changing a payload in a way old readers would misread means a new schema version.

use serde::Serialize;
use time::OffsetDateTime;

use super::order::{Order, OrderStatus, RefundRecord};
use super::payment::RefundState;
use super::purchasing::{PoStatus, PurchaseOrder};
use super::shipment::{Shipment, ShipmentStatus};
use super::stock::StockLevel;
use super::{Money, Product};

/// The schema version every event type is at now.
pub const SCHEMA_VERSION: u32 = 1;

/// One business change, as published: `{"id", "type", "schema_version", "occurred_at",
/// "aggregate", "data"}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DomainEvent {
    /// A UUIDv7: unique, and ordered by when the event was made.
    pub id: String,
    /// What happened, with its data (`type` and `data` in the JSON).
    #[serde(flatten)]
    pub change: Change,
    /// The version of the type's schema the data follows.
    pub schema_version: u32,
    /// When the change was made (the changed thing's `updated_at`).
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// What changed, and its version after the change: a reader that saw a later version
    /// already knows this one's news.
    pub aggregate: Aggregate,
}

impl DomainEvent {
    fn new(change: Change, aggregate: Aggregate, occurred_at: OffsetDateTime) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            change,
            schema_version: SCHEMA_VERSION,
            occurred_at,
            aggregate,
        }
    }

    /// The event's type, e.g. `order.paid`.
    pub fn kind(&self) -> &'static str {
        self.change.kind()
    }

    /// The customer the event is about, when it is about one customer's business (their
    /// order, its payment, refunds and shipments).
    pub fn customer_id(&self) -> Option<&str> {
        match &self.change {
            Change::OrderPlaced(o)
            | Change::OrderPaid(o)
            | Change::OrderCancelled(o)
            | Change::OrderExpired(o)
            | Change::OrderRefunded(o)
            | Change::PaymentFailed(o) => Some(&o.customer_id),
            Change::OrderFlagged(f) => Some(&f.order.customer_id),
            Change::RefundProcessed(r) | Change::RefundFailed(r) => Some(&r.customer_id),
            Change::ShipmentCreated(s)
            | Change::ShipmentUpdated(s)
            | Change::ShipmentShipped(s)
            | Change::ShipmentDelivered(s)
            | Change::ShipmentFailed(s)
            | Change::ShipmentReturned(s) => Some(&s.customer_id),
            _ => None,
        }
    }
}

/// The thing an event is about.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Aggregate {
    /// `order`, `product`, `stock_level`, `purchase_order`, `shipment` or `points_account`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its id (a stock level's is `<product_id>:<warehouse_id>`).
    pub id: String,
    /// Its version after the change.
    pub version: u64,
}

/// What happened: the event's `type` and `data`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", content = "data")]
pub enum Change {
    /// A customer placed an order; its stock is held until it is paid, cancelled or expires.
    #[serde(rename = "order.placed")]
    OrderPlaced(OrderFacts),
    /// The order's money arrived; its stock shipped (or it was flagged short).
    #[serde(rename = "order.paid")]
    OrderPaid(OrderFacts),
    /// Cancelled before payment; its stock was given back.
    #[serde(rename = "order.cancelled")]
    OrderCancelled(OrderFacts),
    /// Not paid before its hold ended; its stock was given back.
    #[serde(rename = "order.expired")]
    OrderExpired(OrderFacts),
    /// More of the order's payment is being or was given back (`refunded` says how much in
    /// all).
    #[serde(rename = "order.refunded")]
    OrderRefunded(OrderFacts),
    /// A person must look at the order (`review` says why).
    #[serde(rename = "order.flagged")]
    OrderFlagged(FlaggedOrder),
    /// A payment attempt for the order failed; the customer may try again until it expires.
    #[serde(rename = "payment.failed")]
    PaymentFailed(OrderFacts),
    /// A refund reached the customer.
    #[serde(rename = "refund.processed")]
    RefundProcessed(RefundFacts),
    /// A refund did not go through; the money stays with the business.
    #[serde(rename = "refund.failed")]
    RefundFailed(RefundFacts),
    /// A product was added to the catalogue.
    #[serde(rename = "product.created")]
    ProductCreated(ProductFacts),
    /// A product changed other than in price (details, images, stock settings), or was
    /// restored; the data is the product as events show it, so read it for the rest.
    #[serde(rename = "product.updated")]
    ProductUpdated(ProductFacts),
    /// A product was archived: no longer listed or orderable.
    #[serde(rename = "product.archived")]
    ProductArchived(ProductFacts),
    /// A product's price changed.
    #[serde(rename = "product.repriced")]
    ProductRepriced(Repricing),
    /// A level's available stock fell from above its product's reorder level to at or below
    /// it.
    #[serde(rename = "stock.low")]
    StockLow(LevelFacts),
    /// A level's available stock fell to zero (with a reorder level of zero, `stock.low`
    /// comes with it).
    #[serde(rename = "stock.out")]
    StockOut(LevelFacts),
    /// A level's available stock rose from none to some (back in stock; above the reorder
    /// level, `stock.restocked` comes with it).
    #[serde(rename = "stock.available")]
    StockAvailable(LevelFacts),
    /// A level's available stock rose from at or below its product's reorder level to above
    /// it.
    #[serde(rename = "stock.restocked")]
    StockRestocked(LevelFacts),
    /// A purchase order was sent to its supplier.
    #[serde(rename = "purchase_order.submitted")]
    PurchaseOrderSubmitted(PurchaseOrderFacts),
    /// Goods arrived against a purchase order (`status` says whether all of them have).
    #[serde(rename = "purchase_order.received")]
    PurchaseOrderReceived(PurchaseOrderFacts),
    /// A paid order's parcel from one warehouse was created, waiting to be packed.
    #[serde(rename = "shipment.created")]
    ShipmentCreated(ShipmentFacts),
    /// A parcel moved on without reaching an end: packed, in transit, out for delivery.
    #[serde(rename = "shipment.updated")]
    ShipmentUpdated(ShipmentFacts),
    /// A parcel was handed to its carrier (carrier and tracking number known).
    #[serde(rename = "shipment.shipped")]
    ShipmentShipped(ShipmentFacts),
    /// A parcel reached the customer.
    #[serde(rename = "shipment.delivered")]
    ShipmentDelivered(ShipmentFacts),
    /// A delivery attempt failed; the carrier may try again or send the parcel back.
    #[serde(rename = "shipment.failed")]
    ShipmentFailed(ShipmentFacts),
    /// A parcel came back to the business.
    #[serde(rename = "shipment.returned")]
    ShipmentReturned(ShipmentFacts),
    /// A customer earned a badge (each once).
    #[serde(rename = "achievement.awarded")]
    AchievementAwarded(AchievementFacts),
}

/// Every event type, as named in `type`.
pub const TYPES: [&str; 26] = [
    "order.placed",
    "order.paid",
    "order.cancelled",
    "order.expired",
    "order.refunded",
    "order.flagged",
    "payment.failed",
    "refund.processed",
    "refund.failed",
    "product.created",
    "product.updated",
    "product.archived",
    "product.repriced",
    "stock.low",
    "stock.out",
    "stock.available",
    "stock.restocked",
    "purchase_order.submitted",
    "purchase_order.received",
    "shipment.created",
    "shipment.updated",
    "shipment.shipped",
    "shipment.delivered",
    "shipment.failed",
    "shipment.returned",
    "achievement.awarded",
];

impl Change {
    /// The event's type, e.g. `order.paid`.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::OrderPlaced(_) => "order.placed",
            Change::OrderPaid(_) => "order.paid",
            Change::OrderCancelled(_) => "order.cancelled",
            Change::OrderExpired(_) => "order.expired",
            Change::OrderRefunded(_) => "order.refunded",
            Change::OrderFlagged(_) => "order.flagged",
            Change::PaymentFailed(_) => "payment.failed",
            Change::RefundProcessed(_) => "refund.processed",
            Change::RefundFailed(_) => "refund.failed",
            Change::ProductCreated(_) => "product.created",
            Change::ProductUpdated(_) => "product.updated",
            Change::ProductArchived(_) => "product.archived",
            Change::ProductRepriced(_) => "product.repriced",
            Change::StockLow(_) => "stock.low",
            Change::StockOut(_) => "stock.out",
            Change::StockAvailable(_) => "stock.available",
            Change::StockRestocked(_) => "stock.restocked",
            Change::PurchaseOrderSubmitted(_) => "purchase_order.submitted",
            Change::PurchaseOrderReceived(_) => "purchase_order.received",
            Change::ShipmentCreated(_) => "shipment.created",
            Change::ShipmentUpdated(_) => "shipment.updated",
            Change::ShipmentShipped(_) => "shipment.shipped",
            Change::ShipmentDelivered(_) => "shipment.delivered",
            Change::ShipmentFailed(_) => "shipment.failed",
            Change::ShipmentReturned(_) => "shipment.returned",
            Change::AchievementAwarded(_) => "achievement.awarded",
        }
    }
}

/// An order as events show it: what was bought, by whom, and where its money stands. No
/// payment-provider ids and no staff notes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OrderFacts {
    pub order_id: String,
    pub customer_id: String,
    /// The order's status after the change.
    pub status: OrderStatus,
    pub currency: String,
    /// Total, minor units.
    pub amount: i64,
    /// Money received, minor units.
    pub amount_paid: i64,
    /// Refunds pending or processed, minor units.
    pub refunded: i64,
    pub lines: Vec<OrderLineFacts>,
}

/// One line of an order in an event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OrderLineFacts {
    pub product_id: String,
    pub sku: String,
    pub warehouse_id: String,
    pub quantity: i64,
}

impl From<&Order> for OrderFacts {
    fn from(o: &Order) -> Self {
        Self {
            order_id: o.id.clone(),
            customer_id: o.customer_id.clone(),
            status: o.status,
            currency: o.currency.to_string(),
            amount: o.amount,
            amount_paid: o.amount_paid,
            refunded: o.refunded(),
            lines: o
                .lines
                .iter()
                .map(|l| OrderLineFacts {
                    product_id: l.product_id.clone(),
                    sku: l.sku.clone(),
                    warehouse_id: l.warehouse_id.clone(),
                    quantity: l.quantity,
                })
                .collect(),
        }
    }
}

/// An order flagged for a person, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FlaggedOrder {
    #[serde(flatten)]
    pub order: OrderFacts,
    pub review: String,
}

/// A refund that reached an end.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RefundFacts {
    pub refund_id: String,
    pub order_id: String,
    pub customer_id: String,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    /// Units put back into stock with it.
    pub restocked: Vec<RestockedFacts>,
}

/// Units of a product put back into stock with a refund.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RestockedFacts {
    pub product_id: String,
    pub quantity: i64,
}

/// A product as events show it (no purchasing fields).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProductFacts {
    pub product_id: String,
    pub sku: String,
    pub name: String,
    pub category: String,
    pub brand: Option<String>,
    pub barcode: Option<String>,
    pub price: Money,
    pub archived: bool,
}

impl From<&Product> for ProductFacts {
    fn from(p: &Product) -> Self {
        Self {
            product_id: p.id.to_string(),
            sku: p.sku.as_str().to_owned(),
            name: p.name.clone(),
            category: p.category.clone(),
            brand: p.brand.clone(),
            barcode: p.barcode.as_ref().map(|b| b.as_str().to_owned()),
            price: p.price,
            archived: p.archived,
        }
    }
}

/// A product's price change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Repricing {
    pub product_id: String,
    pub sku: String,
    pub previous_price: Money,
    pub price: Money,
}

/// A badge a customer earned.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AchievementFacts {
    /// The customer.
    pub customer_id: String,
    /// The badge's code (`first_order`, ...).
    pub badge: String,
    /// Its name.
    pub name: String,
}

/// The events announcing `badges` newly awarded to `customer` (their points account at
/// `version`).
pub fn achievement_events(
    customer: &str,
    badges: &[&'static str],
    version: u64,
    at: OffsetDateTime,
) -> Vec<DomainEvent> {
    let changes = badges
        .iter()
        .map(|code| {
            let name = super::loyalty::BADGES
                .iter()
                .find(|(c, _, _)| c == code)
                .map_or(*code, |(_, n, _)| n);
            Change::AchievementAwarded(AchievementFacts {
                customer_id: customer.to_owned(),
                badge: (*code).to_owned(),
                name: name.to_owned(),
            })
        })
        .collect();
    announce(changes, "points_account", customer, version, at)
}

/// A stock level crossing a line, and the product's numbers that draw the line.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LevelFacts {
    pub product_id: String,
    pub sku: String,
    pub warehouse_id: String,
    /// On hand less reserved, after the change.
    pub available: i64,
    /// Available before the change.
    pub previous_available: i64,
    pub on_hand: i64,
    pub reserved: i64,
    pub reorder_level: u32,
}

/// A purchase order as events show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PurchaseOrderFacts {
    pub purchase_order_id: String,
    pub supplier_id: String,
    pub warehouse_id: String,
    pub status: PoStatus,
    pub currency: String,
    /// Sum of quantity x unit cost, minor units.
    pub total: i64,
    pub lines: Vec<PurchaseLineFacts>,
}

/// One line of a purchase order in an event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PurchaseLineFacts {
    pub product_id: String,
    pub quantity: i64,
    pub received: i64,
    pub unit_cost: i64,
}

/// The events an order's change announces: placed when it is new; then whatever its status,
/// refunds and review say changed. A change that settles nothing (a repeat, a note) announces
/// nothing.
pub fn order_events(before: Option<&Order>, after: &Order) -> Vec<DomainEvent> {
    let facts = || OrderFacts::from(after);
    let mut changes = Vec::new();
    match before {
        None => changes.push(Change::OrderPlaced(facts())),
        Some(before) => {
            if before.status != after.status {
                match after.status {
                    OrderStatus::Paid if !before.status.is_paid() => {
                        changes.push(Change::OrderPaid(facts()));
                    }
                    OrderStatus::Cancelled => changes.push(Change::OrderCancelled(facts())),
                    OrderStatus::Expired => changes.push(Change::OrderExpired(facts())),
                    _ => {}
                }
            }
            // Only a change into the status: the state machine leaves a later failure of an
            // order already failed unchanged, and other changes (a flag) keep the status.
            if after.status == OrderStatus::PaymentFailed
                && before.status != OrderStatus::PaymentFailed
            {
                changes.push(Change::PaymentFailed(facts()));
            }
            if after.refunded() > before.refunded() {
                changes.push(Change::OrderRefunded(facts()));
            }
            for refund in &after.refunds {
                let was = before.refunds.iter().find(|r| r.id == refund.id);
                if was.map(|r| r.state) != Some(refund.state) {
                    match refund.state {
                        RefundState::Processed => {
                            changes.push(Change::RefundProcessed(refund_facts(after, refund)));
                        }
                        RefundState::Failed => {
                            changes.push(Change::RefundFailed(refund_facts(after, refund)));
                        }
                        RefundState::Pending => {}
                    }
                }
            }
            if let Some(review) = &after.review
                && before.review.as_ref() != Some(review)
            {
                changes.push(Change::OrderFlagged(FlaggedOrder {
                    order: facts(),
                    review: review.clone(),
                }));
            }
        }
    }
    announce(changes, "order", &after.id, after.version, after.updated_at)
}

fn refund_facts(order: &Order, refund: &RefundRecord) -> RefundFacts {
    RefundFacts {
        refund_id: refund.id.clone(),
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        amount: refund.amount,
        currency: order.currency.to_string(),
        restocked: refund
            .restocked
            .iter()
            .map(|l| RestockedFacts {
                product_id: l.product_id.clone(),
                quantity: l.quantity,
            })
            .collect(),
    }
}

/// The events a product's change announces: created; archived; otherwise repriced when the
/// price changed and updated when anything else a reader sees changed (restoring included).
pub fn product_events(before: Option<&Product>, after: &Product) -> Vec<DomainEvent> {
    let facts = || ProductFacts::from(after);
    let mut changes = Vec::new();
    match before {
        None => changes.push(Change::ProductCreated(facts())),
        Some(before) if after.archived && !before.archived => {
            changes.push(Change::ProductArchived(facts()));
        }
        Some(before) => {
            if before.price != after.price {
                changes.push(Change::ProductRepriced(Repricing {
                    product_id: after.id.to_string(),
                    sku: after.sku.as_str().to_owned(),
                    previous_price: before.price,
                    price: after.price,
                }));
            }
            let mut same_price = before.clone();
            same_price.price = after.price;
            same_price.version = after.version;
            same_price.updated_at = after.updated_at;
            if same_price != *after {
                changes.push(Change::ProductUpdated(facts()));
            }
        }
    }
    announce(
        changes,
        "product",
        after.id.as_str(),
        after.version,
        after.updated_at,
    )
}

/// The lines a level's change crossed: low (from above the reorder level to at or below
/// it), out (from some available to none), available (from none to some) and restocked (from
/// at or below the reorder level to above it). A level already below announces nothing more as it falls further.
pub fn level_events(
    before: &StockLevel,
    after: &StockLevel,
    sku: &str,
    reorder_level: u32,
) -> Vec<DomainEvent> {
    let reorder = i64::from(reorder_level);
    let (was, now) = (before.available(), after.available());
    let facts = || LevelFacts {
        product_id: after.product_id.clone(),
        sku: sku.to_owned(),
        warehouse_id: after.warehouse_id.clone(),
        available: now,
        previous_available: was,
        on_hand: after.on_hand,
        reserved: after.reserved,
        reorder_level,
    };
    let mut changes = Vec::new();
    if was > reorder && now <= reorder {
        changes.push(Change::StockLow(facts()));
    }
    if was > 0 && now <= 0 {
        changes.push(Change::StockOut(facts()));
    }
    if was <= 0 && now > 0 {
        changes.push(Change::StockAvailable(facts()));
    }
    if was <= reorder && now > reorder {
        changes.push(Change::StockRestocked(facts()));
    }
    let id = format!("{}:{}", after.product_id, after.warehouse_id);
    announce(changes, "stock_level", &id, after.version, after.updated_at)
}

/// The events a purchase order's change announces: submitted when it leaves draft, received
/// when more of its goods arrived.
pub fn purchase_order_events(
    before: Option<&PurchaseOrder>,
    after: &PurchaseOrder,
) -> Vec<DomainEvent> {
    let facts = || PurchaseOrderFacts {
        purchase_order_id: after.id.clone(),
        supplier_id: after.supplier_id.clone(),
        warehouse_id: after.warehouse_id.clone(),
        status: after.status,
        currency: after.currency.clone(),
        total: after.total,
        lines: after
            .lines
            .iter()
            .map(|l| PurchaseLineFacts {
                product_id: l.product_id.clone(),
                quantity: l.quantity,
                received: l.received,
                unit_cost: l.unit_cost,
            })
            .collect(),
    };
    let was = before.map_or(PoStatus::Draft, |b| b.status);
    let received = |po: &PurchaseOrder| po.lines.iter().map(|l| l.received).sum::<i64>();
    let mut changes = Vec::new();
    if was == PoStatus::Draft && after.status == PoStatus::Submitted {
        changes.push(Change::PurchaseOrderSubmitted(facts()));
    }
    if received(after) > before.map_or(0, received) {
        changes.push(Change::PurchaseOrderReceived(facts()));
    }
    announce(
        changes,
        "purchase_order",
        &after.id,
        after.version,
        after.updated_at,
    )
}

/// A shipment as events show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ShipmentFacts {
    pub shipment_id: String,
    pub order_id: String,
    pub customer_id: String,
    pub warehouse_id: String,
    /// The shipment's status after the change.
    pub status: ShipmentStatus,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub lines: Vec<ShipmentLineFacts>,
}

/// One product's units in a shipment event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ShipmentLineFacts {
    pub product_id: String,
    pub sku: String,
    pub quantity: i64,
}

/// The events a shipment's change announces: created when it is new; then one per change
/// of status (a checkpoint that changes no status, such as late news of an earlier step,
/// announces nothing).
pub fn shipment_events(before: Option<&Shipment>, after: &Shipment) -> Vec<DomainEvent> {
    let facts = ShipmentFacts {
        shipment_id: after.id.clone(),
        order_id: after.order_id.clone(),
        customer_id: after.customer_id.clone(),
        warehouse_id: after.warehouse_id.clone(),
        status: after.status,
        carrier: after.carrier.clone(),
        tracking_number: after.tracking_number.clone(),
        lines: after
            .lines
            .iter()
            .map(|l| ShipmentLineFacts {
                product_id: l.product_id.clone(),
                sku: l.sku.clone(),
                quantity: l.quantity,
            })
            .collect(),
    };
    let change = match before {
        None => Some(Change::ShipmentCreated(facts)),
        Some(b) if b.status == after.status => None,
        Some(_) => Some(match after.status {
            ShipmentStatus::Shipped => Change::ShipmentShipped(facts),
            ShipmentStatus::Delivered => Change::ShipmentDelivered(facts),
            ShipmentStatus::Failed => Change::ShipmentFailed(facts),
            ShipmentStatus::Returned => Change::ShipmentReturned(facts),
            ShipmentStatus::Pending
            | ShipmentStatus::Packed
            | ShipmentStatus::InTransit
            | ShipmentStatus::OutForDelivery => Change::ShipmentUpdated(facts),
        }),
    };
    announce(
        change.into_iter().collect(),
        "shipment",
        &after.id,
        after.version,
        after.updated_at,
    )
}

fn announce(
    changes: Vec<Change>,
    kind: &'static str,
    id: &str,
    version: u64,
    at: OffsetDateTime,
) -> Vec<DomainEvent> {
    changes
        .into_iter()
        .map(|change| {
            DomainEvent::new(
                change,
                Aggregate {
                    kind,
                    id: id.to_owned(),
                    version,
                },
                at,
            )
        })
        .collect()
}

#[cfg(test)]
#[path = "event_test.rs"]
mod tests;
