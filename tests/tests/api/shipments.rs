//! Shipments: created with an order's payment (one per warehouse), packed and shipped by
//! staff, tracked by carriers' signed updates in any order, seen by their customer only.

use futures::future::join_all;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{CARRIER_WEBHOOK_SECRET, TestApp, TestResponse};

use crate::orders_support::{Shop, pay, place, shop};

/// A customer's order of 2 x p1 from `w` and 1 x p2 from a second warehouse, paid; answers
/// the order and the second warehouse.
async fn paid_from_two_warehouses(app: &TestApp, shop: &Shop) -> (Value, String) {
    let w2 = app.create_warehouse("DEL-1").await;
    let r = app
        .move_stock(
            &json!({"type": "receive", "product_id": shop.p2, "warehouse_id": w2, "quantity": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let o = place(
        app,
        Role::Customer,
        &json!({"lines": [
            {"product_id": shop.p1, "quantity": 2, "warehouse_id": shop.w},
            {"product_id": shop.p2, "quantity": 1, "warehouse_id": w2}
        ]}),
    )
    .await;
    assert_eq!(o.status, StatusCode::CREATED, "{}", o.text);
    pay(app, &o.body).await;
    (o.body, w2)
}

/// A paid order of one unit from `shop`'s warehouse; answers its only shipment.
async fn one_shipment(app: &TestApp, shop: &Shop) -> Value {
    let o = place(
        app,
        Role::Customer,
        &json!({"lines": [{"product_id": shop.p1, "quantity": 1}]}),
    )
    .await;
    pay(app, &o.body).await;
    let list = shipments_of(app, o.body["id"].as_str().unwrap(), Role::Customer).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    list.body["items"][0].clone()
}

async fn shipments_of(app: &TestApp, order: &str, role: Role) -> TestResponse {
    app.get(&format!("/v1/orders/{order}/shipments"), role)
        .await
}

async fn act(app: &TestApp, id: &str, action: &str, role: Role, body: &Value) -> TestResponse {
    app.send_json(
        Method::POST,
        &format!("/v1/shipments/{id}/{action}"),
        role,
        body,
        &[],
    )
    .await
}

/// A paid order's parcel from a new shop, shipped with `tracking`.
async fn shipped(app: &TestApp, tracking: &str) -> Value {
    let s = one_shipment(app, &shop(app).await).await;
    let id = s["id"].as_str().unwrap();
    let r = act(
        app,
        id,
        "ship",
        Role::Staff,
        &json!({"carrier": "delhivery", "tracking_number": tracking}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

/// Posts `body` to the carrier webhook, signed with `secret` (unsigned when `None`).
pub(crate) async fn carrier(app: &TestApp, body: &str, secret: Option<&str>) -> TestResponse {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/v1/webhooks/carrier")
        .header("content-type", "application/json");
    if let Some(secret) = secret {
        request = request.header(
            "x-carrier-signature",
            shared::auth::sign_hex(secret, body.as_bytes()),
        );
    }
    app.call(
        request
            .body(lambda_http::Body::from(body.to_owned()))
            .unwrap(),
    )
    .await
}

pub(crate) fn update(event: &str, tracking: &str, status: &str, minutes_ago: i64) -> String {
    let at = time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes_ago);
    json!({
        "event_id": event, "carrier": "delhivery", "tracking_number": tracking, "status": status,
        "occurred_at": at.format(&time::format_description::well_known::Rfc3339).unwrap(),
        "location": "Bengaluru hub"
    })
    .to_string()
}

async fn current(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/v1/shipments/{id}"), Role::Staff).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

#[tokio::test]
async fn paying_an_order_creates_one_shipment_per_warehouse_announced_after_the_payment() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let (o, w2) = paid_from_two_warehouses(&app, &shop).await;
    let id = o["id"].as_str().unwrap();
    let list = shipments_of(&app, id, Role::Customer).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", list.text);
    let mut from: Vec<&str> = items
        .iter()
        .map(|s| s["warehouse_id"].as_str().unwrap())
        .collect();
    from.sort_unstable();
    let mut expected = vec![shop.w.as_str(), w2.as_str()];
    expected.sort_unstable();
    assert_eq!(from, expected);
    assert!(items.iter().all(|s| s["status"] == "pending"));
    // order.paid comes first, then one shipment.created per parcel, in event-id order.
    let story: Vec<String> = app
        .domain_events(None)
        .await
        .into_iter()
        .filter(|e| e["data"]["order_id"] == id && e["type"] != "order.placed")
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        story,
        ["order.paid", "shipment.created", "shipment.created"]
    );
    // The packing queue of each warehouse lists its parcel.
    let queue = app
        .get(&format!("/v1/shipments?warehouse_id={w2}"), Role::Staff)
        .await;
    assert_eq!(
        queue.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        queue.text
    );
}

#[tokio::test]
async fn an_unpaid_order_has_no_shipments_and_others_cannot_see_a_customers() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let o = place(
        &app,
        Role::Customer,
        &json!({"lines": [{"product_id": shop.p1, "quantity": 1}]}),
    )
    .await;
    let id = o.body["id"].as_str().unwrap();
    let none = shipments_of(&app, id, Role::Customer).await;
    assert_eq!(none.body["items"], json!([]));
    let s = one_shipment(&app, &shop).await;
    let sid = s["id"].as_str().unwrap();
    let other = app.token_for("someone-else", Role::Customer, 300);
    let peek = app
        .call_with_token(Method::GET, &format!("/v1/shipments/{sid}"), &other, None)
        .await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND, "{}", peek.text);
    let peek = app
        .call_with_token(
            Method::GET,
            &format!("/v1/orders/{}/shipments", s["order_id"].as_str().unwrap()),
            &other,
            None,
        )
        .await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND, "{}", peek.text);
    // A customer cannot move their own parcel along.
    let r = act(&app, sid, "pack", Role::Customer, &json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn staff_pack_ship_and_deliver_and_the_customer_sees_the_timeline() {
    let app = TestApp::spawn().await;
    let s = one_shipment(&app, &shop(&app).await).await;
    let id = s["id"].as_str().unwrap();
    for _ in 0..2 {
        let r = act(&app, id, "pack", Role::Staff, &json!({})).await;
        assert_eq!(
            (r.status, r.body["status"].as_str()),
            (StatusCode::OK, Some("packed")),
            "{}",
            r.text
        );
        assert_eq!(r.body["version"], 2, "packing twice changes nothing");
    }
    let ship = json!({"carrier": "Delhivery", "tracking_number": "dl-1001"});
    let r = act(&app, id, "ship", Role::Staff, &ship).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (
            r.body["carrier"].as_str(),
            r.body["tracking_number"].as_str()
        ),
        (Some("delhivery"), Some("DL-1001"))
    );
    let other = act(
        &app,
        id,
        "ship",
        Role::Staff,
        &json!({"carrier": "bluedart", "tracking_number": "X1"}),
    )
    .await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.text);
    let r = act(
        &app,
        id,
        "checkpoints",
        Role::Staff,
        &json!({"status": "delivered", "location": "Front door"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let seen = app
        .get(&format!("/v1/shipments/{id}"), Role::Customer)
        .await;
    assert_eq!(seen.body["status"], "delivered");
    let steps: Vec<&str> = seen.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["pending", "packed", "shipped", "delivered"]);
    // Delivered parcels leave the packing queue.
    let queue = app
        .get(
            &format!(
                "/v1/shipments?warehouse_id={}",
                s["warehouse_id"].as_str().unwrap()
            ),
            Role::Staff,
        )
        .await;
    assert_eq!(queue.body["items"], json!([]), "{}", queue.text);
    let kinds: Vec<String> = app
        .domain_events(None)
        .await
        .into_iter()
        .filter(|e| e["aggregate"]["id"] == id)
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "shipment.created",
            "shipment.updated",
            "shipment.shipped",
            "shipment.delivered"
        ]
    );
}

#[tokio::test]
async fn a_tracking_number_names_one_shipment() {
    let app = TestApp::spawn().await;
    let s = shipped(&app, "DL-7").await;
    let second = place(
        &app,
        Role::Customer,
        &json!({"lines": [{"product_id": s["lines"][0]["product_id"], "quantity": 1}]}),
    )
    .await;
    pay(&app, &second.body).await;
    let second = shipments_of(&app, second.body["id"].as_str().unwrap(), Role::Customer)
        .await
        .body["items"][0]
        .clone();
    let r = act(
        &app,
        second["id"].as_str().unwrap(),
        "ship",
        Role::Staff,
        &json!({"carrier": "delhivery", "tracking_number": "dl-7"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(
        current(&app, second["id"].as_str().unwrap()).await["status"],
        "pending"
    );
}

#[tokio::test]
async fn carrier_updates_in_any_order_never_move_a_parcel_backwards() {
    let app = TestApp::spawn().await;
    let s = shipped(&app, "DL-42").await;
    let id = s["id"].as_str().unwrap();
    // Newest first (minutes ahead of now, within the allowed clock skew).
    let delivered = carrier(
        &app,
        &update("e-3", "DL-42", "delivered", -3),
        Some(CARRIER_WEBHOOK_SECRET),
    )
    .await;
    assert_eq!(delivered.body["status"], "applied", "{}", delivered.text);
    for (event, status, ago) in [("e-2", "out_for_delivery", -2), ("e-1", "in_transit", -1)] {
        let r = carrier(
            &app,
            &update(event, "DL-42", status, ago),
            Some(CARRIER_WEBHOOK_SECRET),
        )
        .await;
        assert_eq!(r.body["shipment_status"], "delivered", "{}", r.text);
    }
    let now = current(&app, id).await;
    let steps: Vec<&str> = now["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "pending",
            "shipped",
            "in_transit",
            "out_for_delivery",
            "delivered"
        ],
        "in time order"
    );
}

#[tokio::test]
async fn a_replayed_or_forged_carrier_update_changes_nothing() {
    let app = TestApp::spawn().await;
    let s = shipped(&app, "DL-9").await;
    let id = s["id"].as_str().unwrap();
    let body = update("evt-1", "DL-9", "out_for_delivery", 5);
    assert_eq!(
        carrier(&app, &body, Some(CARRIER_WEBHOOK_SECRET))
            .await
            .body["status"],
        "applied"
    );
    let before = current(&app, id).await;
    let events = app.domain_events(None).await.len();
    // The same signed body again (a replay, or the carrier's retry): a duplicate.
    let again = carrier(&app, &body, Some(CARRIER_WEBHOOK_SECRET)).await;
    assert_eq!(
        (again.status, again.body["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    // Forged: unsigned, signed with another secret, or a signed body altered.
    let forged = update("evt-2", "DL-9", "delivered", 1);
    assert_eq!(
        carrier(&app, &forged, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        carrier(&app, &forged, Some("not-the-secret")).await.status,
        StatusCode::UNAUTHORIZED
    );
    let signature = shared::auth::sign_hex(CARRIER_WEBHOOK_SECRET, body.as_bytes());
    let altered = body.replace("out_for_delivery", "delivered");
    let r = app
        .call(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/webhooks/carrier")
                .header("content-type", "application/json")
                .header("x-carrier-signature", signature)
                .body(lambda_http::Body::from(altered))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(current(&app, id).await, before);
    assert_eq!(
        app.domain_events(None).await.len(),
        events,
        "nothing announced"
    );
}

#[tokio::test]
async fn hostile_carrier_updates_get_precise_refusals() {
    let app = TestApp::spawn().await;
    shipped(&app, "DL-5").await;
    let signed = |body: String| {
        let app = &app;
        async move { carrier(app, &body, Some(CARRIER_WEBHOOK_SECRET)).await }
    };
    let unknown = signed(update("e1", "NOPE-1", "delivered", 1)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    let cases = [
        (
            update(&"x".repeat(101), "DL-5", "delivered", 1),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            update("e1", "DL-5", "packed", 1),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            update("e1", "DL-5", "delivered", -60),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            update("e1", "DL 5; drop", "delivered", 1),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("{\"event_id\": \"e1\"}".to_owned(), StatusCode::BAD_REQUEST),
        ("not json".to_owned(), StatusCode::BAD_REQUEST),
    ];
    for (body, status) in cases {
        let r = signed(body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{body}"
        );
    }
    // Fields a carrier adds, and a blank location, do not cost it the update.
    let extra = update("e-ok", "DL-5", "in_transit", 1).replace(
        "\"location\":\"Bengaluru hub\"",
        "\"location\":\"  \",\"weight_kg\":1.2",
    );
    let r = signed(extra).await;
    assert_eq!(r.body["status"], "applied", "{}", r.text);
}

#[tokio::test]
async fn concurrent_carrier_updates_apply_once_each() {
    let app = TestApp::spawn().await;
    let s = shipped(&app, "DL-77").await;
    let id = s["id"].as_str().unwrap();
    let bodies: Vec<String> = (0..6)
        .map(|i| update(&format!("c-{i}"), "DL-77", "in_transit", 60 - i))
        .collect();
    // Each update twice, all at once.
    let answers = join_all(
        bodies
            .iter()
            .chain(bodies.iter())
            .map(|b| carrier(&app, b, Some(CARRIER_WEBHOOK_SECRET))),
    )
    .await;
    let applied = answers
        .iter()
        .filter(|r| r.body["status"] == "applied")
        .count();
    assert!(
        answers.iter().all(|r| r.status == StatusCode::OK),
        "{:?}",
        answers.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert_eq!(applied, 6);
    let now = current(&app, id).await;
    let carrier_steps = now["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["reported_by"] == "carrier")
        .count();
    assert_eq!(carrier_steps, 6);
}

#[tokio::test]
async fn the_parcel_of_an_order_refunded_in_full_is_not_sent() {
    let app = TestApp::spawn().await;
    let s = one_shipment(&app, &shop(&app).await).await;
    let order = s["order_id"].as_str().unwrap();
    let r = crate::orders_refunds::refund(&app, order, &json!({}), "refund-all").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = s["id"].as_str().unwrap();
    let pack = act(&app, id, "pack", Role::Staff, &json!({})).await;
    assert_eq!(pack.status, StatusCode::CONFLICT, "{}", pack.text);
    let ship = act(
        &app,
        id,
        "ship",
        Role::Staff,
        &json!({"carrier": "delhivery", "tracking_number": "DL-0"}),
    )
    .await;
    assert_eq!(ship.status, StatusCode::CONFLICT, "{}", ship.text);
    assert_eq!(current(&app, id).await["status"], "pending");
}

#[tokio::test]
async fn customers_do_not_see_carrier_event_ids_and_the_queue_leaves_out_timelines() {
    let app = TestApp::spawn().await;
    let s = shipped(&app, "DL-11").await;
    let id = s["id"].as_str().unwrap();
    carrier(
        &app,
        &update("secret-evt", "DL-11", "in_transit", 1),
        Some(CARRIER_WEBHOOK_SECRET),
    )
    .await;
    let seen = app
        .get(&format!("/v1/shipments/{id}"), Role::Customer)
        .await;
    assert!(!seen.text.contains("secret-evt"), "{}", seen.text);
    assert!(
        current(&app, id).await.to_string().contains("secret-evt"),
        "staff see it"
    );
    let queue = app
        .get(
            &format!(
                "/v1/shipments?warehouse_id={}",
                s["warehouse_id"].as_str().unwrap()
            ),
            Role::Staff,
        )
        .await;
    assert_eq!(
        queue.body["items"][0]["status"], "in_transit",
        "{}",
        queue.text
    );
    assert!(queue.body["items"][0].get("timeline").is_none());
}
