//! What single functions hold, loaded at start-up: the auth function's signing key and
//! mailer, Razorpay's keys (orders, payments-webhook), the persona provider (personas) and the
//! search index (search).

use super::{Resource, StartError};
use crate::auth::SigningKey;
use crate::aws::AwsClients;
use crate::config::{
    ApiKeySource, CarrierCredentials, Config, PaymentCredentials, PersonasConfig, SigningKeySource,
};
use crate::mail::Mailer;
use crate::payments::{Payments, RazorpayClient, RazorpaySettings, WebhookSecrets};
use crate::personas::{OpenAiProvider, OpenAiSettings, Provider};

impl Resource for Mailer {
    async fn load(config: &Config, clients: &AwsClients) -> Result<Self, StartError> {
        let mail = config.mail.as_ref().ok_or(StartError::Missing {
            needs: "sends e-mail",
            settings: "MAIL_FROM (an SES-verified sender)",
        })?;
        Ok(Mailer::new(
            aws_sdk_sesv2::Client::new(&clients.sdk),
            mail.from.clone(),
            mail.configuration_set.clone(),
            mail.app_url.clone(),
        ))
    }
}

impl Resource for crate::google::GoogleVerifier {
    async fn load(config: &Config, _: &AwsClients) -> Result<Self, StartError> {
        Self::new(config.google.clone()).map_err(|e| StartError::Client {
            client: "Google keys",
            reason: e.to_string(),
        })
    }
}

impl Resource for crate::sms::Texter {
    async fn load(config: &Config, clients: &AwsClients) -> Result<Self, StartError> {
        Ok(Self::new(
            aws_sdk_sns::Client::new(&clients.sdk),
            config.sms_sender_id.clone(),
        ))
    }
}

impl Resource for SigningKey {
    async fn load(config: &Config, clients: &AwsClients) -> Result<Self, StartError> {
        load_signing_key(config, clients).await
    }
}

impl Resource for Payments {
    async fn load(config: &Config, clients: &AwsClients) -> Result<Self, StartError> {
        let settings = config.payments.as_ref().ok_or(StartError::Missing {
            needs: "takes payments",
            settings: "RAZORPAY_SECRET_ARN (AWS) or RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET and \
                       RAZORPAY_WEBHOOK_SECRET (local)",
        })?;
        let (key_id, key_secret, webhook_secrets, secrets_from) = match &settings.credentials {
            PaymentCredentials::Environment {
                key_id,
                key_secret,
                webhook_secrets,
            } => (
                key_id.clone(),
                key_secret.clone(),
                webhook_secrets.clone(),
                "RAZORPAY_WEBHOOK_SECRET",
            ),
            PaymentCredentials::SecretsManager { arn } => {
                const SETTING: &str = "RAZORPAY_SECRET_ARN";
                let text = secret(clients, SETTING, arn).await?;
                let doc: RazorpaySecret =
                    serde_json::from_str(&text).map_err(|e| StartError::Invalid {
                        setting: SETTING,
                        reason: format!(
                            "the secret must be {{\"key_id\", \"key_secret\", \
                             \"webhook_secrets\": [..]}}: {e}"
                        ),
                    })?;
                (doc.key_id, doc.key_secret, doc.webhook_secrets, SETTING)
            }
        };
        let razorpay = RazorpayClient::new(RazorpaySettings {
            base_url: settings.base_url.clone(),
            key_id,
            key_secret,
            timeout: settings.timeout,
        })
        .map_err(|e| StartError::Client {
            client: "Razorpay",
            reason: e.to_string(),
        })?;
        let webhook_secrets =
            WebhookSecrets::new(webhook_secrets).map_err(|reason| StartError::Invalid {
                setting: secrets_from,
                reason,
            })?;
        Ok(Payments {
            razorpay,
            webhook_secrets,
        })
    }
}

/// The secrets carriers sign tracking updates with (the shipments function).
#[derive(Debug, Clone)]
pub struct CarrierWebhook {
    /// Accepted signing secrets (more than one while rotating).
    pub secrets: WebhookSecrets,
}

impl Resource for CarrierWebhook {
    async fn load(config: &Config, clients: &AwsClients) -> Result<Self, StartError> {
        let credentials = config.carrier.as_ref().ok_or(StartError::Missing {
            needs: "takes carriers' tracking updates",
            settings: "CARRIER_SECRET_ARN (AWS) or CARRIER_WEBHOOK_SECRET (local)",
        })?;
        let (secrets, setting) = match credentials {
            CarrierCredentials::Environment { webhook_secrets } => {
                (webhook_secrets.clone(), "CARRIER_WEBHOOK_SECRET")
            }
            CarrierCredentials::SecretsManager { arn } => {
                const SETTING: &str = "CARRIER_SECRET_ARN";
                let text = secret(clients, SETTING, arn).await?;
                let doc: CarrierSecret =
                    serde_json::from_str(&text).map_err(|e| StartError::Invalid {
                        setting: SETTING,
                        reason: format!("the secret must be {{\"webhook_secrets\": [..]}}: {e}"),
                    })?;
                (doc.webhook_secrets, SETTING)
            }
        };
        let secrets = WebhookSecrets::new(secrets)
            .map_err(|reason| StartError::Invalid { setting, reason })?;
        Ok(Self { secrets })
    }
}

