use futures::future::join_all;
use http::StatusCode;
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{TestApp, product_body};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_sku_have_exactly_one_winner() {
    let app = TestApp::spawn().await;
    let attempts = (0..8).map(|n| {
        let mut body = product_body(n);
        body["sku"] = json!("CONTESTED-1");
        let app = &app;
        async move { app.create_product(&body).await.status }
    });
    let statuses = join_all(attempts).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 7), "{statuses:?}");
    let listed = app.get("/v1/products", Role::Staff).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    // One product item, one SKU claim and one product.created event: the losers left
    // nothing behind, and announced nothing.
    assert_eq!(app.table_item_count().await, 3);
    assert_eq!(app.domain_events(Some("product.created")).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_from_one_version_have_exactly_one_winner() {
    let app = TestApp::spawn().await;
    let created = app.create_product(&product_body(1)).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let etag = created.etag();
    let attempts = (0..6).map(|n| {
        let (app, id, etag) = (&app, &id, &etag);
        async move {
            let r = app
                .patch_product(id, etag, &json!({"name": format!("writer {n}")}))
                .await;
            (r.status, n)
        }
    });
    let results = join_all(attempts).await;
    let winners: Vec<_> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(s, _)| *s == StatusCode::OK || *s == StatusCode::PRECONDITION_FAILED)
    );
    let read = app.get(&format!("/v1/products/{id}"), Role::Staff).await;
    assert_eq!(read.body["name"], format!("writer {}", winners[0].1));
    assert_eq!(read.etag(), "\"2\"");
}
