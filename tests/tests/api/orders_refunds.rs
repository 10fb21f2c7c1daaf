//! Refunds: through Razorpay with an idempotency key, partial or full, with optional restock,
//! and refund webhooks in any order.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, TestResponse};

use crate::orders_support::{Shop, fetch, level, order, pay, shop};

/// A customer's order, paid and captured, its webhooks applied; answers the payment id.
pub(crate) async fn paid(app: &TestApp) -> (Shop, Value, String) {
    let shop = shop(app).await;
    let o = order(app, &shop).await;
    let p = pay(app, &o).await;
    (shop, o, p.payment_id)
}

pub(crate) async fn refund(app: &TestApp, id: &str, body: &Value, key: &str) -> TestResponse {
    app.send_json(
        Method::POST,
        &format!("/v1/orders/{id}/refund"),
        Role::Manager,
        body,
        &[("idempotency-key", key)],
    )
    .await
}

#[tokio::test]
async fn a_partial_refund_with_restock_then_the_rest() {
    let app = TestApp::spawn().await;
    let (shop, o, payment) = paid(&app).await;
    let id = o["id"].as_str().unwrap();
    let r = refund(&app, id, &json!({"amount": 1001, "reason": "damaged", "restock": [{"product_id": shop.p1, "quantity": 1}]}), "refund-key-1").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["order"]["status"], "partially_refunded");
    assert_eq!(r.body["order"]["refundable"], 3004 - 1001);
    assert_eq!(r.body["refund"]["state"], "pending");
    assert_eq!(
        level(&app, &shop.p1, &shop.w).await,
        (9, 0),
        "one unit back on the shelf"
    );
    assert_eq!(app.ledger_sum(&shop.p1, &shop.w).await, 9);
    let rest = refund(&app, id, &json!({}), "refund-key-2").await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.text);
    assert_eq!(rest.body["order"]["status"], "refunded");
    assert_eq!(rest.body["refund"]["amount"], 3004 - 1001);
    let refunds = app.razorpay.refunds_of(&payment);
    assert_eq!(
        refunds
            .iter()
            .map(|r| r["amount"].as_i64().unwrap())
            .sum::<i64>(),
        3004
    );
    let more = refund(&app, id, &json!({"amount": 100}), "refund-key-3").await;
    assert_eq!(more.status, StatusCode::CONFLICT, "{}", more.text);
}

#[tokio::test]
async fn a_retried_refund_refunds_once() {
    let app = TestApp::spawn().await;
    let (_, o, payment) = paid(&app).await;
    let id = o["id"].as_str().unwrap();
    let body = json!({"amount": 500});
    let first = refund(&app, id, &body, "same-key-123").await;
    let again = refund(&app, id, &body, "same-key-123").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.razorpay.refunds_of(&payment).len(), 1);
    // Razorpay failing mid-way: the retry with the same key reaches the same Razorpay refund.
    app.razorpay.inject(razorpay_local::Fault {
        path_prefix: "/v1/payments".into(),
        status: 500,
        delay_ms: 0,
        times: 3,
    });
    let failed = refund(&app, id, &json!({"amount": 700}), "flaky-key-123").await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY, "{}", failed.text);
    assert_eq!(failed.body["retryable"], true);
    let retried = refund(&app, id, &json!({"amount": 700}), "flaky-key-123").await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.text);
    assert_eq!(app.razorpay.refunds_of(&payment).len(), 2);
    assert_eq!(fetch(&app, id).await["amount_refunded"], 1200);
}

