//! The single-table key design.
//!
//! | item            | PK                   | SK        | GSI1PK / GSI1SK     | GSI2PK / GSI2SK               |
//! |-----------------|----------------------|-----------|---------------------|-------------------------------|
//! | product         | `PRODUCT#<id>`       | `PRODUCT` | `PRODUCTS` / `<id>` | `CATEGORY#<category>` / `<id>` |
//! | SKU claim       | `SKU#<SKU>`          | `SKU`     |                     |                               |
//! | barcode claim   | `BARCODE#<code>`     | `BARCODE` |                     |                               |
//!
//! Access patterns:
//! - product by id: `GetItem(PRODUCT#id, PRODUCT)`;
//! - product by barcode: `GetItem(BARCODE#code, BARCODE)` then by id;
//! - active products in creation order: `Query GSI1 PK=PRODUCTS` (ids are UUIDv7, so they sort
//!   by creation time; archived products drop their GSI keys and so leave both indexes);
//! - active products of a category: `Query GSI2 PK=CATEGORY#<lower-case category>`;
//! - SKU / barcode uniqueness: the claim items are written in the same transaction as the
//!   product with `attribute_not_exists(PK)`.

/// Partition key attribute.
pub const PK: &str = "PK";
/// Sort key attribute.
pub const SK: &str = "SK";
/// First overloaded index.
pub const GSI1: &str = "GSI1";
/// Its partition key attribute.
pub const GSI1PK: &str = "GSI1PK";
/// Its sort key attribute.
pub const GSI1SK: &str = "GSI1SK";
/// Second overloaded index.
pub const GSI2: &str = "GSI2";
/// Its partition key attribute.
pub const GSI2PK: &str = "GSI2PK";
/// Its sort key attribute.
pub const GSI2SK: &str = "GSI2SK";

/// Third index: audit entries by target.
pub const GSI3: &str = "GSI3";
/// Its partition key attribute.
pub const GSI3PK: &str = "GSI3PK";
/// Its sort key attribute.
pub const GSI3SK: &str = "GSI3SK";

/// An overloaded global secondary index: its name and key attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gsi {
    /// The index name.
    pub name: &'static str,
    /// Its partition key attribute.
    pub pk: &'static str,
    /// Its sort key attribute.
    pub sk: &'static str,
}

/// `GSI1` with its key attributes.
pub const BY_GSI1: Gsi = Gsi {
    name: GSI1,
    pk: GSI1PK,
    sk: GSI1SK,
};

/// `GSI2` with its key attributes.
pub const BY_GSI2: Gsi = Gsi {
    name: GSI2,
    pk: GSI2PK,
    sk: GSI2SK,
};

/// `GSI3` with its key attributes.
pub const BY_GSI3: Gsi = Gsi {
    name: GSI3,
    pk: GSI3PK,
    sk: GSI3SK,
};
/// The attribute naming an item's entity type.
pub const ENTITY: &str = "entity";

/// `PRODUCT#<id>`.
pub fn product_pk(id: &str) -> String {
    format!("PRODUCT#{id}")
}
/// Sort key of a product item.
pub const PRODUCT_SK: &str = "PRODUCT";
/// GSI1 partition listing every active product.
pub const PRODUCTS_PARTITION: &str = "PRODUCTS";
/// `CATEGORY#<normalised category>`.
pub fn category_partition(category_key: &str) -> String {
    format!("CATEGORY#{category_key}")
}
/// `SKU#<SKU>`.
pub fn sku_pk(sku: &str) -> String {
    format!("SKU#{sku}")
}
/// Sort key of a SKU claim.
pub const SKU_SK: &str = "SKU";
/// `BARCODE#<code>`.
pub fn barcode_pk(code: &str) -> String {
    format!("BARCODE#{code}")
}
/// Sort key of a barcode claim.
pub const BARCODE_SK: &str = "BARCODE";

