//! A local stand-in for API Gateway's WebSocket API (not API Gateway): clients connect to
//! `ws://<addr>/?token=...`; each `$connect`, message and `$disconnect` is handed to the
//! notifications function's handler as the event API Gateway sends a Lambda integration, and
//! the management endpoint the function posts to (`POST|GET|DELETE /@connections/{id}`) is
//! served on the same address.
//!
//! What it keeps of API Gateway's behaviour: a `$connect` answered with a status outside 2xx
//! refuses the handshake with that status; messages are routed by `$request.body.action` to
//! the declared route keys, else to `$default`; a route's answer body is sent back on the
//! connection (a route response); messages over 128 KB close the connection (1009); posting
//! to a connection that is gone answers 410 `GoneException`.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// API Gateway's largest WebSocket message.
const MAX_MESSAGE_BYTES: usize = 128 * 1024;

/// The integration: an API Gateway event in, the function's answer out.
pub type Integration = Arc<dyn Fn(Value) -> BoxFuture<'static, Value> + Send + Sync>;

/// What the gateway sends a connection.
#[derive(Debug)]
enum Outgoing {
    Text(String),
    Close,
}

struct Open {
    sender: mpsc::UnboundedSender<Outgoing>,
    connected_at: i64,
    source_ip: String,
}

struct Shared {
    integration: Integration,
    routes: BTreeSet<String>,
    connections: Mutex<HashMap<String, Open>>,
}

/// A running local WebSocket gateway.
#[derive(Debug)]
pub struct Gateway {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or_default()
}

fn request_context(
    route_key: &str,
    event_type: &str,
    connection_id: &str,
    connected_at: i64,
    source_ip: &str,
) -> Value {
    let request_id = uuid::Uuid::new_v4().to_string();
    json!({
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_default(),
        "messageDirection": "IN",
        "stage": "local",
        "connectedAt": connected_at,
        "requestTimeEpoch": now_ms(),
        "identity": {"sourceIp": source_ip},
        "requestId": request_id,
        "domainName": "localhost",
        "connectionId": connection_id,
        "apiId": "local",
    })
}

impl Gateway {
    /// Serves on `addr` (port 0: any free port), routing messages to `routes` (the template's
    /// route keys) and handing every event to `integration`.
    pub async fn start(
        addr: SocketAddr,
        routes: BTreeSet<String>,
        integration: Integration,
    ) -> Result<Self> {
        let shared = Arc::new(Shared {
            integration,
            routes,
            connections: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/", get(upgrade))
            .route(
                "/@connections/{id}",
                post(post_to).get(describe).delete(disconnect),
            )
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        Ok(Self { addr, task })
    }

    /// Where clients connect: `ws://<addr>`.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The management endpoint (`WEBSOCKET_ENDPOINT`): `http://<addr>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The route key API Gateway would pick for `body` (`$request.body.action`).
fn route_of(routes: &BTreeSet<String>, body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("action")?.as_str().map(str::to_owned))
        .filter(|action| !action.starts_with('$') && routes.contains(action))
        .unwrap_or_else(|| "$default".to_owned())
}

fn headers_json(headers: &HeaderMap) -> Value {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), json!(v.to_str().ok()?))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

async fn upgrade(
    State(shared): State<Arc<Shared>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let mut bytes = [0_u8; 12];
    bytes.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..12]);
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let connected_at = now_ms();
    let source_ip = peer.ip().to_string();
    let parameters: serde_json::Map<String, Value> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), json!(v.into_owned())))
            .collect();
    let event = json!({
        "headers": headers_json(&headers),
        "queryStringParameters": if parameters.is_empty() { Value::Null } else { parameters.into() },
        "requestContext": request_context("$connect", "CONNECT", &id, connected_at, &source_ip),
        "isBase64Encoded": false,
    });
    let answer = (shared.integration)(event).await;
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if !status.is_success() {
        let body = answer["body"].as_str().unwrap_or_default().to_owned();
        return (status, body).into_response();
    }
    let (sender, receiver) = mpsc::unbounded_channel();
    if let Ok(mut open) = shared.connections.lock() {
        open.insert(
            id.clone(),
            Open {
                sender: sender.clone(),
                connected_at,
                source_ip: source_ip.clone(),
            },
        );
    }
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| async move {
            serve(
                shared,
                id,
                connected_at,
                source_ip,
                socket,
                sender,
                receiver,
            )
            .await;
        })
}

