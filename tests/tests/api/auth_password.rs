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
