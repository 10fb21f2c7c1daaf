//! `GET /v1/search` and `/v1/search/suggest` over an index rebuilt from the table.

use http::StatusCode;
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{TestApp, product_body};

async fn product(app: &TestApp, n: usize, name: &str, category: &str, price: i64) -> String {
    let mut body = product_body(n);
    body["name"] = json!(name);
    body["category"] = json!(category);
    body["price"]["amount_minor"] = json!(price);
    let r = app.create_product(&body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn products_are_found_with_typos_filters_and_facets() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get("/v1/search?q=jacket", Role::Customer).await.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "no index yet"
    );
    let jacket = product(&app, 1, "Waterproof hiking jacket", "Outdoor", 549_900).await;
    let socks = product(&app, 2, "Hiking socks", "Outdoor", 49_900).await;
    let kettle = product(&app, 3, "Jacketed kettle", "Kitchen", 350_000).await;
    let gone = product(&app, 4, "Jacket of the past", "Outdoor", 100_000).await;
    let r = app
        .send_json(
            http::Method::DELETE,
            &format!("/v1/products/{gone}"),
            Role::Manager,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let w = app.create_warehouse("W-1").await;
    app.move_stock(
        &json!({"type": "receive", "product_id": jacket, "warehouse_id": w, "quantity": 3}),
    )
    .await;
    search::rebuild(&app.search).await.unwrap();

    let r = app.get("/v1/search?q=jackt", Role::Customer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ids: Vec<&str> = r.body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids[0], jacket, "{}", r.text);
    assert!(
        !ids.contains(&gone.as_str()),
        "archived products never appear"
    );
    assert_eq!(r.body["facets"]["category"]["outdoor"], 1);
    let in_stock = app
        .get("/v1/search?q=hiking&in_stock=true", Role::Customer)
        .await;
    assert_eq!(in_stock.body["total"], 1, "{}", in_stock.text);
    let cheap = app
        .get("/v1/search?q=hiking&sort=price_asc", Role::Customer)
        .await;
    assert_eq!(cheap.body["hits"][0]["id"], socks);
    let kitchen = app
        .get("/v1/search?q=jacket&category=KITCHEN", Role::Customer)
        .await;
    assert_eq!(kitchen.body["hits"][0]["id"], kettle, "{}", kitchen.text);
    let s = app
        .get("/v1/search/suggest?q=hiking%20so", Role::Customer)
        .await;
    assert_eq!(
        s.body["suggestions"][0]["name"], "Hiking socks",
        "{}",
        s.text
    );

    // A new version is picked up after the next rebuild.
    product(&app, 5, "Trail running shoes", "Outdoor", 899_900).await;
    assert_eq!(
        app.get("/v1/search?q=trail", Role::Customer).await.body["total"],
        0
    );
    search::rebuild(&app.search).await.unwrap();
    assert_eq!(
        app.get("/v1/search?q=trail", Role::Customer).await.body["total"],
        1
    );
}

#[tokio::test]
async fn bad_searches_get_clear_4xx_answers() {
    let app = TestApp::spawn().await;
    product(&app, 1, "Waterproof hiking jacket", "Outdoor", 549_900).await;
    search::rebuild(&app.search).await.unwrap();
    let long = "a".repeat(201);
    for (path, field) in [
        ("/v1/search", "q"),
        ("/v1/search?q=%21%21%21", "q"),
        (&*format!("/v1/search?q={long}"), "q"),
        ("/v1/search?q=jacket&sort=cheapest", "sort"),
        (
            "/v1/search?q=jacket&min_price=500&max_price=100",
            "min_price",
        ),
        ("/v1/search?q=jacket&limit=0", "limit"),
        ("/v1/search?q=jacket&offset=990&limit=20", "offset"),
        ("/v1/search/suggest?q=", "q"),
    ] {
        let r = app.get(path, Role::Customer).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            r.text
        );
        assert_eq!(r.body["errors"][0]["field"], field, "{path}: {}", r.text);
    }
    let bad_number = app
        .get("/v1/search?q=jacket&min_price=cheap", Role::Customer)
        .await;
    assert!(bad_number.status.is_client_error(), "{}", bad_number.text);
    let syntax = app
        .get("/v1/search?q=name%3Ajacket%20OR%20%28", Role::Customer)
        .await;
    assert_eq!(syntax.status, StatusCode::OK, "{}", syntax.text);
    // Public, but a token that is there must be good (tests/api/storefront.rs has more).
    assert_eq!(
        app.call(
            http::Request::builder()
                .uri("/v1/search?q=jacket")
                .header("authorization", "Bearer not.a.token")
                .body(lambda_http::Body::Empty)
                .unwrap()
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_offset_near_the_largest_integer_is_refused_not_a_panic() {
    let app = TestApp::spawn().await;
    product(&app, 1, "Plain tee", "Apparel", 49_900).await;
    search::rebuild(&app.search).await.unwrap();
    let r = app
        .get(
            "/v1/search?q=tee&offset=18446744073709551615",
            Role::Customer,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "offset", "{}", r.text);
}

#[tokio::test]
async fn a_customer_sees_whether_a_product_is_in_stock_but_not_how_many() {
    let app = TestApp::spawn().await;
    let p = product(&app, 1, "Plain tee", "Apparel", 49_900).await;
    let w = app.create_warehouse("BLR-1").await;
    let r = app
        .move_stock(&json!({"type": "receive", "product_id": p, "warehouse_id": w, "quantity": 7}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    search::rebuild(&app.search).await.unwrap();
    let customer = app.get("/v1/search?q=tee", Role::Customer).await;
    let hit = &customer.body["hits"][0];
    assert_eq!(hit["in_stock"], true, "{}", customer.text);
    assert!(hit.get("available").is_none(), "{}", customer.text);
    let staff = app.get("/v1/search?q=tee", Role::Staff).await;
    assert_eq!(staff.body["hits"][0]["available"], 7, "{}", staff.text);
}
