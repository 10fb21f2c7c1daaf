//! The `shipments` Lambda: one call; its routes and handlers are in this crate's lib.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run(shipments::FUNCTION).await
}
