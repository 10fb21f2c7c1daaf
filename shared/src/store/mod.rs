//! The DynamoDB adapter: one table, prefixed keys, conditional and transactional writes.
//!
//! The key design and the access patterns it serves are documented in [`keys`] and in
//! `docs/storage.md`. SDK error types stop here: callers see [`StoreError`].

mod accounts;
mod attempts;
mod audit;
mod carts;
mod codec;
mod connections;
mod consumers;
mod cursor;
mod idempotency;
mod invariants;
pub mod keys;
mod loyalty;
mod migrations;
mod orders;
mod outbox;
mod payment_customers;
mod personas;
mod products;
mod purchasing;
mod sessions;
mod shipments;
mod stock;
pub mod stream;
mod throttle;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

pub use accounts::AccountStore;
pub use attempts::{Claim, LockPolicy, LoginAttempts, Subject};
pub use audit::{AuditEntry, AuditFilter, AuditLog};
pub use carts::CartStore;
pub use connections::{ConnectionStore, Listener};
pub use consumers::{ConsumerLog, Progress};
pub use cursor::{Cursor, InvalidCursor};
pub use idempotency::{Begin, IdempotencyStore};
pub use invariants::{InvariantReport, check_invariants};
pub use loyalty::{Change as LoyaltyChange, LoyaltyStore, Placing, RANK_COUNTED_TO};
pub use migrations::{MIGRATIONS, MigrationReport, Migrations};
pub use orders::{OrderListing, OrderStore};
pub use outbox::{OUTBOX_RETENTION_DAYS, Outbox, StoredEvent, hour_of};
pub use payment_customers::{PaymentCustomers, PaymentLink};
pub use personas::{PersonaFilter, PersonaStore};
pub use products::{ProductListing, ProductStore};
pub use purchasing::{PurchaseOrderFilter, PurchasingStore};
pub use sessions::{
    CodePurpose, Link, LinkKind, Purpose, Rotation, Session, SessionOrigin, SessionStore,
};
pub use shipments::ShipmentStore;
pub use stock::{LedgerFilter, LevelListing, StockStore};
pub use throttle::RequestCounter;

/// A DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// Most items one `TransactWriteItems` takes. Every flow's worst case stays under it (the
/// settlement of an order of 20 lines from 20 warehouses is 86 items; a receipt of 30 lines,
/// 95); a transaction built larger is refused here, by name, rather than by DynamoDB.
const MAX_TRANSACTION_ITEMS: usize = 100;

/// How many times a transaction that lost a race with another is tried again.
const CONFLICT_RETRIES: u32 = 4;

/// Where the key that seals cursors is kept: 32 random bytes, made by the first listing that
/// needs them (a conditional put, so racing instances agree on one).
const CURSOR_KEY_PK: &str = "CONFIG";
const CURSOR_KEY_SK: &str = "CURSOR_KEY";

/// A handle on the single table.
#[derive(Debug, Clone)]
pub struct Table {
    client: aws_sdk_dynamodb::Client,
    name: Arc<str>,
    /// The cursor key, read once per instance.
    cursor_key: Arc<tokio::sync::OnceCell<aws_lc_rs::hmac::Key>>,
}

impl Table {
    /// The table named `name`, reached through `client`.
    pub fn new(client: aws_sdk_dynamodb::Client, name: impl Into<Arc<str>>) -> Self {
        Self {
            client,
            name: name.into(),
            cursor_key: Arc::default(),
        }
    }

