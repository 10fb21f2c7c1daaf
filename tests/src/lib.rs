//! Test harness: each test gets its own table and bucket, created from `template.yaml` on the
//! local stack that `make test` starts, and calls the functions' real routers in process with
//! API Gateway-shaped requests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations,
    unreachable_pub
)]

use std::collections::HashMap;
use std::path::PathBuf;

use axum::Router;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use shared::api::AppState;
use shared::auth::{Role, SigningKey};
use shared::aws::AwsClients;
use shared::config::Config;
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

/// One isolated Stockroom: fresh table and bucket, a signing key, both functions' routers.
pub struct TestApp {
    pub key: SigningKey,
    pub config: Config,
    pub clients: AwsClients,
    pub products: Router,
    pub health: Router,
}

impl TestApp {
    /// A new isolated app on the local stack.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A new isolated app whose environment `adjust` may change before it is read.
    pub async fn spawn_with(adjust: impl FnOnce(&mut HashMap<String, String>)) -> Self {
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
        adjust(&mut env);
        let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        let state = AppState::new(&config, &clients);
        let products = shared::lambda::app(
            "products",
            &config,
            state.clone(),
            shared::api::products::router(),
        );
        let health = shared::lambda::app("health", &config, state, shared::api::health::router());
        Self {
            key,
            config,
            clients,
            products,
            health,
        }
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

    /// Sends `request` to the function that serves its path.
    pub async fn call(&self, request: Request<lambda_http::Body>) -> TestResponse {
        let router = if request.uri().path().starts_with("/health") {
            self.health.clone()
        } else {
            self.products.clone()
        };
        let response = router.oneshot(request).await.unwrap();
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

fn jwks_of(key: &SigningKey) -> String {
    serde_json::json!({ "keys": [key.public_jwk().unwrap()] }).to_string()
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
