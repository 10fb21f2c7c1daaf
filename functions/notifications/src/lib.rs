//! The `notifications` Lambda: live updates over the WebSocket API.
//!
//! It answers two kinds of invocation:
//! - the WebSocket API's routes: `$connect` (the access token in the `token` query parameter,
//!   since browsers cannot set headers on a WebSocket), `$disconnect`, and the messages
//!   `subscribe`, `unsubscribe` and `resume` (any other is answered with an error);
//! - batches from its queue, which the event bus fills with every domain event: each event
//!   goes to the connections of its customer and of its topic's subscribers
//!   ([`shared::domain::notification`] says who hears what), through API Gateway's
//!   management API. A connection that is gone is forgotten; one whose token has expired is
//!   closed (the client reconnects with a fresh token and resumes).
//!
//! Delivery is at least once: a message that failed to reach a connection is retried with its
//! whole batch entry, so a client drops ids it has already seen.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use serde_json::{Value, json};
use shared::auth::{Caller, TokenError, TokenVerifier};
use shared::domain::notification::{
    Action, Audience, Connection, Published, RESUME_LIMIT, RESUME_WINDOW, Refusal, Topic,
    first_id_at, made_at,
};
use shared::http::{Standing, Standings};
use shared::services::AppState;
use shared::sockets::{SocketError, Sockets};
use shared::store::{ConnectionStore, Listener, Outbox, StoreError};
use time::OffsetDateTime;

/// How many connections one event is posted to at once.
const FAN_OUT: usize = 32;

/// How long one `resume` posts before it answers `more` (the function has 10 s).
const RESUME_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// The function's name in logs and metrics.
const SERVICE: &str = "notifications";

/// What the function holds: the connections, the outbox's feeds, the token checks and the
/// stage's management endpoint.
#[derive(Debug, Clone)]
pub struct Notifications {
    connections: ConnectionStore,
    outbox: Outbox,
    verifier: Arc<TokenVerifier>,
    standings: Standings,
    sockets: Sockets,
    metrics_namespace: String,
}

/// The answer to a WebSocket route: its status and, for a message, the reply sent back on the
/// connection (API Gateway's route response).
fn answer(status: u16, body: &Value) -> Value {
    json!({"statusCode": status, "body": body.to_string()})
}

fn refusal(status: u16, title: &'static str, detail: impl Into<String>) -> Refusal {
    Refusal {
        status,
        title,
        detail: detail.into(),
    }
}

/// A storage failure, as the client is told of it (the cause is logged).
fn unavailable(e: &StoreError) -> Refusal {
    tracing::error!(error = %e, "storage failed");
    refusal(
        503,
        "Service unavailable",
        "try again in a moment; nothing was changed",
    )
}

impl Notifications {
    /// The function's state over `state`'s table and keys, posting through `sockets`.
    pub fn new(state: &AppState, sockets: Sockets) -> Self {
        Self {
            connections: ConnectionStore::new(state.table.clone()),
            outbox: Outbox::new(state.table.clone()),
            verifier: state.verifier.clone(),
            standings: state.standings.clone(),
            sockets,
            metrics_namespace: state.metrics_namespace.clone(),
        }
    }

    /// Answers one invocation: a WebSocket route or a batch of the queue. (Each is boxed:
    /// their futures nest deep enough to overflow the compiler's layout query limit when
    /// inlined into the runtime's.)
    pub async fn handle(&self, event: Value) -> Result<Value, String> {
        if event.get("Records").is_some_and(Value::is_array) {
            let batch: aws_lambda_events::sqs::SqsEvent =
                serde_json::from_value(event).map_err(|e| format!("not a queue batch: {e}"))?;
            return Ok(Box::pin(self.deliver(&batch)).await);
        }
        let request: aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest =
            serde_json::from_value(event)
                .map_err(|e| format!("expected a WebSocket route or a queue batch: {e}"))?;
        Ok(Box::pin(self.route(&request)).await)
    }

