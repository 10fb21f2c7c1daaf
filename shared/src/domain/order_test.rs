//! Unit tests of `order`: the payment state machine under every arrival order.

use proptest::prelude::*;

use super::*;
use crate::domain::fixtures::{order, paid};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn payment(kind: PaymentEventKind, payment_id: &str) -> PaymentEvent {
    PaymentEvent {
        kind,
        razorpay_order_id: "order_1".into(),
        payment_id: payment_id.into(),
        amount: 49_900,
        currency: "INR".into(),
        at: OffsetDateTime::UNIX_EPOCH,
    }
}

/// Applies the outcome the way the API does, counting shipments and releases.
#[derive(Debug, Default)]
struct Effects {
    ships: u32,
    releases: u32,
    flags: u32,
    late_refunds: u32,
}

fn apply(order: &Order, outcome: Outcome, effects: &mut Effects) -> Order {
    match outcome {
        Outcome::Unchanged => order.clone(),
        Outcome::Update(next) => next,
        Outcome::Ship(mut next) => {
            effects.ships += 1;
            next.stock = StockState::Shipped;
            next
        }
        Outcome::Release(mut next) => {
            if next.stock == StockState::Held {
                effects.releases += 1;
                next.stock = StockState::Released;
            }
            next
        }
        Outcome::Flag(next, _) => {
            effects.flags += 1;
            next
        }
        Outcome::RefundLate(next) => {
            effects.late_refunds += 1;
            next
        }
    }
}

#[test]
fn a_successful_payment_in_order_ships_once() {
    let mut effects = Effects::default();
    let mut o = order();
    for kind in [
        PaymentEventKind::Authorized,
        PaymentEventKind::Captured,
        PaymentEventKind::OrderPaid,
    ] {
        o = apply(
            &o,
            o.on_payment(&payment(kind, "pay_1"), now()),
            &mut effects,
        );
    }
    assert_eq!(o.status, OrderStatus::Paid);
    assert_eq!(o.amount_paid, 49_900);
    assert_eq!(o.payment_id.as_deref(), Some("pay_1"));
    assert_eq!((effects.ships, effects.releases, effects.flags), (1, 0, 0));
}

#[test]
fn a_late_failure_never_unpays() {
    let mut effects = Effects::default();
    let mut o = order();
    o = apply(
        &o,
        o.on_payment(&payment(PaymentEventKind::OrderPaid, "pay_1"), now()),
        &mut effects,
    );
    let late = o.on_payment(&payment(PaymentEventKind::Failed, "pay_1"), now());
    assert_eq!(late, Outcome::Unchanged);
}

#[test]
fn a_failed_attempt_keeps_the_hold_and_a_later_attempt_ships_it() {
    let mut effects = Effects::default();
    let mut o = order();
    o = apply(
        &o,
        o.on_payment(&payment(PaymentEventKind::Failed, "pay_1"), now()),
        &mut effects,
    );
    assert_eq!(
        (o.status, o.stock),
        (OrderStatus::PaymentFailed, StockState::Held)
    );
    o = apply(
        &o,
        o.on_payment(&payment(PaymentEventKind::Captured, "pay_2"), now()),
        &mut effects,
    );
    assert_eq!(o.status, OrderStatus::Paid);
    assert_eq!((effects.ships, effects.releases), (1, 0));
}

#[test]
fn a_failure_of_another_attempt_keeps_an_authorized_payment() {
    let mut effects = Effects::default();
    let mut o = order();
    o = apply(
        &o,
        o.on_payment(&payment(PaymentEventKind::Authorized, "pay_2"), now()),
        &mut effects,
    );
    assert_eq!(
        o.on_payment(&payment(PaymentEventKind::Failed, "pay_1"), now()),
        Outcome::Unchanged
    );
}

#[test]
fn an_amount_or_currency_mismatch_is_flagged_and_not_paid() {
    let mut wrong = payment(PaymentEventKind::Captured, "pay_1");
    wrong.amount = 100;
    let Outcome::Flag(next, Concern::AmountMismatch) = order().on_payment(&wrong, now()) else {
        panic!("expected a flag");
    };
    assert_eq!(next.status, OrderStatus::PendingPayment);
    assert!(next.review.as_deref().unwrap().contains("does not match"));
    // The same mismatch again changes nothing.
    assert_eq!(next.on_payment(&wrong, now()), Outcome::Unchanged);

    let mut dollars = payment(PaymentEventKind::OrderPaid, "pay_1");
    dollars.currency = "USD".into();
    assert!(matches!(
        order().on_payment(&dollars, now()),
        Outcome::Flag(_, Concern::AmountMismatch)
    ));
}

