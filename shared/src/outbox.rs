//! Forwards outbox events (written in the same transaction as the change they announce) from
//! the table's stream to EventBridge. Only records that failed are reported back, so the stream
//! retries exactly those; EventBridge consumers must tolerate a rare duplicate (at-least-once,
//! the same `id`). Batches the stream gives up on go to an on-failure queue; once the cause is
//! fixed, an operator publishes that window again ([`Forwarder::republish`]).

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

/// The EventBridge entry publishing an event of type `kind` whose JSON is `detail`.
fn published(bus: &str, kind: String, detail: String) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(SOURCE)
        .detail_type(kind)
        .detail(detail)
        .build()
}

/// The EventBridge entry for an inserted outbox item; `None` for any other record.
fn entry(record: &EventRecord, bus: &str) -> Option<PutEventsRequestEntry> {
    if record.event_name != "INSERT" || text(record, "entity").as_deref() != Some("outbox_event") {
        return None;
    }
    Some(published(
        bus,
        text(record, "type")?,
        text(record, "detail")?,
    ))
}

/// The longest window [`Forwarder::republish`] takes: the outbox keeps nothing older.
pub const REPUBLISH_MAX: time::Duration = time::Duration::days(crate::store::OUTBOX_RETENTION_DAYS);

/// How long one invocation publishes before it answers with where to resume (the function
/// times out at 30 s).
pub const REPUBLISH_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// How much wider than asked a window is read: an event's time is its change's, taken a
/// moment before the commit the stream (and its failure message) stamps.
pub const REPUBLISH_PAD: time::Duration = time::Duration::minutes(5);

/// A window of outbox events to publish again (`{"republish": {"from": ..., "to": ...}}`,
/// RFC 3339, sent with `aws lambda invoke`).
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Window {
    /// From this time (inclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub from: time::OffsetDateTime,
    /// To this time (inclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub to: time::OffsetDateTime,
}

/// What publishing a window again did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Republished {
    /// Events the bus took.
    pub published: usize,
    /// Events it refused or could not be reached for: publish the window again.
    pub failed: usize,
    /// Where the time allowed ran out: publish again from here to the window's end.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resume_from: Option<time::OffsetDateTime>,
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
    /// The events, to publish a window of them again.
    pub outbox: crate::store::Outbox,
}

impl Forwarder {
    /// Publishes again every event the outbox still keeps from `window` (widened by
    /// [`REPUBLISH_PAD`]), hour by hour, oldest first; a consumer that saw one already sees its
    /// `id` again. Stops between hours once `budget` is spent and says where to resume.
    /// Refuses a window ending before it starts, longer than the outbox keeps events, or
    /// outside them.
    pub async fn republish(
        &self,
        window: Window,
        budget: std::time::Duration,
    ) -> Result<Republished, String> {
        let started = std::time::Instant::now();
        let now = time::OffsetDateTime::now_utc();
        if window.to < window.from {
            return Err("the window ends before it starts".into());
        }
        if window.to - window.from > REPUBLISH_MAX + time::Duration::HOUR {
            return Err(format!(
                "the window is longer than the {} days the outbox keeps events",
                crate::store::OUTBOX_RETENTION_DAYS
            ));
        }
        if window.from < now - REPUBLISH_MAX - time::Duration::DAY
            || window.to > now + time::Duration::DAY
        {
            return Err("the window is not within the days the outbox keeps events".into());
        }
        let (from, to) = (window.from - REPUBLISH_PAD, window.to + REPUBLISH_PAD);
        let mut done = Republished::default();
        let mut hour = crate::store::hour_of(from);
        while hour <= to {
            if started.elapsed() > budget {
                done.resume_from = Some(hour.max(window.from));
                break;
            }
            let events = self
                .outbox
                .made_in_hour(hour, from, to)
                .await
                .map_err(|e| format!("reading the outbox failed: {e}"))?;
            let entries: Vec<PutEventsRequestEntry> = events
                .into_iter()
                .map(|e| published(&self.bus, e.kind, e.detail))
                .collect();
            for chunk in entries.chunks(10) {
                match self
                    .events
                    .put_events()
                    .set_entries(Some(chunk.to_vec()))
                    .send()
                    .await
                {
                    Ok(out) => {
                        let refused = out
                            .entries()
                            .iter()
                            .filter(|r| r.error_code().is_some())
                            .count();
                        done.failed += refused;
                        done.published += chunk.len() - refused;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "EventBridge is unavailable; publish the window again");
                        done.failed += chunk.len();
                    }
                }
            }
            hour += time::Duration::HOUR;
        }
        tracing::info!(
            published = done.published,
            failed = done.failed,
            resume_from = ?done.resume_from,
            "published a window of outbox events again"
        );
        Ok(done)
    }

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
