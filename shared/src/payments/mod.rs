//! Razorpay: the HTTP client for orders and refunds, checkout and webhook signatures, and the
//! webhook payloads Stockroom understands.

mod razorpay;
mod signature;
mod webhook;

pub use razorpay::{
    NewRazorpayOrder, NewRefund, PaymentError, RazorpayClient, RazorpayOrder, RazorpayRefund,
    RazorpaySettings,
};
pub use signature::{WebhookSecrets, checkout_signature_valid, sign_hex};
pub use webhook::{PaymentEvent, PaymentEventKind, RefundEvent, RefundState, WebhookEvent};

use crate::config::{PaymentCredentials, PaymentsConfig};

/// What the order and webhook functions need of Razorpay: the API client and the webhook
/// secrets.
#[derive(Debug, Clone)]
pub struct Payments {
    /// The API client (holding the key id and secret).
    pub razorpay: RazorpayClient,
    /// Accepted webhook secrets.
    pub webhook_secrets: WebhookSecrets,
}

#[derive(serde::Deserialize)]
struct SecretDocument {
    key_id: String,
    key_secret: String,
    webhook_secrets: Vec<String>,
}

impl Payments {
    /// Builds the client from configuration, reading the keys from Secrets Manager when the
    /// configuration points there.
    pub async fn load(
        config: &PaymentsConfig,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, String> {
        let (key_id, key_secret, webhook_secrets) = match &config.credentials {
            PaymentCredentials::Environment {
                key_id,
                key_secret,
                webhook_secrets,
            } => (key_id.clone(), key_secret.clone(), webhook_secrets.clone()),
            PaymentCredentials::SecretsManager { arn } => {
                let value = aws_sdk_secretsmanager::Client::new(sdk)
                    .get_secret_value()
                    .secret_id(arn)
                    .send()
                    .await
                    .map_err(|e| format!("reading the Razorpay secret: {e}"))?;
                let doc: SecretDocument = serde_json::from_str(
                    value
                        .secret_string()
                        .ok_or("the Razorpay secret has no string value")?,
                )
                .map_err(|e| {
                    format!(
                        "the Razorpay secret must be {{\"key_id\", \"key_secret\", \"webhook_secrets\": [..]}}: {e}"
                    )
                })?;
                (doc.key_id, doc.key_secret, doc.webhook_secrets)
            }
        };
        Self::new(
            RazorpaySettings {
                base_url: config.base_url.clone(),
                key_id,
                key_secret,
                timeout: config.timeout,
            },
            webhook_secrets,
        )
    }

    /// Builds the client from known keys.
    pub fn new(settings: RazorpaySettings, webhook_secrets: Vec<String>) -> Result<Self, String> {
        Ok(Self {
            razorpay: RazorpayClient::new(settings).map_err(|e| e.to_string())?,
            webhook_secrets: WebhookSecrets::new(webhook_secrets)?,
        })
    }
}
