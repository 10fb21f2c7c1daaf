//! One module per function: its routes and handlers, over a shared [`AppState`].

pub mod health;
pub mod products;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;

use crate::auth::TokenVerifier;
use crate::aws::AwsClients;
use crate::blob::MediaBucket;
use crate::config::Config;
use crate::http::{ApiError, BodyLimit};
use crate::store::{ProductStore, StoreError, Table, Uniqueness};

/// Everything handlers need, built once per process and cloned cheaply per request.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The single table.
    pub table: Table,
    /// Products in the table.
    pub products: ProductStore,
    /// The media bucket.
    pub media: MediaBucket,
    /// Verifies access tokens.
    pub verifier: Arc<TokenVerifier>,
    /// Largest accepted request body.
    pub body_limit: BodyLimit,
    /// Validity of image upload URLs.
    pub image_upload_ttl: Duration,
    /// Validity of image download URLs.
    pub image_download_ttl: Duration,
}

impl AppState {
    /// Wires the state from configuration and SDK clients.
    pub fn new(config: &Config, clients: &AwsClients) -> Self {
        let table = Table::new(clients.dynamodb.clone(), config.table_name.as_str());
        Self {
            products: ProductStore::new(table.clone()),
            table,
            media: MediaBucket::new(clients.s3.clone(), config.media_bucket.as_str()),
            verifier: Arc::new(TokenVerifier::new(
                config.jwks.clone(),
                &config.token_issuer,
                &config.token_audience,
            )),
            body_limit: BodyLimit(config.max_body_bytes),
            image_upload_ttl: config.image_upload_ttl,
            image_download_ttl: config.image_download_ttl,
        }
    }
}

impl FromRef<AppState> for Arc<TokenVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

impl FromRef<AppState> for BodyLimit {
    fn from_ref(state: &AppState) -> Self {
        state.body_limit
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::NotFound("not found".into()),
            StoreError::Duplicate(Uniqueness::Sku) => {
                ApiError::Conflict("another product already has this SKU".into())
            }
            StoreError::Duplicate(Uniqueness::Barcode) => {
                ApiError::Conflict("another product already has this barcode".into())
            }
            StoreError::VersionMismatch => ApiError::PreconditionFailed(
                "the resource changed since you read it; fetch it again for its current ETag"
                    .into(),
            ),
            StoreError::BadCursor => ApiError::BadRequest(
                "the cursor does not belong to this listing; use next_cursor from the previous page"
                    .into(),
            ),
            StoreError::Unavailable(source) => ApiError::Unavailable {
                dependency: "DynamoDB",
                source,
            },
            StoreError::Internal(source) => ApiError::Internal(source),
        }
    }
}
