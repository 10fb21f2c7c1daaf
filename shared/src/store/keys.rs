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
