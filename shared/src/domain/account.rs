//! Accounts: who may sign in, with which role, and their second factor.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::validation::bounded_text;
use super::{Permission, Role};

/// A normalised e-mail address: trimmed and lower-cased, so each mailbox has one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        let invalid = || format!("'{}' is not an e-mail address", raw.trim());
        if email.chars().count() > 254 {
            return Err("must be at most 254 characters".into());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !domain.contains("..")
            && email.chars().all(|c| !c.is_whitespace() && !c.is_control());
        if !well_formed {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.0
    }
}

/// Checks a display name: 1 to 100 characters.
pub fn parse_display_name(raw: &str) -> Result<String, String> {
    bounded_text(raw, 1, 100)
}

fn verified_before_verification_existed() -> bool {
    true
}

/// An account's second factor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactor {
    /// The confirmed TOTP secret (base32) once enabled.
    pub secret: Option<String>,
    /// A secret handed out by setup, waiting for its first code.
    pub pending_secret: Option<String>,
    /// The last TOTP time step accepted: each code works once.
    pub last_step: u64,
    /// Digests of unused recovery codes.
    pub recovery_codes: Vec<String>,
    /// The phone (E.164) codes are texted to, once proven by a code.
    #[serde(default)]
    pub phone: Option<String>,
}

impl TwoFactor {
    /// Whether logins need a second factor.
    pub fn enabled(&self) -> bool {
        self.secret.is_some() || self.phone.is_some()
    }

    /// The second factors on, as APIs name them: `totp`, `sms`.
    pub fn methods(&self) -> Vec<&'static str> {
        let mut methods = Vec::new();
        if self.secret.is_some() {
            methods.push("totp");
        }
        if self.phone.is_some() {
            methods.push("sms");
        }
        methods
    }
}

/// An account as stored. The password hash and second-factor secrets never leave the store
/// layer except through [`AccountView`]'s omission of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account id (UUIDv7).
    pub id: String,
    /// The sign-in address.
    pub email: Email,
    /// What others see.
    pub display_name: String,
    pub role: Role,
    /// Disabled accounts cannot sign in or refresh tokens.
    pub disabled: bool,
    /// argon2id PHC string; empty for an account made with Google sign-in until a password
    /// is set through a reset.
    pub password_hash: String,
    /// The second factor.
    #[serde(default)]
    pub two_factor: TwoFactor,
    /// Whether the owner proved they read mail at [`Account::email`]. Only verified accounts
    /// place orders. Accounts stored before verification existed count as verified.
    #[serde(default = "verified_before_verification_existed")]
    pub email_verified: bool,
    /// The Google account (its `sub`) that signs in to this one, once linked.
    #[serde(default)]
    pub google_sub: Option<String>,
    /// Permissions an admin granted this account beyond its role.
    #[serde(default)]
    pub grants: Vec<Permission>,
    /// Incremented by every change.
    pub version: u64,
    /// Access tokens carry the generation they were issued in; disabling the account, changing
    /// its role and signing out everywhere start a new one, which voids every earlier token.
    #[serde(default)]
    pub token_generation: u64,
    /// Sessions (refresh-token families) carry the session generation they were started in;
    /// changing or resetting the password and signing out everywhere start a new one, and a
    /// family from an earlier one can no longer refresh, even one stored while that happened.
    /// (A role change does not: a session's next refresh carries the new role.)
    #[serde(default)]
    pub session_generation: u64,
    /// When its owner had it erased: what is left is a tombstone without personal data.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the account last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Account {
    /// A new account with role `customer`.
    pub fn register(
        email: Email,
        display_name: String,
        password_hash: String,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            email,
            display_name,
            role: Role::Customer,
            disabled: false,
            password_hash,
            two_factor: TwoFactor::default(),
            email_verified: false,
            google_sub: None,
            grants: Vec::new(),
            version: 1,
            token_generation: 0,
            session_generation: 0,
            deleted_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether this account counts towards the "at least one admin" rule.
    pub fn is_active_admin(&self) -> bool {
        self.role == Role::Admin && !self.disabled
    }

    /// Makes this account what is left once its owner had it erased: its id (orders and the
    /// ledger name it), role and dates; no address, name, password, factor, phone, grant or
    /// Google account; disabled, every token and session ended.
    pub fn erase(&mut self, now: OffsetDateTime) {
        self.email = Email(format!("deleted-{}@deleted.invalid", self.id));
        self.display_name = "Deleted account".into();
        self.password_hash = String::new();
        self.two_factor = TwoFactor::default();
        self.email_verified = false;
        self.google_sub = None;
        self.grants = Vec::new();
        self.disabled = true;
        self.token_generation += 1;
        self.session_generation += 1;
        self.deleted_at = Some(now);
    }

    /// This account changed by `change`, as the next version.
    pub fn changed(&self, now: OffsetDateTime, change: impl FnOnce(&mut Account)) -> Account {
        let mut next = self.clone();
        change(&mut next);
        next.version += 1;
        next.updated_at = now;
        next
    }

    /// What the API shows of this account.
    pub fn view(&self) -> AccountView {
        AccountView {
            id: self.id.clone(),
            email: self.email.as_str().to_owned(),
            display_name: self.display_name.clone(),
            role: self.role,
            disabled: self.disabled,
            two_factor_enabled: self.two_factor.enabled(),
            two_factor_methods: self.two_factor.methods(),
            email_verified: self.email_verified,
            google_linked: self.google_sub.is_some(),
            has_password: !self.password_hash.is_empty(),
            grants: self.grants.clone(),
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// An account as clients see it: no hashes, no secrets.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    /// The account id.
    pub id: String,
    /// The sign-in address.
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Disabled flag.
    pub disabled: bool,
    /// Whether two-factor is on.
    pub two_factor_enabled: bool,
    /// Which second factors are on (`totp`, `sms`).
    pub two_factor_methods: Vec<&'static str>,
    /// Whether the address is verified (needed to place orders).
    pub email_verified: bool,
    /// Whether a Google account signs in to this one.
    pub google_linked: bool,
    /// Whether the account has a password (one made with Google has none until it is reset).
    pub has_password: bool,
    /// Permissions granted beyond the role.
    pub grants: Vec<Permission>,
    /// Version (the `ETag`).
    pub version: u64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
#[path = "account_test.rs"]
mod tests;
