//! A local development stand-in for Razorpay, in the spirit of localstripe: **not Razorpay**,
//! just the parts of its documented API that Stockroom uses, so `make dev` can take an order
//! all the way to paid without keys or internet, and tests can speak the real wire format.
//!
//! Razorpay API (Basic auth with the key id and secret, Razorpay's error body shape):
//! `POST /v1/orders` (with an optional `customer_id`), `GET /v1/orders/{id}`,
//! `GET /v1/payments/{id}`, `POST /v1/payments/{id}/capture`, `POST /v1/payments/{id}/refund`
//! (honours `X-Refund-Idempotency`), `GET /v1/refunds/{id}`; customers and their saved
//! payment methods, and charging one (`customers.rs`).
//!
//! Control API (no auth; this stand-in only):
//! - `POST /_stand-in/orders/{id}/pay` `{"outcome": "captured"|"authorized"|"failed",
//!   "amount": n, "delivery": "in_order"|"reversed"|"duplicated"|"shuffled", "delay_ms": n}`:
//!   a customer pays (or fails to); answers the checkout callback fields and delivers the
//!   signed webhooks to the configured URL in the chosen order. `"save": true` saves the card
//!   as a token of the order's customer (the customer ticked "save this card").
//! - `POST /_stand-in/customers/{id}/tokens` `{"method": "card"|"upi"}`: a saved method.
//! - `POST /_stand-in/refunds/{id}/process` `{"outcome": "processed"|"failed"}`.
//! - `POST /_stand-in/faults` `{"path_prefix": "/v1/orders", "status": 503, "delay_ms": 0,
//!   "times": 1}`: the next matching calls fail or stall.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::payments::sign_hex;

mod customers;

/// Keys and where to deliver webhooks.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Expected Basic auth user.
    pub key_id: String,
    /// Expected Basic auth password; signs checkout callbacks.
    pub key_secret: String,
    /// Signs webhook deliveries.
    pub webhook_secret: String,
    /// Where webhooks go (`None`: nowhere; the caller of the control API gets them).
    pub webhook_url: Option<String>,
}

/// A signed webhook delivery, as Razorpay would POST it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `X-Razorpay-Event-Id`.
    pub event_id: String,
    /// The event name, e.g. `payment.captured`.
    pub event: String,
    /// The raw body.
    pub body: String,
    /// `X-Razorpay-Signature`.
    pub signature: String,
}

/// What the customer's checkout ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayOutcome {
    /// Authorized and captured (auto-capture): `payment.authorized`, `payment.captured`,
    /// `order.paid`.
    Captured,
    /// Authorized only: `payment.authorized`.
    Authorized,
    /// Failed: `payment.failed`.
    Failed,
}

/// The checkout callback fields and the webhooks the payment caused.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// `razorpay_payment_id`.
    pub payment_id: String,
    /// `razorpay_signature`: HMAC of `order_id|payment_id` with the key secret.
    pub signature: String,
    /// The signed deliveries, in the order Razorpay would send them.
    pub deliveries: Vec<Delivery>,
}

/// The next calls whose path starts with `path_prefix` fail with `status` (or, with status 0,
/// only wait `delay`).
#[derive(Debug, Clone, Deserialize)]
pub struct Fault {
    /// e.g. `/v1/orders`.
    pub path_prefix: String,
    /// HTTP status to answer (0: answer normally after the delay).
    #[serde(default)]
    pub status: u16,
    /// Wait this long first.
    #[serde(default)]
    pub delay_ms: u64,
    /// How many calls it affects.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Default)]
struct Books {
    orders: BTreeMap<String, Value>,
    payments: BTreeMap<String, Value>,
    refunds: BTreeMap<String, Value>,
    /// Refund idempotency key -> (request body, refund id).
    refund_keys: HashMap<String, (Value, String)>,
    faults: Vec<Fault>,
    events: u64,
    customers: BTreeMap<String, Value>,
    /// Saved payment methods by token id (each with its `customer_id`).
    tokens: BTreeMap<String, Value>,
    /// Deliveries made while no webhook URL is set (tests take them).
    undelivered: Vec<Delivery>,
}

/// How a payment is made: at the checkout (UPI, unless a saved token pays), possibly saving
/// the card for the order's customer.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) method: String,
    pub(crate) customer_id: Option<String>,
    pub(crate) token_id: Option<String>,
    pub(crate) save: bool,
}

