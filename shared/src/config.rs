//! Typed configuration read once at start-up from the environment.
//!
//! A function refuses to start when a variable is missing or invalid, naming it, rather than
//! failing on the first request that happens to need it.

use std::time::Duration;

use crate::auth::Jwks;

/// Everything a Stockroom function needs to know about its surroundings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The single DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// The S3 bucket holding product images (`MEDIA_BUCKET`).
    pub media_bucket: String,
    /// Public keys that access tokens may be signed with (`AUTH_JWKS`, a JWKS document).
    pub jwks: Jwks,
    /// Expected `iss` claim of access tokens (`AUTH_ISSUER`, default `stockroom`).
    pub token_issuer: String,
    /// Expected `aud` claim of access tokens (`AUTH_AUDIENCE`, default `stockroom-api`).
    pub token_audience: String,
    /// Origins allowed by CORS (`CORS_ALLOWED_ORIGINS`, comma separated; `*` for any).
    pub cors_allowed_origins: Vec<String>,
    /// Largest request body accepted, in bytes (`MAX_BODY_BYTES`, default 65536).
    pub max_body_bytes: usize,
    /// How long an image upload grant stays valid (`IMAGE_UPLOAD_TTL_SECONDS`, default 900, at
    /// most 3600).
    pub image_upload_ttl: Duration,
    /// How long a presigned image download URL stays valid (`IMAGE_DOWNLOAD_TTL_SECONDS`, default 3600).
    pub image_download_ttl: Duration,
    /// Use path-style S3 addressing, needed by local S3 emulators (`S3_FORCE_PATH_STYLE`).
    pub s3_force_path_style: bool,
    /// CloudWatch namespace for Embedded Metric Format output (`METRICS_NAMESPACE`).
    pub metrics_namespace: String,
    /// Where the auth function finds its private signing key; other functions have none.
    pub signing_key: Option<SigningKeySource>,
    /// Lifetime of access tokens (`ACCESS_TOKEN_TTL_SECONDS`, default 900).
    pub access_token_ttl: Duration,
    /// Lifetime of a refresh-token family (`REFRESH_TOKEN_TTL_SECONDS`, default 30 days).
    pub refresh_token_ttl: Duration,
    /// Razorpay, for the functions that take payments; `None` when nothing configures it.
    pub payments: Option<PaymentsConfig>,
    /// The secrets carriers sign tracking updates with, for the shipments function; `None`
    /// when nothing configures them.
    pub carrier: Option<CarrierCredentials>,
    /// How long unpaid orders hold stock, and how much a customer may hold at once.
    pub orders: OrderLimits,
    /// Outgoing e-mail, for the functions that send it; `None` when `MAIL_FROM` is not set.
    pub mail: Option<MailConfig>,
    /// Google sign-in: the client ids ID tokens must be issued to (`GOOGLE_CLIENT_IDS`, comma
    /// separated; none: Google sign-in is off), where Google publishes its keys
    /// (`GOOGLE_CERTS_URL`) and the issuers it signs as (`GOOGLE_ISSUERS`).
    pub google: GoogleConfig,
    /// The sender name of text messages where the destination country supports one
    /// (`SMS_SENDER_ID`, none by default).
    pub sms_sender_id: Option<String>,
    /// Which persona provider to use (`PERSONAS_PROVIDER`: `template`, the default, or `openai`).
    pub personas: PersonasConfig,
    /// Reads of the public catalogue and search one client address may make a minute without
    /// signing in (`PUBLIC_READS_PER_MINUTE`, default 300).
    pub public_reads_per_minute: u32,
    /// Loyalty points: earn rate, value, expiry and the redemption cap.
    pub loyalty: crate::domain::loyalty::LoyaltyRules,
}

/// What unpaid orders may hold. The caps apply to the customer role; staff ordering for
/// themselves are not capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLimits {
    /// How long an order's stock is held while the customer pays (`ORDER_HOLD_SECONDS`,
    /// default 900); then the order expires.
    pub hold: Duration,
    /// Unpaid orders a customer may have open at once (`ORDER_MAX_OPEN_PER_CUSTOMER`,
    /// default 3).
    pub max_open_per_customer: u32,
    /// Units a customer may order on one line (`ORDER_MAX_UNITS_PER_LINE`, default 10).
    pub max_units_per_line: i64,
    /// A refund of at least this many minor units is counted as `LargeRefunds`, which
    /// notifies someone (`REFUND_ALERT_MINOR`, default 1,000,000: 10,000.00 in a two-decimal
    /// currency).
    pub refund_alert_minor: i64,
    /// How long a cart lives after its last change (`CART_TTL_DAYS`, default 30).
    pub cart_lifetime: Duration,
}

