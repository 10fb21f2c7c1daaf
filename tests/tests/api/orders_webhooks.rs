//! Razorpay webhooks: verified before anything else, applied once, in any order.

use futures::future::join_all;
use http::{Method, Request, StatusCode};
use razorpay_local::{Delivery, PayOutcome};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{RAZORPAY_WEBHOOK_SECRET, TestApp};

use crate::orders_support::{Shop, fetch, level, order, shop};

async fn placed(app: &TestApp) -> (Shop, Value) {
    let shop = shop(app).await;
    let o = order(app, &shop).await;
    (shop, o)
}

fn rzp(o: &Value) -> &str {
    o["razorpay_order_id"].as_str().unwrap()
}

async fn ledger_ships(app: &TestApp, shop: &Shop) -> usize {
    let r = app
        .get(
            &format!(
                "/v1/stock/movements?product_id={}&warehouse_id={}",
                shop.p1, shop.w
            ),
            Role::Staff,
        )
        .await;
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "ship")
        .count()
}

/// Paid, shipped once, stock consistent.
async fn assert_paid_once(app: &TestApp, shop: &Shop, id: &str, payment_id: &str) {
    let o = fetch(app, id).await;
    assert_eq!(o["status"], "paid", "{o}");
    assert_eq!(o["stock"], "shipped");
    assert_eq!(o["amount_paid"], o["amount"]);
    assert_eq!(o["payment_id"], payment_id);
    assert_eq!(o["review"], Value::Null);
    assert_eq!(level(app, &shop.p1, &shop.w).await, (8, 0));
    assert_eq!(level(app, &shop.p2, &shop.w).await, (9, 0));
    assert_eq!(ledger_ships(app, shop).await, 1);
    assert_eq!(app.ledger_sum(&shop.p1, &shop.w).await, 8);
}

#[tokio::test]
async fn order_to_paid_end_to_end() {
    let app = TestApp::spawn().await;
    let (shop, o) = placed(&app).await;
    let id = o["id"].as_str().unwrap();
    let paid = app
        .razorpay
        .pay(rzp(&o), PayOutcome::Captured, None)
        .unwrap();
    let verify = app
        .send_json(
            Method::POST,
            &format!("/v1/orders/{id}/verify"),
            Role::Customer,
            &json!({"razorpay_payment_id": paid.payment_id, "razorpay_signature": paid.signature}),
            &[],
        )
        .await;
    assert_eq!(verify.status, StatusCode::OK, "{}", verify.text);
    let mut answers = Vec::new();
    for d in &paid.deliveries {
        let r = app.deliver(d).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        answers.push(r.body["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        answers,
        ["unchanged", "applied", "unchanged"],
        "verify already authorized; captured paid"
    );
    assert_paid_once(&app, &shop, id, &paid.payment_id).await;
    let audit = app.audit_actions().await;
    assert!(audit.contains(&"order.paid".to_owned()), "{audit:?}");
}

#[tokio::test]
async fn every_arrival_order_with_duplicates_pays_once() {
    let orders: [&[usize]; 6] = [
        &[0, 1, 2],
        &[2, 1, 0],
        &[1, 0, 2],
        &[2, 0, 1],
        &[0, 2, 1, 2, 0],
        &[1, 1, 1, 2, 2, 0, 0],
    ];
    for arrival in orders {
        let app = TestApp::spawn().await;
        let (shop, o) = placed(&app).await;
        let paid = app
            .razorpay
            .pay(rzp(&o), PayOutcome::Captured, None)
            .unwrap();
        for &i in arrival {
            let r = app.deliver(&paid.deliveries[i]).await;
            assert_eq!(r.status, StatusCode::OK, "{arrival:?}: {}", r.text);
        }
        assert_paid_once(&app, &shop, o["id"].as_str().unwrap(), &paid.payment_id).await;
    }
}

#[tokio::test]
async fn a_redelivery_is_acknowledged_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (_, o) = placed(&app).await;
    let paid = app
        .razorpay
        .pay(rzp(&o), PayOutcome::Captured, None)
        .unwrap();
    let captured = &paid.deliveries[1];
    assert_eq!(app.deliver(captured).await.body["status"], "applied");
    let before = fetch(&app, o["id"].as_str().unwrap()).await;
    let again = app.deliver(captured).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["status"], "duplicate");
    assert_eq!(
        fetch(&app, o["id"].as_str().unwrap()).await["version"],
        before["version"]
    );
}

