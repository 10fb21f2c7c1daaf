//! Open WebSocket connections and who listens through them. A connection is written when its
//! `$connect` is accepted, with a listener item for its account; subscribing adds one per
//! topic; closing removes them all. Every item expires (TTL) an hour after the connection
//! stops hearing anything, so one whose `$disconnect` never came does not linger, and readers
//! skip what has ended before TTL gets to it.
//!
//! | item       | PK                                                   | SK             |
//! |------------|------------------------------------------------------|----------------|
//! | connection | `CONNECTION#<id>`                                    | `CONNECTION`   |
//! | listener   | `LISTENERS#ACCOUNT#<user id>` or `LISTENERS#TOPIC#<topic>` | `<connection id>` |
//!
//! Access patterns: a connection by id (`GetItem`); the connections an event goes to
//! (`Query PK=LISTENERS#...` per audience).

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use time::OffsetDateTime;

use super::codec::{decode, encode_keyed};
use super::keys::*;
use super::{Guard, StoreError, Table, Write, number_of};
use crate::domain::notification::{Audience, Connection, Topic};

/// How long after a connection ends its items are kept before TTL removes them.
const KEPT_AFTER_END: time::Duration = time::Duration::hours(1);

/// The most listeners one audience is read for (per event).
const MAX_LISTENERS: usize = 10_000;

/// A connection that hears of an audience's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// API Gateway's connection id.
    pub connection: String,
    /// When the connection stops hearing anything.
    pub ends_at: OffsetDateTime,
}

/// Connections in the single table.
#[derive(Debug, Clone)]
pub struct ConnectionStore {
    table: Table,
}

fn listeners_pk(audience: &Audience) -> String {
    match audience {
        Audience::Account(id) => format!("LISTENERS#ACCOUNT#{id}"),
        Audience::Topic(topic) => format!("LISTENERS#TOPIC#{}", topic.as_str()),
    }
}

impl ConnectionStore {
    /// Connections in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    fn expiry(connection: &Connection) -> AttributeValue {
        AttributeValue::N(
            (connection.ends_at + KEPT_AFTER_END)
                .unix_timestamp()
                .to_string(),
        )
    }

    fn listener_put(
        &self,
        connection: &Connection,
        audience: &Audience,
    ) -> Result<Write, StoreError> {
        let put = Put::builder()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(listeners_pk(audience)))
            .item(SK, AttributeValue::S(connection.id.clone()))
            .item(ENTITY, AttributeValue::S("listener".into()))
            .item(
                "ends_at",
                AttributeValue::N(connection.ends_at.unix_timestamp().to_string()),
            )
            .item(EXPIRES_AT, Self::expiry(connection))
            .build()
            .map_err(StoreError::internal)?;
        Ok(Write(
            Guard::None,
            TransactWriteItem::builder().put(put).build(),
        ))
    }

    fn delete(&self, pk: String, sk: String) -> Result<Write, StoreError> {
        let delete = Delete::builder()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk))
            .build()
            .map_err(StoreError::internal)?;
        Ok(Write(
            Guard::None,
            TransactWriteItem::builder().delete(delete).build(),
        ))
    }

    /// The write of `connection` itself: created (failing if the id is taken) or replacing
    /// one still there.
    fn connection_put(&self, connection: &Connection, create: bool) -> Result<Write, StoreError> {
        let mut item = encode_keyed(
            connection,
            &[
                (PK, format!("CONNECTION#{}", connection.id)),
                (SK, "CONNECTION".into()),
                (ENTITY, "connection".into()),
            ],
        )?;
        item.insert(EXPIRES_AT.into(), Self::expiry(connection));
        let put = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(item))
            .condition_expression(if create {
                "attribute_not_exists(PK)"
            } else {
                "attribute_exists(PK)"
            })
            .build()
            .map_err(StoreError::internal)?;
        Ok(Write(
            if create { Guard::Version } else { Guard::Alive },
            TransactWriteItem::builder().put(put).build(),
        ))
    }

    /// Stores a newly accepted connection; its account hears of its own business at once.
    pub async fn open(&self, connection: &Connection) -> Result<(), StoreError> {
        let account = Audience::Account(connection.user_id.clone());
        self.table
            .transact(vec![
                self.connection_put(connection, true)?,
                self.listener_put(connection, &account)?,
            ])
            .await
    }

    /// The connection with API Gateway's id `id`, while it is open.
    pub async fn get(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        let Some(item) = self
            .table
            .get_item(format!("CONNECTION#{id}"), "CONNECTION")
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(decode(item)?))
    }

    /// Makes `connection` hear of exactly `topics`; [`StoreError::Gone`] when it closed
    /// meanwhile.
    pub async fn set_topics(
        &self,
        connection: &Connection,
        topics: BTreeSet<Topic>,
    ) -> Result<Connection, StoreError> {
        let mut next = connection.clone();
        next.topics = topics;
        let mut writes = vec![self.connection_put(&next, false)?];
        for added in next.topics.difference(&connection.topics) {
            writes.push(self.listener_put(&next, &Audience::Topic(*added))?);
        }
        for removed in connection.topics.difference(&next.topics) {
            writes.push(self.delete(
                listeners_pk(&Audience::Topic(*removed)),
                connection.id.clone(),
            )?);
        }
        self.table.transact(writes).await?;
        Ok(next)
    }

    /// Forgets the connection `id` and everything it listened to (nothing when it is gone).
    pub async fn close(&self, id: &str) -> Result<(), StoreError> {
        let Some(connection) = self.get(id).await? else {
            return Ok(());
        };
        let mut writes = vec![
            self.delete(format!("CONNECTION#{id}"), "CONNECTION".into())?,
            self.delete(
                listeners_pk(&Audience::Account(connection.user_id.clone())),
                id.to_owned(),
            )?,
        ];
        for topic in &connection.topics {
            writes.push(self.delete(listeners_pk(&Audience::Topic(*topic)), id.to_owned())?);
        }
        self.table.transact(writes).await
    }

    /// The connections hearing of `audience`'s events (including some that ended and were
    /// not yet removed: compare [`Listener::ends_at`] with the time).
    pub async fn listeners(&self, audience: &Audience) -> Result<Vec<Listener>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .table
                .client()
                .query()
                .table_name(self.table.name())
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", AttributeValue::S(listeners_pk(audience)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_lookup)?;
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() || items.len() >= MAX_LISTENERS {
                break;
            }
        }
        items
            .into_iter()
            .map(|item| {
                let connection = item
                    .get(SK)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .ok_or_else(|| StoreError::corrupt("a listener without its connection"))?;
                let ends_at = number_of(&item, "ends_at")
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
                    .ok_or_else(|| StoreError::corrupt("a listener without its end"))?;
                Ok(Listener {
                    connection,
                    ends_at,
                })
            })
            .collect()
    }
}
