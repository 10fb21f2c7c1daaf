//! Loyalty: points earned once per paid order however its events arrive, reversed in
//! proportion on refunds, spent at checkout and given back when that order ends unpaid,
//! badges awarded once, and leaderboards ranked right under concurrent changes.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, TestResponse};

use crate::orders_support::{pay, shop};

/// The outbox's events, in `order`, as the loyalty queue carries them (EventBridge events).
fn batch(events: &[Value]) -> aws_lambda_events::sqs::SqsEvent {
    let records: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let body = json!({"source": "stockroom", "detail-type": e["type"], "detail": e});
            json!({"messageId": format!("m{i}"), "body": body.to_string(), "eventSource": "aws:sqs"})
        })
        .collect();
    serde_json::from_value(json!({"Records": records})).unwrap()
}

/// Hands every order event of the outbox to the loyalty function: twice, and the second
/// time in reverse (duplicated and reordered deliveries).
async fn settle_all(app: &TestApp) {
    let events: Vec<Value> = app
        .domain_events(None)
        .await
        .into_iter()
        .filter(|e| {
            let kind = e["type"].as_str().unwrap();
            kind.starts_with("order.") || kind.starts_with("refund.")
        })
        .collect();
    let answer = loyalty::handle(&app.state, &batch(&events)).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    let mut reversed = events.clone();
    reversed.reverse();
    loyalty::handle(&app.state, &batch(&reversed)).await;
}

