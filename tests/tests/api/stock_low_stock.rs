use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, product_body};

/// The low-stock events waiting in the outbox.
async fn low_stock_events(app: &TestApp) -> Vec<Value> {
    app.domain_events(Some("stock.low")).await
}

#[tokio::test]
async fn falling_to_the_reorder_level_raises_one_event_per_crossing() {
    let app = TestApp::spawn().await;
    let mut body = product_body(1);
    body["reorder_level"] = json!(5);
    let p = app.create_product(&body).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = app.create_warehouse("BLR-1").await;
    let go = |kind: &str, q: i64| {
        let body = json!({"type": kind, "product_id": p, "warehouse_id": w, "quantity": q});
        let app = &app;
        async move {
            let r = app.move_stock(&body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
    };
    go("receive", 10).await;
    go("ship", 4).await; // 6: above
    assert!(low_stock_events(&app).await.is_empty());
    go("ship", 2).await; // 4: crosses
    go("ship", 1).await; // 3: still below, no new event
    let events = low_stock_events(&app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["data"]["available"], 4);
    assert_eq!(events[0]["data"]["previous_available"], 6);
    assert_eq!(events[0]["data"]["reorder_level"], 5);
    assert_eq!(events[0]["data"]["sku"], "SKU-0001");

    go("receive", 10).await; // 13: back above
    // A reservation that takes availability to the level counts as a crossing too.
    let key = uuid::Uuid::new_v4().to_string();
    let r = app
        .send_json(
            Method::POST,
            "/v1/stock/reservations",
            Role::Staff,
            &json!({"lines": [{"product_id": p, "warehouse_id": w, "quantity": 8}]}),
            &[("idempotency-key", &key)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(low_stock_events(&app).await.len(), 2);
}

/// A stream record as DynamoDB Streams delivers it for an inserted outbox item.
fn stream_record(detail: &Value, sequence: &str) -> Value {
    json!({
        "eventID": format!("evt-{sequence}"),
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "SequenceNumber": sequence,
            // Made three seconds ago, as the stream stamps it (epoch seconds).
            "ApproximateCreationDateTime": time::OffsetDateTime::now_utc().unix_timestamp() - 3,
            "Keys": {"PK": {"S": "EVENT#x"}, "SK": {"S": "EVENT"}},
            "NewImage": {
                "PK": {"S": "EVENT#x"}, "SK": {"S": "EVENT"},
                "entity": {"S": "outbox_event"}, "type": {"S": "stock.low"},
                "detail": {"S": detail.to_string()}
            },
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            "SizeBytes": 256
        }
    })
}

#[tokio::test]
async fn outbox_events_reach_the_event_bus_and_failures_are_reported_for_retry() {
    let app = TestApp::spawn().await;
    let mut body = product_body(1);
    body["reorder_level"] = json!(5);
    let p = app.create_product(&body).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = app.create_warehouse("BLR-1").await;
    app.move_stock(&json!({"type": "receive", "product_id": p, "warehouse_id": w, "quantity": 6}))
        .await;
    app.move_stock(&json!({"type": "ship", "product_id": p, "warehouse_id": w, "quantity": 2}))
        .await;
    let detail = low_stock_events(&app).await.remove(0);

    let (events, bus, sqs, queue_url) = app.bus_to_queue(json!(["stock.low"])).await;

    let ignored = json!({"eventID": "e0", "eventName": "MODIFY", "awsRegion": "us-east-1",
        "dynamodb": {"SequenceNumber": "100", "SizeBytes": 64, "StreamViewType": "NEW_AND_OLD_IMAGES",
            "NewImage": {"entity": {"S": "product"}}}});
    let batch: aws_lambda_events::dynamodb::Event =
        serde_json::from_value(json!({"Records": [ignored, stream_record(&detail, "101")]}))
            .unwrap();
    let progress = shared::store::ConsumerLog::new(app.state.table.clone());
    let forwarder = shared::outbox::Forwarder {
        bus: bus.clone(),
        events: events.clone(),
        progress: progress.clone(),
        outbox: shared::store::Outbox::new(app.state.table.clone()),
    };
    let response = forwarder.handle(&batch).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    // The batch's progress is recorded for /health: one outbox record, none handed back,
    // and how long it waited.
    let last = progress
        .last(shared::outbox::CONSUMER)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((last.records, last.failed), (1, 0));
    assert!((3000..60_000).contains(&last.lag_ms), "{last:?}");

    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(received.len(), 1, "exactly the outbox event was published");
    let envelope: Value = serde_json::from_str(received[0].body().unwrap()).unwrap();
    assert_eq!(envelope["source"], "stockroom");
    assert_eq!(envelope["detail-type"], "stock.low");
    assert_eq!(envelope["detail"]["data"]["product_id"], p.as_str());
    assert_eq!(envelope["detail"]["data"]["available"], 4);
    assert_eq!(envelope["detail"]["id"], detail["id"]);

    // A bus that refuses the event: the record is handed back for the stream to retry.
    let failing: aws_lambda_events::dynamodb::Event =
        serde_json::from_value(json!({"Records": [stream_record(&detail, "202")]})).unwrap();
    let refusing = shared::outbox::Forwarder {
        bus: "no-such-bus".into(),
        ..forwarder
    };
    let response = refusing.handle(&failing).await;
    let retried: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(retried, vec!["202".to_owned()]);
    let last = progress
        .last(shared::outbox::CONSUMER)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((last.records, last.failed), (1, 1));
}
