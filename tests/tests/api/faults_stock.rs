//! The fault matrix for the stock flows (see `faults_support`): a movement, a transfer,
//! holding, committing and releasing a reservation, and a purchase-order receipt, each with
//! DynamoDB failing at every step.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, TestResponse};

use crate::faults_support::{Dep, EVERY_FAULT, Flow, matrix};
use crate::orders_support::{Shop, level, shop};
use crate::purchasing::{receipt, submitted};

/// `POST /v1/stock/movements` under an Idempotency-Key: one ledger entry, one level change.
struct Moving;

impl Flow for Moving {
    type Setup = Shop;
    async fn setup(&self, app: &TestApp) -> Shop {
        shop(app).await
    }
    async fn act(&self, app: &TestApp, shop: &Shop, key: &str) -> TestResponse {
        app.move_stock_with_key(
            &json!({"type": "ship", "product_id": shop.p1, "warehouse_id": shop.w, "quantity": 3}),
            key,
        )
        .await
    }
    fn done(&self) -> StatusCode {
        StatusCode::CREATED
    }
    async fn check(&self, app: &TestApp, shop: &Shop, _: bool, what: &str) {
        assert_eq!(level(app, &shop.p1, &shop.w).await, (7, 0), "{what}");
    }
}

/// A transfer of 4 units of p1 between two warehouses: both legs or neither.
struct Transferring;

impl Flow for Transferring {
    type Setup = (Shop, String);
    async fn setup(&self, app: &TestApp) -> (Shop, String) {
        let shop = shop(app).await;
        let to = app.create_warehouse("DEL-1").await;
        (shop, to)
    }
    async fn act(&self, app: &TestApp, (shop, to): &(Shop, String), key: &str) -> TestResponse {
        app.move_stock_with_key(
            &json!({"type": "transfer", "product_id": shop.p1, "from_warehouse_id": shop.w,
                    "to_warehouse_id": to, "quantity": 4}),
            key,
        )
        .await
    }
    fn done(&self) -> StatusCode {
        StatusCode::CREATED
    }
    async fn check(&self, app: &TestApp, (shop, to): &(Shop, String), _: bool, what: &str) {
        assert_eq!(level(app, &shop.p1, &shop.w).await, (6, 0), "{what}");
        assert_eq!(level(app, &shop.p1, to).await, (4, 0), "{what}");
    }
}

fn hold(shop: &Shop) -> Value {
    json!({"lines": [
        {"product_id": shop.p1, "warehouse_id": shop.w, "quantity": 4},
        {"product_id": shop.p2, "warehouse_id": shop.w, "quantity": 6}
    ], "reference": "order-42"})
}

async fn reserve(app: &TestApp, shop: &Shop, key: &str) -> TestResponse {
    app.send_json(
        Method::POST,
        "/v1/stock/reservations",
        Role::Staff,
        &hold(shop),
        &[("idempotency-key", key)],
    )
    .await
}

/// `POST /v1/stock/reservations` under an Idempotency-Key: every line held once.
struct Reserving;

impl Flow for Reserving {
    type Setup = Shop;
    async fn setup(&self, app: &TestApp) -> Shop {
        shop(app).await
    }
    async fn act(&self, app: &TestApp, shop: &Shop, key: &str) -> TestResponse {
        reserve(app, shop, key).await
    }
    fn done(&self) -> StatusCode {
        StatusCode::CREATED
    }
    async fn check(&self, app: &TestApp, shop: &Shop, _: bool, what: &str) {
        assert_eq!(level(app, &shop.p1, &shop.w).await, (10, 4), "{what}");
        assert_eq!(level(app, &shop.p2, &shop.w).await, (10, 6), "{what}");
    }
}

/// A held reservation, then committed (`true`: every line shipped once) or released (`false`:
/// every line given back once); both are repeatable.
struct Settling {
    commit: bool,
}

impl Flow for Settling {
    type Setup = (Shop, String);
    async fn setup(&self, app: &TestApp) -> (Shop, String) {
        let shop = shop(app).await;
        let r = reserve(app, &shop, &uuid::Uuid::new_v4().to_string()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let id = r.body["id"].as_str().unwrap().to_owned();
        (shop, id)
    }
    async fn act(&self, app: &TestApp, (_, id): &(Shop, String), _key: &str) -> TestResponse {
        let (method, path) = match self.commit {
            true => (Method::POST, format!("/v1/stock/reservations/{id}/commit")),
            false => (Method::DELETE, format!("/v1/stock/reservations/{id}")),
        };
        app.call(
            app.request(method, &path, Some(Role::Staff))
                .body(lambda_http::Body::Empty)
                .unwrap(),
        )
        .await
    }
    fn done(&self) -> StatusCode {
        StatusCode::OK
    }
    async fn check(&self, app: &TestApp, (shop, _): &(Shop, String), _: bool, what: &str) {
        let (p1, p2) = match self.commit {
            true => ((6, 0), (4, 0)),
            false => ((10, 0), (10, 0)),
        };
        assert_eq!(level(app, &shop.p1, &shop.w).await, p1, "{what}");
        assert_eq!(level(app, &shop.p2, &shop.w).await, p2, "{what}");
    }
}

/// A submitted purchase order of 20 units, and a receipt of 5 under an Idempotency-Key: the
/// stock and the order's received count move once.
struct Receiving;

impl Flow for Receiving {
    /// (product, warehouse, purchase order).
    type Setup = (String, String, String);
    async fn setup(&self, app: &TestApp) -> Self::Setup {
        submitted(app).await
    }
    async fn act(&self, app: &TestApp, (p, _, id): &Self::Setup, key: &str) -> TestResponse {
        receipt(app, id, json!([{"product_id": p, "quantity": 5}]), key).await
    }
    fn done(&self) -> StatusCode {
        StatusCode::CREATED
    }
    async fn check(&self, app: &TestApp, (p, w, id): &Self::Setup, _: bool, what: &str) {
        assert_eq!(level(app, p, w).await, (5, 0), "{what}");
        let po = app
            .get(&format!("/v1/purchase-orders/{id}"), Role::Staff)
            .await;
        assert_eq!(
            po.body["status"], "partially_received",
            "{what}: {}",
            po.text
        );
        assert_eq!(po.body["lines"][0]["received"], 5, "{what}: {}", po.text);
    }
}

#[tokio::test]
async fn a_stock_movement_survives_dynamodb_failing_at_every_step() {
    matrix(&Moving, Dep::DynamoDb, &EVERY_FAULT).await;
}

#[tokio::test]
async fn a_transfer_survives_dynamodb_failing_at_every_step() {
    matrix(&Transferring, Dep::DynamoDb, &EVERY_FAULT).await;
}

#[tokio::test]
async fn holding_a_reservation_survives_dynamodb_failing_at_every_step() {
    matrix(&Reserving, Dep::DynamoDb, &EVERY_FAULT).await;
}

#[tokio::test]
async fn committing_a_reservation_survives_dynamodb_failing_at_every_step() {
    matrix(&Settling { commit: true }, Dep::DynamoDb, &EVERY_FAULT).await;
}

#[tokio::test]
async fn releasing_a_reservation_survives_dynamodb_failing_at_every_step() {
    matrix(&Settling { commit: false }, Dep::DynamoDb, &EVERY_FAULT).await;
}

#[tokio::test]
async fn a_purchase_order_receipt_survives_dynamodb_failing_at_every_step() {
    matrix(&Receiving, Dep::DynamoDb, &EVERY_FAULT).await;
}
