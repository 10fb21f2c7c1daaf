use http::{Method, StatusCode};
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{STRONG_PASSWORD, TestApp};

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_or_disabled() {
    let app = TestApp::spawn().await;
    app.bootstrap_admin("root@example.com").await;
    let root = app.account_id("root@example.com").await;
    for change in [json!({"role": "manager"}), json!({"disabled": true})] {
        let r = app
            .send_json(
                Method::PATCH,
                &format!("/v1/users/{root}"),
                Role::Admin,
                &change,
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    }
    // With a second admin, the first may step down.
    app.register_and_login("second@example.com").await;
    let second = app.account_id("second@example.com").await;
    let promote = app
        .send_json(
            Method::PATCH,
            &format!("/v1/users/{second}"),
            Role::Admin,
            &json!({"role": "admin"}),
            &[],
        )
        .await;
    assert_eq!(promote.status, StatusCode::OK, "{}", promote.text);
    let demote = app
        .send_json(
            Method::PATCH,
            &format!("/v1/users/{root}"),
            Role::Admin,
            &json!({"role": "manager"}),
            &[],
        )
        .await;
    assert_eq!(demote.status, StatusCode::OK, "{}", demote.text);
    let last = app
        .send_json(
            Method::PATCH,
            &format!("/v1/users/{second}"),
            Role::Admin,
            &json!({"disabled": true}),
            &[],
        )
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = TestApp::spawn().await;
    app.bootstrap_admin("a@example.com").await;
    app.bootstrap_admin("b@example.com").await;
    let (a, b) = (
        app.account_id("a@example.com").await,
        app.account_id("b@example.com").await,
    );
    let change = json!({"role": "staff"});
    let (path_a, path_b) = (format!("/v1/users/{a}"), format!("/v1/users/{b}"));
    let (ra, rb) = tokio::join!(
        app.send_json(Method::PATCH, &path_a, Role::Admin, &change, &[]),
        app.send_json(Method::PATCH, &path_b, Role::Admin, &change, &[]),
    );
    let ok = [ra.status, rb.status]
        .iter()
        .filter(|s| **s == StatusCode::OK)
        .count();
    assert_eq!(
        ok, 1,
        "{} {} / {} {}",
        ra.status, ra.text, rb.status, rb.text
    );
    let users = app.get("/v1/users", Role::Admin).await;
    let admins = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["role"] == "admin")
        .count();
    assert_eq!(admins, 1);
}

