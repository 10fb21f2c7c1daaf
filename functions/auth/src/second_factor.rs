//! Two-factor set-up. Every change needs the account's password: TOTP setup hands out a
//! secret that enable confirms with a code; SMS setup texts a code to a phone that enable
//! confirms; disable also needs a current second factor (a TOTP code, a texted code or a
//! recovery code). Recovery codes are issued when two-factor goes from off to on.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::guards::{Proof, client_lock, prove_password, signal, sms_code_digest};
use crate::{AuthState, account_of, change_account, mail_owner};
use shared::auth::{Caller, random_digits, two_factor};
use shared::domain::Account;
use shared::domain::account::TwoFactor;
use shared::http::{ApiError, ApiJson, RequestMeta, require_verified_email};
use shared::services::audit::audit;
use shared::sms::{masked, parse_phone};
use shared::store::{Claim, CodePurpose, LockPolicy, Subject};

/// Checks the password re-entered for a two-factor change.
async fn proven(
    state: &AuthState,
    meta: &RequestMeta,
    account: &Account,
    password: &str,
) -> Result<(), ApiError> {
    prove_password(
        state,
        meta,
        account,
        password,
        Proof::password_for("two_factor"),
    )
    .await
}

/// How long a texted code works.
const CODE_LIFETIME: time::Duration = time::Duration::minutes(5);

pub(crate) fn router() -> Router<AuthState> {
    Router::new()
        .route("/v1/auth/2fa/setup", post(setup))
        .route("/v1/auth/2fa/enable", post(enable))
        .route("/v1/auth/2fa/disable", post(disable))
        .route("/v1/auth/2fa/sms/setup", post(sms_setup))
        .route("/v1/auth/2fa/sms/enable", post(sms_enable))
        .route("/v1/auth/2fa/sms/send", post(sms_send))
}

/// Setting up an authenticator: the password, and a current factor when two-factor is on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TotpSetup {
    password: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    sms_code: Option<String>,
    #[serde(default)]
    recovery_code: Option<String>,
}

