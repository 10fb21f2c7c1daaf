//! Sessions: access tokens issued, refresh tokens rotated (a reused one revokes its family),
//! sign-out, and the list of one's sessions (each a refresh-token family) to end one or all.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use shared::auth::{AccessClaims, Caller};
use shared::domain::Account;
use shared::http::{ApiError, ApiJson, ApiPath, RequestMeta};
use shared::services::AppState;
use shared::services::audit::audit;
use shared::store::{AuditEntry, Rotation, SessionOrigin, StoreError};

use crate::{AuthState, change_account};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    refresh_token: String,
}

#[tracing::instrument(name = "Refreshing tokens", skip_all)]
pub(crate) async fn refresh(
    State(state): State<AuthState>,
    meta: RequestMeta,
    ApiJson(input): ApiJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    let invalid = || ApiError::SignInFailed("the refresh token is invalid, expired or revoked");
    match state.sessions.rotate(input.refresh_token.trim()).await? {
        Rotation::Invalid => Err(invalid()),
        Rotation::Reused { user_id, family_id } => {
            tracing::warn!(user_id = %user_id, "refresh token reused; family revoked");
            state
                .audit
                .append(
                    &audit(&meta, &user_id, "auth.refresh_token_reused")
                        .target(user_id.clone())
                        .detail("family_id", family_id),
                )
                .await?;
            Err(invalid())
        }
        Rotation::Rotated {
            token,
            user_id,
            family_id,
            generation,
        } => {
            // A session started before the account's current token generation was signed out
            // (a password change or reset, sign-out everywhere), even if it raced that.
            let account = match state.accounts.get(&user_id).await {
                Ok(a) if !a.disabled && generation >= a.session_generation => a,
                Ok(_) | Err(StoreError::NotFound) => {
                    state.sessions.revoke_by_token(&token).await?;
                    tracing::info!(%family_id, "refresh refused for a disabled or deleted account");
                    return Err(invalid());
                }
                Err(e) => return Err(e.into()),
            };
            token_response(&state, &account, &token)
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Logout {
    refresh_token: String,
    /// Also revoke every other session and every access token issued so far.
    #[serde(default)]
    everywhere: bool,
}

#[tracing::instrument(name = "Signing out", skip_all)]
pub(crate) async fn logout(
    State(state): State<AuthState>,
    meta: RequestMeta,
    ApiJson(input): ApiJson<Logout>,
) -> Result<Response, ApiError> {
    if let Some((user_id, family_id)) = state
        .sessions
        .revoke_by_token(input.refresh_token.trim())
        .await?
    {
        let mut entry = audit(&meta, &user_id, "auth.logout")
            .target(user_id.clone())
            .detail("family_id", family_id);
        if input.everywhere {
            end_every_session(&state, &user_id).await?;
            entry = entry.detail("everywhere", "true");
        }
        state.audit.append(&entry).await?;
    }
    // The same answer for unknown tokens: logging out twice is not an error.
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Starts a new token and session generation for `user_id`'s account: every access token
/// issued so far stops working and no earlier session can refresh.
pub(crate) async fn new_token_generation(state: &AppState, user_id: &str) -> Result<(), ApiError> {
    signed_out(state, user_id, None, |_| Ok(()), |_| {})
        .await
        .map(|_| ())
}

/// Changes account `user_id` as it is now with `change`, in new token and session generations
/// (every earlier access token and session ends), recorded by `entry`. `allowed` may refuse the
/// account as read; a lost race reads it again and starts over.
pub(crate) async fn signed_out(
    state: &AppState,
    user_id: &str,
    entry: Option<&AuditEntry>,
    allowed: impl Fn(&Account) -> Result<(), ApiError>,
    change: impl Fn(&mut Account),
) -> Result<Account, ApiError> {
    change_account(state, user_id, entry, allowed, |a| {
        change(a);
        a.token_generation += 1;
        a.session_generation += 1;
    })
    .await
}

/// Starts a session for `account` from where `meta` says the request came, in the account's
/// session generation, and answers its first tokens.
pub(crate) async fn new_session(
    state: &AuthState,
    account: &Account,
    meta: &RequestMeta,
) -> Result<Response, ApiError> {
    let refresh = state
        .sessions
        .start(
            &account.id,
            duration(state.refresh_token_ttl),
            &origin(meta),
            account.session_generation,
        )
        .await?;
    token_response(state, account, &refresh)
}

/// Where a request signs in from, as its session records it.
pub(crate) fn origin(meta: &RequestMeta) -> SessionOrigin {
    SessionOrigin {
        user_agent: meta.user_agent.clone(),
        ip: meta.source_ip.clone(),
    }
}

/// `GET /v1/auth/sessions`: the caller's live sessions.
pub(crate) async fn list(
    State(state): State<AuthState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let sessions = state.sessions.sessions(&caller.user_id).await?;
    Ok(Json(json!({ "items": sessions })).into_response())
}

/// `DELETE /v1/auth/sessions/{id}`: ends one of the caller's sessions (its refresh token stops
/// at once; an access token it issued lapses within its lifetime).
pub(crate) async fn end_one(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    if !state.sessions.end(&caller.user_id, &id).await? {
        return Err(ApiError::NotFound(format!(
            "you have no live session '{id}'"
        )));
    }
    let entry = audit(&meta, &caller.user_id, "auth.session_ended")
        .target(caller.user_id.clone())
        .detail("family_id", id);
    state.audit.append(&entry).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /v1/auth/sessions`: signs the caller out everywhere, this session too.
pub(crate) async fn end_all(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
) -> Result<Response, ApiError> {
    end_every_session(&state, &caller.user_id).await?;
    let entry = audit(&meta, &caller.user_id, "auth.logout")
        .target(caller.user_id.clone())
        .detail("everywhere", "true");
    state.audit.append(&entry).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Ends every session of `user_id` and voids every access token issued so far.
pub(crate) async fn end_every_session(state: &AppState, user_id: &str) -> Result<(), ApiError> {
    state.sessions.revoke_all(user_id).await?;
    new_token_generation(state, user_id).await
}

pub(crate) fn duration(d: std::time::Duration) -> time::Duration {
    time::Duration::seconds(i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2))
}

pub(crate) fn token_response(
    state: &AuthState,
    account: &Account,
    refresh_token: &str,
) -> Result<Response, ApiError> {
    let signer = &state.own.signing_key;
    let claims = AccessClaims::issue(
        &account.id,
        account.role,
        &state.token_issuer,
        &state.token_audience,
        state.access_token_ttl,
        account.token_generation,
    );
    let access_token = claims.sign(signer).map_err(ApiError::internal)?;
    Ok(Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": state.access_token_ttl.as_secs(),
        "refresh_token": refresh_token,
        "refresh_expires_in": state.refresh_token_ttl.as_secs(),
    }))
    .into_response())
}
