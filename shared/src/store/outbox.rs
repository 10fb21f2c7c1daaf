//! The outbox: domain events put in the same transaction as the change they announce, so an
//! event exists exactly when its change does. The table's stream carries them to the
//! forwarder ([`crate::outbox`]); they are kept [`OUTBOX_RETENTION_DAYS`] days, indexed by the
//! hour they were made (spread over [`SHARDS`] partitions, so a busy hour is not one hot key)
//! so that an operator can publish a window of them again.
//!
//!
//! The live-updates feeds index them too, so a reconnecting WebSocket client gets what it
//! missed with one query per audience: by the customer whose business it is (GSI2) and by
//! topic (GSI3, over [`SHARDS`] partitions per topic for the same reason).
//!
//! | item  | PK           | SK      | GSI1PK / GSI1SK                                          | GSI2PK / GSI2SK                | GSI3PK / GSI3SK                       |
//! |-------|--------------|---------|----------------------------------------------------------|--------------------------------|---------------------------------------|
//! | event | `EVENT#<id>` | `EVENT` | `EVENTS#<yyyy-mm-ddThh>#<shard>` / `<sortable time>#<id>` | `FEED#ACCOUNT#<customer>` / `<id>` | `FEED#TOPIC#<topic>#<shard>` / `<id>` |

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use time::OffsetDateTime;

use super::keys::*;
use super::{Guard, StoreError, Table, Write, sortable};
use crate::domain::event::DomainEvent;
use crate::domain::notification::{Audience, Published};

/// How long an outbox event stays in the table after it was made.
pub const OUTBOX_RETENTION_DAYS: i64 = 7;

/// The writes putting `events` in the outbox (no write for no events).
pub(crate) fn event_writes(
    table: &Table,
    events: &[DomainEvent],
) -> Result<Vec<Write>, StoreError> {
    events.iter().map(|e| event_write(table, e)).collect()
}

/// How many GSI1 partitions one hour's events are spread over.
pub(crate) const SHARDS: u8 = 8;

/// The GSI1 partition of the events made in the hour of `at` whose shard is `shard`.
fn hour_partition(at: OffsetDateTime, shard: u8) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "EVENTS#{:04}-{:02}-{:02}T{:02}#{shard}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour()
    )
}

/// An event's shard: from the last (random) hex digit of its id.
fn shard_of(id: &str) -> u8 {
    id.chars()
        .last()
        .and_then(|c| c.to_digit(16))
        .and_then(|d| u8::try_from(d).ok())
        .map_or(0, |d| d % SHARDS)
}

/// The start of the hour of `at`, in UTC.
pub fn hour_of(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_time(time::Time::MIDNIGHT) + time::Duration::hours(i64::from(at.hour()))
}

/// The feed index holding `audience`'s events, and its partition for those of shard `shard`.
fn feed_partition(audience: &Audience, shard: u8) -> (Gsi, String) {
    match audience {
        Audience::Account(id) => (BY_GSI2, format!("FEED#ACCOUNT#{id}")),
        Audience::Topic(t) => (BY_GSI3, format!("FEED#TOPIC#{}#{shard}", t.as_str())),
    }
}

fn event_write(table: &Table, event: &DomainEvent) -> Result<Write, StoreError> {
    let json = serde_json::to_value(event).map_err(StoreError::internal)?;
    let detail = json.to_string();
    let published: Published = serde_json::from_value(json).map_err(StoreError::internal)?;
    let expires = event.occurred_at + time::Duration::days(OUTBOX_RETENTION_DAYS);
    let at = sortable(event.occurred_at);
    let put = Put::builder()
        .table_name(table.name())
        .item(PK, AttributeValue::S(event_pk(&event.id)))
        .item(SK, AttributeValue::S(EVENT_SK.into()))
        .item(ENTITY, AttributeValue::S("outbox_event".into()))
        .item(
            GSI1PK,
            AttributeValue::S(hour_partition(event.occurred_at, shard_of(&event.id))),
        )
        .item(GSI1SK, AttributeValue::S(format!("{at}#{}", event.id)))
        .item("type", AttributeValue::S(event.kind().into()))
        .item("detail", AttributeValue::S(detail))
        .item("at", AttributeValue::S(at))
        .item(
            EXPIRES_AT,
            AttributeValue::N(expires.unix_timestamp().to_string()),
        )
        .condition_expression("attribute_not_exists(PK)");
    let shard = shard_of(&event.id);
    let put = published
        .audiences()
        .iter()
        .fold(put, |put, audience| {
            let (gsi, partition) = feed_partition(audience, shard);
            put.item(gsi.pk, AttributeValue::S(partition))
                .item(gsi.sk, AttributeValue::S(event.id.clone()))
        })
        .build()
        .map_err(StoreError::internal)?;
    Ok(Write(
        Guard::None,
        TransactWriteItem::builder().put(put).build(),
    ))
}