/// Carries one connection: messages in go to the integration, replies and posts go out.
async fn serve(
    shared: Arc<Shared>,
    id: String,
    connected_at: i64,
    source_ip: String,
    socket: WebSocket,
    sender: mpsc::UnboundedSender<Outgoing>,
    mut receiver: mpsc::UnboundedReceiver<Outgoing>,
) {
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(out) = receiver.recv().await {
            let sent = match out {
                Outgoing::Text(text) => sink.send(Message::Text(text.into())).await,
                Outgoing::Close => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code: 1000,
                            reason: "closed by the server".into(),
                        })))
                        .await;
                    break;
                }
            };
            if sent.is_err() {
                break;
            }
        }
    });
    let mut status = 1000;
    while let Some(frame) = stream.next().await {
        let body = match frame {
            Ok(Message::Text(text)) => text.to_string(),
            Ok(Message::Binary(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(Message::Close(frame)) => {
                status = frame.map_or(1005, |f| f.code);
                break;
            }
            Ok(_) => continue,
            Err(_) => {
                status = 1009;
                break;
            }
        };
        let route = route_of(&shared.routes, &body);
        let mut context = request_context(&route, "MESSAGE", &id, connected_at, &source_ip);
        context["messageId"] = json!(uuid::Uuid::new_v4().simple().to_string());
        let event = json!({"requestContext": context, "body": body, "isBase64Encoded": false});
        let answer = (shared.integration)(event).await;
        if let Some(reply) = answer["body"].as_str().filter(|b| !b.is_empty()) {
            let _ = sender.send(Outgoing::Text(reply.to_owned()));
        }
    }
    if let Ok(mut open) = shared.connections.lock() {
        open.remove(&id);
    }
    writer.abort();
    let mut context = request_context("$disconnect", "DISCONNECT", &id, connected_at, &source_ip);
    context["disconnectStatusCode"] = json!(status);
    context["disconnectReason"] = json!("");
    let _ =
        (shared.integration)(json!({"requestContext": context, "isBase64Encoded": false})).await;
}

fn gone() -> Response {
    (
        StatusCode::GONE,
        [
            ("x-amzn-errortype", "GoneException"),
            ("content-type", "application/json"),
        ],
        r#"{"message":"Gone"}"#,
    )
        .into_response()
}

fn sender_of(shared: &Shared, id: &str) -> Option<mpsc::UnboundedSender<Outgoing>> {
    shared
        .connections
        .lock()
        .ok()?
        .get(id)
        .map(|o| o.sender.clone())
}

async fn post_to(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if body.len() > MAX_MESSAGE_BYTES {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            [("x-amzn-errortype", "PayloadTooLargeException")],
            r#"{"message":"Message too long"}"#,
        )
            .into_response();
    }
    match sender_of(&shared, &id) {
        Some(sender)
            if sender
                .send(Outgoing::Text(String::from_utf8_lossy(&body).into_owned()))
                .is_ok() =>
        {
            StatusCode::OK.into_response()
        }
        _ => gone(),
    }
}

async fn describe(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let info = shared.connections.lock().ok().and_then(|open| {
        open.get(&id).map(|o| {
            let at = |ms: i64| {
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
            };
            json!({
                "connectedAt": at(o.connected_at),
                "identity": {"sourceIp": o.source_ip},
                "lastActiveAt": at(now_ms()),
            })
        })
    });
    match info {
        Some(info) => axum::Json(info).into_response(),
        None => gone(),
    }
}

async fn disconnect(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match sender_of(&shared, &id) {
        Some(sender) => {
            let _ = sender.send(Outgoing::Close);
            StatusCode::NO_CONTENT.into_response()
        }
        None => gone(),
    }
}
