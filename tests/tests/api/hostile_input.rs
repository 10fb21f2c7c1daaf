//! Hostile values at the edges: oversized ids, hand-made cursors, overlong addresses. Each is
//! a 4xx problem, never a 500.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use shared::auth::Role;
use stockroom_tests::TestApp;

use crate::orders_support::{order, shop};

#[tokio::test]
async fn an_order_id_of_2100_characters_is_not_found_not_a_500() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(2_100);
    for role in [Role::Customer, Role::Staff] {
        let r = app.get(&format!("/v1/orders/{long}"), role).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        assert_eq!(r.body["status"], 404);
    }
}

#[tokio::test]
async fn a_sign_in_with_a_2100_character_address_is_refused_like_any_other() {
    let app = TestApp::spawn().await;
    let email = format!("{}@example.com", "a".repeat(2_100));
    let r = app.login(&email, "wrong-password-guess").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.body["detail"], "invalid e-mail or password");
}

#[tokio::test]
async fn a_hand_made_cursor_with_an_empty_key_is_a_bad_request() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    order(&app, &shop).await;
    order(&app, &shop).await;
    let first = app.get("/v1/orders?limit=1", Role::Customer).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let mut keys: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).unwrap()).unwrap();
    let sort_key = keys
        .keys()
        .find(|k| k.ends_with("SK") && *k != "SK")
        .unwrap()
        .clone();
    for forged in ["", &"x".repeat(1_500)] {
        keys.insert(sort_key.clone(), serde_json::json!(forged));
        let text = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&keys).unwrap());
        let r = app
            .get(&format!("/v1/orders?limit=1&cursor={text}"), Role::Customer)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    }
}

#[tokio::test]
async fn a_cursor_the_client_changed_is_refused_even_within_its_own_listing() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    for _ in 0..3 {
        order(&app, &shop).await;
    }
    let first = app.get("/v1/orders?limit=1", Role::Customer).await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let next = app
        .get(
            &format!("/v1/orders?limit=1&cursor={cursor}"),
            Role::Customer,
        )
        .await;
    assert_eq!(
        next.status,
        StatusCode::OK,
        "the issued cursor works: {}",
        next.text
    );
    // Moving the position within the customer's own listing (a well-formed key of it) is
    // still a cursor the API did not issue.
    let mut keys: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).unwrap()).unwrap();
    assert!(keys.contains_key("mac"), "{keys:?}");
    let sort_key = keys
        .keys()
        .find(|k| k.ends_with("SK") && *k != "SK")
        .unwrap()
        .clone();
    let moved = format!("0{}", keys[&sort_key].as_str().unwrap());
    keys.insert(sort_key, serde_json::json!(moved));
    let text = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&keys).unwrap());
    let r = app
        .get(&format!("/v1/orders?limit=1&cursor={text}"), Role::Customer)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn a_filter_value_too_long_for_a_key_is_a_bad_request() {
    let app = TestApp::spawn().await;
    let long = "c".repeat(3_000);
    let r = app
        .get(&format!("/v1/orders?customer_id={long}"), Role::Staff)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["errors"][0]["field"], "customer_id");
}

#[tokio::test]
async fn dynamodb_refusing_a_key_is_a_rejected_value_not_an_internal_error() {
    let app = TestApp::spawn().await;
    for id in ["w".repeat(3_000), "w".repeat(70_000)] {
        match app.state.stock.warehouse(&id).await {
            Err(shared::store::StoreError::Rejected(_)) => {}
            other => panic!("{} characters: {other:?}", id.len()),
        }
    }
}
