//! Refresh tokens: one use each, grouped in families so a reused token revokes its family.
//!
//! Only a token's SHA-256 is stored. Rotation marks the presented token used, checks its family
//! is not revoked and stores its successor, in one transaction; presenting a used token means
//! it was copied, so the whole family is revoked.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::keys::*;
use super::{Guard, StoreError, Table, Write, number_of, unless_refused};
use crate::auth::{digest, opaque_token};

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// A fresh token replaces the presented one.
    Rotated {
        /// The new refresh token (give it to the client; it is not stored).
        token: String,
        /// Whose it is.
        user_id: String,
        /// Its family.
        family_id: String,
        /// The account's session generation when the family was started: a family older than
        /// the account's current one was signed out (a password change or reset, sign-out
        /// everywhere).
        generation: u64,
    },
    /// The token had already been used: its family is now revoked.
    Reused {
        /// Whose it was.
        user_id: String,
        /// The revoked family.
        family_id: String,
    },
    /// Unknown, expired, or of a revoked family.
    Invalid,
}

/// Where a session was started from (shown in the list of sessions).
#[derive(Debug, Clone, Default)]
pub struct SessionOrigin {
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
}

/// A live session: a refresh-token family.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Session {
    /// The family's id.
    pub id: String,
    /// The `User-Agent` it was started with.
    pub user_agent: Option<String>,
    /// The address it was started from.
    pub ip: Option<String>,
    /// When it was started (`None` for sessions started before this was recorded).
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// When its refresh token was last used.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// When it ends unless used.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// The kinds of single-use links sent by e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Resets a password.
    PasswordReset,
    /// Proves an address is read by the account's owner.
    VerifyEmail,
    /// Lets a Google account sign in to an existing account, confirmed from its mailbox.
    LinkGoogle,
}

impl LinkKind {
    fn as_str(self) -> &'static str {
        match self {
            LinkKind::PasswordReset => "RESET",
            LinkKind::VerifyEmail => "VERIFY",
            LinkKind::LinkGoogle => "LINKGOOGLE",
        }
    }
}

/// What a single-use link is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Resets the password.
    PasswordReset,
    /// Verifies address `to` for an account whose address is `from` (the same address for a
    /// new account; another one for an address change, which takes effect when verified).
    VerifyEmail {
        /// The account's address when the link was sent: the link is dead once it changed.
        from: String,
        /// The address being verified.
        to: String,
    },
    /// Lets Google account `google_sub` sign in to the account, whose address is `email`.
    LinkGoogle {
        /// The account's address when the link was sent: the link is dead once it changed.
        email: String,
        /// The Google account's `sub`.
        google_sub: String,
    },
}

impl Purpose {
    fn kind(&self) -> &'static str {
        match self {
            Purpose::PasswordReset => LinkKind::PasswordReset.as_str(),
            Purpose::VerifyEmail { .. } => LinkKind::VerifyEmail.as_str(),
            Purpose::LinkGoogle { .. } => LinkKind::LinkGoogle.as_str(),
        }
    }

    fn entity(&self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::VerifyEmail { .. } => "email_verification",
            Purpose::LinkGoogle { .. } => "google_link",
        }
    }
}

/// A single-use link sent to an account's owner; only its token's SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Whose account it acts on.
    pub user_id: String,
    /// The account's token generation when it was sent.
    pub generation: u64,
    /// What it does.
    pub purpose: Purpose,
}

impl Link {
    fn decode(kind: LinkKind, item: &super::Item) -> Option<Self> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let purpose = match kind {
            LinkKind::PasswordReset => Purpose::PasswordReset,
            LinkKind::VerifyEmail => Purpose::VerifyEmail {
                from: text("from")?,
                to: text("to")?,
            },
            LinkKind::LinkGoogle => Purpose::LinkGoogle {
                email: text("email")?,
                google_sub: text("google_sub")?,
            },
        };
        Some(Self {
            user_id: text("user_id")?,
            generation: number_of(item, "generation")?.try_into().ok()?,
            purpose,
        })
    }
}

