//! Google sign-in: a Google ID token signs in the account its Google account is linked to, or
//! makes a new customer account for an address nobody has. An existing account is linked only
//! once its owner proves it: signed in (`/v1/auth/google/link`), or from its mailbox (a link
//! e-mailed when the Google account first tries).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use shared::auth::Caller;
use shared::domain::account::parse_display_name;
use shared::domain::{Account, Email};
use shared::google::{GoogleError, GoogleIdentity};
use shared::http::{ApiError, ApiJson, RequestMeta};
use shared::services::audit::audit;
use shared::store::{Link, LinkKind, Purpose, StoreError, Uniqueness};

use crate::guards::{Proof, address_mail_allowed, open_link, prove_password, still_for};
use crate::sessions::new_session;
use crate::sign_in::{Codes, second_factor_alone};
use crate::{AuthState, account_of, change_account, mail, mail_owner};

/// How long a link letting a Google account in works.
const LINK_LIFETIME: time::Duration = time::Duration::hours(24);

/// The one answer to every refused ID token (the reason is logged).
const INVALID: &str = "the Google ID token is not valid";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GoogleSignIn {
    id_token: String,
    #[serde(default)]
    totp_code: Option<String>,
    #[serde(default)]
    sms_code: Option<String>,
    #[serde(default)]
    recovery_code: Option<String>,
    #[serde(default)]
    send_sms: bool,
}

/// Who `id_token` says signed in, and their address.
async fn identity(state: &AuthState, id_token: &str) -> Result<(GoogleIdentity, Email), ApiError> {
    let identity = state
        .own
        .google
        .verify(id_token.trim())
        .await
        .map_err(|e| match e {
            GoogleError::NotEnabled => ApiError::NotFound(e.to_string()),
            GoogleError::Invalid(reason) => {
                tracing::info!(reason, "Google ID token refused");
                ApiError::SignInFailed(INVALID)
            }
            GoogleError::Unavailable(source) => ApiError::Unavailable {
                dependency: "Google's signing keys",
                source,
            },
        })?;
    let email = Email::parse(&identity.email).map_err(|_| ApiError::SignInFailed(INVALID))?;
    Ok((identity, email))
}

