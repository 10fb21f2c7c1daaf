//! The `auth` Lambda: wiring only; routes and handlers live in `shared::api::auth`.
//! The only function that holds the private key signing access tokens.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run(shared::lambda::Function {
        name: "auth",
        routes: shared::api::auth::router,
        signs_tokens: true,
        uses_payments: false,
        uses_personas: false,
    })
    .await
}
