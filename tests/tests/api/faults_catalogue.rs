//! The fault matrix for the catalogue's multi-step flows (see `faults_support`): generating
//! personas (the table and the documents in S3), and the search indexer publishing a batch
//! from the table's stream (product reads, then segment files, version and manifest in S3).

use aws_lambda_events::dynamodb::EventRecord;
use devstack::index_batch;
use http::{Method, StatusCode};
use serde_json::json;
use shared::auth::Role;
use stockroom_tests::{TestApp, TestResponse, product_body};

use crate::faults_support::{Dep, EVERY_FAULT, Flow, matrix, one};
use stockroom_tests::faults::Fault;

/// `POST /v1/personas` under an Idempotency-Key: the personas stored once, each whole.
struct Generating;

impl Flow for Generating {
    type Setup = String;
    async fn setup(&self, app: &TestApp) -> String {
        let r = app.create_product(&product_body(1)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["id"].as_str().unwrap().to_owned()
    }
    async fn act(&self, app: &TestApp, product: &String, key: &str) -> TestResponse {
        app.send_json(
            Method::POST,
            "/v1/personas",
            Role::Staff,
            &json!({"brief": "Young professionals refreshing an office wardrobe on a budget",
                    "product_ids": [product], "count": 2, "segment": "office-refresh"}),
            &[("idempotency-key", key)],
        )
        .await
    }
    fn done(&self) -> StatusCode {
        StatusCode::CREATED
    }
    async fn check(&self, app: &TestApp, _: &String, _: bool, what: &str) {
        let listed = app.get("/v1/personas", Role::Staff).await;
        let items = listed.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{what}: stored once: {}", listed.text);
        for p in items {
            let one = app
                .get(
                    &format!("/v1/personas/{}", p["id"].as_str().unwrap()),
                    Role::Staff,
                )
                .await;
            assert_eq!(one.status, StatusCode::OK, "{what}: {}", one.text);
            assert!(one.body["goals"].is_array(), "{what}: whole: {}", one.text);
        }
    }
}

#[tokio::test]
async fn generating_personas_survives_dynamodb_failing_at_every_step() {
    matrix(&Generating, Dep::DynamoDb, &EVERY_FAULT).await;
}

#[tokio::test]
async fn a_persona_commit_whose_answer_is_lost_keeps_its_documents() {
    // The summaries' transaction committed but its answer was lost; the handler deleted the
    // documents as if nothing had committed, and the retry's replay listed personas whose
    // reads answered 500 ("a summary but no document").
    one(
        &Generating,
        Dep::DynamoDb,
        "TransactWriteItems",
        Fault::Lost,
    )
    .await;
}

#[tokio::test]
async fn generating_personas_survives_s3_failing_at_every_step() {
    matrix(&Generating, Dep::S3, &EVERY_FAULT).await;
}

/// A published index holding one product, and the stream records of a second product and of
/// stock for it, as Lambda would hand them to the indexer.
async fn indexing(app: &TestApp) -> Vec<EventRecord> {
    let mut stream = app.stream_poller().await;
    let mut first = product_body(1);
    first["name"] = json!("Trail running shoes");
    assert_eq!(app.create_product(&first).await.status, StatusCode::CREATED);
    app.state.indexer().rebuild().await.unwrap();
    stream.poll().await.unwrap();
    let mut second = product_body(2);
    second["name"] = json!("Waterproof hiking jacket");
    second["attributes"] = json!({});
    let r = app.create_product(&second).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let w = app.create_warehouse("W-1").await;
    let moved = app
        .move_stock(&json!({"type": "receive", "product_id": r.body["id"], "warehouse_id": w, "quantity": 3}))
        .await;
    assert_eq!(moved.status, StatusCode::CREATED, "{}", moved.text);
    let records = stream.poll().await.unwrap();
    assert!(!records.is_empty());
    records
}

/// What a search for the jacket finds, as staff see it.
async fn jackets(app: &TestApp) -> Vec<serde_json::Value> {
    app.search.own.expire().await;
    let r = app.get("/v1/search?q=jacket", Role::Staff).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["hits"].as_array().unwrap().clone()
}

/// Runs the indexer over the batch with `dep` failing at every step. A batch it could not
/// publish comes back for retry (whole or in part), or the handler is stopped; Lambda then
/// delivers the records again (to a new instance, after a stop). In the end the index holds
/// both products, the jacket once, with its stock; and what readers load is whole.
async fn indexer_matrix(dep: Dep) {
    let steps = {
        let app = TestApp::spawn_faulty().await;
        let records = indexing(&app).await;
        let proxy = dep.proxy(&app);
        let before = proxy.calls().len();
        let (report, retry) = index_batch(&app.state.indexer(), records).await;
        assert!(retry.is_empty(), "undisturbed: {report:?}");
        proxy.calls()[before..].to_vec()
    };
    assert!(!steps.is_empty(), "indexing makes {dep:?} calls");
    for (k, step) in steps.iter().enumerate() {
        for fault in EVERY_FAULT {
            let what = format!("{dep:?} call {k} ({step}) failing with {fault:?}");
            let app = TestApp::spawn_faulty().await;
            let records = indexing(&app).await;
            let proxy = dep.proxy(&app);
            let mut indexer = app.state.indexer();
            proxy.fail_from(proxy.calls().len() + k, fault);
            let outcome = tokio::select! {
                r = index_batch(&indexer, records.clone()) => Some(r),
                () = proxy.stopped() => None,
            };
            proxy.heal();
            let again = match outcome {
                // Stopped at its timeout: the instance is gone and the whole batch comes again.
                None => {
                    indexer = app.state.indexer();
                    records
                }
                Some((_, retry)) => retry,
            };
            if !again.is_empty() {
                let (report, retry) = index_batch(&indexer, again).await;
                assert!(retry.is_empty(), "{what}: the retry: {report:?}");
            }
            let hits = jackets(&app).await;
            assert_eq!(hits.len(), 1, "{what}: {hits:?}");
            assert_eq!(hits[0]["available"], 3, "{what}: {hits:?}");
            let store = shared::search::IndexStore::new(
                app.state.media.client().clone(),
                app.state.media.name(),
            );
            let loaded = store.load(None).await.unwrap().unwrap();
            let manifest = &loaded.fetched.manifest;
            assert_eq!(manifest.documents, 2, "{what}: {manifest:?}");
        }
    }
}

#[tokio::test]
async fn publishing_the_search_index_survives_dynamodb_failing_at_every_step() {
    Box::pin(indexer_matrix(Dep::DynamoDb)).await;
}

#[tokio::test]
async fn publishing_the_search_index_survives_s3_failing_at_every_step() {
    Box::pin(indexer_matrix(Dep::S3)).await;
}
