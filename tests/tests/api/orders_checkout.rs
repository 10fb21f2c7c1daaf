//! Placing orders: catalogue prices, reserved stock, the Razorpay order, the checkout callback,
//! and what happens when Razorpay fails.

use http::{Method, StatusCode};
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{RAZORPAY_KEY_ID, TestApp};

use crate::orders_support::{fetch, level, order, place, shop};

#[tokio::test]
async fn an_order_is_priced_from_the_catalogue_reserves_stock_and_opens_a_razorpay_order() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let o = order(&app, &shop).await;
    assert_eq!(o["status"], "pending_payment");
    assert_eq!(o["stock"], "held");
    assert_eq!(o["amount"], 2 * 1001 + 1002);
    assert_eq!(o["currency"], "INR");
    assert_eq!(o["customer_id"], "user-customer");
    assert_eq!(
        o["lines"][0]["warehouse_id"], shop.w,
        "chosen: the only warehouse with stock"
    );
    assert_eq!(o["checkout"]["key_id"], RAZORPAY_KEY_ID);
    assert_eq!(o["checkout"]["razorpay_order_id"], o["razorpay_order_id"]);
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 2));
    assert_eq!(level(&app, &shop.p2, &shop.w).await, (10, 1));
    assert_eq!(app.razorpay.order_count(), 1);
}

#[tokio::test]
async fn the_client_cannot_set_prices_and_bad_orders_write_nothing() {
    // Lines beyond the stock, not beyond the customers' unit cap (its own test).
    let app = TestApp::spawn_with(|env| {
        env.insert("ORDER_MAX_UNITS_PER_LINE".into(), "100".into());
    })
    .await;
    let shop = shop(&app).await;
    let cases = [
        (
            json!({"lines": [{"product_id": shop.p1, "quantity": 1, "unit_price": 1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"lines": [{"product_id": shop.p1, "quantity": 1}], "amount": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"lines": []}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"lines": [{"product_id": shop.p1, "quantity": 0}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"lines": [{"product_id": "nope", "quantity": 1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"lines": [{"product_id": shop.p1, "quantity": 11}]}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"lines": [{"product_id": shop.p1, "quantity": 1}, {"product_id": shop.p1, "quantity": 1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (body, status) in cases {
        let r = place(&app, Role::Customer, &body).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    let unknown = place(
        &app,
        Role::Customer,
        &json!({"lines": [{"product_id": "nope", "quantity": 1}]}),
    )
    .await;
    assert_eq!(unknown.body["errors"][0]["field"], "lines[0].product_id");
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 0));
    assert_eq!(app.razorpay.order_count(), 0);
    let no_key = app
        .send_json(
            Method::POST,
            "/v1/orders",
            Role::Customer,
            &json!({"lines": [{"product_id": shop.p1, "quantity": 1}]}),
            &[],
        )
        .await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST, "{}", no_key.text);
}

#[tokio::test]
async fn a_retried_order_is_created_once() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let body = json!({"lines": [{"product_id": shop.p1, "quantity": 3}]});
    let headers = [("idempotency-key", "order-retry-1")];
    let first = app
        .send_json(Method::POST, "/v1/orders", Role::Customer, &body, &headers)
        .await;
    let again = app
        .send_json(Method::POST, "/v1/orders", Role::Customer, &body, &headers)
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 3));
    assert_eq!(app.razorpay.order_count(), 1);
}

#[tokio::test]
async fn razorpay_failures_release_the_stock_and_answer_retryable_errors() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let body = json!({"lines": [{"product_id": shop.p1, "quantity": 4}]});
    for (fault, status, slug) in [
        (
            razorpay_local::Fault {
                path_prefix: "/v1/orders".into(),
                status: 503,
                delay_ms: 0,
                times: 1,
            },
            StatusCode::BAD_GATEWAY,
            "payment-provider-error",
        ),
        (
            razorpay_local::Fault {
                path_prefix: "/v1/orders".into(),
                status: 0,
                delay_ms: 2500,
                times: 1,
            },
            StatusCode::SERVICE_UNAVAILABLE,
            "payment-provider-unavailable",
        ),
    ] {
        app.razorpay.inject(fault);
        let key = uuid::Uuid::new_v4().to_string();
        let r = app
            .send_json(
                Method::POST,
                "/v1/orders",
                Role::Customer,
                &body,
                &[("idempotency-key", &key)],
            )
            .await;
        assert_eq!(r.status, status, "{}", r.text);
        assert_eq!(r.body["type"], format!("urn:stockroom:problem:{slug}"));
        assert_eq!(r.body["retryable"], true);
        assert!(r.header("retry-after").is_some());
        assert!(!r.text.contains("test-key-secret"), "no secret in errors");
        assert_eq!(
            level(&app, &shop.p1, &shop.w).await,
            (10, 0),
            "stock given back"
        );
        // The same key works once Razorpay is back.
        let retry = app
            .send_json(
                Method::POST,
                "/v1/orders",
                Role::Customer,
                &body,
                &[("idempotency-key", &key)],
            )
            .await;
        assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.text);
        let cancel = app
            .send_json(
                Method::POST,
                &format!("/v1/orders/{}/cancel", retry.body["id"].as_str().unwrap()),
                Role::Customer,
                &json!({}),
                &[],
            )
            .await;
        assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.text);
    }
    let list = app.get("/v1/orders", Role::Customer).await;
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        2,
        "no half-made orders"
    );
}