/// `USER#<id>`: the account item (SK `USER`) and its refresh-token families (SK `FAMILY#<id>`).
pub fn user_pk(id: &str) -> String {
    format!("USER#{id}")
}
/// Sort key of an account item.
pub const USER_SK: &str = "USER";
/// Sort key of a single-use link's token under its account's partition:
/// `LINK#<KIND>#<sha256 of the token>` (`RESET`, `VERIFY`, `LINKGOOGLE`).
pub fn link_sk(kind: &str, token_digest: &str) -> String {
    format!("{LINK_PREFIX}{kind}#{token_digest}")
}
/// What every link's sort key starts with.
pub const LINK_PREFIX: &str = "LINK#";
/// Sort key of the count of a customer's open (unpaid) orders, under the account's partition.
pub const OPEN_ORDERS_SK: &str = "OPEN_ORDERS";
/// GSI1 partition listing every account.
pub const USERS_PARTITION: &str = "USERS";
/// `EMAIL#<normalised address>`: the claim that makes e-mail addresses unique.
pub fn email_pk(email: &str) -> String {
    format!("EMAIL#{email}")
}
/// Sort key of an e-mail claim.
pub const EMAIL_SK: &str = "EMAIL";
/// `GOOGLE#<sub>`: the claim of a Google account (its stable `sub`) by the account it signs in.
pub fn google_pk(sub: &str) -> String {
    format!("GOOGLE#{sub}")
}
/// Sort key of a Google account's claim.
pub const GOOGLE_SK: &str = "GOOGLE";
/// The counter of active admins (PK `ADMINS`, SK `COUNTER`).
pub const ADMINS_PK: &str = "ADMINS";
/// Sort key of the admin counter.
pub const ADMINS_SK: &str = "COUNTER";
/// `FAMILY#<id>`: a refresh-token family, under its account's partition.
pub fn family_sk(family_id: &str) -> String {
    format!("FAMILY#{family_id}")
}
/// `REFRESH#<sha-256 of the token>`: one refresh token (the token itself is never stored).
pub fn refresh_pk(digest: &str) -> String {
    format!("REFRESH#{digest}")
}
/// Sort key of a refresh token.
pub const REFRESH_SK: &str = "REFRESH";
/// Sort key of a failed-login counter (PK `LOCK#ACCOUNT#<email>` or `LOCK#CLIENT#<ip>`).
pub const LOCK_SK: &str = "LOCK";
/// `AUDIT#<id>`: one audit entry.
pub fn audit_pk(id: &str) -> String {
    format!("AUDIT#{id}")
}
/// Sort key of an audit entry.
pub const AUDIT_SK: &str = "AUDIT";
/// GSI1 partition listing every audit entry by time.
pub const AUDIT_PARTITION: &str = "AUDIT";
/// `MIGRATION#<name>`: where a data migration stands (SK [`MIGRATION_SK`]).
pub fn migration_pk(name: &str) -> String {
    format!("MIGRATION#{name}")
}
/// Sort key of a migration's progress.
pub const MIGRATION_SK: &str = "MIGRATION";
/// GSI3 partition listing the audit entries about one target by time.
pub fn audit_target_partition(target: &str) -> String {
    format!("AUDIT#TARGET#{target}")
}
/// GSI2 partition listing one actor's audit entries by time.
pub fn audit_actor_partition(actor: &str) -> String {
    format!("AUDIT#ACTOR#{actor}")
}
/// TTL attribute (epoch seconds); DynamoDB deletes expired items eventually, so readers
/// check it themselves.
pub const EXPIRES_AT: &str = "expires_at";
/// `WAREHOUSE#<id>`.
pub fn warehouse_pk(id: &str) -> String {
    format!("WAREHOUSE#{id}")
}
/// Sort key of a warehouse.
pub const WAREHOUSE_SK: &str = "WAREHOUSE";
/// GSI1 partition listing every warehouse.
pub const WAREHOUSES_PARTITION: &str = "WAREHOUSES";
/// `WAREHOUSE_CODE#<code>`: the claim that makes warehouse codes unique.
pub fn warehouse_code_pk(code: &str) -> String {
    format!("WAREHOUSE_CODE#{code}")
}
/// What every stock level's `PK` starts with.
pub const LEVEL_PK_PREFIX: &str = "LEVEL#";

