//! Customers and their saved payment methods (tokens), in Razorpay's documented shapes:
//! `POST /v1/customers` (with `fail_existing`), `GET /v1/customers/{id}`,
//! `GET /v1/customers/{id}/tokens[/{token_id}]`, `DELETE /v1/customers/{id}/tokens/{token_id}`,
//! and `POST /v1/payments/create/recurring`, which charges a saved token for an order.
//! Tokens come from a checkout whose customer ticked "save" (the control API's `"save": true`)
//! or from `POST /_stand-in/customers/{id}/tokens`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::{PayOutcome, Source, StandIn, error, json_body, missing, new_id, now};

/// `fail_existing` as Razorpay takes it: `"0"`/`0`/`false` return the existing customer.
fn fail_existing(v: &Value) -> bool {
    !matches!(v, Value::String(s) if s == "0")
        && !matches!(v, Value::Number(n) if n.as_i64() == Some(0))
        && *v != Value::Bool(false)
}

pub(crate) async fn create_customer(State(s): State<StandIn>, body: Bytes) -> Response {
    let v = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let text = |field: &str| v[field].as_str().map(str::trim).filter(|t| !t.is_empty());
    if let Some(name) = text("name")
        && (name.chars().count() < 3 || name.chars().count() > 50)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "The name must be at least 3 characters and may not be greater than 50 characters.",
            Some("name"),
        );
    }
    if let Some(email) = text("email")
        && !email.contains('@')
    {
        return error(
            StatusCode::BAD_REQUEST,
            "The email must be a valid email address.",
            Some("email"),
        );
    }
    let (email, contact) = (text("email"), text("contact"));
    let mut books = s.books();
    let existing = books
        .customers
        .values()
        .find(|c| {
            (email.is_some() || contact.is_some())
                && c["email"].as_str() == email
                && c["contact"].as_str() == contact
        })
        .cloned();
    if let Some(c) = existing {
        if fail_existing(v.get("fail_existing").unwrap_or(&json!("1"))) {
            return error(
                StatusCode::BAD_REQUEST,
                "Customer already exists for the merchant",
                None,
            );
        }
        return axum::Json(c).into_response();
    }
    let id = new_id("cust");
    let customer = json!({
        "id": id,
        "entity": "customer",
        "name": text("name"),
        "email": email,
        "contact": contact,
        "gstin": text("gstin"),
        "notes": v.get("notes").cloned().unwrap_or(json!([])),
        "created_at": now(),
    });
    books.customers.insert(id, customer.clone());
    axum::Json(customer).into_response()
}

pub(crate) async fn fetch_customer(State(s): State<StandIn>, Path(id): Path<String>) -> Response {
    s.books()
        .customers
        .get(&id)
        .cloned()
        .map_or_else(|| missing(&id), |c| axum::Json(c).into_response())
}

/// The live tokens of `customer`.
fn tokens_of(s: &StandIn, customer: &str) -> Vec<Value> {
    s.books()
        .tokens
        .values()
        .filter(|t| t["customer_id"] == customer)
        .map(public_token)
        .collect()
}

/// A token as Razorpay answers it (the customer it belongs to is the URL's, not a field).
fn public_token(token: &Value) -> Value {
    let mut t = token.clone();
    if let Some(o) = t.as_object_mut() {
        o.remove("customer_id");
    }
    t
}

pub(crate) async fn list_tokens(State(s): State<StandIn>, Path(id): Path<String>) -> Response {
    if !s.books().customers.contains_key(&id) {
        return missing(&id);
    }
    let items = tokens_of(&s, &id);
    axum::Json(json!({"entity": "collection", "count": items.len(), "items": items}))
        .into_response()
}

pub(crate) async fn fetch_token(
    State(s): State<StandIn>,
    Path((customer, token)): Path<(String, String)>,
) -> Response {
    let books = s.books();
    match books.tokens.get(&token) {
        Some(t) if t["customer_id"] == customer.as_str() => {
            axum::Json(public_token(t)).into_response()
        }
        _ => missing(&token),
    }
}

pub(crate) async fn delete_token(
    State(s): State<StandIn>,
    Path((customer, token)): Path<(String, String)>,
) -> Response {
    let mut books = s.books();
    match books.tokens.get(&token) {
        Some(t) if t["customer_id"] == customer.as_str() => {
            books.tokens.remove(&token);
            axum::Json(json!({"deleted": true})).into_response()
        }
        _ => missing(&token),
    }
}

