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

    let no_password = call("/v1/auth/2fa/setup", json!({})).await;
    assert_eq!(
        no_password.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a bearer token alone cannot enrol: {}",
        no_password.text
    );
    assert_eq!(no_password.body["errors"][0]["field"], "password");
    let wrong = call(
        "/v1/auth/2fa/setup",
        json!({"password": "not-the-password-at-all"}),
    )
    .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.text
    );
    assert_eq!(wrong.body["errors"][0]["field"], "password");
    let setup = call("/v1/auth/2fa/setup", json!({"password": STRONG_PASSWORD})).await;
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
        json!({"password": STRONG_PASSWORD, "recovery_code": recovery[0]}),
    )
    .await;
    assert_eq!(bad_disable.status, StatusCode::UNPROCESSABLE_ENTITY);
    let without_password = call(
        "/v1/auth/2fa/disable",
        json!({"password": "not-the-password-at-all", "recovery_code": recovery[1]}),
    )
    .await;
    assert_eq!(without_password.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(without_password.body["errors"][0]["field"], "password");
    let disabled = call(
        "/v1/auth/2fa/disable",
        json!({"password": STRONG_PASSWORD, "recovery_code": recovery[1]}),
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
    let setup = post(
        "/v1/auth/2fa/setup",
        Some(json!({"password": STRONG_PASSWORD})),
    )
    .await;
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
            Some(json!({"password": STRONG_PASSWORD, "recovery_code": format!("wrong-{guess}")})),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    }
    let locked = post(
        "/v1/auth/2fa/disable",
        Some(json!({"password": STRONG_PASSWORD, "recovery_code": recovery})),
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
        .call_with_token(
            Method::POST,
            "/v1/auth/2fa/setup",
            &access,
            Some(&json!({"password": STRONG_PASSWORD})),
        )
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

/// A phone number of this test's own (the local SNS is shared by every test).
fn phone() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 100_000_000;
    format!("+9198{n:08}")
}

/// The code in the newest text sent to `phone`.
async fn texted_code(app: &TestApp, phone: &str) -> String {
    let texts = app.outbox_for(phone).await;
    let text = texts.last().expect("a text message");
    assert_eq!(text.channel, "sms");
    text.body[..6].to_owned()
}

/// Registers `email` and signs in; its access token.
async fn signed_in(app: &TestApp, email: &str) -> String {
    // Texting needs a verified address.
    let tokens = app.register_verified(email).await;
    tokens.body["access_token"].as_str().unwrap().to_owned()
}

async fn post(app: &TestApp, access: &str, path: &str, body: Value) -> TestResponse {
    app.call_with_token(Method::POST, path, access, Some(&body))
        .await
}

async fn sign_in(app: &TestApp, email: &str, extra: Value) -> TestResponse {
    let mut body = json!({"email": email, "password": STRONG_PASSWORD});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.post_anonymous("/v1/auth/login", &body).await
}

/// Turns SMS codes on for the account of `access` with phone `number`.
async fn enrol_phone(app: &TestApp, access: &str, number: &str) -> TestResponse {
    enrol_phone_proving(app, access, number, json!({})).await
}

/// [`enrol_phone`] with `proof` (a current factor) added to the set-up request.
async fn enrol_phone_proving(
    app: &TestApp,
    access: &str,
    number: &str,
    proof: Value,
) -> TestResponse {
    let mut body = json!({"phone": number, "password": STRONG_PASSWORD});
    body.as_object_mut()
        .unwrap()
        .extend(proof.as_object().unwrap().clone());
    let setup = post(app, access, "/v1/auth/2fa/sms/setup", body).await;
    assert_eq!(setup.status, StatusCode::ACCEPTED, "{}", setup.text);
    let code = texted_code(app, number).await;
    post(
        app,
        access,
        "/v1/auth/2fa/sms/enable",
        json!({ "code": code }),
    )
    .await
}

#[tokio::test]
async fn a_phone_proven_by_a_code_becomes_a_second_factor_and_sign_in_texts_single_use_codes() {
    let app = TestApp::spawn().await;
    let email = format!("sms-{}@example.com", uuid::Uuid::new_v4().simple());
    let access = signed_in(&app, &email).await;
    let number = phone();
    let setup = |body: Value| post(&app, &access, "/v1/auth/2fa/sms/setup", body);
    let no_password = setup(json!({"phone": number, "password": "not-the-password-at-all"})).await;
    assert_eq!(no_password.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_password.body["errors"][0]["field"], "password");
    let bad_phone = setup(json!({"phone": "98123", "password": STRONG_PASSWORD})).await;
    assert_eq!(bad_phone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_phone.body["errors"][0]["field"], "phone");
    assert!(
        app.outbox_for(&number).await.is_empty(),
        "nothing texted yet"
    );
    let sent = setup(json!({"phone": number, "password": STRONG_PASSWORD})).await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.text);
    assert!(
        sent.body["phone"]
            .as_str()
            .unwrap()
            .ends_with(&number[number.len() - 4..])
    );
    assert!(!sent.body["phone"].as_str().unwrap().contains(&number[3..9]));
    let code = texted_code(&app, &number).await;
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{code}");
    let wrong = post(
        &app,
        &access,
        "/v1/auth/2fa/sms/enable",
        json!({"code": "12345x"}),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let enabled = post(
        &app,
        &access,
        "/v1/auth/2fa/sms/enable",
        json!({ "code": code }),
    )
    .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text);
    assert_eq!(enabled.body["methods"], json!(["sms"]));
    assert_eq!(enabled.body["recovery_codes"].as_array().unwrap().len(), 10);
    assert!(
        app.subjects_for(&email)
            .await
            .contains(&"Your Stockroom two-factor sign-in changed".to_owned()),
        "the owner is told"
    );

    // The password alone is not enough; the answer names the methods the account offers.
    let without = sign_in(&app, &email, json!({})).await;
    assert_eq!(without.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        without.body["type"],
        "urn:stockroom:problem:two-factor-required"
    );
    assert_eq!(
        (&without.body["methods"], &without.body["sms_sent"]),
        (&json!(["sms"]), &json!(false))
    );
    let texts_before = app.outbox_for(&number).await.len();
    let asked = sign_in(&app, &email, json!({"send_sms": true})).await;
    assert_eq!(asked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(asked.body["sms_sent"], true);
    assert_eq!(app.outbox_for(&number).await.len(), texts_before + 1);
    let code = texted_code(&app, &number).await;
    let signed = sign_in(&app, &email, json!({ "sms_code": code })).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text);
    let replayed = sign_in(&app, &email, json!({ "sms_code": code })).await;
    assert_eq!(
        replayed.status,
        StatusCode::UNAUTHORIZED,
        "a code works once"
    );
    assert_eq!(
        replayed.body["type"],
        "urn:stockroom:problem:invalid-credentials"
    );
    // A wrong password never texts a code.
    let before = app.outbox_for(&number).await.len();
    let wrong_password = app
        .post_anonymous(
            "/v1/auth/login",
            &json!({"email": email, "password": "not-the-password-at-all", "send_sms": true}),
        )
        .await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.outbox_for(&number).await.len(), before);
    let me = app
        .call_with_token(Method::GET, "/v1/auth/me", &access, None)
        .await;
    assert_eq!(me.body["two_factor_methods"], json!(["sms"]));
}

