//! Suppliers, purchase orders and their receipts, and reorder suggestions.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::account::Email;
use super::money::check_price_amount;
use super::patch::present;
use super::quantity::MAX_QUANTITY;
use super::stock::WarehouseId;
use super::validation::{FieldErrors, bounded_text, check_lines, id_key};
use super::{Currency, Product, ProductId, Quantity};

/// Most products one supplier lists (they live in the supplier's item).
pub const MAX_SUPPLIER_PRODUCTS: usize = 200;
/// Most lines on one purchase order (a receipt of every line is one transaction).
pub const MAX_PO_LINES: usize = 40;

/// Most lines one receipt may name: each commits its level, its ledger entry and possibly a
/// `stock.restocked` event in the receipt's one transaction (at most 100 items), so a larger
/// delivery is received in two.
pub const MAX_RECEIPT_LINES: usize = 30;
/// A line may be received up to this many percent over what was ordered (rounded down):
/// suppliers ship by the case. More is refused with 409.
pub const OVER_RECEIPT_TOLERANCE_PERCENT: i64 = 5;

/// A product a supplier sells us.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SupplierProduct {
    /// Our product.
    pub product_id: String,
    /// The supplier's code for it.
    #[serde(default)]
    pub supplier_sku: Option<String>,
    /// What one unit costs us, minor units of the supplier's currency.
    pub unit_cost: i64,
    /// The smallest order the supplier accepts.
    #[serde(default = "one")]
    pub min_order_quantity: i64,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Supplier {
    /// Id (UUIDv7).
    pub id: String,
    pub name: String,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
    /// ISO 4217 code of its prices.
    pub currency: String,
    /// Days from order to delivery.
    pub lead_time_days: u32,
    /// Inactive suppliers get no new purchase orders or suggestions.
    pub active: bool,
    /// What it sells us.
    pub products: Vec<SupplierProduct>,
    /// Incremented by every change; the `ETag`.
    pub version: u64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The body of `POST /v1/suppliers`, and of `PATCH` (every field optional there).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplierInput {
    /// Name (1 to 200 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// Contact e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Contact phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// ISO 4217 code.
    #[serde(default)]
    pub currency: Option<String>,
    /// 0 to 365 (default 7).
    #[serde(default)]
    pub lead_time_days: Option<u32>,
    /// Default true.
    #[serde(default, deserialize_with = "present")]
    pub active: Option<bool>,
    /// Replaces the whole list.
    #[serde(default)]
    pub products: Option<Vec<SupplierProduct>>,
}

fn check_phone(p: &str) -> Result<String, String> {
    let p = p.trim();
    let ok = (5..=30).contains(&p.len())
        && p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
        && p.chars().filter(char::is_ascii_digit).count() >= 5;
    if ok {
        Ok(p.to_owned())
    } else {
        Err("must be a phone number: 5 to 30 characters of digits, spaces, + - ( )".into())
    }
}

fn check_products(e: &mut FieldErrors, products: &[SupplierProduct]) {
    if products.len() > MAX_SUPPLIER_PRODUCTS {
        e.add(
            "products",
            format!(
                "at most {MAX_SUPPLIER_PRODUCTS} products, got {}",
                products.len()
            ),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, p) in products.iter().enumerate() {
        if !seen.insert(&p.product_id) {
            e.add(
                format!("products[{i}].product_id"),
                "repeats an earlier product",
            );
        }
        e.check(
            &format!("products[{i}].unit_cost"),
            check_price_amount(p.unit_cost),
        );
        if !(1..=MAX_QUANTITY).contains(&p.min_order_quantity) {
            e.add(
                format!("products[{i}].min_order_quantity"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            );
        }
        if let Some(sku) = &p.supplier_sku {
            e.check(
                &format!("products[{i}].supplier_sku"),
                bounded_text(sku, 1, 64),
            );
        }
    }
}

impl Supplier {
    /// A new supplier from `input`, at version 1.
    pub fn create(input: SupplierInput, now: OffsetDateTime) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        if input.name.is_none() {
            e.add("name", "is required");
        }
        if input.currency.is_none() {
            e.add("currency", "is required");
        }
        let blank = Supplier {
            id: uuid::Uuid::now_v7().to_string(),
            name: String::new(),
            email: None,
            phone: None,
            currency: String::new(),
            lead_time_days: 7,
            active: true,
            products: Vec::new(),
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let patched = blank.patched(input, now);
        match (e.is_empty(), patched) {
            (true, result) => result,
            (false, Ok(_)) => Err(e),
            (false, Err(more)) => {
                for f in more.into_vec() {
                    e.add(f.field, f.message);
                }
                Err(e)
            }
        }
    }

    /// This supplier with `input` applied, as the next version.
    pub fn patched(&self, input: SupplierInput, now: OffsetDateTime) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let mut next = self.clone();
        if let Some(name) = input.name
            && let Some(n) = e.check("name", bounded_text(&name, 1, 200))
        {
            next.name = n;
        }
        if let Some(email) = input.email
            && let Some(m) = e.check("email", Email::parse(&email))
        {
            next.email = Some(m.as_str().to_owned());
        }
        if let Some(phone) = input.phone
            && let Some(p) = e.check("phone", check_phone(&phone))
        {
            next.phone = Some(p);
        }
        if let Some(currency) = input.currency
            && let Some(c) = e.check("currency", Currency::parse(&currency))
        {
            next.currency = c.as_str().to_owned();
        }
        if let Some(days) = input.lead_time_days {
            if days > 365 {
                e.add(
                    "lead_time_days",
                    format!("must be between 0 and 365, got {days}"),
                );
            }
            next.lead_time_days = days;
        }
        if let Some(active) = input.active {
            next.active = active;
        }
        if let Some(products) = input.products {
            check_products(&mut e, &products);
            next.products = products;
        }
        next.version += 1;
        next.updated_at = now;
        e.finish(|| Some(next))
    }

    /// What it charges for `product_id`, if it sells it.
    pub fn offer(&self, product_id: &str) -> Option<&SupplierProduct> {
        let wanted = id_key(product_id);
        self.products
            .iter()
            .find(|p| id_key(&p.product_id) == wanted)
    }
}

/// Where a purchase order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoStatus {
    /// Being written; lines can change.
    Draft,
    /// Sent to the supplier.
    Submitted,
    /// Some goods arrived.
    PartiallyReceived,
    /// Every line arrived.
    Received,
    /// Called off before anything arrived.
    Cancelled,
}

impl PoStatus {
    /// Every status.
    pub const ALL: [PoStatus; 5] = [
        PoStatus::Draft,
        PoStatus::Submitted,
        PoStatus::PartiallyReceived,
        PoStatus::Received,
        PoStatus::Cancelled,
    ];

    /// The status's name in APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            PoStatus::Draft => "draft",
            PoStatus::Submitted => "submitted",
            PoStatus::PartiallyReceived => "partially_received",
            PoStatus::Received => "received",
            PoStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a status name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether goods may still arrive against it (it counts as "on order").
    pub fn is_open(self) -> bool {
        matches!(
            self,
            PoStatus::Draft | PoStatus::Submitted | PoStatus::PartiallyReceived
        )
    }
}

/// One line of a purchase order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PoLine {
    /// Our product.
    pub product_id: String,
    /// Units ordered.
    pub quantity: i64,
    /// Cost per unit, minor units of the order's currency.
    pub unit_cost: i64,
    /// Units received so far.
    pub received: i64,
}

