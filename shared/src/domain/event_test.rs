//! Unit tests of `event`: which changes announce what.

use time::OffsetDateTime;

use super::*;
use crate::domain::fixtures;
use crate::domain::order::OrderStatus;
use crate::domain::payment::RefundState;
use crate::domain::product::{NewProductInput, ProductDraft};
use crate::domain::purchasing::PoLine;

fn kinds(events: &[DomainEvent]) -> Vec<&'static str> {
    events.iter().map(DomainEvent::kind).collect()
}

fn product() -> Product {
    let input: NewProductInput = serde_json::from_value(serde_json::json!({
        "sku": "TEE-1", "name": "Tee", "category": "apparel",
        "price": {"amount_minor": 49900, "currency": "INR"}, "reorder_level": 5,
    }))
    .unwrap();
    Product::create(
        ProductDraft::parse(input).unwrap(),
        OffsetDateTime::now_utc(),
    )
}

fn changed<T: Clone>(before: &T, change: impl FnOnce(&mut T)) -> T {
    let mut after = before.clone();
    change(&mut after);
    after
}

#[test]
fn an_order_announces_each_step_of_its_payment_once() {
    let placed = fixtures::order();
    assert_eq!(kinds(&order_events(None, &placed)), ["order.placed"]);
    let paid = fixtures::paid();
    assert_eq!(kinds(&order_events(Some(&placed), &paid)), ["order.paid"]);
    assert!(
        order_events(Some(&paid), &paid).is_empty(),
        "a repeat announces nothing"
    );
    let cancelled = changed(&placed, |o| o.status = OrderStatus::Cancelled);
    assert_eq!(
        kinds(&order_events(Some(&placed), &cancelled)),
        ["order.cancelled"]
    );
    let expired = changed(&placed, |o| o.status = OrderStatus::Expired);
    assert_eq!(
        kinds(&order_events(Some(&placed), &expired)),
        ["order.expired"]
    );
}

#[test]
fn a_failed_payment_is_announced_once_and_a_flag_on_it_is_not_another() {
    let placed = fixtures::order();
    let failed = changed(&placed, |o| {
        o.status = OrderStatus::PaymentFailed;
        o.payment_event_at = Some(OffsetDateTime::now_utc());
    });
    assert_eq!(
        kinds(&order_events(Some(&placed), &failed)),
        ["payment.failed"]
    );
    // A mismatched payment on the failed order stamps its time and flags it: no new failure.
    let flagged = changed(&failed, |o| {
        o.payment_event_at = o.payment_event_at.map(|t| t + time::Duration::minutes(1));
        o.review = Some("amount does not match".into());
    });
    assert_eq!(
        kinds(&order_events(Some(&failed), &flagged)),
        ["order.flagged"]
    );
    assert!(order_events(Some(&flagged), &flagged).is_empty());
}

#[test]
fn a_refund_is_announced_when_asked_for_and_again_when_it_ends() {
    let paid = fixtures::paid();
    let record = RefundRecord {
        id: "rfnd_1".into(),
        amount: 100,
        state: RefundState::Pending,
        requested_by: Some("manager".into()),
        restocked: Vec::new(),
        created_at: OffsetDateTime::now_utc(),
    };
    let asked = changed(&paid, |o| {
        o.refunds.push(record.clone());
        o.status = OrderStatus::PartiallyRefunded;
    });
    let events = order_events(Some(&paid), &asked);
    assert_eq!(kinds(&events), ["order.refunded"]);
    let Change::OrderRefunded(facts) = &events[0].change else {
        unreachable!()
    };
    assert_eq!(facts.refunded, 100);
    let processed = changed(&asked, |o| o.refunds[0].state = RefundState::Processed);
    assert_eq!(
        kinds(&order_events(Some(&asked), &processed)),
        ["refund.processed"]
    );
    let failed = changed(&asked, |o| o.refunds[0].state = RefundState::Failed);
    assert_eq!(
        kinds(&order_events(Some(&asked), &failed)),
        ["refund.failed"]
    );
}

#[test]
fn a_new_review_flags_the_order_once() {
    let placed = fixtures::order();
    let flagged = changed(&placed, |o| o.review = Some("amount does not match".into()));
    assert_eq!(
        kinds(&order_events(Some(&placed), &flagged)),
        ["order.flagged"]
    );
    let noted = changed(&flagged, |o| o.notes = Some("gift".into()));
    assert!(order_events(Some(&flagged), &noted).is_empty());
}