impl Source {
    fn checkout(save: bool) -> Self {
        Self {
            method: "upi".into(),
            customer_id: None,
            token_id: None,
            save,
        }
    }
}

/// The stand-in: cheap to clone, shared state.
#[derive(Debug, Clone)]
pub struct StandIn {
    settings: Arc<Settings>,
    books: Arc<Mutex<Books>>,
    http: reqwest::Client,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A Razorpay-looking id: prefix, underscore, 14 alphanumerics.
fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = uuid::Uuid::new_v4();
    let suffix: String = bytes
        .as_bytes()
        .iter()
        .take(14)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("{prefix}_{suffix}")
}

/// Razorpay's error body.
fn error(status: StatusCode, description: &str, field: Option<&str>) -> Response {
    let mut detail = json!({
        "code": if status.is_server_error() { "SERVER_ERROR" } else { "BAD_REQUEST_ERROR" },
        "description": description,
        "source": if status == StatusCode::UNAUTHORIZED { "NA" } else { "business" },
        "step": if status == StatusCode::UNAUTHORIZED { "NA" } else { "payment_initiation" },
        "reason": if status == StatusCode::UNAUTHORIZED { "NA" } else { "input_validation_failed" },
        "metadata": {},
    });
    if let (Some(f), Some(obj)) = (field, detail.as_object_mut()) {
        obj.insert("field".into(), json!(f));
    }
    (status, axum::Json(json!({ "error": detail }))).into_response()
}

fn missing(what: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("The id provided does not exist: {what}"),
        Some("id"),
    )
}

impl StandIn {
    /// A stand-in with no orders yet.
    pub fn new(settings: Settings) -> Self {
        Self {
            settings: Arc::new(settings),
            books: Arc::default(),
            http: reqwest::Client::new(),
        }
    }

    fn books(&self) -> MutexGuard<'_, Books> {
        self.books
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The HTTP API (Razorpay's routes and the control routes).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/orders", post(create_order))
            .route("/v1/orders/{id}", get(fetch_order))
            .route("/v1/payments/{id}", get(fetch_payment))
            .route("/v1/payments/{id}/capture", post(capture))
            .route("/v1/payments/{id}/refund", post(refund))
            .route("/v1/refunds/{id}", get(fetch_refund))
            .route("/v1/customers", post(customers::create_customer))
            .route("/v1/customers/{id}", get(customers::fetch_customer))
            .route("/v1/customers/{id}/tokens", get(customers::list_tokens))
            .route(
                "/v1/customers/{id}/tokens/{token_id}",
                get(customers::fetch_token).delete(customers::delete_token),
            )
            .route(
                "/v1/payments/create/recurring",
                post(customers::create_recurring),
            )
            .route_layer(middleware::from_fn_with_state(self.clone(), basic_auth))
            .route("/_stand-in/orders/{id}/pay", post(control_pay))
            .route(
                "/_stand-in/customers/{id}/tokens",
                post(customers::control_save_token),
            )
            .route("/_stand-in/refunds/{id}/process", post(control_refund))
            .route("/_stand-in/faults", post(control_fault))
            .route("/_stand-in/health", get(|| async { "ok" }))
            .layer(middleware::from_fn_with_state(self.clone(), faults))
            .with_state(self.clone())
    }