impl PoLine {
    /// Most units that may be received in all: ordered plus the tolerance.
    pub fn receivable(&self) -> i64 {
        self.quantity + self.quantity * OVER_RECEIPT_TOLERANCE_PERCENT / 100
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PurchaseOrder {
    /// Id (UUIDv7).
    pub id: String,
    /// Who we buy from.
    pub supplier_id: String,
    /// Where the goods go.
    pub warehouse_id: String,
    /// The supplier's currency.
    pub currency: String,
    pub lines: Vec<PoLine>,
    pub status: PoStatus,
    /// Free text.
    pub notes: Option<String>,
    /// Sum of quantity x unit cost.
    pub total: i64,
    /// Who wrote it.
    pub created_by: String,
    /// Incremented by every change; the `ETag`.
    pub version: u64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A line of a new or changed purchase order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PoLineInput {
    /// Our product.
    pub product_id: String,
    /// Units, 1 to [`MAX_QUANTITY`].
    pub quantity: i64,
    /// Cost per unit; default: the supplier's price for the product.
    #[serde(default)]
    pub unit_cost: Option<i64>,
}

/// The body of `POST /v1/purchase-orders`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPurchaseOrder {
    /// Who we buy from.
    pub supplier_id: String,
    /// Where the goods go.
    pub warehouse_id: String,
    /// 1 to [`MAX_PO_LINES`] lines, each product once.
    pub lines: Vec<PoLineInput>,
    /// Free text.
    #[serde(default)]
    pub notes: Option<String>,
}

/// The body of `PATCH /v1/purchase-orders/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchaseOrderPatch {
    /// Replaces every line (drafts only).
    #[serde(default)]
    pub lines: Option<Vec<PoLineInput>>,
    /// New notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// Checks and prices lines against the supplier's list.
pub fn price_lines(supplier: &Supplier, lines: &[PoLineInput]) -> Result<Vec<PoLine>, FieldErrors> {
    let mut e = FieldErrors::new();
    check_lines(
        &mut e,
        lines.iter().map(|l| (id_key(&l.product_id), l.quantity)),
        MAX_PO_LINES,
        Some("product_id"),
        "repeats an earlier line",
    );
    let mut priced = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        // Stored canonical, so receipts (parsed into `ProductId`s) find the line.
        let product_id = id_key(&l.product_id);
        let cost = match (l.unit_cost, supplier.offer(&product_id)) {
            (Some(c), _) => e.check(&format!("lines[{i}].unit_cost"), check_price_amount(c)),
            (None, Some(offer)) => Some(offer.unit_cost),
            (None, None) => {
                e.add(
                    format!("lines[{i}].unit_cost"),
                    "is required: the supplier does not list this product",
                );
                None
            }
        };
        if let Some(unit_cost) = cost {
            priced.push(PoLine {
                product_id,
                quantity: l.quantity,
                unit_cost,
                received: 0,
            });
        }
    }
    e.finish(|| Some(priced))
}

fn total(lines: &[PoLine]) -> i64 {
    lines
        .iter()
        .map(|l| l.quantity.saturating_mul(l.unit_cost))
        .fold(0i64, i64::saturating_add)
}

/// Why a receipt was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptRefused {
    /// The order is not waiting for goods (draft, received or cancelled).
    NotOpen(PoStatus),
    /// A product that is not on the order.
    NotOnOrder(String),
    /// More than ordered plus the tolerance.
    OverReceipt {
        /// The product.
        product_id: String,
        ordered: i64,
        /// Already received.
        received: i64,
        /// Most that may still arrive.
        acceptable: i64,
    },
}

