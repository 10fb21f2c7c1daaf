//! Google sign-in against the Google stand-in: new addresses become customers, existing
//! accounts are linked only once their owner proves it, and every kind of bad ID token is
//! refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{GOOGLE_CLIENT_ID, STRONG_PASSWORD, TestApp, TestResponse};

fn unique(name: &str) -> String {
    format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple())
}

async fn with_google(app: &TestApp, id_token: &str) -> TestResponse {
    app.post_anonymous("/v1/auth/google", &json!({ "id_token": id_token }))
        .await
}

async fn me(app: &TestApp, tokens: &TestResponse) -> Value {
    let access = tokens.body["access_token"].as_str().unwrap();
    let r = app
        .call_with_token(Method::GET, "/v1/auth/me", access, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn account_count(app: &TestApp) -> usize {
    let users = app.get("/v1/users?limit=100", Role::Admin).await;
    users.body["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_new_address_signs_in_with_google_as_a_verified_customer_without_a_password() {
    let app = TestApp::spawn().await;
    let email = unique("googler");
    let first = with_google(&app, &app.google.id_token(&email)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert!(first.body["refresh_token"].is_string());
    let account = me(&app, &first).await;
    assert_eq!(account["email"], email.as_str());
    assert_eq!(account["role"], "customer");
    assert_eq!(account["email_verified"], true);
    assert_eq!(account["google_linked"], true);
    assert_eq!(account["has_password"], false);
    // The same Google account signs in to the same account; no password does.
    let again = with_google(&app, &app.google.id_token(&email)).await;
    assert_eq!(me(&app, &again).await["id"], account["id"]);
    for guess in ["", "anything-at-all-12"] {
        assert_eq!(
            app.login(&email, guess).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(account_count(&app).await, 1);
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"auth.register".to_owned()), "{actions:?}");
}

#[tokio::test]
async fn bad_google_id_tokens_are_refused_and_make_no_account() {
    let app = TestApp::spawn().await;
    let email = unique("mallory");
    let google = &app.google;
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = google.claims(&email);
        change(&mut claims);
        google.sign(&claims)
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let other = google_local::StandIn::new(GOOGLE_CLIENT_ID).unwrap();
    let hs256 = {
        let header = URL_SAFE_NO_PAD
            .encode(json!({"alg": "HS256", "kid": google.kid(), "typ": "JWT"}).to_string());
        let claims = URL_SAFE_NO_PAD.encode(google.claims(&email).to_string());
        format!("{header}.{claims}.c2lnbmF0dXJl")
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "another app's aud",
            with(&|c| c["aud"] = json!("someone-else.apps.example")),
        ),
        (
            "another issuer",
            with(&|c| c["iss"] = json!("https://evil.example")),
        ),
        (
            "expired",
            with(&|c| {
                c["iat"] = json!(now - 7200);
                c["exp"] = json!(now - 3600);
            }),
        ),
        (
            "unverified address",
            with(&|c| c["email_verified"] = json!(false)),
        ),
        (
            "no address",
            with(&|c| {
                c.as_object_mut().unwrap().remove("email");
            }),
        ),
        ("signed by another key", other.id_token(&email)),
        (
            "another key claiming ours",
            other.sign_as(google.kid(), &google.claims(&email)),
        ),
        ("HS256", hs256),
        ("not a JWT", "not-a-token".to_owned()),
    ];
    for (case, token) in cases {
        let r = with_google(&app, &token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{case}: {}", r.text);
        assert_eq!(
            r.body["type"], "urn:stockroom:problem:invalid-credentials",
            "{case}"
        );
    }
    // A second configured client id is accepted.
    let second = with(&|c| c["aud"] = json!("second-app.apps.example"));
    assert_eq!(with_google(&app, &second).await.status, StatusCode::OK);
    assert_eq!(
        account_count(&app).await,
        1,
        "only the good token made an account"
    );
}

#[tokio::test]
async fn an_existing_account_is_linked_only_once_its_owner_confirms_by_mail() {
    let app = TestApp::spawn().await;
    let email = unique("owner");
    let password_tokens = app.register_verified(&email).await;
    let tried = with_google(&app, &app.google.id_token(&email)).await;
    assert_eq!(tried.status, StatusCode::CONFLICT, "{}", tried.text);
    assert_eq!(me(&app, &password_tokens).await["google_linked"], false);
    let token = app
        .mailed_token(&email, "Sign in to Stockroom with Google?")
        .await;
    let bad = app
        .post_anonymous("/v1/auth/google/confirm", &json!({"token": "made-up"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let confirmed = app
        .post_anonymous("/v1/auth/google/confirm", &json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    let again = app
        .post_anonymous("/v1/auth/google/confirm", &json!({ "token": token }))
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "once");
    let signed = with_google(&app, &app.google.id_token(&email)).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text);
    assert_eq!(
        me(&app, &signed).await["id"],
        me(&app, &password_tokens).await["id"]
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.google_linked".to_owned())
    );
}

#[tokio::test]
async fn a_signed_in_owner_links_google_and_the_second_factor_still_applies() {
    let app = TestApp::spawn().await;
    let email = unique("careful");
    let tokens = app.register_and_login(&email).await;
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    // Another address's Google account: being signed in is the proof.
    let google_email = unique("careful-google");
    let link = |token: String, password: &'static str| {
        let access = access.clone();
        let app = &app;
        async move {
            app.call_with_token(
                Method::POST,
                "/v1/auth/google/link",
                &access,
                Some(&json!({ "id_token": token, "password": password })),
            )
            .await
        }
    };
    // An access token alone (a thief's) cannot link a Google account.
    let thief = link(
        app.google.id_token(&google_email),
        "not-the-password-at-all",
    )
    .await;
    assert_eq!(
        thief.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        thief.text
    );
    assert_eq!(thief.body["errors"][0]["field"], "password");
    let linked = link(app.google.id_token(&google_email), STRONG_PASSWORD).await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.text);
    assert_eq!(linked.body["google_linked"], true);
    assert_eq!(
        linked.body["email_verified"], false,
        "another address's Google account does not verify this one"
    );
    // Turn on an authenticator: Google sign-in then needs its code too.
    let setup = app
        .call_with_token(
            Method::POST,
            "/v1/auth/2fa/setup",
            &access,
            Some(&json!({"password": STRONG_PASSWORD})),
        )
        .await;
    let secret = setup.body["secret"].as_str().unwrap().to_owned();
    let step = time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .unsigned_abs()
        / 30;
    let code = |s: u64| shared::auth::two_factor::code_at(&secret, s * 30).unwrap();
    let enabled = app
        .call_with_token(
            Method::POST,
            "/v1/auth/2fa/enable",
            &access,
            Some(&json!({"code": code(step)})),
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text);
    let id_token = app.google.id_token(&google_email);
    let without = with_google(&app, &id_token).await;
    assert_eq!(without.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        without.body["type"],
        "urn:stockroom:problem:two-factor-required"
    );
    let with_code = app
        .post_anonymous(
            "/v1/auth/google",
            &json!({"id_token": id_token, "totp_code": code(step + 1)}),
        )
        .await;
    assert_eq!(with_code.status, StatusCode::OK, "{}", with_code.text);
    assert_eq!(me(&app, &with_code).await["email"], email.as_str());
    // The Google account cannot be linked to a second account.
    let other = app.register_and_login(&unique("other")).await;
    let taken = app
        .call_with_token(
            Method::POST,
            "/v1/auth/google/link",
            other.body["access_token"].as_str().unwrap(),
            Some(&json!({
                "id_token": app.google.id_token(&google_email),
                "password": STRONG_PASSWORD,
            })),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
    assert!(
        app.subjects_for(&email)
            .await
            .contains(&"Google can now sign you in to Stockroom".to_owned()),
        "the owner is told of the link"
    );
    // The owner unlinks it (the password again); Google no longer signs in to the account.
    let unlinked = app
        .call_with_token(
            Method::DELETE,
            "/v1/auth/google",
            &access,
            Some(&json!({ "password": STRONG_PASSWORD })),
        )
        .await;
    assert_eq!(unlinked.status, StatusCode::OK, "{}", unlinked.text);
    assert_eq!(unlinked.body["google_linked"], false);
}

#[tokio::test]
async fn confirming_google_for_an_address_someone_else_registered_takes_the_account_back() {
    let app = TestApp::spawn().await;
    let victim = unique("victim");
    // Someone registers the victim's address (never verifying it) with their own password.
    let squatter = app.register_and_login(&victim).await;
    assert_eq!(squatter.status, StatusCode::OK);
    // The real owner signs in with Google and opens the link mailed to their address.
    let tried = with_google(&app, &app.google.id_token(&victim)).await;
    assert_eq!(tried.status, StatusCode::CONFLICT);
    let token = app
        .mailed_token(&victim, "Sign in to Stockroom with Google?")
        .await;
    let confirmed = app
        .post_anonymous("/v1/auth/google/confirm", &json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    // The squatter's password and session are gone; the owner signs in with Google.
    assert_eq!(
        app.login(&victim, STRONG_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refreshed = app
        .post_anonymous(
            "/v1/auth/refresh",
            &json!({ "refresh_token": squatter.body["refresh_token"] }),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED);
    let owner = with_google(&app, &app.google.id_token(&victim)).await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.text);
    let account = me(&app, &owner).await;
    assert_eq!(
        (
            account["email_verified"].as_bool(),
            account["has_password"].as_bool()
        ),
        (Some(true), Some(false))
    );
}
