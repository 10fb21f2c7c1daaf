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
    assert_eq!(index["documents"], 0);
    assert!(index["age_s"].as_i64().unwrap() < 60, "{index}");
    // No batch yet: nothing is behind.
    assert_eq!(r.body["checks"]["events"]["last_batch_at"], Value::Null);
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
async fn razorpay_keys_are_read_from_secrets_manager_and_a_bad_secret_only_degrades() {
    let app = TestApp::spawn().await;
    let good = app
        .secret(
            &json!({"key_id": "rzp_live_x", "key_secret": "s3cr3t", "webhook_secrets": ["w"]})
                .to_string(),
        )
        .await;
    let malformed = app.secret("{\"key_id\": \"rzp_live_x\"}").await;
    let with_secret = |arn: String| {
        let mut config = app.config.clone();
        config.payments.as_mut().unwrap().credentials = PaymentCredentials::SecretsManager { arn };
        config
    };
    app.state.indexer().rebuild().await.unwrap();

    let r = health_with(&app, &with_secret(good)).await;
    assert_eq!(r.body["checks"]["razorpay"]["status"], "ok", "{}", r.text);
    assert_eq!(r.body["status"], "ok");

    for (arn, why) in [
        (malformed, "a secret without the key secret"),
        (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone".to_owned(),
            "a deleted secret",
        ),
    ] {
        let r = health_with(&app, &with_secret(arn)).await;
        assert_eq!(r.status, StatusCode::OK, "{why}: {}", r.text);
        assert_eq!(r.body["status"], "degraded", "{why}");
        assert_eq!(r.body["degraded"], json!(["razorpay"]), "{why}");
        assert_eq!(r.body["checks"]["razorpay"]["status"], "invalid", "{why}");
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
async fn the_events_check_reports_a_forwarder_that_hands_records_back_or_falls_behind() {
    let app = TestApp::spawn().await;
    app.state.indexer().rebuild().await.unwrap();
    let log = shared::store::ConsumerLog::new(app.state.table.clone());
    let now = time::OffsetDateTime::now_utc();
    let record = async |made_ago: time::Duration, failed: u32| {
        let progress = shared::store::Progress::of_batch(now, [now - made_ago], 3, failed);
        log.record(shared::outbox::CONSUMER, &progress)
            .await
            .unwrap();
    };

    record(time::Duration::seconds(2), 0).await;
    let r = health(&app).await;
    let events = &r.body["checks"]["events"];
    assert_eq!(events["status"], "ok", "{}", r.text);
    assert_eq!(events["lag_ms"], 2000);
    assert_eq!(events["records"], 3);

    record(time::Duration::minutes(5), 0).await;
    let r = health(&app).await;
    assert_eq!(r.body["checks"]["events"]["status"], "behind", "{}", r.text);
    assert_eq!(r.body["status"], "degraded");
    assert_eq!(r.status, StatusCode::OK);

    record(time::Duration::seconds(1), 1).await;
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
