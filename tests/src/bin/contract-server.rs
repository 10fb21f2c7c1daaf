//! Serves every function's routes on one local port, against a fresh table, bucket and
//! Razorpay stand-in on the local stack, for the contract run (`infra/contract.sh`, part of
//! `make test`). Prints `url=...` and `token=...` (an admin access token), then serves until
//! killed.

// A test harness: failing loudly at start-up is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http_body_util::BodyExt as _;
use shared::auth::Role;
use stockroom_tests::TestApp;

async fn forward(app: &TestApp, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let request = http::Request::from_parts(parts, lambda_http::Body::from(bytes.to_vec()));
    let answer = app.call(request).await;
    let mut response = Response::new(Body::from(answer.text));
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    response
}

#[tokio::main]
async fn main() {
    let app = Arc::new(TestApp::spawn().await);
    // A deployed stack has a search index (the first catalogue change builds one).
    search::rebuild(&app.search).await.unwrap();
    let token = app.token(Role::Admin);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = axum::Router::new().fallback(move |request: Request| {
        let app = app.clone();
        async move { forward(&app, request).await }
    });
    println!("url=http://{address}\ntoken={token}");
    std::io::stdout().flush().unwrap();
    axum::serve(listener, router).await.unwrap();
}
