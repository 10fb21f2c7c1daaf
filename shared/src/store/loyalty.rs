//! Loyalty in the table, per account under `LOYALTY#<account>`: the points account (`POINTS`,
//! version-guarded), what each order put in the ledger (`ORDER#<order>`), the ledger itself
//! (`ENTRY#<time>#<id>`, append-only), badges (`BADGE#<code>`, each written once), and the
//! leaderboard scores (`SCORE#<board>`), sorted on GSI1 (`LEADERBOARD#<board>` /
//! `<score, zero-padded>#<account>`) so a board's top is one query and a rank counts only
//! those ahead. Every change of an account is one transaction.

use aws_sdk_dynamodb::types::{AttributeValue, Put, Select, TransactWriteItem};
use time::OffsetDateTime;

use super::codec;
use super::keys::{BY_GSI1, ENTITY, GSI1PK, GSI1SK, PK, SK};
use super::outbox::event_writes;
use super::{Guard, StoreError, Table, Write, sortable};
use crate::domain::event::DomainEvent;
use crate::domain::loyalty::{Entry, OrderPoints, PointsAccount};

const POINTS_SK: &str = "POINTS";

fn pk(user: &str) -> String {
    format!("LOYALTY#{user}")
}

/// A board's GSI1 partition: `all-time`, or `month#YYYY-MM`.
fn board_pk(board: &str) -> String {
    format!("LEADERBOARD#{board}")
}

/// A score's sort key: higher scores sort later; ties by account id.
fn score_key(score: i64, user: &str) -> String {
    format!("{:012}#{user}", score.clamp(0, 999_999_999_999))
}

/// How far a rank is counted: past it, the answer says "beyond".
pub const RANK_COUNTED_TO: u64 = 10_000;

/// One place on a board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placing {
    /// The account.
    pub user_id: String,
    /// Its score.
    pub score: i64,
    /// Its name, when it opted in to be shown.
    pub name: Option<String>,
}

/// Loyalty items in the single table.
#[derive(Debug, Clone)]
pub struct LoyaltyStore {
    table: Table,
}

/// One change of an account: everything its transaction writes.
#[derive(Debug)]
pub struct Change<'a> {
    /// The account after it, and the version it replaces (`None`: new).
    pub account: (&'a PointsAccount, Option<u64>),
    /// The order state after it, and the version it replaces, if an order changed.
    pub order: Option<(&'a OrderPoints, Option<u64>)>,
    /// Ledger entries.
    pub entries: &'a [Entry],
    /// Badges newly awarded.
    pub badges: &'a [&'static str],
    /// Events announcing it.
    pub events: &'a [DomainEvent],
}

