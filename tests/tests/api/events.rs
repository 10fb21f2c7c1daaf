//! Replays every checked-in API Gateway event through the function that serves it: the Lambda
//! event -> request -> handler path, with the events users pass to `cargo lambda invoke`.

use std::collections::BTreeSet;

use http::StatusCode;
use shared::auth::Role;
use stockroom_tests::{TestApp, root, template};

/// The events in replay order, with the status each must produce.
const SCRIPT: [(&str, u16); 9] = [
    ("health.get", 200),
    ("products.create", 201),
    ("products.list", 200),
    ("products.get", 200),
    ("products.get-by-barcode", 200),
    ("products.update", 200),
    ("products.add-image", 201),
    ("products.archive", 200),
    ("products.restore", 200),
];

fn load(name: &str) -> String {
    std::fs::read_to_string(root().join("events").join(format!("{name}.json"))).unwrap()
}

fn substitute(app: &TestApp, text: &str, product_id: &str) -> String {
    let mut text = text.replace("{{product_id}}", product_id);
    for role in Role::ALL {
        text = text.replace(
            &format!("{{{{token:{}}}}}", role.as_str()),
            &app.token(role),
        );
    }
    text
}

#[tokio::test]
async fn every_sample_event_replays_through_its_handler() {
    let app = TestApp::spawn().await;
    let mut product_id = String::from("unset");
    for (name, expected) in SCRIPT {
        let event = substitute(&app, &load(name), &product_id);
        let request = lambda_http::request::from_str(&event)
            .unwrap_or_else(|e| panic!("{name}.json is not an API Gateway event: {e}"));
        let raw: serde_json::Value = serde_json::from_str(&event).unwrap();
        let response = app.call(request).await;
        assert_eq!(
            response.status,
            StatusCode::from_u16(expected).unwrap(),
            "{name}: {}",
            response.text
        );
        assert_eq!(
            response.header("x-request-id"),
            raw["requestContext"]["requestId"].as_str(),
            "{name}: the API Gateway request id is the response's request id"
        );
        if name == "products.create" {
            product_id = response.body["id"].as_str().unwrap().to_owned();
        }
    }
}

#[tokio::test]
async fn there_is_a_sample_event_for_every_route() {
    let declared: BTreeSet<String> = template()
        .routes()
        .unwrap()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let sampled: BTreeSet<String> = SCRIPT
        .iter()
        .map(|(name, _)| {
            let raw: serde_json::Value = serde_json::from_str(&load(name)).unwrap();
            raw["routeKey"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(sampled, declared);
    let files = std::fs::read_dir(root().join("events"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(files, SCRIPT.len(), "every event file is replayed");
}