/// The carrier secret's document in Secrets Manager.
#[derive(serde::Deserialize)]
struct CarrierSecret {
    webhook_secrets: Vec<String>,
}

/// The Razorpay secret's document in Secrets Manager.
#[derive(serde::Deserialize)]
struct RazorpaySecret {
    key_id: String,
    key_secret: String,
    webhook_secrets: Vec<String>,
}

impl Resource for Provider {
    async fn load(config: &Config, clients: &AwsClients) -> Result<Self, StartError> {
        let PersonasConfig::OpenAi {
            base_url,
            model,
            api_key,
            budget,
        } = &config.personas
        else {
            return Ok(Provider::Template);
        };
        let api_key = match api_key {
            ApiKeySource::Value(v) => v.clone(),
            ApiKeySource::SecretsManager(arn) => {
                secret(clients, "PERSONAS_API_KEY_SECRET_ARN", arn)
                    .await?
                    .trim()
                    .to_owned()
            }
        };
        let provider = OpenAiProvider::new(OpenAiSettings {
            base_url: base_url.clone(),
            model: model.clone(),
            api_key,
            budget: *budget,
            attempt_timeout: (*budget).min(std::time::Duration::from_secs(20)),
        })
        .map_err(|reason| StartError::Client {
            client: "persona provider",
            reason,
        })?;
        Ok(Provider::OpenAi(provider))
    }
}

/// The string value of the Secrets Manager secret `arn`, which `setting` names.
async fn secret(
    clients: &AwsClients,
    setting: &'static str,
    arn: &str,
) -> Result<String, StartError> {
    let invalid = |reason: String| StartError::Invalid { setting, reason };
    aws_sdk_secretsmanager::Client::new(&clients.sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| invalid(format!("reading the secret: {e}")))?
        .secret_string()
        .map(str::to_owned)
        .ok_or_else(|| invalid("the secret has no string value".into()))
}

/// Where a Secrets Manager secret stands, read without its value (`DescribeSecret`): what
/// `/health` may know about a secret it must not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretState {
    /// It exists, is not scheduled for deletion and has a current version.
    Current,
    /// There is no such secret.
    Missing,
    /// It is scheduled for deletion or has no current version: the next start-up of the
    /// functions that read it would fail.
    Unusable,
    /// Secrets Manager did not answer (throttling, network): nothing is known.
    Unknown,
}

/// The state of the secret `arn`.
pub async fn secret_state(clients: &AwsClients, arn: &str) -> SecretState {
    match aws_sdk_secretsmanager::Client::new(&clients.sdk)
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
    {
        Ok(secret) => {
            let current = secret.version_ids_to_stages().is_some_and(|versions| {
                versions
                    .values()
                    .any(|stages| stages.iter().any(|s| s == "AWSCURRENT"))
            });
            if secret.deleted_date().is_none() && current {
                SecretState::Current
            } else {
                SecretState::Unusable
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            SecretState::Missing
        }
        Err(e) => {
            tracing::warn!(error = %e, "describing a secret failed");
            SecretState::Unknown
        }
    }
}

/// The search function's copy of the published index, loaded on its first query.
#[cfg(feature = "search")]
impl Resource for crate::search::SearchCache {
    async fn load(config: &Config, clients: &AwsClients) -> Result<Self, StartError> {
        Ok(Self::new(crate::search::IndexStore::new(
            clients.s3.clone(),
            config.media_bucket.as_str(),
        )))
    }
}

/// Loads the private key that signs access tokens, and checks that `AUTH_JWKS` publishes it.
pub async fn load_signing_key(
    config: &Config,
    clients: &AwsClients,
) -> Result<SigningKey, StartError> {
    let key = match &config.signing_key {
        None => {
            return Err(StartError::Missing {
                needs: "signs tokens",
                settings: "AUTH_SIGNING_KEY_SECRET_ARN (AWS) or AUTH_SIGNING_KEY_FILE and \
                           AUTH_SIGNING_KEY_ID (local)",
            });
        }
        Some(SigningKeySource::File { path, kid }) => {
            let invalid = |reason: String| StartError::Invalid {
                setting: "AUTH_SIGNING_KEY_FILE",
                reason,
            };
            let der = std::fs::read(path)
                .map_err(|e| invalid(format!("reading {}: {e}", path.display())))?;
            SigningKey::from_pkcs8(kid.as_str(), &der).map_err(invalid)?
        }
        Some(SigningKeySource::SecretsManager { arn }) => {
            const SETTING: &str = "AUTH_SIGNING_KEY_SECRET_ARN";
            let text = secret(clients, SETTING, arn).await?;
            SigningKey::from_secret_json(&text).map_err(|reason| StartError::Invalid {
                setting: SETTING,
                reason,
            })?
        }
    };
    if config.jwks.key(key.kid()).is_none() {
        return Err(StartError::Invalid {
            setting: "AUTH_JWKS",
            reason: format!(
                "does not publish the signing key '{}'; tokens would not verify",
                key.kid()
            ),
        });
    }
    Ok(key)
}
