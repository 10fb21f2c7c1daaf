//! The `notifications` Lambda: one call; the WebSocket routes and the delivery of domain
//! events are in this crate's lib.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    notifications::run().await
}
