//! Changing one's password: the current one proves it is the owner (guessed under the same
//! lock as sign-in), and every other session ends.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;

use shared::auth::Caller;
use shared::auth::passwords;
use shared::domain::Account;
use shared::domain::FieldErrors;
use shared::http::{ApiError, ApiJson, RequestMeta};
use shared::services::audit::audit;
use shared::store::{Claim, LockPolicy, Subject};
use shared::telemetry::metrics::emit_count;

use crate::sessions::{duration, token_response};
use crate::sign_in::account_lock;
use crate::{AuthState, account_of};

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
    // Guessing the current password here counts against the same lock as signing in with it.
    let lock = account_lock(&state.own.signing_key, &account.email);
    if let Claim::Locked(wait) = state
        .attempts
        .claim(Subject::Account(&lock), LockPolicy::ACCOUNT)
        .await?
    {
        return Err(ApiError::TooManyRequests(wait));
    }
    let matches = input.current_password.chars().count() <= passwords::MAX_LENGTH
        && passwords::verify(&input.current_password, Some(&account.password_hash)).is_some();
    if !matches {
        state
            .audit
            .append(
                &audit(&meta, &account.id, "auth.password_change_failed")
                    .target(account.id.clone()),
            )
            .await?;
        return Err(ApiError::invalid(
            "current_password",
            "is not the account's password",
        ));
    }
    let hash = passwords::hash(&input.new_password).map_err(ApiError::internal)?;
    // A new token generation ends every access token issued so far (this one too); the
    // refresh-token families go below, and the caller gets a fresh session.
    let next = account.changed(OffsetDateTime::now_utc(), |a| {
        a.password_hash = hash;
        a.token_generation += 1;
    });
    let entry = audit(&meta, &account.id, "auth.password_changed").target(account.id.clone());
    state
        .accounts
        .replace(&account, &next, Some(&entry))
        .await?;
    state.attempts.clear(Subject::Account(&lock)).await?;
    state.sessions.revoke_all(&account.id).await?;
    tell_the_owner(&state, &next).await;
    let refresh = state
        .sessions
        .start(&account.id, duration(state.refresh_token_ttl))
        .await?;
    token_response(&state, &next, &refresh)
}

/// E-mails the account's owner that the password changed, so a change they did not make does
/// not go unnoticed. The change stands either way; a failure is logged and counted.
async fn tell_the_owner(state: &AuthState, account: &Account) {
    let mailer = &state.own.mailer;
    let body = format!(
        "The password of your Stockroom account {} was just changed, and every other \
         session was signed out.\n\nIf you did not do this, sign in at {} and change it \
         again, or ask an administrator to disable the account.",
        account.email.as_str(),
        mailer.app_url()
    );
    if let Err(e) = mailer
        .send(
            account.email.as_str(),
            "Your Stockroom password was changed",
            &body,
        )
        .await
    {
        tracing::error!(error = %e, user_id = %account.id, "could not e-mail a password change notice");
        emit_count(&state.metrics_namespace, "auth", "MailFailures", 1);
    }
}
