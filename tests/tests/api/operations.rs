//! The operators' tools against the API and the table as they run after a deployment: the
//! canary, the post-deployment smoke test and the restore drill.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue::S;
use http::{Method, StatusCode};
use razorpay_local::PayOutcome;
use serde_json::{Value, json};
use stockroom_tests::{RAZORPAY_WEBHOOK_SECRET, STRONG_PASSWORD, TestApp};

use crate::orders_support::{fetch, shop};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_canary_passes_against_a_serving_api_and_counts_each_failed_check() {
    let app = Arc::new(TestApp::spawn().await);
    app.state.indexer().rebuild().await.unwrap();
    let url = app.clone().serve().await;

    let report = canary::check(&client(), &url).await;
    assert_eq!(report.failures(), 0, "{report:?}");
    let metrics = report.metrics("Stockroom", 1_700_000_000_000);
    assert_eq!(metrics["CanaryFailures"], 0);
    assert_eq!(metrics["Service"], "canary");
    assert_eq!(
        metrics["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
        "CanaryFailures"
    );
    assert!(metrics["CanaryLatency"].as_f64().unwrap() > 0.0);

    // A table that is gone: /health is a 503, the keys are still published.
    let down = Arc::new(
        TestApp::spawn_with(|env| {
            env.insert("TABLE_NAME".into(), "no-such-table".into());
        })
        .await,
    );
    let report = canary::check(&client(), &down.serve().await).await;
    assert_eq!(report.failures(), 1, "{report:?}");
    let failed = report
        .outcomes
        .iter()
        .find(|o| o.failure.is_some())
        .unwrap();
    assert_eq!(failed.check, "health");
    assert!(
        failed.failure.as_ref().unwrap().contains("503"),
        "{failed:?}"
    );

    // Nothing listening: both checks fail, and say why.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let report = canary::check(&client(), &closed).await;
    assert_eq!(report.failures(), 2, "{report:?}");
    assert_eq!(report.metrics("Stockroom", 0)["CanaryFailures"], 2);
}

/// A verified customer with a paid order, and the secrets the smoke test reads.
async fn smoke_user(app: &TestApp) -> (String, String, String) {
    let email = format!("smoke-{}@example.com", uuid::Uuid::new_v4().simple());
    let tokens = app.register_verified(&email).await;
    let token = tokens.body["access_token"].as_str().unwrap().to_owned();
    let shop = shop(app).await;
    let key = uuid::Uuid::new_v4().to_string();
    let placed = app
        .send_with_token(
            Method::POST,
            "/v1/orders",
            &token,
            Some(&json!({"lines": [{"product_id": shop.p1, "quantity": 1}]})),
            &[("idempotency-key", &key)],
        )
        .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    let order_id = placed.body["id"].as_str().unwrap().to_owned();
    let paid = app
        .razorpay
        .pay(
            placed.body["razorpay_order_id"].as_str().unwrap(),
            PayOutcome::Captured,
            None,
        )
        .unwrap();
    for d in &paid.deliveries {
        assert_eq!(app.deliver(d).await.status, StatusCode::OK);
    }
    assert_eq!(fetch(app, &order_id).await["status"], "paid");

    let user = app
        .secret(
            &json!({"email": email, "password": STRONG_PASSWORD, "order_id": order_id}).to_string(),
        )
        .await;
    let razorpay = app
        .secret(
        &json!({"key_id": "rzp_test", "key_secret": "x", "webhook_secrets": [RAZORPAY_WEBHOOK_SECRET]})
            .to_string(),
        )
        .await;
    (order_id, user, razorpay)
}

#[tokio::test]
async fn the_smoke_test_signs_in_reads_and_replays_a_payment_without_changing_the_order() {
    let app = Arc::new(TestApp::spawn().await);
    let (order_id, user, razorpay) = smoke_user(&app).await;
    let before = fetch(&app, &order_id).await;
    let url = app.clone().serve().await;

    let smoke = devstack::Smoke::from_secrets(&app.clients.sdk, &url, &user, &razorpay)
        .await
        .unwrap();
    let steps = smoke.run(&client()).await.unwrap();
    assert_eq!(steps.len(), 5, "{steps:?}");
    assert!(steps[4].contains("changed nothing"), "{steps:?}");

    // The replay was verified and recorded, and counted nothing twice.
    let after = fetch(&app, &order_id).await;
    for field in ["status", "amount_paid", "payment_id", "stock"] {
        assert_eq!(after[field], before[field], "{field}");
    }
}

#[tokio::test]
async fn a_smoke_test_that_cannot_sign_in_or_sign_webhooks_fails_naming_the_step() {
    let app = Arc::new(TestApp::spawn().await);
    let (_, user, razorpay) = smoke_user(&app).await;
    let url = app.clone().serve().await;
    let mut smoke = devstack::Smoke::from_secrets(&app.clients.sdk, &url, &user, &razorpay)
        .await
        .unwrap();

    let mut wrong_password = smoke.clone();
    wrong_password.user.password = "not-the-password-1".into();
    let err = wrong_password.run(&client()).await.unwrap_err();
    assert!(err.to_string().starts_with("sign in:"), "{err:#}");

    // A deployment whose webhook secret no longer matches the provider's: Razorpay's deliveries
    // would all be refused, so the deployment must not stand.
    smoke.webhook_secret = "a-secret-the-stage-does-not-accept".into();
    let err = smoke.run(&client()).await.unwrap_err();
    assert!(err.to_string().starts_with("webhook:"), "{err:#}");
    assert!(err.to_string().contains("401"), "{err:#}");

    let missing = devstack::Smoke::from_secrets(
        &app.clients.sdk,
        &url,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope",
        &razorpay,
    )
    .await
    .unwrap_err();
    assert!(
        format!("{missing:#}").contains("reading the secret"),
        "{missing:#}"
    );
}

/// A moto DynamoDB (the local stand-in that answers `RestoreTableToPointInTime`, which
/// DynamoDB Local does not) holding a copy of `app`'s table under the same name.
async fn moto_copy(app: &TestApp) -> aws_sdk_dynamodb::Client {
    let moto = std::env::var("AWS_ENDPOINT_URL_S3").unwrap();
    let config = aws_sdk_dynamodb::config::Builder::from(&app.clients.sdk)
        .endpoint_url(moto)
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let name = app.config.table_name.as_str().to_owned();
    stockroom_tests::template()
        .create_tables(&client, |_| name.clone())
        .await
        .unwrap();
    let mut start = None;
    loop {
        let page = app
            .clients
            .dynamodb
            .scan()
            .table_name(&name)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        for item in page.items.unwrap_or_default() {
            client
                .put_item()
                .table_name(&name)
                .set_item(Some(item))
                .send()
                .await
                .unwrap();
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    client
}

/// Orders in every state a drill meets: paid and shipped, cancelled, still held.
async fn trading(app: &TestApp) -> Value {
    let shop = shop(app).await;
    let mut orders = Vec::new();
    for _ in 0..3 {
        orders.push(crate::orders_support::order(app, &shop).await);
    }
    let paid = app
        .razorpay
        .pay(
            orders[0]["razorpay_order_id"].as_str().unwrap(),
            PayOutcome::Captured,
            None,
        )
        .unwrap();
    for d in &paid.deliveries {
        assert_eq!(app.deliver(d).await.status, StatusCode::OK);
    }
    let cancel = app
        .send_json(
            Method::POST,
            &format!("/v1/orders/{}/cancel", orders[1]["id"].as_str().unwrap()),
            shared::auth::Role::Customer,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.text);
    json!({"p1": shop.p1, "w": shop.w, "paid": orders[0]["id"]})
}

#[tokio::test]
async fn the_invariants_hold_on_a_table_the_api_wrote_and_name_what_breaks_them() {
    let app = TestApp::spawn().await;
    let shop = trading(&app).await;
    let report = shared::store::check_invariants(&app.state.table)
        .await
        .unwrap();
    assert!(report.holds(), "{report:?}");
    assert_eq!(report.orders, 3);
    assert_eq!(report.levels, 2);
    assert!(report.movements >= 4, "{report:?}");

    // A level edited behind the ledger's back, as a bad restore or a stray script would.
    let key = format!(
        "LEVEL#{}#{}",
        shop["p1"].as_str().unwrap(),
        shop["w"].as_str().unwrap()
    );
    app.clients
        .dynamodb
        .update_item()
        .table_name(app.config.table_name.as_str())
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(key))
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("LEVEL".into()),
        )
        .update_expression("SET on_hand = on_hand + :one")
        .expression_attribute_values(
            ":one",
            aws_sdk_dynamodb::types::AttributeValue::N("1".into()),
        )
        .send()
        .await
        .unwrap();
    let report = shared::store::check_invariants(&app.state.table)
        .await
        .unwrap();
    assert_eq!(report.violation_count, 1, "{report:?}");
    assert!(
        report.violations[0].contains("movements sum to"),
        "{report:?}"
    );
}

#[tokio::test]
async fn the_restore_drill_restores_checks_reports_and_deletes_the_copy() {
    let app = TestApp::spawn().await;
    trading(&app).await;
    let moto = moto_copy(&app).await;
    let drill = devstack::Drill {
        source: app.config.table_name.as_str().to_owned(),
        at: None,
        keep: false,
        wait: std::time::Duration::from_secs(60),
        poll: std::time::Duration::from_millis(200),
    };
    let report = drill
        .run(&moto, time::OffsetDateTime::now_utc().unix_timestamp())
        .await
        .unwrap();
    assert!(report.invariants.holds(), "{report:?}");
    assert_eq!(report.invariants.orders, 3);
    assert!(report.deleted);
    assert!(
        report
            .restored_table
            .starts_with(&format!("{}-drill-", drill.source))
    );
    let tables = moto
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default();
    assert!(!tables.contains(&report.restored_table), "{tables:?}");

    // A backup missing an order's reservation: the drill reports it, and still cleans up.
    let reservation = moto
        .scan()
        .table_name(&drill.source)
        .filter_expression("entity = :r")
        .expression_attribute_values(":r", S("reservation".into()))
        .send()
        .await
        .unwrap()
        .items
        .unwrap()
        .remove(0);
    moto.delete_item()
        .table_name(&drill.source)
        .key("PK", reservation["PK"].clone())
        .key("SK", reservation["SK"].clone())
        .send()
        .await
        .unwrap();
    let report = drill
        .run(&moto, time::OffsetDateTime::now_utc().unix_timestamp())
        .await
        .unwrap();
    assert!(!report.invariants.holds());
    assert!(
        report
            .invariants
            .violations
            .iter()
            .any(|v| v.contains("does not exist")),
        "{report:?}"
    );
    assert!(report.deleted);

    let gone = devstack::Drill {
        source: "no-such-table".into(),
        ..drill
    };
    assert!(gone.run(&moto, 1).await.is_err());
}