async fn points(app: &TestApp, token: &str) -> Value {
    let r = app
        .call_with_token(Method::GET, "/v1/loyalty", token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

/// Every entry of `user`'s ledger, summed.
async fn ledger_sum(app: &TestApp, user: &str) -> i64 {
    app.state
        .loyalty
        .entries(user, usize::MAX)
        .await
        .unwrap()
        .iter()
        .map(|e| e.points)
        .sum()
}

/// An order of `quantity` × `product` as `token`'s account, paid in full.
async fn paid_order(app: &TestApp, token: &str, product: &str, quantity: i64) -> Value {
    let r = app
        .send_with_token(
            Method::POST,
            "/v1/orders",
            token,
            Some(&json!({"lines": [{"product_id": product, "quantity": quantity}]})),
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    pay(app, &r.body).await;
    r.body
}

#[tokio::test]
async fn points_are_earned_once_under_duplicate_and_reordered_events_and_reversed_on_refund() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let token = app.token(Role::Customer);
    let order = paid_order(&app, &token, &shop.p1, 3).await;
    settle_all(&app).await;
    settle_all(&app).await;
    let p = points(&app, &token).await;
    assert_eq!(p["balance"], 30, "1 point per 100 of 3,003, once: {p}");
    assert_eq!(ledger_sum(&app, "user-customer").await, 30);
    assert_eq!(p["entries"].as_array().unwrap().len(), 1);

    // Half refunded: half the points go back.
    let id = order["id"].as_str().unwrap();
    let r = app
        .send_json(
            Method::POST,
            &format!("/v1/orders/{id}/refund"),
            Role::Manager,
            &json!({"amount": 1502}),
            &[("idempotency-key", "refund-half")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    settle_all(&app).await;
    let p = points(&app, &token).await;
    assert_eq!(p["balance"], 15, "{p}");
    assert_eq!(p["entries"][0]["kind"], "reverse");
    assert_eq!(p["entries"][0]["points"], -15);
    assert_eq!(ledger_sum(&app, "user-customer").await, 15);
}

#[tokio::test]
async fn the_balance_equals_the_ledger_sum_under_concurrent_orders() {
    let app = TestApp::spawn_with(|env| {
        env.insert("ORDER_MAX_UNITS_PER_LINE".into(), "100".into());
    })
    .await;
    let shop = shop(&app).await;
    let token = app.token(Role::Customer);
    app.move_stock(
        &json!({"type": "receive", "product_id": shop.p2, "warehouse_id": shop.w, "quantity": 100}),
    )
    .await;
    let mut orders = Vec::new();
    for n in 1..=6 {
        orders.push(paid_order(&app, &token, &shop.p2, n).await);
    }
    // Every order settled at once, each twice.
    let ids: Vec<&str> = orders.iter().map(|o| o["id"].as_str().unwrap()).collect();
    let settles = ids
        .iter()
        .chain(ids.iter())
        .map(|id| shared::services::loyalty::settle_order(&app.state, id));
    for settled in futures::future::join_all(settles).await {
        settled.unwrap();
    }
    let expected: i64 = (1..=6).map(|n| n * 1002 / 100).sum();
    let p = points(&app, &token).await;
    assert_eq!(p["balance"], expected, "{p}");
    assert_eq!(ledger_sum(&app, "user-customer").await, expected);
    let account = app
        .state
        .loyalty
        .account("user-customer")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.paid_orders, 6);
}

async fn checkout(app: &TestApp, token: &str, total: i64, redeem: i64, key: &str) -> TestResponse {
    app.send_with_token(
        Method::POST,
        "/v1/cart/checkout",
        token,
        Some(&json!({"expected_total": total, "currency": "INR", "redeem_points": redeem})),
        &[("idempotency-key", key)],
    )
    .await
}

#[tokio::test]
async fn points_pay_a_capped_share_at_checkout_and_come_back_when_the_order_ends_unpaid() {
    let app = TestApp::spawn_with(|env| {
        env.insert("LOYALTY_POINTS_PER_100".into(), "100".into());
    })
    .await;
    let shop = shop(&app).await;
    let token = app.token(Role::Customer);
    paid_order(&app, &token, &shop.p1, 1).await;
    settle_all(&app).await;
    assert_eq!(points(&app, &token).await["balance"], 1001);

    let r = app
        .call_with_token(
            Method::PUT,
            &format!("/v1/cart/lines/{}", shop.p2),
            &token,
            Some(&json!({"quantity": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let over = checkout(&app, &token, 1002, 201, "redeem-0").await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "20% of 1,002 is 200: {}",
        over.text
    );
    assert_eq!(over.body["errors"][0]["field"], "redeem_points");
    let r = checkout(&app, &token, 1002, 200, "redeem-1").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["amount"], 802, "1,002 less 200 points");
    assert_eq!(r.body["discount"], 200);
    assert_eq!(r.body["points_redeemed"], 200);
    assert_eq!(
        points(&app, &token).await["balance"],
        801,
        "spent with the order"
    );
    assert_eq!(ledger_sum(&app, "user-customer").await, 801);

    // Cancelled before payment: the points come back, once.
    let id = r.body["id"].as_str().unwrap();
    let c = app
        .call_with_token(
            Method::POST,
            &format!("/v1/orders/{id}/cancel"),
            &token,
            None,
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    settle_all(&app).await;
    let p = points(&app, &token).await;
    assert_eq!(p["balance"], 1001, "{p}");
    assert_eq!(p["entries"][0]["kind"], "restore");
    assert_eq!(ledger_sum(&app, "user-customer").await, 1001);
}

#[tokio::test]
async fn an_achievement_is_awarded_once_and_announced_once() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let token = app.token(Role::Customer);
    paid_order(&app, &token, &shop.p1, 1).await;
    settle_all(&app).await;
    settle_all(&app).await;
    let r = app
        .call_with_token(Method::GET, "/v1/achievements", &token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 8);
    let earned: Vec<&str> = items
        .iter()
        .filter(|b| b["earned"] == true)
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    assert_eq!(earned, ["first_order"]);
    let announced = app.domain_events(Some("achievement.awarded")).await;
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(announced[0]["data"]["badge"], "first_order");
    assert_eq!(announced[0]["data"]["customer_id"], "user-customer");
}

#[tokio::test]
async fn leaderboard_ranks_are_right_after_concurrent_point_changes_and_names_only_shown_when_opted_in()
 {
    let app = TestApp::spawn_with(|env| {
        env.insert("ORDER_MAX_UNITS_PER_LINE".into(), "100".into());
    })
    .await;
    let shop = shop(&app).await;
    // Five shoppers; the n-th buys n units (n × 10 points). The first has a public name.
    let named = app.register_verified("named@example.com").await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tokens = vec![named.clone()];
    for n in 2..=5 {
        tokens.push(app.token_for(&format!("shopper-{n}"), Role::Customer, 300));
    }
    let r = app
        .call_with_token(
            Method::PATCH,
            "/v1/loyalty",
            &named,
            Some(&json!({"show_on_leaderboards": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .move_stock(&json!({"type": "receive", "product_id": shop.p1, "warehouse_id": shop.w, "quantity": 100}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let mut order_ids = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let units = i64::try_from(i + 1).unwrap();
        let o = paid_order(&app, token, &shop.p1, units).await;
        order_ids.push(o["id"].as_str().unwrap().to_owned());
    }
    let settles = order_ids
        .iter()
        .map(|id| shared::services::loyalty::settle_order(&app.state, id));
    for s in futures::future::join_all(settles).await {
        s.unwrap();
    }
    for period in ["all-time", "month"] {
        let board = app
            .call_with_token(
                Method::GET,
                &format!("/v1/leaderboards/{period}"),
                &tokens[1],
                None,
            )
            .await;
        assert_eq!(board.status, StatusCode::OK, "{}", board.text);
        let scores: Vec<i64> = board.body["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["score"].as_i64().unwrap())
            .collect();
        let mut sorted = scores.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(scores, sorted, "best first");
        assert_eq!(scores.len(), 5);
        assert_eq!(
            board.body["me"]["rank"], 4,
            "the second smallest of five: {}",
            board.text
        );
        let names: Vec<&Value> = board.body["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["name"])
            .collect();
        assert_eq!(
            names.iter().filter(|n| !n.is_null()).count(),
            1,
            "only the opted-in name"
        );
        assert_eq!(
            board.body["top"][4]["name"], "Test User",
            "the smallest score is the named shopper's"
        );
        assert!(
            !board.text.contains("shopper-"),
            "account ids are not shown"
        );
    }
    let anonymous = app
        .get_from("198.51.100.5", "/v1/leaderboards/all-time", &[])
        .await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(anonymous.body["me"], Value::Null);
    let unknown = app
        .get_from("198.51.100.5", "/v1/leaderboards/weekly", &[])
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_sample_queue_batch_settles_its_order() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let token = app.token(Role::Customer);
    let order = paid_order(&app, &token, &shop.p1, 3).await;
    let sample = std::fs::read_to_string(stockroom_tests::root().join("events/loyalty/queue.json"))
        .unwrap()
        .replace("{{order_id}}", order["id"].as_str().unwrap())
        .replace("{{product_id}}", &shop.p1)
        .replace("{{event_id}}", &uuid::Uuid::now_v7().to_string());
    let batch: aws_lambda_events::sqs::SqsEvent = serde_json::from_str(&sample).unwrap();
    let answer = loyalty::handle(&app.state, &batch).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(points(&app, &token).await["balance"], 30);
}

#[tokio::test]
async fn erasing_an_account_takes_its_name_off_the_leaderboards_and_forgets_its_payment_link() {
    let app = TestApp::spawn().await;
    let shop = shop(&app).await;
    let me = app.register_verified("leaving@example.com").await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .call_with_token(
            Method::PATCH,
            "/v1/loyalty",
            &me,
            Some(&json!({"show_on_leaderboards": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .call_with_token(
            Method::PUT,
            "/v1/payment-methods/customer",
            &me,
            Some(&json!({"contact": "+919876543210"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let order = paid_order(&app, &me, &shop.p1, 1).await;
    shared::services::loyalty::settle_order(&app.state, order["id"].as_str().unwrap())
        .await
        .unwrap();
    let board = app
        .get_from("198.51.100.6", "/v1/leaderboards/all-time", &[])
        .await;
    assert_eq!(board.body["top"][0]["name"], "Test User");

    let r = app
        .call_with_token(
            Method::DELETE,
            "/v1/auth/me",
            &me,
            Some(&json!({"password": stockroom_tests::STRONG_PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let board = app
        .get_from("198.51.100.6", "/v1/leaderboards/all-time", &[])
        .await;
    assert_eq!(board.body["top"][0]["name"], Value::Null, "{}", board.text);
    assert!(
        !app.table_dump()
            .await
            .iter()
            .any(|i| i.contains("PAYMENT_CUSTOMER") || i.contains("+919876543210"))
    );
}
