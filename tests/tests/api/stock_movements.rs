use futures::future::join_all;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, product_body};

async fn setup(app: &TestApp) -> (String, String, String) {
    let product = app.create_product(&product_body(1)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = app.create_warehouse("BLR-1").await;
    let b = app.create_warehouse("DEL-1").await;
    (product, a, b)
}

fn receive(p: &str, w: &str, q: i64) -> Value {
    json!({"type": "receive", "product_id": p, "warehouse_id": w, "quantity": q, "reference": "PO-1"})
}

#[tokio::test]
async fn every_movement_type_changes_the_level_and_the_ledger_sums_to_on_hand() {
    let app = TestApp::spawn().await;
    let (p, a, b) = setup(&app).await;
    let r = app.move_stock(&receive(&p, &a, 50)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["movements"][0]["before"], 0);
    assert_eq!(r.body["movements"][0]["after"], 50);
    assert_eq!(r.body["levels"][0]["available"], 50);

    let ship = app.move_stock(&json!({"type": "ship", "product_id": p, "warehouse_id": a, "quantity": 8, "reference": "order-1"})).await;
    assert_eq!(ship.status, StatusCode::CREATED);
    assert_eq!(ship.body["movements"][0]["quantity"], -8);
    let adjust = app.move_stock(&json!({"type": "adjust", "product_id": p, "warehouse_id": a, "quantity": -2, "reason": "damaged"})).await;
    assert_eq!(adjust.status, StatusCode::CREATED);
    let count = app
        .move_stock(&json!({"type": "count", "product_id": p, "warehouse_id": a, "counted": 37}))
        .await;
    assert_eq!(count.status, StatusCode::CREATED);
    assert_eq!(
        count.body["movements"][0]["quantity"], -3,
        "50 - 8 - 2 = 40 counted as 37"
    );
    assert_eq!(count.body["movements"][0]["kind"], "count");
    let transfer = app.move_stock(&json!({"type": "transfer", "product_id": p, "from_warehouse_id": a, "to_warehouse_id": b, "quantity": 7})).await;
    assert_eq!(transfer.status, StatusCode::CREATED, "{}", transfer.text);
    let kinds: Vec<&str> = transfer.body["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["transfer_out", "transfer_in"]);
    assert_eq!(
        transfer.body["movements"][0]["reference"],
        transfer.body["movements"][1]["reference"]
    );

    assert_eq!(app.on_hand(&p, &a).await, 30);
    assert_eq!(app.on_hand(&p, &b).await, 7);
    assert_eq!(app.ledger_sum(&p, &a).await, 30);
    assert_eq!(app.ledger_sum(&p, &b).await, 7);

    let by_product = app
        .get(&format!("/v1/stock?product_id={p}"), Role::Staff)
        .await;
    assert_eq!(by_product.body["items"].as_array().unwrap().len(), 2);
    let by_warehouse = app
        .get(&format!("/v1/stock?warehouse_id={b}"), Role::Manager)
        .await;
    assert_eq!(by_warehouse.body["items"][0]["on_hand"], 7);
    let ledger = app
        .get(
            &format!("/v1/stock/movements?warehouse_id={a}&limit=2"),
            Role::Staff,
        )
        .await;
    assert_eq!(ledger.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        ledger.body["items"][0]["kind"], "transfer_out",
        "newest first"
    );
    assert!(ledger.body["next_cursor"].is_string());

    let actions = app.audit_actions().await;
    for action in [
        "stock.receive",
        "stock.ship",
        "stock.adjust",
        "stock.count",
        "stock.transfer",
    ] {
        assert!(actions.contains(&action.to_owned()), "{action}");
    }
}

#[tokio::test]
async fn shipping_more_than_is_available_is_refused_with_the_available_quantity_and_writes_nothing()
{
    let app = TestApp::spawn().await;
    let (p, a, b) = setup(&app).await;
    app.move_stock(&receive(&p, &a, 5)).await;
    let before = app.table_item_count().await;
    let r = app
        .move_stock(&json!({"type": "ship", "product_id": p, "warehouse_id": a, "quantity": 6}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.body["type"], "urn:stockroom:problem:insufficient-stock");
    assert_eq!(r.body["available"], 5);
    assert_eq!(r.body["requested"], 6);
    let t = app.move_stock(&json!({"type": "transfer", "product_id": p, "from_warehouse_id": a, "to_warehouse_id": b, "quantity": 9})).await;
    assert_eq!(t.status, StatusCode::CONFLICT);
    let adj = app.move_stock(&json!({"type": "adjust", "product_id": p, "warehouse_id": a, "quantity": -6, "reason": "loss"})).await;
    assert_eq!(adj.status, StatusCode::CONFLICT);
    assert_eq!(
        app.table_item_count().await,
        before,
        "nothing written, not even the idempotency key"
    );
    assert_eq!(app.on_hand(&p, &a).await, 5);
}

#[tokio::test]
async fn bad_movements_get_the_documented_status_and_write_nothing() {
    let app = TestApp::spawn().await;
    let (p, a, _) = setup(&app).await;
    let inactive = app.create_warehouse("OLD-1").await;
    let w = app
        .get(&format!("/v1/warehouses/{inactive}"), Role::Manager)
        .await;
    let r = app
        .send_json(
            Method::PATCH,
            &format!("/v1/warehouses/{inactive}"),
            Role::Manager,
            &json!({"active": false}),
            &[("if-match", &w.etag())],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let before = app.table_item_count().await;
    let unknown_product = "0190a0b0-0000-7000-8000-000000000000";
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"type": "receive", "product_id": p, "warehouse_id": a, "quantity": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            json!({"type": "receive", "product_id": p, "warehouse_id": a, "quantity": -4}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            json!({"type": "receive", "product_id": p, "warehouse_id": a, "quantity": 1_000_000_000_000i64}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            json!({"type": "receive", "product_id": p, "warehouse_id": a, "quantity": 1.5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expected i64",
        ),
        (
            json!({"type": "adjust", "product_id": p, "warehouse_id": a, "quantity": 0, "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            json!({"type": "adjust", "product_id": p, "warehouse_id": a, "quantity": 3}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason",
        ),
        (
            json!({"type": "count", "product_id": p, "warehouse_id": a, "counted": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "counted",
        ),
        (
            json!({"type": "transfer", "product_id": p, "from_warehouse_id": a, "to_warehouse_id": a, "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "to_warehouse_id",
        ),
        (
            json!({"type": "receive", "product_id": unknown_product, "warehouse_id": a, "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "product_id",
        ),
        (
            json!({"type": "receive", "product_id": "nope", "warehouse_id": a, "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "product_id",
        ),
        (
            json!({"type": "receive", "product_id": p, "warehouse_id": unknown_product, "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "warehouse_id",
        ),
        (
            json!({"type": "teleport", "product_id": p, "warehouse_id": a, "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "type",
        ),
        (
            json!({"type": "receive", "product_id": p, "warehouse_id": a, "quantity": 1, "colour": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
        (
            json!({"type": "receive", "product_id": p, "warehouse_id": inactive, "quantity": 1}),
            StatusCode::CONFLICT,
            "",
        ),
    ];
    for (body, status, field) in cases {
        let r = app.move_stock(&body).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        if !field.is_empty() {
            // Each error names the field, or (for a value serde met inside the tagged body)
            // says what type was expected.
            let named = r.body["errors"].as_array().unwrap().iter().any(|e| {
                e["field"].as_str().unwrap().contains(field)
                    || e["message"].as_str().unwrap().contains(field)
            });
            assert!(named, "{body}: {}", r.text);
        }
    }
    let no_key = app
        .send_json(
            Method::POST,
            "/v1/stock/movements",
            Role::Staff,
            &receive(&p, &a, 1),
            &[],
        )
        .await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    for query in [
        "",
        "?product_id=x&from=yesterday",
        &format!("?product_id={p}&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"),
    ] {
        let r = app
            .get(&format!("/v1/stock/movements{query}"), Role::Staff)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
    assert_eq!(app.table_item_count().await, before);
}

#[tokio::test]
async fn a_retry_with_the_same_key_moves_stock_once_and_a_reused_key_with_another_body_is_refused()
{
    let app = TestApp::spawn().await;
    let (p, a, _) = setup(&app).await;
    let first = app.move_stock_with_key(&receive(&p, &a, 10), "key-1").await;
    assert_eq!(first.status, StatusCode::CREATED);
    let retry = app.move_stock_with_key(&receive(&p, &a, 10), "key-1").await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.body, first.body);
    assert_eq!(app.on_hand(&p, &a).await, 10);
    let other = app.move_stock_with_key(&receive(&p, &a, 11), "key-1").await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.on_hand(&p, &a).await, 10);
    // A failed request does not burn its key: once stock arrives, the same retry succeeds.
    let ship = json!({"type": "ship", "product_id": p, "warehouse_id": a, "quantity": 15});
    assert_eq!(
        app.move_stock_with_key(&ship, "key-2").await.status,
        StatusCode::CONFLICT
    );
    app.move_stock(&receive(&p, &a, 10)).await;
    assert_eq!(
        app.move_stock_with_key(&ship, "key-2").await.status,
        StatusCode::CREATED
    );
    assert_eq!(app.on_hand(&p, &a).await, 5);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_apply_once() {
    let app = TestApp::spawn().await;
    let (p, a, _) = setup(&app).await;
    let body = receive(&p, &a, 3);
    let results = join_all((0..5).map(|_| app.move_stock_with_key(&body, "same-key"))).await;
    assert!(
        results
            .iter()
            .all(|r| r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(app.on_hand(&p, &a).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_ships_never_oversell_and_the_ledger_still_sums_to_on_hand() {
    let app = TestApp::spawn().await;
    let (p, a, _) = setup(&app).await;
    app.move_stock(&receive(&p, &a, 7)).await;
    let ship = json!({"type": "ship", "product_id": p, "warehouse_id": a, "quantity": 1});
    let results = join_all((0..12).map(|_| app.move_stock(&ship))).await;
    let shipped = results
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let refused = results
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .count();
    assert_eq!(
        (shipped, refused),
        (7, 5),
        "{:?}",
        results
            .iter()
            .map(|r| (r.status, r.text.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(app.on_hand(&p, &a).await, 0);
    assert_eq!(app.ledger_sum(&p, &a).await, 0);
}

#[tokio::test]
async fn an_id_spelled_in_capitals_moves_the_one_level_and_never_a_phantom_one() {
    let app = TestApp::spawn().await;
    let (p, a, _) = setup(&app).await;
    let r = app
        .move_stock(&receive(&p.to_uppercase(), &a.to_uppercase(), 7))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["levels"][0]["product_id"], p.as_str());
    assert_eq!(r.body["levels"][0]["warehouse_id"], a.as_str());
    assert_eq!(app.on_hand(&p.to_uppercase(), &a.to_uppercase()).await, 7);
    assert_eq!(app.ledger_sum(&p.to_uppercase(), &a).await, 7);
    let malformed = app
        .get(&format!("/v1/stock?product_id=../{p}"), Role::Staff)
        .await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(malformed.body["errors"][0]["field"], "product_id");
    let ship = json!({"type": "ship", "product_id": p, "warehouse_id": a, "quantity": 7});
    assert_eq!(app.move_stock(&ship).await.status, StatusCode::CREATED);
    assert_eq!(app.on_hand(&p, &a).await, 0);
    assert_eq!(app.ledger_sum(&p, &a).await, 0);
}
