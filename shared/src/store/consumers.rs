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

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::keys::{PK, SK};
use super::{StoreError, Table, codec};

const PROGRESS_SK: &str = "PROGRESS";

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

    /// Progress in the table named `name`, through a client made from `sdk` (for the stream
    /// consumers, which start without the API's configuration).
    pub fn in_table(sdk: &aws_config::SdkConfig, name: impl Into<std::sync::Arc<str>>) -> Self {
        Self::new(Table::new(aws_sdk_dynamodb::Client::new(sdk), name))
    }

    /// Records `progress` as `consumer`'s latest (one item per consumer, overwritten).
    pub async fn record(&self, consumer: &str, progress: &Progress) -> Result<(), StoreError> {
        let item = codec::encode_keyed(
            progress,
            &[(PK, progress_pk(consumer)), (SK, PROGRESS_SK.to_owned())],
        )?;
        self.table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
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
