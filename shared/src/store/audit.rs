//! The append-only audit log: written with `attribute_not_exists`, never updated or deleted;
//! only entries about failed sign-ins expire (DynamoDB TTL, 90 days).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::codec;
use super::keys::*;
use super::{
    Cursor, Guard, IndexListing, Item, StoreError, Table, Write, sortable, time_range,
    unless_refused,
};

/// Entries about failed sign-ins keep an address (or an attempt) that led nowhere: DynamoDB's
/// TTL deletes them after [`SHORT_LIVED_FOR`]; every other entry is kept.
const SHORT_LIVED: [&str; 3] = [
    "auth.login_failed",
    "auth.lockout",
    "auth.password_check_failed",
];
/// How long [`SHORT_LIVED`] entries are kept: 90 days.
const SHORT_LIVED_FOR: time::Duration = time::Duration::days(90);

/// One security- or stock-relevant event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The entry's id (UUIDv7).
    pub id: String,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who did it: an account id, or `anonymous`.
    pub actor: String,
    /// What happened, e.g. `auth.login_failed`.
    pub action: String,
    /// What it was done to (an account id, a product id, ...).
    pub target: Option<String>,
    /// Further facts; never secrets, tokens or passwords.
    pub details: BTreeMap<String, String>,
    /// The request that did it.
    pub request_id: Option<String>,
    /// The client address.
    pub source_ip: Option<String>,
}

impl AuditEntry {
    /// A new entry for `action` by `actor`, now.
    pub fn new(actor: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            at: OffsetDateTime::now_utc(),
            actor: actor.into(),
            action: action.into(),
            target: None,
            details: BTreeMap::new(),
            request_id: None,
            source_ip: None,
        }
    }

    /// Names what the action was done to.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Adds a fact.
    pub fn detail(mut self, key: &str, value: impl Into<String>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Records the request it came from.
    pub fn from_request(mut self, request_id: Option<&str>, source_ip: Option<&str>) -> Self {
        self.request_id = request_id.map(str::to_owned);
        self.source_ip = source_ip.map(str::to_owned);
        self
    }

    fn sort_key(&self) -> String {
        format!("{}#{}", sortable(self.at), self.id)
    }
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this actor's entries.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Not before this time.
    pub from: Option<OffsetDateTime>,
    /// Not after this time.
    pub to: Option<OffsetDateTime>,
}

/// The audit log in the single table.
#[derive(Debug, Clone)]
pub struct AuditLog {
    table: Table,
}

impl AuditLog {
    /// The log in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Appends `entry` on its own.
    pub async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.table.transact(vec![self.put(entry)?]).await
    }

    /// The write that appends `entry`, to commit it with the change it records.
    pub fn put(&self, entry: &AuditEntry) -> Result<Write, StoreError> {
        let put = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(Self::item(entry)?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(StoreError::internal)?;
        Ok(Write(
            Guard::None,
            TransactWriteItem::builder().put(put).build(),
        ))
    }

    /// Every entry by or about `subject` (its actor or its target), oldest first; at most
    /// `cap`, and whether there were more.
    pub async fn about(
        &self,
        subject: &str,
        cap: usize,
    ) -> Result<(Vec<AuditEntry>, bool), StoreError> {
        let mut entries: Vec<AuditEntry> = Vec::new();
        let mut more = false;
        for (index, partition) in [
            (BY_GSI2, audit_actor_partition(subject)),
            (BY_GSI3, audit_target_partition(subject)),
        ] {
            let listing = IndexListing::new(index, partition, "AUDIT#", AUDIT_SK);
            let (items, cut) = super::all_pages(cap, |after| {
                let listing = &listing;
                async move { self.table.query_page(listing, 100, after.as_ref()).await }
            })
            .await?;
            more |= cut;
            for item in items {
                let entry: AuditEntry = codec::decode(item)?;
                if !entries.iter().any(|e| e.id == entry.id) {
                    entries.push(entry);
                }
            }
        }
        entries.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok((entries, more))
    }

    /// Rewrites `entry` in place (an erasure: the person it named replaced by a pseudonym); an
    /// entry gone meanwhile (its TTL ran out) stays gone.
    pub async fn rewrite(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let written = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(Self::item(entry)?))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        unless_refused(written).map(|_| ())
    }

    fn item(entry: &AuditEntry) -> Result<Item, StoreError> {
        let mut item: Item = codec::encode(entry)?;
        let s = AttributeValue::S;
        let sort = entry.sort_key();
        item.insert(PK.into(), s(audit_pk(&entry.id)));
        item.insert(SK.into(), s(AUDIT_SK.into()));
        item.insert(ENTITY.into(), s("audit".into()));
        item.insert(GSI1PK.into(), s(AUDIT_PARTITION.into()));
        item.insert(GSI1SK.into(), s(sort.clone()));
        item.insert(GSI2PK.into(), s(audit_actor_partition(&entry.actor)));
        item.insert(GSI2SK.into(), s(sort.clone()));
        if let Some(target) = &entry.target {
            item.insert(GSI3PK.into(), s(audit_target_partition(target)));
            item.insert(GSI3SK.into(), s(sort));
        }
        if SHORT_LIVED.contains(&entry.action.as_str()) {
            let expires = (entry.at + SHORT_LIVED_FOR).unix_timestamp();
            item.insert(EXPIRES_AT.into(), AttributeValue::N(expires.to_string()));
        }
        Ok(item)
    }

    /// One page of entries matching `filter`, newest first.
    pub async fn list(
        &self,
        filter: &AuditFilter,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<AuditEntry>, Option<Cursor>), StoreError> {
        let (index, partition) = match &filter.actor {
            Some(actor) => (BY_GSI2, audit_actor_partition(actor)),
            None => (BY_GSI1, AUDIT_PARTITION.to_owned()),
        };
        let sort_between = time_range(filter.from, filter.to);
        let listing = IndexListing::new(index, partition, "AUDIT#", AUDIT_SK)
            .newest_first()
            .between(sort_between)
            .equal("action", filter.action.clone());
        let (items, next) = self.table.query_page(&listing, limit, after).await?;
        let entries = items
            .into_iter()
            .map(codec::decode)
            .collect::<Result<_, _>>()?;
        Ok((entries, next))
    }
}