#[tracing::instrument(name = "Setting up an authenticator", skip_all)]
async fn setup(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<TotpSetup>,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    proven(&state, &meta, &account, &input.password).await?;
    let proofs = proofs!(input);
    let used = current_factor(&state, &account, &proofs).await?;
    let secret = two_factor::new_secret();
    let uri = two_factor::provisioning_uri(&secret, account.email.as_str())
        .ok_or_else(|| ApiError::internal("could not build the otpauth URI"))?;
    // A new authenticator replaces the current one only once enable confirms it.
    change_account(
        &state,
        &account.id,
        None,
        |_| Ok(()),
        |a| {
            a.two_factor.pending_secret = Some(secret.clone());
            spend(used.as_ref(), a);
        },
    )
    .await?;
    Ok(Json(json!({"secret": secret, "otpauth_uri": uri})).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    code: String,
}

#[tracing::instrument(name = "Enabling an authenticator", skip_all)]
async fn enable(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<Confirm>,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    let Some(secret) = account.two_factor.pending_secret.clone() else {
        return Err(ApiError::Conflict(
            "no authenticator set-up is pending; call /v1/auth/2fa/setup first".into(),
        ));
    };
    let now = OffsetDateTime::now_utc();
    let step = two_factor::matching_step(&secret, &input.code, now.unix_timestamp().unsigned_abs())
        .ok_or_else(|| ApiError::invalid("code", "is not the current code of the authenticator"))?;
    turn_on(&state, &meta, &account, "totp", |f| {
        f.secret = Some(secret.clone());
        f.pending_secret = None;
        f.last_step = step;
    })
    .await
}

/// Turns `method` on for `account` with `change` (which must leave the pending set-up it
/// confirms gone), issuing recovery codes if two-factor was off; answers the methods on and the
/// new recovery codes (shown this once).
async fn turn_on(
    state: &AuthState,
    meta: &RequestMeta,
    account: &Account,
    method: &'static str,
    change: impl Fn(&mut TwoFactor),
) -> Result<Response, ApiError> {
    let (codes, digests) = two_factor::new_recovery_codes();
    let entry = audit(meta, &account.id, "auth.2fa_enabled")
        .target(account.id.clone())
        .detail("method", method);
    let next = change_account(
        state,
        &account.id,
        Some(&entry),
        |_| Ok(()),
        |a| {
            if a.two_factor.recovery_codes.is_empty() {
                a.two_factor.recovery_codes = digests.clone();
            }
            change(&mut a.two_factor);
        },
    )
    .await?;
    tell_the_owner(state, &next).await;
    let issued = next.two_factor.recovery_codes == digests;
    let mut body = json!({"enabled": true, "methods": next.two_factor.methods()});
    if issued {
        body["recovery_codes"] = json!(codes);
    }
    Ok(Json(body).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneSetup {
    phone: String,
    password: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    sms_code: Option<String>,
    #[serde(default)]
    recovery_code: Option<String>,
}

#[tracing::instrument(name = "Setting up text-message codes", skip_all)]
async fn sms_setup(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<PhoneSetup>,
) -> Result<Response, ApiError> {
    // Texts cost money: only an account whose owner proved an address may send them.
    require_verified_email(&caller)?;
    let account = account_of(&state, &caller).await?;
    let phone = parse_phone(&input.phone).map_err(|e| ApiError::invalid("phone", e))?;
    proven(&state, &meta, &account, &input.password).await?;
    let proofs = proofs!(input);
    if let Some(used) = current_factor(&state, &account, &proofs).await? {
        change_account(
            &state,
            &account.id,
            None,
            |_| Ok(()),
            |a| spend(Some(&used), a),
        )
        .await?;
    }
    text_code(&state, &meta, &account.id, &phone, CodePurpose::Enrol).await?;
    Ok(code_sent(&phone))
}

/// The answer to a request that texted a code.
fn code_sent(phone: &str) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "status": "a code is on its way; it works once within 5 minutes",
            "phone": masked(phone),
        })),
    )
        .into_response()
}

#[tracing::instrument(name = "Enabling text-message codes", skip_all)]
async fn sms_enable(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<Confirm>,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    // Each guess is claimed before it is checked, under the same lockout as sign-in.
    let lock = Subject::SecondFactor(&account.id);
    if let Claim::Locked(wait) = state.attempts.claim(lock, LockPolicy::ACCOUNT).await? {
        return Err(ApiError::TooManyRequests(wait));
    }
    let digest = sms_code_digest(&state.own.signing_key, &account.id, input.code.trim());
    let Some(phone) = state
        .sessions
        .take_code(&account.id, CodePurpose::Enrol, &digest)
        .await?
    else {
        signal(&state, "TwoFactorFailures");
        return Err(ApiError::invalid(
            "code",
            "is not the code texted to the phone, or it expired; ask for a new one",
        ));
    };
    state.attempts.clear(lock).await?;
    turn_on(&state, &meta, &account, "sms", |f| {
        f.phone = Some(phone.clone())
    })
    .await
}

/// `POST /v1/auth/2fa/sms/send`: texts a code to the account's phone, to prove the second
/// factor when turning two-factor off.
#[tracing::instrument(name = "Texting a code", skip_all)]
async fn sms_send(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    let Some(phone) = account.two_factor.phone.clone() else {
        return Err(ApiError::Conflict(
            "text-message codes are not on for this account".into(),
        ));
    };
    text_code(&state, &meta, &account.id, &phone, CodePurpose::SignIn).await?;
    Ok(code_sent(&phone))
}

