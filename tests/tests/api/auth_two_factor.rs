use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::two_factor;
use stockroom_tests::{STRONG_PASSWORD, TestApp, TestResponse};

const EMAIL: &str = "two@example.com";

fn step_now() -> u64 {
    time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .unsigned_abs()
        / 30
}

fn code(secret: &str, step: u64) -> String {
    two_factor::code_at(secret, step * 30).unwrap()
}

async fn login_with(app: &TestApp, extra: Value) -> TestResponse {
    let mut body = json!({"email": EMAIL, "password": STRONG_PASSWORD});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.post_anonymous("/v1/auth/login", &body).await
}

#[tokio::test]
async fn two_factor_setup_enable_login_with_drift_replay_recovery_and_disable() {
    let app = TestApp::spawn().await;
    let tokens = app.register_and_login(EMAIL).await;
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let call = |path: &'static str, body: Value| {
        let access = access.clone();
        let app = &app;
        async move {
            app.call_with_token(Method::POST, path, &access, Some(&body))
                .await
        }
    };

    let enable_early = call("/v1/auth/2fa/enable", json!({"code": "123456"})).await;
    assert_eq!(
        enable_early.status,
        StatusCode::CONFLICT,
        "setup comes first"
    );

    let setup = app
        .call_with_token(Method::POST, "/v1/auth/2fa/setup", &access, None)
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.text);
    let secret = setup.body["secret"].as_str().unwrap().to_owned();
    assert!(
        setup.body["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Stockroom:")
    );

    let base = step_now();
    let wrong = call("/v1/auth/2fa/enable", json!({"code": "000000"})).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let enabled = call("/v1/auth/2fa/enable", json!({"code": code(&secret, base)})).await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text);
    let recovery: Vec<String> = enabled.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);

    // The password alone no longer signs in.
    let without = login_with(&app, json!({})).await;
    assert_eq!(without.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        without.body["type"],
        "urn:stockroom:problem:two-factor-required"
    );

    // The code that enabled two-factor was used: it cannot sign in.
    let replayed = login_with(&app, json!({"totp_code": code(&secret, base)})).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replayed.body["detail"], "invalid e-mail or password");

    // The next step's code is accepted (one step of drift), once.
    let drift = login_with(&app, json!({"totp_code": code(&secret, base + 1)})).await;
    assert_eq!(drift.status, StatusCode::OK, "{}", drift.text);
    let again = login_with(&app, json!({"totp_code": code(&secret, base + 1)})).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    let far = login_with(&app, json!({"totp_code": code(&secret, base + 5)})).await;
    assert_eq!(far.status, StatusCode::UNAUTHORIZED);

    // A recovery code works once.
    let recovered = login_with(&app, json!({"recovery_code": recovery[0].to_uppercase()})).await;
    assert_eq!(recovered.status, StatusCode::OK, "{}", recovered.text);
    let reused = login_with(&app, json!({"recovery_code": recovery[0]})).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);

    let bad_disable = call(
        "/v1/auth/2fa/disable",
        json!({"recovery_code": recovery[0]}),
    )
    .await;
    assert_eq!(bad_disable.status, StatusCode::UNPROCESSABLE_ENTITY);
    let disabled = call(
        "/v1/auth/2fa/disable",
        json!({"recovery_code": recovery[1]}),
    )
    .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    assert_eq!(login_with(&app, json!({})).await.status, StatusCode::OK);

    let actions = app.audit_actions().await;
    for action in [
        "auth.2fa_enabled",
        "auth.recovery_code_used",
        "auth.2fa_disabled",
    ] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn guessing_codes_to_turn_two_factor_off_is_locked_out_like_sign_in() {
    let app = TestApp::spawn().await;
    let tokens = app.register_and_login(EMAIL).await;
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let post = |path: &'static str, body: Option<Value>| {
        let access = access.clone();
        let app = &app;
        async move {
            app.call_with_token(Method::POST, path, &access, body.as_ref())
                .await
        }
    };
    let setup = post("/v1/auth/2fa/setup", None).await;
    let secret = setup.body["secret"].as_str().unwrap().to_owned();
    let enabled = post(
        "/v1/auth/2fa/enable",
        Some(json!({"code": code(&secret, step_now())})),
    )
    .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text);
    let recovery = enabled.body["recovery_codes"][0]
        .as_str()
        .unwrap()
        .to_owned();
    for guess in 0..5 {
        let r = post(
            "/v1/auth/2fa/disable",
            Some(json!({"recovery_code": format!("wrong-{guess}")})),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    }
    let locked = post(
        "/v1/auth/2fa/disable",
        Some(json!({"recovery_code": recovery})),
    )
    .await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.text
    );
    assert!(locked.header("retry-after").is_some());
    assert_eq!(
        login_with(&app, json!({})).await.body["type"],
        "urn:stockroom:problem:two-factor-required",
        "two-factor is still on"
    );
}

#[tokio::test]
async fn an_admin_resets_a_users_two_factor_signs_them_out_and_tells_them() {
    let app = TestApp::spawn().await;
    let email = format!("lost-device-{}@example.com", uuid::Uuid::new_v4().simple());
    let tokens = app.register_and_login(&email).await;
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let setup = app
        .call_with_token(Method::POST, "/v1/auth/2fa/setup", &access, None)
        .await;
    let secret = setup.body["secret"].as_str().unwrap().to_owned();
    let enabled = app
        .call_with_token(
            Method::POST,
            "/v1/auth/2fa/enable",
            &access,
            Some(&json!({"code": code(&secret, step_now())})),
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text);
    let user = app
        .call_with_token(Method::GET, "/v1/auth/me", &access, None)
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/users/{user}/2fa");
    let by_user = app
        .call_with_token(Method::DELETE, &path, &access, None)
        .await;
    assert_eq!(by_user.status, StatusCode::FORBIDDEN, "only admins");
    let reset = app
        .send_json(
            Method::DELETE,
            &path,
            shared::auth::Role::Admin,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.text);
    let again = app
        .send_json(
            Method::DELETE,
            &path,
            shared::auth::Role::Admin,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "already off");
    // Signed out everywhere; the password alone signs in again.
    let refreshed = app
        .post_anonymous(
            "/v1/auth/refresh",
            &json!({"refresh_token": tokens.body["refresh_token"]}),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login(&email, STRONG_PASSWORD).await.status,
        StatusCode::OK
    );
    let mail = app.outbox_for(&email).await;
    assert!(
        mail.iter()
            .any(|m| m.subject == "Two-factor sign-in was turned off"),
        "{mail:?}"
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"user.2fa_reset".to_owned())
    );
}
