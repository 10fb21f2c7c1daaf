//! Warehouses, stock levels and the movement ledger.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::patch::{Patch, present};
use super::validation::{bounded_text, canonical_uuid, check_lines, id_key};
use super::{FieldErrors, ProductId, Quantity};

pub use super::quantity::MAX_QUANTITY;
/// The largest stock a count may set.
pub const MAX_COUNT: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warehouse {
    /// Id (UUIDv7).
    pub id: String,
    /// Unique short code, upper-case, e.g. `BLR-1`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Postal address, free text.
    pub address: Option<String>,
    /// Inactive warehouses take no movements.
    pub active: bool,
    /// Incremented by every change; the `ETag`.
    pub version: u64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Parses a warehouse code: 2 to 16 letters, digits or `-`, stored upper-case.
pub fn parse_warehouse_code(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    let len = code.chars().count();
    if !(2..=16).contains(&len) {
        return Err(format!("must be 2 to 16 characters, got {len}"));
    }
    if let Some(bad) = code
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "'{bad}' is not allowed; use letters, digits or '-'"
        ));
    }
    Ok(code)
}

/// The body of `POST /v1/warehouses`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWarehouseInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
    /// Active (default true).
    #[serde(default, deserialize_with = "present")]
    pub active: Option<bool>,
}

/// The body of `PATCH /v1/warehouses/{id}` (the code cannot change: movements refer to it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehousePatchInput {
    /// New name.
    #[serde(default, deserialize_with = "present")]
    pub name: Option<String>,
    /// New address (`null` removes it).
    #[serde(default)]
    pub address: Patch<String>,
    /// Activate or deactivate.
    #[serde(default, deserialize_with = "present")]
    pub active: Option<bool>,
}

/// A warehouse's id: a UUID, as [`Warehouse::create`] makes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct WarehouseId(String);

impl WarehouseId {
    /// Parses an id a client sent.
    pub fn parse(raw: &str) -> Result<Self, String> {
        canonical_uuid(raw)
            .map(Self)
            .ok_or_else(|| format!("no warehouse with id '{raw}'"))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for WarehouseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Warehouse {
    /// A new warehouse from validated input.
    pub fn create(input: &NewWarehouseInput, now: OffsetDateTime) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let code = e.check("code", parse_warehouse_code(&input.code));
        let name = e.check("name", bounded_text(&input.name, 1, 200));
        let address = match input.address.as_deref() {
            Some(a) => e.check("address", bounded_text(a, 1, 500)).map(Some),
            None => Some(None),
        };
        e.finish(|| {
            Some(Self {
                id: uuid::Uuid::now_v7().to_string(),
                code: code?,
                name: name?,
                address: address?,
                active: input.active.unwrap_or(true),
                version: 1,
                created_at: now,
                updated_at: now,
            })
        })
    }

    /// This warehouse changed by `patch`, as the next version; `None` if nothing changes.
    pub fn patched(
        &self,
        patch: WarehousePatchInput,
        now: OffsetDateTime,
    ) -> Result<Option<Self>, FieldErrors> {
        let mut e = FieldErrors::new();
        let mut next = self.clone();
        if let Some(name) = patch.name
            && let Some(name) = e.check("name", bounded_text(&name, 1, 200))
        {
            next.name = name;
        }
        match patch.address {
            Patch::Absent => {}
            Patch::Null => next.address = None,
            Patch::Value(a) => {
                if let Some(a) = e.check("address", bounded_text(&a, 1, 500)) {
                    next.address = Some(a);
                }
            }
        }
        if let Some(active) = patch.active {
            next.active = active;
        }
        e.finish(|| Some(()))?;
        if next == *self {
            return Ok(None);
        }
        next.version += 1;
        next.updated_at = now;
        Ok(Some(next))
    }
}

/// Stock of one product in one warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// The product.
    pub product_id: String,
    /// The warehouse.
    pub warehouse_id: String,
    /// Units physically present.
    pub on_hand: i64,
    /// Units held by reservations.
    pub reserved: i64,
    /// Incremented by every change.
    pub version: u64,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl StockLevel {
    /// An empty level (no stock yet).
    pub fn empty(product_id: &str, warehouse_id: &str, now: OffsetDateTime) -> Self {
        Self {
            product_id: product_id.to_owned(),
            warehouse_id: warehouse_id.to_owned(),
            on_hand: 0,
            reserved: 0,
            version: 0,
            updated_at: now,
        }
    }

    /// Units that can be shipped or reserved.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

/// What kind of change a movement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// Goods arrived.
    Receive,
    /// Goods left.
    Ship,
    /// A correction (damage, loss, found stock).
    Adjust,
    /// Left for another warehouse.
    TransferOut,
    /// Arrived from another warehouse.
    TransferIn,
    /// A stock count set the level.
    Count,
    /// Goods came back from a customer (a refund with restock).
    Return,
}

/// One entry of the append-only ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    /// Id (UUIDv7).
    pub id: String,
    pub kind: MovementKind,
    /// The product.
    pub product_id: String,
    /// The warehouse whose level changed.
    pub warehouse_id: String,
    /// Signed change of `on_hand`.
    pub quantity: i64,
    /// `on_hand` before.
    pub before: i64,
    /// `on_hand` after.
    pub after: i64,
    /// Why.
    pub reason: Option<String>,
    /// What it belongs to (an order, a PO, a transfer).
    pub reference: Option<String>,
    /// Who did it.
    pub actor: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl Movement {
    /// The ledger entry for the level `before` becoming `after`, made by `actor` at the time
    /// `after` was computed; its quantity is the change of `on_hand`.
    pub fn between(
        kind: MovementKind,
        before: &StockLevel,
        after: &StockLevel,
        actor: &str,
        reason: Option<String>,
        reference: Option<String>,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            kind,
            product_id: before.product_id.clone(),
            warehouse_id: before.warehouse_id.clone(),
            quantity: after.on_hand - before.on_hand,
            before: before.on_hand,
            after: after.on_hand,
            reason,
            reference,
            actor: actor.to_owned(),
            at: after.updated_at,
        }
    }
}

