//! The `search-indexer` Lambda: consumes the table's stream and keeps the search index in S3 up
//! to date; `{"rebuild": true}` rebuilds it from the table. Logic in `shared::search::indexer`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_search_indexer().await
}