#[tokio::test]
async fn users_are_listed_in_pages_and_changes_are_audited() {
    let app = TestApp::spawn().await;
    for n in 0..5 {
        let r = app
            .post_anonymous("/v1/auth/register", &json!({"email": format!("u{n}@example.com"), "password": STRONG_PASSWORD, "display_name": "U"}))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
    }
    let first = app.get("/v1/users?limit=3", Role::Admin).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 3);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/v1/users?limit=3&cursor={cursor}"), Role::Admin)
        .await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(second.body["next_cursor"], json!(null));
    assert!(first.text.find("password_hash").is_none() && second.text.find("argon2").is_none());

    let id = first.body["items"][0]["id"].as_str().unwrap();
    let stale = app
        .send_json(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Role::Admin,
            &json!({"role": "staff"}),
            &[("if-match", "\"9\"")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let changed = app
        .send_json(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Role::Admin,
            &json!({"role": "staff"}),
            &[],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.body["role"], "staff");
    let bad = app
        .send_json(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Role::Admin,
            &json!({"role": "owner"}),
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let audit = app
        .get("/v1/audit?action=user.role_changed", Role::Admin)
        .await;
    let entries = audit.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", audit.text);
    assert_eq!(entries[0]["target"], id);
    assert_eq!(entries[0]["actor"], "user-admin");
    assert_eq!(entries[0]["details"]["role_after"], "staff");
}

#[tokio::test]
async fn the_audit_log_filters_by_actor_action_and_time_and_cannot_be_changed() {
    let app = TestApp::spawn().await;
    app.register_and_login("a@example.com").await;
    app.login("a@example.com", "wrong-password-guess").await;
    app.register_and_login("b@example.com").await;
    let a = app.account_id("a@example.com").await;

    let by_actor = app.get(&format!("/v1/audit?actor={a}"), Role::Admin).await;
    let actions: Vec<&str> = by_actor.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "auth.login",
            "auth.login_failed",
            "auth.login",
            "auth.register"
        ],
        "newest first"
    );
    let failed = app
        .get(
            &format!("/v1/audit?actor={a}&action=auth.login_failed"),
            Role::Admin,
        )
        .await;
    assert_eq!(failed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(failed.body["items"][0]["details"]["email"], "a@example.com");
    assert!(
        !failed.text.contains("wrong-password-guess"),
        "passwords never reach the log"
    );

    let future = app
        .get("/v1/audit?from=2999-01-01T00:00:00Z", Role::Admin)
        .await;
    assert!(future.body["items"].as_array().unwrap().is_empty());
    let past = app
        .get("/v1/audit?to=2000-01-01T00:00:00Z", Role::Admin)
        .await;
    assert!(past.body["items"].as_array().unwrap().is_empty());
    let all = app
        .get("/v1/audit?from=2000-01-01T00:00:00Z&limit=2", Role::Admin)
        .await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    assert!(all.body["next_cursor"].is_string());

    let bad_time = app.get("/v1/audit?from=yesterday", Role::Admin).await;
    assert_eq!(bad_time.status, StatusCode::UNPROCESSABLE_ENTITY);
    for method in [Method::DELETE, Method::PATCH, Method::PUT] {
        let r = app
            .call(
                app.request(method.clone(), "/v1/audit", Some(Role::Admin))
                    .body(lambda_http::Body::Empty)
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
}

#[tokio::test]
async fn a_null_where_a_boolean_or_role_belongs_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.register_and_login("nully@example.com").await;
    let id = app.account_id("nully@example.com").await;
    for (body, field) in [
        (json!({"disabled": null}), "disabled"),
        (json!({"role": null}), "role"),
    ] {
        let r = app
            .send_json(
                Method::PATCH,
                &format!("/v1/users/{id}"),
                Role::Admin,
                &body,
                &[],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
}

/// Signs `email` in; its access token.
async fn access_of(app: &TestApp, email: &str) -> String {
    let r = app.login(email, STRONG_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["access_token"].as_str().unwrap().to_owned()
}

async fn change(app: &TestApp, id: &str, body: serde_json::Value) -> stockroom_tests::TestResponse {
    app.send_json(
        Method::PATCH,
        &format!("/v1/users/{id}"),
        Role::Admin,
        &body,
        &[],
    )
    .await
}

#[tokio::test]
async fn a_disabled_admin_cannot_re_enable_themselves() {
    let app = TestApp::spawn().await;
    app.bootstrap_admin("root@example.com").await;
    app.register_and_login("b@example.com").await;
    let b = app.account_id("b@example.com").await;
    assert_eq!(
        change(&app, &b, json!({"role": "admin"})).await.status,
        StatusCode::OK
    );
    let token = access_of(&app, "b@example.com").await;
    let works = app
        .call_with_token(
            Method::PATCH,
            &format!("/v1/users/{b}"),
            &token,
            Some(&json!({"disabled": false})),
        )
        .await;
    assert_eq!(works.status, StatusCode::OK, "{}", works.text);

    assert_eq!(
        change(&app, &b, json!({"disabled": true})).await.status,
        StatusCode::OK
    );
    let undo = app
        .call_with_token(
            Method::PATCH,
            &format!("/v1/users/{b}"),
            &token,
            Some(&json!({"disabled": false})),
        )
        .await;
    assert_eq!(undo.status, StatusCode::UNAUTHORIZED, "{}", undo.text);
    assert!(undo.header("www-authenticate").unwrap().contains("revoked"));
    let users = app.get("/v1/users?limit=100", Role::Admin).await;
    let still = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == b.as_str())
        .unwrap()
        .clone();
    assert_eq!(still["disabled"], true, "{still}");
}

#[tokio::test]
async fn a_demoted_admins_old_token_no_longer_writes() {
    let app = TestApp::spawn().await;
    app.bootstrap_admin("root@example.com").await;
    app.register_and_login("c@example.com").await;
    let c = app.account_id("c@example.com").await;
    change(&app, &c, json!({"role": "admin"})).await;
    let token = access_of(&app, "c@example.com").await;
    assert_eq!(
        change(&app, &c, json!({"role": "staff"})).await.status,
        StatusCode::OK
    );
    let r = app
        .call_with_token(
            Method::PATCH,
            &format!("/v1/users/{c}"),
            &token,
            Some(&json!({"role": "admin"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // Signing in again gives a token with the role the account has now.
    let fresh = access_of(&app, "c@example.com").await;
    let me = app
        .call_with_token(Method::GET, "/v1/auth/me", &fresh, None)
        .await;
    assert_eq!(me.body["role"], "staff");
}

#[tokio::test]
async fn signing_out_everywhere_voids_every_session_and_access_token() {
    let app = TestApp::spawn().await;
    app.register_and_login("d@example.com").await;
    let phone = app.login("d@example.com", STRONG_PASSWORD).await;
    let laptop = app.login("d@example.com", STRONG_PASSWORD).await;
    let phone_access = phone.body["access_token"].as_str().unwrap().to_owned();
    let out = app
        .post_anonymous(
            "/v1/auth/logout",
            &json!({"refresh_token": laptop.body["refresh_token"], "everywhere": true}),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    let write = app
        .call_with_token(Method::POST, "/v1/auth/2fa/setup", &phone_access, None)
        .await;
    assert_eq!(write.status, StatusCode::UNAUTHORIZED, "{}", write.text);
    let refresh = app
        .post_anonymous(
            "/v1/auth/refresh",
            &json!({"refresh_token": phone.body["refresh_token"]}),
        )
        .await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED, "{}", refresh.text);
    let again = access_of(&app, "d@example.com").await;
    let setup = app
        .call_with_token(
            Method::POST,
            "/v1/auth/2fa/setup",
            &again,
            Some(&json!({"password": STRONG_PASSWORD})),
        )
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.text);
}
