//! The `stock-sweeper` Lambda: runs on a schedule and releases expired reservations.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_scheduled("stock-sweeper", |state| async move {
        let released = shared::services::reservations::release_expired(
            &state,
            time::OffsetDateTime::now_utc(),
        )
        .await?;
        Ok(serde_json::json!({ "released": released }))
    })
    .await
}
