//! The `events-forwarder` Lambda: consumes the table's stream and publishes outbox events
//! (low stock, ...) to EventBridge; logic in `shared::outbox`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_outbox_forwarder().await
}
