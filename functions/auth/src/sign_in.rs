//! Registration and sign-in: passwords checked with argon2id, the second factor, failed
//! attempts counted per account and per client, and tokens issued.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;

use shared::auth::passwords::{self, Verified};
use shared::auth::two_factor;
use shared::domain::account::parse_display_name;
use shared::domain::{Account, Email, FieldErrors};
use shared::http::{ApiError, ApiJson, RequestMeta};
use shared::services::AppState;
use shared::services::audit::audit;
use shared::store::{Claim, CodePurpose, LockPolicy, StoreError, Subject, Uniqueness};

use crate::AuthState;
use crate::email::{link_sent, send_verification, tell_taken};
use crate::guards::{
    account_lock, address_mail_allowed, client_lock, client_mail_allowed, signal, sms_code_digest,
};
use crate::second_factor::text_code;
use crate::sessions::new_session;

/// One generic answer for every failed sign-in, so it reveals nothing.
const SIGN_IN_FAILED: &str = "invalid e-mail or password";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Registration {
    email: String,
    password: String,
    display_name: String,
}

#[tracing::instrument(name = "Registering an account", skip_all)]
pub(crate) async fn register(
    State(state): State<AuthState>,
    meta: RequestMeta,
    ApiJson(input): ApiJson<Registration>,
) -> Result<Response, ApiError> {
    let mut e = FieldErrors::new();
    let email = e.check("email", Email::parse(&input.email));
    let display_name = e.check("display_name", parse_display_name(&input.display_name));
    let known: Vec<&str> = [input.email.as_str(), input.display_name.as_str()].into();
    e.check("password", passwords::check_policy(&input.password, &known));
    let (email, display_name) = e.finish(|| Some((email?, display_name?)))?;
    // Each registration mails someone, so it counts against the client's mail allowance.
    client_mail_allowed(&state, &meta).await?;
    let hash = passwords::hash(&input.password).map_err(ApiError::internal)?;
    let account = Account::register(email, display_name, hash, OffsetDateTime::now_utc());
    let audit = audit(&meta, &account.id, "auth.register").target(account.id.clone());
    // A taken address gets the same answer, so registering tells nobody who has an account;
    // its owner is told by e-mail instead.
    let created = state.accounts.create(&account, &audit).await;
    let may_mail = address_mail_allowed(&state, &account.email)
        .await?
        .is_none();
    match created {
        Ok(()) => {
            tracing::info!(user_id = %account.id, "account registered");
            if may_mail {
                send_verification(&state, &account, &account.email).await?;
            }
        }
        Err(StoreError::Duplicate(Uniqueness::Email)) if may_mail => {
            tell_taken(&state, &account.email).await;
        }
        Err(StoreError::Duplicate(Uniqueness::Email)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(link_sent())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignIn {
    email: String,
    password: String,
    #[serde(default)]
    totp_code: Option<String>,
    #[serde(default)]
    sms_code: Option<String>,
    #[serde(default)]
    recovery_code: Option<String>,
    /// Text a code to the account's phone (answered with 401 `two-factor-required`,
    /// `sms_sent: true`, once the password is right).
    #[serde(default)]
    send_sms: bool,
}

#[tracing::instrument(name = "Signing in", skip_all)]
pub(crate) async fn login(
    State(state): State<AuthState>,
    meta: RequestMeta,
    ApiJson(input): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    // A malformed address cannot belong to an account: it is answered like any other failure,
    // counted against the client only, and never stored (it may be a password typed into the
    // wrong field). A well-formed one is locked by a keyed hash, never by the address itself.
    let email = Email::parse(&input.email).ok();
    let client = client_lock(&state.own.signing_key, &meta);
    if let Some(wait) = state.attempts.locked_for(Subject::Client(&client)).await? {
        return Err(ApiError::TooManyRequests(wait));
    }
    let lock = email
        .as_ref()
        .map(|e| account_lock(&state.own.signing_key, e));
    let mut starts_lock = None;
    if let Some(lock) = &lock {
        // The guess is claimed before the password is checked, so parallel guesses are
        // limited exactly as sequential ones.
        match state
            .attempts
            .claim(Subject::Account(lock), LockPolicy::ACCOUNT)
            .await?
        {
            Claim::Locked(wait) => return Err(ApiError::TooManyRequests(wait)),
            Claim::Granted { locks } => starts_lock = locks,
        }
    }
    let failed = Failure {
        email: email.as_ref(),
        client: &client,
        starts_lock,
    };
    let account = match &email {
        Some(email) => state.accounts.find_by_email(email).await?,
        None => None,
    };
    // Overlong passwords are refused before hashing, which would otherwise cost more.
    let verified = (input.password.chars().count() <= passwords::MAX_LENGTH)
        .then(|| {
            passwords::verify(
                &input.password,
                account.as_ref().map(|a| a.password_hash.as_str()),
            )
        })
        .flatten();
    let account = match account {
        Some(account) if verified.is_some() && !account.disabled => account,
        other => {
            let actor = other
                .as_ref()
                .map_or("anonymous".to_owned(), |a| a.id.clone());
            return Err(failed.answer(&state, &meta, &actor, "password").await);
        }
    };
    let account = if account.two_factor.enabled() {
        match second_factor(&state, &meta, account, &input.codes()).await? {
            Ok(account) => account,
            Err(reason) => return Err(failed.answer(&state, &meta, &reason.0, reason.1).await),
        }
    } else {
        account
    };
    if verified == Some(Verified::NeedsRehash) {
        rehash(&state, &account, &input.password).await;
    }
    if let Some(lock) = &lock {
        state.attempts.clear(Subject::Account(lock)).await?;
    }
    state
        .audit
        .append(&audit(&meta, &account.id, "auth.login").target(account.id.clone()))
        .await?;
    new_session(&state, &account, &meta).await
}

impl SignIn {
    fn codes(&self) -> Codes<'_> {
        Codes {
            totp_code: self.totp_code.as_deref(),
            sms_code: self.sms_code.as_deref(),
            recovery_code: self.recovery_code.as_deref(),
            send_sms: self.send_sms,
        }
    }
}

/// The second-factor fields of a sign-in request.
pub(crate) struct Codes<'a> {
    pub(crate) totp_code: Option<&'a str>,
    pub(crate) sms_code: Option<&'a str>,
    pub(crate) recovery_code: Option<&'a str>,
    pub(crate) send_sms: bool,
}

/// Checks the second factor `input` carries; `Ok(Err((actor, reason)))` when it is wrong.
/// Without one, answers 401 `two-factor-required` naming the account's methods, after texting
/// a code if `send_sms` asks for one.
pub(crate) async fn second_factor(
    state: &AuthState,
    meta: &RequestMeta,
    account: Account,
    input: &Codes<'_>,
) -> Result<Result<Account, (String, &'static str)>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let wrong = |reason| Ok(Err((account.id.clone(), reason)));
    if let Some(code) = input.totp_code {
        let Some(secret) = account.two_factor.secret.clone() else {
            return wrong("totp_not_on");
        };
        let step = two_factor::matching_step(&secret, code, now.unix_timestamp().unsigned_abs());
        return match step {
            Some(step) if step > account.two_factor.last_step => {
                let next = account.changed(now, |a| a.two_factor.last_step = step);
                match state.accounts.replace(&account, &next, None).await {
                    Ok(()) => Ok(Ok(next)),
                    // Someone else changed the account meanwhile, possibly with this very code.
                    Err(StoreError::VersionMismatch) => wrong("totp_race"),
                    Err(e) => Err(e.into()),
                }
            }
            Some(_) => wrong("totp_replayed"),
            None => wrong("totp"),
        };
    }
    if let Some(code) = input.sms_code {
        if account.two_factor.phone.is_none() {
            return wrong("sms_not_on");
        }
        // Used up when it matches, so a replay (or a race with the same code) finds nothing.
        let digest = sms_code_digest(&state.own.signing_key, &account.id, code.trim());
        return match state
            .sessions
            .take_code(&account.id, CodePurpose::SignIn, &digest)
            .await?
        {
            Some(_) => Ok(Ok(account)),
            None => wrong("sms_code"),
        };
    }
    if let Some(code) = input.recovery_code {
        let digest = two_factor::recovery_code_digest(code);
        if !account.two_factor.recovery_codes.contains(&digest) {
            return wrong("recovery_code");
        }
        let next = account.changed(now, |a| {
            a.two_factor.recovery_codes.retain(|d| *d != digest)
        });
        let remaining = next.two_factor.recovery_codes.len().to_string();
        let entry = audit(meta, &account.id, "auth.recovery_code_used")
            .target(account.id.clone())
            .detail("remaining", remaining);
        return match state.accounts.replace(&account, &next, Some(&entry)).await {
            Ok(()) => Ok(Ok(next)),
            Err(StoreError::VersionMismatch) => wrong("recovery_code_race"),
            Err(e) => Err(e.into()),
        };
    }
    let mut sms_sent = false;
    if input.send_sms
        && let Some(phone) = &account.two_factor.phone
    {
        text_code(state, meta, &account.id, phone, CodePurpose::SignIn).await?;
        sms_sent = true;
    }
    Err(ApiError::TwoFactorRequired {
        methods: account.two_factor.methods(),
        sms_sent,
    })
}

/// Checks `account`'s second factor, if it has one, for a sign-in proven another way (Google):
/// each try is claimed under the address's sign-in lock first and counted like a password
/// guess when wrong.
pub(crate) async fn second_factor_alone(
    state: &AuthState,
    meta: &RequestMeta,
    account: Account,
    codes: &Codes<'_>,
) -> Result<Account, ApiError> {
    if !account.two_factor.enabled() {
        return Ok(account);
    }
    let lock = account_lock(&state.own.signing_key, &account.email);
    let starts_lock = match state
        .attempts
        .claim(Subject::Account(&lock), LockPolicy::ACCOUNT)
        .await?
    {
        Claim::Locked(wait) => return Err(ApiError::TooManyRequests(wait)),
        Claim::Granted { locks } => locks,
    };
    let client = client_lock(&state.own.signing_key, meta);
    let email = account.email.clone();
    match second_factor(state, meta, account, codes).await? {
        Ok(account) => {
            state.attempts.clear(Subject::Account(&lock)).await?;
            Ok(account)
        }
        Err((actor, reason)) => {
            let failed = Failure {
                email: Some(&email),
                client: &client,
                starts_lock,
            };
            Err(failed.answer(state, meta, &actor, reason).await)
        }
    }
}

/// What a failed sign-in is counted and audited under.
struct Failure<'a> {
    /// The address, when it parses as one (nothing else is stored).
    email: Option<&'a Email>,
    client: &'a str,
    /// The lock the claimed guess started, if it was the last before one.
    starts_lock: Option<std::time::Duration>,
}

