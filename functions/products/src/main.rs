//! The `products` Lambda: wiring only; routes and handlers live in `shared::api::products`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run(shared::lambda::Function {
        name: "products",
        routes: shared::api::products::router,
        signs_tokens: false,
        uses_payments: false,
        uses_personas: false,
    })
    .await
}