#[tokio::test]
async fn razorpay_refusing_the_amount_is_a_clear_client_error() {
    let app = TestApp::spawn().await;
    let mut cheap = stockroom_tests::product_body(7);
    cheap["price"]["amount_minor"] = json!(50);
    let p = app.create_product(&cheap).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = app.create_warehouse("BLR-9").await;
    app.move_stock(&json!({"type": "receive", "product_id": p, "warehouse_id": w, "quantity": 5}))
        .await;
    let r = place(
        &app,
        Role::Customer,
        &json!({"lines": [{"product_id": p, "quantity": 1}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["type"], "urn:stockroom:problem:payment-rejected");
    assert_eq!(r.body["retryable"], false);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("minimum amount"),
        "{}",
        r.text
    );
    assert_eq!(level(&app, &p, &w).await, (5, 0));
}

#[tokio::test]
async fn the_checkout_callback_is_verified_with_the_key_secret() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let o = order(&app, &shop).await;
    let id = o["id"].as_str().unwrap();
    let paid = app
        .razorpay
        .pay(
            o["razorpay_order_id"].as_str().unwrap(),
            razorpay_local::PayOutcome::Authorized,
            None,
        )
        .unwrap();
    let path = format!("/v1/orders/{id}/verify");
    let forged = app
        .send_json(
            Method::POST,
            &path,
            Role::Customer,
            &json!({"razorpay_payment_id": paid.payment_id, "razorpay_signature": "00".repeat(32)}),
            &[],
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{}", forged.text);
    assert_eq!(fetch(&app, id).await["status"], "pending_payment");
    assert!(
        app.audit_actions()
            .await
            .contains(&"order.verify_failed".to_owned())
    );
    let other_payment = app
        .send_json(
            Method::POST,
            &path,
            Role::Customer,
            &json!({"razorpay_payment_id": "pay_other", "razorpay_signature": paid.signature}),
            &[],
        )
        .await;
    assert_eq!(other_payment.status, StatusCode::BAD_REQUEST);
    let ok = app
        .send_json(Method::POST, &path, Role::Customer, &json!({"razorpay_payment_id": paid.payment_id, "razorpay_signature": paid.signature, "razorpay_order_id": o["razorpay_order_id"]}), &[])
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["status"], "payment_authorized");
    assert_eq!(ok.body["payment_id"], paid.payment_id);
    assert_eq!(
        ok.body["stock"], "held",
        "nothing ships before the webhook confirms"
    );
}

#[tokio::test]
async fn customers_see_and_cancel_only_their_own_orders() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let mine = order(&app, &shop).await;
    let id = mine["id"].as_str().unwrap();
    let stranger = app.token_for("someone-else", Role::Customer, 300);
    let seen = app
        .call_with_token(Method::GET, &format!("/v1/orders/{id}"), &stranger, None)
        .await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND);
    let cancel = app
        .call_with_token(
            Method::POST,
            &format!("/v1/orders/{id}/cancel"),
            &stranger,
            Some(&json!({})),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::NOT_FOUND);
    let theirs = app
        .call_with_token(Method::GET, "/v1/orders", &stranger, None)
        .await;
    assert_eq!(theirs.body["items"], json!([]));
    let all = app
        .get("/v1/orders?status=pending_payment", Role::Staff)
        .await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 1);
    let bad = app.get("/v1/orders?status=shipped", Role::Staff).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let refund = app
        .send_json(
            Method::POST,
            &format!("/v1/orders/{id}/refund"),
            Role::Staff,
            &json!({}),
            &[("idempotency-key", "k-123456789")],
        )
        .await;
    assert_eq!(refund.status, StatusCode::FORBIDDEN);

    let cancelled = app
        .send_json(
            Method::POST,
            &format!("/v1/orders/{id}/cancel"),
            Role::Customer,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["stock"], "released");
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 0));
    let twice = app
        .send_json(
            Method::POST,
            &format!("/v1/orders/{id}/cancel"),
            Role::Customer,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(twice.status, StatusCode::OK);
    assert_eq!(
        level(&app, &shop.p1, &shop.w).await,
        (10, 0),
        "released once"
    );
}

#[tokio::test]
async fn a_customer_sees_no_staff_fields_of_their_order() {
    let app = TestApp::spawn().await;
    let shop = crate::orders_support::shop(&app).await;
    let placed = crate::orders_support::order(&app, &shop).await;
    let id = placed["id"].as_str().unwrap();
    let read = app.get(&format!("/v1/orders/{id}"), Role::Customer).await;
    let listed = app.get("/v1/orders", Role::Customer).await;
    for shown in [&placed, &read.body, &listed.body["items"][0]] {
        for field in ["review", "reservation_id"] {
            assert!(shown.get(field).is_none(), "{field}: {shown}");
        }
        assert_eq!(shown["id"], id);
    }
    let staff = crate::orders_support::fetch(&app, id).await;
    assert!(staff["reservation_id"].as_str().is_some(), "{staff}");
}