    /// Serves on an ephemeral local port; returns the base URL.
    pub async fn spawn(&self) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let router = self.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(format!("http://{addr}"))
    }

    /// Makes the next matching calls fail or stall.
    pub fn inject(&self, fault: Fault) {
        self.books().faults.push(fault);
    }

    /// The deliveries made while no webhook URL was set, oldest first (taken: the next call
    /// answers only newer ones).
    pub fn take_undelivered(&self) -> Vec<Delivery> {
        std::mem::take(&mut self.books().undelivered)
    }

    /// How many orders were created.
    pub fn order_count(&self) -> usize {
        self.books().orders.len()
    }

    /// The refunds of a payment (as Razorpay would list them).
    pub fn refunds_of(&self, payment_id: &str) -> Vec<Value> {
        self.books()
            .refunds
            .values()
            .filter(|r| r["payment_id"] == payment_id)
            .cloned()
            .collect()
    }

    /// A signed delivery of `event` carrying `payload`.
    pub fn delivery(&self, event: &str, payload: &Value) -> Delivery {
        let contains: Vec<&String> = payload
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        let body = json!({
            "entity": "event",
            "account_id": "acc_StockroomLocal1",
            "event": event,
            "contains": contains,
            "payload": payload,
            "created_at": now(),
        })
        .to_string();
        let n = {
            let mut books = self.books();
            books.events += 1;
            books.events
        };
        Delivery {
            event_id: format!("{}{n}", new_id("evt")),
            event: event.to_owned(),
            signature: sign_hex(&self.settings.webhook_secret, body.as_bytes()),
            body,
        }
    }

    /// A customer pays order `order_id` (Razorpay's id) with `outcome`; `amount` overrides the
    /// amount paid (to simulate a mismatch).
    pub fn pay(
        &self,
        order_id: &str,
        outcome: PayOutcome,
        amount: Option<i64>,
    ) -> Result<Checkout, String> {
        self.pay_from(order_id, outcome, amount, &Source::checkout(false))
    }

    /// [`Self::pay`] (captured) by a customer who ticks "save this card": the card becomes a
    /// token of the order's customer.
    pub fn pay_saving_card(&self, order_id: &str) -> Result<Checkout, String> {
        self.pay_from(
            order_id,
            PayOutcome::Captured,
            None,
            &Source::checkout(true),
        )
    }

    /// [`Self::pay`] from `source`.
    pub(crate) fn pay_from(
        &self,
        order_id: &str,
        outcome: PayOutcome,
        amount: Option<i64>,
        source: &Source,
    ) -> Result<Checkout, String> {
        let payment_id = new_id("pay");
        let customer = {
            let books = self.books();
            let order = books
                .orders
                .get(order_id)
                .ok_or_else(|| format!("no order {order_id}"))?;
            source
                .customer_id
                .clone()
                .or_else(|| order["customer_id"].as_str().map(str::to_owned))
        };
        let saved = match (&customer, source.save, outcome) {
            (Some(c), true, PayOutcome::Captured | PayOutcome::Authorized) => {
                Some(self.save_token(c, "card")?)
            }
            _ => None,
        };
        let token_id = source.token_id.clone().or_else(|| {
            saved
                .as_ref()
                .and_then(|t| t["id"].as_str().map(str::to_owned))
        });
        let method = if saved.is_some() {
            "card"
        } else {
            source.method.as_str()
        };
        let (order, payment) = {
            let mut books = self.books();
            let order = books
                .orders
                .get_mut(order_id)
                .ok_or_else(|| format!("no order {order_id}"))?;
            let amount = amount.unwrap_or_else(|| order["amount"].as_i64().unwrap_or(0));
            order["attempts"] = json!(order["attempts"].as_i64().unwrap_or(0) + 1);
            let captured = outcome == PayOutcome::Captured;
            if captured {
                order["status"] = json!("paid");
                order["amount_paid"] = json!(amount);
                order["amount_due"] = json!(0);
            } else {
                order["status"] = json!("attempted");
            }
            let failed = outcome == PayOutcome::Failed;
            let payment = json!({
                "id": payment_id,
                "entity": "payment",
                "amount": amount,
                "currency": order["currency"],
                "status": match outcome {
                    PayOutcome::Captured => "captured",
                    PayOutcome::Authorized => "authorized",
                    PayOutcome::Failed => "failed",
                },
                "order_id": order_id,
                "invoice_id": null,
                "international": false,
                "method": method,
                "customer_id": customer,
                "token_id": token_id,
                "recurring": source.token_id.is_some(),
                "amount_refunded": 0,
                "refund_status": null,
                "captured": captured,
                "description": "Stockroom order",
                "card_id": null,
                "bank": null,
                "wallet": null,
                "vpa": if method == "upi" { json!("customer@upi") } else { Value::Null },
                "email": "customer@example.com",
                "contact": "+919000090000",
                "notes": order["notes"],
                "fee": if captured { json!(amount / 50) } else { Value::Null },
                "tax": if captured { json!(amount / 50 * 18 / 100) } else { Value::Null },
                "error_code": if failed { json!("BAD_REQUEST_ERROR") } else { Value::Null },
                "error_description": if failed { json!("Payment failed because the customer's bank declined it.") } else { Value::Null },
                "error_source": if failed { json!("bank") } else { Value::Null },
                "error_step": if failed { json!("payment_authorization") } else { Value::Null },
                "error_reason": if failed { json!("payment_failed") } else { Value::Null },
                "acquirer_data": {"rrn": "000000000000"},
                "created_at": now(),
            });
            let order = order.clone();
            books.payments.insert(payment_id.clone(), payment.clone());
            (order, payment)
        };
        let mut authorized = payment.clone();
        authorized["status"] = json!("authorized");
        authorized["captured"] = json!(false);
        let deliveries = match outcome {
            PayOutcome::Failed => {
                vec![self.delivery("payment.failed", &json!({"payment": {"entity": payment}}))]
            }
            PayOutcome::Authorized => vec![self.delivery(
                "payment.authorized",
                &json!({"payment": {"entity": payment}}),
            )],
            PayOutcome::Captured => vec![
                self.delivery(
                    "payment.authorized",
                    &json!({"payment": {"entity": authorized}}),
                ),
                self.delivery("payment.captured", &json!({"payment": {"entity": payment}})),
                self.delivery(
                    "order.paid",
                    &json!({"payment": {"entity": payment}, "order": {"entity": order}}),
                ),
            ],
        };
        Ok(Checkout {
            signature: sign_hex(
                &self.settings.key_secret,
                format!("{order_id}|{payment_id}").as_bytes(),
            ),
            payment_id,
            deliveries,
        })
    }

    /// Razorpay finishes refund `refund_id`: processed or failed; returns the delivery.
    pub fn process_refund(&self, refund_id: &str, processed: bool) -> Result<Delivery, String> {
        let (refund, payment) = {
            let mut books = self.books();
            let refund = books
                .refunds
                .get_mut(refund_id)
                .ok_or_else(|| format!("no refund {refund_id}"))?;
            refund["status"] = json!(if processed { "processed" } else { "failed" });
            let refund = refund.clone();
            let payment_id = refund["payment_id"].as_str().unwrap_or_default().to_owned();
            let payment = books
                .payments
                .get_mut(&payment_id)
                .ok_or("the refund's payment is gone")?;
            if !processed {
                let back = payment["amount_refunded"].as_i64().unwrap_or(0)
                    - refund["amount"].as_i64().unwrap_or(0);
                payment["amount_refunded"] = json!(back.max(0));
            }
            (refund, payment.clone())
        };
        let event = if processed {
            "refund.processed"
        } else {
            "refund.failed"
        };
        Ok(self.delivery(
            event,
            &json!({"refund": {"entity": refund}, "payment": {"entity": payment}}),
        ))
    }

    /// POSTs deliveries to the webhook URL, one after another, `delay` apart.
    pub async fn deliver(&self, deliveries: Vec<Delivery>, delay: Duration) {
        let Some(url) = self.settings.webhook_url.clone() else {
            self.books().undelivered.extend(deliveries);
            return;
        };
        for d in deliveries {
            tokio::time::sleep(delay).await;
            let sent = self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-razorpay-signature", &d.signature)
                .header("x-razorpay-event-id", &d.event_id)
                .body(d.body.clone())
                .send()
                .await;
            match sent {
                Ok(r) => eprintln!(
                    "razorpay-local: delivered {} ({}) -> {}",
                    d.event,
                    d.event_id,
                    r.status()
                ),
                Err(e) => eprintln!(
                    "razorpay-local: could not deliver {} to {url}: {e}",
                    d.event
                ),
            }
        }
    }
}

