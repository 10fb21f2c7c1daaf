//! `make bench`: live updates on the local stack. How long from a change's commit to its
//! message on a client's WebSocket, and how many messages one notifications instance posts a
//! second. Writes its section of docs/PERFORMANCE.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::bench::{machine, stats, table, write_section};
use stockroom_tests::{TestApp, product_body};
use tokio_tungstenite::tungstenite::Message;

/// How often the local pipeline reads the stream and the queue (Lambda's pollers do this in
/// AWS, at their own pace).
const POLL: Duration = Duration::from_millis(20);
const CHANGES: usize = 100;
const LISTENERS: usize = 500;
const EVENTS_PER_BATCH: usize = 10;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribed(url: &str, token: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{url}/?token={token}"))
        .await
        .unwrap();
    socket
        .send(Message::Text(
            json!({"action": "subscribe", "topics": ["products"]})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    assert!(reply.to_text().unwrap().contains("subscribed"), "{reply}");
    socket
}

/// The next text message, as JSON.
async fn text(socket: &mut Socket) -> Value {
    loop {
        if let Message::Text(t) = socket.next().await.unwrap().unwrap() {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

#[tokio::main]
async fn main() {
    let app = TestApp::spawn().await;
    let live = app.live().await;
    let devstack::live::Live {
        gateway,
        notifications,
        mut pipeline,
    } = live;
    let url = gateway.url();
    let token = app.token(Role::Staff);

    // Commit to message: a product changed over the API, heard by a subscriber.
    let product = app.create_product(&product_body(1)).await;
    let id = product.body["id"].as_str().unwrap().to_owned();
    let mut etag = product.etag();
    let mut listener = subscribed(&url, &token).await;
    let pump = tokio::spawn(async move {
        loop {
            pipeline.step().await.unwrap();
            tokio::time::sleep(POLL).await;
        }
    });
    // The creation's own event, if the pump carried it.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(500), listener.next()).await
    {
    }
    let mut latencies = Vec::new();
    for n in 0..CHANGES {
        let r = app
            .patch_product(&id, &etag, &json!({"name": format!("Renamed {n}")}))
            .await;
        assert!(r.status.is_success(), "{}", r.text);
        let committed = Instant::now();
        etag = r.etag();
        let heard = text(&mut listener).await;
        latencies.push(committed.elapsed());
        assert_eq!(heard["type"], "product.updated", "{heard}");
    }
    pump.abort();
    let latency = stats(
        &format!(
            "commit -> message (product.updated, {} ms polling)",
            POLL.as_millis()
        ),
        latencies,
    );

    // Fan-out: one batch of events to many subscribers, posted by one instance.
    let mut sockets = Vec::with_capacity(LISTENERS);
    for _ in 0..LISTENERS {
        sockets.push(subscribed(&url, &token).await);
    }
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let mut got = 0;
                while got < EVENTS_PER_BATCH {
                    text(&mut s).await;
                    got += 1;
                }
                got
            })
        })
        .collect();
    let records: Vec<Value> = (0..EVENTS_PER_BATCH)
        .map(|n| {
            let detail = json!({
                "id": uuid::Uuid::now_v7().to_string(), "type": "product.updated",
                "schema_version": 1, "occurred_at": "2026-12-07T10:00:00Z",
                "aggregate": {"type": "product", "id": id, "version": n + 2},
                "data": {"product_id": id, "name": format!("Renamed {n}")}
            });
            json!({
                "messageId": format!("m{n}"), "eventSource": "aws:sqs",
                "body": json!({"detail-type": "product.updated", "source": "stockroom", "detail": detail}).to_string(),
            })
        })
        .collect();
    let batch = serde_json::from_value(json!({"Records": records})).unwrap();
    let start = Instant::now();
    let answer = Box::pin(notifications.deliver(&batch)).await;
    let posted = start.elapsed();
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let mut received = 0;
    for r in readers {
        received += r.await.unwrap();
    }
    let all = start.elapsed();
    assert_eq!(received, LISTENERS * EVENTS_PER_BATCH);
    let per_second = (LISTENERS * EVENTS_PER_BATCH) as f64 / posted.as_secs_f64();

    let body = format!(
        "## Live updates (`tests/benches/live.rs`)\n\nMachine: {}.\n\n{}\n\
Fan-out: one notifications instance posted a batch of {EVENTS_PER_BATCH} events to {LISTENERS} \
subscribed connections ({} messages, 32 posts in flight) in {:.0} ms: **{per_second:.0} messages/s** \
({:.0} ms until every client had read all of them).\n\n\
Commit to message is measured from the moment `PATCH /v1/products/{{id}}` answered (its \
transaction committed) to the moment a subscribed WebSocket client read `product.updated`: \
the table's stream read by DynamoDB Local, the events forwarder publishing to moto's \
EventBridge, moto's rule putting it on moto's SQS queue, the notifications function reading \
its listeners from DynamoDB Local and posting through API Gateway's management API (the real \
SDK) to the local gateway, and the gateway writing the frame. The local pipeline polls the \
stream and the queue every {} ms; in AWS, Lambda's pollers, EventBridge and the queue's \
batching window (1 s) set the pace, so expect about a second there. Fan-out posts each \
message with its own `PostToConnection` call (API Gateway has no broadcast), 32 at a time; \
the local gateway answers each in-process, so AWS's per-call latency (a few ms from Lambda) \
makes the real figure lower per instance, and more instances share a busy queue.\n",
        machine(),
        table(&[latency]),
        LISTENERS * EVENTS_PER_BATCH,
        posted.as_secs_f64() * 1000.0,
        all.as_secs_f64() * 1000.0,
        POLL.as_millis(),
    );
    write_section("live-updates", &body);
    println!("{body}");
    drop(gateway);
}
