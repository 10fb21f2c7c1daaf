//! The `stock-sweeper` Lambda: runs on a schedule, expires unpaid orders whose hold ended and
//! releases other expired reservations.

// The sweep's future (settling orders through the stock services) nests deeper than the
// compiler's default layout limit.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_scheduled("stock-sweeper", |state| async move {
        let swept = shared::services::sweep::sweep(&state, time::OffsetDateTime::now_utc()).await?;
        Ok(serde_json::json!(swept))
    })
    .await
}