async fn basic_auth(State(s): State<StandIn>, request: Request, next: Next) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", s.settings.key_id, s.settings.key_secret))
    );
    let given = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if given != Some(expected.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "Authentication failed", None);
    }
    next.run(request).await
}

async fn faults(State(s): State<StandIn>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let fault = {
        let mut books = s.books();
        let found = books
            .faults
            .iter_mut()
            .find(|f| path.starts_with(&f.path_prefix) && f.times > 0);
        found.map(|f| {
            f.times -= 1;
            f.clone()
        })
    };
    if let Some(f) = fault {
        tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
        if let Ok(status) = StatusCode::from_u16(f.status)
            && f.status >= 400
        {
            return error(
                status,
                "We are facing some trouble completing your request at the moment. Please try again shortly.",
                None,
            );
        }
    }
    next.run(request).await
}

fn json_body(body: &Bytes) -> Result<Value, Box<Response>> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                "The request body is not valid JSON",
                None,
            ))
        })
}

async fn create_order(State(s): State<StandIn>, body: Bytes) -> Response {
    let v = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(amount) = v["amount"].as_i64() else {
        return error(
            StatusCode::BAD_REQUEST,
            "The amount field is required.",
            Some("amount"),
        );
    };
    if amount < 100 {
        return error(
            StatusCode::BAD_REQUEST,
            "Order amount less than minimum amount allowed",
            Some("amount"),
        );
    }
    let Some(currency) = v["currency"].as_str().filter(|c| c.len() == 3) else {
        return error(
            StatusCode::BAD_REQUEST,
            "The currency field is required.",
            Some("currency"),
        );
    };
    if v["receipt"]
        .as_str()
        .is_some_and(|r| r.chars().count() > 40)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "The receipt may not be greater than 40 characters.",
            Some("receipt"),
        );
    }
    if v["notes"].as_object().is_some_and(|n| n.len() > 15) {
        return error(
            StatusCode::BAD_REQUEST,
            "Number of fields in notes should be less than or equal to 15",
            Some("notes"),
        );
    }
    let customer_id = match v.get("customer_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if s.books().customers.contains_key(c) => Some(c.clone()),
        Some(other) => return missing(other.as_str().unwrap_or("customer_id")),
    };
    let id = new_id("order");
    let order = json!({
        "id": id,
        "entity": "order",
        "amount": amount,
        "amount_paid": 0,
        "amount_due": amount,
        "currency": currency,
        "receipt": v["receipt"],
        "offer_id": null,
        "status": "created",
        "attempts": 0,
        "notes": v.get("notes").cloned().unwrap_or(json!([])),
        "customer_id": customer_id,
        "created_at": now(),
    });
    s.books().orders.insert(id, order.clone());
    axum::Json(order).into_response()
}