impl PurchaseOrder {
    /// A new draft.
    pub fn create(
        input: &NewPurchaseOrder,
        supplier: &Supplier,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let warehouse = e.check("warehouse_id", WarehouseId::parse(&input.warehouse_id));
        if let Some(n) = &input.notes {
            e.check("notes", bounded_text(n, 1, 1000));
        }
        let lines = price_lines(supplier, &input.lines);
        let (lines, warehouse) = match (lines, warehouse) {
            (Ok(l), Some(w)) if e.is_empty() => (l, w),
            (Ok(_), _) => return Err(e),
            (Err(more), _) => {
                for f in more.into_vec() {
                    e.add(f.field, f.message);
                }
                return Err(e);
            }
        };
        Ok(Self {
            id: uuid::Uuid::now_v7().to_string(),
            supplier_id: supplier.id.clone(),
            warehouse_id: warehouse.to_string(),
            currency: supplier.currency.clone(),
            total: total(&lines),
            lines,
            status: PoStatus::Draft,
            notes: input.notes.clone(),
            created_by: actor.to_owned(),
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }

    fn next(&self, now: OffsetDateTime) -> Self {
        let mut next = self.clone();
        next.version += 1;
        next.updated_at = now;
        next
    }

    /// This order with `patch` applied; lines change only in drafts.
    pub fn patched(
        &self,
        patch: PurchaseOrderPatch,
        supplier: &Supplier,
        now: OffsetDateTime,
    ) -> Result<Result<Self, String>, FieldErrors> {
        let mut next = self.next(now);
        if let Some(lines) = patch.lines {
            if self.status != PoStatus::Draft {
                return Ok(Err(format!(
                    "the order is {}; lines change only in drafts",
                    self.status.as_str()
                )));
            }
            next.lines = price_lines(supplier, &lines)?;
            next.total = total(&next.lines);
        }
        if let Some(notes) = patch.notes {
            next.notes = Some(bounded_text(&notes, 1, 1000).map_err(|m| {
                let mut e = FieldErrors::new();
                e.add("notes", m);
                e
            })?);
        }
        Ok(Ok(next))
    }

    /// Sent to the supplier.
    pub fn submitted(&self, now: OffsetDateTime) -> Result<Self, String> {
        if self.status != PoStatus::Draft {
            return Err(format!(
                "the order is {}; only drafts are submitted",
                self.status.as_str()
            ));
        }
        let mut next = self.next(now);
        next.status = PoStatus::Submitted;
        Ok(next)
    }

    /// Called off; `None` when it already was.
    pub fn cancelled(&self, now: OffsetDateTime) -> Result<Option<Self>, String> {
        match self.status {
            PoStatus::Cancelled => Ok(None),
            PoStatus::Draft | PoStatus::Submitted => {
                let mut next = self.next(now);
                next.status = PoStatus::Cancelled;
                Ok(Some(next))
            }
            other => Err(format!(
                "the order is {}; goods have arrived, so it cannot be cancelled",
                other.as_str()
            )),
        }
    }

    /// The order after `arrived` (product, units) came in.
    pub fn receiving(
        &self,
        arrived: &[(ProductId, Quantity)],
        now: OffsetDateTime,
    ) -> Result<Self, ReceiptRefused> {
        if !matches!(
            self.status,
            PoStatus::Submitted | PoStatus::PartiallyReceived
        ) {
            return Err(ReceiptRefused::NotOpen(self.status));
        }
        let mut next = self.next(now);
        for (product_id, units) in arrived {
            let units = units.get();
            let line = next
                .lines
                .iter_mut()
                .find(|l| l.product_id == product_id.as_str())
                .ok_or_else(|| ReceiptRefused::NotOnOrder(product_id.to_string()))?;
            if line.received + units > line.receivable() {
                return Err(ReceiptRefused::OverReceipt {
                    product_id: product_id.to_string(),
                    ordered: line.quantity,
                    received: line.received,
                    acceptable: (line.receivable() - line.received).max(0),
                });
            }
            line.received += units;
        }
        next.status = if next.lines.iter().all(|l| l.received >= l.quantity) {
            PoStatus::Received
        } else {
            PoStatus::PartiallyReceived
        };
        Ok(next)
    }

    /// Units of `product_id` still expected (0 unless the order is open).
    pub fn on_order(&self, product_id: &str) -> i64 {
        if !self.status.is_open() {
            return 0;
        }
        self.lines
            .iter()
            .filter(|l| l.product_id == product_id)
            .map(|l| (l.quantity - l.received).max(0))
            .sum()
    }
}

/// The body of `POST /v1/purchase-orders/{id}/receipts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptInput {
    /// What arrived.
    pub lines: Vec<ReceiptLine>,
    /// Free text (delivery note number, ...).
    #[serde(default)]
    pub note: Option<String>,
}

/// Units of one product that arrived.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptLine {
    /// The product.
    pub product_id: String,
    /// Units, 1 to [`MAX_QUANTITY`].
    pub quantity: i64,
}

