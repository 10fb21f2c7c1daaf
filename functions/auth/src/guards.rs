//! What guards sensitive requests: the sign-in lock of an address, a password re-entered
//! before a sensitive change, and the allowances of mail to an address and from a client.

use shared::auth::SigningKey;
use shared::auth::passwords;
use shared::domain::{Account, Email};
use shared::http::{ApiError, RequestMeta};
use shared::services::AppState;
use shared::services::audit::audit;
use shared::store::{Claim, Link, LinkKind, LockPolicy, Purpose, StoreError, Subject};

use crate::AuthState;

/// What names the sign-in lock of a (normalised) address: a keyed hash, so the table never
/// holds the address or anything that reveals it.
pub fn account_lock(key: &SigningKey, email: &Email) -> String {
    key.keyed_hash("sign-in lock", email.as_str())
}

/// Counts one security signal (`SignInFailures`, `Lockouts`, `TwoFactorFailures`,
/// `PrivilegeChanges`) for the alarms that watch for guessing and for changes of power.
pub(crate) fn signal(state: &AppState, name: &str) {
    shared::telemetry::metrics::emit_count(&state.metrics_namespace, "auth", name, 1);
}

/// What names the locks of a client address: a keyed hash, so the table keeps no address.
pub(crate) fn client_lock(key: &SigningKey, meta: &RequestMeta) -> String {
    key.keyed_hash(
        "client lock",
        meta.source_ip.as_deref().unwrap_or("unknown"),
    )
}

/// Whether `link` still acts on `account`: not disabled, in the token generation it was sent
/// in, and with the address it was sent about.
pub(crate) fn still_for(account: &Account, link: &Link) -> bool {
    let sent_about = match &link.purpose {
        Purpose::VerifyEmail { from, .. } => Some(from),
        Purpose::LinkGoogle { email, .. } => Some(email),
        Purpose::PasswordReset => None,
    };
    // A link from before the last password change, reset, sign-out everywhere or address
    // change is dead too: the owner cleaning up after a thief ends what the thief asked for.
    !account.disabled
        && account.token_generation == link.generation
        && sent_about.map(String::as_str) == Some(account.email.as_str())
}

/// Opens `kind` link `token` while [`still_for`] its account: uses it up (of two requests
/// presenting it, one gets it) and returns it; `None` for a link that is not good.
pub(crate) async fn open_link(
    state: &AuthState,
    kind: LinkKind,
    token: &str,
) -> Result<Option<Link>, ApiError> {
    let Some(link) = state.sessions.link(kind, token).await? else {
        return Ok(None);
    };
    match state.accounts.get(&link.user_id).await {
        Ok(account) if still_for(&account, &link) => {}
        Ok(_) | Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let taken = state.sessions.take_link(kind, token).await?;
    Ok(taken.filter(|t| *t == link))
}

/// What a texted code for `user_id` is stored as: a keyed hash, so the table does not give
/// the code away to whoever reads it (a plain hash of six digits is reversed at once).
pub fn sms_code_digest(key: &SigningKey, user_id: &str, code: &str) -> String {
    key.keyed_hash("sms code", &format!("{user_id}:{code}"))
}

/// What a password is re-entered for, and the field that carries it.
pub(crate) struct Proof {
    /// The request's field holding the password.
    field: &'static str,
    /// What it is for, as the audit entry of a wrong one says.
    purpose: &'static str,
}

impl Proof {
    /// Changing the password.
    pub(crate) const CURRENT_PASSWORD: Proof = Proof {
        field: "current_password",
        purpose: "password_change",
    };

    /// Something else sensitive, with the password in field `password`.
    pub(crate) const fn password_for(purpose: &'static str) -> Proof {
        Proof {
            field: "password",
            purpose,
        }
    }
}

/// Checks that `candidate` is `account`'s password before a sensitive change (422 on the
/// proof's field if not, audited). Each guess counts against the same lock as signing in, so
/// a stolen access token cannot be used to guess the password faster than sign-in allows.
pub(crate) async fn prove_password(
    state: &AuthState,
    meta: &RequestMeta,
    account: &Account,
    candidate: &str,
    proof: Proof,
) -> Result<(), ApiError> {
    let lock = account_lock(&state.own.signing_key, &account.email);
    if let Claim::Locked(wait) = state
        .attempts
        .claim(Subject::Account(&lock), LockPolicy::ACCOUNT)
        .await?
    {
        return Err(ApiError::TooManyRequests(wait));
    }
    let matches = candidate.chars().count() <= passwords::MAX_LENGTH
        && passwords::verify(candidate, Some(&account.password_hash)).is_some();
    if !matches {
        state
            .audit
            .append(
                &audit(meta, &account.id, "auth.password_check_failed")
                    .target(account.id.clone())
                    .detail("for", proof.purpose),
            )
            .await?;
        return Err(ApiError::invalid(
            proof.field,
            "is not the account's password",
        ));
    }
    // Knowing the password lifts the count, as a successful sign-in does.
    state.attempts.clear(Subject::Account(&lock)).await?;
    Ok(())
}

/// Claims one mail to `to` from its hourly allowance ([`LockPolicy::ADDRESS_MAIL`]); `Some`
/// with the wait when it is used up.
pub(crate) async fn address_mail_allowed(
    state: &AuthState,
    to: &Email,
) -> Result<Option<std::time::Duration>, ApiError> {
    let lock = account_lock(&state.own.signing_key, to);
    match state
        .attempts
        .claim(Subject::AddressMail(&lock), LockPolicy::ADDRESS_MAIL)
        .await?
    {
        Claim::Locked(wait) => Ok(Some(wait)),
        Claim::Granted { .. } => Ok(None),
    }
}

/// Claims one request that mails an address of the caller's choosing from the client's
/// hourly allowance ([`LockPolicy::MAIL_CLIENT`]); 429 when it is used up.
pub(crate) async fn client_mail_allowed(
    state: &AuthState,
    meta: &RequestMeta,
) -> Result<(), ApiError> {
    let client = client_lock(&state.own.signing_key, meta);
    match state
        .attempts
        .claim(Subject::MailClient(&client), LockPolicy::MAIL_CLIENT)
        .await?
    {
        Claim::Locked(wait) => Err(ApiError::TooManyRequests(wait)),
        Claim::Granted { .. } => Ok(()),
    }
}