impl Failure<'_> {
    /// Counts the failure against the client (the account's guess was claimed already),
    /// audits it, and answers 401 (or 429 when it starts a lock).
    async fn answer(
        &self,
        state: &AppState,
        meta: &RequestMeta,
        actor: &str,
        reason: &str,
    ) -> ApiError {
        let client_lock = match state
            .attempts
            .record_failure(Subject::Client(self.client), LockPolicy::CLIENT)
            .await
        {
            Ok(lock) => lock,
            Err(e) => return e.into(),
        };
        let email = self.email.map_or("(not an e-mail address)", Email::as_str);
        signal(state, "SignInFailures");
        if reason != "password" {
            signal(state, "TwoFactorFailures");
        }
        let entry = audit(meta, actor, "auth.login_failed")
            .detail("email", email)
            .detail("reason", reason);
        if let Err(e) = state.audit.append(&entry).await {
            return e.into();
        }
        let lock = self.starts_lock.max(client_lock);
        if let Some(wait) = lock {
            signal(state, "Lockouts");
            let entry = audit(meta, actor, "auth.lockout")
                .detail("email", email)
                .detail("seconds", wait.as_secs().to_string());
            if let Err(e) = state.audit.append(&entry).await {
                return e.into();
            }
        }
        ApiError::SignInFailed(SIGN_IN_FAILED)
    }
}

/// Stores a hash with the current parameters; a failure only delays the upgrade.
pub(crate) async fn rehash(state: &AppState, account: &Account, password: &str) {
    let Ok(hash) = passwords::hash(password) else {
        return;
    };
    let next = account.changed(OffsetDateTime::now_utc(), |a| a.password_hash = hash);
    if let Err(e) = state.accounts.replace(account, &next, None).await {
        tracing::warn!(error = %e, "could not upgrade a password hash; will retry at next sign-in");
    }
}
