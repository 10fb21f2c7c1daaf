//! What unpaid orders may hold: the customers' caps, expiry when the hold ends, and money that
//! arrives for an order that will not ship.

use futures::future::join_all;
use http::{Method, StatusCode};
use razorpay_local::{Fault, PayOutcome};
use serde_json::{Value, json};
use shared::auth::Role;
use shared::domain::order::AUTHORIZED_GRACE;
use stockroom_tests::{TestApp, TestResponse};
use time::OffsetDateTime;

use crate::orders_support::{fetch, level, order, place, shop};

fn one_unit(p: &str) -> Value {
    json!({"lines": [{"product_id": p, "quantity": 1}]})
}

fn rzp(o: &Value) -> &str {
    o["razorpay_order_id"].as_str().unwrap()
}

fn deadline(o: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(
        o["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

async fn cancel(app: &TestApp, id: &str, role: Role) -> TestResponse {
    app.send_json(
        Method::POST,
        &format!("/v1/orders/{id}/cancel"),
        role,
        &json!({}),
        &[],
    )
    .await
}

#[tokio::test]
async fn a_customer_cannot_hold_stock_with_more_unpaid_orders_than_the_cap() {
    let app = TestApp::spawn_with(|env| {
        env.insert("ORDER_MAX_OPEN_PER_CUSTOMER".into(), "2".into());
    })
    .await;
    let shop = shop(&app).await;
    let first = place(&app, Role::Customer, &one_unit(&shop.p1)).await;
    let second = place(&app, Role::Customer, &one_unit(&shop.p1)).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    let third = place(&app, Role::Customer, &one_unit(&shop.p1)).await;
    assert_eq!(third.status, StatusCode::CONFLICT, "{}", third.text);
    assert!(
        third.body["detail"]
            .as_str()
            .unwrap()
            .contains("2 unpaid orders"),
        "{}",
        third.text
    );
    assert_eq!(
        level(&app, &shop.p1, &shop.w).await,
        (10, 2),
        "the refused order holds nothing"
    );
    // Cancelling one frees its slot.
    let id = first.body["id"].as_str().unwrap();
    assert_eq!(
        cancel(&app, id, Role::Customer).await.status,
        StatusCode::OK
    );
    let again = place(&app, Role::Customer, &one_unit(&shop.p1)).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(
        place(&app, Role::Customer, &one_unit(&shop.p1))
            .await
            .status,
        StatusCode::CONFLICT
    );
    // Paying one frees its slot too.
    let paid = app
        .razorpay
        .pay(rzp(&second.body), PayOutcome::Captured, None)
        .unwrap();
    for d in &paid.deliveries {
        app.deliver(d).await;
    }
    assert_eq!(
        fetch(&app, second.body["id"].as_str().unwrap()).await["status"],
        "paid"
    );
    let after_paying = place(&app, Role::Customer, &one_unit(&shop.p1)).await;
    assert_eq!(
        after_paying.status,
        StatusCode::CREATED,
        "{}",
        after_paying.text
    );
    // Staff ordering for themselves are not capped.
    for _ in 0..3 {
        let r = place(&app, Role::Staff, &one_unit(&shop.p2)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
}

#[tokio::test]
async fn a_burst_of_concurrent_orders_never_opens_more_than_the_cap() {
    let app = TestApp::spawn_with(|env| {
        env.insert("ORDER_MAX_OPEN_PER_CUSTOMER".into(), "2".into());
    })
    .await;
    let shop = shop(&app).await;
    let body = one_unit(&shop.p1);
    let answers = join_all((0..8).map(|_| place(&app, Role::Customer, &body))).await;
    let created = answers
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(
        created,
        2,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        answers
            .iter()
            .all(|r| r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT)
    );
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 2));
}

#[tokio::test]
async fn a_customer_line_over_the_unit_cap_is_refused_and_holds_nothing() {
    let app = TestApp::spawn_with(|env| {
        env.insert("ORDER_MAX_UNITS_PER_LINE".into(), "3".into());
    })
    .await;
    let shop = shop(&app).await;
    let body = json!({"lines": [
        {"product_id": shop.p1, "quantity": 3},
        {"product_id": shop.p2, "quantity": 4}
    ]});
    let r = place(&app, Role::Customer, &body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.body["errors"][0]["field"], "lines[1].quantity",
        "{}",
        r.text
    );
    assert_eq!(level(&app, &shop.p2, &shop.w).await, (10, 0));
    let staff = place(&app, Role::Staff, &body).await;
    assert_eq!(staff.status, StatusCode::CREATED, "{}", staff.text);
}

#[tokio::test]
async fn an_unpaid_order_expires_when_its_hold_ends_and_its_checkout_is_withdrawn() {
    let app = TestApp::spawn_with(|env| {
        env.insert("ORDER_MAX_OPEN_PER_CUSTOMER".into(), "1".into());
    })
    .await;
    let shop = shop(&app).await;
    let o = order(&app, &shop).await;
    let id = o["id"].as_str().unwrap();
    assert!(o["checkout"].is_object(), "{o}");
    let end = deadline(&o);
    let created = OffsetDateTime::parse(
        o["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        (899..=900).contains(&(end - created).whole_seconds()),
        "unpaid orders hold their stock for 15 minutes by default: {o}"
    );
    let swept = app.sweep(end - time::Duration::seconds(5)).await;
    assert_eq!(
        swept.expired_orders, 0,
        "nothing expires before its hold ends"
    );
    assert_eq!(
        app.sweep(end + time::Duration::seconds(1))
            .await
            .expired_orders,
        1
    );
    let after = app.get(&format!("/v1/orders/{id}"), Role::Customer).await;
    assert_eq!(after.body["status"], "expired", "{}", after.text);
    assert_eq!(after.body["stock"], "released");
    assert!(after.body.get("checkout").is_none(), "{}", after.text);
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 0));
    assert_eq!(level(&app, &shop.p2, &shop.w).await, (10, 0));
    assert!(
        app.audit_actions()
            .await
            .contains(&"order.expired".to_owned())
    );
    // Expired is final, and the sweep does not touch it again.
    assert_eq!(
        cancel(&app, id, Role::Customer).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.sweep(end + time::Duration::hours(1)).await,
        Default::default()
    );
    // Its slot is free again.
    let next = place(&app, Role::Customer, &one_unit(&shop.p1)).await;
    assert_eq!(next.status, StatusCode::CREATED, "{}", next.text);
}

#[tokio::test]
async fn an_order_whose_payment_is_being_confirmed_expires_only_after_a_grace() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let o = order(&app, &shop).await;
    let id = o["id"].as_str().unwrap();
    let authorized = app
        .razorpay
        .pay(rzp(&o), PayOutcome::Authorized, None)
        .unwrap();
    for d in &authorized.deliveries {
        app.deliver(d).await;
    }
    assert_eq!(fetch(&app, id).await["status"], "payment_authorized");
    let end = deadline(&o);
    assert_eq!(
        app.sweep(end + time::Duration::seconds(1))
            .await
            .expired_orders,
        0
    );
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 2), "still held");
    assert_eq!(app.sweep(end + AUTHORIZED_GRACE).await.expired_orders, 1);
    assert_eq!(fetch(&app, id).await["status"], "expired");
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 0));
}

