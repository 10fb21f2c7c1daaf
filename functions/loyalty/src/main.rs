//! The `loyalty` Lambda: one call; settling orders' points is in this crate's lib.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    loyalty::run().await
}