#[tokio::test]
async fn concurrent_duplicate_deliveries_apply_exactly_once() {
    let app = TestApp::spawn().await;
    let (shop, o) = placed(&app).await;
    let paid = app
        .razorpay
        .pay(rzp(&o), PayOutcome::Captured, None)
        .unwrap();
    let d = &paid.deliveries[2];
    let answers: Vec<String> = join_all((0..8).map(|_| app.deliver(d)))
        .await
        .into_iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.body["status"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        answers.iter().filter(|a| *a == "applied").count(),
        1,
        "{answers:?}"
    );
    assert_paid_once(&app, &shop, o["id"].as_str().unwrap(), &paid.payment_id).await;
}

#[tokio::test]
async fn a_failed_payment_keeps_the_hold_for_the_next_attempt_and_a_late_failure_never_unpays() {
    let app = TestApp::spawn().await;
    let (shop, o) = placed(&app).await;
    let id = o["id"].as_str().unwrap();
    let failed = app.razorpay.pay(rzp(&o), PayOutcome::Failed, None).unwrap();
    assert_eq!(
        app.deliver(&failed.deliveries[0]).await.body["status"],
        "applied"
    );
    let after = fetch(&app, id).await;
    assert_eq!(
        (after["status"].as_str(), after["stock"].as_str()),
        (Some("payment_failed"), Some("held"))
    );
    assert!(after["checkout"].is_object(), "the customer may try again");
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 2));
    // The customer tries again and pays: the held stock ships.
    let paid = app
        .razorpay
        .pay(rzp(&o), PayOutcome::Captured, None)
        .unwrap();
    for d in paid.deliveries.iter().rev() {
        app.deliver(d).await;
    }
    assert_paid_once(&app, &shop, id, &paid.payment_id).await;
    // A failure delivered late (another copy of the first attempt's) changes nothing.
    let late = app.razorpay.delivery(
        "payment.failed",
        &serde_json::from_str::<Value>(&failed.deliveries[0].body).unwrap()["payload"],
    );
    // (Built within the same second, its body is the first copy's exactly: a duplicate.)
    let status = app.deliver(&late).await.body["status"].clone();
    assert!(status == "unchanged" || status == "duplicate", "{status}");
    assert_eq!(fetch(&app, id).await["status"], "paid");
}

#[tokio::test]
async fn stock_held_through_a_failed_attempt_cannot_be_sold_to_someone_else() {
    let app = TestApp::spawn().await;
    let (shop, o) = placed(&app).await;
    let id = o["id"].as_str().unwrap();
    let failed = app.razorpay.pay(rzp(&o), PayOutcome::Failed, None).unwrap();
    app.deliver(&failed.deliveries[0]).await;
    // Someone else wants all of p1 meanwhile: only what is not held is theirs.
    let r = app
        .move_stock(
            &json!({"type": "ship", "product_id": shop.p1, "warehouse_id": shop.w, "quantity": 10}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let paid = app
        .razorpay
        .pay(rzp(&o), PayOutcome::Captured, None)
        .unwrap();
    app.deliver(&paid.deliveries[1]).await;
    assert_paid_once(&app, &shop, id, &paid.payment_id).await;
}

#[tokio::test]
async fn an_amount_mismatch_flags_the_order_and_does_not_mark_it_paid() {
    let app = TestApp::spawn().await;
    let (shop, o) = placed(&app).await;
    let id = o["id"].as_str().unwrap();
    let short = app
        .razorpay
        .pay(rzp(&o), PayOutcome::Captured, Some(100))
        .unwrap();
    for d in &short.deliveries {
        assert_eq!(app.deliver(d).await.status, StatusCode::OK);
    }
    let after = fetch(&app, id).await;
    assert_eq!(after["status"], "pending_payment");
    assert_eq!(after["stock"], "held");
    assert!(
        after["review"].as_str().unwrap().contains("does not match"),
        "{after}"
    );
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 2));
    assert!(
        app.audit_actions()
            .await
            .contains(&"order.flagged".to_owned())
    );
}

