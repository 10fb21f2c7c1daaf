//! The state handlers and services run with, built once per process and cloned per request.
//!
//! Every function's state starts from this one; what only one function holds (a signing key,
//! Razorpay's keys, a persona provider, the search index) is added to it as a
//! [`crate::lambda::Resource`], never as an `Option` checked per request.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;

use crate::auth::TokenVerifier;
use crate::aws::AwsClients;
use crate::blob::MediaBucket;
use crate::config::{Config, OrderLimits};
use crate::domain::loyalty::LoyaltyRules;
use crate::http::{BodyLimit, Lifetimes, ReadThrottle, Standings};
use crate::store::{
    AccountStore, AuditLog, CartStore, IdempotencyStore, LoginAttempts, LoyaltyStore, OrderStore,
    PaymentCustomers, PersonaStore, ProductStore, PurchasingStore, RequestCounter, SessionStore,
    ShipmentStore, StockStore, Table,
};

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
    /// Accounts in the table.
    pub accounts: AccountStore,
    /// Refresh tokens in the table.
    pub sessions: SessionStore,
    /// Failed sign-in counters.
    pub attempts: LoginAttempts,
    /// The audit log.
    pub audit: AuditLog,
    /// Warehouses, levels and the ledger.
    pub stock: StockStore,
    /// Idempotency records.
    pub idempotency: IdempotencyStore,
    /// `iss` of issued tokens.
    pub token_issuer: String,
    /// `aud` of issued tokens.
    pub token_audience: String,
    /// Lifetime of access tokens.
    pub access_token_ttl: Duration,
    /// Lifetime of refresh-token families.
    pub refresh_token_ttl: Duration,
    /// CloudWatch namespace of business metrics.
    pub metrics_namespace: String,
    /// Orders and webhook deliveries.
    pub orders: OrderStore,
    /// Suppliers and purchase orders.
    pub purchasing: PurchasingStore,
    /// Persona summaries.
    pub personas: PersonaStore,
    /// Paid orders' parcels.
    pub shipments: ShipmentStore,
    /// Shoppers' carts.
    pub carts: CartStore,
    /// Accounts' Razorpay customers (saved payment methods).
    pub payment_customers: PaymentCustomers,
    /// Loyalty points, badges and leaderboards.
    pub loyalty: LoyaltyStore,
    /// How points are earned, worth and kept.
    pub loyalty_rules: LoyaltyRules,
    /// How long unpaid orders hold stock, and the customers' caps.
    pub order_limits: OrderLimits,
    /// Each account's standing (token generation, grants, verified address): the revocation point.
    pub standings: Standings,
    /// The per-address allowance of anonymous reads.
    pub read_throttle: ReadThrottle,
    /// How long caches may keep public answers.
    pub public_lifetimes: Lifetimes,
}

impl AppState {
    /// Wires the state from configuration and SDK clients.
    pub fn new(config: &Config, clients: &AwsClients) -> Self {
        let table = Table::new(clients.dynamodb.clone(), config.table_name.as_str());
        Self {
            products: ProductStore::new(table.clone()),
            table: table.clone(),
            media: MediaBucket::new(clients.s3.clone(), config.media_bucket.as_str())
                .signing_with(clients.sdk.credentials_provider()),
            verifier: Arc::new(TokenVerifier::new(
                config.jwks.clone(),
                &config.token_issuer,
                &config.token_audience,
            )),
            body_limit: BodyLimit(config.max_body_bytes),
            image_upload_ttl: config.image_upload_ttl,
            image_download_ttl: config.image_download_ttl,
            accounts: AccountStore::new(table.clone()),
            sessions: SessionStore::new(table.clone()),
            attempts: LoginAttempts::new(table.clone()),
            audit: AuditLog::new(table.clone()),
            stock: StockStore::new(table.clone()),
            idempotency: IdempotencyStore::new(table.clone()),
            token_issuer: config.token_issuer.clone(),
            token_audience: config.token_audience.clone(),
            access_token_ttl: config.access_token_ttl,
            refresh_token_ttl: config.refresh_token_ttl,
            metrics_namespace: config.metrics_namespace.clone(),
            orders: OrderStore::new(table.clone()),
            purchasing: PurchasingStore::new(table.clone()),
            personas: PersonaStore::new(table.clone()),
            shipments: ShipmentStore::new(table.clone()),
            carts: CartStore::new(table.clone()),
            payment_customers: PaymentCustomers::new(table.clone()),
            loyalty: LoyaltyStore::new(table.clone()),
            loyalty_rules: config.loyalty,
            order_limits: config.orders,
            standings: Standings::new(AccountStore::new(table.clone())),
            read_throttle: ReadThrottle::new(
                RequestCounter::new(table.clone()),
                config.public_reads_per_minute,
                &config.table_name,
            ),
            public_lifetimes: Lifetimes::within(config.image_download_ttl),
        }
    }
}

impl FromRef<AppState> for Arc<TokenVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

impl FromRef<AppState> for Standings {
    fn from_ref(state: &AppState) -> Self {
        state.standings.clone()
    }
}

impl FromRef<AppState> for ReadThrottle {
    fn from_ref(state: &AppState) -> Self {
        state.read_throttle.clone()
    }
}

impl FromRef<AppState> for BodyLimit {
    fn from_ref(state: &AppState) -> Self {
        state.body_limit
    }
}

#[cfg(feature = "search")]
impl AppState {
    /// The index's writer over this state's table and bucket.
    pub fn indexer(&self) -> crate::search::Indexer {
        crate::search::Indexer::new(
            self.products.clone(),
            self.stock.clone(),
            crate::search::IndexStore::new(self.media.client().clone(), self.media.name()),
            self.metrics_namespace.as_str(),
        )
    }
}
