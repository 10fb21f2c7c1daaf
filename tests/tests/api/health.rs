use http::StatusCode;
use stockroom_tests::TestApp;

async fn health(app: &TestApp) -> stockroom_tests::TestResponse {
    app.call(
        http::Request::get("/health")
            .body(lambda_http::Body::Empty)
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn health_is_ok_when_table_and_bucket_answer() {
    let app = TestApp::spawn().await;
    let r = health(&app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.body["checks"]["dynamodb"]["status"], "ok");
    assert_eq!(r.body["checks"]["s3"]["status"], "ok");
}

#[tokio::test]
async fn health_names_a_missing_bucket() {
    let app = TestApp::spawn_with(|env| {
        env.insert("MEDIA_BUCKET".into(), "no-such-bucket-anywhere".into());
    })
    .await;
    let r = health(&app).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.body["detail"], "unhealthy: s3");
    assert_eq!(r.body["checks"]["dynamodb"]["status"], "ok");
}

#[tokio::test]
async fn health_names_a_missing_table() {
    let app = TestApp::spawn_with(|env| {
        env.insert("TABLE_NAME".into(), "no-such-table".into());
    })
    .await;
    let r = health(&app).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["detail"], "unhealthy: dynamodb");
}