/// Places an order, lets it expire, then the customer pays anyway.
async fn paid_after_expiry(
    app: &TestApp,
) -> (
    crate::orders_support::Shop,
    String,
    razorpay_local::Checkout,
) {
    let shop = shop(app).await;
    let o = order(app, &shop).await;
    assert_eq!(
        app.sweep(deadline(&o) + time::Duration::seconds(1))
            .await
            .expired_orders,
        1
    );
    let paid = app
        .razorpay
        .pay(rzp(&o), PayOutcome::Captured, None)
        .unwrap();
    (shop, o["id"].as_str().unwrap().to_owned(), paid)
}

#[tokio::test]
async fn a_payment_after_the_order_expired_is_refunded_in_full_once_and_never_ships() {
    let app = TestApp::spawn().await;
    let (shop, id, paid) = paid_after_expiry(&app).await;
    let mut answers = Vec::new();
    for d in &paid.deliveries {
        let r = app.deliver(d).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        answers.push(r.body["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        answers.iter().filter(|a| *a == "refunded").count(),
        1,
        "{answers:?}"
    );
    // Every delivery again, in reverse: nothing more is refunded.
    for d in paid.deliveries.iter().rev() {
        assert_eq!(app.deliver(d).await.status, StatusCode::OK);
    }
    let refunds = app.razorpay.refunds_of(&paid.payment_id);
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["amount"], 3004);
    let after = fetch(&app, &id).await;
    assert_eq!(after["status"], "expired", "{after}");
    assert_eq!(after["stock"], "released");
    assert_eq!(after["amount_paid"], 3004);
    assert_eq!(after["amount_refunded"], 3004);
    assert_eq!(after["refunds"][0]["requested_by"], "system");
    assert_eq!(
        level(&app, &shop.p1, &shop.w).await,
        (10, 0),
        "nothing shipped"
    );
    assert_eq!(app.ledger_sum(&shop.p1, &shop.w).await, 10);
    let actions = app.audit_actions().await;
    for action in ["order.late_payment", "order.late_payment_refunded"] {
        assert!(actions.contains(&action.to_owned()), "{actions:?}");
    }
}

#[tokio::test]
async fn a_late_payment_whose_refund_failed_is_refunded_when_razorpay_redelivers() {
    let app = TestApp::spawn().await;
    let (_, id, paid) = paid_after_expiry(&app).await;
    let captured = &paid.deliveries[1];
    app.razorpay.inject(Fault {
        path_prefix: "/v1/payments".into(),
        status: 500,
        delay_ms: 0,
        times: 3,
    });
    let failed = app.deliver(captured).await;
    assert!(failed.status.is_server_error(), "{}", failed.text);
    assert!(app.razorpay.refunds_of(&paid.payment_id).is_empty());
    assert_eq!(
        fetch(&app, &id).await["amount_paid"],
        3004,
        "the money is recorded"
    );
    let retried = app.deliver(captured).await;
    assert_eq!(retried.body["status"], "refunded", "{}", retried.text);
    assert_eq!(app.deliver(captured).await.body["status"], "duplicate");
    assert_eq!(app.razorpay.refunds_of(&paid.payment_id).len(), 1);
    assert_eq!(fetch(&app, &id).await["amount_refunded"], 3004);
}

#[tokio::test]
async fn a_payment_after_cancellation_is_refunded_in_full_and_never_ships() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let o = order(&app, &shop).await;
    let id = o["id"].as_str().unwrap();
    assert_eq!(
        cancel(&app, id, Role::Customer).await.status,
        StatusCode::OK
    );
    let paid = app
        .razorpay
        .pay(rzp(&o), PayOutcome::Captured, None)
        .unwrap();
    for d in paid.deliveries.iter().rev() {
        assert_eq!(app.deliver(d).await.status, StatusCode::OK);
    }
    let after = fetch(&app, id).await;
    assert_eq!(after["status"], "cancelled", "{after}");
    assert_eq!(after["amount_refunded"], 3004);
    assert_eq!(app.razorpay.refunds_of(&paid.payment_id).len(), 1);
    assert_eq!(level(&app, &shop.p1, &shop.w).await, (10, 0));
}

