use http::{Method, StatusCode};
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{TestApp, product_body};

/// Every products route, with a body where it takes one, and whether each role may call it.
fn routes(id: &str) -> Vec<(Method, String, Option<serde_json::Value>, &'static [Role])> {
    use Role::*;
    let writers: &'static [Role] = &[Admin, Manager];
    let everyone: &'static [Role] = &[Admin, Manager, Staff, Customer];
    vec![
        (Method::GET, "/v1/products".into(), None, everyone),
        (
            Method::POST,
            "/v1/products".into(),
            Some(product_body(99)),
            writers,
        ),
        (Method::GET, format!("/v1/products/{id}"), None, everyone),
        (
            Method::PATCH,
            format!("/v1/products/{id}"),
            Some(json!({"name": "x"})),
            writers,
        ),
        (Method::DELETE, format!("/v1/products/{id}"), None, writers),
        (
            Method::POST,
            format!("/v1/products/{id}/restore"),
            None,
            writers,
        ),
        (
            Method::POST,
            format!("/v1/products/{id}/images"),
            Some(json!({"content_type": "image/jpeg"})),
            writers,
        ),
        (
            Method::GET,
            "/v1/products/by-barcode/96385074".into(),
            None,
            everyone,
        ),
    ]
}

#[tokio::test]
async fn each_role_may_call_exactly_the_routes_the_matrix_allows() {
    let app = TestApp::spawn().await;
    let mut body = product_body(1);
    body["barcode"] = json!("96385074");
    let created = app.create_product(&body).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    for role in Role::ALL {
        for (method, path, body, allowed) in routes(&id) {
            let mut builder = app
                .request(method.clone(), &path, Some(role))
                .header("if-match", "*");
            let body = match body {
                Some(b) => {
                    builder = builder.header("content-type", "application/json");
                    let mut b = b;
                    if path == "/v1/products" {
                        b["sku"] = json!(format!("AUTHZ-{}", role.as_str()));
                    }
                    lambda_http::Body::from(b.to_string())
                }
                None => lambda_http::Body::Empty,
            };
            let r = app.call(builder.body(body).unwrap()).await;
            if allowed.contains(&role) {
                assert!(
                    r.status.is_success(),
                    "{role:?} {method} {path}: {} {}",
                    r.status,
                    r.text
                );
            } else {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?} {method} {path}");
                assert_eq!(r.header("content-type"), Some("application/problem+json"));
            }
        }
    }
}

#[tokio::test]
async fn every_products_route_refuses_invalid_and_expired_tokens_and_writes_refuse_none() {
    let app = TestApp::spawn().await;
    let id = "0190a0b0-0000-7000-8000-000000000000";
    let expired = app.token_for("someone", Role::Admin, -3600);
    let foreign = {
        let other = TestApp::spawn().await;
        other.token(Role::Admin)
    };
    let items_before = app.table_item_count().await;
    for (method, path, _, _) in routes(id) {
        for auth in [
            None,
            Some("Bearer not.a.jwt".to_owned()),
            Some(format!("Bearer {expired}")),
            Some(format!("Bearer {foreign}")),
            Some("Basic dXNlcjpwYXNz".into()),
        ] {
            // Reads of the catalogue are public (tests/api/storefront.rs); a token that is
            // there must still be good.
            if auth.is_none() && method == Method::GET {
                continue;
            }
            let mut builder = app
                .request(method.clone(), &path, None)
                .header("content-type", "application/json");
            if let Some(a) = &auth {
                builder = builder.header("authorization", a);
            }
            let r = app
                .call(builder.body(lambda_http::Body::from("{}")).unwrap())
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {auth:?}"
            );
            assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
        }
    }
    assert_eq!(app.table_item_count().await, items_before);
}

#[tokio::test]
async fn a_forbidden_caller_learns_nothing_from_body_or_precondition_checks() {
    let app = TestApp::spawn().await;
    let id = "0190a0b0-0000-7000-8000-000000000000";
    for (method, path) in [
        (Method::POST, "/v1/products".to_owned()),
        (Method::PATCH, format!("/v1/products/{id}")),
        (Method::POST, format!("/v1/products/{id}/images")),
    ] {
        let r = app
            .call(
                app.request(method.clone(), &path, Some(Role::Customer))
                    .header("content-type", "text/plain")
                    .body(lambda_http::Body::from("not json"))
                    .unwrap(),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn only_admins_manage_users_and_read_the_audit_log_while_every_role_has_its_own_account_routes()
 {
    let app = TestApp::spawn().await;
    app.bootstrap_admin("root@example.com").await;
    let users = app.get("/v1/users", Role::Admin).await;
    let id = users.body["items"][0]["id"].as_str().unwrap().to_owned();
    for role in Role::ALL {
        let admin_only = [
            app.get("/v1/users", role).await,
            app.get("/v1/audit", role).await,
            app.send_json(
                Method::PATCH,
                &format!("/v1/users/{id}"),
                role,
                &json!({"role": "admin"}),
                &[],
            )
            .await,
        ];
        for r in admin_only {
            if role == Role::Admin {
                assert!(r.status.is_success(), "{role:?}: {} {}", r.status, r.text);
            } else {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?}: {}", r.text);
            }
        }
        // Account routes act on the caller's own account: never forbidden to a signed-in role
        // (these test tokens name no stored account, hence 404).
        let me = app.get("/v1/auth/me", role).await;
        assert_eq!(me.status, StatusCode::NOT_FOUND, "{role:?}");
        let setup = app
            .call(
                app.request(Method::POST, "/v1/auth/2fa/setup", Some(role))
                    .header("content-type", "application/json")
                    .body(lambda_http::Body::from(r#"{"password": "whatever-it-is"}"#))
                    .unwrap(),
            )
            .await;
        assert_eq!(setup.status, StatusCode::NOT_FOUND, "{role:?}");
    }
}

#[tokio::test]
async fn bad_bodies_on_every_auth_route_get_the_documented_status_and_write_nothing() {
    let app = TestApp::spawn().await;
    let routes = [
        "/v1/auth/register",
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/auth/logout",
        "/v1/auth/2fa/enable",
        "/v1/auth/2fa/disable",
    ];
    for path in routes {
        let cases: [(&str, &str, StatusCode); 4] = [
            ("application/json", "{,}", StatusCode::BAD_REQUEST),
            ("text/plain", "{}", StatusCode::UNSUPPORTED_MEDIA_TYPE),
            (
                "application/json",
                "{\"unexpected\": 1}",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            ("application/json", "[]", StatusCode::UNPROCESSABLE_ENTITY),
        ];
        for (content_type, body, status) in cases {
            let r = app
                .call(
                    app.request(Method::POST, path, Some(Role::Customer))
                        .header("content-type", content_type)
                        .body(lambda_http::Body::from(body))
                        .unwrap(),
                )
                .await;
            assert_eq!(r.status, status, "{path} {body}: {}", r.text);
            assert_eq!(r.header("content-type"), Some("application/problem+json"));
        }
    }
    let oversize = app
        .post_anonymous(
            "/v1/auth/login",
            &json!({"email": "x".repeat(70_000), "password": "x"}),
        )
        .await;
    assert_eq!(oversize.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.table_item_count().await, 0);
}
