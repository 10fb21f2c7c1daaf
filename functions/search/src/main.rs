//! The `search` Lambda: wiring only; routes and handlers live in `shared::api::search`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run(shared::lambda::Function {
        name: "search",
        routes: shared::api::search::router,
        signs_tokens: false,
        uses_payments: false,
        uses_personas: false,
    })
    .await
}