impl LoyaltyStore {
    /// Loyalty in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// `user`'s points account, if it has one.
    pub async fn account(&self, user: &str) -> Result<Option<PointsAccount>, StoreError> {
        match self.table.get_as(pk(user), POINTS_SK).await {
            Ok(a) => Ok(Some(a)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// What order `order` put in `user`'s ledger, if anything.
    pub async fn order_points(
        &self,
        user: &str,
        order: &str,
    ) -> Result<Option<OrderPoints>, StoreError> {
        match self.table.get_as(pk(user), &format!("ORDER#{order}")).await {
            Ok(o) => Ok(Some(o)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `user`'s newest `limit` ledger entries, newest first (all of them with `usize::MAX`).
    pub async fn entries(&self, user: &str, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let items = self
            .table
            .with_prefix(pk(user), "ENTRY#", true, limit)
            .await?;
        codec::decode_all(items)
    }

    /// When each of `user`'s badges was awarded.
    pub async fn badges(&self, user: &str) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        let items = self
            .table
            .with_prefix(pk(user), "BADGE#", false, usize::MAX)
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let text = |n: &str| item.get(n).and_then(|v| v.as_s().ok());
                let at = OffsetDateTime::parse(
                    text("awarded_at")?,
                    &time::format_description::well_known::Rfc3339,
                )
                .ok()?;
                Some((text("badge")?.clone(), at))
            })
            .collect())
    }

    /// A put of `item`: version-guarded when `previous` is given (`Some(None)`: it must not
    /// exist yet), unconditional otherwise.
    fn put(
        &self,
        item: super::Item,
        guard: Guard,
        previous: Option<Option<u64>>,
    ) -> Result<Write, StoreError> {
        let write = match previous {
            Some(version) => self.table.versioned_put(item, version)?,
            None => {
                let put = Put::builder()
                    .table_name(self.table.name())
                    .set_item(Some(item))
                    .build()
                    .map_err(StoreError::internal)?;
                TransactWriteItem::builder().put(put).build()
            }
        };
        Ok(Write(guard, write))
    }

    /// The writes of one change (at most 100 items: a change writes a handful).
    pub fn writes(&self, change: &Change<'_>) -> Result<Vec<Write>, StoreError> {
        let (account, previous) = change.account;
        let user = account.user_id.as_str();
        let mut writes = Vec::new();
        let item = codec::encode_keyed(
            account,
            &[
                (PK, pk(user)),
                (SK, POINTS_SK.into()),
                (ENTITY, "points_account".into()),
            ],
        )?;
        writes.push(self.put(item, Guard::Version, Some(previous))?);
        if let Some((state, previous)) = change.order {
            let item = codec::encode_keyed(
                state,
                &[
                    (PK, pk(user)),
                    (SK, format!("ORDER#{}", state.order_id)),
                    (ENTITY, "order_points".into()),
                ],
            )?;
            writes.push(self.put(item, Guard::Version, Some(previous))?);
        }
        for entry in change.entries {
            let item = codec::encode_keyed(
                entry,
                &[
                    (PK, pk(user)),
                    (SK, format!("ENTRY#{}#{}", sortable(entry.at), entry.id)),
                    (ENTITY, "points_entry".into()),
                ],
            )?;
            writes.push(self.put(item, Guard::None, None)?);
        }
        let awarded_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(StoreError::internal)?;
        for badge in change.badges {
            let item = super::Item::from([
                (PK.to_owned(), AttributeValue::S(pk(user))),
                (SK.to_owned(), AttributeValue::S(format!("BADGE#{badge}"))),
                (ENTITY.to_owned(), AttributeValue::S("badge".into())),
                ("badge".to_owned(), AttributeValue::S((*badge).to_owned())),
                (
                    "awarded_at".to_owned(),
                    AttributeValue::S(awarded_at.clone()),
                ),
            ]);
            writes.push(self.put(item, Guard::Version, Some(None))?);
        }
        for (board, score) in [
            ("all-time".to_owned(), account.score),
            (format!("month#{}", account.month), account.month_score),
        ] {
            let mut item = super::Item::from([
                (PK.to_owned(), AttributeValue::S(pk(user))),
                (SK.to_owned(), AttributeValue::S(format!("SCORE#{board}"))),
                (ENTITY.to_owned(), AttributeValue::S("score".into())),
                (GSI1PK.to_owned(), AttributeValue::S(board_pk(&board))),
                (GSI1SK.to_owned(), AttributeValue::S(score_key(score, user))),
                ("user_id".to_owned(), AttributeValue::S(user.to_owned())),
                ("score".to_owned(), AttributeValue::N(score.to_string())),
            ]);
            if let Some(name) = &account.public_name {
                item.insert("name".into(), AttributeValue::S(name.clone()));
            }
            writes.push(self.put(item, Guard::None, None)?);
        }
        writes.extend(event_writes(&self.table, change.events)?);
        Ok(writes)
    }

    /// Runs `writes` as one transaction.
    pub async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.table.transact(writes).await
    }

    /// The top `n` of `board`, best first.
    pub async fn top(&self, board: &str, n: usize) -> Result<Vec<Placing>, StoreError> {
        let page = self
            .table
            .client()
            .query()
            .table_name(self.table.name())
            .index_name(BY_GSI1.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI1PK)
            .expression_attribute_values(":pk", AttributeValue::S(board_pk(board)))
            .scan_index_forward(false)
            .limit(i32::try_from(n).unwrap_or(100))
            .send()
            .await
            .map_err(StoreError::from_lookup)?;
        Ok(page
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| {
                let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
                Some(Placing {
                    user_id: text("user_id")?,
                    score: item.get("score")?.as_n().ok()?.parse().ok()?,
                    name: text("name"),
                })
            })
            .collect())
    }

    /// `user`'s rank on `board` with `score`: one more than how many are ahead, counted up
    /// to [`RANK_COUNTED_TO`] (`None` past it).
    pub async fn rank(
        &self,
        board: &str,
        score: i64,
        user: &str,
    ) -> Result<Option<u64>, StoreError> {
        let mine = score_key(score, user);
        let mut ahead: u64 = 0;
        let mut start = None;
        loop {
            let page = self
                .table
                .client()
                .query()
                .table_name(self.table.name())
                .index_name(BY_GSI1.name)
                .key_condition_expression("#pk = :pk AND #sk > :mine")
                .expression_attribute_names("#pk", GSI1PK)
                .expression_attribute_names("#sk", GSI1SK)
                .expression_attribute_values(":pk", AttributeValue::S(board_pk(board)))
                .expression_attribute_values(":mine", AttributeValue::S(mine.clone()))
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_lookup)?;
            ahead += u64::try_from(page.count).unwrap_or(0);
            if ahead >= RANK_COUNTED_TO {
                return Ok(None);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(Some(ahead + 1));
            }
        }
    }
}
