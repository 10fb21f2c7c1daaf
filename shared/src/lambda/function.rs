//! What a function is: its name, its routes and the state its handlers run with. A function
//! that holds something no other function needs (a signing key, Razorpay's keys, a persona
//! provider, the search index) declares it as a [`Resource`] in its state type, [`With<T>`];
//! start-up loads it or refuses to start, so no handler ever checks for it.

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;

use crate::auth::TokenVerifier;
use crate::aws::AwsClients;
use crate::config::Config;
use crate::http::{BodyLimit, HttpSettings, ReadThrottle, Standings, service};
use crate::services::AppState;

/// Why a function refused to start: the setting at fault and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The environment does not parse into a [`Config`].
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A setting this function needs is absent.
    #[error("this function {needs}: set {settings}")]
    Missing {
        /// What the function does that needs it.
        needs: &'static str,
        /// The variables that provide it.
        settings: &'static str,
    },
    /// A setting is present but unusable.
    #[error("{setting}: {reason}")]
    Invalid {
        /// The variable (or secret) at fault.
        setting: &'static str,
        /// Why it cannot be used.
        reason: String,
    },
    /// An HTTP client could not be built (no setting is at fault: the runtime's TLS set-up is).
    #[error("building the {client} HTTP client: {reason}")]
    Client {
        /// Whose client.
        client: &'static str,
        /// Why it failed.
        reason: String,
    },
}

/// Something only one function holds, loaded once at start-up.
pub trait Resource: Send + Sync + Sized + 'static {
    /// Loads it from configuration, or names the setting that prevents it.
    fn load(
        config: &Config,
        clients: &AwsClients,
    ) -> impl Future<Output = Result<Self, StartError>> + Send;
}

/// The state of a function whose handlers need `T` besides the shared [`AppState`]. It reads
/// as the shared state (`Deref`), so services take it as they are.
#[derive(Debug)]
pub struct With<T> {
    /// What every function shares.
    pub app: AppState,
    /// What only this function holds.
    pub own: Arc<T>,
}

impl<T> Clone for With<T> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            own: self.own.clone(),
        }
    }
}

impl<T> Deref for With<T> {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.app
    }
}

impl<T> FromRef<With<T>> for Arc<TokenVerifier> {
    fn from_ref(state: &With<T>) -> Self {
        state.app.verifier.clone()
    }
}

impl<T> FromRef<With<T>> for Standings {
    fn from_ref(state: &With<T>) -> Self {
        state.app.standings.clone()
    }
}

impl<T> FromRef<With<T>> for ReadThrottle {
    fn from_ref(state: &With<T>) -> Self {
        state.app.read_throttle.clone()
    }
}

impl<T> FromRef<With<T>> for BodyLimit {
    fn from_ref(state: &With<T>) -> Self {
        state.app.body_limit
    }
}

/// A state handlers can run with: built from the shared state at start-up.
pub trait FunctionState: Clone + Send + Sync + 'static {
    /// Builds it, loading whatever the function holds alone.
    fn load(
        config: &Config,
        clients: &AwsClients,
        app: AppState,
    ) -> impl Future<Output = Result<Self, StartError>> + Send;
}

impl FunctionState for AppState {
    async fn load(_: &Config, _: &AwsClients, app: AppState) -> Result<Self, StartError> {
        Ok(app)
    }
}

impl<T: Resource> FunctionState for With<T> {
    async fn load(
        config: &Config,
        clients: &AwsClients,
        app: AppState,
    ) -> Result<Self, StartError> {
        Ok(Self {
            app,
            own: Arc::new(T::load(config, clients).await?),
        })
    }
}

/// A function: its name (logs, metrics) and its routes over its state type.
pub struct Function<S> {
    /// The binary's name, as template.yaml names it.
    pub name: &'static str,
    pub routes: fn() -> Router<S>,
}

impl<S> Clone for Function<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Function<S> {}

impl<S> std::fmt::Debug for Function<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Builds `function`'s complete HTTP service: its state loaded from `app` (or a refusal
/// naming the setting), its routes and every shared layer. `main` and the test harness both
/// come through here.
pub async fn build<S: FunctionState>(
    function: Function<S>,
    config: &Config,
    clients: &AwsClients,
    app: AppState,
) -> Result<Router, StartError> {
    let state = S::load(config, clients, app).await?;
    Ok(serve(function, config, state))
}

/// `function`'s routes over an already loaded `state`, wrapped in every shared layer.
pub fn serve<S: FunctionState>(function: Function<S>, config: &Config, state: S) -> Router {
    service(
        (function.routes)().with_state(state),
        HttpSettings {
            service: function.name,
            metrics_namespace: config.metrics_namespace.clone(),
            cors_allowed_origins: config.cors_allowed_origins.clone(),
        },
    )
}
