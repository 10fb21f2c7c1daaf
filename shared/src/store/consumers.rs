//! What each consumer of the table's stream last reported: when it handled a batch, how far
//! behind the change it announced was, and how many records it handed back for a retry. The
//! health check reads it to say whether events reach the bus; CloudWatch's `IteratorAge`
//! alarm pages on the same fact.
//!
//! | item     | PK                   | SK         |
//! |----------|----------------------|------------|
//! | progress | `STREAM#<consumer>`  | `PROGRESS` |
//!
//! Neither stream consumer's filter matches these items, so recording progress never
//! starts another batch.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::keys::{PK, SK};
use super::{StoreError, Table, codec};

const PROGRESS_SK: &str = "PROGRESS";

/// When the recorded batch was handled, in ms since the epoch (what a later batch is compared
/// with).
const AT_MS: &str = "at_ms";

fn progress_pk(consumer: &str) -> String {
    format!("STREAM#{consumer}")
}

/// One batch as a consumer handled it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// When the batch was handled.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// How long the oldest change in it waited for the consumer (its iterator age), in ms.
    pub lag_ms: u64,
    /// Records in the batch the consumer acted on.
    pub records: u32,
    /// Of those, how many it handed back for the stream to retry.
    pub failed: u32,
}

impl Progress {
    /// The progress of a batch handled `at`, whose changes were made at `made` (stream records
    /// without a creation time are left out), `failed` of `records` handed back.
    pub fn of_batch(
        at: OffsetDateTime,
        made: impl IntoIterator<Item = OffsetDateTime>,
        records: u32,
        failed: u32,
    ) -> Self {
        let lag = made
            .into_iter()
            .filter(|t| t.unix_timestamp() > 0)
            .map(|t| at - t)
            .max()
            .unwrap_or(time::Duration::ZERO);
        Self {
            at,
            lag_ms: u64::try_from(lag.whole_milliseconds()).unwrap_or(0),
            records,
            failed,
        }
    }
}

/// The consumers' progress items.
#[derive(Debug, Clone)]
pub struct ConsumerLog {
    table: Table,
}

impl ConsumerLog {
    /// Progress in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Records `progress` as `consumer`'s latest (one item per consumer), unless a batch
    /// handled later is already recorded: with several shards, batches finish out of order.
    pub async fn record(&self, consumer: &str, progress: &Progress) -> Result<(), StoreError> {
        let at_ms = (progress.at.unix_timestamp_nanos() / 1_000_000).to_string();
        let mut item = codec::encode_keyed(
            progress,
            &[(PK, progress_pk(consumer)), (SK, PROGRESS_SK.to_owned())],
        )?;
        item.insert(AT_MS.into(), AttributeValue::N(at_ms.clone()));
        let written = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#at) OR #at < :at")
            .expression_attribute_names("#at", AT_MS)
            .expression_attribute_values(":at", AttributeValue::N(at_ms))
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }

    /// `consumer`'s latest progress; `None` before its first batch.
    pub async fn last(&self, consumer: &str) -> Result<Option<Progress>, StoreError> {
        match self
            .table
            .get_as::<Progress>(progress_pk(consumer), PROGRESS_SK)
            .await
        {
            Ok(progress) => Ok(Some(progress)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
