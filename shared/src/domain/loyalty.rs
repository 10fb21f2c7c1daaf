//! Loyalty points, achievements and leaderboard scores: pure rules.
//!
//! Points are an append-only ledger per account whose sum is the balance (the same discipline
//! as stock). What an order is worth in points is derived from the order as it is now
//! ([`OrderPoints::settle`]): earned when paid (at the configured rate), reversed in
//! proportion to what was refunded, redeemed at checkout and given back if the order is
//! cancelled or expires unpaid. Applying an order's state again adds nothing, so duplicate and
//! reordered events converge on the same ledger.
//!
//! Earned points expire: each paid order's points are a lot expiring after the configured
//! time. Spending (redemptions, reversals) uses the lots that expire first, so what expires
//! is what was not spent: once the lots expired by now hold more than was ever spent (and
//! expired before), the difference expires ([`PointsAccount::expire`]).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::order::{Order, OrderStatus};

/// How points are earned, worth and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoyaltyRules {
    /// Points earned per 100 minor units paid (`LOYALTY_POINTS_PER_100`, default 1).
    pub points_per_100: i64,
    /// What one point is worth at checkout, in minor units (`LOYALTY_POINT_VALUE_MINOR`,
    /// default 1: with the default rate, 1% back).
    pub point_value_minor: i64,
    /// How long earned points live (`LOYALTY_EXPIRY_DAYS`, default 365).
    pub expiry: Duration,
    /// The largest share of an order's total points may pay, in percent
    /// (`LOYALTY_MAX_REDEEM_PERCENT`, default 20).
    pub max_redeem_percent: i64,
}

/// One earned lot: points expiring together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// When it expires (Unix seconds).
    pub expires_at: i64,
    /// Points in it.
    pub points: i64,
}

/// An account's points and what its achievements and scores are counted from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsAccount {
    /// The account.
    pub user_id: String,
    /// The sum of its ledger (below zero when points already spent were reversed).
    pub balance: i64,
    /// Lots not yet expired, oldest first.
    pub lots: Vec<Lot>,
    /// Points of lots that reached their expiry (taken out of `lots`).
    pub lapsed: i64,
    /// Points spent (redeemed or reversed), ever.
    pub spent: i64,
    /// Points expired, ever.
    pub expired: i64,
    /// Points earned net of reversals, ever (the all-time score).
    pub score: i64,
    /// The month of `month_score` (`YYYY-MM`).
    pub month: String,
    /// Points earned net of reversals in `month` (the monthly score).
    pub month_score: i64,
    /// Orders paid.
    pub paid_orders: u32,
    /// Minor units paid, ever.
    pub paid_minor: i64,
    /// Months in which an order was paid (the first few).
    pub months: Vec<String>,
    /// Units on the largest paid order.
    pub largest_basket: i64,
    /// Badges awarded.
    pub badges: Vec<String>,
    /// The name shown on leaderboards, when the account opted in.
    pub public_name: Option<String>,
    /// The currency its points were earned in (the first paid order's): orders in another
    /// currency earn none, and points pay only for orders in this one.
    #[serde(default)]
    pub currency: Option<String>,
    /// Grows with every change.
    pub version: u64,
}

/// What one order has put in an account's ledger so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPoints {
    /// The order.
    pub order_id: String,
    /// Points earned for it.
    pub earned: i64,
    /// Of those, points taken back for refunds.
    pub reversed: i64,
    /// Points spent on it at checkout.
    pub redeemed: i64,
    /// Of those, points given back (cancelled or expired unpaid).
    pub restored: i64,
    /// Whether its payment was counted towards achievements.
    pub counted: bool,
    /// Grows with every change (0: never stored).
    pub version: u64,
}

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Earned for a paid order (negative: an order no longer counted as paid).
    Earn,
    /// Taken back for a refund (positive: a refund that failed).
    Reverse,
    /// Spent at checkout.
    Redeem,
    /// Given back: the order they were spent on was cancelled or expired unpaid.
    Restore,
    /// Expired unspent.
    Expire,
}

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// A UUIDv7.
    pub id: String,
    /// What it records.
    pub kind: EntryKind,
    /// Signed points.
    pub points: i64,
    /// The order it is about.
    pub order_id: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The balance after it.
    pub balance_after: i64,
}

