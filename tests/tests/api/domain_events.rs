//! Domain events: every business change puts its events in the outbox in its own
//! transaction, and every event matches its checked-in JSON Schema (`events/schemas/`).

use std::collections::{BTreeMap, BTreeSet};

use http::{Method, StatusCode};
use razorpay_local::PayOutcome;
use serde_json::{Value, json};
use shared::auth::Role;
use shared::domain::event::TYPES;
use shared::outbox::{Forwarder, Republished, Window};

/// Time enough to publish the few events these tests make.
const BUDGET: std::time::Duration = std::time::Duration::from_secs(20);
use stockroom_tests::{TestApp, root};

use crate::orders_refunds::{paid, refund};
use crate::orders_support::{fetch, order, pay, shop};
use crate::purchasing::{act, po, receipt, supplier};

/// Every schema in `events/schemas/`, compiled against the shared envelope, by event type.
fn validators() -> BTreeMap<String, jsonschema::Validator> {
    let dir = root().join("events/schemas");
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap())
            .unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
    };
    let envelope = read("envelope.v1.json");
    jsonschema::meta::validate(&envelope).expect("the envelope is a valid JSON Schema");
    let registry = jsonschema::Registry::new()
        .add(envelope["$id"].as_str().unwrap(), envelope.clone())
        .unwrap()
        .prepare()
        .unwrap();
    let mut validators = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(kind) = name.strip_suffix(".v1.json") else {
            continue;
        };
        if kind == "envelope" {
            continue;
        }
        let schema = read(&name);
        jsonschema::meta::validate(&schema)
            .unwrap_or_else(|e| panic!("{name} is not a valid JSON Schema: {e}"));
        let validator = jsonschema::options()
            .with_registry(&registry)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{name} does not compile: {e}"));
        validators.insert(kind.to_owned(), validator);
    }
    validators
}