impl ReceiptInput {
    /// Checks the lines, naming each bad field.
    pub fn parse(self) -> Result<Receipt, FieldErrors> {
        let arrived = self.check()?;
        Ok(Receipt {
            input: self,
            arrived,
        })
    }

    fn check(&self) -> Result<Vec<(ProductId, Quantity)>, FieldErrors> {
        let mut e = FieldErrors::new();
        let mut arrived = Vec::with_capacity(self.lines.len());
        for (i, line) in self.lines.iter().enumerate() {
            let product = e.check(
                &format!("lines[{i}].product_id"),
                ProductId::parse(&line.product_id)
                    .map_err(|_| format!("no product with id '{}'", line.product_id)),
            );
            if let (Some(product), Ok(units)) = (product, Quantity::parse(line.quantity)) {
                arrived.push((product, units));
            }
        }
        // Repeats are found on the parsed ids: two spellings of one UUID are one product.
        check_lines(
            &mut e,
            self.lines
                .iter()
                .map(|l| (id_key(&l.product_id), l.quantity)),
            MAX_RECEIPT_LINES,
            Some("product_id"),
            "repeats an earlier line",
        );
        if let Some(n) = &self.note {
            e.check("note", bounded_text(n, 1, 500));
        }
        e.finish(|| Some(arrived))
    }
}

