//! Products and their SKU / barcode claims.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use super::keys::*;
use super::{StoreError, Table, TransactionOutcome, Uniqueness, transaction_outcome};
use crate::domain::{Barcode, Product, ProductId, Sku};
use crate::http::Cursor;

type Item = HashMap<String, AttributeValue>;

/// How many times a transaction that lost a race with another is tried again.
const CONFLICT_RETRIES: u32 = 4;

/// Which products a listing returns.
#[derive(Debug, Clone)]
pub enum ProductListing {
    /// Every active product.
    All,
    /// Active products of one category (given as its normalised key).
    Category(String),
}

impl ProductListing {
    fn index(&self) -> (&'static str, &'static str, &'static str, String) {
        match self {
            ProductListing::All => (GSI1, GSI1PK, GSI1SK, PRODUCTS_PARTITION.to_owned()),
            ProductListing::Category(key) => (GSI2, GSI2PK, GSI2SK, category_partition(key)),
        }
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

    /// Creates `product` and claims its SKU and barcode, all or nothing.
    #[tracing::instrument(name = "store: create product", skip_all, fields(product_id = %product.id))]
    pub async fn create(&self, product: &Product) -> Result<(), StoreError> {
        let mut writes = vec![
            (None, self.put_product(product, None)?),
            (
                Some(Uniqueness::Sku),
                self.claim_sku(&product.sku, &product.id),
            ),
        ];
        if let Some(code) = &product.barcode {
            writes.push((
                Some(Uniqueness::Barcode),
                self.claim_barcode(code, &product.id),
            ));
        }
        self.transact(writes).await
    }

    /// Replaces `previous` by `next`, moving SKU and barcode claims when they change. Fails
    /// with [`StoreError::VersionMismatch`] if the stored version is no longer `previous`'s.
    #[tracing::instrument(name = "store: save product", skip_all, fields(product_id = %next.id))]
    pub async fn replace(&self, previous: &Product, next: &Product) -> Result<(), StoreError> {
        let mut writes = vec![(None, self.put_product(next, Some(previous.version))?)];
        if previous.sku != next.sku {
            writes.push((
                None,
                self.release(sku_pk(previous.sku.as_str()), SKU_SK, &next.id),
            ));
            writes.push((Some(Uniqueness::Sku), self.claim_sku(&next.sku, &next.id)));
        }
        if previous.barcode != next.barcode {
            if let Some(old) = &previous.barcode {
                writes.push((
                    None,
                    self.release(barcode_pk(old.as_str()), BARCODE_SK, &next.id),
                ));
            }
            if let Some(new) = &next.barcode {
                writes.push((Some(Uniqueness::Barcode), self.claim_barcode(new, &next.id)));
            }
        }
        self.transact(writes).await
    }

    /// The product with `id`.
    pub async fn get(&self, id: &ProductId) -> Result<Product, StoreError> {
        let item = self
            .get_item(product_pk(id.as_str()), PRODUCT_SK)
            .await?
            .ok_or(StoreError::NotFound)?;
        decode(item)
    }

    /// The product carrying `barcode`.
    pub async fn get_by_barcode(&self, barcode: &Barcode) -> Result<Product, StoreError> {
        let claim = self
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
        let (index, index_pk, index_sk, partition) = listing.index();
        let start = after
            .map(|c| start_key(c, index_pk, index_sk, &partition))
            .transpose()?;
        // One more than asked tells whether another page exists without an empty last page.
        let output = self
            .table
            .client()
            .query()
            .table_name(self.table.name())
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", index_pk)
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let mut items = output.items.unwrap_or_default();
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next = match (more, items.last()) {
            (true, Some(last)) => Some(cursor_of(last, index_pk, index_sk)?),
            _ => None,
        };
        let products = items.into_iter().map(decode).collect::<Result<_, _>>()?;
        Ok((products, next))
    }

    async fn get_item(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .table
            .client()
            .get_item()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(output.item)
    }

    /// Runs `writes` as one transaction. The tag on each write says which uniqueness rule its
    /// condition guards; an untagged failed condition is the product's own version check.
    async fn transact(
        &self,
        writes: Vec<(Option<Uniqueness>, TransactWriteItem)>,
    ) -> Result<(), StoreError> {
        let (tags, items): (Vec<_>, Vec<_>) = writes.into_iter().unzip();
        let mut attempt = 0;
        loop {
            let result = self
                .table
                .client()
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            match transaction_outcome(err) {
                TransactionOutcome::ConditionFailed(i) => {
                    return Err(match tags.get(i).copied().flatten() {
                        Some(rule) => StoreError::Duplicate(rule),
                        None => StoreError::VersionMismatch,
                    });
                }
                TransactionOutcome::Conflict if attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 20);
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt) + jitter))
                        .await;
                }
                TransactionOutcome::Conflict => {
                    return Err(StoreError::Unavailable(
                        "transaction kept conflicting with concurrent writes".into(),
                    ));
                }
                TransactionOutcome::Failed(e) => return Err(e),
            }
        }
    }

    fn put_product(
        &self,
        product: &Product,
        expected_version: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(encode(product)?));
        put = match expected_version {
            None => put.condition_expression("attribute_not_exists(PK)"),
            Some(v) => put
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", AttributeValue::N(v.to_string())),
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(|e| StoreError::Internal(Box::new(e)))?)
            .build())
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
    let mut item: Item =
        serde_dynamo::to_item(product).map_err(|e| StoreError::Internal(Box::new(e)))?;
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

fn decode(item: Item) -> Result<Product, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Internal(Box::new(e)))
}

fn cursor_of(item: &Item, index_pk: &str, index_sk: &str) -> Result<Cursor, StoreError> {
    let mut keys = BTreeMap::new();
    for name in [PK, SK, index_pk, index_sk] {
        let value = item
            .get(name)
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| StoreError::corrupt(format!("listed item without {name}")))?;
        keys.insert(name.to_owned(), value.clone());
    }
    Ok(Cursor(keys))
}

/// The exclusive start key of a cursor, refusing cursors of another listing.
fn start_key(
    cursor: &Cursor,
    index_pk: &str,
    index_sk: &str,
    partition: &str,
) -> Result<Item, StoreError> {
    let keys = &cursor.0;
    let expected: [&str; 4] = [PK, SK, index_pk, index_sk];
    let well_formed = keys.len() == 4
        && expected.iter().all(|k| keys.contains_key(*k))
        && keys.get(index_pk).map(String::as_str) == Some(partition)
        && keys.get(SK).map(String::as_str) == Some(PRODUCT_SK)
        && keys
            .get(PK)
            .and_then(|pk| pk.strip_prefix("PRODUCT#"))
            .is_some_and(|id| {
                ProductId::parse(id).is_ok() && keys.get(index_sk).map(String::as_str) == Some(id)
            });
    if !well_formed {
        return Err(StoreError::BadCursor);
    }
    Ok(keys
        .iter()
        .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
        .collect())
}