/// Why a movement cannot happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MovementRefused {
    /// Not enough available stock; nothing was written.
    Insufficient {
        /// What is available.
        available: i64,
        /// What was asked.
        requested: i64,
    },
    /// A count below what is reserved would strand the reservations.
    BelowReserved {
        /// The units counted.
        counted: i64,
        /// The units reserved at the level.
        reserved: i64,
    },
}

impl StockLevel {
    /// Applies a signed change to `on_hand`, refusing to go below what is reserved.
    pub fn moved(&self, delta: i64, now: OffsetDateTime) -> Result<Self, MovementRefused> {
        if delta < 0 && -delta > self.available() {
            return Err(MovementRefused::Insufficient {
                available: self.available(),
                requested: -delta,
            });
        }
        let mut next = self.clone();
        next.on_hand += delta;
        next.version += 1;
        next.updated_at = now;
        Ok(next)
    }
}

/// The body of `POST /v1/stock/movements`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MovementRequest {
    /// Goods arrived.
    Receive {
        /// Product.
        product_id: String,
        /// Warehouse.
        warehouse_id: String,
        /// Units, 1 to [`MAX_QUANTITY`].
        quantity: i64,
        /// Why.
        #[serde(default)]
        reason: Option<String>,
        /// E.g. a purchase order.
        #[serde(default)]
        reference: Option<String>,
    },
    /// Goods left.
    Ship {
        /// Product.
        product_id: String,
        /// Warehouse.
        warehouse_id: String,
        /// Units, 1 to [`MAX_QUANTITY`].
        quantity: i64,
        /// Why.
        #[serde(default)]
        reason: Option<String>,
        /// E.g. an order.
        #[serde(default)]
        reference: Option<String>,
    },
    /// A correction; the reason is required.
    Adjust {
        /// Product.
        product_id: String,
        /// Warehouse.
        warehouse_id: String,
        /// Signed, non-zero.
        quantity: i64,
        /// Why (required).
        reason: String,
        #[serde(default)]
        reference: Option<String>,
    },
    /// A stock count: the level becomes `counted`; the difference is recorded.
    Count {
        /// Product.
        product_id: String,
        /// Warehouse.
        warehouse_id: String,
        /// Units counted.
        counted: i64,
        /// Why.
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        reference: Option<String>,
    },
    /// Moves units between two warehouses, both sides at once.
    Transfer {
        /// Product.
        product_id: String,
        /// Source.
        from_warehouse_id: String,
        /// Destination.
        to_warehouse_id: String,
        /// Units, 1 to [`MAX_QUANTITY`].
        quantity: i64,
        /// Why.
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        reference: Option<String>,
    },
}