/// An event as the outbox keeps it: its type and its JSON, as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The event's type, e.g. `order.paid` (EventBridge's `detail-type`).
    pub kind: String,
    /// The event's JSON (EventBridge's `detail`).
    pub detail: String,
}

/// Reads the outbox.
#[derive(Debug, Clone)]
pub struct Outbox {
    table: Table,
}

impl Outbox {
    /// The outbox in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Every event still kept that was made in the hour starting at `hour`, from `from` to
    /// `to` (inclusive), oldest first.
    pub async fn made_in_hour(
        &self,
        hour: OffsetDateTime,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let (low, high) = (
            format!("{}#", sortable(from)),
            format!("{}#~", sortable(to)),
        );
        let mut events = Vec::new();
        for shard in 0..SHARDS {
            let pages = self
                .table
                .client()
                .query()
                .table_name(self.table.name())
                .index_name(GSI1)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#pk", GSI1PK)
                .expression_attribute_names("#sk", GSI1SK)
                .expression_attribute_values(":pk", AttributeValue::S(hour_partition(hour, shard)))
                .expression_attribute_values(":low", AttributeValue::S(low.clone()))
                .expression_attribute_values(":high", AttributeValue::S(high.clone()))
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await;
            for item in pages {
                let item = item.map_err(StoreError::from_sdk)?;
                events.push((text_of(&item, GSI1SK)?, stored(&item)?));
            }
        }
        events.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(events.into_iter().map(|(_, e)| e).collect())
    }

    /// `audience`'s events with ids after `after`, oldest first, at most `limit` of them.
    pub async fn feed(
        &self,
        audience: &Audience,
        after: &str,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let shards = match audience {
            Audience::Account(_) => 1,
            Audience::Topic(_) => SHARDS,
        };
        let shards = futures::future::try_join_all((0..shards).map(|shard| {
            let (gsi, partition) = feed_partition(audience, shard);
            self.feed_shard(gsi, partition, after, limit)
        }))
        .await?;
        let mut events: Vec<(String, StoredEvent)> = shards.into_iter().flatten().collect();
        events.sort_by(|a, b| a.0.cmp(&b.0));
        events.truncate(limit);
        Ok(events.into_iter().map(|(_, e)| e).collect())
    }

    /// The first `limit` events after `after` of one feed partition, with their ids.
    async fn feed_shard(
        &self,
        gsi: Gsi,
        partition: String,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, StoredEvent)>, StoreError> {
        let mut pages = self
            .table
            .client()
            .query()
            .table_name(self.table.name())
            .index_name(gsi.name)
            .key_condition_expression("#pk = :pk AND #sk > :after")
            .expression_attribute_names("#pk", gsi.pk)
            .expression_attribute_names("#sk", gsi.sk)
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .expression_attribute_values(":after", AttributeValue::S(after.to_owned()))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .into_paginator()
            .items()
            .send();
        let mut events = Vec::new();
        while events.len() < limit
            && let Some(item) = pages.try_next().await.map_err(StoreError::from_lookup)?
        {
            events.push((text_of(&item, gsi.sk)?, stored(&item)?));
        }
        Ok(events)
    }
}

/// The text attribute `name` of an outbox item.
fn text_of(
    item: &std::collections::HashMap<String, AttributeValue>,
    name: &str,
) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Ok(s.clone()),
        _ => Err(StoreError::corrupt(format!(
            "an outbox event without {name}"
        ))),
    }
}

/// An outbox item as the event it keeps.
fn stored(
    item: &std::collections::HashMap<String, AttributeValue>,
) -> Result<StoredEvent, StoreError> {
    Ok(StoredEvent {
        kind: text_of(item, "type")?,
        detail: text_of(item, "detail")?,
    })
}
