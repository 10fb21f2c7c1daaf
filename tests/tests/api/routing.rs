//! The harness dispatches like API Gateway: each route of template.yaml reaches the function
//! the template names for it, and that function, and only it, serves the route.

use http::{Method, Request, StatusCode};
use stockroom_tests::{TestApp, TestResponse};

/// A concrete path for a template path: every `{param}` becomes a harmless value.
fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|s| if s.starts_with('{') { "0" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn request(method: &str, path: &str) -> Request<lambda_http::Body> {
    Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .body(lambda_http::Body::Empty)
        .unwrap()
}

/// The shared fallbacks' answers when a function has no such route or method.
fn is_routing_miss(r: &TestResponse) -> bool {
    r.status == StatusCode::METHOD_NOT_ALLOWED
        || (r.status == StatusCode::NOT_FOUND && r.body["detail"] == "no such route")
}

#[tokio::test]
async fn every_template_route_reaches_the_function_the_template_names_and_no_other() {
    let app = TestApp::spawn().await;
    assert!(app.routes.len() > 40, "template.yaml lost its routes");
    for route in &app.routes {
        let path = concrete(&route.path);
        assert_eq!(
            app.function_for(&Method::from_bytes(route.method.as_bytes()).unwrap(), &path),
            Some(route.function.as_str()),
            "{} {} is dispatched to the wrong function",
            route.method,
            route.path
        );
        for name in app.functions.keys() {
            let answer = app.call_function(name, request(&route.method, &path)).await;
            if *name == route.function {
                assert!(
                    !is_routing_miss(&answer),
                    "{} {}: the function the template names ({name}) does not serve it: {} {}",
                    route.method,
                    route.path,
                    answer.status,
                    answer.text
                );
            } else {
                assert!(
                    is_routing_miss(&answer),
                    "{} {}: function {name} also serves it, but the template names {}",
                    route.method,
                    route.path,
                    route.function
                );
            }
        }
    }
}

#[tokio::test]
async fn every_function_the_template_declares_with_routes_is_built_by_the_harness() {
    let app = TestApp::spawn().await;
    for route in &app.routes {
        assert!(
            app.functions.contains_key(route.function.as_str()),
            "template.yaml routes {} {} to '{}', which no function crate exports",
            route.method,
            route.path,
            route.function
        );
    }
}

#[tokio::test]
async fn a_route_the_template_does_not_declare_is_a_problem_json_404() {
    let app = TestApp::spawn().await;
    let answer = app.call(request("GET", "/v1/nowhere")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json")
    );
}