/// A stock movement request that passed every check ([`MovementRequest::parse`]): its ids
/// are parsed (canonical, so two spellings of one UUID name one level), its quantities in
/// range, its texts bounded. The movements service takes only this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedMovement {
    product: ProductId,
    change: StockChange,
    reason: Option<String>,
    reference: Option<String>,
}

/// What a checked movement does, at which warehouse(s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StockChange {
    /// Goods arrived.
    Receive {
        warehouse: WarehouseId,
        quantity: Quantity,
    },
    /// Goods left.
    Ship {
        warehouse: WarehouseId,
        quantity: Quantity,
    },
    /// A correction.
    Adjust {
        warehouse: WarehouseId,
        by: Adjustment,
    },
    /// A stock count.
    Count {
        warehouse: WarehouseId,
        counted: Counted,
    },
    /// Units moved between two different warehouses.
    Transfer {
        from: WarehouseId,
        to: WarehouseId,
        quantity: Quantity,
    },
}

/// A correction of `on_hand`: non-zero, at most [`MAX_QUANTITY`] either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Adjustment(i64);

impl Adjustment {
    /// Parses a signed correction.
    pub fn parse(units: i64) -> Result<Self, String> {
        if units != 0 && units.abs() <= MAX_QUANTITY {
            Ok(Self(units))
        } else {
            Err(format!(
                "must be non-zero and at most {MAX_QUANTITY} either way, got {units}"
            ))
        }
    }

    /// The signed number of units.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// The units a stock count found: 0 to [`MAX_COUNT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Counted(i64);

impl Counted {
    /// Parses a counted number of units.
    pub fn parse(units: i64) -> Result<Self, String> {
        if (0..=MAX_COUNT).contains(&units) {
            Ok(Self(units))
        } else {
            Err(format!("must be between 0 and {MAX_COUNT}, got {units}"))
        }
    }

    /// The number of units.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl CheckedMovement {
    /// The product whose stock moves.
    pub fn product(&self) -> &ProductId {
        &self.product
    }

    /// What happens, where.
    pub fn change(&self) -> &StockChange {
        &self.change
    }

