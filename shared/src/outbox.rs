//! Forwards outbox events (written in the same transaction as the change they announce) from
//! the table's stream to EventBridge. Only records that failed are reported back, so the stream
//! retries exactly those; EventBridge consumers must tolerate a rare duplicate (at-least-once).

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

/// The `source` of every event Stockroom publishes.
pub const SOURCE: &str = "stockroom";

fn text(record: &EventRecord, name: &str) -> Option<String> {
    match record.change.new_image.get(name) {
        Some(serde_dynamo::AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

/// The EventBridge entry for an inserted outbox item; `None` for any other record.
fn entry(record: &EventRecord, bus: &str) -> Option<PutEventsRequestEntry> {
    if record.event_name != "INSERT" || text(record, "entity").as_deref() != Some("outbox_event") {
        return None;
    }
    Some(
        PutEventsRequestEntry::builder()
            .event_bus_name(bus)
            .source(SOURCE)
            .detail_type(text(record, "type")?)
            .detail(text(record, "detail")?)
            .build(),
    )
}

/// The name the forwarder's progress is recorded under ([`crate::store::ConsumerLog`]).
pub const CONSUMER: &str = "events-forwarder";

/// The stream consumer: forwards each batch, then records how far behind it was.
#[derive(Debug, Clone)]
pub struct Forwarder {
    /// The bus events go to.
    pub bus: String,
    /// EventBridge.
    pub events: aws_sdk_eventbridge::Client,
    /// Where progress is recorded.
    pub progress: crate::store::ConsumerLog,
}

impl Forwarder {
    /// Forwards `event`'s outbox events and records the batch's progress. A failure to record
    /// is logged, never retried: the events went out, and the next batch records again.
    pub async fn handle(&self, event: &Event) -> DynamoDbEventResponse {
        let response = forward(event, &self.bus, &self.events).await;
        let outbox: Vec<&EventRecord> = event
            .records
            .iter()
            .filter(|r| entry(r, &self.bus).is_some())
            .collect();
        if outbox.is_empty() {
            return response;
        }
        let made = outbox.iter().filter_map(|r| {
            time::OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(r.change.approximate_creation_date_time.timestamp_millis()) * 1_000_000,
            )
            .ok()
        });
        let progress = crate::store::Progress::of_batch(
            time::OffsetDateTime::now_utc(),
            made,
            u32::try_from(outbox.len()).unwrap_or(u32::MAX),
            u32::try_from(response.batch_item_failures.len()).unwrap_or(u32::MAX),
        );
        if let Err(e) = self.progress.record(CONSUMER, &progress).await {
            tracing::warn!(error = %e, "could not record the forwarder's progress");
        }
        response
    }
}

/// Publishes every outbox event of `event` to `bus`; answers with the records to retry.
pub async fn forward(
    event: &Event,
    bus: &str,
    client: &aws_sdk_eventbridge::Client,
) -> DynamoDbEventResponse {
    let mut failed = Vec::new();
    let pending: Vec<(&EventRecord, PutEventsRequestEntry)> = event
        .records
        .iter()
        .filter_map(|r| entry(r, bus).map(|e| (r, e)))
        .collect();
    // PutEvents takes at most 10 entries a call.
    for chunk in pending.chunks(10) {
        let entries: Vec<PutEventsRequestEntry> = chunk.iter().map(|(_, e)| e.clone()).collect();
        match client.put_events().set_entries(Some(entries)).send().await {
            Ok(out) => {
                for ((record, _), result) in chunk.iter().zip(out.entries()) {
                    if result.error_code().is_some() {
                        tracing::warn!(code = ?result.error_code(), "an outbox event was refused; the stream will retry it");
                        failed.push(*record);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "EventBridge is unavailable; the stream will retry the batch");
                failed.extend(chunk.iter().map(|(r, _)| *r));
            }
        }
    }
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|r| {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = r.change.sequence_number.clone();
            f
        })
        .collect();
    response
}
