//! Sessions: access tokens issued, refresh tokens rotated (a reused one revokes its family),
//! sign-out.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use shared::auth::AccessClaims;
use shared::domain::Account;
use shared::http::{ApiError, ApiJson, RequestMeta};
use shared::services::AppState;
use shared::services::audit::audit;
use shared::services::commit::contending_for;
use shared::store::{Rotation, StoreError};

use crate::AuthState;

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
        } => {
            let account = match state.accounts.get(&user_id).await {
                Ok(a) if !a.disabled => a,
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
            state.sessions.revoke_all(&user_id).await?;
            new_token_generation(&state, &user_id).await?;
            entry = entry.detail("everywhere", "true");
        }
        state.audit.append(&entry).await?;
    }
    // The same answer for unknown tokens: logging out twice is not an error.
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Starts a new token generation for `user_id`'s account: every access token issued so far
/// stops working (the account may be changed concurrently, so this retries on fresh reads).
pub(crate) async fn new_token_generation(state: &AppState, user_id: &str) -> Result<(), ApiError> {
    contending_for("account", || async {
        let current = state.accounts.get(user_id).await?;
        let next = current.changed(OffsetDateTime::now_utc(), |a| a.token_generation += 1);
        match state.accounts.replace(&current, &next, None).await {
            Ok(()) => Ok(Some(())),
            Err(StoreError::VersionMismatch) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
    .await
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