    /// Why (always present for an adjustment).
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// What it belongs to.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }
}

impl MovementRequest {
    /// Parses ids, quantities and texts, naming each bad field.
    pub fn parse(self) -> Result<CheckedMovement, FieldErrors> {
        let mut e = FieldErrors::new();
        let (product_id, reason, reference) = match &self {
            MovementRequest::Receive {
                product_id,
                reason,
                reference,
                ..
            }
            | MovementRequest::Ship {
                product_id,
                reason,
                reference,
                ..
            }
            | MovementRequest::Count {
                product_id,
                reason,
                reference,
                ..
            }
            | MovementRequest::Transfer {
                product_id,
                reason,
                reference,
                ..
            } => (product_id, reason.clone(), reference),
            MovementRequest::Adjust {
                product_id,
                reason,
                reference,
                ..
            } => (product_id, Some(reason.clone()), reference),
        };
        let product = e.check(
            "product_id",
            ProductId::parse(product_id).map_err(|_| format!("no product with id '{product_id}'")),
        );
        let change = match &self {
            MovementRequest::Receive {
                warehouse_id,
                quantity,
                ..
            }
            | MovementRequest::Ship {
                warehouse_id,
                quantity,
                ..
            } => {
                let receive = matches!(self, MovementRequest::Receive { .. });
                let make = move |warehouse, quantity| match receive {
                    true => StockChange::Receive {
                        warehouse,
                        quantity,
                    },
                    false => StockChange::Ship {
                        warehouse,
                        quantity,
                    },
                };
                at(
                    &mut e,
                    warehouse_id,
                    "quantity",
                    Quantity::parse(*quantity),
                    make,
                )
            }
            MovementRequest::Adjust {
                warehouse_id,
                quantity,
                ..
            } => at(
                &mut e,
                warehouse_id,
                "quantity",
                Adjustment::parse(*quantity),
                |w, by| StockChange::Adjust { warehouse: w, by },
            ),
            MovementRequest::Count {
                warehouse_id,
                counted,
                ..
            } => at(
                &mut e,
                warehouse_id,
                "counted",
                Counted::parse(*counted),
                |w, c| StockChange::Count {
                    warehouse: w,
                    counted: c,
                },
            ),
            MovementRequest::Transfer {
                from_warehouse_id,
                to_warehouse_id,
                quantity,
                ..
            } => {
                let from = e.check("from_warehouse_id", WarehouseId::parse(from_warehouse_id));
                let to = e.check("to_warehouse_id", WarehouseId::parse(to_warehouse_id));
                let q = e.check("quantity", Quantity::parse(*quantity));
                if from.is_some() && from == to {
                    e.add("to_warehouse_id", "must differ from from_warehouse_id");
                }
                match (from, to, q) {
                    (Some(from), Some(to), Some(quantity)) => {
                        Some(StockChange::Transfer { from, to, quantity })
                    }
                    _ => None,
                }
            }
        };
        let reason = reason.and_then(|r| e.check("reason", bounded_text(&r, 1, 500)));
        let reference = reference
            .as_deref()
            .and_then(|r| e.check("reference", bounded_text(r, 1, 100)));
        e.finish(|| {
            Some(CheckedMovement {
                product: product?,
                change: change?,
                reason,
                reference,
            })
        })
    }
}

/// A change at the one warehouse `id` names, of an amount parsed for `field`; `None` when
/// either does not parse (the error is recorded).
fn at<T>(
    e: &mut FieldErrors,
    id: &str,
    field: &str,
    amount: Result<T, String>,
    make: impl FnOnce(WarehouseId, T) -> StockChange,
) -> Option<StockChange> {
    let warehouse = e.check("warehouse_id", WarehouseId::parse(id));
    let amount = e.check(field, amount);
    warehouse.zip(amount).map(|(w, a)| make(w, a))
}

/// Most lines one reservation may hold (each line is two writes of one transaction).
pub const MAX_RESERVATION_LINES: usize = 20;

impl StockLevel {
    /// Holds `quantity` more units (reservation) or releases them (negative), refusing to
    /// reserve more than is available.
    pub fn reserving(&self, quantity: i64, now: OffsetDateTime) -> Result<Self, MovementRefused> {
        if quantity > self.available() {
            return Err(MovementRefused::Insufficient {
                available: self.available(),
                requested: quantity,
            });
        }
        let mut next = self.clone();
        next.reserved = (next.reserved + quantity).max(0);
        next.version += 1;
        next.updated_at = now;
        Ok(next)
    }

    /// Ships `quantity` reserved units: both `on_hand` and `reserved` go down.
    pub fn shipping_reserved(&self, quantity: i64, now: OffsetDateTime) -> Self {
        let mut next = self.clone();
        next.on_hand -= quantity;
        next.reserved = (next.reserved - quantity).max(0);
        next.version += 1;
        next.updated_at = now;
        next
    }
}

/// One line of a reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationLine {
    /// Product.
    pub product_id: String,
    /// Warehouse.
    pub warehouse_id: String,
    /// Units held, 1 to [`MAX_QUANTITY`].
    pub quantity: i64,
}

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// Stock is held.
    Held,
    /// Turned into shipments.
    Committed,
    /// Given back (by request or on expiry).
    Released,
}

/// Stock held for a while across one or more levels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// Id (UUIDv7).
    pub id: String,
    /// What is held.
    pub lines: Vec<ReservationLine>,
    pub status: ReservationStatus,
    /// When a held reservation stops holding.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// What it is for (e.g. an order id).
    pub reference: Option<String>,
    /// Who made it.
    pub created_by: String,
    /// Incremented by every change.
    pub version: u64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The reference prefix of the reservations orders hold ([`HoldRequest::for_order`]); clients
/// may not use it for their own.
const ORDER_REFERENCE: &str = "order:";

impl Reservation {
    /// The order this reservation holds stock for, if it is an order's: such a reservation
    /// changes only through its order.
    pub fn order_id(&self) -> Option<&str> {
        self.reference.as_deref()?.strip_prefix(ORDER_REFERENCE)
    }

    /// This reservation moved to `status`, as the next version.
    pub fn settled(&self, status: ReservationStatus, now: OffsetDateTime) -> Self {
        let mut next = self.clone();
        next.status = status;
        next.version += 1;
        next.updated_at = now;
        next
    }
}

