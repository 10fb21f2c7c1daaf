//! The restore drill (`devstack restore-drill`, `make restore-drill STAGE=...`): restores the
//! table to a point in time into a new table, checks the invariants on the copy
//! ([`shared::store::check_invariants`]), reports, and deletes the copy. Proves that the
//! backups restore and that what they restore is consistent.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_dynamodb::types::{BillingMode, TableStatus};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use shared::store::{InvariantReport, Table, check_invariants};

/// What to restore.
#[derive(Debug, Clone)]
pub struct Drill {
    /// The table whose backups are drilled.
    pub source: String,
    /// The point in time; `None`: the latest restorable time.
    pub at: Option<OffsetDateTime>,
    /// Keep the restored table for inspection instead of deleting it.
    pub keep: bool,
    /// How long to wait for the restored table (restores of large tables take hours).
    pub wait: Duration,
    /// How often to look whether it is ready.
    pub poll: Duration,
}

/// What a drill did and found.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    /// The table drilled.
    pub source: String,
    /// The copy made (deleted unless kept).
    pub restored_table: String,
    /// The point in time asked for (`latest` when none).
    pub restored_to: String,
    /// Seconds until the copy was usable.
    pub restore_seconds: u64,
    /// Seconds the checks took.
    pub check_seconds: u64,
    /// What the checks found.
    pub invariants: InvariantReport,
    /// Whether the copy was deleted.
    pub deleted: bool,
}

impl Drill {
    /// The name of the copy a drill started at `stamp` (seconds since the epoch) makes.
    pub fn target(&self, stamp: i64) -> String {
        format!("{}-drill-{stamp}", self.source)
    }

    /// Runs the drill with `client`, its copy named [`Drill::target`] of `stamp`; the copy is
    /// deleted (unless kept) whether or not the checks pass or could run.
    pub async fn run(&self, client: &aws_sdk_dynamodb::Client, stamp: i64) -> Result<DrillReport> {
        let target = self.target(stamp);
        // Without its indexes: the checks scan the table, and the copy restores faster and
        // costs less.
        let mut restore = client
            .restore_table_to_point_in_time()
            .source_table_name(&self.source)
            .target_table_name(&target)
            .billing_mode_override(BillingMode::PayPerRequest)
            .set_global_secondary_index_override(Some(Vec::new()));
        restore = match self.at {
            Some(at) => restore.restore_date_time(
                aws_sdk_dynamodb::primitives::DateTime::from_secs(at.unix_timestamp()),
            ),
            None => restore.use_latest_restorable_time(true),
        };
        restore
            .send()
            .await
            .with_context(|| format!("restoring {} into {target}", self.source))?;
        let started = Instant::now();
        let checked = self.checked(client, &target, started).await;
        let deleted = !self.keep && delete_copy(client, &target, self.poll).await;
        let (restore_seconds, check_seconds, invariants) = checked?;
        Ok(DrillReport {
            source: self.source.clone(),
            restored_table: target,
            restored_to: match self.at {
                Some(at) => at.format(&Rfc3339).unwrap_or_default(),
                None => "latest".into(),
            },
            restore_seconds,
            check_seconds,
            invariants,
            deleted,
        })
    }

    async fn checked(
        &self,
        client: &aws_sdk_dynamodb::Client,
        target: &str,
        started: Instant,
    ) -> Result<(u64, u64, InvariantReport)> {
        loop {
            let status = client
                .describe_table()
                .table_name(target)
                .send()
                .await
                .with_context(|| format!("describing {target}"))?
                .table
                .and_then(|t| t.table_status);
            if status == Some(TableStatus::Active) {
                break;
            }
            if started.elapsed() > self.wait {
                bail!(
                    "{target} was not ready after {} s (status {status:?})",
                    self.wait.as_secs()
                );
            }
            tokio::time::sleep(self.poll).await;
        }
        let restore_seconds = started.elapsed().as_secs();
        let checking = Instant::now();
        let report = check_invariants(&Table::new(client.clone(), target))
            .await
            .with_context(|| format!("checking {target}"))?;
        Ok((restore_seconds, checking.elapsed().as_secs(), report))
    }
}

/// Deletes the drill's copy `table`, waiting while it is still being restored (a table cannot
/// be deleted then) for up to 4 hours; says on stderr when it could not, so the copy (a full
/// copy of production data) is not forgotten.
pub async fn delete_copy(client: &aws_sdk_dynamodb::Client, table: &str, poll: Duration) -> bool {
    let started = Instant::now();
    loop {
        match client.delete_table().table_name(table).send().await {
            Ok(_) => return true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception())
                    && started.elapsed() < Duration::from_secs(4 * 3600) =>
            {
                tokio::time::sleep(poll).await;
            }
            Err(e) => {
                eprintln!("could not delete the drill's copy {table}; delete it by hand: {e}");
                return false;
            }
        }
    }
}