#[test]
fn a_product_announces_creation_repricing_other_changes_and_archiving_apart() {
    let p = product();
    assert_eq!(kinds(&product_events(None, &p)), ["product.created"]);
    let bump = |next: &mut Product| {
        next.version += 1;
        next.updated_at += time::Duration::seconds(1);
    };
    let repriced = changed(&p, |n| {
        n.price.amount_minor = 39900;
        bump(n);
    });
    let events = product_events(Some(&p), &repriced);
    assert_eq!(kinds(&events), ["product.repriced"]);
    assert_eq!(events[0].aggregate.version, 2);
    let renamed = changed(&p, |n| {
        n.name = "Tee, black".into();
        bump(n);
    });
    assert_eq!(
        kinds(&product_events(Some(&p), &renamed)),
        ["product.updated"]
    );
    let both = changed(&repriced, |n| n.description = "soft".into());
    assert_eq!(
        kinds(&product_events(Some(&p), &both)),
        ["product.repriced", "product.updated"]
    );
    let archived = changed(&p, |n| {
        n.archived = true;
        bump(n);
    });
    assert_eq!(
        kinds(&product_events(Some(&p), &archived)),
        ["product.archived"]
    );
    assert_eq!(
        kinds(&product_events(Some(&archived), &p)),
        ["product.updated"],
        "restoring is an update"
    );
}

#[test]
fn a_level_announces_each_line_it_crosses_once() {
    let now = OffsetDateTime::now_utc();
    let level = |on_hand: i64| {
        let mut l = StockLevel::empty("p1", "w1", now);
        l.on_hand = on_hand;
        l
    };
    let crossing = |from: i64, to: i64| kinds(&level_events(&level(from), &level(to), "TEE-1", 5));
    assert_eq!(crossing(10, 6), Vec::<&str>::new());
    assert_eq!(crossing(6, 5), ["stock.low"]);
    assert_eq!(crossing(5, 3), Vec::<&str>::new(), "already low");
    assert_eq!(crossing(3, 0), ["stock.out"]);
    assert_eq!(crossing(8, 0), ["stock.low", "stock.out"]);
    assert_eq!(crossing(0, 3), ["stock.available"], "back, but still low");
    assert_eq!(crossing(3, 6), ["stock.restocked"]);
    assert_eq!(crossing(0, 10), ["stock.available", "stock.restocked"]);
    // Reserving takes from what is available just as shipping does.
    let mut held = level(10);
    held.reserved = 6;
    let events = level_events(&level(10), &held, "TEE-1", 5);
    assert_eq!(kinds(&events), ["stock.low"]);
    assert_eq!(events[0].aggregate.id, "p1:w1");
}

#[test]
fn a_purchase_order_announces_submission_and_each_receipt() {
    let now = OffsetDateTime::now_utc();
    let draft = PurchaseOrder {
        id: "po1".into(),
        supplier_id: "s1".into(),
        warehouse_id: "w1".into(),
        currency: "INR".into(),
        lines: vec![PoLine {
            product_id: "p1".into(),
            quantity: 10,
            unit_cost: 100,
            received: 0,
        }],
        status: PoStatus::Draft,
        notes: None,
        total: 1000,
        created_by: "manager".into(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    assert!(purchase_order_events(None, &draft).is_empty());
    let submitted = changed(&draft, |po| po.status = PoStatus::Submitted);
    assert_eq!(
        kinds(&purchase_order_events(Some(&draft), &submitted)),
        ["purchase_order.submitted"]
    );
    let part = changed(&submitted, |po| {
        po.lines[0].received = 4;
        po.status = PoStatus::PartiallyReceived;
    });
    assert_eq!(
        kinds(&purchase_order_events(Some(&submitted), &part)),
        ["purchase_order.received"]
    );
    let cancelled = changed(&part, |po| po.status = PoStatus::Cancelled);
    assert!(purchase_order_events(Some(&part), &cancelled).is_empty());
}

#[test]
fn the_published_type_is_the_one_the_event_names() {
    let p = product();
    let placed = fixtures::order();
    let events = [
        order_events(None, &placed),
        order_events(Some(&placed), &fixtures::paid()),
        product_events(None, &p),
    ]
    .concat();
    for e in &events {
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["type"], e.kind());
        assert!(TYPES.contains(&e.kind()));
        assert_eq!(json["schema_version"], SCHEMA_VERSION);
        assert!(json["data"].is_object(), "{json}");
    }
}
