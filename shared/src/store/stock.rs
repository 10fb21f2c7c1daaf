//! Warehouses, stock levels and the movement ledger. A level and the movements that change it
//! commit in one transaction, guarded by the level's version, so the ledger always sums to
//! `on_hand` and no level goes below what is reserved.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use time::OffsetDateTime;

use super::codec::{decode, decode_all, encode, keyed};
use super::keys::*;
use super::outbox::event_writes;
use super::{
    Cursor, Guard, IndexListing, Item, StoreError, Table, Uniqueness, Write, sortable, time_range,
};
use crate::domain::event::DomainEvent;
use crate::domain::stock::{Movement, Reservation, ReservationStatus, StockLevel, Warehouse};

/// Which levels to list.
#[derive(Debug, Clone)]
pub enum LevelListing {
    /// Every warehouse's level of one product.
    Product(String),
    /// Every product's level in one warehouse.
    Warehouse(String),
}

/// Which ledger entries to list.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    /// Only this product's.
    pub product_id: Option<String>,
    /// Only this warehouse's.
    pub warehouse_id: Option<String>,
    /// Not before.
    pub from: Option<OffsetDateTime>,
    /// Not after.
    pub to: Option<OffsetDateTime>,
}

/// Stock in the single table.
#[derive(Debug, Clone)]
pub struct StockStore {
    table: Table,
}

