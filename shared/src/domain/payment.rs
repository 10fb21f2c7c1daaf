//! What the payment provider tells us happened to a payment or a refund, in our terms: the
//! provider's adapter parses its deliveries into these, and the order state machine
//! ([`super::order`]) decides from them.

/// What a payment event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEventKind {
    /// `payment.authorized`: the bank approved; not yet captured.
    Authorized,
    /// `payment.captured`: the money is ours.
    Captured,
    /// `order.paid`: the order is fully paid.
    OrderPaid,
    /// `payment.failed`: this attempt failed (the customer may try again).
    Failed,
}

/// A payment event against a Razorpay order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    /// Which event.
    pub kind: PaymentEventKind,
    /// Razorpay's order id (`order_...`).
    pub razorpay_order_id: String,
    /// Razorpay's payment id (`pay_...`).
    pub payment_id: String,
    /// Amount in minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// When the provider says the event happened (the signed body's time, not the delivery's).
    pub at: time::OffsetDateTime,
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    /// Asked for, not yet with the customer.
    Pending,
    /// With the customer.
    Processed,
    /// Did not go through; the money stays with us.
    Failed,
}

impl RefundState {
    /// The state of a refund from the provider's status word (`pending`, `processed`,
    /// `failed`); anything else is still pending.
    pub fn from_provider(status: &str) -> Self {
        match status {
            "processed" => RefundState::Processed,
            "failed" => RefundState::Failed,
            _ => RefundState::Pending,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundEvent {
    /// `rfnd_...`.
    pub refund_id: String,
    /// The refunded payment.
    pub payment_id: String,
    /// The payment's Razorpay order, when the payload carries it.
    pub razorpay_order_id: Option<String>,
    /// Amount in minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// The refund's state after this event.
    pub state: RefundState,
}