    /// Answers a WebSocket route.
    pub async fn route(
        &self,
        request: &aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest,
    ) -> Value {
        let context = &request.request_context;
        let Some(id) = context.connection_id.as_deref() else {
            return answer(
                400,
                &refusal(400, "Bad request", "no connection id").reply(),
            );
        };
        match context.route_key.as_deref() {
            Some("$connect") => {
                let token = request.query_string_parameters.first("token");
                match self.connect(id, token, OffsetDateTime::now_utc()).await {
                    Ok(()) => answer(200, &json!({"type": "connected"})),
                    Err(r) => answer(r.status, &r.reply()),
                }
            }
            Some("$disconnect") => {
                if let Err(e) = self.connections.close(id).await {
                    tracing::warn!(error = %e, "forgetting a closed connection failed; TTL will");
                }
                answer(200, &json!({}))
            }
            _ => {
                let body = request.body.as_deref().unwrap_or_default();
                let reply = match self.message(id, body, OffsetDateTime::now_utc()).await {
                    Ok(reply) => reply,
                    Err(r) => r.reply(),
                };
                answer(200, &reply)
            }
        }
    }

    /// Accepts a connection whose token is valid, unexpired and not revoked.
    async fn connect(
        &self,
        id: &str,
        token: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        let unauthenticated = |e: TokenError| {
            refusal(
                401,
                "Unauthenticated",
                format!("{e}; connect with ?token=<access token>"),
            )
        };
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(unauthenticated(TokenError::Missing))?;
        let caller = self.verifier.verify(token).map_err(unauthenticated)?;
        // The verifier allows a little clock skew; a connection lives only until its token
        // expires, so one that already has is refused outright.
        let expires = OffsetDateTime::from_unix_timestamp(caller.expires_at)
            .map_err(|_| unauthenticated(TokenError::Invalid))?;
        if expires <= now {
            return Err(unauthenticated(TokenError::Expired));
        }
        let standing = self
            .standings
            .current(&caller.user_id, true)
            .await
            .map_err(|_| refusal(503, "Service unavailable", "try again in a moment"))?;
        if caller.generation < standing.generation {
            return Err(unauthenticated(TokenError::Revoked));
        }
        let connection = Connection::opened(
            id,
            &caller.user_id,
            caller.role,
            caller.generation,
            expires,
            now,
        );
        self.connections
            .open(&connection)
            .await
            .map_err(|e| unavailable(&e))?;
        tracing::info!(user_id = %caller.user_id, role = caller.role.as_str(), "connected");
        Ok(())
    }

