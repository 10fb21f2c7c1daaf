//! The `canary` Lambda: run every minute by its schedule; its checks are in this crate's lib.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    canary::run().await
}
