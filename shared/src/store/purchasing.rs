//! Suppliers and purchase orders. Both change only by writes guarded by their version; a
//! receipt commits the order with its stock levels and ledger entries in one transaction.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::codec::{decode_all, encode_keyed};
use super::keys::*;
use super::outbox::event_writes;
use super::{Cursor, Guard, IndexListing, StoreError, Table, Write, sortable};
use crate::domain::event::purchase_order_events;
use crate::domain::purchasing::{PoStatus, PurchaseOrder, Supplier};

/// Which purchase orders to list.
#[derive(Debug, Clone, Default)]
pub struct PurchaseOrderFilter {
    /// Only this supplier's.
    pub supplier_id: Option<String>,
    /// Only those in this status.
    pub status: Option<PoStatus>,
    /// Only those to this warehouse.
    pub warehouse_id: Option<String>,
}

/// Suppliers and purchase orders in the single table.
#[derive(Debug, Clone)]
pub struct PurchasingStore {
    table: Table,
}

impl PurchasingStore {
    /// Suppliers and purchase orders in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    fn supplier_write(
        &self,
        s: &Supplier,
        expected: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = encode_keyed(
            s,
            &[
                (PK, supplier_pk(&s.id)),
                (SK, SUPPLIER_SK.into()),
                (ENTITY, "supplier".into()),
                (GSI1PK, SUPPLIERS_PARTITION.into()),
                (GSI1SK, s.id.clone()),
            ],
        )?;
        self.table.versioned_put(item, expected)
    }

    /// Stores `next`: created when `previous` is `None`, else replacing that version.
    pub async fn put_supplier(
        &self,
        previous: Option<&Supplier>,
        next: &Supplier,
    ) -> Result<(), StoreError> {
        let write = self.supplier_write(next, previous.map(|p| p.version))?;
        self.table
            .transact(vec![Write(Guard::Version, write)])
            .await
    }

    /// The supplier with `id`.
    pub async fn supplier(&self, id: &str) -> Result<Supplier, StoreError> {
        self.table.get_as(supplier_pk(id), SUPPLIER_SK).await
    }

    /// One page of suppliers in creation order.
    pub async fn list_suppliers(
        &self,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Supplier>, Option<Cursor>), StoreError> {
        let listing = IndexListing::new(BY_GSI1, SUPPLIERS_PARTITION, "SUPPLIER#", SUPPLIER_SK);
        let (items, next) = self.table.query_page(&listing, limit, after).await?;
        Ok((decode_all(items)?, next))
    }

    /// The writes storing `po`, created (`before` `None`) or replacing the version read, with
    /// the events the change announces ([`purchase_order_events`]); open orders are indexed by
    /// warehouse for suggestions.
    pub fn purchase_order_writes(
        &self,
        before: Option<&PurchaseOrder>,
        po: &PurchaseOrder,
    ) -> Result<Vec<Write>, StoreError> {
        let sort = format!("{}#{}", sortable(po.created_at), po.id);
        let mut keys = vec![
            (PK, purchase_order_pk(&po.id)),
            (SK, PURCHASE_ORDER_SK.into()),
            (ENTITY, "purchase_order".into()),
            (GSI2PK, PURCHASE_ORDERS_PARTITION.into()),
            (GSI2SK, sort.clone()),
        ];
        if po.status.is_open() {
            keys.push((GSI1PK, open_purchase_orders(&po.warehouse_id)));
            keys.push((GSI1SK, sort));
        }
        let mut writes = vec![Write(
            Guard::Version,
            self.table
                .versioned_put(encode_keyed(po, &keys)?, before.map(|b| b.version))?,
        )];
        writes.extend(event_writes(
            &self.table,
            &purchase_order_events(before, po),
        )?);
        Ok(writes)
    }

    /// Commits `writes` as one transaction.
    pub async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.table.transact(writes).await
    }

    /// The purchase order with `id`.
    pub async fn purchase_order(&self, id: &str) -> Result<PurchaseOrder, StoreError> {
        self.table
            .get_as(purchase_order_pk(id), PURCHASE_ORDER_SK)
            .await
    }

    /// One page of purchase orders, newest first.
    pub async fn list_purchase_orders(
        &self,
        filter: &PurchaseOrderFilter,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<PurchaseOrder>, Option<Cursor>), StoreError> {
        let listing =
            IndexListing::new(BY_GSI2, PURCHASE_ORDERS_PARTITION, "PO#", PURCHASE_ORDER_SK)
                .newest_first()
                .equal("supplier_id", filter.supplier_id.clone())
                .equal("status", filter.status.map(|s| s.as_str().to_owned()))
                .equal("warehouse_id", filter.warehouse_id.clone());
        let (items, next) = self.table.query_page(&listing, limit, after).await?;
        Ok((decode_all(items)?, next))
    }

    /// One page of the open purchase orders to `warehouse_id`, oldest first.
    pub async fn list_open_purchase_orders(
        &self,
        warehouse_id: &str,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<PurchaseOrder>, Option<Cursor>), StoreError> {
        let listing = IndexListing::new(
            BY_GSI1,
            open_purchase_orders(warehouse_id),
            "PO#",
            PURCHASE_ORDER_SK,
        );
        let (items, next) = self.table.query_page(&listing, limit, after).await?;
        Ok((decode_all(items)?, next))
    }
}
