//! The `orders` Lambda: wiring only; routes and handlers live in `shared::api::orders`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run(shared::lambda::Function {
        name: "orders",
        routes: shared::api::orders::router,
        signs_tokens: false,
        uses_payments: true,
        uses_personas: false,
    })
    .await
}
