//! Personas: generation (template provider, and an OpenAI-compatible provider against a local
//! server speaking the chat-completions wire format), storage, listing, search, stats.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::IntoResponse;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;
use stockroom_tests::{TestApp, TestResponse, product_body};

async fn generate(app: &TestApp, body: &Value, key: &str) -> TestResponse {
    app.send_json(
        Method::POST,
        "/v1/personas",
        Role::Staff,
        body,
        &[("idempotency-key", key)],
    )
    .await
}

async fn product(app: &TestApp) -> String {
    let r = app.create_product(&product_body(1)).await;
    r.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn template_personas_are_generated_stored_and_found() {
    let app = TestApp::spawn().await;
    let p = product(&app).await;
    let brief = json!({"brief": "Young professionals refreshing an office wardrobe on a budget",
                       "product_ids": [p], "category": "Apparel", "count": 3, "segment": "office-refresh"});
    let r = generate(&app, &brief, "gen-1").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["provider"], "template");
    assert_eq!(r.body["synthetic"], true, "labelled as not AI");
    assert_eq!(r.body["prompt_version"], "personas-v1");
    let personas = r.body["personas"].as_array().unwrap();
    assert_eq!(personas.len(), 3);
    assert_eq!(personas[0]["product_fit"][0]["product_id"], p);
    assert_eq!(personas[0]["segment"], "office-refresh");
    let id = personas[0]["id"].as_str().unwrap();

    let one = app.get(&format!("/v1/personas/{id}"), Role::Staff).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(
        one.body["goals"], personas[0]["goals"],
        "the full document comes from S3"
    );
    for filter in [
        "segment=office-refresh",
        "category=Apparel",
        &format!("product_id={p}"),
    ] {
        let listed = app
            .get(&format!("/v1/personas?{filter}"), Role::Staff)
            .await;
        assert_eq!(
            listed.body["items"].as_array().unwrap().len(),
            3,
            "{filter}: {}",
            listed.text
        );
    }
    assert_eq!(
        app.get("/v1/personas?segment=other", Role::Staff)
            .await
            .body["items"],
        json!([])
    );

    let occupation = personas[1]["occupation"]
        .as_str()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_lowercase();
    let prefix: String = occupation.chars().take(4).collect();
    let found = app
        .get(&format!("/v1/personas/search?q={prefix}"), Role::Staff)
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert!(
        found.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["persona"]["id"] == personas[1]["id"]),
        "{}",
        found.text
    );
    let none = app.get("/v1/personas/search?q=zzzzqqq", Role::Staff).await;
    assert_eq!(none.body["total"], 0);

    let stats = app.get("/v1/personas/stats", Role::Staff).await;
    assert_eq!(stats.body["personas"], 3, "{}", stats.text);
    assert_eq!(stats.body["generations"], 1);
    assert_eq!(stats.body["by_segment"]["office-refresh"], 3);
    assert_eq!(stats.body["by_provider"]["template"], 3);

    let staff_delete = app
        .send_json(
            Method::DELETE,
            &format!("/v1/personas/{id}"),
            Role::Staff,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(staff_delete.status, StatusCode::FORBIDDEN);
    let deleted = app
        .send_json(
            Method::DELETE,
            &format!("/v1/personas/{id}"),
            Role::Manager,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(
        app.get(&format!("/v1/personas/{id}"), Role::Staff)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let again = app
        .send_json(
            Method::DELETE,
            &format!("/v1/personas/{id}"),
            Role::Manager,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/v1/personas", Role::Customer).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_retried_generation_is_paid_for_once_and_pages_list() {
    let app = TestApp::spawn().await;
    let brief = json!({"brief": "Retired gardeners who buy tools online", "count": 2});
    let first = generate(&app, &brief, "same-key").await;
    let again = generate(&app, &brief, "same-key").await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["generation_id"], first.body["generation_id"]);
    generate(
        &app,
        &json!({"brief": "Students furnishing a first flat", "count": 3}),
        "other-key",
    )
    .await;
    let page1 = app.get("/v1/personas?limit=4", Role::Staff).await;
    assert_eq!(page1.body["items"].as_array().unwrap().len(), 4);
    let cursor = page1.body["next_cursor"].as_str().unwrap();
    let page2 = app
        .get(
            &format!("/v1/personas?limit=4&cursor={cursor}"),
            Role::Staff,
        )
        .await;
    assert_eq!(
        page2.body["items"].as_array().unwrap().len(),
        1,
        "5 in all, generated once each"
    );
    assert_eq!(page2.body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn bad_briefs_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let long = "x".repeat(2001);
    for body in [
        json!({"brief": ""}),
        json!({"brief": long}),
        json!({"brief": "Commuters who cycle to work", "count": 0}),
        json!({"brief": "Commuters who cycle to work", "count": 6}),
        json!({"brief": "Commuters who cycle to work", "product_ids": ["nope"]}),
        json!({"brief": "Commuters who cycle to work", "colour": "red"}),
    ] {
        let r = generate(&app, &body, &uuid::Uuid::new_v4().to_string()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
    }
    assert_eq!(
        app.get("/v1/personas", Role::Staff).await.body["items"],
        json!([])
    );
    assert_eq!(
        app.get("/v1/personas/search?q=%20%21", Role::Staff)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

/// What the local chat-completions server does with the next request.
#[derive(Clone)]
enum Reply {
    Content(String),
    Status(u16),
    Delay(u64),
}

#[derive(Clone, Default)]
struct Fake {
    script: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<Value>>>,
}

async fn completions(
    State(fake): State<Fake>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> axum::response::Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer test-llm-key") {
        return (
            AxumStatus::UNAUTHORIZED,
            axum::Json(json!({"error": {"message": "bad key", "type": "invalid_request_error"}})),
        )
            .into_response();
    }
    fake.seen.lock().unwrap().push(body);
    let reply = fake
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Status(500));
    match reply {
        Reply::Status(s) => (AxumStatus::from_u16(s).unwrap(), axum::Json(json!({"error": {"message": "try later", "type": "server_error"}}))).into_response(),
        Reply::Delay(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            (AxumStatus::INTERNAL_SERVER_ERROR, "late").into_response()
        }
        Reply::Content(content) => axum::Json(json!({
            "id": "chatcmpl-test", "object": "chat.completion", "created": 1_795_000_000, "model": "gpt-test-2026",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 480, "total_tokens": 600}
        }))
        .into_response(),
    }
}

async fn openai_app(script: Vec<Reply>, timeout_ms: u32) -> (TestApp, Fake) {
    let fake = Fake {
        script: Arc::new(Mutex::new(script.into())),
        seen: Arc::default(),
    };
    let router = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(completions))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let app = TestApp::spawn_with(|env| {
        env.insert("PERSONAS_PROVIDER".into(), "openai".into());
        env.insert("PERSONAS_OPENAI_BASE_URL".into(), base);
        env.insert("PERSONAS_OPENAI_MODEL".into(), "gpt-test".into());
        env.insert("PERSONAS_API_KEY".into(), "test-llm-key".into());
        env.insert("PERSONAS_TIMEOUT_MS".into(), timeout_ms.to_string());
    })
    .await;
    (app, fake)
}

fn valid(n: usize) -> String {
    let persona = json!({
        "name": "Kavya Menon", "age_range": "25-34", "occupation": "UX researcher", "location": "Kochi, IN",
        "goals": ["Run a half marathon"], "pain_points": ["Shin splints"], "buying_motivations": ["Cushioning"],
        "objections": ["Price"], "preferred_channels": ["Strava clubs"], "quote": "\"Comfort first.\"",
        "product_fit": []
    });
    json!({"personas": vec![persona; n]}).to_string()
}

const BRIEF: &str = "Amateur runners training for their first half marathon";

#[tokio::test]
async fn openai_valid_output_is_stored_with_usage() {
    let (app, fake) = openai_app(vec![Reply::Content(valid(2))], 5_000).await;
    let r = generate(&app, &json!({"brief": BRIEF, "count": 2}), "llm-1").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.body["provider"].as_str(), r.body["model"].as_str()),
        (Some("openai"), Some("gpt-test-2026"))
    );
    assert_eq!(r.body["synthetic"], false);
    assert_eq!(
        r.body["usage"],
        json!({"prompt_tokens": 120, "completion_tokens": 480})
    );
    let sent = fake.seen.lock().unwrap()[0].clone();
    assert_eq!(sent["model"], "gpt-test");
    assert_eq!(sent["response_format"]["type"], "json_schema");
    assert_eq!(
        sent["response_format"]["json_schema"]["schema"]["properties"]["personas"]["minItems"],
        2
    );
}

