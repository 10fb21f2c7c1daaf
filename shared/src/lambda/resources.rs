//! What single functions hold, loaded at start-up: the auth function's signing key,
//! Razorpay's keys (orders, payments-webhook), the persona provider (personas) and the
//! search index (search).

use super::{Resource, StartError};
use crate::auth::SigningKey;
use crate::aws::AwsClients;
use crate::config::{Config, SigningKeySource};
use crate::payments::Payments;
use crate::personas::Provider;

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
        Payments::load(settings, &clients.sdk)
            .await
            .map_err(|reason| StartError::Invalid {
                setting: "Razorpay keys",
                reason,
            })
    }
}

impl Resource for Provider {
    async fn load(config: &Config, clients: &AwsClients) -> Result<Self, StartError> {
        Provider::load(&config.personas, &clients.sdk)
            .await
            .map_err(|reason| StartError::Invalid {
                setting: "PERSONAS_PROVIDER",
                reason,
            })
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
            let invalid = |reason: String| StartError::Invalid {
                setting: "AUTH_SIGNING_KEY_SECRET_ARN",
                reason,
            };
            let secrets = aws_sdk_secretsmanager::Client::new(&clients.sdk);
            let value = secrets
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| invalid(format!("reading the secret: {e}")))?;
            let text = value
                .secret_string()
                .ok_or_else(|| invalid("the secret has no string value".into()))?;
            SigningKey::from_secret_json(text).map_err(invalid)?
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