/// The badges there are: code, name and what earns it.
pub const BADGES: [(&str, &str, &str); 8] = [
    ("first_order", "First order", "Paid for a first order"),
    ("fifth_order", "Regular", "Paid for five orders"),
    ("tenth_order", "Devotee", "Paid for ten orders"),
    ("spent_1000", "Patron", "Paid 1,000.00 in total"),
    ("spent_10000", "Benefactor", "Paid 10,000.00 in total"),
    (
        "big_basket",
        "Big basket",
        "Paid for an order of ten units or more",
    ),
    ("points_1000", "Point collector", "Earned 1,000 points"),
    (
        "three_months",
        "Seasoned",
        "Paid for orders in three different months",
    ),
];

fn month_of(at: OffsetDateTime) -> String {
    format!("{:04}-{:02}", at.year(), u8::from(at.month()))
}

impl PointsAccount {
    /// An account with no points yet.
    pub fn new(user_id: &str, now: OffsetDateTime) -> Self {
        Self {
            user_id: user_id.to_owned(),
            balance: 0,
            lots: Vec::new(),
            lapsed: 0,
            spent: 0,
            expired: 0,
            score: 0,
            month: month_of(now),
            month_score: 0,
            paid_orders: 0,
            paid_minor: 0,
            months: Vec::new(),
            largest_basket: 0,
            badges: Vec::new(),
            public_name: None,
            currency: None,
            version: 0,
        }
    }

    fn entry(
        &mut self,
        kind: EntryKind,
        points: i64,
        order_id: Option<&str>,
        now: OffsetDateTime,
    ) -> Entry {
        self.balance = self.balance.saturating_add(points);
        Entry {
            id: uuid::Uuid::now_v7().to_string(),
            kind,
            points,
            order_id: order_id.map(str::to_owned),
            at: now,
            balance_after: self.balance,
        }
    }

    /// Expires what is due by `now`: the points of lapsed lots beyond everything spent and
    /// expired before.
    pub fn expire(&mut self, now: OffsetDateTime) -> Option<Entry> {
        let now_s = now.unix_timestamp();
        let (lapsed, live): (Vec<Lot>, Vec<Lot>) =
            self.lots.iter().partition(|l| l.expires_at <= now_s);
        self.lots = live;
        self.lapsed = self
            .lapsed
            .saturating_add(lapsed.iter().map(|l| l.points).sum::<i64>());
        let due = (self.lapsed - self.spent).max(0) - self.expired;
        (due > 0).then(|| {
            self.expired += due;
            self.entry(EntryKind::Expire, -due, None, now)
        })
    }

    /// The points at hand now: the balance after what is due to expire.
    pub fn available(&self, now: OffsetDateTime) -> i64 {
        let mut probe = self.clone();
        probe.expire(now);
        probe.balance.max(0)
    }

    /// The most points an order totalling `total_minor` may be paid with.
    pub fn redeemable(&self, total_minor: i64, rules: &LoyaltyRules, now: OffsetDateTime) -> i64 {
        let cap = total_minor.saturating_mul(rules.max_redeem_percent)
            / 100
            / rules.point_value_minor.max(1);
        self.available(now).min(cap).max(0)
    }

    /// Spends `points` on order `order_id` at checkout.
    pub fn redeem(
        &mut self,
        state: &mut OrderPoints,
        points: i64,
        now: OffsetDateTime,
    ) -> Vec<Entry> {
        let mut entries: Vec<Entry> = self.expire(now).into_iter().collect();
        self.spent += points;
        state.redeemed += points;
        entries.push(self.entry(EntryKind::Redeem, -points, Some(&state.order_id), now));
        entries
    }

    fn roll_month(&mut self, now: OffsetDateTime) {
        let month = month_of(now);
        if self.month != month {
            self.month = month;
            self.month_score = 0;
        }
    }

    fn score_change(&mut self, points: i64, now: OffsetDateTime) {
        self.roll_month(now);
        self.score += points;
        self.month_score += points;
    }

