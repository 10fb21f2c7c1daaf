//! The docs function: the API's own reference, public and cacheable.
//!
//! | route                          | what |
//! |--------------------------------|------|
//! | `GET /openapi.json`            | `docs/openapi.yaml` as JSON, built in at compile time (`ETag`, `If-None-Match` → 304) |
//! | `GET /docs`                    | an interactive reference page (Swagger UI) |
//! | `GET /docs/assets/{file}`      | the page's script and styles, served from here: no third-party CDN |

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use shared::http::ApiError;
use shared::services::AppState;

/// The document, as JSON.
const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));
/// Its version: part of the SHA-256 of the JSON, quoted.
const OPENAPI_ETAG: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.etag"));

/// The version of the page and its assets (they change together).
const ASSETS_ETAG: &str = include_str!(concat!(env!("OUT_DIR"), "/assets.etag"));

/// The page: markup only; it loads the assets below.
const PAGE: &str = include_str!("../assets/index.html");

/// The page's assets: name, media type, contents (Swagger UI 5.32.0, Apache-2.0, see
/// `assets/swagger-ui/LICENSE`; `init.js` is ours).
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/swagger-ui/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_str!("../assets/swagger-ui/swagger-ui.css"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/init.js"),
    ),
];

/// What the page may load: its own scripts, styles and the document; Swagger UI sets inline
/// styles and draws some images as data URLs.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// How long clients and CDNs may keep the document and the page before asking again.
const SHORT_CACHE: &str = "public, max-age=300, stale-while-revalidate=3600";

/// The `docs` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<AppState> = shared::lambda::Function {
    name: "docs",
    routes: router,
};

/// The docs function's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/docs", get(page))
        .route("/docs/assets/{file}", get(asset))
}

/// Whether the client's `If-None-Match` names `etag` (or `*`).
fn fresh(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// `body` as `media_type`, cached for `cache`, with `etag`; 304 when the client has it.
fn cached(
    headers: &HeaderMap,
    media_type: &'static str,
    body: &'static str,
    etag: &str,
    cache: &'static str,
) -> Response {
    let mut response = if fresh(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, media_type)], body).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(tag) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, tag);
    }
    response
}

async fn openapi(headers: HeaderMap) -> Response {
    cached(
        &headers,
        "application/json",
        OPENAPI_JSON,
        OPENAPI_ETAG,
        SHORT_CACHE,
    )
}

async fn page(headers: HeaderMap) -> Response {
    let mut response = cached(
        &headers,
        "text/html; charset=utf-8",
        PAGE,
        ASSETS_ETAG,
        SHORT_CACHE,
    );
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    response
}

async fn asset(headers: HeaderMap, Path(file): Path<String>) -> Result<Response, ApiError> {
    let (_, media_type, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| ApiError::NotFound(format!("no asset '{file}'")))?;
    Ok(cached(&headers, media_type, body, ASSETS_ETAG, SHORT_CACHE))
}
