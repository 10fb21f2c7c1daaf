//! Two-factor set-up: setup hands out a secret, enable confirms it with a code and returns
//! recovery codes, disable needs a code or a recovery code.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::AuthState;
use crate::account_of;
use shared::auth::{Caller, two_factor};
use shared::http::{ApiError, ApiJson, RequestMeta};
use shared::services::audit::audit;
use shared::store::{Claim, LockPolicy, Subject};

pub(crate) fn router() -> Router<AuthState> {
    Router::new()
        .route("/v1/auth/2fa/setup", post(setup))
        .route("/v1/auth/2fa/enable", post(enable))
        .route("/v1/auth/2fa/disable", post(disable))
}

#[tracing::instrument(name = "Setting up two-factor", skip_all)]
async fn setup(State(state): State<AuthState>, caller: Caller) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    if account.two_factor.enabled() {
        return Err(ApiError::Conflict(
            "two-factor is already enabled; disable it first to change the secret".into(),
        ));
    }
    let secret = two_factor::new_secret();
    let uri = two_factor::provisioning_uri(&secret, account.email.as_str())
        .ok_or_else(|| ApiError::internal("could not build the otpauth URI"))?;
    let next = account.changed(OffsetDateTime::now_utc(), |a| {
        a.two_factor.pending_secret = Some(secret.clone());
    });
    state.accounts.replace(&account, &next, None).await?;
    Ok(Json(json!({"secret": secret, "otpauth_uri": uri})).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    code: String,
}

#[tracing::instrument(name = "Enabling two-factor", skip_all)]
async fn enable(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<Confirm>,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    if account.two_factor.enabled() {
        return Err(ApiError::Conflict("two-factor is already enabled".into()));
    }
    let Some(secret) = account.two_factor.pending_secret.clone() else {
        return Err(ApiError::Conflict(
            "no two-factor set-up is pending; call /v1/auth/2fa/setup first".into(),
        ));
    };
    let now = OffsetDateTime::now_utc();
    let step = two_factor::matching_step(&secret, &input.code, now.unix_timestamp().unsigned_abs())
        .ok_or_else(|| ApiError::invalid("code", "is not the current code of the authenticator"))?;
    let (codes, digests) = two_factor::new_recovery_codes();
    let next = account.changed(now, |a| {
        a.two_factor.secret = Some(secret);
        a.two_factor.pending_secret = None;
        a.two_factor.last_step = step;
        a.two_factor.recovery_codes = digests;
    });
    let entry = audit(&meta, &account.id, "auth.2fa_enabled").target(account.id.clone());
    state
        .accounts
        .replace(&account, &next, Some(&entry))
        .await?;
    Ok(Json(json!({"enabled": true, "recovery_codes": codes})).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Disable {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    recovery_code: Option<String>,
}

#[tracing::instrument(name = "Disabling two-factor", skip_all)]
async fn disable(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<Disable>,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    let Some(secret) = account.two_factor.secret.clone() else {
        return Err(ApiError::Conflict("two-factor is not enabled".into()));
    };
    if input.code.is_some() == input.recovery_code.is_some() {
        return Err(ApiError::invalid(
            "code",
            "send exactly one of code and recovery_code",
        ));
    }
    // Each guess is claimed before it is checked, under the same lockout as sign-in.
    let lock = Subject::SecondFactor(&account.id);
    if let Claim::Locked(wait) = state.attempts.claim(lock, LockPolicy::ACCOUNT).await? {
        return Err(ApiError::TooManyRequests(wait));
    }
    let now = OffsetDateTime::now_utc();
    let proof = match (input.code.as_deref(), input.recovery_code.as_deref()) {
        (Some(code), None) => {
            match two_factor::matching_step(&secret, code, now.unix_timestamp().unsigned_abs()) {
                Some(step) if step > account.two_factor.last_step => "totp",
                _ => return Err(ApiError::invalid("code", "is not a valid unused code")),
            }
        }
        (None, Some(code)) => {
            let digest = two_factor::recovery_code_digest(code);
            if !account.two_factor.recovery_codes.contains(&digest) {
                return Err(ApiError::invalid(
                    "recovery_code",
                    "is not an unused recovery code",
                ));
            }
            "recovery_code"
        }
        _ => {
            return Err(ApiError::invalid(
                "code",
                "send exactly one of code and recovery_code",
            ));
        }
    };
    let next = account.changed(now, |a| a.two_factor = Default::default());
    let entry = audit(&meta, &account.id, "auth.2fa_disabled")
        .target(account.id.clone())
        .detail("proof", proof);
    state
        .accounts
        .replace(&account, &next, Some(&entry))
        .await?;
    state.attempts.clear(lock).await?;
    Ok(Json(json!({"enabled": false})).into_response())
}