#[test]
fn money_after_cancellation_or_expiry_is_recorded_for_a_full_refund_and_never_ships() {
    for closed in [OrderStatus::Cancelled, OrderStatus::Expired] {
        let mut o = order();
        o.status = closed;
        o.stock = StockState::Released;
        // Even a payment of another amount is refunded: all of what arrived goes back.
        let mut odd = payment(PaymentEventKind::Captured, "pay_1");
        odd.amount = 100;
        let Outcome::RefundLate(next) = o.on_payment(&odd, now()) else {
            panic!("expected a late refund");
        };
        assert_eq!((next.status, next.stock), (closed, StockState::Released));
        assert_eq!(next.amount_paid, 100);
        assert_eq!(next.owed_refund(), Some(100));
        assert!(!next.status.is_paid());
        // The same payment told again (order.paid after payment.captured) changes nothing.
        assert_eq!(
            next.on_payment(&payment(PaymentEventKind::OrderPaid, "pay_1"), now()),
            Outcome::Unchanged
        );
        // Once the refund is recorded nothing more is owed.
        let refunded = next.with_refund(
            RefundRecord {
                id: "rfnd_1".into(),
                amount: 100,
                state: RefundState::Pending,
                requested_by: Some("system".into()),
                restocked: vec![],
                created_at: now(),
            },
            now(),
        );
        assert_eq!((refunded.status, refunded.owed_refund()), (closed, None));
        // A second payment on the closed order is left to a person.
        assert!(matches!(
            refunded.on_payment(&payment(PaymentEventKind::Captured, "pay_2"), now()),
            Outcome::Flag(_, Concern::SecondPayment)
        ));
    }
}

#[test]
fn an_order_expires_when_its_hold_ends_and_an_authorized_one_gets_a_grace() {
    let o = order();
    let end = o.deadline();
    assert!(o.checkout_open(end - time::Duration::seconds(1)));
    assert!(!o.checkout_open(end));
    assert_eq!(
        o.expire(end - time::Duration::seconds(1)),
        Outcome::Unchanged
    );
    let Outcome::Release(expired) = o.expire(end) else {
        panic!("expected the order to expire");
    };
    assert_eq!(expired.status, OrderStatus::Expired);
    assert!(expired.cancel(true, end).is_err());
    assert!(!expired.checkout_open(end));

    let mut effects = Effects::default();
    let authorized = apply(
        &o,
        o.on_payment(&payment(PaymentEventKind::Authorized, "pay_1"), end),
        &mut effects,
    );
    assert_eq!(authorized.expire(end), Outcome::Unchanged);
    assert!(matches!(
        authorized.expire(end + AUTHORIZED_GRACE),
        Outcome::Release(_)
    ));
    // Settled orders never expire.
    assert_eq!(paid().expire(end + AUTHORIZED_GRACE), Outcome::Unchanged);
}

#[test]
fn a_second_captured_payment_is_flagged() {
    let mut effects = Effects::default();
    let mut o = order();
    o = apply(
        &o,
        o.on_payment(&payment(PaymentEventKind::Captured, "pay_1"), now()),
        &mut effects,
    );
    assert!(matches!(
        o.on_payment(&payment(PaymentEventKind::Captured, "pay_2"), now()),
        Outcome::Flag(_, Concern::SecondPayment)
    ));
}

fn refund(id: &str, amount: i64, state: RefundState) -> RefundEvent {
    RefundEvent {
        refund_id: id.into(),
        payment_id: "pay_1".into(),
        razorpay_order_id: Some("order_1".into()),
        amount,
        currency: "INR".into(),
        state,
    }
}

#[test]
fn refunds_move_the_status_and_failed_ones_give_the_money_back() {
    let mut effects = Effects::default();
    let mut o = paid();
    o = apply(
        &o,
        o.on_refund(&refund("rfnd_1", 9_900, RefundState::Pending), now()),
        &mut effects,
    );
    assert_eq!(
        (o.status, o.refundable()),
        (OrderStatus::PartiallyRefunded, 40_000)
    );
    o = apply(
        &o,
        o.on_refund(&refund("rfnd_1", 9_900, RefundState::Failed), now()),
        &mut effects,
    );
    assert_eq!((o.status, o.refundable()), (OrderStatus::Paid, 49_900));
    // A late `refund.created` does not revive a failed refund.
    assert_eq!(
        o.on_refund(&refund("rfnd_1", 9_900, RefundState::Pending), now()),
        Outcome::Unchanged
    );
    o = apply(
        &o,
        o.on_refund(&refund("rfnd_2", 49_900, RefundState::Processed), now()),
        &mut effects,
    );
    assert_eq!((o.status, o.refundable()), (OrderStatus::Refunded, 0));
}