fn raw(body: &str, signature: Option<&str>, event_id: Option<&str>) -> Request<lambda_http::Body> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/v1/webhooks/razorpay")
        .header("content-type", "application/json");
    if let Some(s) = signature {
        b = b.header("x-razorpay-signature", s);
    }
    if let Some(e) = event_id {
        b = b.header("x-razorpay-event-id", e);
    }
    b.body(lambda_http::Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn unsigned_forged_or_truncated_deliveries_change_nothing_and_write_no_audit_rows() {
    let app = TestApp::spawn().await;
    let (shop, o) = placed(&app).await;
    let paid = app
        .razorpay
        .pay(rzp(&o), PayOutcome::Captured, None)
        .unwrap();
    let d: &Delivery = &paid.deliveries[2];
    let wrong_secret = shared::payments::sign_hex("not-the-webhook-secret", d.body.as_bytes());
    let key_secret =
        shared::payments::sign_hex(stockroom_tests::RAZORPAY_KEY_SECRET, d.body.as_bytes());
    let truncated = &d.body[..d.body.len() / 2];
    let cases = [
        raw(&d.body, None, Some(&d.event_id)),
        raw(&d.body, Some("not hex"), Some(&d.event_id)),
        raw(&d.body, Some(&wrong_secret), Some(&d.event_id)),
        raw(&d.body, Some(&key_secret), Some(&d.event_id)),
        raw(truncated, Some(&d.signature), Some(&d.event_id)),
        raw(
            &d.body
                .replace("\"amount_paid\":3004", "\"amount_paid\":3005"),
            Some(&d.signature),
            Some(&d.event_id),
        ),
    ];
    for request in cases {
        let r = app.call(request).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert_eq!(r.body["type"], "urn:stockroom:problem:invalid-signature");
    }
    assert_eq!(
        fetch(&app, o["id"].as_str().unwrap()).await["status"],
        "pending_payment"
    );
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 2));
    // Unauthenticated deliveries write nothing: a flood of them cannot fill the audit log.
    let audit = app.audit_actions().await;
    assert!(
        !audit.iter().any(|a| a == "payments.webhook_rejected"),
        "{audit:?}"
    );

    // Signed but not Razorpay's shape: a clear 400, nothing applied.
    let odd = r#"{"event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","order_id":"order_1"}}}}"#;
    let sig = shared::payments::sign_hex(RAZORPAY_WEBHOOK_SECRET, odd.as_bytes());
    let r = app.call(raw(odd, Some(&sig), Some("evt_odd"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("payload.payment.entity.amount"),
        "{}",
        r.text
    );
    let r = app.call(raw(&d.body, Some(&d.signature), None)).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a delivery without its event id"
    );
}

#[tokio::test]
async fn unknown_events_and_foreign_orders_are_acknowledged() {
    let app = TestApp::spawn().await;
    let unknown = app.razorpay.delivery(
        "subscription.charged",
        &json!({"subscription": {"entity": {"id": "sub_1"}}}),
    );
    let r = app.deliver(&unknown).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
    let foreign = app.razorpay.delivery(
        "payment.captured",
        &json!({"payment": {"entity": {
        "id": "pay_x", "order_id": "order_NotOurs0000000", "amount": 100, "currency": "INR"}}}),
    );
    let r = app.deliver(&foreign).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
}

