//! Carts: a customer's and an anonymous one, merged at sign-in, re-priced on every read, and
//! checked out into one order under retries.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, TestResponse};

use crate::orders_support::{level, shop};

const SHOPPER_IP: &str = "198.51.100.77";

/// An anonymous cart request, with the cart's token when there is one.
async fn anonymous(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> TestResponse {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(t) = token {
        headers.push(("cart-token", t));
    }
    app.call_from(SHOPPER_IP, method, path, &headers, body)
        .await
}

/// A cart request as `role` (whose account is `user-<role>`).
async fn as_role(
    app: &TestApp,
    role: Role,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> TestResponse {
    app.call_with_token(method, path, &app.token(role), body)
        .await
}

fn quantities(cart: &Value) -> Vec<(String, i64)> {
    cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["product_id"].as_str().unwrap().to_owned(),
                l["quantity"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_anonymous_cart_merges_into_the_customers_cart_at_sign_in_once() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let put = |p: &str| format!("/v1/cart/lines/{p}");

    let first = anonymous(
        &app,
        Method::PUT,
        &put(&shop.p1),
        None,
        Some(&json!({"quantity": 8})),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let token = first.body["cart_token"].as_str().unwrap().to_owned();
    assert_eq!(first.header("cart-token"), Some(token.as_str()));
    assert_eq!(first.body["total"], 8 * 1001);
    let r = anonymous(
        &app,
        Method::PUT,
        &put(&shop.p2),
        Some(&token),
        Some(&json!({"quantity": 1})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body.get("cart_token").is_none(),
        "the token is given once"
    );
    let r = anonymous(&app, Method::GET, "/v1/cart", Some(&token), None).await;
    assert_eq!(
        quantities(&r.body),
        vec![(shop.p1.clone(), 8), (shop.p2.clone(), 1)]
    );
    assert_eq!(r.body["total"], 8 * 1001 + 1002);
    assert_eq!(r.body["ready"], true);

    let mine = as_role(
        &app,
        Role::Customer,
        Method::PUT,
        &put(&shop.p1),
        Some(&json!({"quantity": 5})),
    )
    .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);

    let merged = as_role(
        &app,
        Role::Customer,
        Method::POST,
        "/v1/cart/merge",
        Some(&json!({"cart_token": token})),
    )
    .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.text);
    assert_eq!(
        quantities(&merged.body),
        vec![(shop.p1.clone(), 10), (shop.p2.clone(), 1)],
        "5 + 8 is capped at the customers' 10 per product"
    );
    assert_eq!(merged.body["merged"]["lines"], 2);

    let again = as_role(
        &app,
        Role::Customer,
        Method::POST,
        "/v1/cart/merge",
        Some(&json!({"cart_token": token})),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(
        quantities(&again.body),
        quantities(&merged.body),
        "a repeated merge adds nothing"
    );
    let gone = anonymous(&app, Method::GET, "/v1/cart", Some(&token), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
    let other = app
        .call_with_token(
            Method::POST,
            "/v1/cart/merge",
            &app.token_for("someone-else", Role::Customer, 300),
            Some(&json!({"cart_token": token})),
        )
        .await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "another account cannot take it: {}",
        other.text
    );
}

#[tokio::test]
async fn a_forged_or_malformed_cart_token_finds_nothing_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let made = anonymous(
        &app,
        Method::PUT,
        &format!("/v1/cart/lines/{}", shop.p1),
        None,
        Some(&json!({"quantity": 1})),
    )
    .await;
    let token = made.body["cart_token"].as_str().unwrap();
    let (id, _) = token.split_once('.').unwrap();
    let forged = format!("{id}.{}", "A".repeat(43));
    let before = app.table_item_count().await;
    let r = anonymous(
        &app,
        Method::PUT,
        &format!("/v1/cart/lines/{}", shop.p2),
        Some(&forged),
        Some(&json!({"quantity": 1})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = anonymous(&app, Method::GET, "/v1/cart", Some("not-a-token"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    for (body, status) in [
        (json!({"quantity": 0}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"quantity": 11}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"quantity": "2"}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"quantity": 1, "price": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = anonymous(
            &app,
            Method::PUT,
            &format!("/v1/cart/lines/{}", shop.p1),
            Some(token),
            Some(&body),
        )
        .await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
    }
    let r = anonymous(
        &app,
        Method::PUT,
        "/v1/cart/lines/0190a0b0-0000-7000-8000-000000000000",
        Some(token),
        Some(&json!({"quantity": 1})),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown product: {}",
        r.text
    );
    assert_eq!(app.table_item_count().await, before);
}

#[tokio::test]
async fn a_malformed_cart_token_is_refused_even_from_a_signed_in_customer() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let r = as_role(
        &app,
        Role::Customer,
        Method::PUT,
        &format!("/v1/cart/lines/{}", shop.p1),
        Some(&json!({"quantity": 2})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let customer = app.token(Role::Customer);
    let long = "x".repeat(101);
    for (method, token) in [
        (Method::GET, long.as_str()),
        (Method::DELETE, long.as_str()),
        (Method::DELETE, "not-a-token"),
    ] {
        let r = app
            .send_with_token(
                method.clone(),
                "/v1/cart",
                &customer,
                None,
                &[("cart-token", token)],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{method}: {}", r.text);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    let r = as_role(&app, Role::Customer, Method::GET, "/v1/cart", None).await;
    assert_eq!(
        quantities(&r.body),
        [(shop.p1.clone(), 2)],
        "the refused DELETEs left the cart alone"
    );
}

#[tokio::test]
async fn every_read_reprices_and_says_once_what_changed() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    for (p, q) in [(&shop.p1, 2), (&shop.p2, 1)] {
        let r = as_role(
            &app,
            Role::Customer,
            Method::PUT,
            &format!("/v1/cart/lines/{p}"),
            Some(&json!({"quantity": q})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["changes"], json!([]));
    }
    let r = app
        .patch_product(
            &shop.p1,
            "\"1\"",
            &json!({"price": {"amount_minor": 1500, "currency": "INR"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = as_role(&app, Role::Customer, Method::GET, "/v1/cart", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["lines"][0]["unit_price"]["amount_minor"], 1500);
    assert_eq!(r.body["total"], 2 * 1500 + 1002);
    assert_eq!(
        r.body["changes"],
        json!([{"product_id": shop.p1, "change": "price",
                "from": {"amount_minor": 1001, "currency": "INR"},
                "to": {"amount_minor": 1500, "currency": "INR"}}])
    );
    let r = as_role(&app, Role::Customer, Method::GET, "/v1/cart", None).await;
    assert_eq!(r.body["changes"], json!([]), "told once");

    // Stock taken elsewhere and a product archived: both lines stop being orderable.
    let r = app
        .move_stock(
            &json!({"type": "ship", "product_id": shop.p1, "warehouse_id": shop.w, "quantity": 9}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app.archive_product(&shop.p2).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = as_role(&app, Role::Customer, Method::GET, "/v1/cart", None).await;
    assert_eq!(r.body["ready"], false);
    assert_eq!(r.body["lines"][0]["problem"], "out_of_stock");
    assert_eq!(r.body["lines"][1]["problem"], "unavailable");
    assert_eq!(r.body["total"], 0, "only orderable lines count");
    let kinds: Vec<&str> = r.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["out_of_stock", "unavailable"]);
}

async fn checkout(app: &TestApp, key: &str, total: i64) -> TestResponse {
    app.send_json(
        Method::POST,
        "/v1/cart/checkout",
        Role::Customer,
        &json!({"expected_total": total, "currency": "INR"}),
        &[("idempotency-key", key)],
    )
    .await
}

#[tokio::test]
async fn checkout_holds_stock_once_under_a_retried_key_and_empties_the_cart() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    for (p, q) in [(&shop.p1, 2), (&shop.p2, 1)] {
        as_role(
            &app,
            Role::Customer,
            Method::PUT,
            &format!("/v1/cart/lines/{p}"),
            Some(&json!({"quantity": q})),
        )
        .await;
    }
    let stale = checkout(&app, "k-0", 2 * 1001).await;
    assert_eq!(
        stale.status,
        StatusCode::CONFLICT,
        "not the total shown: {}",
        stale.text
    );
    assert_eq!(
        level(&app, &shop.p1, &shop.w).await,
        (10, 0),
        "nothing held"
    );

    let first = checkout(&app, "k-1", 3004).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["amount"], 3004);
    assert_eq!(first.body["status"], "pending_payment");
    let retried = checkout(&app, "k-1", 3004).await;
    assert_eq!(retried.status, StatusCode::CREATED);
    assert_eq!(
        retried.body["id"], first.body["id"],
        "the retry is the same order"
    );
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 2), "held once");
    assert_eq!(level(&app, &shop.p2, &shop.w).await, (10, 1));
    assert_eq!(app.razorpay.order_count(), 1);

    let cart = as_role(&app, Role::Customer, Method::GET, "/v1/cart", None).await;
    assert_eq!(cart.body["lines"], json!([]), "the order took the cart");
    let empty = checkout(&app, "k-2", 3004).await;
    assert_eq!(empty.status, StatusCode::CONFLICT, "{}", empty.text);
}

#[tokio::test]
async fn two_racing_checkouts_of_one_cart_make_one_order() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    as_role(
        &app,
        Role::Customer,
        Method::PUT,
        &format!("/v1/cart/lines/{}", shop.p1),
        Some(&json!({"quantity": 3})),
    )
    .await;
    let (a, b) = tokio::join!(
        checkout(&app, "race-a", 3003),
        checkout(&app, "race-b", 3003)
    );
    let created = [&a, &b]
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{} / {}", a.text, b.text);
    assert!(
        [&a, &b]
            .iter()
            .all(|r| r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT)
    );
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 3), "held once");
}

#[tokio::test]
async fn an_expired_cart_starts_over_instead_of_refusing_every_change() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let r = as_role(
        &app,
        Role::Customer,
        Method::PUT,
        &format!("/v1/cart/lines/{}", shop.p1),
        Some(&json!({"quantity": 2})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Past its life but not yet deleted by TTL (which can take a day or two).
    let carts = &app.state.carts;
    let mut cart = carts.get("USER#user-customer").await.unwrap().unwrap();
    let version = cart.version;
    cart.expires_at = time::OffsetDateTime::now_utc().unix_timestamp() - 60;
    cart.version += 1;
    carts
        .commit(vec![carts.put(&cart, Some(version)).unwrap()])
        .await
        .unwrap();
    let r = as_role(&app, Role::Customer, Method::GET, "/v1/cart", None).await;
    assert_eq!(r.body["lines"], json!([]), "an expired cart is gone");
    let r = as_role(
        &app,
        Role::Customer,
        Method::PUT,
        &format!("/v1/cart/lines/{}", shop.p2),
        Some(&json!({"quantity": 1})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(quantities(&r.body), vec![(shop.p2.clone(), 1)]);
}