    /// The table named `name`, through a client made from `sdk`'s settings (for the stream
    /// consumers, which start without the API's configuration).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, name: impl Into<Arc<str>>) -> Self {
        Self::new(aws_sdk_dynamodb::Client::new(sdk), name)
    }

    /// The key that seals this table's cursors: read from the table, or made there first.
    async fn cursor_key(&self) -> Result<&aws_lc_rs::hmac::Key, StoreError> {
        self.cursor_key
            .get_or_try_init(|| async {
                if let Some(secret) = self.cursor_secret().await? {
                    return Ok(secret);
                }
                let mut secret = [0u8; 32];
                aws_lc_rs::rand::fill(&mut secret)
                    .map_err(|_| StoreError::corrupt("no randomness for the cursor key"))?;
                let made = self
                    .client
                    .put_item()
                    .table_name(self.name.as_ref())
                    .item(keys::PK, AttributeValue::S(CURSOR_KEY_PK.into()))
                    .item(keys::SK, AttributeValue::S(CURSOR_KEY_SK.into()))
                    .item(keys::ENTITY, AttributeValue::S("cursor_key".into()))
                    .item("secret", AttributeValue::B(secret.to_vec().into()))
                    .condition_expression("attribute_not_exists(PK)")
                    .send()
                    .await;
                match made {
                    Ok(_) => Ok(aws_lc_rs::hmac::Key::new(
                        aws_lc_rs::hmac::HMAC_SHA256,
                        &secret,
                    )),
                    // Another instance made it first: use theirs.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                    {
                        self.cursor_secret()
                            .await?
                            .ok_or_else(|| StoreError::corrupt("the cursor key vanished"))
                    }
                    Err(e) => Err(StoreError::from_sdk(e)),
                }
            })
            .await
    }

    async fn cursor_secret(&self) -> Result<Option<aws_lc_rs::hmac::Key>, StoreError> {
        let item = self.get_item(CURSOR_KEY_PK.into(), CURSOR_KEY_SK).await?;
        Ok(item
            .and_then(|i| i.get("secret").cloned())
            .and_then(|v| v.as_b().ok().map(|b| b.as_ref().to_vec()))
            .filter(|b| b.len() == 32)
            .map(|b| aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &b)))
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SDK client; only the store's adapters talk to DynamoDB.
    pub(crate) fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    /// The items of partition `pk` whose sort key starts with `prefix`, in sort-key order
    /// (reversed with `newest_first`), at most `limit` of them, paging as needed.
    pub(crate) async fn with_prefix(
        &self,
        pk: String,
        prefix: &str,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(self.name.as_ref())
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
                .scan_index_forward(!newest_first)
                .limit(i32::try_from(limit.min(500)).unwrap_or(500))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_lookup)?;
            for item in page.items.unwrap_or_default() {
                items.push(item);
                if items.len() >= limit {
                    return Ok(items);
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// The item at `pk`/`sk`, read strongly consistently.
    pub(crate) async fn get_item(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.name.as_ref())
            .key(keys::PK, AttributeValue::S(pk))
            .key(keys::SK, AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_lookup)?;
        Ok(output.item)
    }

    /// The item at `pk`/`sk` decoded as `T`; [`StoreError::NotFound`] if there is none.
    pub(crate) async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<T, StoreError> {
        let item = self.get_item(pk, sk).await?.ok_or(StoreError::NotFound)?;
        codec::decode(item)
    }

    /// A put of `item` that creates it (`expected_version` `None`) or replaces the version
    /// the caller read; to be guarded by [`Guard::Version`].
    pub(crate) fn versioned_put(
        &self,
        item: Item,
        expected_version: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(self.name.as_ref())
            .set_item(Some(item));
        put = match expected_version {
            None => put.condition_expression("attribute_not_exists(PK)"),
            Some(v) => put
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", AttributeValue::N(v.to_string())),
        };
        let put = put.build().map_err(StoreError::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Runs `writes` as one transaction, retrying when it lost a race with another transaction.
    /// A failed condition is reported as what its [`Guard`] protects.
    pub(crate) async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::corrupt(format!(
                "a transaction of {} items; DynamoDB takes at most {MAX_TRANSACTION_ITEMS}",
                writes.len()
            )));
        }
        let (guards, items): (Vec<_>, Vec<_>) =
            writes.into_iter().map(|Write(g, i)| (g, i)).unzip();
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let Err(err) = result else {
                return Ok(());
            };
            match transaction_outcome(err) {
                TransactionOutcome::ConditionFailed(i) => {
                    return Err(match guards.get(i) {
                        Some(Guard::Version) => StoreError::VersionMismatch,
                        Some(Guard::Unique(rule)) => StoreError::Duplicate(*rule),
                        Some(Guard::LastAdmin) => StoreError::LastAdmin,
                        Some(Guard::Limit) => StoreError::LimitReached,
                        Some(Guard::Alive) => StoreError::Gone,
                        Some(Guard::None) | None => {
                            StoreError::corrupt("an unconditional write failed its condition")
                        }
                    });
                }
                TransactionOutcome::Conflict if attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 20);
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt) + jitter))
                        .await;
                }
                TransactionOutcome::Conflict => {
                    return Err(StoreError::Unavailable(
                        "transaction kept conflicting with concurrent writes".into(),
                    ));
                }
                TransactionOutcome::Failed(e) => return Err(e),
            }
        }
    }

    /// One page of an index listing. Asks for one more item than `limit` so the last page
    /// carries no cursor; with a filter, keeps querying (a bounded number of times) until the
    /// page is full.
    pub(crate) async fn query_page(
        &self,
        listing: &IndexListing,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Item>, Option<Cursor>), StoreError> {
        let mut start = match after {
            Some(sealed) => {
                let cursor = cursor::open(self.cursor_key().await?, sealed)
                    .map_err(|_| StoreError::BadCursor)?;
                Some(listing.start_key(&cursor)?)
            }
            None => None,
        };
        let mut items: Vec<Item> = Vec::new();
        for _ in 0..10 {
            let mut names = HashMap::from([("#pk".to_owned(), listing.gsi.pk.to_owned())]);
            let mut values = HashMap::from([(
                ":pk".to_owned(),
                AttributeValue::S(listing.partition.clone()),
            )]);
            let mut condition = "#pk = :pk".to_owned();
            if let Some((from, to)) = &listing.sort_between {
                condition.push_str(" AND #sk BETWEEN :from AND :to");
                names.insert("#sk".into(), listing.gsi.sk.into());
                values.insert(":from".into(), AttributeValue::S(from.clone()));
                values.insert(":to".into(), AttributeValue::S(to.clone()));
            }
            let mut clauses = Vec::new();
            for (i, (attr, value)) in listing.equals.iter().enumerate() {
                clauses.push(format!("#f{i} = :f{i}"));
                names.insert(format!("#f{i}"), attr.clone());
                values.insert(format!(":f{i}"), AttributeValue::S(value.clone()));
            }
            for (i, (attr, value)) in listing.contains.iter().enumerate() {
                clauses.push(format!("contains(#c{i}, :c{i})"));
                names.insert(format!("#c{i}"), attr.clone());
                values.insert(format!(":c{i}"), AttributeValue::S(value.clone()));
            }
            let filter = (!clauses.is_empty()).then(|| clauses.join(" AND "));
            let want = limit as usize + 1 - items.len();
            let output = self
                .client
                .query()
                .table_name(self.name.as_ref())
                .index_name(listing.gsi.name)
                .key_condition_expression(condition)
                .set_filter_expression(filter)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .scan_index_forward(listing.forward)
                .limit(i32::try_from(want).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::from_lookup)?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if items.len() > limit as usize || start.is_none() {
                break;
            }
        }
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|last| listing.cursor_of(last))
                .transpose()?
        } else {
            // Stopped by the round-trip bound with more to read: resume where DynamoDB stopped.
            start.map(|key| listing.cursor_of(&key)).transpose()?
        };
        let next = match next {
            Some(c) => Some(cursor::seal(self.cursor_key().await?, c)),
            None => None,
        };
        Ok((items, next))
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
    /// Another account has this e-mail address.
    Email,
    /// Another account signs in with this Google account.
    GoogleAccount,
    /// Another warehouse has this code.
    WarehouseCode,
    /// This webhook delivery was already applied.
    WebhookDelivery,
    /// Another shipment has this carrier's tracking number.
    TrackingNumber,
}

