//! Products and their SKU / barcode claims.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use super::codec::{self, decode_all};
use super::keys::*;
use super::outbox::event_writes;
use super::{Cursor, Guard, IndexListing, Item, StoreError, Table, Uniqueness, Write};
use crate::domain::event::product_events;
use crate::domain::{Barcode, Product, ProductId, Sku};

/// Which products a listing returns.
#[derive(Debug, Clone)]
pub enum ProductListing {
    /// Every active product.
    All,
    /// Active products of one category (given as its normalised key).
    Category(String),
}

impl ProductListing {
    fn index(&self) -> IndexListing {
        let (index, partition) = match self {
            ProductListing::All => (BY_GSI1, PRODUCTS_PARTITION.to_owned()),
            ProductListing::Category(key) => (BY_GSI2, category_partition(key)),
        };
        IndexListing::new(index, partition, "PRODUCT#", PRODUCT_SK)
    }
}

/// Stores products in the single table.
#[derive(Debug, Clone)]
pub struct ProductStore {
    table: Table,
}

impl ProductStore {
    /// Products in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Creates `product` and claims its SKU and barcode, all or nothing, announcing it.
    #[tracing::instrument(name = "store: create product", skip_all, fields(product_id = %product.id))]
    pub async fn create(&self, product: &Product) -> Result<(), StoreError> {
        let mut writes = vec![
            Write(Guard::Version, self.put_product(product, None)?),
            Write(
                Guard::Unique(Uniqueness::Sku),
                self.claim_sku(&product.sku, &product.id),
            ),
        ];
        if let Some(code) = &product.barcode {
            writes.push(Write(
                Guard::Unique(Uniqueness::Barcode),
                self.claim_barcode(code, &product.id),
            ));
        }
        writes.extend(event_writes(&self.table, &product_events(None, product))?);
        self.table.transact(writes).await
    }

    /// Replaces `previous` by `next`, moving SKU and barcode claims when they change and
    /// announcing what changed ([`product_events`]). Fails
    /// with [`StoreError::VersionMismatch`] if the stored version is no longer `previous`'s.
    #[tracing::instrument(name = "store: save product", skip_all, fields(product_id = %next.id))]
    pub async fn replace(&self, previous: &Product, next: &Product) -> Result<(), StoreError> {
        let mut writes = vec![Write(
            Guard::Version,
            self.put_product(next, Some(previous.version))?,
        )];
        if previous.sku != next.sku {
            writes.push(Write(
                Guard::Version,
                self.release(sku_pk(previous.sku.as_str()), SKU_SK, &next.id),
            ));
            writes.push(Write(
                Guard::Unique(Uniqueness::Sku),
                self.claim_sku(&next.sku, &next.id),
            ));
        }
        if previous.barcode != next.barcode {
            if let Some(old) = &previous.barcode {
                writes.push(Write(
                    Guard::Version,
                    self.release(barcode_pk(old.as_str()), BARCODE_SK, &next.id),
                ));
            }
            if let Some(new) = &next.barcode {
                writes.push(Write(
                    Guard::Unique(Uniqueness::Barcode),
                    self.claim_barcode(new, &next.id),
                ));
            }
        }
        writes.extend(event_writes(
            &self.table,
            &product_events(Some(previous), next),
        )?);
        self.table.transact(writes).await
    }

    /// The product with `id`.
    pub async fn get(&self, id: &ProductId) -> Result<Product, StoreError> {
        self.table.get_as(product_pk(id.as_str()), PRODUCT_SK).await
    }

    /// The product carrying `barcode`.
    pub async fn get_by_barcode(&self, barcode: &Barcode) -> Result<Product, StoreError> {
        let claim = self
            .table
            .get_item(barcode_pk(barcode.as_str()), BARCODE_SK)
            .await?
            .ok_or(StoreError::NotFound)?;
        let id = claim
            .get("product_id")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| StoreError::corrupt("barcode claim without product_id"))?;
        let id = ProductId::parse(id).map_err(StoreError::corrupt)?;
        self.get(&id).await
    }

    /// One page of active products in creation order, and the cursor of the next page.
    pub async fn list(
        &self,
        listing: &ProductListing,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Product>, Option<Cursor>), StoreError> {
        let (items, next) = self
            .table
            .query_page(&listing.index(), limit, after)
            .await?;
        let products = decode_all(items)?;
        Ok((products, next))
    }

    /// Every listed (not archived) product, up to `cap`; says whether it stopped early.
    pub async fn all(&self, cap: usize) -> Result<(Vec<Product>, bool), StoreError> {
        super::all_pages(cap, |c| async move {
            self.list(&ProductListing::All, 100, c.as_ref()).await
        })
        .await
    }

    fn put_product(
        &self,
        product: &Product,
        expected_version: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        self.table.versioned_put(encode(product)?, expected_version)
    }

    fn claim(&self, pk: String, sk: &str, entity: &str, id: &ProductId) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(pk))
            .item(SK, AttributeValue::S(sk.to_owned()))
            .item(ENTITY, AttributeValue::S(entity.to_owned()))
            .item("product_id", AttributeValue::S(id.to_string()))
            .condition_expression("attribute_not_exists(PK)")
            .build();
        // The builder only fails when table name or item is missing; both are set above.
        TransactWriteItem::builder().set_put(put.ok()).build()
    }

    fn claim_sku(&self, sku: &Sku, id: &ProductId) -> TransactWriteItem {
        self.claim(sku_pk(sku.as_str()), SKU_SK, "sku", id)
    }

    fn claim_barcode(&self, code: &Barcode, id: &ProductId) -> TransactWriteItem {
        self.claim(barcode_pk(code.as_str()), BARCODE_SK, "barcode", id)
    }

    /// Deletes a claim, but only if this product holds it.
    fn release(&self, pk: String, sk: &str, id: &ProductId) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk.to_owned()))
            .condition_expression("product_id = :id")
            .expression_attribute_values(":id", AttributeValue::S(id.to_string()))
            .build();
        TransactWriteItem::builder().set_delete(delete.ok()).build()
    }
}

fn encode(product: &Product) -> Result<Item, StoreError> {
    let mut item: Item = codec::encode(product)?;
    let id = product.id.as_str();
    let s = |v: String| AttributeValue::S(v);
    item.insert(PK.into(), s(product_pk(id)));
    item.insert(SK.into(), s(PRODUCT_SK.into()));
    item.insert(ENTITY.into(), s("product".into()));
    if !product.archived {
        item.insert(GSI1PK.into(), s(PRODUCTS_PARTITION.into()));
        item.insert(GSI1SK.into(), s(id.into()));
        item.insert(
            GSI2PK.into(),
            s(category_partition(&product.category_key())),
        );
        item.insert(GSI2SK.into(), s(id.into()));
    }
    Ok(item)
}