    /// The open, still authorised connection `id` and its account as it stands now; an ended
    /// or revoked one is closed, and topics its account may no longer hear of are dropped.
    async fn open_connection(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<(Connection, Caller), Refusal> {
        let connection = self
            .connections
            .get(id)
            .await
            .map_err(|e| unavailable(&e))?
            .ok_or_else(gone)?;
        let standing = self
            .standings
            .current(&connection.user_id, true)
            .await
            .map_err(|_| refusal(503, "Service unavailable", "try again in a moment"))?;
        let ended = connection.ends_at <= now;
        if ended || connection.generation < standing.generation {
            self.end(id).await;
            let why = if ended {
                TokenError::Expired
            } else {
                TokenError::Revoked
            };
            return Err(refusal(
                401,
                "Unauthenticated",
                format!("{why}; connect again with a fresh token and resume"),
            ));
        }
        let caller = Caller {
            user_id: connection.user_id.clone(),
            role: connection.role,
            generation: connection.generation,
            grants: standing.grants,
            email_verified: standing.email_verified,
            expires_at: connection.ends_at.unix_timestamp(),
        };
        let allowed: BTreeSet<Topic> = connection
            .topics
            .iter()
            .copied()
            .filter(|t| caller.can(t.permission()))
            .collect();
        let connection = if allowed == connection.topics {
            connection
        } else {
            self.connections
                .set_topics(&connection, allowed)
                .await
                .map_err(|e| stale_or_unavailable(&e))?
        };
        Ok((connection, caller))
    }

    /// Answers a client's message with its reply. A subscription change that raced another
    /// message of the same connection is read and applied again.
    async fn message(&self, id: &str, body: &str, now: OffsetDateTime) -> Result<Value, Refusal> {
        let action = Action::parse(body)?;
        for _ in 0..3 {
            let (connection, caller) = match self.open_connection(id, now).await {
                Err(r) if r.status == 409 => continue,
                other => other?,
            };
            let outcome =
                match &action {
                    Action::Subscribe(topics) => {
                        let refused: Vec<&str> = topics
                            .iter()
                            .filter(|t| !caller.can(t.permission()))
                            .map(|t| t.as_str())
                            .collect();
                        if !refused.is_empty() {
                            return Err(refusal(
                                403,
                                "Forbidden",
                                format!(
                                    "the '{}' role may not hear of: {}; nothing was subscribed",
                                    caller.role.as_str(),
                                    refused.join(", ")
                                ),
                            ));
                        }
                        let all = connection.topics.union(topics).copied().collect();
                        self.connections.set_topics(&connection, all).await.map(
                            |next| json!({"type": "subscribed", "topics": names(&next.topics)}),
                        )
                    }
                    Action::Unsubscribe(topics) => {
                        let rest = connection.topics.difference(topics).copied().collect();
                        self.connections.set_topics(&connection, rest).await.map(
                            |next| json!({"type": "unsubscribed", "topics": names(&next.topics)}),
                        )
                    }
                    Action::Resume { after } => return self.resume(&connection, *after, now).await,
                };
            match outcome {
                Ok(reply) => return Ok(reply),
                Err(StoreError::VersionMismatch) => continue,
                Err(e) => return Err(unavailable(&e)),
            }
        }
        Err(refusal(
            409,
            "Conflict",
            "the connection kept changing; send the message again",
        ))
    }

    /// Sends `connection` what it would have heard since the event `after`, oldest first,
    /// each once, then answers how many and whether there is more.
    async fn resume(
        &self,
        connection: &Connection,
        after: uuid::Uuid,
        now: OffsetDateTime,
    ) -> Result<Value, Refusal> {
        let window_start = now - RESUME_WINDOW;
        if made_at(after).is_none_or(|at| at < window_start) {
            return Err(refusal(
                410,
                "Too old to resume",
                format!(
                    "resume reaches back {} hours; read the current state over the HTTP API",
                    RESUME_WINDOW.whole_hours()
                ),
            ));
        }
        let floor = after.max(first_id_at(window_start)).to_string();
        let mut audiences = vec![Audience::Account(connection.user_id.clone())];
        audiences.extend(connection.topics.iter().map(|t| Audience::Topic(*t)));
        let feeds = futures::future::try_join_all(
            audiences
                .iter()
                .map(|a| self.outbox.feed(a, &floor, RESUME_LIMIT + 1)),
        )
        .await
        .map_err(|e| unavailable(&e))?;
        let mut found = BTreeMap::new();
        for stored in feeds.into_iter().flatten() {
            match serde_json::from_str::<Published>(&stored.detail) {
                Ok(event) => {
                    found.insert(event.id.clone(), event);
                }
                Err(e) => tracing::error!(error = %e, "an outbox event that does not parse"),
            }
        }
        let mut more = found.len() > RESUME_LIMIT;
        let mut sent = 0;
        let mut last = None;
        let started = std::time::Instant::now();
        for event in found.values().take(RESUME_LIMIT) {
            if started.elapsed() > RESUME_BUDGET {
                more = true;
                break;
            }
            let text = serde_json::to_string(&event.message()).unwrap_or_default();
            match self.sockets.post(&connection.id, &text).await {
                Ok(()) => {
                    sent += 1;
                    last = Some(event.id.as_str());
                }
                Err(SocketError::Gone) => {
                    self.forget(&connection.id).await;
                    return Err(gone());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a resumed event was not sent");
                    more = true;
                    break;
                }
            }
        }
        Ok(json!({"type": "resumed", "count": sent, "more": more, "last": last}))
    }

    /// Closes the connection `id` and forgets it.
    async fn end(&self, id: &str) {
        if let Err(e) = self.sockets.close(id).await {
            tracing::warn!(error = %e, "closing an ended connection failed");
        }
        self.forget(id).await;
    }

    /// Forgets the connection `id` (its `$disconnect` may never come).
    async fn forget(&self, id: &str) {
        if let Err(e) = self.connections.close(id).await {
            tracing::warn!(error = %e, "forgetting a connection failed; TTL will");
        }
    }

    /// Posts a batch of the queue's events (EventBridge events, `detail` the domain event) to
    /// their listeners, oldest id first; answers the entries to try again.
    pub async fn deliver(&self, batch: &aws_lambda_events::sqs::SqsEvent) -> Value {
        let mut events: Vec<(String, Published)> = Vec::new();
        for record in &batch.records {
            let id = record.message_id.clone().unwrap_or_default();
            let body = record.body.as_deref().unwrap_or_default();
            match serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|e| serde_json::from_value::<Published>(e["detail"].clone()).ok())
            {
                Some(event) => events.push((id, event)),
                // Retrying cannot mend it: logged, counted, dropped.
                None => {
                    tracing::error!(message_id = %id, "a queue message that is not a domain event");
                }
            }
        }
        events.sort_by(|a, b| a.1.id.cmp(&b.1.id));
        let mut run = Delivery::new(self);
        let mut failures = Vec::new();
        for (message_id, event) in &events {
            if !run.event(event).await {
                failures.push(json!({"itemIdentifier": message_id}));
            }
        }
        let count = |name, value| {
            shared::telemetry::metrics::emit_count(&self.metrics_namespace, SERVICE, name, value);
        };
        count("NotificationsSent", run.sent);
        count("NotificationsGone", run.gone.len());
        count("NotificationsFailed", run.failed);
        tracing::info!(
            events = events.len(),
            sent = run.sent,
            gone = run.gone.len(),
            failed = run.failed,
            "delivered a batch"
        );
        json!({"batchItemFailures": failures})
    }
}

