//! The DynamoDB adapter: one table, prefixed keys, conditional and transactional writes.
//!
//! The key design and the access patterns it serves are documented in [`keys`] and in
//! `docs/storage.md`. SDK error types stop here: callers see [`StoreError`].

pub mod keys;
mod products;

use std::sync::Arc;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

pub use products::{ProductListing, ProductStore};

/// A handle on the single table.
#[derive(Debug, Clone)]
pub struct Table {
    client: aws_sdk_dynamodb::Client,
    name: Arc<str>,
}

impl Table {
    /// The table named `name`, reached through `client`.
    pub fn new(client: aws_sdk_dynamodb::Client, name: impl Into<Arc<str>>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SDK client.
    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    /// Checks the table exists and answers (for health checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(self.name.as_ref())
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    /// Another product has this SKU.
    Sku,
    /// Another product has this barcode.
    Barcode,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such item.
    #[error("not found")]
    NotFound,
    /// A unique value is already taken.
    #[error("{0:?} already in use")]
    Duplicate(Uniqueness),
    /// The item changed since it was read (optimistic concurrency).
    #[error("the item changed since it was read")]
    VersionMismatch,
    /// The pagination cursor does not belong to this listing.
    #[error("the cursor does not belong to this listing")]
    BadCursor,
    /// DynamoDB is throttling, timing out or unreachable; retrying later may succeed.
    #[error("dynamodb unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: a bug, a misconfiguration or a corrupt item.
    #[error("dynamodb error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

const RETRYABLE_CODES: [&str; 6] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
];

impl StoreError {
    /// Classifies an SDK error: transient failures are `Unavailable`, the rest `Internal`.
    pub(crate) fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let transient = match &err {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
            SdkError::ServiceError(e) => {
                e.err().code().is_some_and(|c| RETRYABLE_CODES.contains(&c))
            }
            _ => false,
        };
        if transient {
            StoreError::Unavailable(Box::new(err))
        } else {
            StoreError::Internal(Box::new(err))
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        StoreError::Internal(what.into().into())
    }
}

/// How a transaction ended, item by item, when DynamoDB cancelled it.
#[derive(Debug)]
pub(crate) enum TransactionOutcome {
    /// Item `index` failed its condition.
    ConditionFailed(usize),
    /// Another transaction touched the same items; worth retrying.
    Conflict,
    /// Any other failure.
    Failed(StoreError),
}

pub(crate) fn transaction_outcome<R>(
    err: SdkError<TransactWriteItemsError, R>,
) -> TransactionOutcome
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(service) = &err
        && let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err()
    {
        let reasons = cancelled.cancellation_reasons();
        if let Some(i) = reasons
            .iter()
            .position(|r| r.code() == Some("ConditionalCheckFailed"))
        {
            return TransactionOutcome::ConditionFailed(i);
        }
        if reasons
            .iter()
            .any(|r| r.code() == Some("TransactionConflict"))
        {
            return TransactionOutcome::Conflict;
        }
    }
    TransactionOutcome::Failed(StoreError::from_sdk(err))
}
