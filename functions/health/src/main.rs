//! The `health` Lambda: wiring only; routes and handlers live in `shared::api::health`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run("health", shared::api::health::router).await
}
