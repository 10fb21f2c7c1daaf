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

use crate::guards::{Proof, prove_password, sms_code_digest};
use crate::{AuthState, account_of, change_account};
use shared::auth::{Caller, random_digits, two_factor};
use shared::domain::Account;
use shared::domain::account::TwoFactor;
use shared::http::{ApiError, ApiJson, RequestMeta};
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordOnly {
    password: String,
}

#[tracing::instrument(name = "Setting up an authenticator", skip_all)]
async fn setup(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<PasswordOnly>,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    proven(&state, &meta, &account, &input.password).await?;
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
}

#[tracing::instrument(name = "Setting up text-message codes", skip_all)]
async fn sms_setup(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<PhoneSetup>,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    let phone = parse_phone(&input.phone).map_err(|e| ApiError::invalid("phone", e))?;
    proven(&state, &meta, &account, &input.password).await?;
    text_code(&state, &account.id, &phone, CodePurpose::Enrol).await?;
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
async fn sms_send(State(state): State<AuthState>, caller: Caller) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    let Some(phone) = account.two_factor.phone.clone() else {
        return Err(ApiError::Conflict(
            "text-message codes are not on for this account".into(),
        ));
    };
    text_code(&state, &account.id, &phone, CodePurpose::SignIn).await?;
    Ok(code_sent(&phone))
}

/// Texts a new `purpose` code to `phone` for account `user_id`, replacing any earlier one. At
/// most 5 texts an hour go to one account and to one number (429 past that).
pub(crate) async fn text_code(
    state: &AuthState,
    user_id: &str,
    phone: &str,
    purpose: CodePurpose,
) -> Result<(), ApiError> {
    let number = state.own.signing_key.keyed_hash("phone", phone);
    for subject in [Subject::TextsFor(user_id), Subject::TextsTo(&number)] {
        if let Claim::Locked(wait) = state.attempts.claim(subject, LockPolicy::TEXTS).await? {
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
    let proofs = [&input.code, &input.sms_code, &input.recovery_code];
    if proofs.iter().filter(|p| p.is_some()).count() != 1 {
        return Err(ApiError::invalid(
            "code",
            "send exactly one of code, sms_code and recovery_code",
        ));
    }
    proven(&state, &meta, &account, &input.password).await?;
    // Each guess is claimed before it is checked, under the same lockout as sign-in.
    let lock = Subject::SecondFactor(&account.id);
    if let Claim::Locked(wait) = state.attempts.claim(lock, LockPolicy::ACCOUNT).await? {
        return Err(ApiError::TooManyRequests(wait));
    }
    let proof = prove_second_factor(&state, &account, &input).await?;
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
        },
    )
    .await?;
    state.attempts.clear(lock).await?;
    let methods: Value = json!(next.two_factor.methods());
    Ok(Json(json!({"enabled": next.two_factor.enabled(), "methods": methods})).into_response())
}

/// Checks the one second-factor proof `input` carries; which kind it was.
async fn prove_second_factor(
    state: &AuthState,
    account: &Account,
    input: &Disable,
) -> Result<&'static str, ApiError> {
    let factor = &account.two_factor;
    if let Some(code) = &input.code {
        let now = OffsetDateTime::now_utc().unix_timestamp().unsigned_abs();
        let secret = factor.secret.as_deref().unwrap_or_default();
        return match two_factor::matching_step(secret, code, now) {
            Some(step) if factor.secret.is_some() && step > factor.last_step => Ok("totp"),
            _ => Err(ApiError::invalid("code", "is not a valid unused code")),
        };
    }
    if let Some(code) = &input.sms_code {
        let digest = sms_code_digest(&state.own.signing_key, &account.id, code.trim());
        return match state
            .sessions
            .take_code(&account.id, CodePurpose::SignIn, &digest)
            .await?
        {
            Some(_) => Ok("sms"),
            None => Err(ApiError::invalid(
                "sms_code",
                "is not the code texted to the phone, or it expired",
            )),
        };
    }
    let digest = two_factor::recovery_code_digest(input.recovery_code.as_deref().unwrap_or(""));
    if factor.recovery_codes.contains(&digest) {
        Ok("recovery_code")
    } else {
        Err(ApiError::invalid(
            "recovery_code",
            "is not an unused recovery code",
        ))
    }
}