#[tokio::test]
async fn an_expired_texted_code_is_refused() {
    let app = TestApp::spawn().await;
    let email = format!("late-sms-{}@example.com", uuid::Uuid::new_v4().simple());
    let access = signed_in(&app, &email).await;
    let number = phone();
    let enabled = enrol_phone(&app, &access, &number).await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text);
    let id = app.account_id_of(&access).await;
    let state = shared::services::AppState::new(&app.config, &app.clients);
    let store = |lifetime: i64| {
        let digest = auth::sms_code_digest(&app.key, &id, "424242");
        let sessions = state.sessions.clone();
        let (id, number) = (id.clone(), number.clone());
        async move {
            sessions
                .start_code(
                    &id,
                    shared::store::CodePurpose::SignIn,
                    &digest,
                    &number,
                    time::Duration::seconds(lifetime),
                )
                .await
                .unwrap()
        }
    };
    store(-1).await;
    let expired = sign_in(&app, &email, json!({"sms_code": "424242"})).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED, "{}", expired.text);
    // The same code, still good, signs in: only the expiry refused it.
    store(300).await;
    let good = sign_in(&app, &email, json!({"sms_code": "424242"})).await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.text);
}

#[tokio::test]
async fn guessing_texted_codes_at_sign_in_locks_like_passwords() {
    let app = TestApp::spawn().await;
    let email = format!("guess-sms-{}@example.com", uuid::Uuid::new_v4().simple());
    let access = signed_in(&app, &email).await;
    let number = phone();
    assert_eq!(
        enrol_phone(&app, &access, &number).await.status,
        StatusCode::OK
    );
    // Asking for the code is the first of the five attempts the sign-in lock allows.
    sign_in(&app, &email, json!({"send_sms": true})).await;
    let code = texted_code(&app, &number).await;
    for guess in 0..4 {
        let r = sign_in(&app, &email, json!({"sms_code": format!("{guess:06}")})).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    }
    let locked = sign_in(&app, &email, json!({ "sms_code": code })).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.text
    );
}

