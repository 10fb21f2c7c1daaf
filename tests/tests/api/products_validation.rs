use http::{Method, StatusCode};
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{TestApp, TestResponse, product_body};

async fn post_raw(
    app: &TestApp,
    content_type: Option<&str>,
    body: impl Into<String>,
) -> TestResponse {
    let mut builder = app.request(Method::POST, "/v1/products", Some(Role::Manager));
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    app.call(builder.body(lambda_http::Body::from(body.into())).unwrap())
        .await
}

fn assert_problem(r: &TestResponse, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.body["status"], status.as_u16());
    assert!(
        r.body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:stockroom:problem:")
    );
    assert!(!r.body["detail"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn bad_bodies_get_the_documented_status_and_write_nothing() {
    let app = TestApp::spawn().await;
    let cases: Vec<(Option<&str>, String, StatusCode)> = vec![
        (
            Some("application/json"),
            r#"{"sku": "A-1", "name": "#.into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Some("application/json"),
            String::new(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Some("text/plain"),
            product_body(1).to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            None,
            product_body(1).to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            Some("application/json"),
            "x".repeat(70_000),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            Some("application/json"),
            json!([1, 2]).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (content_type, body, status) in cases {
        let r = post_raw(&app, content_type, body).await;
        assert_problem(&r, status);
    }
    assert_eq!(app.table_item_count().await, 0);
}

#[tokio::test]
async fn wrong_types_and_unknown_fields_name_the_field() {
    let app = TestApp::spawn().await;
    let mut wrong_type = product_body(1);
    wrong_type["price"]["amount_minor"] = json!("12.50");
    let mut unknown = product_body(1);
    unknown["colour"] = json!("red");
    let mut float_price = product_body(1);
    float_price["price"]["amount_minor"] = json!(12.5);
    for (body, field) in [
        (wrong_type, "price.amount_minor"),
        (unknown, "colour"),
        (float_price, "price.amount_minor"),
    ] {
        let r = app.create_product(&body).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    assert_eq!(app.table_item_count().await, 0);
}

#[tokio::test]
async fn invalid_values_are_all_listed_at_once() {
    let app = TestApp::spawn().await;
    let body = json!({
        "sku": "has space",
        "name": "",
        "category": "x".repeat(101),
        "price": {"amount_minor": -1, "currency": "XYZ"},
        "barcode": "4006381333932",
        "attributes": {"bad/key": "v"},
        "reorder_level": 2_000_000_000u32
    });
    let r = app.create_product(&body).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        vec![
            "attributes.bad/key",
            "barcode",
            "category",
            "name",
            "price.amount_minor",
            "price.currency",
            "reorder_level",
            "sku"
        ]
    );
    assert_eq!(app.table_item_count().await, 0);
}

#[tokio::test]
async fn an_invalid_patch_changes_nothing() {
    let app = TestApp::spawn().await;
    let created = app.create_product(&product_body(1)).await;
    let id = created.body["id"].as_str().unwrap();
    for body in [
        json!({"name": null}),
        json!({"price": {"amount_minor": 5}}),
        json!({"unknown": 1}),
        json!({"attributes": (0..60).map(|n| (format!("k{n}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
    ] {
        let r = app.patch_product(id, &created.etag(), &body).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let garbled = app
        .patch_product(id, "W/\"1\"", &json!({"name": "x"}))
        .await;
    assert_problem(&garbled, StatusCode::BAD_REQUEST);
    let read = app.get(&format!("/v1/products/{id}"), Role::Staff).await;
    assert_eq!(read.body, created.body);
}
