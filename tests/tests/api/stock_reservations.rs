use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, product_body};

async fn stocked(app: &TestApp) -> (String, String, String) {
    let p1 = app.create_product(&product_body(1)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let p2 = app.create_product(&product_body(2)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = app.create_warehouse("BLR-1").await;
    for p in [&p1, &p2] {
        let r = app
            .move_stock(
                &json!({"type": "receive", "product_id": p, "warehouse_id": w, "quantity": 10}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    (p1, p2, w)
}

async fn reserve(app: &TestApp, body: &Value) -> stockroom_tests::TestResponse {
    let key = uuid::Uuid::new_v4().to_string();
    app.send_json(
        Method::POST,
        "/v1/stock/reservations",
        Role::Staff,
        body,
        &[("idempotency-key", &key)],
    )
    .await
}

async fn level(app: &TestApp, p: &str, w: &str) -> (i64, i64) {
    let r = app
        .get(
            &format!("/v1/stock?product_id={p}&warehouse_id={w}"),
            Role::Staff,
        )
        .await;
    (
        r.body["items"][0]["on_hand"].as_i64().unwrap(),
        r.body["items"][0]["reserved"].as_i64().unwrap(),
    )
}

async fn post(app: &TestApp, path: &str) -> stockroom_tests::TestResponse {
    app.call(
        app.request(Method::POST, path, Some(Role::Staff))
            .body(lambda_http::Body::Empty)
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_reservation_holds_all_lines_then_commits_into_shipments() {
    let app = TestApp::spawn().await;
    let (p1, p2, w) = stocked(&app).await;
    let r = reserve(
        &app,
        &json!({"lines": [
        {"product_id": p1, "warehouse_id": w, "quantity": 4},
        {"product_id": p2, "warehouse_id": w, "quantity": 6}
    ], "reference": "order-42"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["status"], "held");
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(level(&app, &p1, &w).await, (10, 4));
    // Reserved stock cannot be shipped by someone else.
    let ship = app
        .move_stock(&json!({"type": "ship", "product_id": p1, "warehouse_id": w, "quantity": 7}))
        .await;
    assert_eq!(ship.status, StatusCode::CONFLICT);
    assert_eq!(ship.body["available"], 6);

    let committed = post(&app, &format!("/v1/stock/reservations/{id}/commit")).await;
    assert_eq!(committed.status, StatusCode::OK, "{}", committed.text);
    assert_eq!(committed.body["reservation"]["status"], "committed");
    assert_eq!(committed.body["movements"].as_array().unwrap().len(), 2);
    assert_eq!(level(&app, &p1, &w).await, (6, 0));
    assert_eq!(level(&app, &p2, &w).await, (4, 0));
    assert_eq!(app.ledger_sum(&p1, &w).await, 6);
    // Committing again changes nothing; releasing a committed one is refused.
    assert_eq!(
        post(&app, &format!("/v1/stock/reservations/{id}/commit"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(level(&app, &p1, &w).await, (6, 0));
    let release = app
        .call(
            app.request(
                Method::DELETE,
                &format!("/v1/stock/reservations/{id}"),
                Some(Role::Staff),
            )
            .body(lambda_http::Body::Empty)
            .unwrap(),
        )
        .await;
    assert_eq!(release.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_reservation_is_all_or_nothing() {
    let app = TestApp::spawn().await;
    let (p1, p2, w) = stocked(&app).await;
    let before = app.table_item_count().await;
    let r = reserve(
        &app,
        &json!({"lines": [
            {"product_id": p1, "warehouse_id": w, "quantity": 4},
            {"product_id": p2, "warehouse_id": w, "quantity": 11}
        ]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.body["available"], 10);
    assert_eq!(
        level(&app, &p1, &w).await,
        (10, 0),
        "the first line was not held either"
    );
    assert_eq!(app.table_item_count().await, before);
}

#[tokio::test]
async fn a_released_reservation_gives_its_stock_back_and_cannot_be_committed() {
    let app = TestApp::spawn().await;
    let (p1, _, w) = stocked(&app).await;
    let r = reserve(
        &app,
        &json!({"lines": [{"product_id": p1, "warehouse_id": w, "quantity": 3}]}),
    )
    .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/stock/reservations/{id}");
    let released = app
        .call(
            app.request(Method::DELETE, &path, Some(Role::Staff))
                .body(lambda_http::Body::Empty)
                .unwrap(),
        )
        .await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.text);
    assert_eq!(released.body["status"], "released");
    assert_eq!(level(&app, &p1, &w).await, (10, 0));
    let again = app
        .call(
            app.request(Method::DELETE, &path, Some(Role::Staff))
                .body(lambda_http::Body::Empty)
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "releasing twice is harmless");
    assert_eq!(
        level(&app, &p1, &w).await,
        (10, 0),
        "and does not give stock back twice"
    );
    assert_eq!(
        post(&app, &format!("{path}/commit")).await.status,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn expired_reservations_are_swept_and_can_no_longer_be_committed() {
    let app = TestApp::spawn().await;
    let (p1, p2, w) = stocked(&app).await;
    let short = reserve(&app, &json!({"lines": [{"product_id": p1, "warehouse_id": w, "quantity": 2}], "expires_in_seconds": 60})).await;
    let long = reserve(&app, &json!({"lines": [{"product_id": p2, "warehouse_id": w, "quantity": 5}], "expires_in_seconds": 3600})).await;
    assert_eq!(level(&app, &p1, &w).await, (10, 2));
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    assert_eq!(app.sweep(later).await.released, 1);
    assert_eq!(level(&app, &p1, &w).await, (10, 0));
    assert_eq!(
        level(&app, &p2, &w).await,
        (10, 5),
        "a reservation still within its hold stays"
    );
    let id = short.body["id"].as_str().unwrap();
    assert_eq!(
        post(&app, &format!("/v1/stock/reservations/{id}/commit"))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.sweep(later).await.released,
        0,
        "nothing is released twice"
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"stock.reservation_expired".to_owned())
    );
    assert_eq!(long.status, StatusCode::CREATED);
}

#[tokio::test]
async fn bad_reservations_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let (p1, _, w) = stocked(&app).await;
    let before = app.table_item_count().await;
    let line = |q: i64| json!({"product_id": p1, "warehouse_id": w, "quantity": q});
    for (body, field) in [
        (json!({"lines": []}), "lines"),
        (json!({"lines": [line(0)]}), "lines[0].quantity"),
        (json!({"lines": [line(1), line(2)]}), "lines[1]"),
        (
            json!({"lines": [line(1)], "expires_in_seconds": 5}),
            "expires_in_seconds",
        ),
        (
            json!({"lines": [{"product_id": "nope", "warehouse_id": w, "quantity": 1}]}),
            "product_id",
        ),
    ] {
        let r = reserve(&app, &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    let missing = app
        .call(
            app.request(
                Method::POST,
                "/v1/stock/reservations/0190a0b0-0000-7000-8000-000000000000/commit",
                Some(Role::Staff),
            )
            .body(lambda_http::Body::Empty)
            .unwrap(),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(app.table_item_count().await, before);
}

#[tokio::test]
async fn a_reservation_naming_ids_in_capitals_holds_the_one_level_and_repeats_are_found() {
    let app = TestApp::spawn().await;
    let (p1, _, w) = stocked(&app).await;
    let (upper_p, upper_w) = (p1.to_uppercase(), w.to_uppercase());
    let r = reserve(
        &app,
        &json!({"lines": [{"product_id": upper_p, "warehouse_id": upper_w, "quantity": 4}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["lines"][0]["product_id"], p1.as_str());
    assert_eq!(level(&app, &p1, &w).await, (10, 4));
    let repeated = reserve(
        &app,
        &json!({"lines": [
            {"product_id": p1, "warehouse_id": w, "quantity": 1},
            {"product_id": upper_p, "warehouse_id": upper_w, "quantity": 1},
        ]}),
    )
    .await;
    assert_eq!(repeated.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(repeated.body["errors"][0]["field"], "lines[1]");
    assert_eq!(level(&app, &p1, &w).await, (10, 4));
}

#[tokio::test]
async fn staff_cannot_commit_or_release_an_orders_reservation_behind_the_orders_back() {
    use crate::orders_support::{fetch, order, shop};
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let o = order(&app, &shop).await;
    let seen_by_staff = fetch(&app, o["id"].as_str().unwrap()).await;
    let reservation = seen_by_staff["reservation_id"].as_str().unwrap();
    let path = format!("/v1/stock/reservations/{reservation}");
    let commit = post(&app, &format!("{path}/commit")).await;
    assert_eq!(commit.status, StatusCode::CONFLICT, "{}", commit.text);
    let release = app
        .call(
            app.request(Method::DELETE, &path, Some(Role::Staff))
                .body(lambda_http::Body::Empty)
                .unwrap(),
        )
        .await;
    assert_eq!(release.status, StatusCode::CONFLICT, "{}", release.text);
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 2));
    assert_eq!(
        fetch(&app, o["id"].as_str().unwrap()).await["status"],
        "pending_payment"
    );
    let forged = reserve(
        &app,
        &json!({"lines": [{"product_id": shop.p1, "warehouse_id": shop.w, "quantity": 1}],
                "reference": "order:0190a0b0-0000-7000-8000-000000000000"}),
    )
    .await;
    assert_eq!(
        forged.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        forged.text
    );
    assert_eq!(forged.body["errors"][0]["field"], "reference");
}
