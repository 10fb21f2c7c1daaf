//! Saved payment methods: a Razorpay customer linked to the account, its saved cards and UPI
//! addresses listed and deleted, and a cart paid with one at checkout.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use stockroom_tests::{TestApp, TestResponse};

use crate::orders_support::{fetch, level, shop};

/// A registered, verified account's access token.
async fn shopper(app: &TestApp, email: &str) -> String {
    let tokens = app.register_verified(email).await;
    tokens.body["access_token"].as_str().unwrap().to_owned()
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> TestResponse {
    app.call_with_token(method, path, token, body).await
}

async fn link(app: &TestApp, token: &str) -> String {
    let r = call(
        app,
        token,
        Method::PUT,
        "/v1/payment-methods/customer",
        Some(&json!({"contact": "+919876543210"})),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.text);
    r.body["customer_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_linked_account_lists_and_deletes_only_its_own_saved_methods() {
    let app = TestApp::spawn().await;
    let me = shopper(&app, "saver@example.com").await;
    let none = call(&app, &me, Method::GET, "/v1/payment-methods", None).await;
    assert_eq!(none.body, json!({"linked": false, "items": []}));
    let bad = call(
        &app,
        &me,
        Method::PUT,
        "/v1/payment-methods/customer",
        Some(&json!({"contact": "12"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);

    let first = call(
        &app,
        &me,
        Method::PUT,
        "/v1/payment-methods/customer",
        Some(&json!({"contact": "+919876543210"})),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let customer = first.body["customer_id"].as_str().unwrap().to_owned();
    assert!(customer.starts_with("cust_"), "{customer}");
    let again = call(
        &app,
        &me,
        Method::PUT,
        "/v1/payment-methods/customer",
        Some(&json!({"contact": "+919876543210"})),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again.body["customer_id"],
        customer.as_str(),
        "one customer per account"
    );

    let card = app.razorpay.save_token(&customer, "card").unwrap();
    let upi = app.razorpay.save_token(&customer, "upi").unwrap();
    let listed = call(&app, &me, Method::GET, "/v1/payment-methods", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let shown = |id: &Value| items.iter().find(|i| i["id"] == *id).unwrap().clone();
    let (shown_card, shown_upi) = (shown(&card["id"]), shown(&upi["id"]));
    assert_eq!(shown_card["label"], "Visa credit ending 1111");
    assert_eq!(shown_card["card"]["last4"], "1111");
    assert_eq!(shown_card["chargeable"], true);
    assert_eq!(shown_upi["method"], "upi");
    assert!(
        shown_upi["label"]
            .as_str()
            .unwrap()
            .starts_with("UPI shopper")
    );
    assert!(
        !listed.text.contains(card["token"].as_str().unwrap()),
        "the token's secret value is never shown"
    );

    // Another account cannot delete (or learn about) my methods.
    let other = shopper(&app, "other@example.com").await;
    link(&app, &other).await;
    let card_id = card["id"].as_str().unwrap();
    let r = call(
        &app,
        &other,
        Method::DELETE,
        &format!("/v1/payment-methods/{card_id}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(app.razorpay.token_count(&customer), 2);

    let r = call(
        &app,
        &me,
        Method::DELETE,
        &format!("/v1/payment-methods/{card_id}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(app.razorpay.token_count(&customer), 1);
    let left = call(&app, &me, Method::GET, "/v1/payment-methods", None).await;
    assert_eq!(left.body["items"][0]["id"], upi["id"]);
}

#[tokio::test]
async fn an_account_cannot_link_a_razorpay_customer_it_did_not_make_or_an_unproven_address() {
    let app = TestApp::spawn().await;
    // The address's earlier owner (or the dashboard) made a customer with saved cards.
    let theirs = app.razorpay.add_customer("taken@example.com");
    app.razorpay.save_token(&theirs, "card").unwrap();
    let me = shopper(&app, "taken@example.com").await;
    let r = call(
        &app,
        &me,
        Method::PUT,
        "/v1/payment-methods/customer",
        Some(&json!({"contact": "+919876543210"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let listed = call(&app, &me, Method::GET, "/v1/payment-methods", None).await;
    assert_eq!(
        listed.body,
        json!({"linked": false, "items": []}),
        "nothing of theirs is shown"
    );
    // An address nobody proved to read links nothing.
    let unproven = app.register_and_login("unproven@example.com").await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = call(
        &app,
        &unproven,
        Method::PUT,
        "/v1/payment-methods/customer",
        Some(&json!({"contact": "+919876543210"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn a_cart_is_paid_with_a_saved_card_at_checkout_and_counted_once() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let me = shopper(&app, "buyer@example.com").await;
    let customer = link(&app, &me).await;
    let card = app.razorpay.save_token(&customer, "card").unwrap();
    let r = call(
        &app,
        &me,
        Method::PUT,
        &format!("/v1/cart/lines/{}", shop.p1),
        Some(&json!({"quantity": 2})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let checkout =
        |method: &str| json!({"expected_total": 2002, "currency": "INR", "payment_method": method});
    let unknown = app
        .send_with_token(
            Method::POST,
            "/v1/cart/checkout",
            &me,
            Some(&checkout("token_Nope0000000000")),
            &[("idempotency-key", "saved-0")],
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    assert_eq!(
        level(&app, &shop.p1, &shop.w).await,
        (10, 0),
        "nothing held"
    );

    let paid = app
        .send_with_token(
            Method::POST,
            "/v1/cart/checkout",
            &me,
            Some(&checkout(card["id"].as_str().unwrap())),
            &[("idempotency-key", "saved-1")],
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    assert_eq!(paid.body["saved_method"]["charged"], true, "{}", paid.text);
    assert_eq!(paid.body["status"], "payment_authorized");
    let id = paid.body["id"].as_str().unwrap().to_owned();
    // A retry with the key is the first answer as recorded: no second charge.
    let again = app
        .send_with_token(
            Method::POST,
            "/v1/cart/checkout",
            &me,
            Some(&checkout(card["id"].as_str().unwrap())),
            &[("idempotency-key", "saved-1")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(again.body["id"], id.as_str());
    assert_eq!(again.body["saved_method"]["status"], "requested");

    // Razorpay's webhooks for the payment, each twice and in reverse: paid once.
    let mut deliveries = app.razorpay.take_undelivered();
    assert_eq!(deliveries.len(), 3, "authorized, captured, order.paid");
    deliveries.reverse();
    for d in deliveries.iter().chain(deliveries.iter()) {
        assert_eq!(app.deliver(d).await.status, StatusCode::OK);
    }
    let order = fetch(&app, &id).await;
    assert_eq!(order["status"], "paid", "{order}");
    assert_eq!(order["amount_paid"], 2002);
    assert_eq!(order["payment_customer_id"], customer.as_str());
    assert_eq!(
        level(&app, &shop.p1, &shop.w).await,
        (8, 0),
        "taken once, for the paid order"
    );
    assert_eq!(app.razorpay.order_count(), 1);
}

#[tokio::test]
async fn orders_of_a_linked_account_offer_its_saved_methods_at_the_checkout() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let me = shopper(&app, "linked@example.com").await;
    let customer = link(&app, &me).await;
    let r = app
        .send_with_token(
            Method::POST,
            "/v1/orders",
            &me,
            Some(&json!({"lines": [{"product_id": shop.p1, "quantity": 1}]})),
            &[("idempotency-key", "linked-1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["checkout"]["customer_id"], customer.as_str());
    // The customer ticks "save this card" at the checkout: the card is there next time.
    let rzp = r.body["razorpay_order_id"].as_str().unwrap();
    app.razorpay.pay_saving_card(rzp).unwrap();
    let listed = call(&app, &me, Method::GET, "/v1/payment-methods", None).await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", listed.text);
    assert_eq!(items[0]["method"], "card");
}