#[tokio::test]
async fn invalid_json_is_repaired_with_the_error_fed_back() {
    let (app, fake) = openai_app(
        vec![
            Reply::Content("{\"personas\": [".into()),
            Reply::Content(valid(1)),
        ],
        5_000,
    )
    .await;
    let r = generate(&app, &json!({"brief": BRIEF, "count": 1}), "llm-2").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["attempts"], 2);
    assert_eq!(
        r.body["usage"]["completion_tokens"], 960,
        "both calls counted"
    );
    let second = fake.seen.lock().unwrap()[1].clone();
    let last = second["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        last.contains("invalid") && last.contains("not the persona JSON"),
        "{last}"
    );
}

#[tokio::test]
async fn output_that_keeps_violating_the_schema_is_a_502_and_writes_nothing() {
    let wrong_count = valid(3);
    let (app, fake) = openai_app(vec![Reply::Content(wrong_count.clone()); 3], 5_000).await;
    let r = generate(&app, &json!({"brief": BRIEF, "count": 2}), "llm-3").await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.text);
    assert!(
        r.body["detail"].as_str().unwrap().contains("exactly 2"),
        "{}",
        r.text
    );
    assert_eq!(
        fake.seen.lock().unwrap().len(),
        3,
        "one call and two repairs"
    );
    assert_eq!(
        app.get("/v1/personas", Role::Staff).await.body["items"],
        json!([])
    );
    // The key is free again: a retry runs.
    fake.script
        .lock()
        .unwrap()
        .push_back(Reply::Content(valid(2)));
    assert_eq!(
        generate(&app, &json!({"brief": BRIEF, "count": 2}), "llm-3")
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn rate_limits_are_retried_with_backoff() {
    let (app, fake) = openai_app(vec![Reply::Status(429), Reply::Content(valid(1))], 5_000).await;
    let r = generate(&app, &json!({"brief": BRIEF, "count": 1}), "llm-4").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(fake.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn server_errors_exhaust_into_a_503() {
    let (app, fake) = openai_app(
        vec![Reply::Status(500), Reply::Status(502), Reply::Status(503)],
        5_000,
    )
    .await;
    let r = generate(&app, &json!({"brief": BRIEF, "count": 1}), "llm-5").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    assert_eq!(fake.seen.lock().unwrap().len(), 3);
    assert_eq!(
        app.get("/v1/personas", Role::Staff).await.body["items"],
        json!([])
    );
}

#[tokio::test]
async fn a_provider_that_does_not_answer_in_time_is_a_503() {
    let (app, _) = openai_app(vec![Reply::Delay(5_000)], 800).await;
    let r = generate(&app, &json!({"brief": BRIEF, "count": 1}), "llm-6").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(
        r.body["type"],
        "urn:stockroom:problem:dependency-unavailable"
    );
}
