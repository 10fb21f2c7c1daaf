//! The loyalty function: its queue carries the orders' domain events (`order.*`,
//! `payment.failed`, `refund.*`, from the bus's `LoyaltyRule`); for each it settles the
//! order's points with the order as it is now (`shared::services::loyalty::settle_order`):
//! points earned when paid, reversed in proportion to refunds, given back when an order they
//! paid for ended unpaid, badges awarded, leaderboard scores moved. Settling reads the order
//! afresh, so a duplicate, late or reordered event changes nothing more: the ledger is
//! applied exactly once per order state.

use serde_json::{Value, json};
use shared::domain::notification::Published;
use shared::services::AppState;
use shared::services::loyalty::settle_order;

const SERVICE: &str = "loyalty";

/// The order an event is about, if it is an order's event.
fn order_of(event: &Published) -> Option<&str> {
    match event.kind.split('.').next()? {
        "order" | "payment" | "refund" => event.data.get("order_id")?.as_str(),
        _ => None,
    }
}

/// Settles the orders of a batch of the queue's messages (EventBridge events, `detail` the
/// domain event), each order once; answers the messages to try again.
pub async fn handle(state: &AppState, batch: &aws_lambda_events::sqs::SqsEvent) -> Value {
    let mut orders: Vec<(String, Vec<String>)> = Vec::new();
    for record in &batch.records {
        let id = record.message_id.clone().unwrap_or_default();
        let event = record
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<Value>(b).ok())
            .and_then(|e| serde_json::from_value::<Published>(e["detail"].clone()).ok());
        let Some(event) = event else {
            tracing::error!(message_id = %id, "a queue message that is not a domain event");
            continue;
        };
        let Some(order) = order_of(&event) else {
            continue;
        };
        match orders.iter_mut().find(|(o, _)| o == order) {
            Some((_, ids)) => ids.push(id),
            None => orders.push((order.to_owned(), vec![id])),
        }
    }
    let mut failures = Vec::new();
    let (mut entries, mut badges) = (0, 0);
    for (order, messages) in &orders {
        match settle_order(state, order).await {
            Ok(settled) => {
                entries += settled.entries.len();
                badges += settled.badges.len();
            }
            Err(e) => {
                tracing::warn!(order_id = %order, error = %e, "could not settle an order's points; retried");
                failures.extend(messages.iter().map(|m| json!({"itemIdentifier": m})));
            }
        }
    }
    let count = |name, value| {
        shared::telemetry::metrics::emit_count(&state.metrics_namespace, SERVICE, name, value);
    };
    count("PointsEntries", entries);
    count("BadgesAwarded", badges);
    tracing::info!(orders = orders.len(), entries, badges, "settled a batch");
    json!({"batchItemFailures": failures})
}

/// Runs the function: loads its configuration or refuses to start, then settles batches.
pub async fn run() -> Result<(), lambda_http::Error> {
    shared::telemetry::init_logging();
    let config = shared::config::Config::from_env().map_err(|e| {
        tracing::error!(error = %e, "start-up failed; refusing to run");
        e
    })?;
    let clients = shared::aws::AwsClients::from_env(&config).await;
    let state = &AppState::new(&config, &clients);
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<aws_lambda_events::sqs::SqsEvent>| async move {
            Ok::<Value, lambda_http::Error>(Box::pin(handle(state, &event.payload)).await)
        },
    ))
    .await
}