/// Google sign-in's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleConfig {
    /// The OAuth client ids of the apps that sign in (the `aud` of their ID tokens).
    pub client_ids: Vec<String>,
    /// Google's JWKS (`https://www.googleapis.com/oauth2/v3/certs`; the stand-in's locally).
    pub certs_url: String,
    /// Accepted `iss` values.
    pub issuers: Vec<String>,
}

/// Outgoing e-mail through SES.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The sender (`MAIL_FROM`), an SES-verified identity.
    pub from: String,
    /// The SES configuration set tracking deliveries, bounces and complaints
    /// (`SES_CONFIGURATION_SET`; none locally).
    pub configuration_set: Option<String>,
    /// The app's base URL for links in messages (`APP_URL`, default `http://localhost:3000`).
    pub app_url: String,
}

/// The persona provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonasConfig {
    /// The offline template generator (not AI).
    Template,
    /// An OpenAI-compatible chat-completions endpoint.
    OpenAi {
        /// `PERSONAS_OPENAI_BASE_URL` (default `https://api.openai.com/v1`).
        base_url: String,
        /// `PERSONAS_OPENAI_MODEL` (default `gpt-4o-mini`).
        model: String,
        /// Where the API key comes from.
        api_key: ApiKeySource,
        /// `PERSONAS_TIMEOUT_MS` (default 25000): the whole generation's budget.
        budget: Duration,
    },
}

/// Where an API key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum ApiKeySource {
    /// `PERSONAS_API_KEY` (local).
    Value(String),
    /// `PERSONAS_API_KEY_SECRET_ARN`: a Secrets Manager secret whose string is the key (AWS).
    SecretsManager(String),
}

impl std::fmt::Debug for ApiKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiKeySource::Value(_) => write!(f, "Value(<redacted>)"),
            ApiKeySource::SecretsManager(arn) => write!(f, "SecretsManager({arn:?})"),
        }
    }
}

/// Where Razorpay is and where its keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentsConfig {
    /// `RAZORPAY_BASE_URL` (default `https://api.razorpay.com`).
    pub base_url: String,
    /// Time allowed for one call (`RAZORPAY_TIMEOUT_MS`, default 8000).
    pub timeout: Duration,
    /// The keys.
    pub credentials: PaymentCredentials,
}

/// Where the Razorpay key id, key secret and webhook secrets come from.
#[derive(Clone, PartialEq, Eq)]
pub enum PaymentCredentials {
    /// `RAZORPAY_KEY_ID`, `RAZORPAY_KEY_SECRET` and `RAZORPAY_WEBHOOK_SECRET` (comma separated
    /// while rotating): local development.
    Environment {
        key_id: String,
        key_secret: String,
        /// Accepted webhook secrets.
        webhook_secrets: Vec<String>,
    },
    /// A Secrets Manager secret (`RAZORPAY_SECRET_ARN`) holding `{"key_id": "...",
    /// "key_secret": "...", "webhook_secrets": ["..."]}`: AWS.
    SecretsManager {
        /// The secret's ARN.
        arn: String,
    },
}

impl std::fmt::Debug for PaymentCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaymentCredentials::Environment { key_id, .. } => {
                write!(f, "Environment {{ key_id: {key_id:?}, secrets redacted }}")
            }
            PaymentCredentials::SecretsManager { arn } => write!(f, "SecretsManager({arn:?})"),
        }
    }
}

/// Where the secrets carriers sign their tracking updates with come from.
#[derive(Clone, PartialEq, Eq)]
pub enum CarrierCredentials {
    /// `CARRIER_WEBHOOK_SECRET` (comma separated while rotating): local development.
    Environment {
        /// Accepted secrets.
        webhook_secrets: Vec<String>,
    },
    /// A Secrets Manager secret (`CARRIER_SECRET_ARN`) holding `{"webhook_secrets": ["..."]}`:
    /// AWS.
    SecretsManager {
        /// The secret's ARN.
        arn: String,
    },
}

impl std::fmt::Debug for CarrierCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CarrierCredentials::Environment { webhook_secrets } => write!(
                f,
                "Environment({} secret(s), redacted)",
                webhook_secrets.len()
            ),
            CarrierCredentials::SecretsManager { arn } => write!(f, "SecretsManager({arn:?})"),
        }
    }
}