/// Texts a new `purpose` code to `phone` for account `user_id`, replacing any earlier one. At
/// most 5 texts an hour go to one account and to one number, and 20 are asked for from one
/// client address (429 past that).
pub(crate) async fn text_code(
    state: &AuthState,
    meta: &RequestMeta,
    user_id: &str,
    phone: &str,
    purpose: CodePurpose,
) -> Result<(), ApiError> {
    let number = state.own.signing_key.keyed_hash("phone", phone);
    let client = client_lock(&state.own.signing_key, meta);
    for (subject, policy) in [
        (Subject::TextsFor(user_id), LockPolicy::TEXTS),
        (Subject::TextsTo(&number), LockPolicy::TEXTS),
        (Subject::TextsFrom(&client), LockPolicy::TEXTS_CLIENT),
    ] {
        if let Claim::Locked(wait) = state.attempts.claim(subject, policy).await? {
            return Err(ApiError::TooManyRequests(wait));
        }
    }
    let code = random_digits(6);
    let digest = sms_code_digest(&state.own.signing_key, user_id, &code);
    state
        .sessions
        .start_code(user_id, purpose, &digest, phone, CODE_LIFETIME)
        .await?;
    let text = format!("{code} is your Stockroom code. It expires in 5 minutes. Never share it.");
    if let Err(e) = state.own.texter.send(phone, &text).await {
        tracing::error!(error = %e, user_id, "could not text a code");
        shared::telemetry::metrics::emit_count(&state.metrics_namespace, "auth", "SmsFailures", 1);
        return Err(ApiError::Unavailable {
            dependency: "text messaging",
            source: Box::new(e),
        });
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Disable {
    password: String,
    /// `totp` or `sms`; every factor when absent.
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    sms_code: Option<String>,
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
    let factor = &account.two_factor;
    if !factor.enabled() {
        return Err(ApiError::Conflict("two-factor is not enabled".into()));
    }
    let method = match input.method.as_deref() {
        None => None,
        Some(m @ ("totp" | "sms")) if factor.methods().contains(&m) => Some(m),
        Some("totp" | "sms") => {
            return Err(ApiError::Conflict(
                "that method is not on for this account".into(),
            ));
        }
        Some(_) => return Err(ApiError::invalid("method", "must be 'totp' or 'sms'")),
    };
    proven(&state, &meta, &account, &input.password).await?;
    let proofs = proofs!(input);
    let used = current_factor(&state, &account, &proofs).await?;
    let proof = used.as_ref().map_or("none", Used::name);
    let entry = audit(&meta, &account.id, "auth.2fa_disabled")
        .target(account.id.clone())
        .detail("method", method.unwrap_or("all"))
        .detail("proof", proof);
    let next = change_account(
        &state,
        &account.id,
        Some(&entry),
        |_| Ok(()),
        |a| {
            let f = &mut a.two_factor;
            match method {
                Some("totp") => {
                    f.secret = None;
                    f.pending_secret = None;
                }
                Some(_) => f.phone = None,
                None => *f = TwoFactor::default(),
            }
            if !f.enabled() {
                *f = TwoFactor::default();
            }
            spend(used.as_ref(), a);
        },
    )
    .await?;
    tell_the_owner(&state, &next).await;
    let methods: Value = json!(next.two_factor.methods());
    Ok(Json(json!({"enabled": next.two_factor.enabled(), "methods": methods})).into_response())
}

/// The [`Proofs`] a request body with `code`, `sms_code` and `recovery_code` carries (serde
/// cannot share those fields through `flatten` in bodies that refuse unknown fields).
macro_rules! proofs {
    ($input:expr) => {
        Proofs {
            code: $input.code.as_deref(),
            sms_code: $input.sms_code.as_deref(),
            recovery_code: $input.recovery_code.as_deref(),
        }
    };
}
use proofs;

/// The proofs of a current second factor a request may carry (exactly one is needed).
struct Proofs<'a> {
    code: Option<&'a str>,
    sms_code: Option<&'a str>,
    recovery_code: Option<&'a str>,
}

/// A second factor proven, to be used up with the change it allowed.
enum Used {
    /// An authenticator code of this time step.
    Totp(u64),
    /// A texted code (used up when it was checked).
    Sms,
    /// A recovery code, by its digest.
    Recovery(String),
}

impl Used {
    fn name(&self) -> &'static str {
        match self {
            Used::Totp(_) => "totp",
            Used::Sms => "sms",
            Used::Recovery(_) => "recovery_code",
        }
    }
}

