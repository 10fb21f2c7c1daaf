//! Unit tests of `notification`: who hears of what.

use super::*;
use crate::domain::Role;
use crate::domain::event::TYPES;

fn published(kind: &str, data: serde_json::Value) -> Published {
    let mut event = serde_json::json!({
        "id": "0193a5c2-0000-7000-8000-000000000001", "type": kind, "schema_version": 1,
        "occurred_at": "2026-12-07T10:00:00Z",
        "aggregate": {"type": "order", "id": "o1", "version": 2}
    });
    event["data"] = data;
    serde_json::from_value(event).unwrap()
}

#[test]
fn every_event_type_has_a_topic() {
    for kind in TYPES {
        assert!(Topic::of(kind).is_some(), "{kind}");
    }
    assert_eq!(Topic::of("order.paid"), Some(Topic::Orders));
    assert_eq!(Topic::of("refund.failed"), Some(Topic::Orders));
    assert_eq!(Topic::of("nonsense"), None);
}

#[test]
fn a_customer_hears_of_their_own_business_but_not_of_a_review_flag() {
    let mine = serde_json::json!({"customer_id": "c1", "order_id": "o1"});
    assert_eq!(published("order.paid", mine.clone()).customer(), Some("c1"));
    assert_eq!(
        published("shipment.shipped", mine.clone()).customer(),
        Some("c1")
    );
    assert_eq!(published("order.flagged", mine).customer(), None);
    assert_eq!(
        published("stock.low", serde_json::json!({"product_id": "p1"})).customer(),
        None
    );
}

#[test]
fn a_topic_is_open_to_the_roles_that_read_its_business() {
    let may = |role: Role, topic: Topic| role.allows(topic.permission());
    assert!(!may(Role::Customer, Topic::Orders));
    assert!(!may(Role::Customer, Topic::Stock));
    assert!(may(Role::Staff, Topic::Stock));
    assert!(may(Role::Staff, Topic::Orders));
    assert!(may(Role::Manager, Topic::Purchasing));
    assert!(!may(Role::Staff, Topic::Purchasing));
}

#[test]
fn the_message_is_the_event_without_its_envelope_bookkeeping() {
    let p = published("order.paid", serde_json::json!({"customer_id": "c1"}));
    let sent = serde_json::to_value(p.message()).unwrap();
    assert_eq!(
        sent,
        serde_json::json!({
            "id": "0193a5c2-0000-7000-8000-000000000001", "type": "order.paid",
            "occurred_at": "2026-12-07T10:00:00Z", "data": {"customer_id": "c1"}
        })
    );
    assert!(Topic::parse("orders").is_ok());
    assert!(Topic::parse(&"x".repeat(10_000)).unwrap_err().len() < 200);
}
