//! Changing a password: the current one is proof, every other session ends.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use stockroom_tests::{STRONG_PASSWORD, TestApp, TestResponse};

const NEW_PASSWORD: &str = "quiet-harbour-keeps-41-boats";

async fn change(app: &TestApp, access: &str, current: &str, new: &str) -> TestResponse {
    app.call_with_token(
        Method::POST,
        "/v1/auth/password",
        access,
        Some(&json!({"current_password": current, "new_password": new})),
    )
    .await
}

fn access(tokens: &TestResponse) -> String {
    tokens.body["access_token"].as_str().unwrap().to_owned()
}

async fn refresh(app: &TestApp, tokens: &Value) -> StatusCode {
    app.post_anonymous(
        "/v1/auth/refresh",
        &json!({"refresh_token": tokens["refresh_token"]}),
    )
    .await
    .status
}

#[tokio::test]
async fn a_changed_password_ends_every_other_session_and_the_old_password_stops_working() {
    let app = TestApp::spawn().await;
    // The local SES is shared by every test: this address is this test's alone.
    let owner = format!("owner-{}@example.com", uuid::Uuid::new_v4().simple());
    let owner = owner.as_str();
    let here = app.register_and_login(owner).await;
    let elsewhere = app.login(owner, STRONG_PASSWORD).await;
    let changed = change(&app, &access(&here), STRONG_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    // The answer is a fresh session; the one it came from and every other are over.
    let me = app
        .call_with_token(Method::GET, "/v1/auth/me", &access(&changed), None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(
        refresh(&app, &elsewhere.body).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(refresh(&app, &here.body).await, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&app, &changed.body).await, StatusCode::OK);
    let stale = change(
        &app,
        &access(&elsewhere),
        NEW_PASSWORD,
        "another-fine-passphrase-99",
    )
    .await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED, "{}", stale.text);
    assert_eq!(
        app.login(owner, STRONG_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.login(owner, NEW_PASSWORD).await.status, StatusCode::OK);
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.password_changed".to_owned())
    );
    // The owner is told, through SES.
    let mail = app.outbox_for(owner).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].channel, "email");
    assert_eq!(mail[0].subject, "Your Stockroom password was changed");
    assert!(
        mail[0].body.contains("http://localhost:3000"),
        "{}",
        mail[0].body
    );
    assert!(!mail[0].body.contains(NEW_PASSWORD));
}

#[tokio::test]
async fn guessing_the_current_password_shares_the_sign_in_lock() {
    let app = TestApp::spawn().await;
    let tokens = app.register_and_login("guessed@example.com").await;
    let token = access(&tokens);
    for _ in 0..5 {
        let r = change(&app, &token, "not-the-password-at-all", NEW_PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], "current_password");
    }
    let locked = change(&app, &token, STRONG_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.text
    );
    assert_eq!(
        app.login("guessed@example.com", STRONG_PASSWORD)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS,
        "the guesses counted against signing in too"
    );
}

#[tokio::test]
async fn a_weak_or_unchanged_new_password_is_refused_and_costs_no_guess() {
    let app = TestApp::spawn().await;
    let tokens = app.register_and_login("weak@example.com").await;
    let token = access(&tokens);
    for new in ["short", "weak@example.com", STRONG_PASSWORD] {
        for _ in 0..3 {
            let r = change(&app, &token, STRONG_PASSWORD, new).await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{new}: {}",
                r.text
            );
            assert_eq!(r.body["errors"][0]["field"], "new_password");
        }
    }
    // Nine refusals later the account is not locked: none of them was a guess.
    let r = change(&app, &token, STRONG_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

fn unique(name: &str) -> String {
    format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple())
}

async fn forgot(app: &TestApp, email: &str) -> TestResponse {
    app.post_anonymous("/v1/auth/password/forgot", &json!({ "email": email }))
        .await
}

async fn reset(app: &TestApp, token: &str, new: &str) -> TestResponse {
    app.post_anonymous(
        "/v1/auth/password/reset",
        &json!({"token": token, "new_password": new}),
    )
    .await
}

/// The token of the newest reset link mailed to `email`.
async fn mailed_token(app: &TestApp, email: &str) -> String {
    let mail = app.outbox_for(email).await;
    let link = mail
        .iter()
        .rev()
        .find(|m| m.subject == "Reset your Stockroom password")
        .expect("a reset mail");
    let at = link.body.find("token=").unwrap() + "token=".len();
    link.body[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_reset_link_works_once_ends_every_session_and_lifts_the_lockout() {
    let app = TestApp::spawn().await;
    let email = unique("forgetful");
    let session = app.register_and_login(&email).await;
    for _ in 0..5 {
        app.login(&email, "surely-this-one-works").await;
    }
    assert_eq!(
        app.login(&email, STRONG_PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let asked = forgot(&app, &email).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text);
    let token = mailed_token(&app, &email).await;
    // A refused new password leaves the link usable.
    let weak = reset(&app, &token, "short").await;
    assert_eq!(
        weak.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        weak.text
    );
    assert_eq!(weak.body["errors"][0]["field"], "new_password");
    let done = reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text);
    let again = reset(&app, &token, "another-fine-passphrase-99").await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "used once");
    assert_eq!(again.body["errors"][0]["field"], "token");
    assert_eq!(refresh(&app, &session.body).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login(&email, NEW_PASSWORD).await.status,
        StatusCode::OK,
        "the lockout was lifted"
    );
    let mail = app.outbox_for(&email).await;
    assert!(
        mail.iter()
            .any(|m| m.subject == "Your Stockroom password was reset"),
        "{mail:?}"
    );
    let actions = app.audit_actions().await;
    for action in ["auth.password_reset_requested", "auth.password_reset"] {
        assert!(actions.contains(&action.to_owned()), "{actions:?}");
    }
}

#[tokio::test]
async fn a_reset_request_answers_the_same_for_known_and_unknown_addresses_and_is_limited() {
    let app = TestApp::spawn().await;
    let known = unique("known");
    app.register_and_login(&known).await;
    let unknown = unique("nobody");
    let for_known = forgot(&app, &known).await;
    let for_unknown = forgot(&app, &unknown).await;
    assert_eq!(
        (for_known.status, &for_known.body),
        (for_unknown.status, &for_unknown.body)
    );
    assert_eq!(app.outbox_for(&unknown).await.len(), 0);
    assert_eq!(app.outbox_for(&known).await.len(), 1);
    for _ in 0..2 {
        assert_eq!(forgot(&app, &unknown).await.status, StatusCode::ACCEPTED);
    }
    // The fourth request within the hour is refused, known address or not.
    assert_eq!(
        forgot(&app, &unknown).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let malformed = forgot(&app, "not an address").await;
    assert_eq!(malformed.status, StatusCode::ACCEPTED);
    assert_eq!(malformed.body, for_known.body);
}

#[tokio::test]
async fn an_expired_or_made_up_reset_token_is_refused() {
    let app = TestApp::spawn().await;
    let email = unique("late");
    app.register_and_login(&email).await;
    let account = app.account_id(&email).await;
    let state = shared::services::AppState::new(&app.config, &app.clients);
    let expired = state
        .sessions
        .start_reset(&account, time::Duration::seconds(-1))
        .await
        .unwrap();
    for token in [expired.as_str(), "made-up", &"x".repeat(300)] {
        let r = reset(&app, token, NEW_PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], "token");
    }
    assert_eq!(
        app.login(&email, STRONG_PASSWORD).await.status,
        StatusCode::OK,
        "nothing changed"
    );
}
