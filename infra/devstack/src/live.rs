//! The live-updates path on the local stack, as AWS runs it: the table's stream is read (the
//! event source mapping's job) and handed to the events forwarder, which publishes to the
//! event bus (moto's EventBridge); the bus's rule for notifications (read from template.yaml)
//! fills a queue (moto's SQS), which is read (the queue's event source mapping's job) and
//! handed to the notifications function, which posts to the local WebSocket gateway. The
//! bus's loyalty rule fills another queue, handed to the loyalty function.

use anyhow::{Context, Result, anyhow};
use aws_lambda_events::dynamodb::{Event, EventRecord};
use serde_json::{Value, json};

use crate::StreamPoller;
use crate::template::Template;

/// The rule in template.yaml that sends domain events to the notifications queue.
pub const NOTIFICATIONS_RULE: &str = "NotificationsRule";

/// The rule in template.yaml that sends orders' events to the loyalty queue.
pub const LOYALTY_RULE: &str = "LoyaltyRule";

/// The event pattern of the template's notifications rule.
pub fn notifications_pattern(template: &Template) -> Result<Value> {
    rule_pattern(template, NOTIFICATIONS_RULE)
}

/// The event pattern of the template's rule `rule`.
pub fn rule_pattern(template: &Template, rule: &str) -> Result<Value> {
    let pattern = template
        .properties(rule)
        .and_then(|p| p.get("EventPattern"))
        .ok_or_else(|| anyhow!("template.yaml has no {rule} with an EventPattern"))?;
    Ok(serde_json::to_value(pattern)?)
}

/// Creates (or finds) the bus `bus`, the queue `queue` and a rule `rule` on the bus sending
/// what matches `pattern` to the queue; answers the queue's URL.
pub async fn wire(
    sdk: &aws_config::SdkConfig,
    bus: &str,
    queue: &str,
    rule: &str,
    pattern: &Value,
) -> Result<String> {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    match events.create_event_bus().name(bus).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
        Err(e) => return Err(e).context("creating the local event bus"),
    }
    let queue_url = sqs
        .create_queue()
        .queue_name(queue)
        .send()
        .await
        .context("creating a local queue")?
        .queue_url
        .ok_or_else(|| anyhow!("no queue URL"))?;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .ok_or_else(|| anyhow!("the queue has no ARN"))?;
    events
        .put_rule()
        .name(rule)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .context("creating a rule")?;
    events
        .put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()?,
        )
        .send()
        .await?;
    Ok(queue_url)
}

/// A function reading one of the bus's queues.
#[derive(Debug, Clone)]
pub enum Consumer {
    /// Live updates.
    Notifications(notifications::Notifications),
    /// Loyalty points, over this state.
    Loyalty(Box<shared::services::AppState>),
}

impl Consumer {
    async fn deliver(&self, batch: &aws_lambda_events::sqs::SqsEvent) -> Value {
        match self {
            Consumer::Notifications(n) => Box::pin(n.deliver(batch)).await,
            Consumer::Loyalty(state) => Box::pin(loyalty::handle(state, batch)).await,
        }
    }
}

/// The stream → forwarder → bus → queues → functions path of one table.
#[derive(Debug)]
pub struct Pipeline {
    poller: StreamPoller,
    forwarder: shared::outbox::Forwarder,
    sqs: aws_sdk_sqs::Client,
    /// Each queue's URL and the function reading it.
    queues: Vec<(String, Consumer)>,
    /// Stream records the forwarder asked to have again.
    pending: Vec<EventRecord>,
}

impl Pipeline {
    /// The path from `poller` (already positioned) through `forwarder` and each queue to the
    /// function reading it.
    pub fn new(
        poller: StreamPoller,
        forwarder: shared::outbox::Forwarder,
        sqs: aws_sdk_sqs::Client,
        queues: Vec<(String, Consumer)>,
    ) -> Self {
        Self {
            poller,
            forwarder,
            sqs,
            queues,
            pending: Vec::new(),
        }
    }

    /// Moves everything written since the last step along the path; answers how many queue
    /// messages were delivered.
    pub async fn step(&mut self) -> Result<usize> {
        let mut records = std::mem::take(&mut self.pending);
        records.extend(self.poller.poll().await?);
        if !records.is_empty() {
            let mut batch = Event::default();
            batch.records = records;
            let response = self.forwarder.handle(&batch).await;
            self.pending = crate::stream::to_retry(batch, response);
        }
        let mut delivered = 0;
        for (queue_url, consumer) in &self.queues {
            delivered += self.drain(queue_url, consumer).await?;
        }
        Ok(delivered)
    }