#[test]
fn a_refund_of_another_payment_is_flagged() {
    let mut e = refund("rfnd_1", 100, RefundState::Pending);
    e.payment_id = "pay_9".into();
    assert!(matches!(
        paid().on_refund(&e, now()),
        Outcome::Flag(_, Concern::ForeignRefund)
    ));
}

#[test]
fn cancellation_rules() {
    let o = order();
    assert!(matches!(o.cancel(false, now()), Ok(Outcome::Release(_))));
    let mut authorized = order();
    authorized.status = OrderStatus::PaymentAuthorized;
    assert!(authorized.cancel(false, now()).is_err());
    assert!(matches!(
        authorized.cancel(true, now()),
        Ok(Outcome::Release(_))
    ));
    assert!(paid().cancel(true, now()).is_err());
    let mut cancelled = order();
    cancelled.status = OrderStatus::Cancelled;
    assert_eq!(cancelled.cancel(false, now()), Ok(Outcome::Unchanged));
}

#[test]
fn new_orders_are_validated_field_by_field() {
    let p1 = ProductId::generate().to_string();
    let bad: NewOrder = serde_json::from_value(serde_json::json!({
        "lines": [
            {"product_id": p1, "quantity": 0},
            {"product_id": p1, "quantity": 2}
        ],
        "notes": ""
    }))
    .unwrap();
    let errors = OrderRequest::parse(&bad).unwrap_err().into_vec();
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["lines[0].quantity", "lines[1].product_id", "notes"]
    );
    let empty = NewOrder {
        lines: vec![],
        notes: None,
    };
    assert!(OrderRequest::parse(&empty).is_err());
}

#[test]
fn a_malformed_product_id_is_named_at_its_line_and_nothing_is_parsed() {
    let order: NewOrder = serde_json::from_value(serde_json::json!({
        "lines": [
            {"product_id": ProductId::generate().to_string(), "quantity": 1},
            {"product_id": "../../etc", "quantity": 1}
        ]
    }))
    .unwrap();
    let errors = OrderRequest::parse(&order).unwrap_err().into_vec();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "lines[1].product_id");
    assert!(errors[0].message.contains("../../etc"));
}

#[test]
fn a_malformed_warehouse_id_is_named_at_its_line() {
    let order: NewOrder = serde_json::from_value(serde_json::json!({
        "lines": [{"product_id": ProductId::generate().to_string(), "quantity": 1, "warehouse_id": "w 1"}]
    }))
    .unwrap();
    let errors = OrderRequest::parse(&order).unwrap_err().into_vec();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "lines[0].warehouse_id");
}

fn event_strategy() -> impl Strategy<Value = PaymentEvent> {
    prop_oneof![
        Just(payment(PaymentEventKind::Authorized, "pay_1")),
        Just(payment(PaymentEventKind::Captured, "pay_1")),
        Just(payment(PaymentEventKind::OrderPaid, "pay_1")),
        Just(payment(PaymentEventKind::Failed, "pay_0")),
    ]
}

proptest! {
    /// Any arrival order of a failed first attempt and a successful second one, with any
    /// repeats, ends paid with the stock shipped exactly once.
    #[test]
    fn any_arrival_order_pays_once(mut events in prop::collection::vec(event_strategy(), 0..12)) {
        events.push(payment(PaymentEventKind::OrderPaid, "pay_1"));
        let mut effects = Effects::default();
        let mut o = order();
        for e in &events {
            o = apply(&o, o.on_payment(e, now()), &mut effects);
        }
        prop_assert_eq!(o.status, OrderStatus::Paid);
        prop_assert_eq!(o.amount_paid, 49_900);
        prop_assert_eq!(o.payment_id.as_deref(), Some("pay_1"));
        prop_assert_eq!(effects.ships, 1);
        prop_assert_eq!(o.stock, StockState::Shipped);
        prop_assert_eq!(effects.releases, 0);
        prop_assert_eq!((effects.flags, effects.late_refunds), (0, 0));
    }
}

#[test]
fn two_spellings_of_one_product_id_are_refused_as_a_repeated_line() {
    let id = ProductId::generate().to_string();
    let order: NewOrder = serde_json::from_value(serde_json::json!({
        "lines": [
            {"product_id": id, "quantity": 1},
            {"product_id": id.to_uppercase(), "quantity": 1}
        ]
    }))
    .unwrap();
    let errors = OrderRequest::parse(&order).unwrap_err().into_vec();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "lines[1].product_id");
    assert!(errors[0].message.contains("repeats"));
}
