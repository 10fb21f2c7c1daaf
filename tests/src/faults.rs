//! A fault-injecting proxy for the tests: it sits between the functions and one dependency
//! (DynamoDB Local, moto's S3, the Razorpay stand-in), forwards every HTTP request, records
//! which operation each was, and on a test's word fails them: refuses or resets the
//! connection, delays the answer past the SDK's timeouts, or answers as the service does when
//! it throttles. The functions cannot tell it from the service.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// Which service a proxy stands in front of: how it names operations and how it throttles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// DynamoDB: operations from `X-Amz-Target`; throttling is
    /// `ProvisionedThroughputExceededException` (400).
    DynamoDb,
    /// S3: operations as `METHOD key` (ids masked); throttling is `SlowDown` (503).
    S3,
    /// Razorpay: operations as `METHOD /path` (ids masked); throttling is 429 with Razorpay's
    /// error body.
    Razorpay,
}

/// How a failed call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling answer.
    Throttle,
    /// The connection is reset without an answer.
    Reset,
    /// The answer comes this much later (past the SDK's timeouts, the call times out).
    Delay(Duration),
    /// The call reaches the service and takes effect, then the connection is reset: the
    /// caller cannot tell whether it happened.
    Lost,
    /// The call reaches the service and takes effect, and the answer never comes; the proxy
    /// tells [`FaultProxy::stopped`], so a test can drop the handler there, as Lambda stops a
    /// function at its timeout between two calls.
    Abort,
}

#[derive(Debug, Default)]
struct State {
    /// Operations seen, in order.
    calls: Vec<String>,
    /// From which call on (0-based, counting every call the proxy sees) calls fail, and how.
    failing_from: Option<(usize, Fault)>,
    /// Refuse new connections.
    refusing: bool,
}

/// One proxy, on a free local port, for the life of the test.
#[derive(Debug, Clone)]
pub struct FaultProxy {
    /// Where clients connect.
    pub url: String,
    upstream: Upstream,
    state: Arc<Mutex<State>>,
    stopped: Arc<tokio::sync::Notify>,
}

