//! The auth function: accounts, sign-in, tokens, two-factor, users and the audit log.
//!
//! | route                          | who                          |
//! |--------------------------------|------------------------------|
//! | `POST /v1/auth/register`       | anyone                       |
//! | `POST /v1/auth/login`          | anyone (rate-limited)        |
//! | `POST /v1/auth/refresh`        | holder of a refresh token    |
//! | `POST /v1/auth/logout`         | holder of a refresh token    |
//! | `GET /v1/auth/me`              | any signed-in account        |
//! | `DELETE /v1/auth/me`           | any signed-in account but an admin (password) |
//! | `GET /v1/auth/me/export`       | any signed-in account        |
//! | `POST /v1/auth/google`         | holder of a Google ID token for a configured client id |
//! | `DELETE /v1/auth/google`       | any signed-in account (password) |
//! | `POST /v1/auth/google/link`    | any signed-in account (password, and its Google ID token) |
//! | `POST /v1/auth/google/confirm` | holder of a link e-mailed when Google first tried |
//! | `POST /v1/auth/email`          | any signed-in account (password; the new address verifies) |
//! | `POST /v1/auth/email/verification` | any signed-in account (rate-limited) |
//! | `POST /v1/auth/email/verify`   | holder of a verification link |
//! | `POST /v1/auth/password`       | any signed-in account (current password) |
//! | `POST /v1/auth/password/forgot`| anyone (rate-limited; one answer) |
//! | `POST /v1/auth/password/reset` | holder of a reset token      |
//! | `GET/DELETE /v1/auth/sessions[/{id}]` | any signed-in account (own sessions) |
//! | `DELETE /v1/users/{id}/sessions` | admin                      |
//! | `DELETE /v1/users/{id}/2fa`    | admin                        |
//! | `POST /v1/auth/2fa/*`          | any signed-in account (password) |
//! | `GET /.well-known/jwks.json`   | anyone                       |
//! | `GET/PATCH /v1/users...`       | admin                        |
//! | `GET /v1/audit`                | admin                        |

mod email;
mod google;
mod guards;
mod password;
mod privacy;
mod second_factor;
mod sessions;
mod sign_in;
mod users;

pub use guards::{account_lock, sms_code_digest};

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use time::OffsetDateTime;

use shared::auth::Caller;
use shared::auth::passwords::{self};
use shared::domain::{Account, Email};
use shared::http::ApiError;
use shared::http::OrMissing;
use shared::services::AppState;
use shared::store::AuditEntry;

use sessions::{logout, refresh};

use axum::routing::delete;
use sign_in::{login, register};

/// The state of this function's handlers: the only function holding the private key that
/// signs access tokens, and the one that e-mails account holders.
pub type AuthState = shared::lambda::With<AuthResources>;

/// What only the auth function holds.
#[derive(Debug)]
pub struct AuthResources {
    /// Signs access tokens and keys the lockout hashes.
    pub signing_key: shared::auth::SigningKey,
    /// Tells account holders what happened to their account.
    pub mailer: shared::mail::Mailer,
    /// Texts one-time codes.
    pub texter: shared::sms::Texter,
    /// Verifies Google ID tokens.
    pub google: shared::google::GoogleVerifier,
}

impl shared::lambda::Resource for AuthResources {
    async fn load(
        config: &shared::config::Config,
        clients: &shared::aws::AwsClients,
    ) -> Result<Self, shared::lambda::StartError> {
        Ok(Self {
            signing_key: shared::auth::SigningKey::load(config, clients).await?,
            mailer: shared::mail::Mailer::load(config, clients).await?,
            texter: shared::sms::Texter::load(config, clients).await?,
            google: shared::google::GoogleVerifier::load(config, clients).await?,
        })
    }
}

/// The `auth` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<AuthState> = shared::lambda::Function {
    name: "auth",
    routes: router,
};

/// The auth function's routes.
pub fn router() -> Router<AuthState> {
    Router::new()
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/auth/me", get(me).delete(privacy::erase))
        .route("/v1/auth/me/export", get(privacy::export))
        .route(
            "/v1/auth/google",
            post(google::sign_in).delete(google::unlink),
        )
        .route("/v1/auth/google/link", post(google::link))
        .route("/v1/auth/google/confirm", post(google::confirm))
        .route("/v1/auth/email", post(email::change))
        .route("/v1/auth/email/verification", post(email::resend))
        .route("/v1/auth/email/verify", post(email::verify))
        .route("/v1/auth/password", post(password::change))
        .route("/v1/auth/password/forgot", post(password::forgot))
        .route("/v1/auth/password/reset", post(password::reset))
        .route(
            "/v1/auth/sessions",
            get(sessions::list).delete(sessions::end_all),
        )
        .route("/v1/auth/sessions/{id}", delete(sessions::end_one))
        .route("/.well-known/jwks.json", get(jwks))
        .merge(second_factor::router())
        .merge(users::router())
}

