use http::StatusCode;
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, product_body};

async fn collect_pages(app: &TestApp, first: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut path = first.to_owned();
    loop {
        let page = app.get(&path, Role::Customer).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        pages += 1;
        items.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                let sep = if first.contains('?') { '&' } else { '?' };
                path = format!("{first}{sep}cursor={cursor}");
            }
            None => return (items, pages),
        }
    }
}

#[tokio::test]
async fn pages_cover_every_product_once_in_creation_order() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for n in 0..23 {
        let r = app.create_product(&product_body(n)).await;
        assert_eq!(r.status, StatusCode::CREATED);
        created.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let (items, pages) = collect_pages(&app, "/v1/products?limit=10").await;
    let ids: Vec<_> = items
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, created, "every product once, oldest first");
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn an_exactly_full_last_page_has_no_next_cursor() {
    let app = TestApp::spawn().await;
    for n in 0..4 {
        app.create_product(&product_body(n)).await;
    }
    let page = app.get("/v1/products?limit=4", Role::Staff).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 4);
    assert_eq!(page.body["next_cursor"], json!(null));
}

#[tokio::test]
async fn the_category_filter_is_case_insensitive_and_paginates() {
    let app = TestApp::spawn().await;
    for n in 0..7 {
        let mut body = product_body(n);
        body["category"] = json!(if n % 2 == 0 { "Shoes" } else { "Hats" });
        app.create_product(&body).await;
    }
    let (shoes, pages) = collect_pages(&app, "/v1/products?category=SHOES&limit=2").await;
    assert_eq!(shoes.len(), 4);
    assert_eq!(pages, 2);
    assert!(shoes.iter().all(|p| p["category"] == "Shoes"));
}

#[tokio::test]
async fn a_cursor_from_another_listing_or_garbage_is_a_bad_request() {
    let app = TestApp::spawn().await;
    for n in 0..3 {
        app.create_product(&product_body(n)).await;
    }
    let page = app
        .get("/v1/products?category=apparel&limit=1", Role::Staff)
        .await;
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let foreign = app
        .get(&format!("/v1/products?cursor={cursor}"), Role::Staff)
        .await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "{}", foreign.text);
    let garbage = app
        .get("/v1/products?cursor=eyJQSyI6IngifQ", Role::Staff)
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        garbage.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn limits_out_of_range_are_invalid() {
    let app = TestApp::spawn().await;
    for query in ["limit=0", "limit=101"] {
        let r = app.get(&format!("/v1/products?{query}"), Role::Staff).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(r.body["errors"][0]["field"], "limit");
    }
    let long = "x".repeat(101);
    let r = app
        .get(&format!("/v1/products?category={long}"), Role::Staff)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["field"], "category");
    let r = app.get("/v1/products?limit=ten", Role::Staff).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app.get("/v1/products?colour=red", Role::Staff).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "unknown query parameters are refused"
    );
}
