//! The `stock` Lambda: wiring only; routes and handlers live in `shared::api::stock`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run(shared::lambda::Function {
        name: "stock",
        routes: shared::api::stock::router,
        signs_tokens: false,
        uses_payments: false,
        uses_personas: false,
    })
    .await
}
