use time::{Duration, OffsetDateTime};

use super::*;
use crate::domain::fixtures::{order, paid};
use crate::domain::order::RefundRecord;
use crate::domain::payment::RefundState;

const RULES: LoyaltyRules = LoyaltyRules {
    points_per_100: 1,
    point_value_minor: 1,
    expiry: Duration::days(365),
    max_redeem_percent: 20,
};

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap()
}

fn ledger_sum(entries: &[Entry]) -> i64 {
    entries.iter().map(|e| e.points).sum()
}

fn refunded(mut o: Order, amounts: &[i64]) -> Order {
    for (i, a) in amounts.iter().enumerate() {
        o.refunds.push(RefundRecord {
            id: format!("rfnd_{i}"),
            amount: *a,
            state: RefundState::Processed,
            requested_by: None,
            restocked: vec![],
            created_at: t0(),
        });
    }
    o.status = OrderStatus::PartiallyRefunded;
    o
}

#[test]
fn a_paid_order_earns_once_however_often_it_is_settled() {
    let mut account = PointsAccount::new("u1", t0());
    let mut state = OrderPoints::new("o1");
    let first = state.settle(&mut account, &paid(), &RULES, t0());
    assert_eq!(first.entries.len(), 1);
    assert_eq!(first.entries[0].points, 499, "1 point per 100 of 49,900");
    assert!(
        state
            .settle(&mut account, &paid(), &RULES, t0())
            .entries
            .is_empty()
    );
    assert_eq!(account.balance, 499);
    assert_eq!((account.paid_orders, account.score), (1, 499));
    assert_eq!(first.badges, ["first_order"]);
}

#[test]
fn refunds_reverse_in_proportion_and_in_full_at_a_full_refund() {
    let mut account = PointsAccount::new("u1", t0());
    let mut state = OrderPoints::new("o1");
    let mut all = state.settle(&mut account, &paid(), &RULES, t0()).entries;
    all.extend(
        state
            .settle(&mut account, &refunded(paid(), &[10_000]), &RULES, t0())
            .entries,
    );
    assert_eq!(
        account.balance,
        499 - 100,
        "a fifth refunded: a fifth reversed (rounded down)"
    );
    // Reordered: the full refund known before the second partial one is settled again.
    all.extend(
        state
            .settle(
                &mut account,
                &refunded(paid(), &[10_000, 39_900]),
                &RULES,
                t0(),
            )
            .entries,
    );
    all.extend(
        state
            .settle(&mut account, &refunded(paid(), &[10_000]), &RULES, t0())
            .entries,
    );
    all.extend(
        state
            .settle(
                &mut account,
                &refunded(paid(), &[10_000, 39_900]),
                &RULES,
                t0(),
            )
            .entries,
    );
    assert_eq!(account.balance, 0);
    assert_eq!(ledger_sum(&all), account.balance);
    assert_eq!(account.score, 0, "net earned");
    assert_eq!(
        account.paid_orders, 1,
        "a refund does not uncount the order"
    );
}

#[test]
fn unspent_points_expire_and_spent_ones_do_not() {
    let mut account = PointsAccount::new("u1", t0());
    let mut state = OrderPoints::new("o1");
    let mut all = state.settle(&mut account, &paid(), &RULES, t0()).entries;
    let mut spending = OrderPoints::new("o2");
    all.extend(account.redeem(&mut spending, 99, t0() + Duration::days(10)));
    assert!(account.expire(t0() + Duration::days(364)).is_none());
    let expired = account.expire(t0() + Duration::days(366)).unwrap();
    assert_eq!(expired.points, -400, "499 earned, 99 spent");
    all.push(expired);
    assert_eq!(account.balance, 0);
    assert_eq!(ledger_sum(&all), 0);
    assert!(account.expire(t0() + Duration::days(400)).is_none(), "once");
}

#[test]
fn points_spent_on_an_order_that_ends_unpaid_come_back_once() {
    let mut account = PointsAccount::new("u1", t0());
    state_paid(&mut account);
    let mut spending = OrderPoints::new("o2");
    account.redeem(&mut spending, 200, t0());
    let mut cancelled = order();
    cancelled.id = "o2".into();
    cancelled.status = OrderStatus::Cancelled;
    let back = spending.settle(&mut account, &cancelled, &RULES, t0());
    assert_eq!(
        back.entries.iter().map(|e| e.points).collect::<Vec<_>>(),
        [200]
    );
    assert!(
        spending
            .settle(&mut account, &cancelled, &RULES, t0())
            .entries
            .is_empty()
    );
    assert_eq!(account.balance, 499);
}

fn state_paid(account: &mut PointsAccount) {
    OrderPoints::new("o1").settle(account, &paid(), &RULES, t0());
}

#[test]
fn redemption_is_capped_by_the_balance_and_the_share_of_the_total() {
    let mut account = PointsAccount::new("u1", t0());
    assert_eq!(account.redeemable(10_000, &RULES, t0()), 0);
    state_paid(&mut account);
    assert_eq!(account.redeemable(1_000, &RULES, t0()), 200, "20% of 1,000");
    assert_eq!(
        account.redeemable(1_000_000, &RULES, t0()),
        499,
        "the whole balance"
    );
    assert_eq!(
        account.redeemable(1_000_000, &RULES, t0() + Duration::days(400)),
        0,
        "expired points are not at hand"
    );
}

#[test]
fn each_badge_is_awarded_once() {
    let mut account = PointsAccount::new("u1", t0());
    let mut awarded = Vec::new();
    for n in 0..6 {
        let mut o = paid();
        o.id = format!("o{n}");
        awarded.extend(
            OrderPoints::new(&o.id)
                .settle(&mut account, &o, &RULES, t0())
                .badges,
        );
    }
    // 499.00 an order: the third passes 1,000.00 paid and 1,000 points.
    let expected = ["first_order", "spent_1000", "points_1000", "fifth_order"];
    assert_eq!(awarded, expected);
    assert_eq!(account.badges, expected);
}

#[test]
fn points_given_back_keep_the_expiry_they_had() {
    let mut account = PointsAccount::new("u1", t0());
    state_paid(&mut account);
    let mut spending = OrderPoints::new("o2");
    let mut all = account.redeem(&mut spending, 499, t0() + Duration::days(300));
    let mut cancelled = order();
    cancelled.id = "o2".into();
    cancelled.status = OrderStatus::Cancelled;
    // Cancelled after the points' year: they come back and lapse at once.
    let back = spending.settle(&mut account, &cancelled, &RULES, t0() + Duration::days(400));
    let kinds: Vec<EntryKind> = back.entries.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EntryKind::Restore, EntryKind::Expire]);
    all.extend(back.entries);
    assert_eq!(account.balance, 0);
    assert_eq!(
        ledger_sum(&all) + 499,
        account.balance,
        "499 earned before `all` began"
    );
}

#[test]
fn orders_in_another_currency_than_the_points_earn_none() {
    let mut account = PointsAccount::new("u1", t0());
    state_paid(&mut account);
    let mut dollars = paid();
    dollars.id = "o9".into();
    dollars.currency = crate::domain::Currency::parse("USD").unwrap();
    let settled = OrderPoints::new("o9").settle(&mut account, &dollars, &RULES, t0());
    assert!(settled.entries.is_empty());
    assert_eq!(account.balance, 499);
    assert_eq!(account.currency.as_deref(), Some("INR"));
}
