//! Verified addresses: registration mails a link, unverified accounts cannot order, resending
//! is limited, and a new address takes effect only once verified.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use stockroom_tests::{STRONG_PASSWORD, TestApp, TestResponse};

use crate::orders_support::shop;

const VERIFY: &str = "Verify your Stockroom e-mail address";
const CONFIRM_NEW: &str = "Confirm your new Stockroom e-mail address";

fn unique(name: &str) -> String {
    format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple())
}

fn access(tokens: &TestResponse) -> String {
    tokens.body["access_token"].as_str().unwrap().to_owned()
}

async fn verify(app: &TestApp, token: &str) -> TestResponse {
    app.post_anonymous("/v1/auth/email/verify", &json!({ "token": token }))
        .await
}

async fn me(app: &TestApp, access: &str) -> Value {
    let r = app
        .call_with_token(Method::GET, "/v1/auth/me", access, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn place_as(app: &TestApp, access: &str, product_id: &str) -> TestResponse {
    let key = uuid::Uuid::new_v4().to_string();
    app.send_with_token(
        Method::POST,
        "/v1/orders",
        access,
        Some(&json!({"lines": [{"product_id": product_id, "quantity": 1}]})),
        &[("idempotency-key", &key)],
    )
    .await
}

#[tokio::test]
async fn an_unverified_account_browses_but_cannot_order_until_its_link_is_opened() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let email = unique("new");
    let tokens = app.register_and_login(&email).await;
    assert_eq!(tokens.status, StatusCode::OK, "unverified accounts sign in");
    let token = access(&tokens);
    assert_eq!(me(&app, &token).await["email_verified"], false);
    let browse = app
        .call_with_token(Method::GET, "/v1/products", &token, None)
        .await;
    assert_eq!(browse.status, StatusCode::OK, "{}", browse.text);
    let refused = place_as(&app, &token, &shop.p1).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(
        refused.body["type"],
        "urn:stockroom:problem:email-not-verified"
    );
    let link = app.mailed_token(&email, VERIFY).await;
    let mail = app.outbox_for(&email).await;
    assert!(
        mail[0]
            .body
            .contains("http://localhost:3000/verify-email#token="),
        "{}",
        mail[0].body
    );
    let verified = verify(&app, &link).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    assert_eq!(verified.body["email_verified"], true);
    // The same access token orders now: the account is read at the revocation point.
    let placed = place_as(&app, &token, &shop.p1).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.email_verified".to_owned())
    );
}

#[tokio::test]
async fn a_verification_link_works_once_and_a_made_up_one_is_refused() {
    let app = TestApp::spawn().await;
    let email = unique("once");
    app.register_and_login(&email).await;
    let link = app.mailed_token(&email, VERIFY).await;
    assert_eq!(verify(&app, &link).await.status, StatusCode::OK);
    for token in [link.as_str(), "made-up", "", &"x".repeat(300)] {
        let r = verify(&app, token).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], "token");
    }
    // A password-reset token is not a verification link.
    app.post_anonymous("/v1/auth/password/forgot", &json!({ "email": email }))
        .await;
    let reset = app
        .mailed_token(&email, "Reset your Stockroom password")
        .await;
    assert_eq!(
        verify(&app, &reset).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn resending_a_verification_link_is_limited_and_refused_once_verified() {
    let app = TestApp::spawn().await;
    let email = unique("again");
    let token = access(&app.register_and_login(&email).await);
    let resend = || async {
        app.call_with_token(Method::POST, "/v1/auth/email/verification", &token, None)
            .await
    };
    // Registration sent the first of five links an hour.
    for _ in 0..4 {
        let r = resend().await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    }
    let limited = resend().await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
    let sent = app.subjects_for(&email).await;
    assert_eq!(sent.iter().filter(|s| *s == VERIFY).count(), 5);
    // Any of them works, once.
    let newest = app.mailed_token(&email, VERIFY).await;
    assert_eq!(verify(&app, &newest).await.status, StatusCode::OK);
    let done = resend().await;
    assert_eq!(done.status, StatusCode::CONFLICT, "{}", done.text);
}

async fn change_address(app: &TestApp, access: &str, to: &str, password: &str) -> TestResponse {
    app.call_with_token(
        Method::POST,
        "/v1/auth/email",
        access,
        Some(&json!({"new_email": to, "password": password})),
    )
    .await
}

#[tokio::test]
async fn a_new_address_takes_effect_only_once_a_link_sent_to_it_is_opened() {
    let app = TestApp::spawn().await;
    let old = unique("old");
    let new = unique("new");
    let tokens = app.register_verified(&old).await;
    let token = access(&tokens);
    let wrong = change_address(&app, &token, &new, "not-the-password-at-all").await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.text
    );
    assert_eq!(wrong.body["errors"][0]["field"], "password");
    let same = change_address(&app, &token, &old.to_uppercase(), STRONG_PASSWORD).await;
    assert_eq!(
        same.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        same.text
    );
    assert_eq!(same.body["errors"][0]["field"], "new_email");
    let asked = change_address(&app, &token, &new, STRONG_PASSWORD).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text);
    // Nothing changed yet: the old address signs in, the new one does not.
    assert_eq!(me(&app, &token).await["email"], old.as_str());
    assert_eq!(
        app.login(&new, STRONG_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        app.subjects_for(&old)
            .await
            .contains(&"Your Stockroom address may change".to_owned())
    );
    let link = app.mailed_token(&new, CONFIRM_NEW).await;
    let moved = verify(&app, &link).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.body["email"], new.as_str());
    // The move ended the access tokens of the old address; the new one signs in.
    let signed_in = app.login(&new, STRONG_PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::OK);
    let stale = change_address(&app, &token, &unique("later"), STRONG_PASSWORD).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED, "{}", stale.text);
    let now = me(&app, &access(&signed_in)).await;
    assert_eq!(
        (now["email"].as_str(), now["email_verified"].as_bool()),
        (Some(new.as_str()), Some(true))
    );
    assert_eq!(
        app.login(&old, STRONG_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        app.subjects_for(&old)
            .await
            .contains(&"Your Stockroom address changed".to_owned())
    );
    // The old address is free again.
    let register = app
        .post_anonymous(
            "/v1/auth/register",
            &json!({"email": old, "password": STRONG_PASSWORD, "display_name": "B"}),
        )
        .await;
    assert_eq!(register.status, StatusCode::ACCEPTED);
    assert_eq!(
        app.login(&old, STRONG_PASSWORD).await.status,
        StatusCode::OK
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.email_changed".to_owned())
    );
}