impl FaultProxy {
    /// Starts a proxy forwarding to `target` (a base URL), speaking for `upstream`.
    pub async fn start(upstream: Upstream, target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let proxy = Self {
            url,
            upstream,
            state: Arc::default(),
            stopped: Arc::default(),
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let (serving, target) = (proxy.clone(), target.trim_end_matches('/').to_owned());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // Dropped connections are reset, not closed politely.
                let _ = stream.set_zero_linger();
                if serving.lock().refusing {
                    drop(stream);
                    continue;
                }
                let (proxy, client, target) = (serving.clone(), client.clone(), target.clone());
                tokio::spawn(async move { proxy.serve(stream, client, target).await });
            }
        });
        proxy
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every call from the `n`th on (0-based, counting all calls so far) fails with `fault`,
    /// until [`FaultProxy::heal`].
    pub fn fail_from(&self, n: usize, fault: Fault) {
        self.lock().failing_from = Some((n, fault));
    }

    /// Refuses every new connection until [`FaultProxy::heal`].
    pub fn refuse(&self) {
        self.lock().refusing = true;
    }

    /// Stops every fault.
    pub fn heal(&self) {
        let mut state = self.lock();
        state.failing_from = None;
        state.refusing = false;
    }

    /// Resolves once a call has met [`Fault::Abort`].
    pub async fn stopped(&self) {
        self.stopped.notified().await;
    }

    /// The operations seen so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    async fn serve(&self, stream: tokio::net::TcpStream, client: reqwest::Client, target: String) {
        let reset = Arc::new(tokio::sync::Notify::new());
        let service = {
            let (proxy, reset) = (self.clone(), reset.clone());
            hyper::service::service_fn(move |request: Request<Incoming>| {
                let (proxy, client, target, reset) =
                    (proxy.clone(), client.clone(), target.clone(), reset.clone());
                async move { proxy.answer(request, &client, &target, &reset).await }
            })
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service);
        tokio::select! {
            _ = connection => {}
            // Dropping the connection drops the socket: with zero linger, a reset.
            _ = reset.notified() => {}
        }
    }

    async fn answer(
        &self,
        request: Request<Incoming>,
        client: &reqwest::Client,
        target: &str,
        reset: &tokio::sync::Notify,
    ) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
        let operation = self.operation(&request);
        let fault = {
            let mut state = self.lock();
            let n = state.calls.len();
            state.calls.push(operation);
            state
                .failing_from
                .and_then(|(from, fault)| (n >= from).then_some(fault))
        };
        match fault {
            None => Ok(forward(request, client, target).await),
            Some(Fault::Throttle) => Ok(self.throttled()),
            Some(Fault::Delay(d)) => {
                tokio::time::sleep(d).await;
                Ok(forward(request, client, target).await)
            }
            Some(Fault::Reset) => {
                reset.notify_one();
                never().await
            }
            Some(Fault::Lost) => {
                let _ = forward(request, client, target).await;
                reset.notify_one();
                never().await
            }
            Some(Fault::Abort) => {
                let _ = forward(request, client, target).await;
                self.stopped.notify_one();
                never().await
            }
        }
    }

    fn operation(&self, request: &Request<Incoming>) -> String {
        match self.upstream {
            Upstream::DynamoDb => request
                .headers()
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .and_then(|t| t.rsplit('.').next())
                .unwrap_or("?")
                .to_owned(),
            // The same call of the same flow names different objects from run to run: ids
            // (and the test's bucket) become `*`.
            Upstream::S3 => {
                let path = request.uri().path().trim_start_matches('/');
                let key = path.split_once('/').map_or("", |(_bucket, key)| key);
                format!(
                    "{} {}",
                    request.method(),
                    masked(key, |s| s.contains(|c: char| c.is_ascii_digit()))
                )
            }
            Upstream::Razorpay => format!(
                "{} {}",
                request.method(),
                masked(request.uri().path(), |s| s.contains('_'))
            ),
        }
    }

    fn throttled(&self) -> Response<Full<Bytes>> {
        let (status, kind, body) = match self.upstream {
            Upstream::DynamoDb => (
                400,
                "application/x-amz-json-1.0",
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#,
            ),
            Upstream::S3 => (
                503,
                "application/xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
            ),
            Upstream::Razorpay => (
                429,
                "application/json",
                r#"{"error":{"code":"BAD_REQUEST_ERROR","description":"Too many requests","source":"NA","step":"NA","reason":"NA"}}"#,
            ),
        };
        Response::builder()
            .status(status)
            .header("content-type", kind)
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    }
}

/// `path` with every segment that `varies` says is an id replaced by `*`.
fn masked(path: &str, varies: impl Fn(&str) -> bool) -> String {
    path.split('/')
        .map(|segment| if varies(segment) { "*" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// Waits for ever (the connection is reset, or the test drops the handler waiting here).
async fn never<T>() -> T {
    match std::future::pending::<std::convert::Infallible>().await {}
}

/// `request` sent on to `target`, and its answer; a 502 when the target does not answer.
async fn forward(
    request: Request<Incoming>,
    client: &reqwest::Client,
    target: &str,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = client.request(parts.method.clone(), format!("{target}{path}"));
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            outgoing = outgoing.header(name, value);
        }
    }
    match outgoing.body(body).send().await {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                if name != http::header::TRANSFER_ENCODING && name != http::header::CONTENT_LENGTH {
                    response = response.header(name, value);
                }
            }
            let bytes = answer.bytes().await.unwrap_or_default();
            response.body(Full::new(bytes)).unwrap()
        }
        Err(_) => Response::builder()
            .status(502)
            .body(Full::new(Bytes::new()))
            .unwrap(),
    }
}
