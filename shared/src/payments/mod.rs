//! Razorpay: the HTTP client for orders and refunds, checkout and webhook signatures, and the
//! webhook payloads Stockroom understands.

mod razorpay;
mod signature;
mod webhook;

pub use crate::auth::{WebhookSecrets, sign_hex};
pub use razorpay::{
    NewCustomer, NewRazorpayOrder, NewRefund, NewTokenPayment, PaymentError, RazorpayClient,
    RazorpayCustomer, RazorpayOrder, RazorpayRefund, RazorpaySettings, RazorpayToken, TokenPayment,
};
pub use signature::checkout_signature_valid;
pub use webhook::{PaymentEvent, PaymentEventKind, RefundEvent, RefundState, WebhookEvent};

/// What the order and webhook functions need of Razorpay: the API client and the webhook
/// secrets.
#[derive(Debug, Clone)]
pub struct Payments {
    /// The API client (holding the key id and secret).
    pub razorpay: RazorpayClient,
    /// Accepted webhook secrets.
    pub webhook_secrets: WebhookSecrets,
}