/// A receipt that passed every check ([`ReceiptInput::parse`]): 1 to [`MAX_RECEIPT_LINES`]
/// lines, each product once, quantities in range, a bounded note.
#[derive(Debug, Clone)]
pub struct Receipt {
    input: ReceiptInput,
    arrived: Vec<(ProductId, Quantity)>,
}

impl Receipt {
    /// The receipt as the client sent it.
    pub fn input(&self) -> &ReceiptInput {
        &self.input
    }

    /// Units that arrived, by product.
    pub fn arrived(&self) -> &[(ProductId, Quantity)] {
        &self.arrived
    }
}

/// One product to reorder.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SuggestedLine {
    /// The product.
    pub product_id: String,
    pub sku: String,
    /// Units available in the warehouse now.
    pub available: i64,
    pub reorder_level: i64,
    /// The level the order fills up to.
    pub target_level: i64,
    /// Units already on open purchase orders to this warehouse.
    pub on_order: i64,
    /// Units to order: target - available - on order, at least the supplier's minimum.
    pub quantity: i64,
    /// The supplier's price, when there is a supplier.
    pub unit_cost: Option<i64>,
}

/// Suggested lines for one supplier (or none: products no active supplier sells).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SuggestionGroup {
    /// The supplier, `None` for products nobody sells us.
    pub supplier_id: Option<String>,
    /// Its name.
    pub supplier_name: Option<String>,
    pub currency: Option<String>,
    /// What to order.
    pub lines: Vec<SuggestedLine>,
}

/// The level a reorder of `product` fills up to.
pub fn target_level(product: &Product) -> i64 {
    let reorder = i64::from(product.reorder_level);
    product
        .target_level
        .map_or(reorder * 2, i64::from)
        .max(reorder + 1)
}

/// Which supplier a product is bought from: its preferred one if that is active and sells it,
/// else the cheapest active one that does (ties: the oldest).
pub fn supplier_for<'a>(product: &Product, suppliers: &'a [Supplier]) -> Option<&'a Supplier> {
    let sells = |s: &&Supplier| s.active && s.offer(product.id.as_str()).is_some();
    if let Some(preferred) = &product.preferred_supplier_id
        && let Some(s) = suppliers.iter().filter(sells).find(|s| s.id == *preferred)
    {
        return Some(s);
    }
    suppliers.iter().filter(sells).min_by_key(|s| {
        (
            s.offer(product.id.as_str()).map(|o| o.unit_cost),
            s.id.clone(),
        )
    })
}

/// Reorder suggestions for one warehouse: every active product whose available stock is at or
/// below its reorder level, less what open purchase orders already bring, grouped by supplier.
pub fn suggest(
    products: &[Product],
    available: &HashMap<String, i64>,
    open_orders: &[PurchaseOrder],
    suppliers: &[Supplier],
) -> Vec<SuggestionGroup> {
    let mut groups: BTreeMap<Option<String>, SuggestionGroup> = BTreeMap::new();
    for product in products.iter().filter(|p| !p.archived) {
        let id = product.id.as_str();
        let have = available.get(id).copied().unwrap_or(0);
        let reorder = i64::from(product.reorder_level);
        if have > reorder {
            continue;
        }
        let on_order: i64 = open_orders.iter().map(|o| o.on_order(id)).sum();
        let target = target_level(product);
        let need = target - have - on_order;
        if need <= 0 {
            continue;
        }
        let supplier = supplier_for(product, suppliers);
        let offer = supplier.and_then(|s| s.offer(id));
        let group = groups
            .entry(supplier.map(|s| s.id.clone()))
            .or_insert_with(|| SuggestionGroup {
                supplier_id: supplier.map(|s| s.id.clone()),
                supplier_name: supplier.map(|s| s.name.clone()),
                currency: supplier.map(|s| s.currency.clone()),
                lines: Vec::new(),
            });
        group.lines.push(SuggestedLine {
            product_id: id.to_owned(),
            sku: product.sku.as_str().to_owned(),
            available: have,
            reorder_level: reorder,
            target_level: target,
            on_order,
            quantity: need.max(offer.map_or(1, |o| o.min_order_quantity)),
            unit_cost: offer.map(|o| o.unit_cost),
        });
    }
    groups.into_values().collect()
}

#[cfg(test)]
#[path = "purchasing_test.rs"]
mod tests;