    /// Hands a queue's messages to its function until the queue is empty or the function asks
    /// for some again; answers how many were delivered.
    async fn drain(&self, queue_url: &str, consumer: &Consumer) -> Result<usize> {
        let mut delivered = 0;
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .context("reading a queue")?;
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return Ok(delivered);
            }
            let records: Vec<Value> = messages
                .iter()
                .map(|m| {
                    json!({
                        "messageId": m.message_id, "receiptHandle": m.receipt_handle,
                        "body": m.body, "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                        "attributes": {}, "messageAttributes": {},
                    })
                })
                .collect();
            let batch = serde_json::from_value(json!({"Records": records}))?;
            let answer = consumer.deliver(&batch).await;
            let retry: Vec<&str> = answer["batchItemFailures"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["itemIdentifier"].as_str())
                .collect();
            for message in &messages {
                if retry.contains(&message.message_id().unwrap_or_default()) {
                    continue;
                }
                if let Some(handle) = message.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await?;
                }
                delivered += 1;
            }
            if !retry.is_empty() {
                return Ok(delivered);
            }
        }
    }
}

/// The route keys of the template's WebSocket API (`$connect`, `subscribe`, ...).
pub fn websocket_routes(template: &Template) -> std::collections::BTreeSet<String> {
    template
        .resources_of("AWS::ApiGatewayV2::Route")
        .into_iter()
        .filter_map(|id| {
            let key = template.properties(id)?.get("RouteKey")?.as_str()?;
            Some(key.to_owned())
        })
        .collect()
}

/// A running live-updates path: the local gateway and what feeds it.
#[derive(Debug)]
pub struct Live {
    /// The local WebSocket gateway.
    pub gateway: crate::Gateway,
    /// The notifications function, posting to the gateway.
    pub notifications: notifications::Notifications,
    /// Stream to socket.
    pub pipeline: Pipeline,
}

impl Live {
    /// Serves the template's WebSocket API on `addr` with the notifications function over
    /// `state`, fed from `state`'s table through a bus and queue named `<prefix>-events` and
    /// `<prefix>-notifications` (made when missing). Only what is written from now on is
    /// carried.
    pub async fn start(
        state: &shared::services::AppState,
        sdk: &aws_config::SdkConfig,
        template: &Template,
        prefix: &str,
        addr: std::net::SocketAddr,
    ) -> Result<Self> {
        let function: std::sync::Arc<std::sync::OnceLock<notifications::Notifications>> =
            std::sync::Arc::default();
        let integration: crate::gateway::Integration = {
            let function = function.clone();
            std::sync::Arc::new(move |event| {
                let function = function.clone();
                Box::pin(async move {
                    match function.get() {
                        Some(f) => f.handle(event).await.unwrap_or_else(|e| {
                            json!({"statusCode": 502, "body": json!({"message": e}).to_string()})
                        }),
                        None => json!({"statusCode": 503, "body": "{\"message\":\"starting\"}"}),
                    }
                })
            })
        };
        let gateway = crate::Gateway::start(addr, websocket_routes(template), integration).await?;
        let sockets = shared::sockets::Sockets::new(sdk, &gateway.endpoint());
        let notifications = notifications::Notifications::new(state, sockets);
        let _ = function.set(notifications.clone());
        let bus = format!("{prefix}-events");
        let queue_url = wire(
            sdk,
            &bus,
            &format!("{prefix}-notifications"),
            "notifications",
            &notifications_pattern(template)?,
        )
        .await?;
        let loyalty_url = wire(
            sdk,
            &bus,
            &format!("{prefix}-loyalty"),
            "loyalty",
            &rule_pattern(template, LOYALTY_RULE)?,
        )
        .await?;
        let table = state.table.clone();
        let mut poller = StreamPoller::new(
            sdk,
            &aws_sdk_dynamodb::Client::new(sdk),
            state.table.name(),
            false,
        )
        .await?;
        poller.poll().await?;
        let forwarder = shared::outbox::Forwarder {
            bus,
            events: aws_sdk_eventbridge::Client::new(sdk),
            progress: shared::store::ConsumerLog::new(table.clone()),
            outbox: shared::store::Outbox::new(table),
        };
        let pipeline = Pipeline::new(
            poller,
            forwarder,
            aws_sdk_sqs::Client::new(sdk),
            vec![
                (queue_url, Consumer::Notifications(notifications.clone())),
                (loyalty_url, Consumer::Loyalty(Box::new(state.clone()))),
            ],
        );
        Ok(Self {
            gateway,
            notifications,
            pipeline,
        })
    }
}
