//! Passwords: changed with the current one as proof (guessed under the same lock as sign-in),
//! or reset with a single-use token sent by e-mail. Either way every other session ends and
//! the owner is told.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use shared::auth::Caller;
use shared::auth::passwords;
use shared::domain::FieldErrors;
use shared::domain::{Account, Email};
use shared::http::{ApiError, ApiJson, RequestMeta};
use shared::services::audit::audit;
use shared::store::{AuditEntry, Link, LinkKind, Purpose, StoreError};
use shared::store::{Claim, LockPolicy, Subject};

use crate::guards::{Proof, account_lock, client_mail_allowed, prove_password};
use crate::sessions::{new_session, signed_out};
use crate::{AuthState, account_of, mail_owner};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    current_password: String,
    new_password: String,
}

#[tracing::instrument(name = "Changing a password", skip_all)]
pub(crate) async fn change(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<PasswordChange>,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    let mut e = FieldErrors::new();
    let known = [account.email.as_str(), account.display_name.as_str()];
    e.check(
        "new_password",
        passwords::check_policy(&input.new_password, &known),
    );
    if input.new_password == input.current_password {
        e.add("new_password", "must differ from the current password");
    }
    e.finish(|| Some(()))?;
    prove_password(
        &state,
        &meta,
        &account,
        &input.current_password,
        Proof::CURRENT_PASSWORD,
    )
    .await?;
    let hash = passwords::hash(&input.new_password).map_err(ApiError::internal)?;
    let entry = audit(&meta, &account.id, "auth.password_changed").target(account.id.clone());
    // The new generations end every access token issued so far (this one too) and every
    // session started before (refresh refuses older families); the caller gets a fresh one.
    // Another write to the account meanwhile (a sign-in's rehash, a code's step) is applied
    // over, as long as the password it was proven against is still the one stored.
    let next = set_password(&state, &account.id, &hash, &entry, |current| {
        if current.password_hash == account.password_hash {
            Ok(())
        } else {
            Err(ApiError::Conflict(
                "the password changed meanwhile; sign in again".into(),
            ))
        }
    })
    .await?;
    after_new_password(&state, &next, "changed").await?;
    new_session(&state, &next, &meta).await
}

/// Stores `hash` as `user_id`'s password in new token and session generations, with `entry`,
/// on the account as it is now (re-read after a lost race) once `allowed` accepts it.
async fn set_password(
    state: &AuthState,
    user_id: &str,
    hash: &str,
    entry: &AuditEntry,
    allowed: impl Fn(&Account) -> Result<(), ApiError>,
) -> Result<Account, ApiError> {
    signed_out(state, user_id, Some(entry), allowed, |a| {
        a.password_hash = hash.to_owned();
    })
    .await
}

/// After a new password: the old sessions' families go (refresh refuses them already), the
/// sign-in lockout is lifted, and the owner is told.
async fn after_new_password(
    state: &AuthState,
    account: &Account,
    how: &str,
) -> Result<(), ApiError> {
    state.sessions.revoke_all(&account.id).await?;
    let lock = account_lock(&state.own.signing_key, &account.email);
    state.attempts.clear(Subject::Account(&lock)).await?;
    tell_the_owner(state, account, how).await;
    Ok(())
}

/// E-mails the account's owner that the password changed, so a change they did not make does
/// not go unnoticed. The change stands either way; a failure is logged and counted.
async fn tell_the_owner(state: &AuthState, account: &Account, how: &str) {
    let mailer = &state.own.mailer;
    let body = format!(
        "The password of your Stockroom account {} was just {how}, and every other \
         session was signed out.\n\nIf you did not do this, sign in at {} and change it \
         again, or ask an administrator to disable the account.",
        account.email.as_str(),
        mailer.app_url()
    );
    mail_owner(
        state,
        account,
        &format!("Your Stockroom password was {how}"),
        &body,
    )
    .await;
}

/// How long a reset link works.
const RESET_LIFETIME: time::Duration = time::Duration::minutes(30);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForgotPassword {
    email: String,
}

/// The one answer to a reset request, whatever became of it.
fn reset_requested() -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "status": "if the address belongs to an account, a reset link is on its way",
        })),
    )
        .into_response()
}