    /// Badges newly earned by the account's counts (each awarded once).
    fn award(&mut self) -> Vec<&'static str> {
        let earned = |code: &str| match code {
            "first_order" => self.paid_orders >= 1,
            "fifth_order" => self.paid_orders >= 5,
            "tenth_order" => self.paid_orders >= 10,
            "spent_1000" => self.paid_minor >= 100_000,
            "spent_10000" => self.paid_minor >= 1_000_000,
            "big_basket" => self.largest_basket >= 10,
            "points_1000" => self.score >= 1_000,
            "three_months" => self.months.len() >= 3,
            _ => false,
        };
        let new: Vec<&'static str> = BADGES
            .iter()
            .map(|(code, _, _)| *code)
            .filter(|code| earned(code) && !self.badges.iter().any(|b| b == code))
            .collect();
        self.badges.extend(new.iter().map(|c| (*c).to_owned()));
        new
    }
}

/// What settling an order changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// Ledger entries, in order.
    pub entries: Vec<Entry>,
    /// Badges newly awarded.
    pub badges: Vec<&'static str>,
}

impl Settled {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.badges.is_empty()
    }
}

impl OrderPoints {
    /// Nothing yet for `order_id`.
    pub fn new(order_id: &str) -> Self {
        Self {
            order_id: order_id.to_owned(),
            ..Self::default()
        }
    }

    /// Brings what `order` has put in `account`'s ledger in line with the order as it is now:
    /// earned points for what was paid, reversed in proportion to what is refunded, redeemed
    /// points given back when the order ended unpaid.
    pub fn settle(
        &mut self,
        account: &mut PointsAccount,
        order: &Order,
        rules: &LoyaltyRules,
        now: OffsetDateTime,
    ) -> Settled {
        let mut out = Settled::default();
        out.entries.extend(account.expire(now));
        let currency = order.currency.as_str();
        let same_currency = account.currency.as_deref().is_none_or(|c| c == currency);
        let paid = order.status.is_paid() && order.amount_paid > 0;
        if paid && account.currency.is_none() {
            account.currency = Some(currency.to_owned());
        }
        let earned = if paid && same_currency {
            order.amount_paid.saturating_mul(rules.points_per_100) / 100
        } else {
            0
        };
        let refunded = order.refunded().clamp(0, order.amount_paid);
        let reversed = if paid {
            i128::from(earned)
                .saturating_mul(i128::from(refunded))
                .checked_div(i128::from(order.amount_paid))
                .and_then(|r| i64::try_from(r).ok())
                .unwrap_or(0)
        } else {
            0
        };
        let id = order.id.clone();
        let earn = earned - self.earned;
        if earn != 0 {
            self.earned = earned;
            if earn > 0 {
                account.lots.push(Lot {
                    expires_at: (now + rules.expiry).unix_timestamp(),
                    points: earn,
                });
            } else {
                account.spent -= earn;
            }
            account.score_change(earn, now);
            out.entries
                .push(account.entry(EntryKind::Earn, earn, Some(&id), now));
        }
        let reverse = reversed - self.reversed;
        if reverse != 0 {
            self.reversed = reversed;
            account.spent += reverse;
            account.score_change(-reverse, now);
            out.entries
                .push(account.entry(EntryKind::Reverse, -reverse, Some(&id), now));
        }
        // Ended unpaid (money that arrives later for such an order is refunded in full).
        let ended_unpaid = matches!(order.status, OrderStatus::Cancelled | OrderStatus::Expired);
        let restore = if ended_unpaid {
            self.redeemed - self.restored
        } else {
            0
        };
        if restore > 0 {
            self.restored += restore;
            // Un-spent, not re-earned: they keep the expiry of the lots they came from (so a
            // redeem-and-cancel cannot make points live longer), and lapse at once if it passed.
            account.spent -= restore;
            out.entries
                .push(account.entry(EntryKind::Restore, restore, Some(&id), now));
            out.entries.extend(account.expire(now));
        }
        if paid && !self.counted {
            self.counted = true;
            account.paid_orders += 1;
            account.paid_minor = account.paid_minor.saturating_add(order.amount_paid);
            let month = month_of(order.paid_at.unwrap_or(now));
            if account.months.len() < 12 && !account.months.contains(&month) {
                account.months.push(month);
            }
            let units: i64 = order.lines.iter().map(|l| l.quantity).sum();
            account.largest_basket = account.largest_basket.max(units);
        }
        out.badges = account.award();
        out
    }
}

#[cfg(test)]
#[path = "loyalty_test.rs"]
mod tests;
