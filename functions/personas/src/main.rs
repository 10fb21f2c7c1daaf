//! The `personas` Lambda: wiring only; routes and handlers live in `shared::api::personas`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run(shared::lambda::Function {
        name: "personas",
        routes: shared::api::personas::router,
        signs_tokens: false,
        uses_payments: false,
        uses_personas: true,
    })
    .await
}