#[tracing::instrument(name = "Requesting a password reset", skip_all)]
pub(crate) async fn forgot(
    State(state): State<AuthState>,
    meta: RequestMeta,
    ApiJson(input): ApiJson<ForgotPassword>,
) -> Result<Response, ApiError> {
    client_mail_allowed(&state, &meta).await?;
    // A malformed address has no account: the same answer, nothing stored.
    let Ok(email) = Email::parse(&input.email) else {
        return Ok(reset_requested());
    };
    // Limited per address whether or not it has an account. Past the limit nothing is sent
    // but the answer stays the same, so the limit neither reveals an account nor lets anyone
    // keep the owner from resetting for long (the window is an hour and does not grow).
    let lock = account_lock(&state.own.signing_key, &email);
    if let Claim::Locked(_) = state
        .attempts
        .claim(Subject::ResetRequests(&lock), LockPolicy::RESET_REQUESTS)
        .await?
    {
        return Ok(reset_requested());
    }
    let Some(account) = state.accounts.find_by_email(&email).await? else {
        return Ok(reset_requested());
    };
    if account.disabled {
        return Ok(reset_requested());
    }
    let link = Link {
        user_id: account.id.clone(),
        generation: account.token_generation,
        purpose: Purpose::PasswordReset,
    };
    let token = state.sessions.start_link(&link, RESET_LIFETIME).await?;
    state
        .audit
        .append(
            &audit(&meta, &account.id, "auth.password_reset_requested").target(account.id.clone()),
        )
        .await?;
    let mailer = &state.own.mailer;
    let body = format!(
        "Someone asked to reset the password of your Stockroom account {}.\n\n\
         To choose a new password, open this link within 30 minutes (it works once):\n\
         {}/reset-password#token={token}\n\n\
         If you did not ask, ignore this message: your password stays as it is.",
        account.email.as_str(),
        mailer.app_url()
    );
    // If it cannot be sent the answer stays the same; the owner can ask again.
    mail_owner(&state, &account, "Reset your Stockroom password", &body).await;
    Ok(reset_requested())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetPassword {
    token: String,
    new_password: String,
}

#[tracing::instrument(name = "Resetting a password", skip_all)]
pub(crate) async fn reset(
    State(state): State<AuthState>,
    meta: RequestMeta,
    ApiJson(input): ApiJson<ResetPassword>,
) -> Result<Response, ApiError> {
    let unusable = || {
        ApiError::invalid(
            "token",
            "is not a reset token that is still good; ask for a new one",
        )
    };
    let token = input.token.trim();
    // The new password is checked before the token is used up, so a refused one costs nothing.
    let Link {
        user_id: holder,
        generation,
        ..
    } = state
        .sessions
        .link(LinkKind::PasswordReset, token)
        .await?
        .ok_or_else(unusable)?;
    // A link from before the last password change, reset or sign-out everywhere is dead.
    let account = match state.accounts.get(&holder).await {
        Ok(account) if !account.disabled && account.token_generation == generation => account,
        Ok(_) | Err(StoreError::NotFound) => return Err(unusable()),
        Err(e) => return Err(e.into()),
    };
    let known = [account.email.as_str(), account.display_name.as_str()];
    let mut e = FieldErrors::new();
    e.check(
        "new_password",
        passwords::check_policy(&input.new_password, &known),
    );
    e.finish(|| Some(()))?;
    let taken = state
        .sessions
        .take_link(LinkKind::PasswordReset, token)
        .await?;
    if taken.map(|l| l.user_id).as_deref() != Some(account.id.as_str()) {
        return Err(unusable());
    }
    let hash = passwords::hash(&input.new_password).map_err(ApiError::internal)?;
    let entry = audit(&meta, &account.id, "auth.password_reset").target(account.id.clone());
    // The account may have changed since it was read; the reset applies to it as it is now,
    // unless it was disabled meanwhile.
    // A reset takes the account back: a Google account linked to it (perhaps by whoever knew
    // the old password) no longer signs in; the owner links it again if it was theirs. An
    // account made with Google (no password yet) keeps it: the reset only adds a password.
    let account = signed_out(
        &state,
        &holder,
        Some(&entry),
        |current| {
            if current.disabled {
                Err(unusable())
            } else {
                Ok(())
            }
        },
        |a| {
            if !a.password_hash.is_empty() {
                a.google_sub = None;
            }
            a.password_hash = hash.clone();
        },
    )
    .await?;
    after_new_password(&state, &account, "reset").await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
