//! The `purchasing` Lambda: wiring only; routes and handlers live in `shared::api::purchasing`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run(shared::lambda::Function {
        name: "purchasing",
        routes: shared::api::purchasing::router,
        signs_tokens: false,
        uses_payments: false,
        uses_personas: false,
    })
    .await
}