#[tokio::test]
async fn a_link_sent_before_the_address_changed_is_dead() {
    let app = TestApp::spawn().await;
    let old = unique("first");
    let (second, third) = (unique("second"), unique("third"));
    let token = access(&app.register_verified(&old).await);
    assert_eq!(
        change_address(&app, &token, &second, STRONG_PASSWORD)
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        change_address(&app, &token, &third, STRONG_PASSWORD)
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let to_second = app.mailed_token(&second, CONFIRM_NEW).await;
    let to_third = app.mailed_token(&third, CONFIRM_NEW).await;
    assert_eq!(verify(&app, &to_third).await.status, StatusCode::OK);
    let stale = verify(&app, &to_second).await;
    assert_eq!(
        stale.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        stale.text
    );
    let signed_in = app.login(&third, STRONG_PASSWORD).await;
    assert_eq!(me(&app, &access(&signed_in)).await["email"], third.as_str());
}

#[tokio::test]
async fn an_address_change_asked_by_a_thief_dies_when_the_owner_signs_out_everywhere() {
    let app = TestApp::spawn().await;
    let (owner, thief) = (unique("owner"), unique("thief"));
    let token = access(&app.register_verified(&owner).await);
    let asked = change_address(&app, &token, &thief, STRONG_PASSWORD).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    // The owner reads the notice and signs out everywhere.
    let fresh = access(&app.login(&owner, STRONG_PASSWORD).await);
    let out = app
        .call_with_token(Method::DELETE, "/v1/auth/sessions", &fresh, None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let link = app.mailed_token(&thief, CONFIRM_NEW).await;
    let refused = verify(&app, &link).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(
        app.login(&owner, STRONG_PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn moving_to_a_taken_address_answers_the_same_and_tells_its_owner_instead() {
    let app = TestApp::spawn().await;
    let (mover, holder, free) = (unique("mover"), unique("holder"), unique("free"));
    let token = access(&app.register_verified(&mover).await);
    app.register_verified(&holder).await;
    let taken = change_address(&app, &token, &holder, STRONG_PASSWORD).await;
    let open = change_address(&app, &token, &free, STRONG_PASSWORD).await;
    assert_eq!((taken.status, &taken.body), (open.status, &open.body));
    let to_holder = app.subjects_for(&holder).await;
    assert!(
        !to_holder.contains(&CONFIRM_NEW.to_owned()),
        "{to_holder:?}"
    );
    assert!(
        to_holder.contains(&"Your address already has a Stockroom account".to_owned()),
        "{to_holder:?}"
    );
    assert_eq!(me(&app, &token).await["email"], mover.as_str());
}