/// `POST /v1/auth/google`: signs in with a Google ID token; answers our own tokens.
#[tracing::instrument(name = "Signing in with Google", skip_all)]
pub(crate) async fn sign_in(
    State(state): State<AuthState>,
    meta: RequestMeta,
    ApiJson(input): ApiJson<GoogleSignIn>,
) -> Result<Response, ApiError> {
    let (identity, email) = identity(&state, &input.id_token).await?;
    if let Some(account) = state.accounts.find_by_google(&identity.sub).await? {
        if account.disabled {
            return Err(ApiError::SignInFailed(INVALID));
        }
        let codes = Codes {
            totp_code: input.totp_code.as_deref(),
            sms_code: input.sms_code.as_deref(),
            recovery_code: input.recovery_code.as_deref(),
            send_sms: input.send_sms,
        };
        let account = second_factor_alone(&state, &meta, account, &codes).await?;
        let entry = audit(&meta, &account.id, "auth.login")
            .target(account.id.clone())
            .detail("method", "google");
        state.audit.append(&entry).await?;
        return new_session(&state, &account, &meta).await;
    }
    if let Some(existing) = state.accounts.find_by_email(&email).await? {
        offer_link(&state, &existing, &identity).await?;
        return Err(ApiError::Conflict(
            "an account with this address exists: sign in to it and link Google at \
             /v1/auth/google/link, or open the link e-mailed to the address"
                .into(),
        ));
    }
    let name = identity
        .name
        .as_deref()
        .and_then(|n| parse_display_name(n).ok())
        .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("").to_owned());
    // No password until one is set through a reset; Google verified the address.
    let mut account = Account::register(email, name, String::new(), OffsetDateTime::now_utc());
    account.email_verified = true;
    account.google_sub = Some(identity.sub.clone());
    let entry = audit(&meta, &account.id, "auth.register")
        .target(account.id.clone())
        .detail("method", "google");
    match state.accounts.create(&account, &entry).await {
        Ok(()) => new_session(&state, &account, &meta).await,
        // Another request made the account (or took the address) meanwhile.
        Err(StoreError::Duplicate(Uniqueness::GoogleAccount | Uniqueness::Email)) => {
            Err(ApiError::Conflict(
                "the account was being made by another request; sign in again".into(),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// E-mails `account`'s owner a link that lets the Google account in (at most as often as the
/// address's mail allowance permits).
async fn offer_link(
    state: &AuthState,
    account: &Account,
    identity: &GoogleIdentity,
) -> Result<(), ApiError> {
    if address_mail_allowed(state, &account.email).await?.is_some() {
        return Ok(());
    }
    let link = Link {
        user_id: account.id.clone(),
        generation: account.token_generation,
        purpose: Purpose::LinkGoogle {
            email: account.email.as_str().to_owned(),
            google_sub: identity.sub.clone(),
        },
    };
    let token = state.sessions.start_link(&link, LINK_LIFETIME).await?;
    let body = format!(
        "Someone signed in to Stockroom with the Google account for {}, which already has a \
         Stockroom account.\n\nTo let that Google account sign in to it from now on, open this \
         link within 24 hours (it works once):\n{}/link-google#token={token}\n\n\
         If this was not you, ignore this message: nothing changes.",
        account.email.as_str(),
        state.own.mailer.app_url()
    );
    mail(
        state,
        &account.email,
        "Sign in to Stockroom with Google?",
        &body,
    )
    .await;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GoogleLink {
    id_token: String,
    password: String,
}

/// `POST /v1/auth/google/link`: lets the caller's Google account sign in to the caller's
/// account. The password is the proof (an access token alone could be a thief's), and the
/// owner is told.
#[tracing::instrument(name = "Linking a Google account", skip_all)]
pub(crate) async fn link(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<GoogleLink>,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    if account.password_hash.is_empty() {
        return Err(ApiError::Conflict(
            "this account signs in only with its Google account; set a password (reset it) \
             before linking another"
                .into(),
        ));
    }
    prove_password(
        &state,
        &meta,
        &account,
        &input.password,
        Proof::password_for("google_link"),
    )
    .await?;
    let (identity, email) = identity(&state, &input.id_token).await?;
    // Google vouches for the account's address only when it signs in with that one.
    let verifies = email == account.email;
    let linked = attach(&state, &meta, &account.id, &identity.sub, verifies, |_| {
        Ok(())
    })
    .await?;
    Ok(Json(linked.view()).into_response())
}

/// `DELETE /v1/auth/google`: the caller's Google account no longer signs in (the password
/// is the proof; an account whose only way in is Google sets a password first).
#[tracing::instrument(name = "Unlinking a Google account", skip_all)]
pub(crate) async fn unlink(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<PasswordOnly>,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    if account.google_sub.is_none() {
        return Err(ApiError::Conflict("no Google account is linked".into()));
    }
    if account.password_hash.is_empty() {
        return Err(ApiError::Conflict(
            "Google is this account's only way in; set a password (reset it) first".into(),
        ));
    }
    prove_password(
        &state,
        &meta,
        &account,
        &input.password,
        Proof::password_for("google_unlink"),
    )
    .await?;
    let entry = audit(&meta, &account.id, "auth.google_unlinked").target(account.id.clone());
    let next = change_account(
        &state,
        &account.id,
        Some(&entry),
        |_| Ok(()),
        |a| {
            a.google_sub = None;
        },
    )
    .await?;
    Ok(Json(next.view()).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordOnly {
    password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Confirmation {
    token: String,
}

/// `POST /v1/auth/google/confirm`: opens the link e-mailed when a Google account tried to sign
/// in to an existing account (anyone holding it; it works once).
#[tracing::instrument(name = "Confirming a Google link", skip_all)]
pub(crate) async fn confirm(
    State(state): State<AuthState>,
    meta: RequestMeta,
    ApiJson(input): ApiJson<Confirmation>,
) -> Result<Response, ApiError> {
    let unusable = || {
        ApiError::invalid(
            "token",
            "is not a link that is still good; sign in with Google again for a new one",
        )
    };
    let link = open_link(&state, LinkKind::LinkGoogle, input.token.trim())
        .await?
        .ok_or_else(unusable)?;
    let Purpose::LinkGoogle { google_sub, .. } = &link.purpose else {
        return Err(unusable());
    };
    let allowed = |a: &Account| {
        if still_for(a, &link) {
            Ok(())
        } else {
            Err(unusable())
        }
    };
    let account = attach(&state, &meta, &link.user_id, google_sub, true, allowed).await?;
    Ok(Json(json!({"linked": true, "email": account.email.as_str()})).into_response())
}

/// Makes Google account `sub` sign in to account `user_id` (replacing any other), audited,
/// and tells the owner; `verifies`: the link proved the account's address too (its mailbox,
/// or a Google account with the same verified address).
///
/// An address proven this way for an account that had not verified it means whoever
/// registered the account may not be its owner (anyone can register any address): its
/// password, factors and sessions go, and the owner continues with Google (and a reset).
async fn attach(
    state: &AuthState,
    meta: &RequestMeta,
    user_id: &str,
    sub: &str,
    verifies: bool,
    allowed: impl Fn(&Account) -> Result<(), ApiError>,
) -> Result<Account, ApiError> {
    let entry = audit(meta, user_id, "auth.google_linked").target(user_id.to_owned());
    // Whether the change (as last applied, after any lost race) took the account over.
    let claimed = std::sync::atomic::AtomicBool::new(false);
    let account = change_account(state, user_id, Some(&entry), allowed, |a| {
        a.google_sub = Some(sub.to_owned());
        let takes_over = verifies && !a.email_verified;
        claimed.store(takes_over, std::sync::atomic::Ordering::Relaxed);
        if takes_over {
            a.password_hash = String::new();
            a.two_factor = Default::default();
            a.token_generation += 1;
            a.session_generation += 1;
        }
        a.email_verified |= verifies;
    })
    .await?;
    if claimed.load(std::sync::atomic::Ordering::Relaxed) {
        state.sessions.revoke_all(&account.id).await?;
    }
    let body = format!(
        "A Google account can now sign in to your Stockroom account {}.\n\n\
         If you did not do this, sign in at {}, change your password and unlink Google.",
        account.email.as_str(),
        state.own.mailer.app_url()
    );
    mail_owner(
        state,
        &account,
        "Google can now sign you in to Stockroom",
        &body,
    )
    .await;
    Ok(account)
}