impl StandIn {
    /// Saves a payment method for `customer`: a Visa credit card (`card`) or a UPI address
    /// (`upi`). Returns the token.
    pub fn save_token(&self, customer: &str, method: &str) -> Result<Value, String> {
        let mut books = self.books();
        if !books.customers.contains_key(customer) {
            return Err(format!("no customer {customer}"));
        }
        let id = new_id("token");
        let n = books.tokens.len();
        let (card, vpa) = match method {
            "card" => (
                json!({"entity": "card", "name": "Stockroom Shopper", "last4": format!("{:04}", 1111 + n),
                       "network": "Visa", "type": "credit", "issuer": "HDFC", "international": false,
                       "emi": false, "sub_type": "consumer", "expiry_month": 12, "expiry_year": 2030}),
                Value::Null,
            ),
            "upi" => (
                Value::Null,
                json!({"username": format!("shopper{n}"), "handle": "okhdfcbank", "name": null}),
            ),
            other => return Err(format!("method '{other}' is not card or upi")),
        };
        let token = json!({
            "id": id,
            "entity": "token",
            "token": new_id("tkn").trim_start_matches("tkn_"),
            "bank": null,
            "wallet": null,
            "method": method,
            "card": card,
            "vpa": vpa,
            "recurring": true,
            "recurring_details": {"status": "confirmed", "failure_reason": null},
            "auth_type": null,
            "mrn": null,
            "used_at": now(),
            "created_at": now(),
            "expired_at": now() + 4 * 365 * 86_400,
            "dcc_enabled": false,
            "customer_id": customer,
        });
        books.tokens.insert(id, token.clone());
        Ok(public_token(&token))
    }

    /// A customer made outside Stockroom (in Razorpay's dashboard, or by another account that
    /// had the address before): answers its id.
    pub fn add_customer(&self, email: &str) -> String {
        let id = new_id("cust");
        let customer = json!({"id": id, "entity": "customer", "name": null, "email": email,
            "contact": null, "gstin": null, "notes": [], "created_at": now()});
        self.books().customers.insert(id.clone(), customer);
        id
    }

    /// How many tokens `customer` holds (tests).
    pub fn token_count(&self, customer: &str) -> usize {
        tokens_of(self, customer).len()
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenControl {
    method: String,
}

pub(crate) async fn control_save_token(
    State(s): State<StandIn>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let method = match serde_json::from_slice::<TokenControl>(&body) {
        Ok(c) => c.method,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("bad control request: {e}"),
                None,
            );
        }
    };
    match s.save_token(&id, &method) {
        Ok(token) => axum::Json(token).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e, None),
    }
}

/// `POST /v1/payments/create/recurring`: charges a saved token for an order, as Razorpay's
/// subsequent-payment API does; answers the checkout callback fields and sends the payment's
/// webhooks.
pub(crate) async fn create_recurring(State(s): State<StandIn>, body: Bytes) -> Response {
    let v = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    for field in [
        "email",
        "contact",
        "order_id",
        "customer_id",
        "token",
        "currency",
    ] {
        if v[field].as_str().is_none_or(str::is_empty) {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("The {field} field is required."),
                Some(field),
            );
        }
    }
    let field = |f: &str| v[f].as_str().unwrap_or_default().to_owned();
    let (order_id, customer, token_id) = (field("order_id"), field("customer_id"), field("token"));
    {
        let books = s.books();
        let Some(order) = books.orders.get(&order_id) else {
            return missing(&order_id);
        };
        if order["status"] == "paid" {
            return error(
                StatusCode::BAD_REQUEST,
                "Order has already been paid",
                Some("order_id"),
            );
        }
        if v["amount"].as_i64() != order["amount"].as_i64() || v["currency"] != order["currency"] {
            return error(
                StatusCode::BAD_REQUEST,
                "The amount must be equal to the order amount.",
                Some("amount"),
            );
        }
        if order["customer_id"].as_str().is_some_and(|c| c != customer) {
            return error(
                StatusCode::BAD_REQUEST,
                "The order belongs to another customer.",
                Some("customer_id"),
            );
        }
        if !books.customers.contains_key(&customer) {
            return missing(&customer);
        }
        match books.tokens.get(&token_id) {
            Some(t) if t["customer_id"] == customer.as_str() => {}
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "The token provided is invalid.",
                    Some("token"),
                );
            }
        }
    }
    let method = s.books().tokens[&token_id]["method"]
        .as_str()
        .unwrap_or("card")
        .to_owned();
    let source = Source {
        method,
        customer_id: Some(customer),
        token_id: Some(token_id),
        save: false,
    };
    let checkout = match s.pay_from(&order_id, PayOutcome::Captured, None, &source) {
        Ok(c) => c,
        Err(e) => return missing(&e),
    };
    let deliverer = s.clone();
    let deliveries = checkout.deliveries.clone();
    tokio::spawn(async move {
        deliverer
            .deliver(deliveries, std::time::Duration::from_millis(50))
            .await
    });
    axum::Json(json!({
        "razorpay_payment_id": checkout.payment_id,
        "razorpay_order_id": order_id,
        "razorpay_signature": checkout.signature,
    }))
    .into_response()
}
