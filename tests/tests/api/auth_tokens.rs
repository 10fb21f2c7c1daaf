use http::{Method, StatusCode};
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{STRONG_PASSWORD, TestApp};

#[tokio::test]
async fn register_login_me_refresh_logout_round_trip() {
    let app = TestApp::spawn().await;
    let tokens = app.register_and_login("Asha.Rao@Example.com").await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(tokens.body["token_type"], "Bearer");
    assert_eq!(tokens.body["expires_in"], 900);
    let access = tokens.body["access_token"].as_str().unwrap();
    let refresh = tokens.body["refresh_token"].as_str().unwrap();

    let me = app
        .call_with_token(Method::GET, "/v1/auth/me", access, None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["email"], "asha.rao@example.com");
    assert_eq!(me.body["role"], "customer");
    assert!(me.body.get("password_hash").is_none());

    // The access token works on every function, not only the one that issued it.
    let products = app
        .call_with_token(Method::GET, "/v1/products", access, None)
        .await;
    assert_eq!(products.status, StatusCode::OK);

    let rotated = app
        .post_anonymous("/v1/auth/refresh", &json!({"refresh_token": refresh}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let refresh2 = rotated.body["refresh_token"].as_str().unwrap();
    assert_ne!(refresh2, refresh);

    let out = app
        .post_anonymous("/v1/auth/logout", &json!({"refresh_token": refresh2}))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = app
        .post_anonymous("/v1/auth/refresh", &json!({"refresh_token": refresh2}))
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);

    let actions = app.audit_actions().await;
    for action in ["auth.register", "auth.login", "auth.logout"] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_its_whole_family() {
    let app = TestApp::spawn().await;
    let tokens = app.register_and_login("victim@example.com").await;
    let stolen = tokens.body["refresh_token"].as_str().unwrap().to_owned();
    let legit = app
        .post_anonymous("/v1/auth/refresh", &json!({"refresh_token": stolen}))
        .await;
    let legit_next = legit.body["refresh_token"].as_str().unwrap().to_owned();

    let replay = app
        .post_anonymous("/v1/auth/refresh", &json!({"refresh_token": stolen}))
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    // The thief's replay also cut off the token the victim holds now.
    let victim = app
        .post_anonymous("/v1/auth/refresh", &json!({"refresh_token": legit_next}))
        .await;
    assert_eq!(victim.status, StatusCode::UNAUTHORIZED);
    // Another sign-in starts a new family that works.
    let fresh = app.login("victim@example.com", STRONG_PASSWORD).await;
    let again = app
        .post_anonymous(
            "/v1/auth/refresh",
            &json!({"refresh_token": fresh.body["refresh_token"]}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.refresh_token_reused".to_owned())
    );
}

#[tokio::test]
async fn concurrent_use_of_one_refresh_token_yields_at_most_one_new_token() {
    let app = TestApp::spawn().await;
    let tokens = app.register_and_login("racer@example.com").await;
    let token = tokens.body["refresh_token"].as_str().unwrap().to_owned();
    let results = futures::future::join_all((0..4).map(|_| {
        let (app, token) = (&app, &token);
        async move {
            app.post_anonymous("/v1/auth/refresh", &json!({"refresh_token": token}))
                .await
                .status
        }
    }))
    .await;
    let ok = results.iter().filter(|s| **s == StatusCode::OK).count();
    assert!(ok <= 1, "{results:?}");
}

#[tokio::test]
async fn unknown_and_garbage_refresh_tokens_are_refused() {
    let app = TestApp::spawn().await;
    for token in ["", "nope", &"x".repeat(500)] {
        let r = app
            .post_anonymous("/v1/auth/refresh", &json!({"refresh_token": token}))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token}");
    }
    let r = app
        .post_anonymous("/v1/auth/logout", &json!({"refresh_token": "nope"}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_jwks_publishes_the_key_that_signs_access_tokens() {
    let app = TestApp::spawn().await;
    let r = app
        .call(
            http::Request::get("/.well-known/jwks.json")
                .body(lambda_http::Body::Empty)
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    let keys = r.body["keys"].as_array().unwrap();
    assert_eq!(keys[0]["kid"], app.key.kid());
    assert!(keys[0].get("d").is_none(), "no private key material");
    let tokens = app.register_and_login("k@example.com").await;
    let header = tokens.body["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    let header: serde_json::Value = serde_json::from_slice(&base64_decode(&header)).unwrap();
    assert_eq!(header["kid"], app.key.kid());
    assert_eq!(header["alg"], "EdDSA");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

#[tokio::test]
async fn a_role_change_reaches_tokens_at_the_next_refresh() {
    let app = TestApp::spawn().await;
    let tokens = app.register_and_login("promoted@example.com").await;
    let me = app
        .call_with_token(
            Method::GET,
            "/v1/auth/me",
            tokens.body["access_token"].as_str().unwrap(),
            None,
        )
        .await;
    let id = me.body["id"].as_str().unwrap();
    let r = app
        .send_json(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            Role::Admin,
            &json!({"role": "manager"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rotated = app
        .post_anonymous(
            "/v1/auth/refresh",
            &json!({"refresh_token": tokens.body["refresh_token"]}),
        )
        .await;
    let access = rotated.body["access_token"].as_str().unwrap();
    let create = app
        .call_with_token(
            Method::POST,
            "/v1/products",
            access,
            Some(&stockroom_tests::product_body(1)),
        )
        .await;
    assert_eq!(create.status, StatusCode::CREATED, "{}", create.text);
}
