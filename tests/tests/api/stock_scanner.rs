use http::{Method, StatusCode};
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{TestApp, png, product_body};

#[tokio::test]
async fn a_scanner_looks_up_receives_ships_and_counts_by_barcode() {
    let app = TestApp::spawn().await;
    let mut body = product_body(1);
    body["barcode"] = json!("4006381333931");
    let p = app.create_product(&body).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = app.create_warehouse("BLR-1").await;
    let scan = |action: &str, extra: serde_json::Value, key: Option<&str>| {
        let mut b = json!({"barcode": " 4006381333931 ", "warehouse_id": w, "action": action});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let headers: Vec<(&str, String)> = key
            .map(|k| vec![("idempotency-key", k.to_owned())])
            .unwrap_or_default();
        let app = &app;
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.send_json(Method::POST, "/v1/scanner/scan", Role::Staff, &b, &h)
                .await
        }
    };
    let received = scan("receive", json!({}), Some("s-1")).await;
    assert_eq!(received.status, StatusCode::CREATED, "{}", received.text);
    assert_eq!(
        received.body["movements"][0]["quantity"], 1,
        "one scan, one unit"
    );
    let replay = scan("receive", json!({}), Some("s-1")).await;
    assert_eq!(
        replay.header("idempotent-replayed"),
        Some("true"),
        "an upload retried by the scanner applies once"
    );
    scan("receive", json!({"quantity": 9}), Some("s-2")).await;
    let shipped = scan("ship", json!({"quantity": 4}), Some("s-3")).await;
    assert_eq!(shipped.status, StatusCode::CREATED);
    let counted = scan("count", json!({"counted": 5}), Some("s-4")).await;
    assert_eq!(
        counted.body["movements"][0]["quantity"], -1,
        "10 - 4 = 6 counted as 5"
    );

    let lookup = scan("lookup", json!({}), None).await;
    assert_eq!(lookup.status, StatusCode::OK, "{}", lookup.text);
    assert_eq!(lookup.body["product"]["id"], p);
    assert_eq!(lookup.body["level"]["on_hand"], 5);
    assert_eq!(app.ledger_sum(&p, &w).await, 5);

    assert_eq!(
        scan("ship", json!({}), None).await.status,
        StatusCode::BAD_REQUEST,
        "moving stock needs a key"
    );
    assert_eq!(
        scan("count", json!({}), Some("s-5")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        scan("ship", json!({"quantity": 50}), Some("s-6"))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let unknown = app
        .send_json(
            Method::POST,
            "/v1/scanner/scan",
            Role::Staff,
            &json!({"barcode": "96385074", "warehouse_id": w, "action": "lookup"}),
            &[],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let customer = app
        .send_json(
            Method::POST,
            "/v1/scanner/scan",
            Role::Customer,
            &json!({"barcode": "96385074", "warehouse_id": w, "action": "lookup"}),
            &[],
        )
        .await;
    assert_eq!(customer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_scanner_lookup_answers_the_product_as_the_api_shows_it_with_image_urls() {
    let app = TestApp::spawn().await;
    let mut body = product_body(1);
    body["barcode"] = json!("4006381333931");
    let p = app.create_product(&body).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let image = app.add_image(&p, "image/png", png(8, 8)).await;
    assert_eq!(image.status, StatusCode::OK, "{}", image.text);
    let w = app.create_warehouse("BLR-1").await;
    let lookup = app
        .send_json(
            Method::POST,
            "/v1/scanner/scan",
            Role::Staff,
            &json!({"barcode": "4006381333931", "warehouse_id": w, "action": "lookup"}),
            &[],
        )
        .await;
    assert_eq!(lookup.status, StatusCode::OK, "{}", lookup.text);
    let shown = &lookup.body["product"]["images"][0];
    assert!(shown["url"].as_str().is_some(), "{}", lookup.text);
    assert!(shown.get("key").is_none(), "no S3 key: {}", lookup.text);
}