/// The body of `POST /v1/stock/reservations`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NewReservation {
    /// Lines, 1 to [`MAX_RESERVATION_LINES`], each product/warehouse pair once.
    pub lines: Vec<ReservationLine>,
    /// How long to hold, 60 s to 24 h (default 15 minutes).
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
    /// What it is for.
    #[serde(default)]
    pub reference: Option<String>,
}

/// How long stock is held when the request does not say.
pub const DEFAULT_HOLD_SECONDS: i64 = 900;

/// Units of one product at one warehouse, as a checked request names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockLine {
    /// The product.
    pub product: ProductId,
    /// The warehouse.
    pub warehouse: WarehouseId,
    /// How many units.
    pub quantity: Quantity,
}

impl StockLine {
    /// The line as a reservation stores it.
    pub fn stored(&self) -> ReservationLine {
        ReservationLine {
            product_id: self.product.to_string(),
            warehouse_id: self.warehouse.to_string(),
            quantity: self.quantity.get(),
        }
    }
}

/// A reservation request that passed every check: 1 to [`MAX_RESERVATION_LINES`] lines with
/// parsed ids, each product and warehouse pair once, quantities in range, a hold time within
/// bounds. Only [`HoldRequest::parse`] and [`HoldRequest::for_order`] make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRequest {
    lines: Vec<StockLine>,
    hold: time::Duration,
    reference: Option<String>,
}

impl HoldRequest {
    /// Parses a client's request, naming each bad field.
    pub fn parse(input: &NewReservation) -> Result<Self, FieldErrors> {
        input.parse()
    }

    /// The hold for an order's lines (already parsed and checked when the order was), for
    /// `hold`, referencing the order.
    pub fn for_order(order_id: &str, lines: Vec<StockLine>, hold: std::time::Duration) -> Self {
        Self {
            lines,
            hold: time::Duration::seconds(
                i64::try_from(hold.as_secs()).unwrap_or(DEFAULT_HOLD_SECONDS),
            ),
            reference: Some(format!("{ORDER_REFERENCE}{order_id}")),
        }
    }

    /// The lines to hold.
    pub fn lines(&self) -> &[StockLine] {
        &self.lines
    }

    /// How long to hold them.
    pub fn hold(&self) -> time::Duration {
        self.hold
    }

    /// What the hold is for.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }
}

impl NewReservation {
    fn parse(&self) -> Result<HoldRequest, FieldErrors> {
        let mut e = FieldErrors::new();
        let mut lines = Vec::with_capacity(self.lines.len());
        // Ids are reported on the fields the lookups of existing ids report on.
        for line in &self.lines {
            let product = e.check(
                "product_id",
                ProductId::parse(&line.product_id)
                    .map_err(|_| format!("no product with id '{}'", line.product_id)),
            );
            let warehouse = e.check("warehouse_id", WarehouseId::parse(&line.warehouse_id));
            if let (Some(product), Some(warehouse), Ok(quantity)) =
                (product, warehouse, Quantity::parse(line.quantity))
            {
                lines.push(StockLine {
                    product,
                    warehouse,
                    quantity,
                });
            }
        }
        // Repeats are found on the parsed ids: two spellings of one UUID are one level.
        check_lines(
            &mut e,
            self.lines.iter().map(|l| {
                let key = (id_key(&l.product_id), id_key(&l.warehouse_id));
                (key, l.quantity)
            }),
            MAX_RESERVATION_LINES,
            None,
            "repeats a product and warehouse of an earlier line",
        );
        if let Some(s) = self.expires_in_seconds
            && !(60..=86_400).contains(&s)
        {
            e.add(
                "expires_in_seconds",
                format!("must be between 60 and 86400, got {s}"),
            );
        }
        let reference = self.reference.as_deref().and_then(|r| {
            let checked =
                bounded_text(r, 1, 100).and_then(|r| match r.starts_with(ORDER_REFERENCE) {
                    true => Err(format!(
                        "'{ORDER_REFERENCE}' is kept for the stock orders hold"
                    )),
                    false => Ok(r),
                });
            e.check("reference", checked)
        });
        e.finish(|| {
            Some(HoldRequest {
                lines,
                hold: time::Duration::seconds(
                    self.expires_in_seconds.unwrap_or(DEFAULT_HOLD_SECONDS),
                ),
                reference,
            })
        })
    }
}