/// What a one-time code sent by text message is for; each account has at most one live code
/// per purpose (a new one replaces it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// Signing in with the phone as the second factor.
    SignIn,
    /// Proving a phone number before it becomes the second factor.
    Enrol,
}

impl CodePurpose {
    fn sort_key(self) -> &'static str {
        match self {
            CodePurpose::SignIn => "CODE#SIGN_IN",
            CodePurpose::Enrol => "CODE#ENROL",
        }
    }
}

/// Refresh tokens and their families in the single table.
#[derive(Debug, Clone)]
pub struct SessionStore {
    table: Table,
}

struct TokenRecord {
    user_id: String,
    family_id: String,
    generation: u64,
    used: bool,
    expires_at: i64,
}

impl SessionStore {
    /// Sessions in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Starts a new family (a session) for `user_id`, signed in from `origin` in the account's
    /// session `generation`, and returns its first token.
    pub async fn start(
        &self,
        user_id: &str,
        lifetime: time::Duration,
        origin: &SessionOrigin,
        generation: u64,
    ) -> Result<String, StoreError> {
        let family_id = uuid::Uuid::now_v7().to_string();
        let now = OffsetDateTime::now_utc();
        let expires = (now + lifetime).unix_timestamp();
        let mut family = Put::builder()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(user_pk(user_id)))
            .item(SK, AttributeValue::S(family_sk(&family_id)))
            .item(ENTITY, AttributeValue::S("token_family".into()))
            .item("revoked", AttributeValue::Bool(false))
            .item(
                "created_at",
                AttributeValue::N(now.unix_timestamp().to_string()),
            )
            .item(
                "last_used_at",
                AttributeValue::N(now.unix_timestamp().to_string()),
            )
            .item(EXPIRES_AT, AttributeValue::N(expires.to_string()));
        if let Some(ua) = &origin.user_agent {
            family = family.item("user_agent", AttributeValue::S(ua.clone()));
        }
        if let Some(ip) = &origin.ip {
            family = family.item("ip", AttributeValue::S(ip.clone()));
        }
        let family = family.build().map_err(StoreError::internal)?;
        let (token, put) = self.new_token(user_id, &family_id, generation, expires)?;
        self.table
            .transact(vec![
                Write(
                    Guard::None,
                    TransactWriteItem::builder().put(family).build(),
                ),
                Write(Guard::None, put),
            ])
            .await?;
        Ok(token)
    }

    /// Exchanges `token` for its successor (see [`Rotation`]).
    pub async fn rotate(&self, token: &str) -> Result<Rotation, StoreError> {
        let Some(record) = self.find(token).await? else {
            return Ok(Rotation::Invalid);
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if record.expires_at <= now {
            return Ok(Rotation::Invalid);
        }
        if record.used {
            self.revoke_family(&record.user_id, &record.family_id)
                .await?;
            return Ok(Rotation::Reused {
                user_id: record.user_id,
                family_id: record.family_id,
            });
        }
        let mark_used = Update::builder()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(refresh_pk(&digest(token))))
            .key(SK, AttributeValue::S(REFRESH_SK.into()))
            .update_expression("SET used = :yes")
            .condition_expression("used = :no")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .build()
            .map_err(StoreError::internal)?;
        // The family must be alive; its last use is now.
        let family_alive = Update::builder()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(user_pk(&record.user_id)))
            .key(SK, AttributeValue::S(family_sk(&record.family_id)))
            .update_expression("SET last_used_at = :now")
            .condition_expression("revoked = :no AND expires_at > :now")
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .build()
            .map_err(StoreError::internal)?;
        let (next, put) = self.new_token(
            &record.user_id,
            &record.family_id,
            record.generation,
            record.expires_at,
        )?;
        let result = self
            .table
            .transact(vec![
                Write(
                    Guard::Version,
                    TransactWriteItem::builder().update(mark_used).build(),
                ),
                Write(
                    Guard::Alive,
                    TransactWriteItem::builder().update(family_alive).build(),
                ),
                Write(Guard::None, put),
            ])
            .await;
        match result {
            Ok(()) => Ok(Rotation::Rotated {
                token: next,
                user_id: record.user_id,
                family_id: record.family_id,
                generation: record.generation,
            }),
            // Lost a race with another use of the same token: that is reuse too.
            Err(StoreError::VersionMismatch) => {
                self.revoke_family(&record.user_id, &record.family_id)
                    .await?;
                Ok(Rotation::Reused {
                    user_id: record.user_id,
                    family_id: record.family_id,
                })
            }
            Err(StoreError::Gone) => Ok(Rotation::Invalid),
            Err(e) => Err(e),
        }
    }

    /// Revokes the family `token` belongs to; `None` if the token is unknown.
    pub async fn revoke_by_token(
        &self,
        token: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let Some(record) = self.find(token).await? else {
            return Ok(None);
        };
        self.revoke_family(&record.user_id, &record.family_id)
            .await?;
        Ok(Some((record.user_id, record.family_id)))
    }

    /// Issues a single-use `link` token good within `lifetime`: `<account id>.<secret>`, so
    /// it is found under its account's partition (and goes with the account's other items
    /// when the account is erased). Only its SHA-256 is stored.
    pub async fn start_link(
        &self,
        link: &Link,
        lifetime: time::Duration,
    ) -> Result<String, StoreError> {
        let token = format!("{}.{}", link.user_id, opaque_token());
        let expires = (OffsetDateTime::now_utc() + lifetime).unix_timestamp();
        let kind = link.purpose.kind();
        let mut put = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(user_pk(&link.user_id)))
            .item(SK, AttributeValue::S(link_sk(kind, &digest(&token))))
            .item(ENTITY, AttributeValue::S(link.purpose.entity().into()))
            .item("user_id", AttributeValue::S(link.user_id.clone()))
            .item("generation", AttributeValue::N(link.generation.to_string()))
            .item(EXPIRES_AT, AttributeValue::N(expires.to_string()));
        match &link.purpose {
            Purpose::VerifyEmail { from, to } => {
                put = put
                    .item("from", AttributeValue::S(from.clone()))
                    .item("to", AttributeValue::S(to.clone()));
            }
            Purpose::LinkGoogle { email, google_sub } => {
                put = put
                    .item("email", AttributeValue::S(email.clone()))
                    .item("google_sub", AttributeValue::S(google_sub.clone()));
            }
            Purpose::PasswordReset => {}
        }
        put.send().await.map_err(StoreError::from_sdk)?;
        Ok(token)
    }

    /// The key of the `kind` link `token`, if it is shaped like one.
    fn link_key(kind: LinkKind, token: &str) -> Option<(String, String)> {
        let (user_id, secret) = token.split_once('.')?;
        let plausible = !user_id.is_empty() && user_id.len() <= 64 && !secret.is_empty();
        (plausible && token.len() <= 200)
            .then(|| (user_pk(user_id), link_sk(kind.as_str(), &digest(token))))
    }

    /// The `kind` link `token` stands for, while it is unused and unexpired (nothing
    /// changes).
    pub async fn link(&self, kind: LinkKind, token: &str) -> Result<Option<Link>, StoreError> {
        let Some((pk, sk)) = Self::link_key(kind, token) else {
            return Ok(None);
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let item = self.table.get_item(pk, &sk).await?;
        Ok(item.and_then(|i| {
            let live = number_of(&i, EXPIRES_AT).is_some_and(|expires| expires > now);
            live.then(|| Link::decode(kind, &i)).flatten()
        }))
    }

    /// Uses `kind` link `token` up: what it stood for, if it was unused and unexpired. Of
    /// two requests presenting it, one gets the link and the other `None`.
    pub async fn take_link(&self, kind: LinkKind, token: &str) -> Result<Option<Link>, StoreError> {
        let Some((pk, sk)) = Self::link_key(kind, token) else {
            return Ok(None);
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let taken = self
            .table
            .client()
            .delete_item()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk))
            .condition_expression("attribute_exists(PK) AND #expires > :now")
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        Ok(unless_refused(taken)?
            .and_then(|out| out.attributes)
            .and_then(|a| Link::decode(kind, &a)))
    }

    /// Stores `digest` (a keyed hash of a code just sent to `phone`) as `user_id`'s live
    /// `purpose` code for `lifetime`, replacing any earlier one.
    pub async fn start_code(
        &self,
        user_id: &str,
        purpose: CodePurpose,
        digest: &str,
        phone: &str,
        lifetime: time::Duration,
    ) -> Result<(), StoreError> {
        let expires = (OffsetDateTime::now_utc() + lifetime).unix_timestamp();
        self.table
            .client()
            .put_item()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(user_pk(user_id)))
            .item(SK, AttributeValue::S(purpose.sort_key().into()))
            .item(ENTITY, AttributeValue::S("one_time_code".into()))
            .item("digest", AttributeValue::S(digest.to_owned()))
            .item("phone", AttributeValue::S(phone.to_owned()))
            .item(EXPIRES_AT, AttributeValue::N(expires.to_string()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Uses `user_id`'s live `purpose` code up if its digest is `digest`: the phone it was sent
    /// to. A wrong code leaves the live one as it is; of two requests presenting the right
    /// one, one gets the phone and the other `None`.
    pub async fn take_code(
        &self,
        user_id: &str,
        purpose: CodePurpose,
        digest: &str,
    ) -> Result<Option<String>, StoreError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let taken = self
            .table
            .client()
            .delete_item()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(user_pk(user_id)))
            .key(SK, AttributeValue::S(purpose.sort_key().into()))
            .condition_expression("digest = :digest AND #expires > :now")
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(":digest", AttributeValue::S(digest.to_owned()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        Ok(unless_refused(taken)?
            .and_then(|out| out.attributes)
            .and_then(|a| a.get("phone").and_then(|v| v.as_s().ok()).cloned()))
    }

    /// Deletes everything stored under `user_id`'s partition but the account itself and its
    /// count of open orders: sessions (with their addresses and user agents), links, codes,
    /// and the idempotency records (kept responses) noted there. For an erasure; how many
    /// items went.
    pub async fn forget_all(&self, user_id: &str) -> Result<usize, StoreError> {
        let mut forgotten = 0;
        let mut start = None;
        loop {
            let page = self
                .table
                .client()
                .query()
                .table_name(self.table.name())
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(user_pk(user_id)))
                .projection_expression("PK, SK, #record")
                .expression_attribute_names("#record", IDEMPOTENCY_REF)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for item in page.items.unwrap_or_default() {
                let Some(sk) = item.get(SK).and_then(|v| v.as_s().ok()) else {
                    continue;
                };
                if sk == USER_SK || sk == OPEN_ORDERS_SK {
                    continue;
                }
                if let Some(record) = item.get(IDEMPOTENCY_REF).and_then(|v| v.as_s().ok()) {
                    self.table
                        .client()
                        .delete_item()
                        .table_name(self.table.name())
                        .key(PK, AttributeValue::S(record.clone()))
                        .key(SK, AttributeValue::S(IDEMPOTENCY_SK.into()))
                        .send()
                        .await
                        .map_err(StoreError::from_sdk)?;
                    forgotten += 1;
                }
                self.table
                    .client()
                    .delete_item()
                    .table_name(self.table.name())
                    .key(PK, AttributeValue::S(user_pk(user_id)))
                    .key(SK, AttributeValue::S(sk.clone()))
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                forgotten += 1;
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(forgotten);
            }
        }
    }

    /// `user_id`'s live sessions (families neither revoked nor expired), oldest first.
    pub async fn sessions(&self, user_id: &str) -> Result<Vec<Session>, StoreError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut sessions = Vec::new();
        for item in self.families(user_id).await? {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            let number = |name: &str| {
                item.get(name)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
            };
            let revoked = item
                .get("revoked")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(true);
            let expires = number(EXPIRES_AT).unwrap_or(0);
            let Some(id) = text(SK).and_then(|sk| sk.strip_prefix("FAMILY#").map(str::to_owned))
            else {
                continue;
            };
            if revoked || expires <= now {
                continue;
            }
            let at = |n: Option<i64>| n.and_then(|n| OffsetDateTime::from_unix_timestamp(n).ok());
            sessions.push(Session {
                id,
                user_agent: text("user_agent"),
                ip: text("ip"),
                created_at: at(number("created_at")),
                last_used_at: at(number("last_used_at")),
                expires_at: at(Some(expires)),
            });
        }
        Ok(sessions)
    }

    /// Every family item of `user_id`, live or not.
    async fn families(&self, user_id: &str) -> Result<Vec<super::Item>, StoreError> {
        self.table
            .with_prefix(user_pk(user_id), "FAMILY#", false, usize::MAX)
            .await
    }

    /// Ends `user_id`'s session `family_id`; whether it was one of theirs and still live.
    pub async fn end(&self, user_id: &str, family_id: &str) -> Result<bool, StoreError> {
        if family_id.is_empty() || family_id.len() > 64 {
            return Ok(false);
        }
        let live = self
            .sessions(user_id)
            .await?
            .iter()
            .any(|s| s.id == family_id);
        if live {
            self.revoke_family(user_id, family_id).await?;
        }
        Ok(live)
    }

    /// Revokes every family of `user_id`.
    pub async fn revoke_all(&self, user_id: &str) -> Result<(), StoreError> {
        for item in self.families(user_id).await? {
            if let Some(family) = item
                .get(SK)
                .and_then(|v| v.as_s().ok())
                .and_then(|sk| sk.strip_prefix("FAMILY#"))
            {
                self.revoke_family(user_id, family).await?;
            }
        }
        Ok(())
    }

    async fn revoke_family(&self, user_id: &str, family_id: &str) -> Result<(), StoreError> {
        self.table
            .client()
            .update_item()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(user_pk(user_id)))
            .key(SK, AttributeValue::S(family_sk(family_id)))
            .update_expression("SET revoked = :yes")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await
            .map(|_| ())
            .or_else(|e| match e.as_service_error() {
                Some(s) if s.is_conditional_check_failed_exception() => Ok(()),
                _ => Err(StoreError::from_sdk(e)),
            })
    }

    async fn find(&self, token: &str) -> Result<Option<TokenRecord>, StoreError> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let Some(item) = self
            .table
            .get_item(refresh_pk(&digest(token)), REFRESH_SK)
            .await?
        else {
            return Ok(None);
        };
        let text = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .ok_or_else(|| StoreError::corrupt(format!("refresh token without {name}")))
        };
        Ok(Some(TokenRecord {
            user_id: text("user_id")?,
            family_id: text("family_id")?,
            used: item
                .get("used")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(true),
            expires_at: item
                .get(EXPIRES_AT)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            // Tokens from before generations were recorded count as the first generation.
            generation: item
                .get("generation")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        }))
    }

    fn new_token(
        &self,
        user_id: &str,
        family_id: &str,
        generation: u64,
        expires_at: i64,
    ) -> Result<(String, TransactWriteItem), StoreError> {
        let token = opaque_token();
        let put = Put::builder()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(refresh_pk(&digest(&token))))
            .item(SK, AttributeValue::S(REFRESH_SK.into()))
            .item(ENTITY, AttributeValue::S("refresh_token".into()))
            .item("user_id", AttributeValue::S(user_id.into()))
            .item("family_id", AttributeValue::S(family_id.into()))
            .item("used", AttributeValue::Bool(false))
            .item("generation", AttributeValue::N(generation.to_string()))
            .item(EXPIRES_AT, AttributeValue::N(expires_at.to_string()))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(StoreError::internal)?;
        Ok((token, TransactWriteItem::builder().put(put).build()))
    }
}
