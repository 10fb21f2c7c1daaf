//! What every response passes through: routing fallbacks, request id, a tracing span, metrics,
//! security headers and CORS. [`service`] wraps a function's router with all of it once.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::response::Response;
use http::{HeaderName, HeaderValue, Method, header};
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use super::ApiError;
use crate::telemetry::metrics::RequestMetric;

/// The `X-Request-Id` header.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, as put in responses and logs.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Where a request came from, for audit entries and per-client limits.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The request id (also in the `X-Request-Id` response header).
    pub request_id: Option<String>,
    /// The client address as API Gateway saw it.
    pub source_ip: Option<String>,
    /// The client's `User-Agent`, at most 200 characters (what a session list shows).
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let source_ip = match parts.extensions.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
            _ => None,
        };
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.trim().chars().take(200).collect::<String>())
            .filter(|ua| !ua.is_empty());
        Ok(Self {
            request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
            source_ip,
            user_agent,
        })
    }
}

/// Settings of the layers around a function's router.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The function's name, used as the `Service` metric dimension.
    pub service: &'static str,
    /// CloudWatch namespace for metrics.
    pub metrics_namespace: String,
    /// Origins allowed by CORS; `*` allows any; empty disables CORS headers.
    pub cors_allowed_origins: Vec<String>,
}

/// Wraps `router` with the fallbacks and layers every Stockroom function shares.
pub fn service(router: Router, settings: HttpSettings) -> Router {
    let cors = cors_layer(&settings.cors_allowed_origins);
    let router = router
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn_with_state(settings, observe));
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// The answer to a request whose handler panicked: a problem+json 500 like any other internal
/// error (the request id is in its header), with the panic logged in the request's span.
#[allow(clippy::needless_pass_by_value)] // the signature CatchPanicLayer calls
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    tracing::error!(panic = %message, "handler panicked");
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("cart-token"),
            ])
            .expose_headers([
                header::ETAG,
                header::LOCATION,
                header::RETRY_AFTER,
                X_REQUEST_ID.clone(),
                HeaderName::from_static("cart-token"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

async fn observe(State(settings): State<HttpSettings>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request_id(&req);
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
        user_id = tracing::field::Empty,
    );
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status();
    let latency = started.elapsed();
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = latency.as_secs_f64() * 1000.0,
            "request served"
        );
    });
    RequestMetric {
        namespace: &settings.metrics_namespace,
        service: settings.service,
        route: &format!("{method} {route}"),
        status: status.as_u16(),
        latency,
        request_id: &request_id,
    }
    .emit();
    secure(&mut response, &request_id);
    response
}

/// The API Gateway request id when running in Lambda; otherwise the caller's `X-Request-Id`
/// if it is sane; otherwise a fresh one.
fn request_id(req: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.extensions().request_context_ref()
        && let Some(id) = ctx.request_id.as_deref().filter(|id| !id.is_empty())
    {
        return id.to_owned();
    }
    req.headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

const SECURITY_HEADERS: [(&str, &str); 6] = [
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

fn secure(response: &mut Response, request_id: &str) {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(X_REQUEST_ID.clone(), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_answers_a_problem_500_with_the_request_id() {
        let router = Router::new().route(
            "/boom",
            axum::routing::get(|| async {
                let offset: usize = usize::MAX;
                let _ = std::hint::black_box(offset)
                    .checked_add(1)
                    .expect("overflow");
                ApiError::internal("unreachable")
            }),
        );
        let app = service(
            router,
            HttpSettings {
                service: "test",
                metrics_namespace: "Test".into(),
                cors_allowed_origins: Vec::new(),
            },
        );
        let request = Request::builder()
            .uri("/boom")
            .header(&X_REQUEST_ID, "req-42")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[&X_REQUEST_ID], "req-42");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["status"], 500);
        assert!(
            !problem.to_string().contains("overflow"),
            "the panic message stays in the log: {problem}"
        );
    }
}