/// One batch's delivery: what it has read (listeners, accounts' standing) and done so far.
struct Delivery<'a> {
    function: &'a Notifications,
    now: OffsetDateTime,
    listeners: HashMap<Audience, Vec<Listener>>,
    standings: HashMap<String, Option<Standing>>,
    /// Connections closed or found gone in this batch.
    gone: HashSet<String>,
    sent: usize,
    failed: usize,
}

impl<'a> Delivery<'a> {
    fn new(function: &'a Notifications) -> Self {
        Self {
            function,
            now: OffsetDateTime::now_utc(),
            listeners: HashMap::new(),
            standings: HashMap::new(),
            gone: HashSet::new(),
            sent: 0,
            failed: 0,
        }
    }

    /// The account's standing (a copy up to a few seconds old, as reads over the HTTP API
    /// use); `None` when it could not be read.
    async fn standing(&mut self, user_id: &str) -> Option<Standing> {
        if !self.standings.contains_key(user_id) {
            let read = self.function.standings.current(user_id, false).await.ok();
            self.standings.insert(user_id.to_owned(), read);
        }
        self.standings.get(user_id).cloned().flatten()
    }

    /// Posts `event` to everyone who may hear of it now; false when it should be tried again.
    async fn event(&mut self, event: &Published) -> bool {
        let function = self.function;
        let mut complete = true;
        // Each connection once, with the audiences it was reached through.
        let mut to: BTreeMap<String, Vec<Audience>> = BTreeMap::new();
        let mut ended = BTreeSet::new();
        for audience in event.audiences() {
            if !self.listeners.contains_key(&audience) {
                match function.connections.listeners(&audience).await {
                    Ok(found) => {
                        self.listeners.insert(audience.clone(), found);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "reading listeners failed");
                        complete = false;
                        continue;
                    }
                }
            }
            let listeners = self.listeners.get(&audience).cloned().unwrap_or_default();
            for listener in listeners {
                if self.gone.contains(&listener.connection) {
                    continue;
                }
                if listener.ends_at <= self.now {
                    ended.insert(listener.connection);
                    continue;
                }
                let Some(standing) = self.standing(&listener.user_id).await else {
                    complete = false;
                    continue;
                };
                if listener.generation < standing.generation {
                    // Signed out everywhere, disabled or given another role since.
                    ended.insert(listener.connection);
                    continue;
                }
                if let Audience::Topic(topic) = &audience {
                    let permission = topic.permission();
                    if !listener.role.allows(permission) && !standing.grants.contains(&permission) {
                        // A grant taken back: the topic is dropped at its next message.
                        continue;
                    }
                }
                to.entry(listener.connection)
                    .or_default()
                    .push(audience.clone());
            }
        }
        for id in ended {
            function.end(&id).await;
            self.gone.insert(id);
        }
        let text = serde_json::to_string(&event.message()).unwrap_or_default();
        let outcomes: Vec<(String, Vec<Audience>, Result<(), SocketError>)> =
            futures::stream::iter(to)
                .map(|(connection, audiences)| {
                    let text = &text;
                    async move {
                        let outcome = function.sockets.post(&connection, text).await;
                        (connection, audiences, outcome)
                    }
                })
                .buffer_unordered(FAN_OUT)
                .collect()
                .await;
        for (connection, audiences, outcome) in outcomes {
            match outcome {
                Ok(()) => self.sent += 1,
                Err(SocketError::Gone) => {
                    function.forget(&connection).await;
                    // A listener may outlive its connection item (a close that raced).
                    for audience in &audiences {
                        if let Err(e) = function
                            .connections
                            .drop_listener(audience, &connection)
                            .await
                        {
                            tracing::warn!(error = %e, "dropping a listener failed; TTL will");
                        }
                    }
                    self.gone.insert(connection);
                }
                Err(SocketError::Refused(e)) => {
                    // That client's problem, not the event's: it can resume.
                    tracing::warn!(error = %e, event = %event.id, "a message was refused");
                    self.failed += 1;
                }
                Err(SocketError::Failed(e)) => {
                    tracing::warn!(error = %e, event = %event.id, "posting failed; retried");
                    self.failed += 1;
                    complete = false;
                }
            }
        }
        complete
    }
}

