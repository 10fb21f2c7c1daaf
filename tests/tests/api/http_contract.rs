use http::{Method, StatusCode};
use shared::auth::Role;
use stockroom_tests::{TestApp, TestResponse};

fn assert_secure(r: &TestResponse) {
    assert_secure_cached(r, "no-store");
}

/// [`assert_secure`] for an answer that says how it may be cached.
fn assert_secure_cached(r: &TestResponse, cache_control: &str) {
    for (name, value) in [
        (
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("cache-control", cache_control),
    ] {
        assert_eq!(
            r.header(name),
            Some(value),
            "{name} on a {} response",
            r.status
        );
    }
    assert!(!r.header("x-request-id").unwrap_or("").is_empty());
}

#[tokio::test]
async fn successes_and_errors_alike_carry_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    assert_secure(&app.get("/v1/warehouses", Role::Staff).await);
    assert_secure(&app.get("/v1/products/nope", Role::Staff).await);
    let unauthenticated = app
        .call(
            app.request(Method::GET, "/v1/warehouses", None)
                .body(lambda_http::Body::Empty)
                .unwrap(),
        )
        .await;
    assert_secure(&unauthenticated);
    // The catalogue's reads say how they may be cached, and keep every other header.
    assert_secure_cached(
        &app.get("/v1/products", Role::Staff).await,
        "private, no-cache",
    );
    let public = app.get_from("198.51.100.40", "/v1/products", &[]).await;
    assert_secure_cached(&public, "public, max-age=60, stale-while-revalidate=300");
}

#[tokio::test]
async fn a_sane_caller_request_id_is_echoed_and_a_hostile_one_replaced() {
    let app = TestApp::spawn().await;
    let with_id = |id: &str| {
        app.request(Method::GET, "/v1/products", Some(Role::Staff))
            .header("x-request-id", id)
            .body(lambda_http::Body::Empty)
            .unwrap()
    };
    assert_eq!(
        app.call(with_id("trace-123")).await.header("x-request-id"),
        Some("trace-123")
    );
    let replaced = app.call(with_id("evil\"id with spaces")).await;
    assert_ne!(
        replaced.header("x-request-id"),
        Some("evil\"id with spaces")
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = TestApp::spawn().await;
    let r = app.get("/v1/nothing-here", Role::Admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let r = app
        .call(
            app.request(Method::PUT, "/v1/products", Some(Role::Admin))
                .body(lambda_http::Body::Empty)
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app = TestApp::spawn_with(|env| {
        env.insert("CORS_ALLOWED_ORIGINS".into(), "https://shop.example".into());
    })
    .await;
    let from = |origin: &str| {
        app.request(Method::GET, "/v1/products", Some(Role::Staff))
            .header("origin", origin)
            .body(lambda_http::Body::Empty)
            .unwrap()
    };
    let allowed = app.call(from("https://shop.example")).await;
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert!(
        allowed
            .header("access-control-expose-headers")
            .unwrap()
            .contains("etag")
    );
    let other = app.call(from("https://evil.example")).await;
    assert_eq!(other.header("access-control-allow-origin"), None);

    let preflight = app
        .call(
            http::Request::builder()
                .method(Method::OPTIONS)
                .uri("/v1/products")
                .header("origin", "https://shop.example")
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization,content-type",
                )
                .body(lambda_http::Body::Empty)
                .unwrap(),
        )
        .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    assert!(
        preflight
            .header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
}
