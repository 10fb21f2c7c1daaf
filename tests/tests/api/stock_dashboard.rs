use http::StatusCode;
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{TestApp, product_body};

#[tokio::test]
async fn the_dashboard_totals_stock_values_it_and_lists_low_stock() {
    let app = TestApp::spawn().await;
    let mut cheap = product_body(1);
    cheap["price"] = json!({"amount_minor": 1000, "currency": "INR"});
    cheap["reorder_level"] = json!(5);
    let mut dear = product_body(2);
    dear["price"] = json!({"amount_minor": 250, "currency": "USD"});
    dear["reorder_level"] = json!(0);
    let p1 = app.create_product(&cheap).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let p2 = app.create_product(&dear).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = app.create_warehouse("BLR-1").await;
    let b = app.create_warehouse("DEL-1").await;
    for (p, w, q) in [(&p1, &a, 4), (&p1, &b, 20), (&p2, &a, 3)] {
        let r = app
            .move_stock(
                &json!({"type": "receive", "product_id": p, "warehouse_id": w, "quantity": q}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let d = app.get("/v1/dashboard", Role::Staff).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    assert_eq!(d.body["totals"]["products"], 2);
    assert_eq!(d.body["totals"]["warehouses"], 2);
    assert_eq!(d.body["totals"]["units_on_hand"], 27);
    assert_eq!(
        d.body["totals"]["stock_value"],
        json!([{"currency": "INR", "amount_minor": 24_000}, {"currency": "USD", "amount_minor": 750}])
    );
    let low = d.body["low_stock"].as_array().unwrap();
    assert_eq!(low.len(), 1, "{low:?}");
    assert_eq!(low[0]["product_id"], p1.as_str());
    assert_eq!(low[0]["warehouse_code"], "BLR-1");
    assert_eq!(low[0]["available"], 4);
    assert_eq!(d.body["recent_movements"].as_array().unwrap().len(), 3);
    assert_eq!(d.body["truncated"], false);
    assert_eq!(
        app.get("/v1/dashboard", Role::Customer).await.status,
        StatusCode::FORBIDDEN
    );
}
