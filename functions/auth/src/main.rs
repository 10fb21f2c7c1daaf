//! The `auth` Lambda: one call; its routes and handlers are in this crate's lib.
//! The only function that holds the private key signing access tokens.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run(auth::FUNCTION).await
}