async fn fetch_order(State(s): State<StandIn>, Path(id): Path<String>) -> Response {
    s.books()
        .orders
        .get(&id)
        .cloned()
        .map_or_else(|| missing(&id), |o| axum::Json(o).into_response())
}

async fn fetch_payment(State(s): State<StandIn>, Path(id): Path<String>) -> Response {
    s.books()
        .payments
        .get(&id)
        .cloned()
        .map_or_else(|| missing(&id), |p| axum::Json(p).into_response())
}

async fn fetch_refund(State(s): State<StandIn>, Path(id): Path<String>) -> Response {
    s.books()
        .refunds
        .get(&id)
        .cloned()
        .map_or_else(|| missing(&id), |r| axum::Json(r).into_response())
}

async fn capture(State(s): State<StandIn>, Path(id): Path<String>, body: Bytes) -> Response {
    let v = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut books = s.books();
    let Some(payment) = books.payments.get_mut(&id) else {
        return missing(&id);
    };
    if payment["status"] != "authorized" {
        return error(
            StatusCode::BAD_REQUEST,
            "This payment has already been captured",
            None,
        );
    }
    if v["amount"] != payment["amount"] {
        return error(
            StatusCode::BAD_REQUEST,
            "Capture amount must be equal to the amount authorized",
            Some("amount"),
        );
    }
    payment["status"] = json!("captured");
    payment["captured"] = json!(true);
    axum::Json(payment.clone()).into_response()
}

