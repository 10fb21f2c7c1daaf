//! Suppliers, purchase orders, receiving, and reorder suggestions.

use futures::future::join_all;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, TestResponse, product_body};

async fn product(app: &TestApp, n: usize, reorder: u32) -> String {
    let mut body = product_body(n);
    body["reorder_level"] = json!(reorder);
    let r = app.create_product(&body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn supplier(app: &TestApp, name: &str, offers: &[(&str, i64, i64)]) -> String {
    let products: Vec<Value> = offers
        .iter()
        .map(|(p, cost, moq)| json!({"product_id": p, "unit_cost": cost, "min_order_quantity": moq, "supplier_sku": "S-1"}))
        .collect();
    let r = app
        .send_json(
            Method::POST,
            "/v1/suppliers",
            Role::Manager,
            &json!({"name": name, "email": "orders@supplier.example", "phone": "+91 80 4000 1234",
                    "currency": "INR", "lead_time_days": 5, "products": products}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn po(
    app: &TestApp,
    supplier: &str,
    warehouse: &str,
    lines: Value,
) -> TestResponse {
    app.send_json(
        Method::POST,
        "/v1/purchase-orders",
        Role::Manager,
        &json!({"supplier_id": supplier, "warehouse_id": warehouse, "lines": lines}),
        &[],
    )
    .await
}

pub(crate) async fn act(app: &TestApp, id: &str, action: &str) -> TestResponse {
    app.send_json(
        Method::POST,
        &format!("/v1/purchase-orders/{id}/{action}"),
        Role::Manager,
        &json!({}),
        &[],
    )
    .await
}

pub(crate) async fn receipt(app: &TestApp, id: &str, lines: Value, key: &str) -> TestResponse {
    app.send_json(
        Method::POST,
        &format!("/v1/purchase-orders/{id}/receipts"),
        Role::Staff,
        &json!({"lines": lines, "note": "delivery note 4411"}),
        &[("idempotency-key", key)],
    )
    .await
}

/// A submitted order of 20 x p (cost 250) to a new warehouse.
pub(crate) async fn submitted(app: &TestApp) -> (String, String, String) {
    let p = product(app, 1, 3).await;
    let w = app.create_warehouse("BLR-IN").await;
    let s = supplier(app, "Acme Textiles", &[(&p, 250, 10)]).await;
    let r = po(app, &s, &w, json!([{"product_id": p, "quantity": 20}])).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(act(app, &id, "submit").await.status, StatusCode::OK);
    (p, w, id)
}

#[tokio::test]
async fn suppliers_are_validated_and_only_managers_write_them() {
    let app = TestApp::spawn().await;
    let p = product(&app, 1, 3).await;
    let bad = app
        .send_json(Method::POST, "/v1/suppliers", Role::Manager,
            &json!({"name": "", "currency": "rupees", "products": [{"product_id": "nope", "unit_cost": 1}]}), &[])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    let unknown = app
        .send_json(Method::POST, "/v1/suppliers", Role::Manager,
            &json!({"name": "X", "currency": "INR", "products": [{"product_id": "nope", "unit_cost": 1}]}), &[])
        .await;
    assert_eq!(
        unknown.body["errors"][0]["field"], "products[0].product_id",
        "{}",
        unknown.text
    );
    let staff = app
        .send_json(
            Method::POST,
            "/v1/suppliers",
            Role::Staff,
            &json!({"name": "X", "currency": "INR"}),
            &[],
        )
        .await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/v1/suppliers", Role::Customer).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/v1/suppliers", Role::Staff).await.body["items"],
        json!([]),
        "nothing written"
    );

    let s = supplier(&app, "Acme", &[(&p, 250, 1)]).await;
    let path = format!("/v1/suppliers/{s}");
    let no_etag = app
        .send_json(
            Method::PATCH,
            &path,
            Role::Manager,
            &json!({"lead_time_days": 9}),
            &[],
        )
        .await;
    assert_eq!(no_etag.status, StatusCode::PRECONDITION_REQUIRED);
    let changed = app
        .send_json(
            Method::PATCH,
            &path,
            Role::Manager,
            &json!({"lead_time_days": 9, "active": false}),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(
        (
            changed.body["lead_time_days"].as_i64(),
            changed.body["active"].as_bool()
        ),
        (Some(9), Some(false))
    );
    let stale = app
        .send_json(
            Method::PATCH,
            &path,
            Role::Manager,
            &json!({"name": "B"}),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    // An inactive supplier gets no purchase orders.
    let w = app.create_warehouse("W-1").await;
    let refused = po(&app, &s, &w, json!([{"product_id": p, "quantity": 1}])).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
}

#[tokio::test]
async fn a_purchase_order_goes_from_draft_to_received() {
    let app = TestApp::spawn().await;
    let p = product(&app, 1, 3).await;
    let p2 = product(&app, 2, 3).await;
    let w = app.create_warehouse("BLR-IN").await;
    let s = supplier(&app, "Acme", &[(&p, 250, 10), (&p2, 90, 1)]).await;
    let r = po(&app, &s, &w, json!([{"product_id": p, "quantity": 20}])).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.body["status"].as_str(), r.body["total"].as_i64()),
        (Some("draft"), Some(5000))
    );
    let id = r.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/purchase-orders/{id}");
    // Lines change in drafts, with If-Match.
    let edited = app.send_json(Method::PATCH, &path, Role::Manager,
        &json!({"lines": [{"product_id": p, "quantity": 20}, {"product_id": p2, "quantity": 5, "unit_cost": 80}]}), &[("if-match", "\"1\"")]).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    assert_eq!(edited.body["total"], 20 * 250 + 5 * 80);
    assert_eq!(
        receipt(
            &app,
            &id,
            json!([{"product_id": p, "quantity": 1}]),
            "early-1"
        )
        .await
        .status,
        StatusCode::CONFLICT,
        "drafts receive nothing"
    );
    assert_eq!(act(&app, &id, "submit").await.body["status"], "submitted");
    assert_eq!(act(&app, &id, "submit").await.status, StatusCode::CONFLICT);
    let late_edit = app
        .send_json(
            Method::PATCH,
            &path,
            Role::Manager,
            &json!({"lines": [{"product_id": p, "quantity": 1}]}),
            &[("if-match", "\"3\"")],
        )
        .await;
    assert_eq!(late_edit.status, StatusCode::CONFLICT, "{}", late_edit.text);

    let first = receipt(
        &app,
        &id,
        json!([{"product_id": p, "quantity": 12}]),
        "rcpt-1",
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["purchase_order"]["status"], "partially_received");
    assert_eq!(first.body["movements"][0]["reference"], format!("po:{id}"));
    assert_eq!(
        act(&app, &id, "cancel").await.status,
        StatusCode::CONFLICT,
        "goods arrived"
    );
    let rest = receipt(
        &app,
        &id,
        json!([{"product_id": p, "quantity": 8}, {"product_id": p2, "quantity": 5}]),
        "rcpt-2",
    )
    .await;
    assert_eq!(
        rest.body["purchase_order"]["status"], "received",
        "{}",
        rest.text
    );
    assert_eq!(app.on_hand(&p, &w).await, 20);
    assert_eq!(app.ledger_sum(&p, &w).await, 20);
    assert_eq!(app.on_hand(&p2, &w).await, 5);
    let listed = app
        .get(
            &format!("/v1/purchase-orders?supplier_id={s}&status=received&warehouse_id={w}"),
            Role::Staff,
        )
        .await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        listed.text
    );
    let audit = app.audit_actions().await;
    for action in [
        "purchasing.po_create",
        "purchasing.po_submit",
        "purchasing.po_receive",
    ] {
        assert!(audit.contains(&action.to_owned()), "{action}: {audit:?}");
    }
}

#[tokio::test]
async fn drafts_and_submitted_orders_cancel_once() {
    let app = TestApp::spawn().await;
    let (_, _, id) = submitted(&app).await;
    let c = act(&app, &id, "cancel").await;
    assert_eq!(c.body["status"], "cancelled");
    assert_eq!(
        act(&app, &id, "cancel").await.body["version"],
        c.body["version"],
        "harmless twice"
    );
    assert_eq!(act(&app, &id, "submit").await.status, StatusCode::CONFLICT);
    assert_eq!(
        act(&app, "0190a0b0-0000-7000-8000-000000000000", "cancel")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn over_receipt_beyond_the_tolerance_is_refused_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (p, w, id) = submitted(&app).await;
    // 20 ordered: 5% tolerance allows 21.
    let over = receipt(
        &app,
        &id,
        json!([{"product_id": p, "quantity": 22}]),
        "over-1",
    )
    .await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.text);
    assert!(
        over.body["detail"]
            .as_str()
            .unwrap()
            .contains("at most 21 more"),
        "{}",
        over.text
    );
    assert_eq!(app.on_hand(&p, &w).await, 0);
    let ok = receipt(
        &app,
        &id,
        json!([{"product_id": p, "quantity": 21}]),
        "over-2",
    )
    .await;
    assert_eq!(
        ok.body["purchase_order"]["status"], "received",
        "{}",
        ok.text
    );
    let stranger = receipt(
        &app,
        &id,
        json!([{"product_id": uuid::Uuid::now_v7().to_string(), "quantity": 1}]),
        "bad-1",
    )
    .await;
    assert_eq!(
        stranger.status,
        StatusCode::CONFLICT,
        "the order is closed now"
    );
    let empty = receipt(&app, &id, json!([]), "bad-2").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_retried_receipt_moves_stock_once() {
    let app = TestApp::spawn().await;
    let (p, w, id) = submitted(&app).await;
    let lines = json!([{"product_id": p, "quantity": 5}]);
    let first = receipt(&app, &id, lines.clone(), "same-receipt").await;
    let again = receipt(&app, &id, lines, "same-receipt").await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.on_hand(&p, &w).await, 5);
}

#[tokio::test]
async fn concurrent_receipts_never_exceed_ordered_plus_tolerance() {
    let app = TestApp::spawn().await;
    let (p, w, id) = submitted(&app).await;
    let results: Vec<TestResponse> = join_all((0..10).map(|i| {
        let (app, id, p) = (&app, &id, &p);
        async move {
            loop {
                let r = receipt(
                    app,
                    id,
                    json!([{"product_id": p, "quantity": 3}]),
                    &format!("race-{i}"),
                )
                .await;
                // A 503 after too many lost races is retried with the same key, as clients do.
                if r.status != StatusCode::SERVICE_UNAVAILABLE {
                    return r;
                }
            }
        }
    }))
    .await;
    let accepted = results
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count() as i64;
    assert!(
        results
            .iter()
            .all(|r| r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT)
    );
    assert_eq!(accepted, 7, "7 x 3 = 21 = 20 ordered + 1 tolerance");
    let order = app
        .get(&format!("/v1/purchase-orders/{id}"), Role::Staff)
        .await;
    assert_eq!(order.body["lines"][0]["received"], 21);
    assert_eq!(app.on_hand(&p, &w).await, 21);
    assert_eq!(app.ledger_sum(&p, &w).await, 21);
}

#[tokio::test]
async fn the_scanner_receives_against_a_purchase_order() {
    let app = TestApp::spawn().await;
    let (p, w, id) = submitted(&app).await;
    let barcode = app
        .get(&format!("/v1/products/{p}"), Role::Staff)
        .await
        .body["barcode"]
        .clone();
    let barcode = match barcode.as_str() {
        Some(b) => b.to_owned(),
        None => {
            let r = app
                .patch_product(&p, "\"1\"", &json!({"barcode": "4006381333931"}))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            "4006381333931".to_owned()
        }
    };
    let scan = json!({"barcode": barcode, "warehouse_id": w, "action": "receive", "quantity": 4, "purchase_order_id": id});
    let r = app
        .send_json(
            Method::POST,
            "/v1/scanner/scan",
            Role::Staff,
            &scan,
            &[("idempotency-key", "scan-po-1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["purchase_order"]["lines"][0]["received"], 4);
    assert_eq!(app.on_hand(&p, &w).await, 4);
    let mut ship = scan.clone();
    ship["action"] = json!("ship");
    let wrong = app
        .send_json(
            Method::POST,
            "/v1/scanner/scan",
            Role::Staff,
            &ship,
            &[("idempotency-key", "scan-po-2")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn bad_purchase_orders_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let p = product(&app, 1, 3).await;
    let w = app.create_warehouse("W-1").await;
    let s = supplier(&app, "Acme", &[(&p, 250, 1)]).await;
    let unlisted = product(&app, 2, 3).await;
    for (body, status) in [
        (
            json!({"supplier_id": "nope", "warehouse_id": w, "lines": [{"product_id": p, "quantity": 1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"supplier_id": s, "warehouse_id": "nope", "lines": [{"product_id": p, "quantity": 1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"supplier_id": s, "warehouse_id": w, "lines": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"supplier_id": s, "warehouse_id": w, "lines": [{"product_id": unlisted, "quantity": 1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"supplier_id": s, "warehouse_id": w, "lines": [{"product_id": "nope", "quantity": 1, "unit_cost": 5}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"supplier_id": s, "warehouse_id": w, "lines": [{"product_id": p, "quantity": -1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = app
            .send_json(
                Method::POST,
                "/v1/purchase-orders",
                Role::Manager,
                &body,
                &[],
            )
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
    }
    let staff = app.send_json(Method::POST, "/v1/purchase-orders", Role::Staff,
        &json!({"supplier_id": s, "warehouse_id": w, "lines": [{"product_id": p, "quantity": 1}]}), &[]).await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/v1/purchase-orders", Role::Staff).await.body["items"],
        json!([])
    );
    assert_eq!(
        app.get("/v1/purchase-orders?status=shipped", Role::Staff)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn suggestions_match_the_numbers_and_turn_into_drafts() {
    let app = TestApp::spawn().await;
    let w = app.create_warehouse("W-SUG").await;
    // (reorder level, units received, target level)
    let plan: [(u32, i64, Option<u32>); 5] = [
        (5, 2, None),
        (5, 9, None),
        (4, 0, Some(20)),
        (2, 1, None),
        (6, 6, None),
    ];
    let mut ids = Vec::new();
    for (i, (reorder, units, target)) in plan.iter().enumerate() {
        let p = product(&app, i + 1, *reorder).await;
        if let Some(t) = target {
            let r = app
                .patch_product(&p, "\"1\"", &json!({"target_level": t}))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
        let r = app
            .move_stock(
                &json!({"type": "count", "product_id": p, "warehouse_id": w, "counted": units}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.push(p);
    }
    // Cheap sells 0, 2 (min 25); dear sells 0 and 3, preferred for 3; nobody sells 4.
    let cheap = supplier(&app, "Cheap", &[(&ids[0], 100, 1), (&ids[2], 50, 25)]).await;
    let dear = supplier(&app, "Dear", &[(&ids[0], 120, 1), (&ids[3], 70, 1)]).await;
    let r = app
        .patch_product(&ids[3], "\"1\"", &json!({"preferred_supplier_id": dear}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // 3 units of product 0 already on a submitted order.
    let open = po(
        &app,
        &cheap,
        &w,
        json!([{"product_id": ids[0], "quantity": 3}]),
    )
    .await;
    act(&app, open.body["id"].as_str().unwrap(), "submit").await;

    let r = app
        .get(
            &format!("/v1/purchase-orders/suggestions?warehouse_id={w}"),
            Role::Staff,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut got: Vec<(String, i64, Option<String>)> = r.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| {
            let s = g["supplier_id"].as_str().map(str::to_owned);
            g["lines"].as_array().unwrap().iter().map(move |l| {
                (
                    l["product_id"].as_str().unwrap().to_owned(),
                    l["quantity"].as_i64().unwrap(),
                    s.clone(),
                )
            })
        })
        .collect();
    got.sort();
    // Brute force: target = target_level or 2 x reorder (at least reorder + 1).
    let mut expected = vec![
        (ids[0].clone(), 10 - 2 - 3, Some(cheap.clone())), // 5: on order 3
        (ids[2].clone(), 25, Some(cheap.clone())),         // 20 - 0 = 20, minimum 25
        (ids[3].clone(), 4 - 1, Some(dear.clone())),       // preferred over nobody else
        (ids[4].clone(), 12 - 6, None),                    // at its reorder level, no supplier
    ];
    expected.sort();
    assert_eq!(got, expected, "{}", r.text);

    let drafted = app
        .send_json(
            Method::POST,
            &format!("/v1/purchase-orders/suggestions?warehouse_id={w}"),
            Role::Manager,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(drafted.status, StatusCode::CREATED, "{}", drafted.text);
    assert_eq!(drafted.body["purchase_orders"].as_array().unwrap().len(), 2);
    assert_eq!(
        drafted.body["without_supplier"].as_array().unwrap().len(),
        1
    );
    let again = app
        .send_json(
            Method::POST,
            &format!("/v1/purchase-orders/suggestions?warehouse_id={w}"),
            Role::Manager,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(
        again.body["purchase_orders"],
        json!([]),
        "drafts count as on order"
    );
    let missing = app
        .get("/v1/purchase-orders/suggestions", Role::Staff)
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_order_written_with_ids_in_capitals_is_received_under_either_spelling() {
    let app = TestApp::spawn().await;
    let p = product(&app, 1, 3).await;
    let w = app.create_warehouse("BLR-IN").await;
    let s = supplier(&app, "Acme Textiles", &[(&p, 250, 10)]).await;
    let upper = p.to_uppercase();
    let r = po(
        &app,
        &s,
        &w.to_uppercase(),
        json!([{"product_id": upper, "quantity": 20}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["lines"][0]["product_id"], p.as_str());
    assert_eq!(r.body["lines"][0]["unit_cost"], 250, "the supplier's price");
    assert_eq!(r.body["warehouse_id"], w.as_str());
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(act(&app, &id, "submit").await.status, StatusCode::OK);
    let first = receipt(
        &app,
        &id,
        json!([{"product_id": upper, "quantity": 5}]),
        "r-1",
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let second = receipt(&app, &id, json!([{"product_id": p, "quantity": 15}]), "r-2").await;
    assert_eq!(
        second.body["purchase_order"]["status"], "received",
        "{}",
        second.text
    );
    assert_eq!(app.on_hand(&p, &w).await, 20);
}