impl StockStore {
    /// Stock in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    fn warehouse_item(&self, w: &Warehouse) -> Result<Item, StoreError> {
        Ok(keyed(
            encode(w)?,
            &[
                (PK, warehouse_pk(&w.id)),
                (SK, WAREHOUSE_SK.into()),
                (ENTITY, "warehouse".into()),
                (GSI1PK, WAREHOUSES_PARTITION.into()),
                (GSI1SK, w.id.clone()),
            ],
        ))
    }

    /// Creates a warehouse, claiming its code.
    pub async fn create_warehouse(&self, w: &Warehouse) -> Result<(), StoreError> {
        let claim = Put::builder()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(warehouse_code_pk(&w.code)))
            .item(SK, AttributeValue::S("WAREHOUSE_CODE".into()))
            .item(ENTITY, AttributeValue::S("warehouse_code".into()))
            .item("warehouse_id", AttributeValue::S(w.id.clone()))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(StoreError::internal)?;
        self.table
            .transact(vec![
                Write(
                    Guard::Version,
                    self.table.versioned_put(self.warehouse_item(w)?, None)?,
                ),
                Write(
                    Guard::Unique(Uniqueness::WarehouseCode),
                    TransactWriteItem::builder().put(claim).build(),
                ),
            ])
            .await
    }

    /// Replaces `previous` by `next` if it is still current.
    pub async fn replace_warehouse(
        &self,
        previous: &Warehouse,
        next: &Warehouse,
    ) -> Result<(), StoreError> {
        let put = self
            .table
            .versioned_put(self.warehouse_item(next)?, Some(previous.version))?;
        self.table.transact(vec![Write(Guard::Version, put)]).await
    }

    /// The warehouse with `id`.
    pub async fn warehouse(&self, id: &str) -> Result<Warehouse, StoreError> {
        self.table.get_as(warehouse_pk(id), WAREHOUSE_SK).await
    }

    /// One page of warehouses in creation order.
    pub async fn list_warehouses(
        &self,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Warehouse>, Option<Cursor>), StoreError> {
        let listing = IndexListing::new(BY_GSI1, WAREHOUSES_PARTITION, "WAREHOUSE#", WAREHOUSE_SK);
        let (items, next) = self.table.query_page(&listing, limit, after).await?;
        Ok((decode_all(items)?, next))
    }

    /// The level of `product_id` in `warehouse_id`, empty if nothing ever moved there.
    pub async fn level(
        &self,
        product_id: &str,
        warehouse_id: &str,
    ) -> Result<StockLevel, StoreError> {
        match self
            .table
            .get_item(level_pk(product_id, warehouse_id), LEVEL_SK)
            .await?
        {
            Some(item) => decode(item),
            None => Ok(StockLevel::empty(
                product_id,
                warehouse_id,
                OffsetDateTime::now_utc(),
            )),
        }
    }

    /// One page of levels.
    pub async fn list_levels(
        &self,
        listing: &LevelListing,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<StockLevel>, Option<Cursor>), StoreError> {
        let (index, partition) = match listing {
            LevelListing::Product(p) => (BY_GSI2, levels_of_product(p)),
            LevelListing::Warehouse(w) => (BY_GSI1, levels_of_warehouse(w)),
        };
        let listing = IndexListing::new(index, partition, "LEVEL#", LEVEL_SK);
        let (items, next) = self.table.query_page(&listing, limit, after).await?;
        Ok((decode_all(items)?, next))
    }

    /// Commits new levels (each guarded by the version it was computed from), their ledger
    /// entries and `others` (a reservation, an audit entry, an idempotency completion) in one
    /// transaction.
    pub async fn commit(
        &self,
        levels: &[(u64, StockLevel)],
        movements: &[Movement],
        others: Vec<Write>,
    ) -> Result<(), StoreError> {
        let mut writes = Vec::new();
        for (read_version, level) in levels {
            let item = keyed(
                encode(level)?,
                &[
                    (PK, level_pk(&level.product_id, &level.warehouse_id)),
                    (SK, LEVEL_SK.into()),
                    (ENTITY, "stock_level".into()),
                    (GSI1PK, levels_of_warehouse(&level.warehouse_id)),
                    (GSI1SK, level.product_id.clone()),
                    (GSI2PK, levels_of_product(&level.product_id)),
                    (GSI2SK, level.warehouse_id.clone()),
                ],
            );
            let expected = (*read_version > 0).then_some(*read_version);
            writes.push(Write(
                Guard::Version,
                self.table.versioned_put(item, expected)?,
            ));
        }
        for m in movements {
            let sort = format!("{}#{}", sortable(m.at), m.id);
            let item = keyed(
                encode(m)?,
                &[
                    (PK, movement_pk(&m.id)),
                    (SK, MOVEMENT_SK.into()),
                    (ENTITY, "movement".into()),
                    (GSI1PK, ledger_of_warehouse(&m.warehouse_id)),
                    (GSI1SK, sort.clone()),
                    (GSI2PK, ledger_of_product(&m.product_id)),
                    (GSI2SK, sort),
                ],
            );
            writes.push(Write(Guard::None, self.table.versioned_put(item, None)?));
        }
        writes.extend(others);
        self.table.transact(writes).await
    }

    /// The writes announcing `events` (the lines a level change crossed), to commit with the
    /// change that made them, so each exists exactly once per crossing.
    pub fn announce(&self, events: &[DomainEvent]) -> Result<Vec<Write>, StoreError> {
        event_writes(&self.table, events)
    }

    /// The write storing `r`, created (`expected_version` `None`) or replacing the version read.
    /// Held reservations are indexed by expiry for the sweep; others leave the index.
    pub fn reservation_write(
        &self,
        r: &Reservation,
        expected_version: Option<u64>,
    ) -> Result<Write, StoreError> {
        let mut keys = vec![
            (PK, reservation_pk(&r.id)),
            (SK, RESERVATION_SK.into()),
            (ENTITY, "reservation".into()),
        ];
        if r.status == ReservationStatus::Held {
            keys.push((GSI1PK, HELD_RESERVATIONS.into()));
            keys.push((GSI1SK, format!("{}#{}", sortable(r.expires_at), r.id)));
        }
        Ok(Write(
            Guard::Version,
            self.table
                .versioned_put(keyed(encode(r)?, &keys), expected_version)?,
        ))
    }

    /// The reservation with `id`.
    pub async fn reservation(&self, id: &str) -> Result<Reservation, StoreError> {
        self.table.get_as(reservation_pk(id), RESERVATION_SK).await
    }

    /// One page of held reservations whose hold ended before `now`, oldest first.
    pub async fn expired_reservations(
        &self,
        now: OffsetDateTime,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Reservation>, Option<Cursor>), StoreError> {
        let listing = IndexListing::new(BY_GSI1, HELD_RESERVATIONS, "RESERVATION#", RESERVATION_SK)
            .between(Some(("0".into(), sortable(now))));
        let (items, next) = self.table.query_page(&listing, limit, after).await?;
        Ok((decode_all(items)?, next))
    }

    /// One page of the ledger, newest first. With both a product and a warehouse, the
    /// product's ledger is filtered to the warehouse.
    pub async fn list_movements(
        &self,
        filter: &LedgerFilter,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Movement>, Option<Cursor>), StoreError> {
        let (index, partition, warehouse) = match (&filter.product_id, &filter.warehouse_id) {
            (Some(p), w) => (BY_GSI2, ledger_of_product(p), w.clone()),
            (None, Some(w)) => (BY_GSI1, ledger_of_warehouse(w), None),
            (None, None) => {
                return Err(StoreError::corrupt(
                    "a ledger query needs a product or a warehouse",
                ));
            }
        };
        let sort_between = time_range(filter.from, filter.to);
        let listing = IndexListing::new(index, partition, "MOVEMENT#", MOVEMENT_SK)
            .newest_first()
            .between(sort_between)
            .equal("warehouse_id", warehouse);
        let (items, next) = self.table.query_page(&listing, limit, after).await?;
        Ok((decode_all(items)?, next))
    }
}