/// Where the private key that signs access tokens comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningKeySource {
    /// A PKCS#8 DER file (`AUTH_SIGNING_KEY_FILE`) and its key id (`AUTH_SIGNING_KEY_ID`): local.
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The key id, which must be in `AUTH_JWKS`.
        kid: String,
    },
    /// A Secrets Manager secret (`AUTH_SIGNING_KEY_SECRET_ARN`) holding
    /// `{"kid": "...", "private_key_pkcs8": "<base64 DER>"}`: AWS.
    SecretsManager {
        /// The secret's ARN.
        arn: String,
    },
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is absent or empty.
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    /// A variable is present but its value cannot be used.
    #[error("invalid environment variable {name}: {reason}")]
    Invalid {
        /// The variable's name.
        name: &'static str,
        /// What was wrong and what was expected.
        reason: String,
    },
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, which returns a variable's value if set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&lookup);
        let jwks_text = vars.required("AUTH_JWKS")?;
        let jwks = Jwks::parse(&jwks_text).map_err(|reason| ConfigError::Invalid {
            name: "AUTH_JWKS",
            reason,
        })?;
        Ok(Self {
            table_name: vars.required("TABLE_NAME")?,
            media_bucket: vars.required("MEDIA_BUCKET")?,
            jwks,
            token_issuer: vars.or("AUTH_ISSUER", "stockroom"),
            token_audience: vars.or("AUTH_AUDIENCE", "stockroom-api"),
            cors_allowed_origins: list(&vars.or("CORS_ALLOWED_ORIGINS", "")),
            google: GoogleConfig {
                client_ids: list(&vars.or("GOOGLE_CLIENT_IDS", "")),
                certs_url: vars.or(
                    "GOOGLE_CERTS_URL",
                    "https://www.googleapis.com/oauth2/v3/certs",
                ),
                issuers: list(&vars.or(
                    "GOOGLE_ISSUERS",
                    "https://accounts.google.com,accounts.google.com",
                )),
            },
            max_body_bytes: vars.number("MAX_BODY_BYTES", 65_536, 1..=6_000_000)?,
            image_upload_ttl: Duration::from_secs(vars.number(
                "IMAGE_UPLOAD_TTL_SECONDS",
                900,
                // A grant is signed with the function's temporary credentials, which last about
                // an hour; longer would promise what S3 will not honour.
                1..=3_600,
            )?),
            image_download_ttl: Duration::from_secs(vars.number(
                "IMAGE_DOWNLOAD_TTL_SECONDS",
                3600,
                1..=604_800,
            )?),
            s3_force_path_style: vars.flag("S3_FORCE_PATH_STYLE")?,
            metrics_namespace: vars.or("METRICS_NAMESPACE", "Stockroom"),
            signing_key: match (
                vars.get("AUTH_SIGNING_KEY_FILE"),
                vars.get("AUTH_SIGNING_KEY_SECRET_ARN"),
            ) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::Invalid {
                        name: "AUTH_SIGNING_KEY_FILE",
                        reason: "set either it or AUTH_SIGNING_KEY_SECRET_ARN, not both".into(),
                    });
                }
                (Some(path), None) => Some(SigningKeySource::File {
                    path: path.into(),
                    kid: vars.required("AUTH_SIGNING_KEY_ID")?,
                }),
                (None, Some(arn)) => Some(SigningKeySource::SecretsManager { arn }),
                (None, None) => None,
            },
            access_token_ttl: Duration::from_secs(vars.number(
                "ACCESS_TOKEN_TTL_SECONDS",
                900,
                60..=3600,
            )?),
            refresh_token_ttl: Duration::from_secs(vars.number(
                "REFRESH_TOKEN_TTL_SECONDS",
                30 * 86_400,
                3600..=90 * 86_400,
            )?),
            payments: payments(&vars)?,
            carrier: carrier(&vars)?,
            orders: OrderLimits {
                hold: Duration::from_secs(vars.number("ORDER_HOLD_SECONDS", 900, 60..=86_400)?),
                max_open_per_customer: vars.number("ORDER_MAX_OPEN_PER_CUSTOMER", 3, 1..=100)?,
                refund_alert_minor: vars.number(
                    "REFUND_ALERT_MINOR",
                    1_000_000,
                    1..=crate::domain::MAX_MINOR_UNITS,
                )?,
                max_units_per_line: vars.number(
                    "ORDER_MAX_UNITS_PER_LINE",
                    10,
                    1..=crate::domain::MAX_QUANTITY,
                )?,
                cart_lifetime: Duration::from_secs(
                    vars.number::<u64>("CART_TTL_DAYS", 30, 1..=365)? * 86_400,
                ),
            },
            personas: personas(&vars)?,
            mail: vars.get("MAIL_FROM").map(|from| MailConfig {
                from,
                configuration_set: vars.get("SES_CONFIGURATION_SET"),
                app_url: vars.or("APP_URL", "http://localhost:3000"),
            }),
            sms_sender_id: vars.get("SMS_SENDER_ID"),
            public_reads_per_minute: vars.number("PUBLIC_READS_PER_MINUTE", 300, 1..=100_000)?,
            loyalty: crate::domain::loyalty::LoyaltyRules {
                points_per_100: vars.number("LOYALTY_POINTS_PER_100", 1, 0..=10_000)?,
                point_value_minor: vars.number("LOYALTY_POINT_VALUE_MINOR", 1, 1..=10_000)?,
                expiry: time::Duration::days(vars.number("LOYALTY_EXPIRY_DAYS", 365, 1..=3_650)?),
                max_redeem_percent: vars.number("LOYALTY_MAX_REDEEM_PERCENT", 20, 0..=100)?,
            },
        })
    }
}

