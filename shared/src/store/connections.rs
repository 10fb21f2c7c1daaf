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
//! A listener carries what delivery checks without reading the connection: whose it is, the
//! token's role and generation, and when it ends. The connection item is versioned, so two
//! messages of one connection handled at once cannot undo each other's subscriptions.
//!
//! Access patterns: a connection by id (`GetItem`); the connections an event goes to
//! (`Query PK=LISTENERS#...` per audience).

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use time::OffsetDateTime;

use super::codec::{decode, encode_keyed};
use super::keys::*;
use super::{Guard, StoreError, Table, Write, number_of};
use crate::domain::Role;
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
    /// The account whose token opened it.
    pub user_id: String,
    /// The token's role.
    pub role: Role,
    /// The token's generation.
    pub generation: u64,
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
            .item("user_id", AttributeValue::S(connection.user_id.clone()))
            .item("role", AttributeValue::S(connection.role.as_str().into()))
            .item(
                "generation",
                AttributeValue::N(connection.generation.to_string()),
            )
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
    /// the version read (`create` false; [`StoreError::VersionMismatch`] when it changed,
    /// [`StoreError::Gone`] when it closed).
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
            .set_item(Some(item));
        let put = if create {
            put.condition_expression("attribute_not_exists(PK)")
        } else {
            self.same_version(put, connection.version.saturating_sub(1))
        };
        Ok(Write(
            Guard::Version,
            TransactWriteItem::builder()
                .put(put.build().map_err(StoreError::internal)?)
                .build(),
        ))
    }

    /// `put` on condition that the connection is still at `version`.
    fn same_version(
        &self,
        put: aws_sdk_dynamodb::types::builders::PutBuilder,
        version: u64,
    ) -> aws_sdk_dynamodb::types::builders::PutBuilder {
        put.condition_expression("#version = :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":version", AttributeValue::N(version.to_string()))
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

    /// Makes `connection` (as read) hear of exactly `topics`;
    /// [`StoreError::VersionMismatch`] when it changed since it was read (read it again),
    /// which includes its closing.
    pub async fn set_topics(
        &self,
        connection: &Connection,
        topics: BTreeSet<Topic>,
    ) -> Result<Connection, StoreError> {
        let mut next = connection.clone();
        next.topics = topics;
        next.version += 1;
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
        // A subscription committed between the read and the delete would leave a listener
        // behind: the delete is guarded by the version read, and read again when it lost.
        for _ in 0..3 {
            match self.close_once(id).await {
                Err(StoreError::VersionMismatch) => continue,
                done => return done,
            }
        }
        Err(StoreError::Unavailable(
            "the connection kept changing while it was closed".into(),
        ))
    }

    async fn close_once(&self, id: &str) -> Result<(), StoreError> {
        let Some(connection) = self.get(id).await? else {
            return Ok(());
        };
        let delete = Delete::builder()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(format!("CONNECTION#{id}")))
            .key(SK, AttributeValue::S("CONNECTION".into()))
            .condition_expression("#version = :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(
                ":version",
                AttributeValue::N(connection.version.to_string()),
            )
            .build()
            .map_err(StoreError::internal)?;
        let mut writes = vec![
            Write(
                Guard::Version,
                TransactWriteItem::builder().delete(delete).build(),
            ),
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

    /// Removes `connection`'s listener for `audience` (one left behind by a connection that
    /// is gone).
    pub async fn drop_listener(
        &self,
        audience: &Audience,
        connection: &str,
    ) -> Result<(), StoreError> {
        self.table
            .transact(vec![
                self.delete(listeners_pk(audience), connection.to_owned())?,
            ])
            .await
    }

    /// The connections hearing of `audience`'s events (including some that ended and were
    /// not yet removed: compare [`Listener::ends_at`] with the time).
    pub async fn listeners(&self, audience: &Audience) -> Result<Vec<Listener>, StoreError> {
        let mut pages = self
            .table
            .client()
            .query()
            .table_name(self.table.name())
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", AttributeValue::S(listeners_pk(audience)))
            .into_paginator()
            .items()
            .send();
        let mut items = Vec::new();
        while let Some(item) = pages.try_next().await.map_err(StoreError::from_lookup)? {
            if items.len() == MAX_LISTENERS {
                tracing::warn!(
                    listeners = items.len(),
                    "an audience has more listeners than one event is sent to; the rest miss it"
                );
                break;
            }
            items.push(item);
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
                let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
                let user_id = text("user_id")
                    .ok_or_else(|| StoreError::corrupt("a listener without its account"))?;
                let role = text("role")
                    .and_then(|r| serde_json::from_value(serde_json::Value::String(r)).ok())
                    .ok_or_else(|| StoreError::corrupt("a listener without its role"))?;
                let generation = number_of(&item, "generation")
                    .and_then(|g| u64::try_from(g).ok())
                    .ok_or_else(|| StoreError::corrupt("a listener without its generation"))?;
                Ok(Listener {
                    connection,
                    user_id,
                    role,
                    generation,
                    ends_at,
                })
            })
            .collect()
    }
}
