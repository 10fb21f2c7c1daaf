//! Serves every function's routes on one local port, against a fresh table, bucket and
//! Razorpay stand-in on the local stack, for the contract run (`infra/contract.sh`, part of
//! `make test`). Prints `url=...` and `token=...` (an admin access token), then serves until
//! killed.

// A test harness: failing loudly at start-up is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Building every function's app nests deeper than the compiler's default layout limit.
#![recursion_limit = "256"]

use std::io::Write as _;
use std::sync::Arc;

use shared::auth::Role;
use stockroom_tests::TestApp;

#[tokio::main]
async fn main() {
    let app = Arc::new(TestApp::spawn().await);
    // A deployed stack has a search index (the first catalogue change builds one).
    search::rebuild(&app.search).await.unwrap();
    let token = app.token(Role::Admin);
    let url = app.serve().await;
    println!("url={url}\ntoken={token}");
    std::io::stdout().flush().unwrap();
    std::future::pending::<()>().await;
}
