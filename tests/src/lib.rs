//! Test harness: each test gets its own table and bucket, created from `template.yaml` on the
//! local stack that `make test` starts, and calls the functions' real routers in process with
//! API Gateway-shaped requests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations,
    unreachable_pub
)]

pub mod bench;
pub mod faults;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use shared::auth::{Role, SigningKey};
use shared::aws::AwsClients;
use shared::config::Config;
use shared::lambda::{Function, FunctionState};
use shared::services::AppState;
use tower::ServiceExt;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The parsed `template.yaml`.
pub fn template() -> devstack::Template {
    devstack::Template::load(root().join("template.yaml")).unwrap()
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `ETag` header, which every product response carries.
    pub fn etag(&self) -> String {
        self.header("etag").expect("an ETag header").to_owned()
    }
}

/// One isolated Stockroom: fresh table and bucket, a signing key, and every function's app
/// built the way its `main` builds it.
pub struct TestApp {
    pub key: SigningKey,
    pub config: Config,
    pub clients: AwsClients,
    /// Each HTTP function's app, by the name template.yaml gives its binary.
    pub functions: BTreeMap<&'static str, Router>,
    /// Every route of template.yaml and the function it names.
    pub routes: Vec<devstack::Route>,
    /// What API Gateway answers for a route the template does not declare.
    unrouted: Router,
    /// The state the apps were built from (for calling shared code directly).
    pub state: AppState,
    /// The search function's state, whose index copy `search::rebuild` refreshes.
    pub search: search::SearchState,
    /// The local Razorpay stand-in this app's orders go to.
    pub razorpay: razorpay_local::StandIn,
    /// The Google sign-in stand-in the auth function trusts (client id [`GOOGLE_CLIENT_ID`]).
    pub google: google_local::StandIn,
    /// The proxies between the functions and their dependencies ([`TestApp::spawn_faulty`]).
    pub faults: Option<Faults>,
    /// The signing key's file (`AUTH_SIGNING_KEY_FILE`): read at start-up and by `/health`.
    _key_file: RemovedOnDrop,
}

/// The fault proxies of a [`TestApp::spawn_faulty`] app.
#[derive(Debug, Clone)]
pub struct Faults {
    /// In front of DynamoDB Local.
    pub dynamodb: faults::FaultProxy,
    /// In front of moto's S3.
    pub s3: faults::FaultProxy,
    /// In front of the Razorpay stand-in.
    pub razorpay: faults::FaultProxy,
}

impl Faults {
    async fn start(razorpay: &str) -> Self {
        let endpoint = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by make test"))
        };
        Self {
            dynamodb: faults::FaultProxy::start(
                faults::Upstream::DynamoDb,
                &endpoint("AWS_ENDPOINT_URL_DYNAMODB"),
            )
            .await,
            s3: faults::FaultProxy::start(faults::Upstream::S3, &endpoint("AWS_ENDPOINT_URL_S3"))
                .await,
            razorpay: faults::FaultProxy::start(faults::Upstream::Razorpay, razorpay).await,
        }
    }

    /// `direct`'s clients, pointed at the proxies. They retry as often as the functions' own
    /// (the SDK's standard three attempts), only sooner: the first pause is 20 ms, not 1 s,
    /// which keeps the fault matrix's hundreds of outages quick.
    fn clients(&self, direct: &AwsClients) -> AwsClients {
        let retry = aws_config::retry::RetryConfig::standard()
            .with_initial_backoff(std::time::Duration::from_millis(20));
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&direct.sdk)
            .endpoint_url(&self.dynamodb.url)
            .retry_config(retry.clone())
            .build();
        let s3 = aws_sdk_s3::config::Builder::from(&direct.sdk)
            .endpoint_url(&self.s3.url)
            .force_path_style(true)
            .retry_config(retry)
            .build();
        AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sdk: direct.sdk.clone(),
        }
    }

    /// Every proxy healed.
    pub fn heal(&self) {
        for proxy in [&self.dynamodb, &self.s3, &self.razorpay] {
            proxy.heal();
        }
    }
}

