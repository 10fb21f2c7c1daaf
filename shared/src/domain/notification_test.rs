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
fn every_event_type_but_a_customers_badge_has_a_topic() {
    for kind in TYPES {
        if kind.starts_with("achievement.") {
            assert_eq!(
                Topic::of(kind),
                None,
                "a customer's badge is no staff topic"
            );
            continue;
        }
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
        published("achievement.awarded", mine.clone()).customer(),
        Some("c1")
    );
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

#[test]
fn a_client_message_is_read_strictly() {
    assert_eq!(
        Action::parse(r#"{"action":"subscribe","topics":["stock","orders","stock"]}"#),
        Ok(Action::Subscribe(BTreeSet::from([
            Topic::Orders,
            Topic::Stock
        ])))
    );
    assert_eq!(
        Action::parse(r#"{"action":"unsubscribe","topics":["stock"]}"#),
        Ok(Action::Unsubscribe(BTreeSet::from([Topic::Stock])))
    );
    let id = uuid::Uuid::now_v7();
    assert_eq!(
        Action::parse(&format!(r#"{{"action":"resume","after":"{id}"}}"#)),
        Ok(Action::Resume { after: id })
    );
    let status = |text: &str| Action::parse(text).unwrap_err().status;
    assert_eq!(status("[]"), 400);
    assert_eq!(status(r#"{"action":7}"#), 400);
    assert_eq!(status(r#"{"action":"$connect"}"#), 400);
    assert_eq!(status(r#"{"action":"subscribe","topics":"stock"}"#), 422);
    assert_eq!(
        status(r#"{"action":"subscribe","topics":["everything"]}"#),
        422
    );
    let many = vec!["stock"; 17];
    assert_eq!(
        status(&serde_json::json!({"action": "subscribe", "topics": many}).to_string()),
        422
    );
    let v4 = uuid::Uuid::new_v4();
    assert_eq!(
        status(&format!(r#"{{"action":"resume","after":"{v4}"}}"#)),
        422
    );
}

#[test]
fn an_event_id_tells_when_it_was_made_and_ids_of_a_moment_sort_after_its_first() {
    let now = OffsetDateTime::now_utc();
    let id = uuid::Uuid::now_v7();
    let made = made_at(id).unwrap();
    assert!(
        (made - now).abs() < time::Duration::seconds(5),
        "{made} vs {now}"
    );
    let earlier = first_id_at(now - time::Duration::seconds(1));
    assert!(earlier < id);
    assert!(first_id_at(now + time::Duration::seconds(1)) > id);
    let at = made_at(earlier).unwrap();
    assert!((at - (now - time::Duration::seconds(1))).abs() < time::Duration::milliseconds(1));
}

#[test]
fn a_connection_ends_with_its_token_or_api_gateways_limit() {
    let now = OffsetDateTime::now_utc();
    let soon = now + time::Duration::minutes(15);
    let c = Connection::opened("c", "u", Role::Staff, 0, soon, now);
    assert_eq!(c.ends_at, soon);
    let late = now + time::Duration::hours(24);
    let c = Connection::opened("c", "u", Role::Staff, 0, late, now);
    assert_eq!(c.ends_at, now + MAX_CONNECTION);
}

#[test]
fn a_customers_event_reaches_them_and_its_topic() {
    let mine = serde_json::json!({"customer_id": "c1"});
    assert_eq!(
        published("order.paid", mine.clone()).audiences(),
        [
            Audience::Account("c1".into()),
            Audience::Topic(Topic::Orders)
        ]
    );
    assert_eq!(
        published("order.flagged", mine).audiences(),
        [Audience::Topic(Topic::Orders)]
    );
    assert_eq!(
        published("stock.low", serde_json::json!({"customer_id": "c1"})).audiences(),
        [Audience::Topic(Topic::Stock)]
    );
}
