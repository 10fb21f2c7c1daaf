//! Data migrations: named rewrites of items already in the table, for changes the code needs
//! on old data (a new index key, a new attribute). Each is idempotent (an item it already
//! changed is left alone), runs in pages, and records its progress in the table after every
//! page, so a run that stops (a timeout, Ctrl-C, a throttle) resumes where it was. A dry run
//! reports what it would change and writes nothing.
//!
//! | migration            | what it does |
//! |----------------------|--------------|
//! | `audit-target-index` | gives audit entries written before `GSI3` existed their `GSI3PK`/`GSI3SK` (entries by target), so an account's export and erasure find what others did to it |

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use super::keys::*;
use super::{Item, StoreError, Table, number_of, unless_refused};

/// Every migration: its name and what it does.
pub const MIGRATIONS: [(&str, &str); 1] = [(
    "audit-target-index",
    "adds GSI3PK/GSI3SK (audit entries by target) to entries written before the index existed",
)];

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationReport {
    /// The migration.
    pub name: String,
    /// Items read by this run.
    pub scanned: u64,
    /// Items changed by this run (dry: that would be).
    pub changed: u64,
    /// Items changed by every run so far.
    pub changed_in_all: u64,
    /// Whether the whole table has been gone through.
    pub done: bool,
    /// Whether nothing was written.
    pub dry_run: bool,
}

/// Where a migration stands, as recorded after each page.
#[derive(Debug, Default)]
struct Progress {
    cursor: Option<HashMap<String, AttributeValue>>,
    changed: u64,
    done: bool,
}

/// Runs migrations on the single table.
#[derive(Debug, Clone)]
pub struct Migrations {
    table: Table,
}

impl Migrations {
    /// Migrations of `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Runs migration `name` from where it stopped, `page_size` items a page, for at most
    /// `max_pages` pages (all when `None`); `dry_run` writes nothing, not even progress.
    /// [`StoreError::NotFound`] for a name not in [`MIGRATIONS`].
    pub async fn run(
        &self,
        name: &str,
        dry_run: bool,
        page_size: i32,
        max_pages: Option<u32>,
    ) -> Result<MigrationReport, StoreError> {
        // An unknown name is the caller's to report (`MIGRATIONS` lists them).
        if !MIGRATIONS.iter().any(|(known, _)| *known == name) {
            return Err(StoreError::NotFound);
        }
        let mut progress = self.progress(name).await?;
        let before = progress.changed;
        let mut report = MigrationReport {
            name: name.to_owned(),
            scanned: 0,
            changed: 0,
            changed_in_all: before,
            done: progress.done,
            dry_run,
        };
        let mut pages = 0;
        while !progress.done && max_pages.is_none_or(|max| pages < max) {
            let page = self
                .table
                .client()
                .scan()
                .table_name(self.table.name())
                .filter_expression(
                    "#entity = :audit AND attribute_type(#target, :string) \
                     AND attribute_not_exists(#gsi3pk)",
                )
                .expression_attribute_names("#entity", ENTITY)
                .expression_attribute_names("#target", "target")
                .expression_attribute_names("#gsi3pk", GSI3PK)
                .expression_attribute_values(":audit", AttributeValue::S("audit".into()))
                .expression_attribute_values(":string", AttributeValue::S("S".into()))
                .limit(page_size)
                .set_exclusive_start_key(progress.cursor.take())
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            report.scanned += u64::try_from(page.scanned_count).unwrap_or_default();
            for item in page.items.unwrap_or_default() {
                if dry_run || self.index_by_target(&item).await? {
                    report.changed += 1;
                }
            }
            progress.cursor = page.last_evaluated_key;
            progress.done = progress.cursor.is_none();
            pages += 1;
            if !dry_run {
                progress.changed = before + report.changed;
                self.record(name, &progress).await?;
            }
        }
        report.changed_in_all = before + if dry_run { 0 } else { report.changed };
        report.done = progress.done;
        Ok(report)
    }

    /// Gives one audit entry its GSI3 keys, unless it has them; whether it changed.
    async fn index_by_target(&self, item: &Item) -> Result<bool, StoreError> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let (Some(pk), Some(sk), Some(target), Some(sort)) =
            (text(PK), text(SK), text("target"), text(GSI1SK))
        else {
            return Ok(false);
        };
        let updated = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk))
            .update_expression("SET #pk3 = :pk3, #sk3 = :sk3")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(#pk3)")
            .expression_attribute_names("#pk3", GSI3PK)
            .expression_attribute_names("#sk3", GSI3SK)
            .expression_attribute_values(":pk3", AttributeValue::S(audit_target_partition(&target)))
            .expression_attribute_values(":sk3", AttributeValue::S(sort))
            .send()
            .await;
        Ok(unless_refused(updated)?.is_some())
    }

    async fn progress(&self, name: &str) -> Result<Progress, StoreError> {
        let Some(item) = self
            .table
            .get_item(migration_pk(name), MIGRATION_SK)
            .await?
        else {
            return Ok(Progress::default());
        };
        let text = |key: &str| item.get(key).and_then(|v| v.as_s().ok()).cloned();
        let cursor = match (text("cursor_pk"), text("cursor_sk")) {
            (Some(pk), Some(sk)) => Some(HashMap::from([
                (PK.to_owned(), AttributeValue::S(pk)),
                (SK.to_owned(), AttributeValue::S(sk)),
            ])),
            _ => None,
        };
        Ok(Progress {
            cursor,
            changed: number_of(&item, "changed")
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or_default(),
            done: item
                .get("done")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or_default(),
        })
    }

    async fn record(&self, name: &str, progress: &Progress) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let mut put = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(migration_pk(name)))
            .item(SK, AttributeValue::S(MIGRATION_SK.into()))
            .item(ENTITY, AttributeValue::S("migration".into()))
            .item("changed", AttributeValue::N(progress.changed.to_string()))
            .item("done", AttributeValue::Bool(progress.done))
            .item("updated_at", AttributeValue::S(now));
        let key = |name: &str| {
            progress
                .cursor
                .as_ref()
                .and_then(|c| c.get(name))
                .and_then(|v| v.as_s().ok())
                .cloned()
        };
        if let (Some(pk), Some(sk)) = (key(PK), key(SK)) {
            put = put
                .item("cursor_pk", AttributeValue::S(pk))
                .item("cursor_sk", AttributeValue::S(sk));
        }
        put.send().await.map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
