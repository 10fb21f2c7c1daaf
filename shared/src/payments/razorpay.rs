//! A small client for the parts of Razorpay's REST API that Stockroom uses: creating orders and
//! refunds. Basic auth with the key id and secret; the base URL is configuration so tests and
//! sandboxes point it at a local stand-in.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where Razorpay is and how to sign in to it.
#[derive(Clone)]
pub struct RazorpaySettings {
    /// `https://api.razorpay.com` in production.
    pub base_url: String,
    /// The public key id (also given to the checkout).
    pub key_id: String,
    /// The key secret: Basic auth password and checkout signature key.
    pub key_secret: String,
    /// Time allowed for one HTTP attempt.
    pub timeout: Duration,
}

impl std::fmt::Debug for RazorpaySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RazorpaySettings")
            .field("base_url", &self.base_url)
            .field("key_id", &self.key_id)
            .field("key_secret", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The body of Razorpay's `POST /v1/orders`.
#[derive(Debug, Clone, Serialize)]
pub struct NewRazorpayOrder {
    /// Amount in minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Our reference (at most 40 characters): our order id.
    pub receipt: String,
    /// Key-value notes (at most 15): carries our order id.
    pub notes: serde_json::Map<String, serde_json::Value>,
    /// The Razorpay customer paying, when the account linked one (its saved methods are
    /// offered at the checkout, and a card may be saved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
}

/// The body of Razorpay's `POST /v1/customers`.
#[derive(Debug, Clone, Serialize)]
pub struct NewCustomer {
    /// The customer's name (3 to 50 characters), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Their e-mail address.
    pub email: String,
    /// `"0"`: answer the existing customer with this address instead of failing, which makes
    /// the call safe to repeat.
    pub fail_existing: &'static str,
    /// Key-value notes: our account id.
    pub notes: serde_json::Map<String, serde_json::Value>,
}

/// A Razorpay customer (the fields Stockroom reads).
#[derive(Debug, Clone, Deserialize)]
pub struct RazorpayCustomer {
    /// `cust_...`.
    pub id: String,
    /// The notes it was created with (Stockroom's carry `account_id`; `[]` when none).
    #[serde(default)]
    pub notes: serde_json::Value,
}

/// A saved payment method of a customer, as Razorpay's token API answers it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RazorpayToken {
    /// `token_...`.
    pub id: String,
    /// `card`, `upi`, ...
    pub method: String,
    /// A card's public details (network, last four digits, issuer, type, expiry).
    #[serde(default)]
    pub card: Option<serde_json::Value>,
    /// A UPI address's parts (`username`, `handle`).
    #[serde(default)]
    pub vpa: Option<serde_json::Value>,
    /// When it was saved and when it expires (Unix seconds).
    #[serde(default)]
    pub created_at: Option<i64>,
    /// When it stops working.
    #[serde(default)]
    pub expired_at: Option<i64>,
    /// Whether it may pay without the customer (Razorpay's recurring payments).
    #[serde(default)]
    pub recurring: bool,
    /// The recurring mandate's state (`status`: `confirmed` when it may be charged).
    #[serde(default)]
    pub recurring_details: Option<serde_json::Value>,
}

impl RazorpayToken {
    /// Whether Stockroom may charge it at checkout: a confirmed recurring token.
    pub fn chargeable(&self) -> bool {
        self.recurring
            && self
                .recurring_details
                .as_ref()
                .and_then(|d| d["status"].as_str())
                == Some("confirmed")
    }
}

#[derive(Debug, Deserialize)]
struct Collection<T> {
    items: Vec<T>,
}

/// The body of Razorpay's `POST /v1/payments/create/recurring`: a saved token pays an order.
#[derive(Debug, Clone, Serialize)]
pub struct NewTokenPayment {
    /// The payer's e-mail address.
    pub email: String,
    /// The payer's phone number (Razorpay requires one; the account's, or a placeholder).
    pub contact: String,
    /// The order's amount, in minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Razorpay's order id.
    pub order_id: String,
    /// The customer the token belongs to.
    pub customer_id: String,
    /// The saved method.
    pub token: String,
    /// `"1"`.
    pub recurring: &'static str,
    /// Shown to the customer.
    pub description: String,
}

