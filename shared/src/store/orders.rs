//! Orders, the link from a Razorpay order to ours, and the record of applied webhook
//! deliveries. An order changes only by a transaction guarded by its version; a webhook
//! delivery's record is written in the same transaction as the change it makes.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::codec;
use super::keys::*;
use super::outbox::event_writes;
use super::{Cursor, Guard, IndexListing, Item, StoreError, Table, Uniqueness, Write, sortable};
use crate::domain::event::order_events;
use crate::domain::order::{Order, OrderStatus};

/// How long a delivery record is kept (Razorpay retries for 24 hours).
const DELIVERY_RECORD_DAYS: i64 = 30;

/// Which orders to list.
#[derive(Debug, Clone)]
pub enum OrderListing {
    /// One customer's.
    Customer(String),
    /// Everyone's.
    All,
}

/// Orders in the single table.
#[derive(Debug, Clone)]
pub struct OrderStore {
    table: Table,
}

fn put(table: &Table, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table.name())
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .map_err(StoreError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

impl OrderStore {
    /// Orders in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The order with `id`.
    pub async fn order(&self, id: &str) -> Result<Order, StoreError> {
        self.table.get_as(order_pk(id), ORDER_SK).await
    }

    /// The writes storing `order`, created (`before` `None`) or replacing the version read
    /// (`before`), with the events the change announces ([`order_events`]); the order's is
    /// guarded by [`Guard::Version`].
    pub fn order_writes(
        &self,
        before: Option<&Order>,
        order: &Order,
    ) -> Result<Vec<Write>, StoreError> {
        let mut item: Item = codec::encode(order)?;
        let sort = format!("{}#{}", sortable(order.created_at), order.id);
        for (name, value) in [
            (PK, order_pk(&order.id)),
            (SK, ORDER_SK.into()),
            (ENTITY, "order".into()),
            (GSI1PK, orders_of_customer(&order.customer_id)),
            (GSI1SK, sort.clone()),
            (GSI2PK, ORDERS_PARTITION.into()),
            (GSI2SK, sort),
        ] {
            item.insert(name.into(), AttributeValue::S(value));
        }
        let mut writes = vec![Write(
            Guard::Version,
            self.table.versioned_put(item, before.map(|b| b.version))?,
        )];
        writes.extend(event_writes(&self.table, &order_events(before, order))?);
        Ok(writes)
    }

    /// The write linking a Razorpay order to `order`, made once with the order.
    pub fn link_write(&self, order: &Order) -> Result<Write, StoreError> {
        let item = Item::from([
            (
                PK.into(),
                AttributeValue::S(razorpay_order_pk(&order.razorpay_order_id)),
            ),
            (SK.into(), AttributeValue::S(RAZORPAY_ORDER_SK.into())),
            (ENTITY.into(), AttributeValue::S("razorpay_order".into())),
            ("order_id".into(), AttributeValue::S(order.id.clone())),
        ]);
        Ok(Write(Guard::Version, put(&self.table, item)?))
    }

    /// Our order id for a Razorpay order, if it is ours.
    pub async fn order_id_for(
        &self,
        razorpay_order_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let item = self
            .table
            .get_item(razorpay_order_pk(razorpay_order_id), RAZORPAY_ORDER_SK)
            .await?;
        Ok(item
            .and_then(|i| i.get("order_id").cloned())
            .and_then(|v| v.as_s().ok().cloned()))
    }

    /// The write recording that delivery `event_id` was applied; fails with
    /// [`StoreError::Duplicate`] if it already was.
    pub fn delivery_write(
        &self,
        provider: &str,
        event_id: &str,
        event: &str,
        order_id: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Write, StoreError> {
        let mut item = Item::from([
            (
                PK.into(),
                AttributeValue::S(webhook_event_pk(provider, event_id)),
            ),
            (SK.into(), AttributeValue::S(WEBHOOK_EVENT_SK.into())),
            (ENTITY.into(), AttributeValue::S("webhook_delivery".into())),
            ("event".into(), AttributeValue::S(event.to_owned())),
            ("received_at".into(), AttributeValue::S(sortable(now))),
            (
                EXPIRES_AT.into(),
                AttributeValue::N(
                    (now + time::Duration::days(DELIVERY_RECORD_DAYS))
                        .unix_timestamp()
                        .to_string(),
                ),
            ),
        ]);
        if let Some(id) = order_id {
            item.insert("order_id".into(), AttributeValue::S(id.to_owned()));
        }
        Ok(Write(
            Guard::Unique(Uniqueness::WebhookDelivery),
            put(&self.table, item)?,
        ))
    }

    /// Whether delivery `event_id` was already applied.
    pub async fn delivered(&self, provider: &str, event_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .table
            .get_item(webhook_event_pk(provider, event_id), WEBHOOK_EVENT_SK)
            .await?
            .is_some())
    }

    /// The write counting one more open (unpaid) order of `customer`; with `cap`, the
    /// transaction fails with [`StoreError::LimitReached`] when the customer already has that
    /// many. Made with the order.
    pub fn open_order_claim(&self, customer: &str, cap: Option<u32>) -> Result<Write, StoreError> {
        let mut update = self.open_orders_update(customer, 1);
        let guard = match cap {
            Some(cap) => {
                update = update
                    .condition_expression("attribute_not_exists(#open) OR #open < :cap")
                    .expression_attribute_values(":cap", AttributeValue::N(cap.to_string()));
                Guard::Limit
            }
            None => Guard::None,
        };
        let update = update.build().map_err(StoreError::internal)?;
        Ok(Write(
            guard,
            TransactWriteItem::builder().update(update).build(),
        ))
    }

    /// The write counting one open order of `customer` fewer: made with the change that
    /// pays, cancels or expires it.
    pub fn open_order_release(&self, customer: &str) -> Result<Write, StoreError> {
        let update = self
            .open_orders_update(customer, -1)
            .build()
            .map_err(StoreError::internal)?;
        Ok(Write(
            Guard::None,
            TransactWriteItem::builder().update(update).build(),
        ))
    }

    fn open_orders_update(
        &self,
        customer: &str,
        delta: i64,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(user_pk(customer)))
            .key(SK, AttributeValue::S(OPEN_ORDERS_SK.into()))
            .update_expression("ADD #open :delta")
            .expression_attribute_names("#open", "open")
            .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
    }

    /// How many open (unpaid) orders `customer` has.
    pub async fn open_orders(&self, customer: &str) -> Result<i64, StoreError> {
        let item = self
            .table
            .get_item(user_pk(customer), OPEN_ORDERS_SK)
            .await?;
        Ok(item
            .and_then(|i| i.get("open").cloned())
            .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
            .unwrap_or(0))
    }

    /// Commits `writes` as one transaction.
    pub async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.table.transact(writes).await
    }

    /// One page of orders, newest first, optionally only those in `status`.
    pub async fn list(
        &self,
        listing: &OrderListing,
        status: Option<OrderStatus>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Order>, Option<Cursor>), StoreError> {
        let (index, partition) = match listing {
            OrderListing::Customer(c) => (BY_GSI1, orders_of_customer(c)),
            OrderListing::All => (BY_GSI2, ORDERS_PARTITION.to_owned()),
        };
        let listing = IndexListing::new(index, partition, "ORDER#", ORDER_SK)
            .newest_first()
            .equal("status", status.map(|s| s.as_str().to_owned()));
        let (items, next) = self.table.query_page(&listing, limit, after).await?;
        let orders = items
            .into_iter()
            .map(codec::decode)
            .collect::<Result<_, _>>()?;
        Ok((orders, next))
    }
}
