//! Idempotency records: a retried request with the same key and body gets the first
//! response; the same key with another body is refused; a request still running is not run
//! twice. The completion is written in the same transaction as the change it answers for, so
//! a change and its remembered response cannot part.

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::keys::*;
use super::{Guard, StoreError, Table, Write, unless_refused};
use crate::auth::digest;

/// How long a key is remembered.
const RETENTION: Duration = Duration::from_secs(24 * 3600);
/// How long a request may hold its key before another attempt may take over (a crashed
/// Lambda never completes).
const LEASE: Duration = Duration::from_secs(30);

/// What to do with a request carrying an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First time (or an abandoned attempt): run it.
    Proceed,
    /// Already done: answer with the stored response.
    Replay {
        status: u16,
        /// Its JSON body.
        body: String,
    },
    /// The key was used with another body.
    Mismatch,
    /// Another request with this key is running now, or ran into an outage that kept it from
    /// releasing the key: its lease ends in `retry_in`.
    InProgress {
        /// Until the lease ends (at least a second).
        retry_in: Duration,
    },
}

/// Idempotency records in the single table.
#[derive(Debug, Clone)]
pub struct IdempotencyStore {
    table: Table,
}

impl IdempotencyStore {
    /// Records in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    fn key(scope: &str, key: &str) -> (String, String) {
        (
            idempotency_pk(scope, &digest(key)),
            IDEMPOTENCY_SK.to_owned(),
        )
    }

    /// Notes record `pk` under the partition of the account that made it (the scope's
    /// `<account id>:` prefix), so erasing the account finds the responses it kept (an
    /// order's, say). Best effort: without the note the record still expires with its TTL.
    async fn point_from_owner(&self, scope: &str, pk: &str, now: i64) {
        let Some((owner, _)) = scope.split_once(':') else {
            return;
        };
        let noted = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(user_pk(owner)))
            .item(
                SK,
                AttributeValue::S(format!("{IDEMPOTENCY_REF_PREFIX}{pk}")),
            )
            .item(ENTITY, AttributeValue::S("idempotency_ref".into()))
            .item(IDEMPOTENCY_REF, AttributeValue::S(pk.to_owned()))
            .item(
                EXPIRES_AT,
                AttributeValue::N((now + secs(RETENTION)).to_string()),
            )
            .send()
            .await;
        if let Err(e) = noted {
            tracing::warn!(error = %e, "could not note an idempotency record under its account");
        }
    }

    /// Claims `key` in `scope` for a request whose body hashes to `payload_hash`.
    pub async fn begin(
        &self,
        scope: &str,
        key: &str,
        payload_hash: &str,
    ) -> Result<Begin, StoreError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let (pk, sk) = Self::key(scope, key);
        let claimed = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(pk.clone()))
            .item(SK, AttributeValue::S(sk.clone()))
            .item(ENTITY, AttributeValue::S("idempotency".into()))
            .item("state", AttributeValue::S("in_progress".into()))
            .item("payload_hash", AttributeValue::S(payload_hash.into()))
            .item("lease_ends", AttributeValue::N((now + secs(LEASE)).to_string()))
            .item(EXPIRES_AT, AttributeValue::N((now + secs(RETENTION)).to_string()))
            .condition_expression(
                "attribute_not_exists(PK) OR expires_at < :now OR (#state = :running AND lease_ends < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":running", AttributeValue::S("in_progress".into()))
            .send()
            .await;
        match claimed {
            Ok(_) => {
                self.point_from_owner(scope, &pk, now).await;
                return Ok(Begin::Proceed);
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(StoreError::from_sdk(e)),
        }
        let Some(item) = self.table.get_item(pk, &sk).await? else {
            // Expired and removed between the two calls: the caller may simply retry.
            return Ok(Begin::InProgress {
                retry_in: Duration::from_secs(1),
            });
        };
        let text = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        if text("payload_hash") != payload_hash {
            return Ok(Begin::Mismatch);
        }
        if text("state") != "done" {
            let lease_ends = item
                .get("lease_ends")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(now);
            let left = u64::try_from(lease_ends - now).unwrap_or(0).max(1);
            return Ok(Begin::InProgress {
                retry_in: Duration::from_secs(left),
            });
        }
        let status = item
            .get("response_status")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(200);
        Ok(Begin::Replay {
            status,
            body: text("response_body"),
        })
    }

    /// The write that completes `key` with a response, to commit with the change itself.
    pub fn completion(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<Write, StoreError> {
        let (pk, sk) = Self::key(scope, key);
        let update = Update::builder()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk))
            .update_expression(
                "SET #state = :done, response_status = :status, response_body = :body",
            )
            .condition_expression("#state = :running")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", AttributeValue::S("done".into()))
            .expression_attribute_values(":running", AttributeValue::S("in_progress".into()))
            .expression_attribute_values(":status", AttributeValue::N(status.to_string()))
            .expression_attribute_values(":body", AttributeValue::S(body.to_owned()))
            .build()
            .map_err(StoreError::internal)?;
        Ok(Write(
            Guard::Alive,
            TransactWriteItem::builder().update(update).build(),
        ))
    }

    /// Releases `key` after a request failed without changing anything, so a retry runs again.
    pub async fn abandon(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        let (pk, sk) = Self::key(scope, key);
        let result = self
            .table
            .client()
            .delete_item()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(pk.clone()))
            .key(SK, AttributeValue::S(sk))
            .condition_expression("#state = :running")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":running", AttributeValue::S("in_progress".into()))
            .send()
            .await;
        if unless_refused(result)?.is_none() {
            return Ok(());
        }
        // The record is gone, so is its note.
        if let Some((owner, _)) = scope.split_once(':') {
            self.table
                .client()
                .delete_item()
                .table_name(self.table.name())
                .key(PK, AttributeValue::S(user_pk(owner)))
                .key(
                    SK,
                    AttributeValue::S(format!("{IDEMPOTENCY_REF_PREFIX}{pk}")),
                )
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
        }
        Ok(())
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
}