/// Asserts that each event matches its type's schema, naming every mismatch.
fn assert_valid(events: &[Value]) {
    let validators = validators();
    let mut wrong = Vec::new();
    for event in events {
        let kind = event["type"].as_str().unwrap_or_default();
        let Some(validator) = validators.get(kind) else {
            wrong.push(format!("{kind}: no schema in events/schemas"));
            continue;
        };
        for e in validator.iter_errors(event) {
            wrong.push(format!("{kind} at {}: {e}", e.instance_path()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn post(app: &TestApp, path: &str, role: Role, body: &Value) -> Value {
    let r = app.send_json(Method::POST, path, role, body, &[]).await;
    assert!(r.status.is_success(), "{path}: {}", r.text);
    r.body
}

#[test]
fn there_is_a_schema_for_every_event_type_and_no_other() {
    let schemas: BTreeSet<String> = validators().into_keys().collect();
    let types: BTreeSet<String> = TYPES.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(schemas, types);
}

#[tokio::test]
async fn every_business_change_announces_events_that_match_their_schemas() {
    let app = TestApp::spawn().await;
    // A paid order of a stocked catalogue, then refunds: one processed, one failed.
    let (shop, o, _) = paid(&app).await;
    let id = o["id"].as_str().unwrap();
    let first = refund(
        &app,
        id,
        &json!({"amount": 1001, "restock": [{"product_id": shop.p1, "quantity": 1}]}),
        "events-refund-1",
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let second = refund(&app, id, &json!({"amount": 500}), "events-refund-2").await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    for (r, processed) in [(&first, true), (&second, false)] {
        let refund_id = r.body["refund"]["id"].as_str().unwrap();
        let d = app.razorpay.process_refund(refund_id, processed).unwrap();
        assert_eq!(app.deliver(&d).await.body["status"], "applied");
    }
    // Its parcel: packed, shipped, an attempt failed, then delivered.
    let parcels = app
        .get(&format!("/v1/orders/{id}/shipments"), Role::Customer)
        .await;
    let parcel = parcels.body["items"][0]["id"].as_str().unwrap().to_owned();
    post(
        &app,
        &format!("/v1/shipments/{parcel}/pack"),
        Role::Staff,
        &json!({}),
    )
    .await;
    post(
        &app,
        &format!("/v1/shipments/{parcel}/ship"),
        Role::Staff,
        &json!({"carrier": "delhivery", "tracking_number": "DL-1"}),
    )
    .await;
    for status in ["failed", "delivered"] {
        post(
            &app,
            &format!("/v1/shipments/{parcel}/checkpoints"),
            Role::Staff,
            &json!({"status": status}),
        )
        .await;
    }
    // A second paid order's parcel comes back.
    let returning = order(&app, &shop).await;
    pay(&app, &returning).await;
    let parcels = app
        .get(
            &format!("/v1/orders/{}/shipments", returning["id"].as_str().unwrap()),
            Role::Customer,
        )
        .await;
    let back = parcels.body["items"][0]["id"].as_str().unwrap().to_owned();
    post(
        &app,
        &format!("/v1/shipments/{back}/ship"),
        Role::Staff,
        &json!({"carrier": "delhivery", "tracking_number": "DL-2"}),
    )
    .await;
    post(
        &app,
        &format!("/v1/shipments/{back}/checkpoints"),
        Role::Staff,
        &json!({"status": "returned"}),
    )
    .await;
    // Orders that end otherwise: cancelled, failed then expired, short-paid (flagged).
    let cancelled = order(&app, &shop).await;
    post(
        &app,
        &format!("/v1/orders/{}/cancel", cancelled["id"].as_str().unwrap()),
        Role::Customer,
        &json!({}),
    )
    .await;
    let failing = order(&app, &shop).await;
    let failed = app
        .razorpay
        .pay(
            failing["razorpay_order_id"].as_str().unwrap(),
            PayOutcome::Failed,
            None,
        )
        .unwrap();
    app.deliver(&failed.deliveries[0]).await;
    let short = order(&app, &shop).await;
    let underpaid = app
        .razorpay
        .pay(
            short["razorpay_order_id"].as_str().unwrap(),
            PayOutcome::Captured,
            Some(100),
        )
        .unwrap();
    for d in &underpaid.deliveries {
        app.deliver(d).await;
    }
    app.sweep(time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .await;
    assert_eq!(
        fetch(&app, failing["id"].as_str().unwrap()).await["status"],
        "expired"
    );
    // The catalogue: a price change, a name change, an archive.
    let product = app
        .get(&format!("/v1/products/{}", shop.p2), Role::Manager)
        .await;
    let r = app
        .patch_product(
            &shop.p2,
            &product.etag(),
            &json!({"price": {"amount_minor": 1500, "currency": "INR"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .patch_product(&shop.p2, &r.etag(), &json!({"name": "Renamed"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Stock of p2 runs low, then out (reorder level 3; 10 on hand, 1 shipped with each paid
    // order, the unpaid ones' holds given back).
    for q in [5, 3] {
        let r = app.move_stock(&json!({"type": "ship", "product_id": shop.p2, "warehouse_id": shop.w, "quantity": q})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let archived = app.archive_product(&shop.p2).await;
    assert_eq!(archived.status, StatusCode::OK, "{}", archived.text);
    // Purchasing: submitted, then goods arrive.
    let s = supplier(&app, "Acme Textiles", &[(&shop.p1, 250, 10)]).await;
    let r = po(
        &app,
        &s,
        &shop.w,
        json!([{"product_id": shop.p1, "quantity": 20}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let po_id = r.body["id"].as_str().unwrap();
    assert_eq!(act(&app, po_id, "submit").await.status, StatusCode::OK);
    let r = receipt(
        &app,
        po_id,
        json!([{"product_id": shop.p1, "quantity": 5}]),
        "events-receipt",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // The loyalty function settles the paid order: the customer's first badge.
    shared::services::loyalty::settle_order(&app.state, id)
        .await
        .unwrap();

    let events = app.domain_events(None).await;
    assert_valid(&events);
    let seen: BTreeSet<&str> = kinds(&events).into_iter().collect();
    let missing: Vec<&&str> = TYPES.iter().filter(|t| !seen.contains(**t)).collect();
    assert!(missing.is_empty(), "no event of {missing:?} in {seen:?}");

    // The paid order's own story, in order, each at the order's version after its change.
    let story: Vec<&Value> = events
        .iter()
        .filter(|e| e["aggregate"]["id"] == id)
        .collect();
    assert_eq!(
        story
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [
            "order.placed",
            "order.paid",
            "order.refunded",
            "order.refunded",
            "refund.processed",
            "refund.failed"
        ]
    );
    let versions: Vec<u64> = story
        .iter()
        .map(|e| e["aggregate"]["version"].as_u64().unwrap())
        .collect();
    assert!(versions.is_sorted(), "{versions:?}");
    assert_eq!(story[0]["aggregate"]["version"], 1);
    assert_eq!(story[1]["data"]["amount_paid"], 3004);
    assert_eq!(story[1]["data"]["customer_id"], "user-customer");
    let flagged = events
        .iter()
        .find(|e| e["type"] == "order.flagged")
        .unwrap();
    assert!(
        flagged["data"]["review"]
            .as_str()
            .unwrap()
            .contains("does not match"),
        "{flagged}"
    );
    let repriced = events
        .iter()
        .find(|e| e["type"] == "product.repriced")
        .unwrap();
    assert_eq!(
        (
            &repriced["data"]["previous_price"]["amount_minor"],
            &repriced["data"]["price"]["amount_minor"]
        ),
        (&json!(1002), &json!(1500))
    );
}

#[tokio::test]
async fn repeated_and_reordered_payment_deliveries_announce_the_payment_once() {
    let app = TestApp::spawn().await;
    let o = order(&app, &shop(&app).await).await;
    let payment = app
        .razorpay
        .pay(
            o["razorpay_order_id"].as_str().unwrap(),
            PayOutcome::Captured,
            None,
        )
        .unwrap();
    // Every webhook of the payment, newest first, twice over.
    for _ in 0..2 {
        for d in payment.deliveries.iter().rev() {
            assert_eq!(app.deliver(d).await.status, StatusCode::OK);
        }
    }
    let id = o["id"].as_str().unwrap();
    let story: Vec<Value> = app
        .domain_events(None)
        .await
        .into_iter()
        .filter(|e| e["aggregate"]["id"] == id)
        .collect();
    assert_eq!(kinds(&story), ["order.placed", "order.paid"]);
}

#[tokio::test]
async fn a_change_that_fails_announces_nothing() {
    let app = TestApp::spawn().await;
    let (shop, _, _) = paid(&app).await;
    let before = app.domain_events(None).await.len();
    // More than is available: refused, and no stock.low or stock.out appears.
    let r = app.move_stock(&json!({"type": "ship", "product_id": shop.p1, "warehouse_id": shop.w, "quantity": 100})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    // A stale price change: refused, nothing repriced.
    let r = app
        .patch_product(
            &shop.p1,
            "\"0\"",
            &json!({"price": {"amount_minor": 1, "currency": "INR"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    assert_eq!(app.domain_events(None).await.len(), before);
}

#[tokio::test]
async fn a_window_of_events_the_forwarder_gave_up_on_is_published_again() {
    let app = TestApp::spawn().await;
    let from = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    shop(&app).await;
    let to = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let stored = app.domain_events(None).await;
    assert_eq!(
        stored.len(),
        6,
        "two products created, available and restocked"
    );
    let (events, bus, sqs, queue_url) = app.bus_to_queue(json!(TYPES)).await;
    let forwarder = Forwarder {
        bus,
        events,
        progress: shared::store::ConsumerLog::new(app.state.table.clone()),
        outbox: shared::store::Outbox::new(app.state.table.clone()),
    };
    // The documented invocation parses.
    let sample: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("events/events-forwarder/republish.json")).unwrap(),
    )
    .unwrap();
    serde_json::from_value::<Window>(sample["republish"].clone()).unwrap();
    let done = forwarder
        .republish(Window { from, to }, BUDGET)
        .await
        .unwrap();
    assert_eq!(
        done,
        Republished {
            published: 6,
            failed: 0,
            resume_from: None
        }
    );
    let mut received = BTreeSet::new();
    while received.len() < stored.len() {
        let messages = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        assert!(!messages.is_empty(), "only {received:?} arrived");
        for m in messages {
            let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            assert_eq!(envelope["detail-type"], envelope["detail"]["type"]);
            received.insert(envelope["detail"]["id"].as_str().unwrap().to_owned());
        }
    }
    let ids: BTreeSet<String> = stored
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(received, ids);

    // A window before any event publishes nothing (the window is read 5 minutes wider than
    // asked); nonsense windows are refused.
    let earlier = Window {
        from: from - time::Duration::hours(3),
        to: from - time::Duration::hours(2),
    };
    assert_eq!(
        forwarder.republish(earlier, BUDGET).await.unwrap(),
        Republished::default()
    );
    assert!(
        forwarder
            .republish(Window { from: to, to: from }, BUDGET)
            .await
            .is_err()
    );
    let too_long = Window {
        from: to - time::Duration::days(30),
        to,
    };
    assert!(forwarder.republish(too_long, BUDGET).await.is_err());
    let ancient = Window {
        from: to - time::Duration::days(3000),
        to: to - time::Duration::days(2999),
    };
    assert!(forwarder.republish(ancient, BUDGET).await.is_err());
    // Out of time: it stops and says where to carry on.
    let hurried = forwarder
        .republish(Window { from, to }, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!((hurried.published, hurried.resume_from), (0, Some(from)));
    // A bus that refuses them: every event is counted as failed, for the operator to retry.
    let refusing = Forwarder {
        bus: "no-such-bus".into(),
        ..forwarder
    };
    assert_eq!(
        refusing
            .republish(Window { from, to }, BUDGET)
            .await
            .unwrap(),
        Republished {
            published: 0,
            failed: 6,
            resume_from: None
        }
    );
}