/// A temporary file removed when the app that wrote it is dropped.
#[derive(Debug)]
struct RemovedOnDrop(std::path::PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The sender of every test app's e-mail (verified in the local SES).
pub const MAIL_FROM: &str = "stockroom@tests.example";

/// The client id the test stack's Google sign-in accepts (the stand-in issues tokens to it).
pub const GOOGLE_CLIENT_ID: &str = "stockroom-tests.apps.example";
/// The Razorpay keys every test app uses (the stand-in checks them).
pub const RAZORPAY_KEY_ID: &str = "rzp_test_stockroom";
/// The key secret (Basic auth password, checkout signatures).
pub const RAZORPAY_KEY_SECRET: &str = "test-key-secret-0123456789";
/// The webhook secret Razorpay signs deliveries with.
pub const RAZORPAY_WEBHOOK_SECRET: &str = "test-webhook-secret-9876543210";
/// The secret carriers sign tracking updates with in tests.
pub const CARRIER_WEBHOOK_SECRET: &str = "test-carrier-secret-0123456789";

impl TestApp {
    /// A new isolated app on the local stack.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A new isolated app whose environment `adjust` may change before it is read.
    pub async fn spawn_with(adjust: impl FnOnce(&mut HashMap<String, String>)) -> Self {
        Box::pin(Self::spawn_inner(adjust, false)).await
    }

    /// A new isolated app whose functions reach DynamoDB, S3 and Razorpay through
    /// [`faults::FaultProxy`]s (in [`TestApp::faults`]), so a test can make any call fail.
    /// The test's own clients ([`TestApp::clients`]) reach them directly.
    pub async fn spawn_faulty() -> Self {
        Box::pin(Self::spawn_inner(|_| {}, true)).await
    }

    async fn spawn_inner(adjust: impl FnOnce(&mut HashMap<String, String>), faulty: bool) -> Self {
        assert!(
            std::env::var("STOCKROOM_LOCAL_STACK").is_ok(),
            "integration tests need the local stack: run them with `make test`"
        );
        let id = uuid::Uuid::new_v4().simple().to_string();
        let template = template();
        let probe = Config::from_lookup(|k| match k {
            "TABLE_NAME" | "MEDIA_BUCKET" => Some("x".into()),
            "AUTH_JWKS" => Some(jwks_of(&SigningKey::generate("probe").unwrap())),
            "S3_FORCE_PATH_STYLE" => Some("true".into()),
            _ => None,
        })
        .unwrap();
        let clients = AwsClients::from_env(&probe).await;
        let name_of = |logical: &str| format!("t{id}-{}", logical.to_ascii_lowercase());
        let mut names = template
            .create_tables(&clients.dynamodb, name_of)
            .await
            .unwrap();
        names.extend(template.create_buckets(&clients.s3, name_of).await.unwrap());

        let key = SigningKey::generate(format!("test-{id}")).unwrap();
        let mut env: HashMap<String, String> = template
            .variables_naming_resources()
            .into_iter()
            .filter_map(|(logical, var)| Some((var, names.get(&logical)?.clone())))
            .collect();
        env.insert("AUTH_JWKS".into(), jwks_of(&key));
        env.insert("S3_FORCE_PATH_STYLE".into(), "true".into());
        let razorpay = razorpay_local::StandIn::new(razorpay_local::Settings {
            key_id: RAZORPAY_KEY_ID.into(),
            key_secret: RAZORPAY_KEY_SECRET.into(),
            webhook_secret: RAZORPAY_WEBHOOK_SECRET.into(),
            webhook_url: None,
        });
        let razorpay_url = razorpay.spawn().await.unwrap();
        let faults = match faulty {
            true => Some(Faults::start(&razorpay_url).await),
            false => None,
        };
        let razorpay_url = faults
            .as_ref()
            .map_or(razorpay_url, |f| f.razorpay.url.clone());
        env.insert("RAZORPAY_BASE_URL".into(), razorpay_url);
        env.insert("RAZORPAY_KEY_ID".into(), RAZORPAY_KEY_ID.into());
        env.insert("RAZORPAY_KEY_SECRET".into(), RAZORPAY_KEY_SECRET.into());
        env.insert(
            "RAZORPAY_WEBHOOK_SECRET".into(),
            RAZORPAY_WEBHOOK_SECRET.into(),
        );
        env.insert("RAZORPAY_TIMEOUT_MS".into(), "1500".into());
        env.insert(
            "CARRIER_WEBHOOK_SECRET".into(),
            CARRIER_WEBHOOK_SECRET.into(),
        );
        let google = google_local::StandIn::new(GOOGLE_CLIENT_ID).unwrap();
        let google_url = google.spawn().await.unwrap();
        env.insert(
            "GOOGLE_CLIENT_IDS".into(),
            format!("{GOOGLE_CLIENT_ID}, second-app.apps.example"),
        );
        env.insert(
            "GOOGLE_CERTS_URL".into(),
            format!("{google_url}/oauth2/v3/certs"),
        );
        env.insert("MAIL_FROM".into(), MAIL_FROM.into());
        devstack::verify_sender(&clients.sdk, MAIL_FROM)
            .await
            .unwrap();
        let key_file = RemovedOnDrop(std::env::temp_dir().join(format!("stockroom-test-{id}.der")));
        std::fs::write(&key_file.0, key.pkcs8()).unwrap();
        env.insert(
            "AUTH_SIGNING_KEY_FILE".into(),
            key_file.0.display().to_string(),
        );
        env.insert("AUTH_SIGNING_KEY_ID".into(), key.kid().to_owned());
        adjust(&mut env);
        let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        // The functions' clients: through the proxies when the app is faulty.
        let direct = clients;
        let clients = faults
            .as_ref()
            .map_or_else(|| direct.clone(), |f| f.clients(&direct));
        let state = AppState::new(&config, &clients);
        // Every HTTP function, built as its main builds it. The search function's state is
        // kept, so tests can refresh its copy of the index after a rebuild.
        let search = <search::SearchState as FunctionState>::load(&config, &clients, state.clone())
            .await
            .unwrap();
        let functions = BTreeMap::from([
            built(auth::FUNCTION, &config, &clients, &state).await,
            built(docs::FUNCTION, &config, &clients, &state).await,
            built(health::FUNCTION, &config, &clients, &state).await,
            built(orders::FUNCTION, &config, &clients, &state).await,
            built(payments_webhook::FUNCTION, &config, &clients, &state).await,
            built(personas::FUNCTION, &config, &clients, &state).await,
            built(products::FUNCTION, &config, &clients, &state).await,
            built(purchasing::FUNCTION, &config, &clients, &state).await,
            built(shipments::FUNCTION, &config, &clients, &state).await,
            (
                search::FUNCTION.name,
                shared::lambda::serve(search::FUNCTION, &config, search.clone()),
            ),
            built(stock::FUNCTION, &config, &clients, &state).await,
        ]);
        let unrouted = shared::lambda::serve(
            Function {
                name: "gateway",
                routes: Router::new,
            },
            &config,
            state.clone(),
        );
        Self {
            key,
            config,
            clients: direct,
            faults,
            functions,
            routes: template.routes().unwrap().into_iter().collect(),
            unrouted,
            state,
            search,
            razorpay,
            google,
            _key_file: key_file,
        }
    }

    /// The function template.yaml names for `method` and `path`; a path it declares under
    /// other methods goes to that path's function (which answers 405).
    pub fn function_for(&self, method: &Method, path: &str) -> Option<&str> {
        let matching = |r: &&devstack::Route| route_matches(&r.path, path);
        self.routes
            .iter()
            .filter(matching)
            .find(|r| r.method == method.as_str())
            .or_else(|| self.routes.iter().find(matching))
            .map(|r| r.function.as_str())
    }

    /// A valid access token for `role`.
    pub fn token(&self, role: Role) -> String {
        self.token_for(&format!("user-{}", role.as_str()), role, 300)
    }

    /// An access token for `sub` with `role`, expiring in `ttl` seconds (negative: expired).
    pub fn token_for(&self, sub: &str, role: Role, ttl: i64) -> String {
        devstack::mint_token(
            &self.key,
            sub,
            role,
            &self.config.token_issuer,
            &self.config.token_audience,
            ttl,
        )
        .unwrap()
    }

    /// Sends `request` to the function that template.yaml names for its route, as API
    /// Gateway does.
    pub async fn call(&self, request: Request<lambda_http::Body>) -> TestResponse {
        let router = match self.function_for(request.method(), request.uri().path()) {
            Some(name) => self.functions.get(name).unwrap_or_else(|| {
                panic!("template.yaml names function '{name}', which the harness does not build")
            }),
            None => &self.unrouted,
        };
        Self::send(router, request).await
    }

    /// Ends every running idempotency lease, as if their 30 s had passed: what a client that
    /// honours `Retry-After` meets after an outage cut a request off.
    pub async fn lapse_idempotency_leases(&self) {
        use aws_sdk_dynamodb::types::AttributeValue;
        let table = self.config.table_name.as_str();
        let running = self
            .clients
            .dynamodb
            .scan()
            .table_name(table)
            .filter_expression("#state = :running")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":running", AttributeValue::S("in_progress".into()))
            .send()
            .await
            .unwrap();
        for item in running.items.unwrap_or_default() {
            self.clients
                .dynamodb
                .update_item()
                .table_name(table)
                .key("PK", item["PK"].clone())
                .key("SK", item["SK"].clone())
                .update_expression("SET lease_ends = :past")
                .expression_attribute_values(":past", AttributeValue::N("0".into()))
                .send()
                .await
                .unwrap();
        }
    }

    /// A new Secrets Manager secret (in the local stack's moto) holding `text`; answers its ARN.
    pub async fn secret(&self, text: &str) -> String {
        aws_sdk_secretsmanager::Client::new(&self.clients.sdk)
            .create_secret()
            .name(format!("stockroom/test/{}", uuid::Uuid::new_v4()))
            .secret_string(text)
            .send()
            .await
            .unwrap()
            .arn()
            .unwrap()
            .to_owned()
    }

    /// Serves every function's routes on a free local port, as API Gateway would (for tests
    /// that need a real HTTP client: the canary, the smoke test, the contract run). Answers
    /// the base URL; serves until the process ends.
    pub async fn serve(self: std::sync::Arc<Self>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new().fallback(move |request: axum::extract::Request| {
            let app = self.clone();
            async move { app.forward(request).await }
        });
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{address}")
    }

    async fn forward(&self, request: axum::extract::Request) -> axum::response::Response {
        let (parts, body) = request.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let request = Request::from_parts(parts, lambda_http::Body::from(bytes.to_vec()));
        let answer = self.call(request).await;
        let mut response = axum::response::Response::new(axum::body::Body::from(answer.text));
        *response.status_mut() = answer.status;
        *response.headers_mut() = answer.headers;
        response
    }

    /// Sends `request` straight to the function named `name`, whatever its route.
    pub async fn call_function(
        &self,
        name: &str,
        request: Request<lambda_http::Body>,
    ) -> TestResponse {
        Self::send(&self.functions[name], request).await
    }

    pub async fn send(router: &Router, request: Request<lambda_http::Body>) -> TestResponse {
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body,
            text,
        }
    }

    /// A request builder with the caller's token when `role` is given.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        role: Option<Role>,
    ) -> http::request::Builder {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(role) = role {
            builder = builder.header("authorization", format!("Bearer {}", self.token(role)));
        }
        builder
    }

    /// `GET path` as `role`.
    pub async fn get(&self, path: &str, role: Role) -> TestResponse {
        self.call(
            self.request(Method::GET, path, Some(role))
                .body(lambda_http::Body::Empty)
                .unwrap(),
        )
        .await
    }

    /// A JSON request as `role`, with extra headers.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        role: Role,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = self
            .request(method, path, Some(role))
            .header("content-type", "application/json");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        self.call(
            builder
                .body(lambda_http::Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    /// `POST /v1/products` as a manager.
    pub async fn create_product(&self, body: &Value) -> TestResponse {
        self.send_json(Method::POST, "/v1/products", Role::Manager, body, &[])
            .await
    }

    /// `PATCH /v1/products/{id}` as a manager with `If-Match: etag`.
    pub async fn patch_product(&self, id: &str, etag: &str, body: &Value) -> TestResponse {
        self.send_json(
            Method::PATCH,
            &format!("/v1/products/{id}"),
            Role::Manager,
            body,
            &[("if-match", etag)],
        )
        .await
    }

    /// `DELETE /v1/products/{id}` (archive) as a manager.
    pub async fn archive_product(&self, id: &str) -> TestResponse {
        self.send_json(
            Method::DELETE,
            &format!("/v1/products/{id}"),
            Role::Manager,
            &json!({}),
            &[],
        )
        .await
    }

    /// An unauthenticated JSON `POST`, as from the client at `source_ip` (through a real API
    /// Gateway event, so the address arrives the way it does in Lambda).
    pub async fn post_from(&self, source_ip: &str, path: &str, body: &Value) -> TestResponse {
        self.post_from_client(source_ip, "test", path, body).await
    }

    /// An unauthenticated JSON `POST` from client address `source_ip` with `user_agent`.
    pub async fn post_from_client(
        &self,
        source_ip: &str,
        user_agent: &str,
        path: &str,
        body: &Value,
    ) -> TestResponse {
        let headers = [
            ("content-type", "application/json"),
            ("user-agent", user_agent),
        ];
        self.call_from(source_ip, Method::POST, path, &headers, Some(body))
            .await
    }

    /// An unauthenticated `GET` of `path` (with its query) from client address `source_ip`,
    /// with `headers`.
    pub async fn get_from(
        &self,
        source_ip: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        self.call_from(source_ip, Method::GET, path, headers, None)
            .await
    }

    /// A request from client address `source_ip`, through a real API Gateway event so the
    /// address arrives the way it does in Lambda.
    pub async fn call_from(
        &self,
        source_ip: &str,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> TestResponse {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let user_agent = headers
            .iter()
            .find(|(k, _)| *k == "user-agent")
            .map_or("test", |(_, v)| *v);
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect();
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": format!("{method} {path}"),
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012", "apiId": "test", "domainName": "test.local",
                "domainPrefix": "test",
                "http": {"method": method.as_str(), "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": source_ip, "userAgent": user_agent},
                "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": format!("{method} {path}"),
                "stage": "$default", "time": "21/Nov/2026:10:00:00 +0000", "timeEpoch": 0
            },
            "body": body.map(Value::to_string),
            "isBase64Encoded": false
        });
        self.call(lambda_http::request::from_str(&event.to_string()).unwrap())
            .await
    }

    /// An unauthenticated JSON `POST`.
    pub async fn post_anonymous(&self, path: &str, body: &Value) -> TestResponse {
        self.call(
            Request::builder()
                .method(Method::POST)
                .uri(path)
                .header("content-type", "application/json")
                .body(lambda_http::Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    /// A request with `bearer` as the access token.
    pub async fn call_with_token(
        &self,
        method: Method,
        path: &str,
        bearer: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        self.send_with_token(method, path, bearer, body, &[]).await
    }

    /// A request with `bearer` as the access token, an optional JSON body and extra headers.
    pub async fn send_with_token(
        &self,
        method: Method,
        path: &str,
        bearer: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {bearer}"));
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let body = match body {
            Some(b) => {
                builder = builder.header("content-type", "application/json");
                lambda_http::Body::from(b.to_string())
            }
            None => lambda_http::Body::Empty,
        };
        self.call(builder.body(body).unwrap()).await
    }

    /// Registers `email` with a strong password and signs in; returns the token response.
    pub async fn register_and_login(&self, email: &str) -> TestResponse {
        let r = self
            .post_anonymous(
                "/v1/auth/register",
                &serde_json::json!({"email": email, "password": STRONG_PASSWORD, "display_name": "Test User"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        self.login(email, STRONG_PASSWORD).await
    }

    /// Registers `email`, opens the verification link mailed to it, and signs in.
    pub async fn register_verified(&self, email: &str) -> TestResponse {
        let tokens = self.register_and_login(email).await;
        let token = self
            .mailed_token(email, "Verify your Stockroom e-mail address")
            .await;
        let r = self
            .post_anonymous(
                "/v1/auth/email/verify",
                &serde_json::json!({ "token": token }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        tokens
    }

    /// The token of the newest link mailed to `to` under `subject`.
    pub async fn mailed_token(&self, to: &str, subject: &str) -> String {
        let mail = self.outbox_for(to).await;
        let message = mail
            .iter()
            .rev()
            .find(|m| m.subject == subject)
            .unwrap_or_else(|| panic!("no mail '{subject}' to {to}: {mail:?}"));
        let at = message.body.find("token=").expect("a link with a token") + "token=".len();
        message.body[at..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// The subjects of the mail sent to `to`, oldest first.
    pub async fn subjects_for(&self, to: &str) -> Vec<String> {
        self.outbox_for(to)
            .await
            .into_iter()
            .map(|m| m.subject)
            .collect()
    }

    /// `POST /v1/auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.post_anonymous(
            "/v1/auth/login",
            &serde_json::json!({"email": email, "password": password}),
        )
        .await
    }

    /// The id of the account `email` (signing in with the test password).
    pub async fn account_id(&self, email: &str) -> String {
        let tokens = self.login(email, STRONG_PASSWORD).await;
        let access = tokens.body["access_token"].as_str().unwrap().to_owned();
        let me = self
            .call_with_token(Method::GET, "/v1/auth/me", &access, None)
            .await;
        me.body["id"].as_str().unwrap().to_owned()
    }

    /// The id of the account an access token belongs to.
    pub async fn account_id_of(&self, access: &str) -> String {
        let me = self
            .call_with_token(Method::GET, "/v1/auth/me", access, None)
            .await;
        me.body["id"].as_str().unwrap().to_owned()
    }

    /// Makes the account `email` an admin the way an operator would.
    pub async fn bootstrap_admin(&self, email: &str) {
        let table = shared::store::Table::new(
            self.clients.dynamodb.clone(),
            self.config.table_name.as_str(),
        );
        auth::bootstrap_admin(&table, email, STRONG_PASSWORD)
            .await
            .unwrap();
    }

    /// Audit entries with `action`, newest first.
    pub async fn audit_actions(&self) -> Vec<String> {
        let r = self.get("/v1/audit?limit=100", Role::Admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    }

    /// A reader of the table's stream (as `make dev` and Lambda feed the indexer), past
    /// everything written so far.
    pub async fn stream_poller(&self) -> devstack::StreamPoller {
        let mut poller = devstack::StreamPoller::new(
            &self.clients.sdk,
            &self.clients.dynamodb,
            &self.config.table_name,
            false,
        )
        .await
        .unwrap();
        poller.poll().await.unwrap();
        poller
    }

    /// The live-updates path over this app's table, as `make dev` runs it: a local WebSocket
    /// gateway on a free port, fed from the table's stream through the forwarder, a bus and a
    /// queue of its own (moto), carrying what is written from now on.
    pub async fn live(&self) -> devstack::live::Live {
        let prefix = format!("t{}", uuid::Uuid::new_v4().simple());
        devstack::live::Live::start(
            &self.state,
            &self.clients.sdk,
            &template(),
            &prefix,
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .unwrap()
    }

    /// A new event bus whose events of `types` (a list of detail-types) land in a new queue
    /// (moto): `(EventBridge, bus name, SQS, queue URL)`.
    pub async fn bus_to_queue(
        &self,
        types: Value,
    ) -> (
        aws_sdk_eventbridge::Client,
        String,
        aws_sdk_sqs::Client,
        String,
    ) {
        let sdk = &self.clients.sdk;
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let bus = format!("stockroom-{suffix}");
        let pattern = json!({"source": ["stockroom"], "detail-type": types});
        let queue_url =
            devstack::live::wire(sdk, &bus, &format!("q-{suffix}"), "to-queue", &pattern)
                .await
                .unwrap();
        (
            aws_sdk_eventbridge::Client::new(sdk),
            bus,
            aws_sdk_sqs::Client::new(sdk),
            queue_url,
        )
    }

    /// Sends a webhook delivery the way Razorpay does.
    pub async fn deliver(&self, d: &razorpay_local::Delivery) -> TestResponse {
        self.call(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/webhooks/razorpay")
                .header("content-type", "application/json")
                .header("x-razorpay-signature", &d.signature)
                .header("x-razorpay-event-id", &d.event_id)
                .body(lambda_http::Body::from(d.body.clone()))
                .unwrap(),
        )
        .await
    }

    /// Creates a warehouse with `code` as a manager; returns its id.
    pub async fn create_warehouse(&self, code: &str) -> String {
        let r = self
            .send_json(
                Method::POST,
                "/v1/warehouses",
                Role::Manager,
                &serde_json::json!({"code": code, "name": format!("Warehouse {code}")}),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// `POST /v1/stock/movements` as staff with a fresh idempotency key.
    pub async fn move_stock(&self, body: &Value) -> TestResponse {
        let key = uuid::Uuid::new_v4().to_string();
        self.move_stock_with_key(body, &key).await
    }

    /// `POST /v1/stock/movements` as staff with `key`.
    pub async fn move_stock_with_key(&self, body: &Value, key: &str) -> TestResponse {
        self.send_json(
            Method::POST,
            "/v1/stock/movements",
            Role::Staff,
            body,
            &[("idempotency-key", key)],
        )
        .await
    }

    /// The `on_hand` of a product in a warehouse.
    pub async fn on_hand(&self, product_id: &str, warehouse_id: &str) -> i64 {
        let r = self
            .get(
                &format!("/v1/stock?product_id={product_id}&warehouse_id={warehouse_id}"),
                Role::Staff,
            )
            .await;
        r.body["items"][0]["on_hand"].as_i64().unwrap()
    }

    /// The sum of a level's ledger, read page by page.
    pub async fn ledger_sum(&self, product_id: &str, warehouse_id: &str) -> i64 {
        let mut sum = 0;
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!(
                "/v1/stock/movements?product_id={product_id}&warehouse_id={warehouse_id}&limit=100"
            );
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let r = self.get(&path, Role::Staff).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            sum += r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["quantity"].as_i64().unwrap())
                .sum::<i64>();
            match r.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return sum,
            }
        }
    }

    /// Uploads `bytes` with an image upload grant (the `upload` of `POST
    /// /v1/products/{id}/images`) the way a browser does: a multipart form POST straight to
    /// the bucket. Answers S3's status.
    pub async fn upload_with_grant(&self, upload: &Value, bytes: Vec<u8>) -> u16 {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in upload["fields"].as_object().unwrap() {
            form = form.text(name.clone(), value.as_str().unwrap().to_owned());
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("image"),
        );
        reqwest::Client::new()
            .post(upload["url"].as_str().unwrap())
            .multipart(form)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// `POST /v1/products/{id}/images` as a manager: a grant to upload one image.
    pub async fn image_grant(&self, product_id: &str, content_type: &str) -> TestResponse {
        self.send_json(
            Method::POST,
            &format!("/v1/products/{product_id}/images"),
            Role::Manager,
            &json!({ "content_type": content_type }),
            &[],
        )
        .await
    }

    /// Adds an image to a product the whole way: the grant, the upload, the confirmation.
    /// Answers the confirmation.
    pub async fn add_image(
        &self,
        product_id: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> TestResponse {
        let grant = self.image_grant(product_id, content_type).await;
        assert_eq!(grant.status, StatusCode::CREATED, "{}", grant.text);
        let status = self.upload_with_grant(&grant.body["upload"], bytes).await;
        assert!((200..300).contains(&status), "S3 answered {status}");
        self.send_json(
            Method::POST,
            grant.body["confirm"].as_str().unwrap(),
            Role::Manager,
            &json!({}),
            &[],
        )
        .await
    }

    /// The messages sent to `to` through the local SES, oldest first (what `make outbox`
    /// prints; the local SES is shared by every test, so each test's addresses are its own).
    pub async fn outbox_for(&self, to: &str) -> Vec<devstack::SentMessage> {
        let endpoint = std::env::var("AWS_ENDPOINT_URL_SESV2")
            .expect("the local stack sets AWS_ENDPOINT_URL_SESV2");
        devstack::outbox(&endpoint)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.to == to)
            .collect()
    }

    /// Runs the scheduled sweep as if the clock read `at`.
    pub async fn sweep(&self, at: time::OffsetDateTime) -> shared::services::sweep::Swept {
        let state = AppState::new(&self.config, &self.clients);
        shared::services::sweep::sweep(&state, at).await.unwrap()
    }

    /// Every item in the table, as text (to look for what must not be there).
    pub async fn table_dump(&self) -> Vec<String> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .clients
                .dynamodb
                .scan()
                .table_name(&self.config.table_name)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            items.extend(
                page.items
                    .unwrap_or_default()
                    .iter()
                    .map(|i| format!("{i:?}")),
            );
            start = page.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// The domain events in the outbox, oldest first, as published (`detail`); only those of
    /// type `kind` when given.
    pub async fn domain_events(&self, kind: Option<&str>) -> Vec<Value> {
        let items: Vec<_> = self
            .clients
            .dynamodb
            .scan()
            .table_name(&self.config.table_name)
            .filter_expression("entity = :e")
            .expression_attribute_values(":e", AttributeValue::S("outbox_event".into()))
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut events: Vec<Value> = items
            .into_iter()
            .map(|i| serde_json::from_str(i.unwrap()["detail"].as_s().unwrap()).unwrap())
            .filter(|e: &Value| kind.is_none_or(|k| e["type"] == k))
            .collect();
        events.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        events
    }

    /// Every item in the table, to prove that failed requests wrote nothing.
    pub async fn table_item_count(&self) -> usize {
        self.clients
            .dynamodb
            .scan()
            .table_name(&self.config.table_name)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
            .len()
    }
}

/// `function` built from `state` through the start-up `main` uses; panics naming the function
/// when it refuses to start.
async fn built<S: FunctionState>(
    function: Function<S>,
    config: &Config,
    clients: &AwsClients,
    state: &AppState,
) -> (&'static str, Router) {
    let app = shared::lambda::build(function, config, clients, state.clone())
        .await
        .unwrap_or_else(|e| panic!("{} refused to start: {e}", function.name));
    (function.name, app)
}

/// Whether `path` fits the template's `pattern` (`{name}` matches one non-empty segment).
pub fn route_matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    pattern.len() == path.len()
        && pattern.iter().zip(&path).all(|(p, s)| {
            if p.starts_with('{') && p.ends_with('}') {
                !s.is_empty()
            } else {
                p == s
            }
        })
}

fn jwks_of(key: &SigningKey) -> String {
    serde_json::json!({ "keys": [key.public_jwk().unwrap()] }).to_string()
}

/// A password the policy accepts.
pub const STRONG_PASSWORD: &str = "velvet-otter-carries-17-lanterns";

/// A PNG's signature and header chunk for a `width` x `height` image: enough bytes for an
/// image reader to know the type and size.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bytes.extend(width.to_be_bytes());
    bytes.extend(height.to_be_bytes());
    bytes.extend([8, 6, 0, 0, 0]);
    bytes.extend([0; 4]);
    bytes.extend(b"\0\0\0\0IEND\xaeB`\x82");
    bytes
}

/// A valid product body; `n` makes its SKU and name unique.
pub fn product_body(n: usize) -> Value {
    serde_json::json!({
        "sku": format!("SKU-{n:04}"),
        "name": format!("Product {n}"),
        "description": "A thing of quality",
        "category": "Apparel",
        "brand": "Acme",
        "price": {"amount_minor": 1000 + n as i64, "currency": "INR"},
        "attributes": {"colour": "black"},
        "reorder_level": 3
    })
}