/// One write of a transaction and what its condition guards. The stores build them; their
/// `commit` runs several together, so callers compose a change without naming SDK types.
#[derive(Debug, Clone)]
pub struct Write(pub(crate) Guard, pub(crate) TransactWriteItem);

/// What a conditional write in a transaction guards, so a failed condition can be named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// The item's version (optimistic concurrency) or its absence on create.
    Version,
    /// A uniqueness claim.
    Unique(Uniqueness),
    /// The count of active admins must stay above zero.
    LastAdmin,
    /// A count must stay under its cap.
    Limit,
    /// The item must not be revoked or expired.
    Alive,
    /// Written without a condition (e.g. an audit entry with a fresh id).
    None,
}

/// Reads every page of a listing, up to `cap` items; says whether it stopped early.
pub async fn all_pages<T, F, Fut>(cap: usize, mut page: F) -> Result<(Vec<T>, bool), StoreError>
where
    F: FnMut(Option<Cursor>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<Cursor>), StoreError>>,
{
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let (mut batch, next) = page(cursor).await?;
        items.append(&mut batch);
        match next {
            Some(c) if items.len() < cap => cursor = Some(c),
            Some(_) => return Ok((items, true)),
            None => return Ok((items, false)),
        }
    }
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
    /// The change would leave no active admin.
    #[error("the last active admin cannot be demoted or disabled")]
    LastAdmin,
    /// A count is at its cap (a customer's open orders).
    #[error("the count is at its cap")]
    LimitReached,
    /// The item is revoked or expired.
    #[error("revoked or expired")]
    Gone,
    /// The pagination cursor does not belong to this listing.
    #[error("the cursor does not belong to this listing")]
    BadCursor,
    /// DynamoDB refused a key value of a lookup (too large or empty): client input that the
    /// edge let through, answered as a bad request, never as an internal error.
    #[error("dynamodb refused a value of the request")]
    Rejected(#[source] Box<dyn std::error::Error + Send + Sync>),
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

/// The outcome of a conditional write: `Some` with the output when it was made, `None` when its
/// condition did not hold (DynamoDB's `ConditionalCheckFailedException`); other errors as
/// [`StoreError::from_sdk`].
pub(crate) fn unless_refused<T, E, R>(
    result: Result<T, SdkError<E, R>>,
) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error()
                .and_then(ProvideErrorMetadata::code)
                .is_some_and(|c| c == "ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(e) => Err(StoreError::from_sdk(e)),
    }
}

