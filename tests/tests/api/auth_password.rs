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
    let mut mail = app.outbox_for(owner).await;
    mail.retain(|m| m.subject != "Verify your Stockroom e-mail address");
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
    app.mailed_token(email, "Reset your Stockroom password")
        .await
}

/// How many reset links were mailed to `email`.
async fn resets_sent(app: &TestApp, email: &str) -> usize {
    app.subjects_for(email)
        .await
        .iter()
        .filter(|s| *s == "Reset your Stockroom password")
        .count()
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
    assert_eq!(resets_sent(&app, &known).await, 1);
    // Three mails an hour per address; past that the answer is the same and nothing is sent.
    for _ in 0..3 {
        let r = forgot(&app, &known).await;
        assert_eq!((r.status, &r.body), (for_known.status, &for_known.body));
    }
    assert_eq!(resets_sent(&app, &known).await, 3);
    let malformed = forgot(&app, "not an address").await;
    assert_eq!(malformed.status, StatusCode::ACCEPTED);
    assert_eq!(malformed.body, for_known.body);
}

#[tokio::test]
async fn one_client_address_asking_for_resets_without_end_is_refused() {
    let app = TestApp::spawn().await;
    let ask = |n: usize| {
        let body = json!({ "email": format!("spray-{n}@example.com") });
        let app = &app;
        async move {
            app.post_from("203.0.113.9", "/v1/auth/password/forgot", &body)
                .await
                .status
        }
    };
    for n in 0..30 {
        assert_eq!(ask(n).await, StatusCode::ACCEPTED);
    }
    assert_eq!(ask(30).await, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not held back by it.
    let other = app
        .post_from(
            "203.0.113.10",
            "/v1/auth/password/forgot",
            &json!({"email": "elsewhere@example.com"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_reset_link_from_before_a_password_change_is_dead() {
    let app = TestApp::spawn().await;
    let email = unique("changed-mind");
    let tokens = app.register_and_login(&email).await;
    forgot(&app, &email).await;
    let token = mailed_token(&app, &email).await;
    let changed = change(&app, &access(&tokens), STRONG_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let r = reset(&app, &token, "another-fine-passphrase-99").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(app.login(&email, NEW_PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_session_stored_while_the_password_changed_cannot_refresh() {
    let app = TestApp::spawn().await;
    let email = unique("raced");
    let tokens = app.register_and_login(&email).await;
    let user = app.account_id(&email).await;
    let changed = change(&app, &access(&tokens), STRONG_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    // A sign-in that read the account before the change but stored its session after the
    // change revoked the others: its family carries the old generation.
    let state = shared::services::AppState::new(&app.config, &app.clients);
    let late = state
        .sessions
        .start(&user, time::Duration::hours(1), &Default::default(), 0)
        .await
        .unwrap();
    assert_eq!(
        refresh(&app, &json!({ "refresh_token": late })).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(refresh(&app, &changed.body).await, StatusCode::OK);
}

#[tokio::test]
async fn an_expired_or_made_up_reset_token_is_refused() {
    let app = TestApp::spawn().await;
    let email = unique("late");
    app.register_and_login(&email).await;
    let account = app.account_id(&email).await;
    let state = shared::services::AppState::new(&app.config, &app.clients);
    let link = shared::store::Link {
        user_id: account,
        generation: 0,
        purpose: shared::store::Purpose::PasswordReset,
    };
    let expired = state
        .sessions
        .start_link(&link, time::Duration::seconds(-1))
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

#[tokio::test]
async fn sessions_are_listed_with_where_they_came_from_and_end_one_by_one_or_all_at_once() {
    let app = TestApp::spawn().await;
    let email = unique("traveller");
    let first = app.register_and_login(&email).await;
    let second = app
        .post_from(
            "198.51.100.7",
            "/v1/auth/login",
            &json!({"email": email, "password": STRONG_PASSWORD}),
        )
        .await;
    let token = access(&second);
    let listed = app
        .call_with_token(Method::GET, "/v1/auth/sessions", &token, None)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", listed.text);
    assert!(
        items
            .iter()
            .all(|s| s["created_at"].is_string() && s["last_used_at"].is_string()),
        "{}",
        listed.text
    );
    assert_eq!(items[1]["ip"], "198.51.100.7", "{}", listed.text);
    // Ending the first session stops its refresh token; the second lives on.
    let id = items[0]["id"].as_str().unwrap();
    let ended = app
        .call_with_token(
            Method::DELETE,
            &format!("/v1/auth/sessions/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.text);
    assert_eq!(refresh(&app, &first.body).await, StatusCode::UNAUTHORIZED);
    let again = app
        .call_with_token(
            Method::DELETE,
            &format!("/v1/auth/sessions/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    // Someone else's session id is not found either.
    let other = app.register_and_login(&unique("other")).await;
    let theirs = app
        .call_with_token(
            Method::DELETE,
            &format!("/v1/auth/sessions/{}", items[1]["id"].as_str().unwrap()),
            &access(&other),
            None,
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    // Signing out everywhere ends the rest, and the access token in hand at its next write.
    let all = app
        .call_with_token(Method::DELETE, "/v1/auth/sessions", &token, None)
        .await;
    assert_eq!(all.status, StatusCode::NO_CONTENT, "{}", all.text);
    assert_eq!(refresh(&app, &second.body).await, StatusCode::UNAUTHORIZED);
    let write = change(&app, &token, STRONG_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(write.status, StatusCode::UNAUTHORIZED, "{}", write.text);
}

#[tokio::test]
async fn an_admin_signs_a_user_out_everywhere() {
    let app = TestApp::spawn().await;
    let email = unique("lost-phone");
    let session = app.register_and_login(&email).await;
    let user = app.account_id(&email).await;
    let admin = unique("admin");
    app.register_and_login(&admin).await;
    app.bootstrap_admin(&admin).await;
    let admin_token = access(&app.login(&admin, STRONG_PASSWORD).await);
    let path = format!("/v1/users/{user}/sessions");
    let by_user = app
        .call_with_token(Method::DELETE, &path, &access(&session), None)
        .await;
    assert_eq!(by_user.status, StatusCode::FORBIDDEN, "only admins");
    let r = app
        .call_with_token(Method::DELETE, &path, &admin_token, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(refresh(&app, &session.body).await, StatusCode::UNAUTHORIZED);
    assert!(
        app.audit_actions()
            .await
            .contains(&"user.sessions_ended".to_owned())
    );
}