fn gone() -> Refusal {
    refusal(410, "Gone", "this connection is closed; connect again")
}

/// A subscription change that lost a race (409: the message is applied again), or a storage
/// failure.
fn stale_or_unavailable(e: &StoreError) -> Refusal {
    match e {
        StoreError::VersionMismatch => refusal(409, "Conflict", "the connection changed"),
        other => unavailable(other),
    }
}

fn names(topics: &BTreeSet<Topic>) -> Vec<&'static str> {
    topics.iter().map(|t| t.as_str()).collect()
}

/// Starts the function: configuration (`WEBSOCKET_ENDPOINT` names the stage's management
/// endpoint), clients, then the Lambda runtime loop.
pub async fn run() -> Result<(), lambda_http::Error> {
    shared::telemetry::init_logging();
    let config = shared::config::Config::from_env().map_err(|e| {
        tracing::error!(error = %e, "start-up failed; refusing to run");
        e
    })?;
    let endpoint = std::env::var("WEBSOCKET_ENDPOINT").map_err(|_| {
        tracing::error!("missing environment variable WEBSOCKET_ENDPOINT; refusing to start");
        "missing environment variable WEBSOCKET_ENDPOINT"
    })?;
    let clients = shared::aws::AwsClients::from_env(&config).await;
    let state = AppState::new(&config, &clients);
    let notifications = &Notifications::new(&state, Sockets::new(&clients.sdk, &endpoint));
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<Value>| async move {
            notifications
                .handle(event.payload)
                .await
                .map_err(lambda_http::Error::from)
        },
    ))
    .await
}