#[tokio::test]
async fn refunds_are_checked_before_anything_is_sent() {
    let app = TestApp::spawn().await;
    let (shop, o, payment) = paid(&app).await;
    let id = o["id"].as_str().unwrap();
    for body in [
        json!({"amount": 0}),
        json!({"amount": 999_999}),
        json!({"restock": [{"product_id": "nope", "quantity": 1}]}),
        json!({"restock": [{"product_id": shop.p2, "quantity": 2}]}),
        json!({"reason": ""}),
    ] {
        let r = refund(&app, id, &body, &uuid::Uuid::new_v4().to_string()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
    }
    assert!(app.razorpay.refunds_of(&payment).is_empty());
    let unpaid = order(&app, &shop).await;
    let r = refund(
        &app,
        unpaid["id"].as_str().unwrap(),
        &json!({}),
        "unpaid-key-1",
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn refund_webhooks_in_any_order_settle_the_refund() {
    let app = TestApp::spawn().await;
    let (_, o, _) = paid(&app).await;
    let id = o["id"].as_str().unwrap();
    let r = refund(&app, id, &json!({"amount": 1004}), "webhook-refund-1").await;
    let refund_id = r.body["refund"]["id"].as_str().unwrap().to_owned();
    let processed = app.razorpay.process_refund(&refund_id, true).unwrap();
    let mut created_payload: Value = serde_json::from_str(&processed.body).unwrap();
    created_payload["payload"]["refund"]["entity"]["status"] = json!("pending");
    let created = app
        .razorpay
        .delivery("refund.created", &created_payload["payload"]);
    // processed first, then a late created: stays processed.
    assert_eq!(app.deliver(&processed).await.body["status"], "applied");
    assert_eq!(app.deliver(&created).await.body["status"], "unchanged");
    let after = fetch(&app, id).await;
    assert_eq!(after["refunds"][0]["state"], "processed");
    assert_eq!(after["status"], "partially_refunded");
}

#[tokio::test]
async fn a_failed_refund_gives_the_amount_back() {
    let app = TestApp::spawn().await;
    let (_, o, _) = paid(&app).await;
    let id = o["id"].as_str().unwrap();
    let r = refund(&app, id, &json!({}), "full-refund-1").await;
    assert_eq!(r.body["order"]["status"], "refunded");
    let failed = app
        .razorpay
        .process_refund(r.body["refund"]["id"].as_str().unwrap(), false)
        .unwrap();
    assert_eq!(app.deliver(&failed).await.body["status"], "applied");
    let after = fetch(&app, id).await;
    assert_eq!(after["status"], "paid");
    assert_eq!(after["refundable"], 3004);
}

#[tokio::test]
async fn a_refund_made_in_razorpays_dashboard_is_recorded() {
    let app = TestApp::spawn().await;
    let (_, o, payment) = paid(&app).await;
    let d = app.razorpay.delivery("refund.processed", &json!({
        "refund": {"entity": {"id": "rfnd_Dashboard00001", "entity": "refund", "amount": 3004, "currency": "INR",
                              "payment_id": payment, "status": "processed"}},
        "payment": {"entity": {"id": payment, "order_id": o["razorpay_order_id"], "amount": 3004, "currency": "INR"}}
    }));
    assert_eq!(app.deliver(&d).await.body["status"], "applied");
    let after = fetch(&app, o["id"].as_str().unwrap()).await;
    assert_eq!(after["status"], "refunded");
    assert_eq!(after["refunds"][0]["requested_by"], Value::Null);
}

#[tokio::test]
async fn a_refund_that_times_out_is_retryable_and_never_doubles() {
    let app = TestApp::spawn().await;
    let (_, o, payment) = paid(&app).await;
    let id = o["id"].as_str().unwrap();
    // Every attempt (three, 1.5 s each here) outlasts the client's timeout.
    app.razorpay.inject(razorpay_local::Fault {
        path_prefix: "/v1/payments".into(),
        status: 0,
        delay_ms: 2_000,
        times: 3,
    });
    let body = json!({"amount": 1500});
    let slow = refund(&app, id, &body, "slow-refund-1").await;
    assert_eq!(
        slow.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        slow.text
    );
    assert_eq!(
        slow.body["type"],
        "urn:stockroom:problem:payment-provider-unavailable"
    );
    assert_eq!(slow.body["retryable"], true);
    assert_eq!(
        fetch(&app, id).await["refunds"],
        json!([]),
        "nothing recorded"
    );
    let retried = refund(&app, id, &body, "slow-refund-1").await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.text);
    assert_eq!(app.razorpay.refunds_of(&payment).len(), 1);
    assert_eq!(fetch(&app, id).await["amount_refunded"], 1500);
}

#[tokio::test]
async fn a_retried_full_refund_is_replayed_not_refused() {
    let app = TestApp::spawn().await;
    let (_, o, payment) = paid(&app).await;
    let id = o["id"].as_str().unwrap();
    let first = refund(&app, id, &json!({}), "everything-back-1").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["order"]["status"], "refunded");
    let again = refund(&app, id, &json!({}), "everything-back-1").await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["refund"]["id"], first.body["refund"]["id"]);
    assert_eq!(app.razorpay.refunds_of(&payment).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_racing_refunds_never_restock_the_same_units_twice() {
    let app = TestApp::spawn().await;
    let (shop, o, _) = paid(&app).await;
    let id = o["id"].as_str().unwrap();
    assert_eq!(
        level(&app, &shop.p1, &shop.w).await,
        (8, 0),
        "2 units shipped"
    );
    let body = json!({"amount": 500, "restock": [{"product_id": shop.p1, "quantity": 2}]});
    let (a, b) = tokio::join!(
        refund(&app, id, &body, "racing-refund-a"),
        refund(&app, id, &body, "racing-refund-b"),
    );
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.text);
    let (on_hand, _) = level(&app, &shop.p1, &shop.w).await;
    assert_eq!(on_hand, 10, "at most the 2 shipped units come back");
    assert_eq!(app.ledger_sum(&shop.p1, &shop.w).await, on_hand);
    let order = fetch(&app, id).await;
    let restocked: i64 = order["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["restocked"].as_array().unwrap().clone())
        .map(|l| l["quantity"].as_i64().unwrap())
        .sum();
    assert_eq!(restocked, 2, "{order}");
    assert_eq!(
        order["amount_refunded"], 1000,
        "both refunds are money back"
    );
}

#[tokio::test]
async fn a_retry_after_a_webhook_recorded_its_refund_answers_that_refund_and_restocks() {
    let app = TestApp::spawn().await;
    let (shop, o, payment) = paid(&app).await;
    let id = o["id"].as_str().unwrap();
    let key = "lost-record-key-1";
    let body = json!({"restock": [{"product_id": shop.p1, "quantity": 2}]});
    // The first attempt: Razorpay made the refund, then recording it failed (the key is freed).
    let order = shared::services::settlement::load_order(&app.state, id)
        .await
        .unwrap();
    let request: shared::domain::refund::RefundRequest =
        serde_json::from_value(body.clone()).unwrap();
    let (refund_key, call) = orders::refund_call(&order, "user-manager", key, &request, 3004);
    let razorpay = shared::payments::RazorpayClient::new(shared::payments::RazorpaySettings {
        base_url: app.config.payments.as_ref().unwrap().base_url.clone(),
        key_id: stockroom_tests::RAZORPAY_KEY_ID.into(),
        key_secret: stockroom_tests::RAZORPAY_KEY_SECRET.into(),
        timeout: std::time::Duration::from_secs(2),
    })
    .unwrap();
    let made = razorpay.refund(&payment, &refund_key, &call).await.unwrap();
    // Its webhook recorded it meanwhile: nothing is left to refund.
    let d = app.razorpay.delivery("refund.processed", &json!({
        "refund": {"entity": {"id": made.id, "entity": "refund", "amount": 3004, "currency": "INR",
                              "payment_id": payment, "status": "processed"}},
        "payment": {"entity": {"id": payment, "order_id": o["razorpay_order_id"], "amount": 3004, "currency": "INR"}}
    }));
    assert_eq!(app.deliver(&d).await.body["status"], "applied");
    assert_eq!(fetch(&app, id).await["status"], "refunded");

    let retried = refund(&app, id, &body, key).await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.text);
    assert_eq!(retried.body["refund"]["id"], made.id.as_str());
    assert_eq!(
        level(&app, &shop.p1, &shop.w).await,
        (10, 0),
        "the restock is not lost"
    );
    assert_eq!(app.razorpay.refunds_of(&payment).len(), 1, "refunded once");
    let after = fetch(&app, id).await;
    assert_eq!(after["refunds"][0]["requested_by"], "user-manager");
    // Another key on the refunded order is still refused, and makes nothing.
    let other = refund(&app, id, &body, "another-key-1").await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.text);
    assert_eq!(app.razorpay.refunds_of(&payment).len(), 1);
}
