//! Unit tests of `problem`.

use super::*;
use http_body_util::BodyExt;

async fn body(response: Response) -> serde_json::Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn validation_errors_list_every_field() {
    let response = ApiError::Validation(vec![
        FieldError {
            field: "sku".into(),
            message: "must not be empty".into(),
        },
        FieldError {
            field: "name".into(),
            message: "must not be empty".into(),
        },
    ])
    .into_response();
    assert_eq!(response.status(), 422);
    assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    let body = body(response).await;
    assert_eq!(body["type"], "urn:stockroom:problem:validation-failed");
    assert_eq!(body["errors"][1]["field"], "name");
}

#[tokio::test]
async fn internal_errors_do_not_leak_their_cause() {
    let response = ApiError::internal("table arn:aws:dynamodb:secret missing").into_response();
    assert_eq!(response.status(), 500);
    let text = body(response).await.to_string();
    assert!(!text.contains("arn:aws"), "{text}");
}