#[tokio::test]
async fn webhook_secrets_rotate_without_downtime() {
    let app = TestApp::spawn_with(|env| {
        env.insert(
            "RAZORPAY_WEBHOOK_SECRET".into(),
            format!("new-secret-abc,{RAZORPAY_WEBHOOK_SECRET}"),
        );
    })
    .await;
    let (_, o) = placed(&app).await;
    let paid = app
        .razorpay
        .pay(rzp(&o), PayOutcome::Captured, None)
        .unwrap();
    let d = &paid.deliveries[1];
    assert_eq!(
        app.deliver(d).await.status,
        StatusCode::OK,
        "old secret still accepted"
    );
    let mut resigned = d.clone();
    resigned.event_id = "evt_resigned_1".into();
    resigned.signature = shared::payments::sign_hex("new-secret-abc", d.body.as_bytes());
    assert_eq!(
        app.deliver(&resigned).await.status,
        StatusCode::OK,
        "new secret accepted"
    );
}

/// Fills a sample delivery from `events/razorpay/` for `order`.
fn sample(app: &TestApp, name: &str, o: &Value, payment_id: &str) -> Delivery {
    let text = std::fs::read_to_string(
        stockroom_tests::root().join(format!("events/razorpay/{name}.json")),
    )
    .unwrap()
    .replace("{{razorpay_order_id}}", rzp(o))
    .replace("{{order_id}}", o["id"].as_str().unwrap())
    .replace("{{payment_id}}", payment_id)
    .replace("{{refund_id}}", "rfnd_SampleRefund001")
    .replace("{{amount}}", &o["amount"].to_string());
    let payload: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(payload["event"], name);
    app.razorpay.delivery(name, &payload["payload"])
}

#[tokio::test]
async fn the_sample_deliveries_apply_as_documented() {
    let app = TestApp::spawn().await;
    let (shop, o) = placed(&app).await;
    let id = o["id"].as_str().unwrap();
    let paid = app
        .razorpay
        .pay(rzp(&o), PayOutcome::Captured, None)
        .unwrap();
    for name in [
        "payment.failed",
        "payment.authorized",
        "payment.captured",
        "order.paid",
    ] {
        // A failure of another attempt first: it releases, the captured payment then ships.
        let payment = if name == "payment.failed" {
            "pay_EarlierAttempt1"
        } else {
            &paid.payment_id
        };
        let r = app.deliver(&sample(&app, name, &o, payment)).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
    }
    assert_paid_once(&app, &shop, id, &paid.payment_id).await;
    for (name, state) in [("refund.created", "pending"), ("refund.failed", "failed")] {
        let r = app.deliver(&sample(&app, name, &o, &paid.payment_id)).await;
        assert_eq!(r.body["status"], "applied", "{name}: {}", r.text);
        assert_eq!(fetch(&app, id).await["refunds"][0]["state"], state);
    }
    let processed = app
        .deliver(&sample(&app, "refund.processed", &o, &paid.payment_id))
        .await;
    assert_eq!(
        processed.body["status"], "unchanged",
        "a failed refund stays failed"
    );
    assert_eq!(fetch(&app, id).await["status"], "paid");
}