async fn me(State(state): State<AuthState>, caller: Caller) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    Ok(Json(account.view()).into_response())
}

/// E-mails `account`'s owner; what happened to their account stands either way, so a failure
/// is logged with SES's reason and counted (`MailFailures`, alarmed), never answered.
pub(crate) async fn mail_owner(state: &AuthState, account: &Account, subject: &str, body: &str) {
    mail(state, &account.email, subject, body).await;
}

/// E-mails `to` like [`mail_owner`].
pub(crate) async fn mail(state: &AuthState, to: &Email, subject: &str, body: &str) {
    if let Err(e) = state.own.mailer.send(to.as_str(), subject, body).await {
        tracing::error!(error = %e, subject, "could not e-mail an account holder");
        shared::telemetry::metrics::emit_count(&state.metrics_namespace, "auth", "MailFailures", 1);
    }
}

/// Changes account `user_id` as it is now with `change`, recorded by `entry`. `allowed` may
/// refuse the account as read; a lost race reads it again and starts over.
pub(crate) async fn change_account(
    state: &AppState,
    user_id: &str,
    entry: Option<&AuditEntry>,
    allowed: impl Fn(&Account) -> Result<(), ApiError>,
    change: impl Fn(&mut Account),
) -> Result<Account, ApiError> {
    shared::services::commit::contending_for("account", || async {
        let current = state
            .accounts
            .get(user_id)
            .await
            .or_missing(|| ApiError::NotFound(format!("no account with id '{user_id}'")))?;
        allowed(&current)?;
        let next = current.changed(OffsetDateTime::now_utc(), &change);
        match state.accounts.replace(&current, &next, entry).await {
            Ok(()) => Ok(Some(next)),
            Err(shared::store::StoreError::VersionMismatch) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// The caller's own account (404 if it was deleted after the token was issued).
pub(crate) async fn account_of(state: &AppState, caller: &Caller) -> Result<Account, ApiError> {
    state
        .accounts
        .get(&caller.user_id)
        .await
        .or_missing(|| ApiError::NotFound("the account no longer exists".into()))
}

async fn jwks(State(state): State<AuthState>) -> Response {
    let mut response = Json(state.verifier.jwks().document().clone()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// Creates `email` as an admin with `password`, or promotes and re-enables an existing
/// account (its password is then left as it is). For operators: `make admin` locally, the
/// `devstack admin` command with AWS credentials for a deployed stack.
pub async fn bootstrap_admin(
    table: &shared::store::Table,
    email: &str,
    password: &str,
) -> Result<String, String> {
    let accounts = shared::store::AccountStore::new(table.clone());
    let email = Email::parse(email)?;
    let now = OffsetDateTime::now_utc();
    if let Some(account) = accounts
        .find_by_email(&email)
        .await
        .map_err(|e| e.to_string())?
    {
        if account.is_active_admin() {
            return Ok(format!("{} is already an admin", email.as_str()));
        }
        let next = account.changed(now, |a| {
            a.role = shared::auth::Role::Admin;
            a.disabled = false;
            a.email_verified = true;
        });
        let entry =
            AuditEntry::new("operator", "user.promoted_by_operator").target(account.id.clone());
        accounts
            .replace(&account, &next, Some(&entry))
            .await
            .map_err(|e| e.to_string())?;
        return Ok(format!(
            "promoted {} ({}) to admin",
            email.as_str(),
            account.id
        ));
    }
    passwords::check_policy(password, &[email.as_str()]).map_err(|e| format!("PASSWORD {e}"))?;
    let hash = passwords::hash(password)?;
    let mut account = Account::register(email, "Administrator".into(), hash, now);
    account.role = shared::auth::Role::Admin;
    // The operator vouches for the address.
    account.email_verified = true;
    let entry = AuditEntry::new("operator", "user.created_by_operator").target(account.id.clone());
    accounts
        .create(&account, &entry)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "created admin {} ({})",
        account.email.as_str(),
        account.id
    ))
}
