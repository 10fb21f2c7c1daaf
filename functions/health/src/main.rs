//! The `health` Lambda: wiring only; routes and handlers live in `shared::api::health`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run(shared::lambda::Function {
        name: "health",
        routes: shared::api::health::router,
        signs_tokens: false,
        uses_payments: false,
        uses_personas: false,
    })
    .await
}
