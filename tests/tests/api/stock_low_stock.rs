use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, product_body};

/// The low-stock events waiting in the outbox.
async fn low_stock_events(app: &TestApp) -> Vec<Value> {
    let items = app
        .clients
        .dynamodb
        .scan()
        .table_name(&app.config.table_name)
        .filter_expression("entity = :e")
        .expression_attribute_values(
            ":e",
            aws_sdk_dynamodb::types::AttributeValue::S("outbox_event".into()),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    items
        .iter()
        .map(|i| serde_json::from_str(i["detail"].as_s().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn falling_to_the_reorder_level_raises_one_event_per_crossing() {
    let app = TestApp::spawn().await;
    let mut body = product_body(1);
    body["reorder_level"] = json!(5);
    let p = app.create_product(&body).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = app.create_warehouse("BLR-1").await;
    let go = |kind: &str, q: i64| {
        let body = json!({"type": kind, "product_id": p, "warehouse_id": w, "quantity": q});
        let app = &app;
        async move {
            let r = app.move_stock(&body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
    };
    go("receive", 10).await;
    go("ship", 4).await; // 6: above
    assert!(low_stock_events(&app).await.is_empty());
    go("ship", 2).await; // 4: crosses
    go("ship", 1).await; // 3: still below, no new event
    let events = low_stock_events(&app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["available"], 4);
    assert_eq!(events[0]["reorder_level"], 5);
    assert_eq!(events[0]["sku"], "SKU-0001");

    go("receive", 10).await; // 13: back above
    // A reservation that takes availability to the level counts as a crossing too.
    let key = uuid::Uuid::new_v4().to_string();
    let r = app
        .send_json(
            Method::POST,
            "/v1/stock/reservations",
            Role::Staff,
            &json!({"lines": [{"product_id": p, "warehouse_id": w, "quantity": 8}]}),
            &[("idempotency-key", &key)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(low_stock_events(&app).await.len(), 2);
}
