//! The search indexer fed by the table's real stream (DynamoDB Local), as `make dev` and Lambda
//! feed it: products and stock changes reach the index, archives leave it, and redelivered or
//! reordered batches change nothing. A record it cannot apply is the only one sent back.

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodb::types::AttributeValue;
use devstack::index_batch;
use http::StatusCode;
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, product_body};

async fn product(app: &TestApp, n: usize, name: &str) -> String {
    let mut body = product_body(n);
    body["name"] = json!(name);
    // An empty map, which DynamoDB Local's stream writes without its type tag.
    body["attributes"] = json!({});
    let r = app.create_product(&body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

/// Moves `quantity` units of `product` in `warehouse` (`receive` or `ship`).
async fn move_units(app: &TestApp, kind: &str, product: &str, warehouse: &str, quantity: i64) {
    let r = app
        .move_stock(&json!({"type": kind, "product_id": product, "warehouse_id": warehouse, "quantity": quantity, "reference": "test"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

/// The hits as staff see them (with exact `available` counts).
async fn search(app: &TestApp, query: &str) -> Vec<Value> {
    app.search.own.expire().await;
    let r = app.get(&format!("/v1/search?{query}"), Role::Staff).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["hits"].as_array().unwrap().clone()
}

fn ids(hits: &[Value]) -> Vec<&str> {
    hits.iter().map(|h| h["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn stream_batches_keep_the_index_in_step_with_the_table() {
    let app = TestApp::spawn().await;
    let mut stream = app.stream_poller().await;
    let indexer = app.state.indexer();
    assert_eq!(indexer.rebuild().await.unwrap().documents, 0);

    let jacket = product(&app, 1, "Waterproof hiking jacket").await;
    let socks = product(&app, 2, "Hiking socks").await;
    let w = app.create_warehouse("W-1").await;
    move_units(&app, "receive", &jacket, &w, 3).await;
    let first = stream.poll().await.unwrap();
    assert!(!first.is_empty());

    let (report, retry) = index_batch(&indexer, first.clone()).await;
    assert!(retry.is_empty());
    assert_eq!((report.products, report.changed), (2, 2), "{report:?}");
    assert_eq!(report.documents, 2);
    let hits = search(&app, "q=jackt").await;
    assert_eq!(ids(&hits), [jacket.as_str()]);
    assert_eq!(hits[0]["available"], 3);
    assert_eq!(
        ids(&search(&app, "q=hiking&in_stock=true").await),
        [jacket.as_str()]
    );
    assert_eq!(search(&app, "q=hiking").await.len(), 2);

    // Redelivered, or delivered in another order: nothing changes, nothing is published.
    let (again, retry) = index_batch(&indexer, first.clone()).await;
    assert!(retry.is_empty());
    assert_eq!((again.changed, again.version), (0, None), "{again:?}");
    let reversed: Vec<EventRecord> = first.iter().rev().cloned().collect();
    assert_eq!(index_batch(&indexer, reversed).await.0.changed, 0);

    // Selling out, then archiving, reach the index too.
    move_units(&app, "ship", &jacket, &w, 3).await;
    let (report, _) = index_batch(&indexer, stream.poll().await.unwrap()).await;
    assert_eq!(report.changed, 1);
    assert!(search(&app, "q=hiking&in_stock=true").await.is_empty());
    let r = app
        .send_json(
            http::Method::DELETE,
            &format!("/v1/products/{socks}"),
            Role::Manager,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (report, _) = index_batch(&indexer, stream.poll().await.unwrap()).await;
    assert_eq!((report.changed, report.documents), (1, 1), "{report:?}");
    assert!(search(&app, "q=socks").await.is_empty());

    // A cold indexer (new process) replaying the oldest batch leaves the archive archived.
    let cold = app.state.indexer();
    let (late, retry) = index_batch(&cold, first).await;
    assert!(retry.is_empty());
    assert_eq!(late.changed, 0, "{late:?}");
    assert!(search(&app, "q=socks").await.is_empty());
}

fn product_record(id: &str, sequence: &str) -> EventRecord {
    let mut r = EventRecord::default();
    r.event_name = "MODIFY".into();
    r.change.keys = serde_dynamo::Item::from(std::collections::HashMap::from([
        (
            "PK".to_owned(),
            serde_dynamo::AttributeValue::S(format!("PRODUCT#{id}")),
        ),
        (
            "SK".to_owned(),
            serde_dynamo::AttributeValue::S("PRODUCT".into()),
        ),
    ]));
    r.change.sequence_number = Some(sequence.into());
    r
}

#[tokio::test]
async fn only_the_records_that_fail_are_sent_back() {
    let app = TestApp::spawn().await;
    let indexer = app.state.indexer();
    indexer.rebuild().await.unwrap();
    let good = product(&app, 1, "Trail shoes").await;
    // A product item the indexer cannot read (written by hand, missing its fields).
    let broken = shared::domain::ProductId::generate().to_string();
    app.clients
        .dynamodb
        .put_item()
        .table_name(&app.config.table_name)
        .item("PK", AttributeValue::S(format!("PRODUCT#{broken}")))
        .item("SK", AttributeValue::S("PRODUCT".into()))
        .item("entity", AttributeValue::S("product".into()))
        .send()
        .await
        .unwrap();
    let mut event = Event::default();
    event.records = vec![product_record(&good, "100"), product_record(&broken, "200")];
    let (report, response) = indexer.handle(&event).await;
    let failed: Vec<Option<String>> = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    assert_eq!(failed, [Some("200".to_owned())]);
    assert_eq!((report.changed, report.failed), (1, 1), "{report:?}");
    assert_eq!(ids(&search(&app, "q=trail").await), [good.as_str()]);
}

#[tokio::test]
async fn the_first_batch_with_no_index_published_rebuilds_from_the_table() {
    let app = TestApp::spawn().await;
    let mut stream = app.stream_poller().await;
    let older = product(&app, 1, "Canvas tent").await;
    let newer = product(&app, 2, "Camping stove").await;
    let records = stream.poll().await.unwrap();
    // Only the newer product's records: the rebuild still brings in both.
    let newer_only: Vec<EventRecord> = records
        .into_iter()
        .filter(|r| format!("{:?}", r.change.keys).contains(&newer))
        .collect();
    assert!(!newer_only.is_empty());
    let (report, retry) = index_batch(&app.state.indexer(), newer_only).await;
    assert!(retry.is_empty());
    assert_eq!(report.documents, 2, "{report:?}");
    assert_eq!(ids(&search(&app, "q=tent").await), [older.as_str()]);
}

#[tokio::test]
async fn the_sample_stream_event_is_what_the_indexer_consumes() {
    let app = TestApp::spawn().await;
    let indexer = app.state.indexer();
    indexer.rebuild().await.unwrap();
    let id = product(&app, 1, "Enamel camping mug").await;
    let w = app.create_warehouse("W-1").await;
    move_units(&app, "receive", &id, &w, 5).await;
    let text =
        std::fs::read_to_string(stockroom_tests::root().join("events/search-indexer/stream.json"))
            .unwrap()
            .replace("{{product_id}}", &id)
            .replace("{{warehouse_id}}", &w);
    let event: Event = serde_json::from_str(&text).unwrap();
    let (report, response) = indexer.handle(&event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((report.products, report.changed), (1, 1), "{report:?}");
    let hits = search(&app, "q=enamel").await;
    assert_eq!(ids(&hits), [id.as_str()]);
    // The record carries version 3 of the level while the level index still shows version 1
    // (as a lagging index would): the newer image wins, 12 on hand less 2 reserved.
    assert_eq!(hits[0]["available"], 10);
}