/// A number attribute of `item`, if it has one that parses.
pub(crate) fn number_of(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

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

    /// [`Self::from_sdk`] for a lookup keyed by client input (a get or a query): DynamoDB
    /// refusing a key value there is the client's mistake ([`StoreError::Rejected`]). Writes
    /// keep such refusals internal: a transaction we built badly is our bug, not a 400.
    pub(crate) fn from_lookup<E, R>(err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let rejected = matches!(&err, SdkError::ServiceError(e)
            if e.err().code() == Some("ValidationException"));
        if rejected {
            StoreError::Rejected(Box::new(err))
        } else {
            StoreError::from_sdk(err)
        }
    }

    /// An unexpected failure (a request the SDK could not build, an item that does not decode).
    pub(crate) fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Internal(Box::new(e))
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

/// A UTC time with fixed-width nanoseconds, so text order is time order (index sort keys).
pub(crate) fn sortable(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_default()
}

/// Sort-key bounds selecting `from..=to` among `<sortable time>#<id>` keys; `None` when
/// neither end is given.
pub(crate) fn time_range(
    from: Option<time::OffsetDateTime>,
    to: Option<time::OffsetDateTime>,
) -> Option<(String, String)> {
    let bound = |t: Option<time::OffsetDateTime>, default: &str| {
        t.map_or_else(|| default.to_owned(), sortable)
    };
    // '~' sorts after every character of a time and a UUID, so `to` includes its own second.
    (from.is_some() || to.is_some()).then(|| (bound(from, "0"), format!("{}~", bound(to, "9"))))
}

/// A query over one partition of an index, newest or oldest first.
#[derive(Debug, Clone)]
pub(crate) struct IndexListing {
    pub(crate) gsi: keys::Gsi,
    pub(crate) partition: String,
    /// Prefix of the base table `PK` of the items listed.
    pub(crate) item_pk_prefix: &'static str,
    /// The base table `SK` of the items listed.
    pub(crate) item_sk: &'static str,
    pub(crate) forward: bool,
    pub(crate) sort_between: Option<(String, String)>,
    /// Keep only items whose attributes equal these values.
    pub(crate) equals: Vec<(String, String)>,
    /// Keep only items whose list attribute contains this value.
    pub(crate) contains: Vec<(String, String)>,
}

impl IndexListing {
    /// The items under `partition` of `gsi` whose base keys are `item_pk_prefix...` and
    /// `item_sk`, oldest first; the methods below narrow it.
    pub(crate) fn new(
        gsi: keys::Gsi,
        partition: impl Into<String>,
        item_pk_prefix: &'static str,
        item_sk: &'static str,
    ) -> Self {
        Self {
            gsi,
            partition: partition.into(),
            item_pk_prefix,
            item_sk,
            forward: true,
            sort_between: None,
            equals: Vec::new(),
            contains: Vec::new(),
        }
    }

    /// Newest (highest sort key) first.
    pub(crate) fn newest_first(mut self) -> Self {
        self.forward = false;
        self
    }

    /// Only sort keys within `range` (inclusive), when there is one.
    pub(crate) fn between(mut self, range: Option<(String, String)>) -> Self {
        self.sort_between = range;
        self
    }

    /// Only items whose `attr` equals `value`, when one is given.
    pub(crate) fn equal(mut self, attr: &str, value: Option<String>) -> Self {
        if let Some(value) = value {
            self.equals.push((attr.to_owned(), value));
        }
        self
    }

    /// Only items whose list attribute `attr` contains `value`, when one is given.
    pub(crate) fn containing(mut self, attr: &str, value: Option<String>) -> Self {
        if let Some(value) = value {
            self.contains.push((attr.to_owned(), value));
        }
        self
    }

    fn key_names(&self) -> [&str; 4] {
        [keys::PK, keys::SK, self.gsi.pk, self.gsi.sk]
    }

    fn cursor_of(&self, item: &Item) -> Result<Cursor, StoreError> {
        let mut keys = BTreeMap::new();
        for name in self.key_names() {
            let value = item
                .get(name)
                .and_then(|v| v.as_s().ok())
                .ok_or_else(|| StoreError::corrupt(format!("listed item without {name}")))?;
            keys.insert(name.to_owned(), value.clone());
        }
        Ok(Cursor(keys))
    }

    /// The exclusive start key of a cursor, refusing cursors of another listing.
    fn start_key(&self, cursor: &Cursor) -> Result<Item, StoreError> {
        let keys = &cursor.0;
        let well_formed = keys.len() == 4
            && keys.values().all(|v| (1..=1024).contains(&v.len()))
            && self.key_names().iter().all(|k| keys.contains_key(*k))
            && keys.get(self.gsi.pk) == Some(&self.partition)
            && keys.get(keys::SK).map(String::as_str) == Some(self.item_sk)
            && keys
                .get(keys::PK)
                .is_some_and(|pk| pk.starts_with(self.item_pk_prefix));
        if !well_formed {
            return Err(StoreError::BadCursor);
        }
        Ok(keys
            .iter()
            .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
            .collect())
    }
}