/// What a token payment answers: the checkout callback fields.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenPayment {
    /// `pay_...`.
    pub razorpay_payment_id: String,
    /// The order paid.
    pub razorpay_order_id: String,
    /// HMAC-SHA256 of `order_id|payment_id` with the key secret.
    pub razorpay_signature: String,
}

/// A Razorpay order as its API returns it (the fields Stockroom reads).
#[derive(Debug, Clone, Deserialize)]
pub struct RazorpayOrder {
    /// `order_...`.
    pub id: String,
    /// Amount in minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// `created`, `attempted` or `paid`.
    pub status: String,
}

/// The body of Razorpay's `POST /v1/payments/{id}/refund`.
#[derive(Debug, Clone, Serialize)]
pub struct NewRefund {
    /// Amount in minor units.
    pub amount: i64,
    /// `normal`.
    pub speed: &'static str,
    /// Our reference.
    pub receipt: String,
    /// Key-value notes: our order id.
    pub notes: serde_json::Map<String, serde_json::Value>,
}

/// A Razorpay refund as its API returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct RazorpayRefund {
    /// `rfnd_...`.
    pub id: String,
    /// Amount in minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// `pending`, `processed` or `failed`.
    pub status: String,
    /// The notes it was created with (an object, or `[]` when there were none).
    #[serde(default)]
    pub notes: serde_json::Value,
}

/// Why a call to Razorpay failed. Messages never carry keys or secrets.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// No answer in time, or no connection: the client may retry.
    #[error("the payment provider did not answer in time")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Razorpay answered with a server error (after retries where retrying is safe).
    #[error("the payment provider failed (HTTP {status})")]
    ProviderFailed {
        /// Razorpay's status.
        status: u16,
    },
    /// Razorpay refused the request (HTTP 4xx) and said why.
    #[error("the payment provider refused the request: {description}")]
    Rejected {
        /// Razorpay's status.
        status: u16,
        /// Razorpay's `error.description`.
        description: String,
        /// Razorpay's `error.field`, when it names one.
        field: Option<String>,
    },
    /// Razorpay refused our credentials: a deployment mistake, not the client's.
    #[error("the payment provider refused our credentials")]
    Misconfigured,
    /// Razorpay's answer could not be read.
    #[error("the payment provider's answer could not be read")]
    Malformed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl PaymentError {
    /// Whether the same request may succeed later.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            PaymentError::Unavailable(_) | PaymentError::ProviderFailed { .. }
        )
    }
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    field: Option<String>,
}

/// How many attempts an idempotent call gets.
const ATTEMPTS: u32 = 3;

/// Razorpay over HTTPS (or HTTP locally).
#[derive(Debug, Clone)]
pub struct RazorpayClient {
    http: reqwest::Client,
    settings: RazorpaySettings,
}

