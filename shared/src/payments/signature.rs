//! Razorpay's checkout signature: HMAC-SHA256 of `order_id|payment_id` under the key secret
//! (webhook deliveries are verified by [`crate::auth::WebhookSecrets`]).

use crate::auth::webhook_signatures::valid;

/// Whether the checkout callback's `razorpay_signature` signs `"{order_id}|{payment_id}"` with
/// the key secret.
pub fn checkout_signature_valid(
    key_secret: &str,
    razorpay_order_id: &str,
    payment_id: &str,
    signature_hex: &str,
) -> bool {
    valid(
        key_secret,
        format!("{razorpay_order_id}|{payment_id}").as_bytes(),
        signature_hex,
    )
}

#[cfg(test)]
#[path = "signature_test.rs"]
mod tests;
