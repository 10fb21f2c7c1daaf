//! The API's own reference: the document as JSON, and a page that loads only what this API
//! serves.

use http::{Method, StatusCode};
use stockroom_tests::{TestApp, TestResponse, root};

async fn get(app: &TestApp, path: &str, if_none_match: Option<&str>) -> TestResponse {
    let mut request = app.request(Method::GET, path, None);
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    app.call(request.body(lambda_http::Body::Empty).unwrap())
        .await
}

#[tokio::test]
async fn the_openapi_json_is_the_yaml_document_and_revalidates() {
    let app = TestApp::spawn().await;
    let r = get(&app, "/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let yaml = std::fs::read_to_string(root().join("docs/openapi.yaml")).unwrap();
    let document: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(r.body, document, "the served document is docs/openapi.yaml");
    assert!(r.header("cache-control").unwrap().contains("max-age=300"));
    let etag = r.etag();
    let again = get(&app, "/openapi.json", Some(&etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.text.is_empty());
    let other = get(&app, "/openapi.json", Some("\"something-else\"")).await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn the_docs_page_loads_only_assets_this_api_serves() {
    let app = TestApp::spawn().await;
    let page = get(&app, "/docs", None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("http"), "no other origin: {policy}");
    assert!(
        !page.text.contains("http"),
        "the page names no other origin"
    );
    let assets: Vec<&str> = page
        .text
        .split('"')
        .filter(|s| s.starts_with("/docs/assets/"))
        .collect();
    assert_eq!(assets.len(), 3, "{assets:?}");
    for asset in assets {
        let r = get(&app, asset, None).await;
        assert_eq!(r.status, StatusCode::OK, "{asset}");
        let kind = r.header("content-type").unwrap();
        assert!(
            kind.starts_with("text/javascript") || kind.starts_with("text/css"),
            "{kind}"
        );
        assert!(!r.text.is_empty());
    }
    let missing = get(&app, "/docs/assets/../../etc/passwd", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let unknown = get(&app, "/docs/assets/evil.js", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.header("content-type"),
        Some("application/problem+json")
    );
}

/// What headless Chromium (Debian's, installed by `make test`) shows at `url` once its scripts
/// ran: the page's DOM after up to 20 s of (virtual) time.
fn rendered(url: &str) -> String {
    let browser = std::path::Path::new("/usr/bin/chromium");
    assert!(
        browser.exists(),
        "the /docs browser test needs Debian's chromium: run it with `make test`, which installs it"
    );
    let profile = std::env::temp_dir().join(format!("stockroom-chromium-{}", uuid::Uuid::new_v4()));
    let output = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=20000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn the_docs_page_renders_every_operation_in_a_real_browser() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let url = app.serve().await;
    let dom = tokio::task::spawn_blocking(move || rendered(&format!("{url}/docs")))
        .await
        .unwrap();
    // Swagger UI drew the document it fetched from /openapi.json under the page's CSP: one
    // block per operation, each with its operationId, not just the HTML shell.
    let yaml = std::fs::read_to_string(root().join("docs/openapi.yaml")).unwrap();
    let document: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    let operations: Vec<String> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str().map(str::to_owned))
        .collect();
    assert!(operations.len() > 80, "{}", operations.len());
    let blocks = dom.matches("class=\"opblock opblock-").count();
    assert_eq!(blocks, operations.len(), "rendered operations: {dom:.2000}");
    for id in ["listProducts", "login", "razorpayWebhook", "getHealth"] {
        assert!(dom.contains(&format!("-{id}\"")), "{id} is not on the page");
    }
    assert!(dom.contains("Stockroom"), "the document's title is shown");
}
