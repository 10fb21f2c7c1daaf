//! Shipments and the tracking numbers that find them. A shipment changes only by writes
//! guarded by its version, each with the events it announces; a tracking number is claimed
//! once per carrier when the parcel ships, so a carrier's update names exactly one shipment.
//!
//! | item            | PK                                | SK          | GSI1                                      | GSI2 |
//! |-----------------|-----------------------------------|-------------|-------------------------------------------|------|
//! | shipment        | `SHIPMENT#<id>`                   | `SHIPMENT`  | `SHIPMENTS#ORDER#<order>` / `<time>#<id>` | `SHIPMENTS#OPEN#<warehouse>` / `<time>#<id>` (until delivered or returned) |
//! | tracking number | `TRACKING#<carrier>#<number>`     | `TRACKING`  |                                           |      |

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::codec::{decode_all, encode_keyed};
use super::keys::*;
use super::outbox::event_writes;
use super::{Cursor, Guard, IndexListing, StoreError, Table, Uniqueness, Write, sortable};
use crate::domain::event::shipment_events;
use crate::domain::shipment::Shipment;

/// Most shipments one order has (one per warehouse of its lines).
const MAX_PER_ORDER: i32 = 20;

/// Shipments in the single table.
#[derive(Debug, Clone)]
pub struct ShipmentStore {
    table: Table,
}

impl ShipmentStore {
    /// Shipments in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The writes storing `next`, created (`before` `None`, failing if it exists) or
    /// replacing the version read, with the events the change announces; shipping claims the
    /// carrier's tracking number.
    pub fn shipment_writes(
        &self,
        before: Option<&Shipment>,
        next: &Shipment,
    ) -> Result<Vec<Write>, StoreError> {
        let sort = format!("{}#{}", sortable(next.created_at), next.id);
        let mut keys = vec![
            (PK, shipment_pk(&next.id)),
            (SK, SHIPMENT_SK.into()),
            (ENTITY, "shipment".into()),
            (GSI1PK, shipments_of_order(&next.order_id)),
            (GSI1SK, sort.clone()),
        ];
        if !next.status.is_final() {
            keys.push((GSI2PK, open_shipments(&next.warehouse_id)));
            keys.push((GSI2SK, sort));
        }
        let mut writes = vec![Write(
            Guard::Version,
            self.table
                .versioned_put(encode_keyed(next, &keys)?, before.map(|b| b.version))?,
        )];
        let claimed = before.and_then(|b| b.tracking_number.as_ref());
        if let (Some(carrier), Some(number)) = (&next.carrier, &next.tracking_number)
            && claimed != Some(number)
        {
            let claim = Put::builder()
                .table_name(self.table.name())
                .item(PK, AttributeValue::S(tracking_pk(carrier, number)))
                .item(SK, AttributeValue::S(TRACKING_SK.into()))
                .item(ENTITY, AttributeValue::S("tracking_number".into()))
                .item("shipment_id", AttributeValue::S(next.id.clone()))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map_err(StoreError::internal)?;
            writes.push(Write(
                Guard::Unique(Uniqueness::TrackingNumber),
                TransactWriteItem::builder().put(claim).build(),
            ));
        }
        writes.extend(event_writes(&self.table, &shipment_events(before, next))?);
        Ok(writes)
    }

    /// Commits `writes` as one transaction.
    pub async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.table.transact(writes).await
    }

    /// The shipment with `id`.
    pub async fn shipment(&self, id: &str) -> Result<Shipment, StoreError> {
        self.table.get_as(shipment_pk(id), SHIPMENT_SK).await
    }

    /// The shipment `carrier` tracks as `number`.
    pub async fn by_tracking(&self, carrier: &str, number: &str) -> Result<Shipment, StoreError> {
        let claim = self
            .table
            .get_item(tracking_pk(carrier, number), TRACKING_SK)
            .await?
            .ok_or(StoreError::NotFound)?;
        let id = claim
            .get("shipment_id")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| StoreError::corrupt("a tracking number without its shipment"))?;
        self.shipment(id).await
    }

    /// Every shipment of `order_id`, oldest first.
    pub async fn of_order(&self, order_id: &str) -> Result<Vec<Shipment>, StoreError> {
        let listing = IndexListing::new(
            BY_GSI1,
            shipments_of_order(order_id),
            "SHIPMENT#",
            SHIPMENT_SK,
        );
        let limit = u32::try_from(MAX_PER_ORDER).unwrap_or(20);
        let (items, _) = self.table.query_page(&listing, limit, None).await?;
        decode_all(items)
    }

    /// One page of the shipments leaving `warehouse_id` that are not delivered or returned,
    /// oldest first (the packing queue).
    pub async fn open_at(
        &self,
        warehouse_id: &str,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Shipment>, Option<Cursor>), StoreError> {
        let listing = IndexListing::new(
            BY_GSI2,
            open_shipments(warehouse_id),
            "SHIPMENT#",
            SHIPMENT_SK,
        );
        let (items, next) = self.table.query_page(&listing, limit, after).await?;
        Ok((decode_all(items)?, next))
    }
}
