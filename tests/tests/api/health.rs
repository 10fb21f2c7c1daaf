use http::StatusCode;
use serde_json::{Value, json};
use shared::config::{Config, PaymentCredentials, SigningKeySource};
use stockroom_tests::{TestApp, TestResponse};

fn get_health() -> http::Request<lambda_http::Body> {
    http::Request::get("/health")
        .body(lambda_http::Body::Empty)
        .unwrap()
}

async fn health(app: &TestApp) -> TestResponse {
    app.call(get_health()).await
}

/// `/health` from a health function built with `config` (as its `main` would build it).
async fn health_with(app: &TestApp, config: &Config) -> TestResponse {
    let router = shared::lambda::build(health::FUNCTION, config, &app.clients, app.state.clone())
        .await
        .unwrap();
    TestApp::send(&router, get_health()).await
}

fn statuses(body: &Value) -> Vec<(String, String)> {
    body["checks"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, check)| (name.clone(), check["status"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn health_is_ok_when_every_dependency_answers_and_reports_the_index_age() {
    let app = TestApp::spawn().await;
    app.state.indexer().rebuild().await.unwrap();
    let r = health(&app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "ok", "{}", r.text);
    assert_eq!(r.body["degraded"], json!([]));
    for check in [
        "dynamodb",
        "s3",
        "signing_key",
        "razorpay",
        "search_index",
        "events",
    ] {
        assert_eq!(
            r.body["checks"][check]["status"], "ok",
            "{check}: {}",
            r.text
        );
    }
    let index = &r.body["checks"]["search_index"];
    assert!(index["age_s"].as_i64().unwrap() < 60, "{index}");
    // The public answer says how things stand, not how big the shop is.
    assert!(index.get("documents").is_none(), "{index}");
    // No batch yet: nothing is behind.
    assert_eq!(r.body["checks"]["events"]["last_batch_age_s"], Value::Null);
}

#[tokio::test]
async fn a_stage_without_a_search_index_is_degraded_not_down() {
    let app = TestApp::spawn().await;
    let r = health(&app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "degraded");
    assert_eq!(r.body["degraded"], json!(["search_index"]));
    assert_eq!(r.body["checks"]["search_index"]["status"], "missing");
}

#[tokio::test]
async fn a_missing_bucket_degrades_images_and_search_but_the_api_stays_in_service() {
    let app = TestApp::spawn_with(|env| {
        env.insert("MEDIA_BUCKET".into(), "no-such-bucket-anywhere".into());
    })
    .await;
    let r = health(&app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "degraded");
    assert_eq!(r.body["degraded"], json!(["s3", "search_index"]));
    assert_eq!(r.body["checks"]["dynamodb"]["status"], "ok");
    assert_eq!(r.body["checks"]["s3"]["status"], "unavailable");
}

#[tokio::test]
async fn health_names_a_missing_table_with_a_503() {
    let app = TestApp::spawn_with(|env| {
        env.insert("TABLE_NAME".into(), "no-such-table".into());
    })
    .await;
    let r = health(&app).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.body["detail"], "unhealthy: dynamodb");
    assert_eq!(r.body["checks"]["events"]["status"], "unavailable");
}

#[tokio::test]
async fn a_signing_key_that_no_longer_loads_is_a_503_without_saying_why_in_public() {
    let app = TestApp::spawn().await;
    let Some(SigningKeySource::File { path, .. }) = app.config.signing_key.clone() else {
        panic!("the test app signs with a key file");
    };
    // The key went away after the functions started (a rotation gone wrong): new instances
    // of the auth function would refuse to start, and the health check says so.
    std::fs::remove_file(&path).unwrap();
    let r = health(&app).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.body["detail"], "unhealthy: signing_key");
    assert_eq!(r.body["checks"]["signing_key"]["status"], "invalid");
    assert!(!r.text.contains(path.to_str().unwrap()), "{}", r.text);
}

#[tokio::test]
async fn in_aws_the_secrets_are_described_not_read_and_a_bad_razorpay_secret_only_degrades() {
    let app = TestApp::spawn().await;
    let good = app
        .secret(
            &json!({"key_id": "rzp_live_x", "key_secret": "s3cr3t", "webhook_secrets": ["w"]})
                .to_string(),
        )
        .await;
    let deleted = app.secret("{}").await;
    aws_sdk_secretsmanager::Client::new(&app.clients.sdk)
        .delete_secret()
        .secret_id(&deleted)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    let with_secret = |arn: String| {
        let mut config = app.config.clone();
        config.payments.as_mut().unwrap().credentials = PaymentCredentials::SecretsManager { arn };
        config
    };
    app.state.indexer().rebuild().await.unwrap();

    let r = health_with(&app, &with_secret(good)).await;
    assert_eq!(r.body["checks"]["razorpay"]["status"], "ok", "{}", r.text);
    assert_eq!(r.body["status"], "ok");
    assert!(
        !r.text.contains("s3cr3t") && !r.text.contains("rzp_live_x"),
        "{}",
        r.text
    );

    for (arn, status, why) in [
        (deleted, "invalid", "a secret scheduled for deletion"),
        (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone".to_owned(),
            "missing",
            "a secret that does not exist",
        ),
    ] {
        let r = health_with(&app, &with_secret(arn)).await;
        assert_eq!(r.status, StatusCode::OK, "{why}: {}", r.text);
        assert_eq!(r.body["status"], "degraded", "{why}");
        assert_eq!(r.body["degraded"], json!(["razorpay"]), "{why}");
        assert_eq!(r.body["checks"]["razorpay"]["status"], status, "{why}");
    }

    let mut unset = app.config.clone();
    unset.payments = None;
    let r = health_with(&app, &unset).await;
    assert_eq!(
        r.body["checks"]["razorpay"]["status"], "missing",
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_signing_key_secret_that_is_gone_is_a_503_and_a_failed_check_is_not_reused() {
    let app = TestApp::spawn().await;
    app.state.indexer().rebuild().await.unwrap();
    // A secret id may be its name: one nobody has made yet.
    let name = format!("stockroom/test/{}", uuid::Uuid::new_v4());
    let mut config = app.config.clone();
    config.signing_key = Some(SigningKeySource::SecretsManager { arn: name.clone() });
    let router = shared::lambda::build(health::FUNCTION, &config, &app.clients, app.state.clone())
        .await
        .unwrap();
    let r = TestApp::send(&router, get_health()).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.body["detail"], "unhealthy: signing_key");
    assert_eq!(r.body["checks"]["signing_key"]["status"], "missing");
    // The operator makes it: the same instance says so at once (a failed check is not reused).
    let key = shared::auth::SigningKey::generate("k").unwrap();
    aws_sdk_secretsmanager::Client::new(&app.clients.sdk)
        .create_secret()
        .name(&name)
        .secret_string(key.to_secret_json())
        .send()
        .await
        .unwrap();
    let r = TestApp::send(&router, get_health()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["checks"]["signing_key"]["status"], "ok",
        "{}",
        r.text
    );
}

#[tokio::test]
async fn the_events_check_reports_a_forwarder_that_hands_records_back_or_falls_behind() {
    let app = TestApp::spawn().await;
    app.state.indexer().rebuild().await.unwrap();
    let log = shared::store::ConsumerLog::new(app.state.table.clone());
    let start = time::OffsetDateTime::now_utc();
    let record = async |handled: i64, made_ago: time::Duration, failed: u32| {
        let at = start + time::Duration::milliseconds(handled);
        let progress = shared::store::Progress::of_batch(at, [at - made_ago], 3, failed);
        log.record(shared::outbox::CONSUMER, &progress)
            .await
            .unwrap();
    };

    record(1, time::Duration::seconds(2), 0).await;
    let r = health(&app).await;
    let events = &r.body["checks"]["events"];
    assert_eq!(events["status"], "ok", "{}", r.text);
    assert_eq!(events["lag_ms"], 2000);
    assert!(
        events["last_batch_age_s"].as_i64().unwrap() < 60,
        "{events}"
    );
    assert!(events.get("records").is_none(), "{events}");

    record(2, time::Duration::minutes(5), 0).await;
    let r = health(&app).await;
    assert_eq!(r.body["checks"]["events"]["status"], "behind", "{}", r.text);
    assert_eq!(r.body["status"], "degraded");
    assert_eq!(r.status, StatusCode::OK);

    record(3, time::Duration::seconds(1), 1).await;
    let r = health(&app).await;
    assert_eq!(
        r.body["checks"]["events"]["status"], "failing",
        "{}",
        r.text
    );
    assert_eq!(r.body["degraded"], json!(["events"]));
    assert!(
        statuses(&r.body)
            .iter()
            .all(|(name, status)| name == "events" || status == "ok")
    );
}

#[tokio::test]
async fn a_batch_from_another_shard_that_finishes_late_does_not_hide_a_newer_one() {
    let app = TestApp::spawn().await;
    let log = shared::store::ConsumerLog::new(app.state.table.clone());
    let now = time::OffsetDateTime::now_utc();
    let newer = shared::store::Progress::of_batch(now, [now], 4, 1);
    let older = shared::store::Progress::of_batch(now - time::Duration::seconds(5), [], 2, 0);
    log.record(shared::outbox::CONSUMER, &newer).await.unwrap();
    log.record(shared::outbox::CONSUMER, &older).await.unwrap();
    let last = log.last(shared::outbox::CONSUMER).await.unwrap().unwrap();
    assert_eq!(last, newer);
}