#[tokio::test]
async fn a_late_refund_that_fails_is_made_again_and_never_twice() {
    let app = TestApp::spawn().await;
    let (_, id, paid) = paid_after_expiry(&app).await;
    assert_eq!(
        app.deliver(&paid.deliveries[1]).await.body["status"],
        "refunded"
    );
    let first = fetch(&app, &id).await["refunds"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = app.razorpay.process_refund(&first, false).unwrap();
    let r = app.deliver(&failed).await;
    assert_eq!(r.body["status"], "refunded", "{}", r.text);
    assert_eq!(app.deliver(&failed).await.body["status"], "duplicate");
    assert_eq!(app.razorpay.refunds_of(&paid.payment_id).len(), 2);
    let after = fetch(&app, &id).await;
    assert_eq!(after["amount_refunded"], 3004, "{after}");
    assert_eq!(after["refunds"][0]["state"], "failed");
    assert_eq!(after["refunds"][1]["state"], "pending");
}

#[tokio::test]
async fn a_late_payment_razorpay_refuses_to_refund_is_handed_to_a_person() {
    let app = TestApp::spawn().await;
    let (_, id, paid) = paid_after_expiry(&app).await;
    app.razorpay.inject(Fault {
        path_prefix: "/v1/payments".into(),
        status: 400,
        delay_ms: 0,
        times: 1,
    });
    let captured = &paid.deliveries[1];
    let r = app.deliver(captured).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(app.deliver(captured).await.body["status"], "duplicate");
    assert!(app.razorpay.refunds_of(&paid.payment_id).is_empty());
    let after = fetch(&app, &id).await;
    assert!(
        after["review"]
            .as_str()
            .unwrap()
            .contains("refund it by hand"),
        "{after}"
    );
    assert_eq!(after["amount_paid"], 3004);
}

#[tokio::test]
async fn a_hold_for_an_order_that_was_never_stored_is_released_and_never_stalls_the_sweep() {
    use shared::domain::stock::{HoldRequest, StockLine, WarehouseId};
    use shared::domain::{ProductId, Quantity};
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let o = order(&app, &shop).await;
    // Placing an order failed after its stock was held, and so did giving the stock back.
    let state = shared::services::AppState::new(&app.config, &app.clients);
    let line = StockLine {
        product: ProductId::parse(&shop.p2).unwrap(),
        warehouse: WarehouseId::parse(&shop.w).unwrap(),
        quantity: Quantity::parse(3).unwrap(),
    };
    let never_stored = uuid::Uuid::now_v7().to_string();
    shared::services::reservations::hold(
        &state,
        "system",
        &Default::default(),
        &HoldRequest::for_order(
            &never_stored,
            vec![line],
            std::time::Duration::from_secs(60),
        ),
        None,
    )
    .await
    .unwrap();
    assert_eq!(level(&app, &shop.p2, &shop.w).await, (10, 4));
    let swept = app.sweep(deadline(&o) + time::Duration::seconds(1)).await;
    assert_eq!(
        (swept.released, swept.expired_orders, swept.failed),
        (1, 1, 0),
        "{swept:?}"
    );
    assert_eq!(level(&app, &shop.p2, &shop.w).await, (10, 0));
}