async fn refund(
    State(s): State<StandIn>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let key = headers
        .get("x-refund-idempotency")
        .and_then(|k| k.to_str().ok())
        .map(str::to_owned);
    if let Some(k) = &key
        && (k.len() < 10
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "The idempotency key must be at least 10 characters of letters, digits, hyphens and underscores",
            None,
        );
    }
    let (refund, delivery_payment) = {
        let mut books = s.books();
        if let Some(k) = &key
            && let Some((first, refund_id)) = books.refund_keys.get(k).cloned()
        {
            if first != v {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Different request with the same idempotency key has already been processed.",
                    None,
                );
            }
            return axum::Json(books.refunds.get(&refund_id).cloned().unwrap_or_default())
                .into_response();
        }
        let Some(payment) = books.payments.get_mut(&id) else {
            return missing(&id);
        };
        if payment["status"] != "captured" {
            return error(
                StatusCode::BAD_REQUEST,
                "The payment has not been captured",
                None,
            );
        }
        let captured = payment["amount"].as_i64().unwrap_or(0);
        let refunded = payment["amount_refunded"].as_i64().unwrap_or(0);
        let amount = v["amount"].as_i64().unwrap_or(captured - refunded);
        if amount < 100 {
            return error(
                StatusCode::BAD_REQUEST,
                "The amount must be at least INR 1.00",
                Some("amount"),
            );
        }
        if amount > captured - refunded {
            return error(
                StatusCode::BAD_REQUEST,
                "The refund amount provided is greater than amount captured",
                Some("amount"),
            );
        }
        payment["amount_refunded"] = json!(refunded + amount);
        payment["refund_status"] = json!(if refunded + amount == captured {
            "full"
        } else {
            "partial"
        });
        let payment = payment.clone();
        let refund_id = new_id("rfnd");
        let refund = json!({
            "id": refund_id,
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": id,
            "notes": v.get("notes").cloned().unwrap_or(json!([])),
            "receipt": v["receipt"],
            "acquirer_data": {"arn": null},
            "created_at": now(),
            "batch_id": null,
            "status": "pending",
            "speed_processed": "normal",
            "speed_requested": v["speed"].as_str().unwrap_or("normal"),
        });
        books.refunds.insert(refund_id.clone(), refund.clone());
        if let Some(k) = key {
            books.refund_keys.insert(k, (v, refund_id));
        }
        (refund, payment)
    };
    let delivery = s.delivery(
        "refund.created",
        &json!({"refund": {"entity": refund}, "payment": {"entity": delivery_payment}}),
    );
    let deliverer = s.clone();
    tokio::spawn(async move {
        deliverer
            .deliver(vec![delivery], Duration::from_millis(200))
            .await
    });
    axum::Json(refund).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayControl {
    #[serde(default)]
    outcome: Option<PayOutcome>,
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    delivery: Option<String>,
    #[serde(default)]
    delay_ms: Option<u64>,
    /// Save the card for the order's customer.
    #[serde(default)]
    save: bool,
}

async fn control_pay(State(s): State<StandIn>, Path(id): Path<String>, body: Bytes) -> Response {
    let control: PayControl = if body.is_empty() {
        PayControl {
            outcome: None,
            amount: None,
            delivery: None,
            delay_ms: None,
            save: false,
        }
    } else {
        match serde_json::from_slice(&body) {
            Ok(c) => c,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("bad control request: {e}"),
                    None,
                );
            }
        }
    };
    let checkout = match s.pay_from(
        &id,
        control.outcome.unwrap_or(PayOutcome::Captured),
        control.amount,
        &Source::checkout(control.save),
    ) {
        Ok(c) => c,
        Err(e) => return missing(&e),
    };
    let mut deliveries = checkout.deliveries.clone();
    match control.delivery.as_deref().unwrap_or("in_order") {
        "in_order" => {}
        "reversed" => deliveries.reverse(),
        "duplicated" => {
            deliveries = deliveries
                .iter()
                .flat_map(|d| [d.clone(), d.clone()])
                .collect()
        }
        "shuffled" => deliveries.sort_by_key(|_| uuid::Uuid::new_v4()),
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("delivery '{other}' is not in_order, reversed, duplicated or shuffled"),
                Some("delivery"),
            );
        }
    }
    let events: Vec<&str> = deliveries.iter().map(|d| d.event.as_str()).collect();
    let answer = json!({
        "razorpay_order_id": id,
        "razorpay_payment_id": checkout.payment_id,
        "razorpay_signature": checkout.signature,
        "deliveries": events,
    });
    let delay = Duration::from_millis(control.delay_ms.unwrap_or(100));
    let deliverer = s.clone();
    tokio::spawn(async move { deliverer.deliver(deliveries, delay).await });
    axum::Json(answer).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundControl {
    outcome: String,
}

async fn control_refund(State(s): State<StandIn>, Path(id): Path<String>, body: Bytes) -> Response {
    let processed = match serde_json::from_slice::<RefundControl>(&body).map(|c| c.outcome) {
        Ok(o) if o == "processed" => true,
        Ok(o) if o == "failed" => false,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "outcome must be processed or failed",
                Some("outcome"),
            );
        }
    };
    match s.process_refund(&id, processed) {
        Ok(delivery) => {
            let deliverer = s.clone();
            tokio::spawn(async move { deliverer.deliver(vec![delivery], Duration::ZERO).await });
            axum::Json(s.books().refunds.get(&id).cloned().unwrap_or_default()).into_response()
        }
        Err(e) => missing(&e),
    }
}

async fn control_fault(State(s): State<StandIn>, body: Bytes) -> Response {
    match serde_json::from_slice::<Fault>(&body) {
        Ok(f) => {
            s.inject(f);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &format!("bad fault: {e}"), None),
    }
}
