//! The fault matrix for placing an order: DynamoDB or Razorpay fails at each step of the flow
//! in turn (throttled, or the connection reset), and stays down until the test heals it; then
//! the client retries with the same Idempotency-Key. During the fault the answer is a 503 with
//! `Retry-After` or a 502, never a 500; the retry places the order exactly once; and the table
//! keeps every invariant the restore drill checks (ledger = on_hand, held reservations =
//! reserved, every order's reservation exists and agrees), with no hold left once its time
//! is up.

use http::{Method, StatusCode};
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::faults::{Fault, FaultProxy};
use stockroom_tests::{TestApp, TestResponse};

use crate::orders_support::{Shop, shop};

async fn place(app: &TestApp, shop: &Shop, key: &str) -> TestResponse {
    app.send_json(
        Method::POST,
        "/v1/orders",
        Role::Customer,
        &json!({"lines": [
            {"product_id": shop.p1, "quantity": 2},
            {"product_id": shop.p2, "quantity": 1, "warehouse_id": shop.w}
        ]}),
        &[("idempotency-key", key)],
    )
    .await
}

/// What must hold once the faults stop and the client has retried.
async fn assert_whole(app: &TestApp, what: &str) {
    let report = shared::store::check_invariants(&app.state.table)
        .await
        .unwrap();
    assert!(report.holds(), "{what}: {report:?}");
    let orders = app.get("/v1/orders", Role::Staff).await;
    assert_eq!(
        orders.body["items"].as_array().unwrap().len(),
        1,
        "{what}: exactly one order: {}",
        orders.text
    );
    // Once every hold's time is up, the sweep leaves no stock held: nothing is stranded.
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    shared::services::sweep::sweep(&app.state, later)
        .await
        .unwrap();
    let report = shared::store::check_invariants(&app.state.table)
        .await
        .unwrap();
    assert!(report.holds(), "{what}, after the sweep: {report:?}");
    assert_eq!(
        report.held, 0,
        "{what}: a hold outlived its time: {report:?}"
    );
}

/// The calls placing an order makes through `proxy` (of a faulty app), learnt from one
/// placement that nothing disturbs.
async fn steps(proxy: impl Fn(&TestApp) -> FaultProxy) -> Vec<String> {
    let app = TestApp::spawn_faulty().await;
    let shop = shop(&app).await;
    let proxy = proxy(&app);
    let before = proxy.calls().len();
    let r = place(&app, &shop, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    proxy.calls()[before..].to_vec()
}

async fn matrix(name: &str, proxy: impl Fn(&TestApp) -> FaultProxy + Copy, faults: &[Fault]) {
    let steps = steps(proxy).await;
    assert!(!steps.is_empty(), "placing an order makes {name} calls");
    for (k, step) in steps.iter().enumerate() {
        for fault in faults {
            let what = format!("{name} step {k} ({step}) failing with {fault:?}");
            let app = TestApp::spawn_faulty().await;
            let shop = shop(&app).await;
            let key = uuid::Uuid::new_v4().to_string();
            let target = proxy(&app);
            target.fail_from(target.calls().len() + k, *fault);
            let r = place(&app, &shop, &key).await;
            assert!(
                matches!(r.status.as_u16(), 502 | 503),
                "{what}: answered {} {}",
                r.status,
                r.text
            );
            if r.status == StatusCode::SERVICE_UNAVAILABLE {
                assert!(r.header("retry-after").is_some(), "{what}: no Retry-After");
            }
            assert_eq!(
                r.header("content-type"),
                Some("application/problem+json"),
                "{what}"
            );
            app.faults.as_ref().unwrap().heal();
            let mut again = place(&app, &shop, &key).await;
            if again.status == StatusCode::CONFLICT {
                // The outage kept the request from releasing its key: the client is told when
                // to come back, and then it goes through.
                let wait: u64 = again.header("retry-after").unwrap().parse().unwrap();
                assert!((1..=30).contains(&wait), "{what}: Retry-After {wait}");
                app.lapse_idempotency_leases().await;
                again = place(&app, &shop, &key).await;
            }
            assert_eq!(
                again.status,
                StatusCode::CREATED,
                "{what}: the retry: {}",
                again.text
            );
            assert_whole(&app, &what).await;
        }
    }
}

#[tokio::test]
async fn placing_an_order_survives_dynamodb_failing_at_every_step() {
    matrix(
        "DynamoDB",
        |app| app.faults.as_ref().unwrap().dynamodb.clone(),
        &[Fault::Throttle, Fault::Reset],
    )
    .await;
}

#[tokio::test]
async fn placing_an_order_survives_razorpay_failing_at_every_step() {
    matrix(
        "Razorpay",
        |app| app.faults.as_ref().unwrap().razorpay.clone(),
        &[Fault::Throttle, Fault::Reset],
    )
    .await;
}

#[tokio::test]
async fn a_warehouse_that_cannot_be_read_is_an_outage_not_insufficient_stock() {
    // Placing an order without naming a warehouse lists the product's levels (a Query), then
    // reads the warehouse of the first level with enough stock (a GetItem). Throttled there,
    // the answer was 409 "insufficient stock: 10 available, 2 requested".
    let steps = steps(|app| app.faults.as_ref().unwrap().dynamodb.clone()).await;
    let listed = steps.iter().position(|s| s == "Query").unwrap();
    let warehouse = listed
        + 1
        + steps[listed + 1..]
            .iter()
            .position(|s| s == "GetItem")
            .unwrap();
    let app = TestApp::spawn_faulty().await;
    let shop = shop(&app).await;
    let proxy = &app.faults.as_ref().unwrap().dynamodb;
    proxy.fail_from(proxy.calls().len() + warehouse, Fault::Throttle);
    let r = place(&app, &shop, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert!(r.header("retry-after").is_some());
}