/// A comma-separated list, trimmed, without empty items.
fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect()
}

fn personas<F: Fn(&str) -> Option<String>>(
    vars: &Vars<'_, F>,
) -> Result<PersonasConfig, ConfigError> {
    match vars.or("PERSONAS_PROVIDER", "template").as_str() {
        "template" => Ok(PersonasConfig::Template),
        "openai" => Ok(PersonasConfig::OpenAi {
            base_url: vars.or("PERSONAS_OPENAI_BASE_URL", "https://api.openai.com/v1"),
            model: vars.or("PERSONAS_OPENAI_MODEL", "gpt-4o-mini"),
            api_key: match (
                vars.get("PERSONAS_API_KEY"),
                vars.get("PERSONAS_API_KEY_SECRET_ARN"),
            ) {
                (Some(key), None) => ApiKeySource::Value(key),
                (None, Some(arn)) => ApiKeySource::SecretsManager(arn),
                (None, None) => return Err(ConfigError::Missing("PERSONAS_API_KEY")),
                (Some(_), Some(_)) => {
                    return Err(ConfigError::Invalid {
                        name: "PERSONAS_API_KEY",
                        reason: "set either it or PERSONAS_API_KEY_SECRET_ARN, not both".into(),
                    });
                }
            },
            budget: Duration::from_millis(vars.number(
                "PERSONAS_TIMEOUT_MS",
                25_000,
                200..=28_000,
            )?),
        }),
        other => Err(ConfigError::Invalid {
            name: "PERSONAS_PROVIDER",
            reason: format!("'{other}' is not template or openai"),
        }),
    }
}

fn carrier<F: Fn(&str) -> Option<String>>(
    vars: &Vars<'_, F>,
) -> Result<Option<CarrierCredentials>, ConfigError> {
    match (
        vars.get("CARRIER_WEBHOOK_SECRET"),
        vars.get("CARRIER_SECRET_ARN"),
    ) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(ConfigError::Invalid {
            name: "CARRIER_WEBHOOK_SECRET",
            reason: "set either it or CARRIER_SECRET_ARN, not both".into(),
        }),
        (None, Some(arn)) => Ok(Some(CarrierCredentials::SecretsManager { arn })),
        (Some(list), None) => Ok(Some(CarrierCredentials::Environment {
            webhook_secrets: list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        })),
    }
}

fn payments<F: Fn(&str) -> Option<String>>(
    vars: &Vars<'_, F>,
) -> Result<Option<PaymentsConfig>, ConfigError> {
    let credentials = match (vars.get("RAZORPAY_KEY_ID"), vars.get("RAZORPAY_SECRET_ARN")) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(ConfigError::Invalid {
                name: "RAZORPAY_KEY_ID",
                reason: "set either it or RAZORPAY_SECRET_ARN, not both".into(),
            });
        }
        (None, Some(arn)) => PaymentCredentials::SecretsManager { arn },
        (Some(key_id), None) => PaymentCredentials::Environment {
            key_id,
            key_secret: vars.required("RAZORPAY_KEY_SECRET")?,
            webhook_secrets: vars
                .required("RAZORPAY_WEBHOOK_SECRET")?
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        },
    };
    let base_url = vars.or("RAZORPAY_BASE_URL", "https://api.razorpay.com");
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err(ConfigError::Invalid {
            name: "RAZORPAY_BASE_URL",
            reason: format!("'{base_url}' is not an http(s) URL"),
        });
    }
    Ok(Some(PaymentsConfig {
        base_url,
        timeout: Duration::from_millis(vars.number("RAZORPAY_TIMEOUT_MS", 8000, 100..=20_000)?),
        credentials,
    }))
}

struct Vars<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Vars<'_, F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    fn or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_owned())
    }

    fn number<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        match raw.trim().parse::<T>() {
            Ok(v) if range.contains(&v) => Ok(v),
            _ => Err(ConfigError::Invalid {
                name,
                reason: format!(
                    "'{raw}' is not a whole number between {} and {}",
                    range.start(),
                    range.end()
                ),
            }),
        }
    }

    fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.get(name).as_deref().map(str::trim) {
            None => Ok(false),
            Some("1" | "true" | "TRUE" | "yes") => Ok(true),
            Some("0" | "false" | "FALSE" | "no") => Ok(false),
            Some(other) => Err(ConfigError::Invalid {
                name,
                reason: format!("'{other}' is not one of true, false, 1, 0"),
            }),
        }
    }
}

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;
