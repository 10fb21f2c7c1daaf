//! Requests counted per client per minute, in the table so every Lambda instance adds to the
//! same count. One item per client and minute (`RATE#<client>#<minute>`), deleted by TTL.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::keys::{EXPIRES_AT, PK, SK};
use super::{StoreError, Table, number_of};

/// The sort key of a rate counter.
const RATE_SK: &str = "RATE";

/// Per-client request counters in the single table.
#[derive(Debug, Clone)]
pub struct RequestCounter {
    table: Table,
}

impl RequestCounter {
    /// Counters in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Counts one request of `client` in the minute starting at `minute` (epoch seconds) and
    /// answers how many that minute now holds, this one included. One conditional-free atomic
    /// `ADD`: concurrent requests each get a distinct count.
    pub async fn count(&self, client: &str, minute: i64) -> Result<u64, StoreError> {
        let out = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(format!("RATE#{client}#{minute}")))
            .key(SK, AttributeValue::S(RATE_SK.into()))
            .update_expression("ADD #n :one SET #ttl = if_not_exists(#ttl, :ttl)")
            .expression_attribute_names("#n", "requests")
            .expression_attribute_names("#ttl", EXPIRES_AT)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(
                ":ttl",
                AttributeValue::N(minute.saturating_add(120).to_string()),
            )
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let count = out
            .attributes
            .as_ref()
            .and_then(|a| number_of(a, "requests"))
            .ok_or_else(|| StoreError::corrupt("a rate counter without a count"))?;
        Ok(count.unsigned_abs())
    }
}