#[tokio::test]
async fn storage_trouble_answers_5xx_so_razorpay_retries() {
    let app = TestApp::spawn_with(|env| {
        env.insert(
            "TABLE_NAME".into(),
            "stockroom-table-that-does-not-exist".into(),
        );
    })
    .await;
    let d = app.razorpay.delivery(
        "payment.captured",
        &json!({"payment": {"entity": {"id": "pay_1", "order_id": "order_1", "amount": 100, "currency": "INR"}}}),
    );
    let r = app.deliver(&d).await;
    assert!(r.status.is_server_error(), "{}: {}", r.status, r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
}

/// A delivery of `event` with `payload`, signed as Razorpay signs, that happened at `at`.
fn signed_at(event: &str, payload: &Value, at: i64, event_id: &str) -> Delivery {
    let body = json!({"entity": "event", "account_id": "acc_StockroomLocal1", "event": event,
                      "contains": ["payment"], "payload": payload, "created_at": at})
    .to_string();
    Delivery {
        event_id: event_id.into(),
        event: event.into(),
        signature: shared::payments::sign_hex(RAZORPAY_WEBHOOK_SECRET, body.as_bytes()),
        body,
    }
}

fn authorized(o: &Value, payment_id: &str) -> Value {
    json!({"payment": {"entity": {"id": payment_id, "entity": "payment", "amount": o["amount"],
           "currency": "INR", "status": "authorized", "order_id": rzp(o)}}})
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn a_signed_delivery_resent_under_a_fresh_event_id_is_a_duplicate() {
    let app = TestApp::spawn().await;
    let (_, o) = placed(&app).await;
    let id = o["id"].as_str().unwrap();
    let first = signed_at(
        "payment.authorized",
        &authorized(&o, "pay_AttemptA0001"),
        now_secs() - 60,
        "evt_A1",
    );
    assert_eq!(app.deliver(&first).await.body["status"], "applied");
    let second = signed_at(
        "payment.authorized",
        &authorized(&o, "pay_AttemptB0001"),
        now_secs(),
        "evt_B1",
    );
    assert_eq!(app.deliver(&second).await.body["status"], "applied");
    let replay = Delivery {
        event_id: "evt_FreshIdForAnOldBody".into(),
        ..first
    };
    let r = app.deliver(&replay).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "duplicate");
    assert_eq!(fetch(&app, id).await["payment_id"], "pay_AttemptB0001");
}

#[tokio::test]
async fn an_older_authorization_delivered_late_never_moves_the_order_back() {
    let app = TestApp::spawn().await;
    let (_, o) = placed(&app).await;
    let id = o["id"].as_str().unwrap();
    let newer = signed_at(
        "payment.authorized",
        &authorized(&o, "pay_AttemptB0002"),
        now_secs(),
        "evt_B2",
    );
    let older = signed_at(
        "payment.authorized",
        &authorized(&o, "pay_AttemptA0002"),
        now_secs() - 120,
        "evt_A2",
    );
    assert_eq!(app.deliver(&newer).await.body["status"], "applied");
    let late = app.deliver(&older).await;
    assert_eq!(late.body["status"], "unchanged", "{}", late.text);
    let order = fetch(&app, id).await;
    assert_eq!(order["status"], "payment_authorized");
    assert_eq!(order["payment_id"], "pay_AttemptB0002");
}

#[tokio::test]
async fn an_authorization_older_than_48_hours_is_refused_but_late_money_still_pays() {
    let app = TestApp::spawn().await;
    let (shop, o) = placed(&app).await;
    let id = o["id"].as_str().unwrap();
    let long_ago = now_secs() - 49 * 3600;
    let stale = signed_at(
        "payment.authorized",
        &authorized(&o, "pay_Stale000001"),
        long_ago,
        "evt_Stale1",
    );
    let r = app.deliver(&stale).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.body["detail"].as_str().unwrap().contains("48 hours"),
        "{}",
        r.text
    );
    assert_eq!(fetch(&app, id).await["status"], "pending_payment");
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 2));
    // A capture told late (deliveries were down for days) is still money received.
    let payload = json!({"payment": {"entity": {"id": "pay_Stale000001", "entity": "payment",
        "amount": o["amount"], "currency": "INR", "status": "captured", "order_id": rzp(&o)}}});
    let captured = signed_at("payment.captured", &payload, long_ago, "evt_Stale2");
    assert_eq!(app.deliver(&captured).await.body["status"], "applied");
    assert_eq!(fetch(&app, id).await["status"], "paid");
}
