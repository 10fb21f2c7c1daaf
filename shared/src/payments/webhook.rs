//! Razorpay webhook payloads, read into the few facts an order needs. Parsing happens only
//! after the signature has been verified.

use serde_json::Value;

pub use crate::domain::payment::{PaymentEvent, PaymentEventKind, RefundEvent, RefundState};

/// A verified webhook delivery, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    /// A payment or order event.
    Payment(PaymentEvent),
    /// A refund event.
    Refund(RefundEvent),
    /// A payment event for a payment made without an order (not Stockroom's).
    Unrelated(String),
    /// An event type Stockroom does not act on.
    Unknown(String),
}

fn text(v: &Value, path: &str) -> Result<String, String> {
    v.pointer(path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| format!("{} must be a non-empty string", dotted(path)))
}

fn amount(v: &Value, path: &str) -> Result<i64, String> {
    v.pointer(path)
        .and_then(Value::as_i64)
        .filter(|a| *a >= 0)
        .ok_or_else(|| format!("{} must be a non-negative integer", dotted(path)))
}

/// When the event happened: the body's `created_at` (Unix seconds), which the signature covers.
fn created_at(v: &Value) -> Result<time::OffsetDateTime, String> {
    v.get("created_at")
        .and_then(Value::as_i64)
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .ok_or_else(|| "created_at must be the event's time in Unix seconds".to_owned())
}

fn dotted(path: &str) -> String {
    path.trim_start_matches('/').replace('/', ".")
}

impl WebhookEvent {
    /// Reads a delivery's JSON body; the error names the missing or malformed field.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
        let event = text(&v, "/event")?;
        let payment = "/payload/payment/entity";
        match event.as_str() {
            "payment.authorized" | "payment.captured" | "payment.failed" => {
                let kind = match event.as_str() {
                    "payment.authorized" => PaymentEventKind::Authorized,
                    "payment.captured" => PaymentEventKind::Captured,
                    _ => PaymentEventKind::Failed,
                };
                if v.pointer(&format!("{payment}/order_id"))
                    .is_none_or(Value::is_null)
                {
                    return Ok(WebhookEvent::Unrelated(event));
                }
                Ok(WebhookEvent::Payment(PaymentEvent {
                    kind,
                    razorpay_order_id: text(&v, &format!("{payment}/order_id"))?,
                    payment_id: text(&v, &format!("{payment}/id"))?,
                    amount: amount(&v, &format!("{payment}/amount"))?,
                    currency: text(&v, &format!("{payment}/currency"))?,
                    at: created_at(&v)?,
                }))
            }
            "order.paid" => {
                let order = "/payload/order/entity";
                Ok(WebhookEvent::Payment(PaymentEvent {
                    kind: PaymentEventKind::OrderPaid,
                    razorpay_order_id: text(&v, &format!("{order}/id"))?,
                    payment_id: text(&v, &format!("{payment}/id"))?,
                    amount: amount(&v, &format!("{order}/amount_paid"))?,
                    currency: text(&v, &format!("{order}/currency"))?,
                    at: created_at(&v)?,
                }))
            }
            "refund.created" | "refund.processed" | "refund.failed" => {
                let refund = "/payload/refund/entity";
                let state = match event.as_str() {
                    "refund.processed" => RefundState::Processed,
                    "refund.failed" => RefundState::Failed,
                    _ if v
                        .pointer(&format!("{refund}/status"))
                        .and_then(Value::as_str)
                        == Some("processed") =>
                    {
                        RefundState::Processed
                    }
                    _ => RefundState::Pending,
                };
                Ok(WebhookEvent::Refund(RefundEvent {
                    refund_id: text(&v, &format!("{refund}/id"))?,
                    payment_id: text(&v, &format!("{refund}/payment_id"))?,
                    razorpay_order_id: text(&v, &format!("{payment}/order_id")).ok(),
                    amount: amount(&v, &format!("{refund}/amount"))?,
                    currency: text(&v, &format!("{refund}/currency"))?,
                    state,
                }))
            }
            _ => Ok(WebhookEvent::Unknown(event)),
        }
    }
}