impl RazorpayClient {
    /// A client for `settings`.
    pub fn new(settings: RazorpaySettings) -> Result<Self, PaymentError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(2))
            .user_agent("stockroom")
            .build()
            .map_err(|e| PaymentError::Malformed(Box::new(e)))?;
        Ok(Self { http, settings })
    }

    /// The public key id the checkout needs.
    pub fn key_id(&self) -> &str {
        &self.settings.key_id
    }

    /// The key secret (for checkout signatures).
    pub fn key_secret(&self) -> &str {
        &self.settings.key_secret
    }

    /// Creates an order. Not retried: Razorpay's order creation is not idempotent, and a second
    /// order would only confuse; the caller releases its stock and reports a retryable error.
    pub async fn create_order(
        &self,
        order: &NewRazorpayOrder,
    ) -> Result<RazorpayOrder, PaymentError> {
        let url = format!("{}/v1/orders", self.base());
        self.send(|| self.http.post(&url).json(order), 1).await
    }

    /// Refunds `refund.amount` of `payment_id`. Retried on timeouts and server errors: the
    /// `X-Refund-Idempotency` key makes Razorpay refund once however often it is sent.
    pub async fn refund(
        &self,
        payment_id: &str,
        idempotency_key: &str,
        refund: &NewRefund,
    ) -> Result<RazorpayRefund, PaymentError> {
        let url = format!("{}/v1/payments/{payment_id}/refund", self.base());
        self.send(
            || {
                self.http
                    .post(&url)
                    .header("X-Refund-Idempotency", idempotency_key)
                    .json(refund)
            },
            ATTEMPTS,
        )
        .await
    }

    /// Finds or creates the Razorpay customer with `customer.email` (`fail_existing` `"0"`:
    /// repeating the call answers the same customer, so it is retried).
    pub async fn create_customer(
        &self,
        customer: &NewCustomer,
    ) -> Result<RazorpayCustomer, PaymentError> {
        let url = format!("{}/v1/customers", self.base());
        self.send(|| self.http.post(&url).json(customer), ATTEMPTS)
            .await
    }

    /// The saved payment methods of `customer_id`.
    pub async fn tokens(&self, customer_id: &str) -> Result<Vec<RazorpayToken>, PaymentError> {
        let url = format!("{}/v1/customers/{customer_id}/tokens", self.base());
        let listed: Collection<RazorpayToken> = self.send(|| self.http.get(&url), ATTEMPTS).await?;
        Ok(listed.items)
    }

    /// Deletes saved method `token_id` of `customer_id` (deleting twice is refused by
    /// Razorpay, so not retried blindly: a retry after a lost answer reads as "not found").
    pub async fn delete_token(
        &self,
        customer_id: &str,
        token_id: &str,
    ) -> Result<(), PaymentError> {
        let url = format!(
            "{}/v1/customers/{customer_id}/tokens/{token_id}",
            self.base()
        );
        let _: serde_json::Value = self.send(|| self.http.delete(&url), 1).await?;
        Ok(())
    }

    /// Charges a saved token for an order. Not retried: a second charge attempt on a lost
    /// answer is for the order's webhooks and state to settle, not for a blind repeat.
    pub async fn pay_with_token(
        &self,
        payment: &NewTokenPayment,
    ) -> Result<TokenPayment, PaymentError> {
        let url = format!("{}/v1/payments/create/recurring", self.base());
        self.send(|| self.http.post(&url).json(payment), 1).await
    }

    /// Reads refund `refund_id` (idempotent, so retried like any read).
    pub async fn fetch_refund(&self, refund_id: &str) -> Result<RazorpayRefund, PaymentError> {
        let url = format!("{}/v1/refunds/{refund_id}", self.base());
        self.send(|| self.http.get(&url), ATTEMPTS).await
    }

    fn base(&self) -> &str {
        self.settings.base_url.trim_end_matches('/')
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: impl Fn() -> reqwest::RequestBuilder,
        attempts: u32,
    ) -> Result<T, PaymentError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.once(request()).await;
            match outcome {
                Err(e) if e.retryable() && attempt < attempts => {
                    tracing::warn!(error = %e, attempt, "payment provider call failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }

    async fn once<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, PaymentError> {
        let response = request
            .basic_auth(&self.settings.key_id, Some(&self.settings.key_secret))
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(Box::new(e.without_url())))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| PaymentError::Unavailable(Box::new(e.without_url())))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| PaymentError::Malformed(Box::new(e)));
        }
        let code = status.as_u16();
        if status.is_server_error() || code == 409 || code == 429 {
            // 409: an idempotent refund is still being processed; 429: rate limited.
            return Err(PaymentError::ProviderFailed { status: code });
        }
        if code == 401 {
            return Err(PaymentError::Misconfigured);
        }
        let detail = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .map(|b| b.error);
        Err(PaymentError::Rejected {
            status: code,
            description: detail
                .as_ref()
                .and_then(|d| d.description.clone())
                .unwrap_or_else(|| format!("HTTP {code}")),
            field: detail.and_then(|d| d.field),
        })
    }
}