/// Uses `used` up on `account`: the code's time step can no longer sign in, the recovery code
/// is gone.
fn spend(used: Option<&Used>, account: &mut Account) {
    let factor = &mut account.two_factor;
    match used {
        Some(Used::Totp(step)) if factor.secret.is_some() => {
            factor.last_step = factor.last_step.max(*step);
        }
        Some(Used::Recovery(digest)) => factor.recovery_codes.retain(|d| d != digest),
        _ => {}
    }
}

/// When `account` has two-factor on, checks the one current factor `proofs` carries (each
/// guess claimed under the account's two-factor lock first): a change to the factors needs
/// one, so the password alone cannot swap them. `None` when two-factor is off.
async fn current_factor(
    state: &AuthState,
    account: &Account,
    proofs: &Proofs<'_>,
) -> Result<Option<Used>, ApiError> {
    let factor = &account.two_factor;
    if !factor.enabled() {
        return Ok(None);
    }
    let given = [proofs.code, proofs.sms_code, proofs.recovery_code];
    if given.iter().filter(|p| p.is_some()).count() != 1 {
        return Err(ApiError::invalid(
            "code",
            "two-factor is on: send exactly one current factor, code, sms_code or recovery_code",
        ));
    }
    let lock = Subject::SecondFactor(&account.id);
    if let Claim::Locked(wait) = state.attempts.claim(lock, LockPolicy::ACCOUNT).await? {
        return Err(ApiError::TooManyRequests(wait));
    }
    let used = match check(state, account, proofs).await {
        Ok(used) => used,
        Err(e) => {
            if matches!(e, ApiError::Validation(_)) {
                signal(state, "TwoFactorFailures");
            }
            return Err(e);
        }
    };
    state.attempts.clear(lock).await?;
    Ok(Some(used))
}

/// Checks the one current factor `proofs` carries (the caller claimed the guess).
async fn check(
    state: &AuthState,
    account: &Account,
    proofs: &Proofs<'_>,
) -> Result<Used, ApiError> {
    let factor = &account.two_factor;
    let used = if let Some(code) = proofs.code {
        let now = OffsetDateTime::now_utc().unix_timestamp().unsigned_abs();
        let secret = factor.secret.as_deref().unwrap_or_default();
        match two_factor::matching_step(secret, code, now) {
            Some(step) if factor.secret.is_some() && step > factor.last_step => Used::Totp(step),
            _ => return Err(ApiError::invalid("code", "is not a valid unused code")),
        }
    } else if let Some(code) = proofs.sms_code {
        let digest = sms_code_digest(&state.own.signing_key, &account.id, code.trim());
        match state
            .sessions
            .take_code(&account.id, CodePurpose::SignIn, &digest)
            .await?
        {
            Some(_) => Used::Sms,
            None => {
                return Err(ApiError::invalid(
                    "sms_code",
                    "is not the code texted to the phone, or it expired",
                ));
            }
        }
    } else {
        let digest = two_factor::recovery_code_digest(proofs.recovery_code.unwrap_or(""));
        if !factor.recovery_codes.contains(&digest) {
            return Err(ApiError::invalid(
                "recovery_code",
                "is not an unused recovery code",
            ));
        }
        Used::Recovery(digest)
    };
    Ok(used)
}

/// E-mails the owner which second factors are on now, so a change they did not make does not
/// go unnoticed.
async fn tell_the_owner(state: &AuthState, account: &Account) {
    let methods = account.two_factor.methods();
    let now_on = if methods.is_empty() {
        "Two-factor sign-in is now off".to_owned()
    } else {
        format!("Two-factor sign-in now uses: {}", methods.join(", "))
    };
    let body = format!(
        "{now_on} for your Stockroom account {}.\n\nIf you did not change this, sign in at {} \
         and change your password, or ask an administrator to disable the account.",
        account.email.as_str(),
        state.own.mailer.app_url()
    );
    mail_owner(
        state,
        account,
        "Your Stockroom two-factor sign-in changed",
        &body,
    )
    .await;
}
