//! Carts in the table: `CART#<cart id>` / `CART`, version-guarded, deleted by TTL when they
//! expire.

use super::codec;
use super::keys::{ENTITY, EXPIRES_AT, PK, SK};
use super::{Guard, StoreError, Table, Write};
use crate::domain::cart::Cart;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};

const CART_SK: &str = "CART";

fn cart_pk(id: &str) -> String {
    format!("CART#{id}")
}

/// Carts in the single table.
#[derive(Debug, Clone)]
pub struct CartStore {
    table: Table,
}

impl CartStore {
    /// Carts in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The cart `id` as stored, expired or not: an expired one is gone for its shopper (see
    /// [`Cart::expired`]), but a write replacing it names its version until TTL deletes it.
    pub async fn get(&self, id: &str) -> Result<Option<Cart>, StoreError> {
        match self.table.get_item(cart_pk(id), CART_SK).await? {
            Some(item) => Ok(Some(codec::decode(item)?)),
            None => Ok(None),
        }
    }

    /// Stores `cart` (created when `previous` is `None`, else replacing that version).
    pub fn put(&self, cart: &Cart, previous: Option<u64>) -> Result<Write, StoreError> {
        let item = codec::encode_keyed(
            cart,
            &[
                (PK, cart_pk(&cart.id)),
                (SK, CART_SK.into()),
                (ENTITY, "cart".into()),
            ],
        )?;
        let mut item = item;
        item.insert(
            EXPIRES_AT.into(),
            AttributeValue::N(cart.expires_at.to_string()),
        );
        Ok(Write(
            Guard::Version,
            self.table.versioned_put(item, previous)?,
        ))
    }

    /// Deletes `cart` as read (its version unchanged).
    pub fn delete(&self, cart: &Cart) -> Result<Write, StoreError> {
        let delete = Delete::builder()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(cart_pk(&cart.id)))
            .key(SK, AttributeValue::S(CART_SK.into()))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", AttributeValue::N(cart.version.to_string()))
            .build()
            .map_err(StoreError::internal)?;
        Ok(Write(
            Guard::Version,
            TransactWriteItem::builder().delete(delete).build(),
        ))
    }

    /// Runs `writes` as one transaction.
    pub async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.table.transact(writes).await
    }
}
