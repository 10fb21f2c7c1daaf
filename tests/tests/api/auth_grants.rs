//! Per-user grants: an admin lets one account do one thing beyond its role, checked by the same
//! guard as roles, and takes it back from the next request on.

use http::{Method, StatusCode};
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{STRONG_PASSWORD, TestApp, TestResponse};

async fn as_admin(app: &TestApp, method: Method, path: &str) -> TestResponse {
    app.send_json(method, path, Role::Admin, &json!({}), &[])
        .await
}

#[tokio::test]
async fn a_grant_works_from_the_next_request_and_its_revoke_too() {
    let app = TestApp::spawn().await;
    let email = format!("clerk-{}@example.com", uuid::Uuid::new_v4().simple());
    let tokens = app.register_and_login(&email).await;
    let token = tokens.body["access_token"].as_str().unwrap().to_owned();
    let id = app.account_id(&email).await;
    let promote = app
        .send_json(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Role::Admin,
            &json!({"role": "staff"}),
            &[],
        )
        .await;
    assert_eq!(promote.status, StatusCode::OK, "{}", promote.text);
    // A role change voids earlier tokens: sign in again as staff.
    let token_after = |r: TestResponse| r.body["access_token"].as_str().unwrap().to_owned();
    let staff = token_after(app.login(&email, STRONG_PASSWORD).await);
    drop(token);
    let supplier = |n: u32| json!({"name": format!("Acme {n}"), "currency": "INR"});
    let create = |n: u32| {
        let staff = staff.clone();
        let body = supplier(n);
        let app = &app;
        async move {
            app.call_with_token(Method::POST, "/v1/suppliers", &staff, Some(&body))
                .await
        }
    };
    assert_eq!(create(1).await.status, StatusCode::FORBIDDEN);
    let path = format!("/v1/users/{id}/grants/manage_purchasing");
    let granted = as_admin(&app, Method::PUT, &path).await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
    assert_eq!(granted.body["grants"], json!(["manage_purchasing"]));
    // The same token, unchanged, now carries the grant.
    let allowed = create(2).await;
    assert_eq!(allowed.status, StatusCode::CREATED, "{}", allowed.text);
    let me = app
        .call_with_token(Method::GET, "/v1/auth/me", &staff, None)
        .await;
    assert_eq!(me.body["grants"], json!(["manage_purchasing"]));
    // Granting twice is one grant.
    let again = as_admin(&app, Method::PUT, &path).await;
    assert_eq!(again.body["grants"], json!(["manage_purchasing"]));
    let revoked = as_admin(&app, Method::DELETE, &path).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    assert_eq!(revoked.body["grants"], json!([]));
    assert_eq!(create(3).await.status, StatusCode::FORBIDDEN);
    let actions = app.audit_actions().await;
    let added = actions.iter().filter(|a| *a == "user.grant_added").count();
    assert_eq!(added, 1, "{actions:?}");
    assert!(actions.contains(&"user.grant_revoked".to_owned()));
}

#[tokio::test]
async fn only_admins_grant_and_only_known_permissions_to_known_accounts() {
    let app = TestApp::spawn().await;
    let email = format!("g-{}@example.com", uuid::Uuid::new_v4().simple());
    app.register_and_login(&email).await;
    let id = app.account_id(&email).await;
    let path = format!("/v1/users/{id}/grants/manage_orders");
    for role in [Role::Manager, Role::Staff, Role::Customer] {
        let r = app
            .send_json(Method::PUT, &path, role, &json!({}), &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?}");
    }
    let unknown = as_admin(&app, Method::PUT, &format!("/v1/users/{id}/grants/root")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    assert!(
        unknown.body["detail"]
            .as_str()
            .unwrap()
            .contains("manage_orders")
    );
    let nobody = as_admin(&app, Method::PUT, "/v1/users/nobody/grants/manage_orders").await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    let me = app.get("/v1/users?limit=100", Role::Admin).await;
    assert!(
        me.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["grants"] == json!([])),
        "nothing was granted"
    );
}

#[tokio::test]
async fn manage_users_cannot_be_granted_and_a_new_role_drops_the_grants() {
    let app = TestApp::spawn().await;
    let email = format!("climber-{}@example.com", uuid::Uuid::new_v4().simple());
    app.register_and_login(&email).await;
    let id = app.account_id(&email).await;
    let escalate = as_admin(
        &app,
        Method::PUT,
        &format!("/v1/users/{id}/grants/manage_users"),
    )
    .await;
    assert_eq!(escalate.status, StatusCode::CONFLICT, "{}", escalate.text);
    let granted = as_admin(
        &app,
        Method::PUT,
        &format!("/v1/users/{id}/grants/read_stock"),
    )
    .await;
    assert_eq!(granted.body["grants"], json!(["read_stock"]));
    let demoted = app
        .send_json(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Role::Admin,
            &json!({"role": "staff"}),
            &[],
        )
        .await;
    assert_eq!(demoted.status, StatusCode::OK, "{}", demoted.text);
    assert_eq!(
        demoted.body["grants"],
        json!([]),
        "grants belonged to the old role"
    );
}
