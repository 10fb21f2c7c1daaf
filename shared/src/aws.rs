//! AWS SDK clients, built once per process from the environment.
//!
//! Endpoints come from the SDK's own variables (`AWS_ENDPOINT_URL_DYNAMODB`,
//! `AWS_ENDPOINT_URL_S3`), so the same code talks to AWS or to the local stack.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;

use crate::config::Config;

/// The SDK clients a function uses.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// The loaded SDK configuration, for clients only some functions need.
    pub sdk: aws_config::SdkConfig,
}

impl AwsClients {
    /// Loads region, credentials and endpoints from the environment, with timeouts that leave
    /// room inside API Gateway's 30 s limit for a retry.
    pub async fn from_env(config: &Config) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(2))
                    .operation_attempt_timeout(Duration::from_secs(4))
                    .operation_timeout(Duration::from_secs(10))
                    .build(),
            )
            .load()
            .await;
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(config.s3_force_path_style)
            .build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sdk,
        }
    }
}
