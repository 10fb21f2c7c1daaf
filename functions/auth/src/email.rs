//! Verified addresses: a link e-mailed at registration (and on request) proves the owner reads
//! the address; a new address takes effect only once a link sent to it is opened.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use shared::auth::Caller;
use shared::domain::{Account, Email};
use shared::http::{ApiError, ApiJson, RequestMeta};
use shared::services::audit::audit;
use shared::store::{Link, LinkKind, Purpose};

use crate::guards::{
    Proof, address_mail_allowed, client_mail_allowed, open_link, prove_password, still_for,
};
use crate::{AuthState, account_of, change_account, mail, mail_owner};

/// How long a verification link works.
const VERIFY_LIFETIME: time::Duration = time::Duration::hours(24);

/// Sends `account`'s owner a link verifying address `to` (the account's own, or the one it is
/// moving to), good once within [`VERIFY_LIFETIME`].
pub(crate) async fn send_verification(
    state: &AuthState,
    account: &Account,
    to: &Email,
) -> Result<(), ApiError> {
    let link = Link {
        user_id: account.id.clone(),
        generation: account.token_generation,
        purpose: Purpose::VerifyEmail {
            from: account.email.as_str().to_owned(),
            to: to.as_str().to_owned(),
        },
    };
    let token = state.sessions.start_link(&link, VERIFY_LIFETIME).await?;
    let url = state.own.mailer.app_url();
    let (subject, why) = if *to == account.email {
        (
            "Verify your Stockroom e-mail address",
            "Welcome to Stockroom. To confirm this address is yours",
        )
    } else {
        (
            "Confirm your new Stockroom e-mail address",
            "You asked to sign in to Stockroom with this address from now on. To confirm it",
        )
    };
    let body = format!(
        "{why}, open this link within 24 hours (it works once):\n\
         {url}/verify-email#token={token}\n\n\
         If you did not ask for this, ignore this message."
    );
    mail(state, to, subject, &body).await;
    Ok(())
}

/// Tells the owner of `to`, which already has an account, that someone tried to give it to
/// another one (registration or an address change), instead of telling the one who tried.
/// The caller has claimed the mail from `to`'s allowance.
pub(crate) async fn tell_taken(state: &AuthState, to: &Email) {
    let body = format!(
        "Someone tried to use {} for a new Stockroom account, but it already has one.\n\n\
         If that was you, sign in at {} (or reset your password there). If not, you can \
         ignore this message: nothing changed.",
        to.as_str(),
        state.own.mailer.app_url()
    );
    mail(
        state,
        to,
        "Your address already has a Stockroom account",
        &body,
    )
    .await;
}

/// The one answer to a request that sent (or may have sent) a verification link.
pub(crate) fn link_sent() -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "status": "a link to verify the address is on its way; open it to finish",
        })),
    )
        .into_response()
}

/// `POST /v1/auth/email/verification`: sends the caller a new verification link.
#[tracing::instrument(name = "Resending a verification link", skip_all)]
pub(crate) async fn resend(
    State(state): State<AuthState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    if account.email_verified {
        return Err(ApiError::Conflict("the address is already verified".into()));
    }
    if let Some(wait) = address_mail_allowed(&state, &account.email).await? {
        return Err(ApiError::TooManyRequests(wait));
    }
    send_verification(&state, &account, &account.email).await?;
    Ok(link_sent())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddressChange {
    new_email: String,
    password: String,
}

/// `POST /v1/auth/email`: asks to move the caller's account to another address, which takes
/// effect when the link sent there is opened. The answer is the same whether or not the new
/// address already has an account (its owner is told instead).
#[tracing::instrument(name = "Changing an e-mail address", skip_all)]
pub(crate) async fn change(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<AddressChange>,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    let to = Email::parse(&input.new_email).map_err(|e| ApiError::invalid("new_email", e))?;
    if to == account.email {
        return Err(ApiError::invalid(
            "new_email",
            "is the account's address already",
        ));
    }
    prove_password(
        &state,
        &meta,
        &account,
        &input.password,
        Proof::password_for("email_change"),
    )
    .await?;
    // It mails an address of the caller's choosing: the client's allowance and the address's.
    client_mail_allowed(&state, &meta).await?;
    if let Some(wait) = address_mail_allowed(&state, &to).await? {
        return Err(ApiError::TooManyRequests(wait));
    }
    state
        .audit
        .append(
            &audit(&meta, &account.id, "auth.email_change_requested").target(account.id.clone()),
        )
        .await?;
    // Everything the caller can see (the answer, the notice in their own mailbox) is the same
    // whether or not the new address has an account.
    if state.accounts.find_by_email(&to).await?.is_some() {
        tell_taken(&state, &to).await;
    } else {
        send_verification(&state, &account, &to).await?;
    }
    let body = format!(
        "Someone signed in to your Stockroom account asked to move it to another address. It \
         moves only once a link sent there is opened.\n\nIf this was not you, sign in at {} \
         and change your password.",
        state.own.mailer.app_url()
    );
    mail_owner(&state, &account, "Your Stockroom address may change", &body).await;
    Ok(link_sent())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Verification {
    token: String,
}

/// `POST /v1/auth/email/verify`: opens a verification link (anyone holding it; it works once).
#[tracing::instrument(name = "Verifying an e-mail address", skip_all)]
pub(crate) async fn verify(
    State(state): State<AuthState>,
    meta: RequestMeta,
    ApiJson(input): ApiJson<Verification>,
) -> Result<Response, ApiError> {
    let unusable = || {
        ApiError::invalid(
            "token",
            "is not a verification link that is still good; ask for a new one",
        )
    };
    let link = open_link(&state, LinkKind::VerifyEmail, input.token.trim())
        .await?
        .ok_or_else(unusable)?;
    let Purpose::VerifyEmail { from, to } = &link.purpose else {
        return Err(unusable());
    };
    let to = Email::parse(to).map_err(|_| unusable())?;
    let allowed = |current: &Account| {
        if still_for(current, &link) {
            Ok(())
        } else {
            Err(unusable())
        }
    };
    let moving = to.as_str() != from.as_str();
    let action = if moving {
        "auth.email_changed"
    } else {
        "auth.email_verified"
    };
    let entry = audit(&meta, &link.user_id, action).target(link.user_id.clone());
    let account = change_account(&state, &link.user_id, Some(&entry), allowed, |a| {
        if a.email != to {
            // Every link sent so far (a reset to the old address) and every access token
            // die with the old address; sessions refresh into the new generation.
            a.token_generation += 1;
        }
        a.email = to.clone();
        a.email_verified = true;
    })
    .await
    .map_err(|e| match e {
        ApiError::Conflict(_) => ApiError::Conflict(
            "the address was taken by another account meanwhile; ask for a new link".into(),
        ),
        e => e,
    })?;
    if moving && let Ok(old) = Email::parse(from) {
        let body = format!(
            "Your Stockroom account now signs in with {} instead of this address.\n\n\
             If you did not do this, ask an administrator to disable the account.",
            account.email.as_str()
        );
        mail(&state, &old, "Your Stockroom address changed", &body).await;
    }
    Ok(Json(json!({
        "email": account.email.as_str(),
        "email_verified": account.email_verified,
    }))
    .into_response())
}
