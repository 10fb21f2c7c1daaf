//! Helpers shared by the order tests: a stocked catalogue and placing orders.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, TestResponse, product_body};

/// Two products (prices 1001 and 1002 INR minor units) with 10 units each in one warehouse.
pub(crate) struct Shop {
    pub(crate) p1: String,
    pub(crate) p2: String,
    pub(crate) w: String,
}

pub(crate) async fn shop(app: &TestApp) -> Shop {
    let mut ids = Vec::new();
    for n in [1, 2] {
        let r = app.create_product(&product_body(n)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let w = app.create_warehouse("BLR-1").await;
    for p in &ids {
        let r = app
            .move_stock(
                &json!({"type": "receive", "product_id": p, "warehouse_id": w, "quantity": 10}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    Shop {
        p1: ids[0].clone(),
        p2: ids[1].clone(),
        w,
    }
}

/// `POST /v1/orders` as `role` with a fresh idempotency key.
pub(crate) async fn place(app: &TestApp, role: Role, body: &Value) -> TestResponse {
    let key = uuid::Uuid::new_v4().to_string();
    app.send_json(
        Method::POST,
        "/v1/orders",
        role,
        body,
        &[("idempotency-key", &key)],
    )
    .await
}

/// A customer's order of 2 x p1 and 1 x p2 (total 3004); asserts it was created.
pub(crate) async fn order(app: &TestApp, shop: &Shop) -> Value {
    let r = place(
        app,
        Role::Customer,
        &json!({"lines": [
            {"product_id": shop.p1, "quantity": 2},
            {"product_id": shop.p2, "quantity": 1, "warehouse_id": shop.w}
        ]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

/// Pays `order` (as `POST /v1/orders` answered it) in full at the stand-in's checkout and
/// applies every webhook the payment caused; answers the payment.
pub(crate) async fn pay(app: &TestApp, order: &Value) -> razorpay_local::Checkout {
    let paid = app
        .razorpay
        .pay(
            order["razorpay_order_id"].as_str().unwrap(),
            razorpay_local::PayOutcome::Captured,
            None,
        )
        .unwrap();
    for d in &paid.deliveries {
        assert_eq!(app.deliver(d).await.status, StatusCode::OK);
    }
    paid
}

/// `(on_hand, reserved)` of a level.
pub(crate) async fn level(app: &TestApp, p: &str, w: &str) -> (i64, i64) {
    let r = app
        .get(
            &format!("/v1/stock?product_id={p}&warehouse_id={w}"),
            Role::Staff,
        )
        .await;
    let l = &r.body["items"][0];
    (
        l["on_hand"].as_i64().unwrap(),
        l["reserved"].as_i64().unwrap(),
    )
}

/// The order as staff see it.
pub(crate) async fn fetch(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/v1/orders/{id}"), Role::Staff).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}