#[tokio::test]
async fn texts_to_one_account_are_limited_and_the_right_password_re_entered_never_locks_sign_in() {
    let app = TestApp::spawn().await;
    let email = format!("chatty-{}@example.com", uuid::Uuid::new_v4().simple());
    let access = signed_in(&app, &email).await;
    let number = phone();
    let setup = || {
        post(
            &app,
            &access,
            "/v1/auth/2fa/sms/setup",
            json!({"phone": number, "password": STRONG_PASSWORD}),
        )
    };
    for _ in 0..5 {
        assert_eq!(setup().await.status, StatusCode::ACCEPTED);
    }
    let limited = setup().await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.text
    );
    assert!(limited.header("retry-after").is_some());
    assert_eq!(app.outbox_for(&number).await.len(), 5);
    // Six right passwords in a row lifted the count each time (as sign-in does).
    let ok = sign_in(&app, &email, json!({})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
}

#[tokio::test]
async fn an_account_may_offer_both_factors_and_turn_one_off_with_the_other() {
    let app = TestApp::spawn().await;
    let email = format!("both-{}@example.com", uuid::Uuid::new_v4().simple());
    let access = signed_in(&app, &email).await;
    let setup = post(
        &app,
        &access,
        "/v1/auth/2fa/setup",
        json!({"password": STRONG_PASSWORD}),
    )
    .await;
    let secret = setup.body["secret"].as_str().unwrap().to_owned();
    let base = step_now();
    let totp = post(
        &app,
        &access,
        "/v1/auth/2fa/enable",
        json!({"code": code(&secret, base)}),
    )
    .await;
    assert_eq!(totp.status, StatusCode::OK, "{}", totp.text);
    let number = phone();
    // With an authenticator on, adding a phone needs it too: the password alone cannot.
    let password_only = post(
        &app,
        &access,
        "/v1/auth/2fa/sms/setup",
        json!({"phone": number, "password": STRONG_PASSWORD}),
    )
    .await;
    assert_eq!(
        password_only.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        password_only.text
    );
    assert_eq!(password_only.body["errors"][0]["field"], "code");
    let swap = post(
        &app,
        &access,
        "/v1/auth/2fa/setup",
        json!({"password": STRONG_PASSWORD}),
    )
    .await;
    assert_eq!(
        swap.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "replacing the authenticator too"
    );
    let both = enrol_phone_proving(
        &app,
        &access,
        &number,
        json!({"code": code(&secret, base + 1)}),
    )
    .await;
    assert_eq!(both.status, StatusCode::OK, "{}", both.text);
    assert_eq!(both.body["methods"], json!(["totp", "sms"]));
    assert!(
        both.body.get("recovery_codes").is_none(),
        "issued once, with the first factor"
    );
    let without = sign_in(&app, &email, json!({})).await;
    assert_eq!(without.body["methods"], json!(["totp", "sms"]));
    // Turning SMS off needs the password and a current factor: here a recovery code, which
    // is then used up.
    let off = post(
        &app,
        &access,
        "/v1/auth/2fa/disable",
        json!({"password": STRONG_PASSWORD, "method": "sms", "recovery_code": totp.body["recovery_codes"][0]}),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text);
    assert_eq!(
        (&off.body["enabled"], &off.body["methods"]),
        (&json!(true), &json!(["totp"]))
    );
    let again = post(
        &app,
        &access,
        "/v1/auth/2fa/disable",
        json!({"password": STRONG_PASSWORD, "method": "sms", "recovery_code": "x"}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    let reused = sign_in(
        &app,
        &email,
        json!({"recovery_code": totp.body["recovery_codes"][0]}),
    )
    .await;
    assert_eq!(
        reused.status,
        StatusCode::UNAUTHORIZED,
        "the recovery code was used up"
    );
    let totp_sign_in = sign_in(&app, &email, json!({"send_sms": true})).await;
    assert_eq!(totp_sign_in.body["sms_sent"], false, "no phone any more");
}