/// `LEVEL#<product>#<warehouse>`: one stock level.
pub fn level_pk(product_id: &str, warehouse_id: &str) -> String {
    format!("{LEVEL_PK_PREFIX}{product_id}#{warehouse_id}")
}
/// Sort key of a stock level.
pub const LEVEL_SK: &str = "LEVEL";
/// GSI1 partition of a warehouse's levels.
pub fn levels_of_warehouse(warehouse_id: &str) -> String {
    format!("LEVELS#WAREHOUSE#{warehouse_id}")
}
/// GSI2 partition of a product's levels.
pub fn levels_of_product(product_id: &str) -> String {
    format!("LEVELS#PRODUCT#{product_id}")
}
/// `MOVEMENT#<id>`: one ledger entry.
pub fn movement_pk(id: &str) -> String {
    format!("MOVEMENT#{id}")
}
/// Sort key of a ledger entry.
pub const MOVEMENT_SK: &str = "MOVEMENT";
/// GSI1 partition of a warehouse's ledger.
pub fn ledger_of_warehouse(warehouse_id: &str) -> String {
    format!("LEDGER#WAREHOUSE#{warehouse_id}")
}
/// GSI2 partition of a product's ledger.
pub fn ledger_of_product(product_id: &str) -> String {
    format!("LEDGER#PRODUCT#{product_id}")
}
/// `IDEMPOTENCY#<scope>#<sha-256 of the key>`: one idempotent request.
pub fn idempotency_pk(scope: &str, key_digest: &str) -> String {
    format!("IDEMPOTENCY#{scope}#{key_digest}")
}
/// Sort key of an idempotency record.
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";
/// What the sort key of a note of an idempotency record, under its account's partition,
/// starts with (the rest is the record's PK).
pub const IDEMPOTENCY_REF_PREFIX: &str = "IDEMPOTENCY_REF#";
/// The attribute of such a note naming the record's PK.
pub const IDEMPOTENCY_REF: &str = "record_pk";
/// `RESERVATION#<id>`.
pub fn reservation_pk(id: &str) -> String {
    format!("RESERVATION#{id}")
}
/// Sort key of a reservation.
pub const RESERVATION_SK: &str = "RESERVATION";
/// GSI1 partition of held reservations, by expiry (swept when they expire).
pub const HELD_RESERVATIONS: &str = "RESERVATIONS#HELD";
/// `EVENT#<id>`: an outbox event, written in the transaction of the change it announces and
/// forwarded from the table's stream.
pub fn event_pk(id: &str) -> String {
    format!("EVENT#{id}")
}
/// Sort key of an outbox event.
pub const EVENT_SK: &str = "EVENT";
/// `SHIPMENT#<id>`: one shipment.
pub fn shipment_pk(id: &str) -> String {
    format!("SHIPMENT#{id}")
}
/// Sort key of a shipment.
pub const SHIPMENT_SK: &str = "SHIPMENT";
/// GSI1 partition of one order's shipments.
pub fn shipments_of_order(order_id: &str) -> String {
    format!("SHIPMENTS#ORDER#{order_id}")
}
/// GSI2 partition of the shipments leaving a warehouse that are not delivered or returned.
pub fn open_shipments(warehouse_id: &str) -> String {
    format!("SHIPMENTS#OPEN#{warehouse_id}")
}
/// `TRACKING#<carrier>#<number>`: the claim of a carrier's tracking number by one shipment.
pub fn tracking_pk(carrier: &str, number: &str) -> String {
    format!("TRACKING#{carrier}#{number}")
}
/// Sort key of a tracking-number claim.
pub const TRACKING_SK: &str = "TRACKING";
/// `ORDER#<id>`: one order.
pub fn order_pk(id: &str) -> String {
    format!("ORDER#{id}")
}
/// Sort key of an order.
pub const ORDER_SK: &str = "ORDER";
/// GSI1 partition of one customer's orders, newest first.
pub fn orders_of_customer(customer_id: &str) -> String {
    format!("ORDERS#CUSTOMER#{customer_id}")
}
/// GSI2 partition of every order, newest first (staff listings).
pub const ORDERS_PARTITION: &str = "ORDERS";
/// `RAZORPAY_ORDER#<razorpay order id>`: which of our orders a Razorpay order belongs to.
pub fn razorpay_order_pk(razorpay_order_id: &str) -> String {
    format!("RAZORPAY_ORDER#{razorpay_order_id}")
}
/// Sort key of a Razorpay order link.
pub const RAZORPAY_ORDER_SK: &str = "RAZORPAY_ORDER";
/// `WEBHOOK#<provider>#<event id>`: a webhook delivery already applied.
pub fn webhook_event_pk(provider: &str, event_id: &str) -> String {
    format!("WEBHOOK#{provider}#{event_id}")
}
/// Sort key of a webhook delivery record.
pub const WEBHOOK_EVENT_SK: &str = "WEBHOOK";
/// `SUPPLIER#<id>`: one supplier (its product list inside).
pub fn supplier_pk(id: &str) -> String {
    format!("SUPPLIER#{id}")
}
/// Sort key of a supplier.
pub const SUPPLIER_SK: &str = "SUPPLIER";
/// GSI1 partition of every supplier, in creation order.
pub const SUPPLIERS_PARTITION: &str = "SUPPLIERS";
/// `PO#<id>`: one purchase order.
pub fn purchase_order_pk(id: &str) -> String {
    format!("PO#{id}")
}
/// Sort key of a purchase order.
pub const PURCHASE_ORDER_SK: &str = "PO";
/// GSI1 partition of a warehouse's open purchase orders (sparse: closed ones leave it).
pub fn open_purchase_orders(warehouse_id: &str) -> String {
    format!("POS#OPEN#{warehouse_id}")
}
/// GSI2 partition of every purchase order, newest first.
pub const PURCHASE_ORDERS_PARTITION: &str = "POS";
/// `PERSONA#<id>`: one persona's summary (the full document is in S3).
pub fn persona_pk(id: &str) -> String {
    format!("PERSONA#{id}")
}
/// Sort key of a persona.
pub const PERSONA_SK: &str = "PERSONA";
/// GSI1 partition of every persona, newest first.
pub const PERSONAS_PARTITION: &str = "PERSONAS";
/// GSI2 partition of one segment's personas, newest first.
pub fn personas_of_segment(segment: &str) -> String {
    format!("PERSONAS#SEGMENT#{segment}")
}
