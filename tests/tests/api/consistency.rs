//! The routes are declared three times by nature (template.yaml for AWS, the watch router for
//! local runs, docs/openapi.yaml for clients); these tests keep the three identical, and keep
//! the template honest about runtime, architecture and permissions.

use std::collections::BTreeSet;

use serde_norway::Value;
use stockroom_tests::{TestApp, root, template};

type RouteSet = BTreeSet<(String, String, String)>;

fn template_routes() -> RouteSet {
    template()
        .routes()
        .unwrap()
        .into_iter()
        .map(|r| (r.method, r.path, r.function))
        .collect()
}

fn watch_routes() -> RouteSet {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("[workspace.metadata.lambda.watch.router] in Cargo.toml");
    let mut routes = BTreeSet::new();
    for (path, targets) in router {
        for target in targets.as_array().unwrap() {
            routes.insert((
                target["method"].as_str().unwrap().to_ascii_uppercase(),
                path.clone(),
                target["function"].as_str().unwrap().to_owned(),
            ));
        }
    }
    routes
}

fn openapi() -> Value {
    serde_norway::from_str(&std::fs::read_to_string(root().join("docs/openapi.yaml")).unwrap())
        .unwrap()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn openapi_routes() -> BTreeSet<(String, String)> {
    let doc = openapi();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                routes.insert((
                    method.to_ascii_uppercase(),
                    path.as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    routes
}

#[test]
fn the_watch_router_serves_exactly_the_template_routes() {
    assert_eq!(watch_routes(), template_routes());
}

#[test]
fn the_openapi_document_describes_exactly_the_template_routes() {
    let declared: BTreeSet<_> = template_routes()
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    assert_eq!(openapi_routes(), declared);
}

#[test]
fn every_openapi_operation_documents_its_success_and_error_responses() {
    let doc = openapi();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let name = format!("{method} {}", path.as_str().unwrap());
            assert!(op["operationId"].is_string(), "{name} has an operationId");
            let responses = op["responses"].as_mapping().unwrap();
            let codes: Vec<&str> = responses.keys().filter_map(Value::as_str).collect();
            assert!(
                codes.iter().any(|c| c.starts_with('2')),
                "{name} documents a success"
            );
            assert!(
                codes
                    .iter()
                    .any(|c| c.starts_with('4') || c.starts_with('5')),
                "{name} documents errors"
            );
            if method == "post" || method == "patch" {
                let body = op.get("requestBody");
                let p = path.as_str().unwrap();
                // Actions on a resource named by the path take no body.
                let takes_body = ![
                    "/restore",
                    "/2fa/sms/send",
                    "/commit",
                    "/cancel",
                    "}/confirm",
                    "/submit",
                    "/suggestions",
                    "/email/verification",
                    "/pack",
                ]
                .iter()
                .any(|suffix| p.ends_with(suffix));
                assert_eq!(body.is_some(), takes_body, "{name} request body");
            }
        }
    }
}

#[test]
fn every_function_runs_on_arm64_al2023_built_by_cargo_lambda() {
    let t = template();
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let doc: Value = serde_norway::from_str(&text).unwrap();
    let globals = &doc["Globals"]["Function"];
    for id in t.resources_of("AWS::Serverless::Function") {
        let props = t.properties(id).unwrap();
        let runtime = props.get("Runtime").unwrap_or(&globals["Runtime"]);
        let arch = props
            .get("Architectures")
            .unwrap_or(&globals["Architectures"]);
        assert_eq!(runtime.as_str(), Some("provided.al2023"), "{id} runtime");
        assert_eq!(
            arch,
            &Value::Sequence(vec![Value::String("arm64".into())]),
            "{id} architecture"
        );
        assert_eq!(
            props["CodeUri"].as_str(),
            Some("."),
            "{id}: CodeUri . lets sam build see shared/"
        );
        let meta = t.metadata(id).unwrap();
        assert_eq!(
            meta["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{id}"
        );
        let binary = meta["BuildProperties"]["Binary"].as_str().unwrap();
        assert!(
            root()
                .join("functions")
                .join(binary)
                .join("src/main.rs")
                .exists(),
            "{id} builds binary {binary}, which must be a crate under functions/"
        );
    }
}

#[test]
fn no_function_policy_grants_wildcard_actions_or_resources() {
    // (function, Sid) allowed `Resource: "*"` because the action names no resource there, each
    // narrowed by a Deny of the same action in its policy: SNS text messages go to a phone
    // number, which has no ARN (the Deny takes every topic and endpoint ARN back out).
    const WILDCARD_RESOURCES: [(&str, &str); 1] = [("AuthFunction", "TextPhones")];
    let t = template();
    for id in t.resources_of("AWS::Serverless::Function") {
        let policies = t.properties(id).unwrap()["Policies"].as_sequence().unwrap();
        for policy in policies {
            for statement in policy["Statement"].as_sequence().unwrap() {
                // A statement granted only under a condition (`!If [cond, statement, NoValue]`):
                // check the statement.
                let statement = match statement {
                    Value::Tagged(t) if t.tag.to_string().trim_start_matches('!') == "If" => {
                        &t.value[1]
                    }
                    other => other,
                };
                let text = serde_norway::to_string(statement).unwrap();
                // A Deny only takes away.
                if statement["Effect"].as_str() == Some("Deny") {
                    continue;
                }
                let sid = statement["Sid"].as_str().unwrap_or_default();
                if WILDCARD_RESOURCES.contains(&(id, sid)) {
                    let denied = policy["Statement"].as_sequence().unwrap().iter().any(|s| {
                        s["Effect"].as_str() == Some("Deny") && s["Action"] == statement["Action"]
                    });
                    assert!(
                        denied,
                        "{id}: {sid} is narrowed by a Deny of the same action"
                    );
                } else {
                    assert!(
                        !text.contains("'*'") && !text.contains("\"*\""),
                        "{id}: {text}"
                    );
                }
                assert_eq!(statement["Effect"].as_str(), Some("Allow"));
                let actions = match &statement["Action"] {
                    Value::Sequence(a) => {
                        a.iter().map(|v| v.as_str().unwrap().to_owned()).collect()
                    }
                    v => vec![v.as_str().unwrap().to_owned()],
                };
                assert!(
                    actions.iter().all(|a| !a.contains('*')),
                    "{id}: {actions:?}"
                );
            }
        }
    }
}

#[test]
fn the_table_and_bucket_are_protected() {
    let t = template();
    for id in t.resources_of("AWS::DynamoDB::Table") {
        let p = t.properties(id).unwrap();
        assert_eq!(
            p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
            Value::Bool(true),
            "{id}"
        );
        assert_eq!(
            p["SSESpecification"]["SSEEnabled"],
            Value::Bool(true),
            "{id}"
        );
    }
    for id in t.resources_of("AWS::S3::Bucket") {
        let p = t.properties(id).unwrap();
        let block = &p["PublicAccessBlockConfiguration"];
        for flag in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(block[flag], Value::Bool(true), "{id} {flag}");
        }
        assert!(p.get("BucketEncryption").is_some(), "{id} encryption");
        assert_eq!(
            p["VersioningConfiguration"]["Status"].as_str(),
            Some("Enabled"),
            "{id}"
        );
    }
}

/// The resource a `!Ref X` names.
fn ref_of(v: &Value) -> Option<&str> {
    match v {
        Value::Tagged(t) if t.tag.to_string().trim_start_matches('!') == "Ref" => t.value.as_str(),
        _ => None,
    }
}

#[test]
fn every_function_is_watched_by_alarms_that_roll_back_its_deployments() {
    let t = template();
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let doc: Value = serde_norway::from_str(&text).unwrap();
    let globals = &doc["Globals"]["Function"];
    assert_eq!(globals["AutoPublishAlias"].as_str(), Some("live"));
    assert!(globals["DeploymentPreference"].get("Type").is_some());
    // (alarm, function it watches, metric), for alarms on one function.
    let mut watching: Vec<(String, String, String)> = Vec::new();
    for alarm in t.resources_of("AWS::CloudWatch::Alarm") {
        let p = t.properties(alarm).unwrap();
        let actions = p["AlarmActions"].as_sequence().unwrap();
        assert!(
            actions
                .iter()
                .any(|a| matches!(ref_of(a), Some("AlarmTopic" | "NoticeTopic"))),
            "{alarm} notifies the alarm topic"
        );
        if let Some(dimensions) = p.get("Dimensions").and_then(Value::as_sequence) {
            for d in dimensions {
                if d["Name"].as_str() == Some("FunctionName")
                    && let Some(function) = ref_of(&d["Value"])
                {
                    watching.push((
                        alarm.to_owned(),
                        function.to_owned(),
                        p["MetricName"].as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
    }
    for id in t.resources_of("AWS::Serverless::Function") {
        let metrics_watched = |metric: &str| {
            watching
                .iter()
                .filter(|(_, f, m)| f == id && m == metric)
                .map(|(a, _, _)| a.clone())
                .collect::<Vec<_>>()
        };
        for metric in ["Errors", "Duration", "Throttles"] {
            assert!(
                !metrics_watched(metric).is_empty(),
                "{id} has a {metric} alarm"
            );
        }
        let rollback: Vec<&str> = t.properties(id).unwrap()["DeploymentPreference"]["Alarms"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{id} lists its rollback alarms"))
            .iter()
            .filter_map(ref_of)
            .collect();
        for metric in ["Errors", "Duration"] {
            assert!(
                metrics_watched(metric)
                    .iter()
                    .any(|a| rollback.contains(&a.as_str())),
                "{id} rolls back on its {metric} alarm: {rollback:?}"
            );
        }
    }
}

/// Routes anyone may call; every other route needs an access token.
const PUBLIC: [&str; 27] = [
    "GET /health",
    "GET /openapi.json",
    "GET /docs",
    "GET /docs/assets/{file}",
    "GET /.well-known/jwks.json",
    "POST /v1/auth/register",
    "POST /v1/auth/login",
    "POST /v1/auth/refresh",
    "POST /v1/auth/logout",
    "POST /v1/auth/password/forgot",
    "POST /v1/auth/password/reset",
    "POST /v1/auth/email/verify",
    "POST /v1/auth/google",
    "POST /v1/auth/google/confirm",
    "POST /v1/webhooks/razorpay",
    "POST /v1/webhooks/carrier",
    "GET /v1/products",
    "GET /v1/products/{id}",
    "GET /v1/products/by-barcode/{code}",
    "GET /v1/search",
    "GET /v1/search/suggest",
    "GET /v1/cart",
    "DELETE /v1/cart",
    "PUT /v1/cart/lines/{product_id}",
    "DELETE /v1/cart/lines/{product_id}",
    "GET /v1/sync",
    "GET /v1/leaderboards/{period}",
];

#[tokio::test]
async fn each_function_router_answers_every_route_it_is_given() {
    let app = TestApp::spawn().await;
    for (method, path, function) in template_routes() {
        let concrete = path
            .replace("{id}", "0190a0b0-0000-7000-8000-000000000000")
            .replace("{code}", "96385074")
            .replace("{permission}", "manage_orders")
            .replace("{file}", "init.js");
        let request = http::Request::builder()
            .method(method.as_str())
            .uri(&concrete)
            .body(lambda_http::Body::Empty)
            .unwrap();
        let answer = app.call(request).await;
        let status = answer.status.as_u16();
        let route = format!("{method} {path}");
        // A public read of an unknown id is a 404 too, one that names what is missing.
        let unrouted = status == 405 || (status == 404 && answer.body["detail"] == "no such route");
        assert!(!unrouted, "{route} is not served by {function}: {status}");
        if !PUBLIC.contains(&route.as_str()) {
            assert_eq!(status, 401, "{route} requires a token");
        }
    }
}

#[test]
fn every_samconfig_stage_sets_known_parameters_and_every_required_one() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let doc: Value = serde_norway::from_str(&text).unwrap();
    let parameters = doc["Parameters"].as_mapping().unwrap();
    let known: BTreeSet<String> = parameters
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    let required: BTreeSet<String> = parameters
        .iter()
        .filter(|(_, p)| p.get("Default").is_none())
        .map(|(k, _)| k.as_str().unwrap().to_owned())
        .collect();
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("samconfig.toml")).unwrap()).unwrap();
    for stage in ["dev", "staging", "prod"] {
        let deploy = &config[stage]["deploy"]["parameters"];
        assert_eq!(
            deploy["stack_name"].as_str(),
            Some(format!("stockroom-{stage}").as_str())
        );
        let overrides: Vec<(String, String)> = deploy["parameter_overrides"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let (k, v) = o.as_str().unwrap().split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect();
        let names: BTreeSet<String> = overrides.iter().map(|(k, _)| k.clone()).collect();
        assert!(
            names.is_subset(&known),
            "{stage} sets parameters the template lacks: {:?}",
            names.difference(&known).collect::<Vec<_>>()
        );
        assert!(
            required.is_subset(&names),
            "{stage} misses required parameters: {:?}",
            required.difference(&names).collect::<Vec<_>>()
        );
        assert!(
            overrides.contains(&("Stage".into(), stage.into())),
            "{stage}"
        );
    }
    assert_eq!(
        config["prod"]["deploy"]["parameters"]["confirm_changeset"].as_bool(),
        Some(true),
        "production shows its change set first"
    );
}

/// Under `make dev`, a rebuild stops each function process at once and the invocation it was
/// running is never answered; cargo lambda's `--timeout` is what answers such a request (408)
/// instead of leaving it hanging. This keeps the flag, within API Gateway's 30 s.
#[test]
fn make_dev_answers_a_request_a_rebuild_interrupted_instead_of_leaving_it_hanging() {
    let script = std::fs::read_to_string(root().join("infra/dev.sh")).unwrap();
    let watch = script
        .lines()
        .find(|l| l.trim_start().starts_with("cargo lambda watch"))
        .expect("infra/dev.sh runs cargo lambda watch");
    let timeout = watch
        .split_once("--timeout")
        .map(|(_, rest)| rest.trim().trim_matches('"'))
        .expect("cargo lambda watch runs with --timeout");
    let default: u32 = timeout
        .strip_prefix("${INVOKE_TIMEOUT_SECONDS:-")
        .and_then(|t| t.split('}').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| timeout.parse().expect("a number of seconds"));
    assert!((1..=30).contains(&default), "--timeout {default}");
}

#[test]
fn guessing_pages_and_changes_of_power_or_large_refunds_only_notify() {
    let t = template();
    let topic = |alarm: &str| {
        let p = t
            .properties(alarm)
            .unwrap_or_else(|| panic!("{alarm} exists"));
        p["AlarmActions"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(ref_of)
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    for paging in [
        "SignInFailuresSpikeAlarm",
        "LockoutsSpikeAlarm",
        "TwoFactorFailuresAlarm",
    ] {
        assert_eq!(topic(paging), ["AlarmTopic"], "{paging} pages");
    }
    for notice in ["PrivilegeChangesAlarm", "LargeRefundsAlarm"] {
        assert_eq!(
            topic(notice),
            ["NoticeTopic"],
            "{notice} is a notice, not a page"
        );
    }
}
