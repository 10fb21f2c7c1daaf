//! The `payments-webhook` Lambda: wiring only; routes and handlers live in `shared::api::payments_webhook`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run(shared::lambda::Function {
        name: "payments-webhook",
        routes: shared::api::payments_webhook::router,
        signs_tokens: false,
        uses_payments: true,
        uses_personas: false,
    })
    .await
}
