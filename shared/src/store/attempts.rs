//! Failed sign-in counters per account and per client, kept in DynamoDB so they hold across
//! Lambda instances. Past a threshold within a window, further attempts are refused for an
//! interval that doubles with each further failure.
//!
//! Guesses at one account are *claimed* before the secret is checked ([`LoginAttempts::claim`]):
//! the count moves by compare-and-swap, so a burst of parallel requests gets no more guesses
//! than the same requests one after another.

use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;

use super::keys::*;
use super::{StoreError, Table};

/// Whose attempts are counted.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// One account, by a keyed hash of its normalised e-mail (known or not: unknown addresses
    /// lock too, so a lockout reveals nothing; the address itself is never stored).
    Account(&'a str),
    /// One account's second factor, by account id (turning two-factor off).
    SecondFactor(&'a str),
    /// One client address, by a keyed hash of it (the table keeps no address).
    Client(&'a str),
    /// Password-reset requests for one address, by the same keyed hash as [`Subject::Account`].
    ResetRequests(&'a str),
    /// Requests that send mail to an address of the caller's choosing (password resets,
    /// registrations), from one client address (by the same keyed hash as [`Subject::Client`]).
    MailClient(&'a str),
    /// Texts to one account.
    TextsFor(&'a str),
    /// Texts to one phone number, by a keyed hash of it.
    TextsTo(&'a str),
    /// Texts asked for from one client address, by a keyed hash of it.
    TextsFrom(&'a str),
    /// Verification and notice mails to one address, by the same keyed hash as
    /// [`Subject::Account`].
    AddressMail(&'a str),
}

impl Subject<'_> {
    fn key(&self) -> String {
        match self {
            Subject::Account(hash) => format!("LOCK#ACCOUNT#{hash}"),
            Subject::SecondFactor(id) => format!("LOCK#2FA#{id}"),
            Subject::Client(ip) => format!("LOCK#CLIENT#{ip}"),
            Subject::ResetRequests(hash) => format!("LOCK#RESET#{hash}"),
            Subject::MailClient(ip) => format!("LOCK#MAILCLIENT#{ip}"),
            Subject::AddressMail(hash) => format!("LOCK#MAIL#{hash}"),
            Subject::TextsFor(id) => format!("LOCK#TEXTSFOR#{id}"),
            Subject::TextsTo(hash) => format!("LOCK#TEXTSTO#{hash}"),
            Subject::TextsFrom(hash) => format!("LOCK#TEXTSFROM#{hash}"),
        }
    }
}

/// The answer to a claimed guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The guess may be checked; `locks` says the lock it started (it was the last guess
    /// before one), which a correct guess lifts with [`LoginAttempts::clear`].
    Granted {
        /// The lock this claim started, if any.
        locks: Option<Duration>,
    },
    /// Locked for this much longer: do not check anything.
    Locked(Duration),
}

/// How often a claim is retried after losing a race to another claim.
const CLAIM_ROUNDS: u32 = 64;

/// How many failures lock, for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    /// Failures within the window that start a lock.
    pub threshold: u32,
    /// How long failures are remembered.
    pub window: Duration,
    /// The first lock's length; each further failure doubles it.
    pub base: Duration,
    /// The longest lock.
    pub max: Duration,
}

impl LockPolicy {
    /// Per account: 5 failures in 15 minutes lock for 30 s, then 1, 2, 4 ... minutes, at most 15.
    pub const ACCOUNT: LockPolicy = LockPolicy {
        threshold: 5,
        window: Duration::from_secs(15 * 60),
        base: Duration::from_secs(30),
        max: Duration::from_secs(15 * 60),
    };
    /// Per client address: 20 failures in 15 minutes, same growth.
    pub const CLIENT: LockPolicy = LockPolicy {
        threshold: 20,
        ..LockPolicy::ACCOUNT
    };

    /// Password-reset mails per address: 3 an hour; the limit does not grow.
    pub const RESET_REQUESTS: LockPolicy = LockPolicy {
        threshold: 3,
        window: Duration::from_secs(60 * 60),
        base: Duration::from_secs(60 * 60),
        max: Duration::from_secs(60 * 60),
    };
    /// Verification and notice mails per address: 5 an hour; the limit does not grow.
    pub const ADDRESS_MAIL: LockPolicy = LockPolicy {
        threshold: 5,
        ..LockPolicy::RESET_REQUESTS
    };
    /// Texted codes per account and per phone number: 5 an hour, then none for 15 minutes
    /// (doubling, at most an hour): each costs money and reaches someone's phone.
    pub const TEXTS: LockPolicy = LockPolicy {
        threshold: 5,
        window: Duration::from_secs(60 * 60),
        base: Duration::from_secs(15 * 60),
        max: Duration::from_secs(60 * 60),
    };
    /// Texted codes asked for from one client address: 20 an hour (a shop's shared address),
    /// then the same growth.
    pub const TEXTS_CLIENT: LockPolicy = LockPolicy {
        threshold: 20,
        ..LockPolicy::TEXTS
    };
    /// Requests that send mail (resets, registrations) per client address: 30 an hour (many
    /// people may share one address), then locked for 15 minutes, at most an hour.
    pub const MAIL_CLIENT: LockPolicy = LockPolicy {
        threshold: 30,
        window: Duration::from_secs(60 * 60),
        base: Duration::from_secs(15 * 60),
        max: Duration::from_secs(60 * 60),
    };

    /// How long `failures` failures lock for, if at all.
    pub fn lock_for(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.threshold)?;
        let factor = 1u32.checked_shl(over.min(20)).unwrap_or(u32::MAX);
        Some(self.base.saturating_mul(factor).min(self.max))
    }
}

/// Failed sign-in counters in the single table.
#[derive(Debug, Clone)]
pub struct LoginAttempts {
    table: Table,
}

impl LoginAttempts {
    /// Counters in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// How much longer `subject` is locked out, if it is.
    pub async fn locked_for(&self, subject: Subject<'_>) -> Result<Option<Duration>, StoreError> {
        let Some(item) = self.table.get_item(subject.key(), LOCK_SK).await? else {
            return Ok(None);
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let until = number(&item, "locked_until");
        Ok((until > now).then(|| Duration::from_secs((until - now).unsigned_abs())))
    }

    /// Claims one guess for `subject` before the secret is checked: counts it within the
    /// window, refuses it while a lock holds, and starts the lock at the guess that reaches the
    /// policy's threshold. Concurrent claims serialise on the counter's version.
    pub async fn claim(
        &self,
        subject: Subject<'_>,
        policy: LockPolicy,
    ) -> Result<Claim, StoreError> {
        for round in 0..CLAIM_ROUNDS {
            let item = self.table.get_item(subject.key(), LOCK_SK).await?;
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let read = |name| item.as_ref().map_or(0, |i| number(i, name));
            let (version, locked_until) = (read("version"), read("locked_until"));
            if locked_until > now {
                return Ok(Claim::Locked(Duration::from_secs(
                    (locked_until - now).unsigned_abs(),
                )));
            }
            let window = i64::try_from(policy.window.as_secs()).unwrap_or(i64::MAX);
            let (failures, window_ends) = match read("window_ends") {
                ends if ends > now => (read("failures"), ends),
                _ => (0, now.saturating_add(window)),
            };
            let failures = failures.saturating_add(1);
            let locks = policy.lock_for(u32::try_from(failures).unwrap_or(u32::MAX));
            let until = locks.map_or(0, |l| {
                now.saturating_add(i64::try_from(l.as_secs()).unwrap_or(i64::MAX))
            });
            // A lock keeps the count for a whole window after it ends, so the next guess
            // doubles the lock instead of starting over at five free guesses.
            let window_ends = match locks {
                Some(_) => window_ends.max(until.saturating_add(window)),
                None => window_ends,
            };
            let max = i64::try_from(policy.max.as_secs()).unwrap_or(0);
            let expires = window_ends.max(until).saturating_add(max);
            let written = self
                .put_counter(subject)
                .item("failures", AttributeValue::N(failures.to_string()))
                .item("window_ends", AttributeValue::N(window_ends.to_string()))
                .item("locked_until", AttributeValue::N(until.to_string()))
                .item("version", AttributeValue::N((version + 1).to_string()))
                .item(EXPIRES_AT, AttributeValue::N(expires.to_string()))
                .condition_expression("attribute_not_exists(PK) OR version = :seen")
                .expression_attribute_values(":seen", AttributeValue::N(version.to_string()))
                .send()
                .await;
            match written {
                Ok(_) => return Ok(Claim::Granted { locks }),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                {
                    // Another claim moved the counter first: read it again after a pause.
                    let pause = 2u64.saturating_mul(u64::from(round.min(5)) + 1);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                Err(e) => return Err(StoreError::from_sdk(e)),
            }
        }
        // Under more contention than this, refusing is the safe answer.
        Ok(Claim::Locked(policy.base))
    }

    /// Counts a failure; returns the lock it starts, if any.
    pub async fn record_failure(
        &self,
        subject: Subject<'_>,
        policy: LockPolicy,
    ) -> Result<Option<Duration>, StoreError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let window_end = now + i64::try_from(policy.window.as_secs()).unwrap_or(i64::MAX);
        let expires = window_end + i64::try_from(policy.max.as_secs()).unwrap_or(0);
        // Count within the current window; a stale window starts again at one.
        let counted = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(subject.key()))
            .key(SK, AttributeValue::S(LOCK_SK.into()))
            .update_expression("ADD failures :one SET window_ends = if_not_exists(window_ends, :window_end), expires_at = :expires")
            .condition_expression("attribute_not_exists(PK) OR window_ends > :now")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":window_end", AttributeValue::N(window_end.to_string()))
            .expression_attribute_values(":expires", AttributeValue::N(expires.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let failures = match counted {
            Ok(out) => out.attributes.as_ref().map_or(1, |a| number(a, "failures")),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                self.put_counter(subject)
                    .item("failures", AttributeValue::N("1".into()))
                    .item("window_ends", AttributeValue::N(window_end.to_string()))
                    .item(EXPIRES_AT, AttributeValue::N(expires.to_string()))
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                1
            }
            Err(e) => return Err(StoreError::from_sdk(e)),
        };
        let Some(lock) = policy.lock_for(u32::try_from(failures).unwrap_or(u32::MAX)) else {
            return Ok(None);
        };
        let until = now + i64::try_from(lock.as_secs()).unwrap_or(i64::MAX);
        self.table
            .client()
            .update_item()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(subject.key()))
            .key(SK, AttributeValue::S(LOCK_SK.into()))
            .update_expression("SET locked_until = :until, expires_at = :expires")
            .expression_attribute_values(":until", AttributeValue::N(until.to_string()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N((until.max(expires)).to_string()),
            )
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(Some(lock))
    }

    /// A put of `subject`'s counter item, its key and kind set.
    fn put_counter(&self, subject: Subject<'_>) -> PutItemFluentBuilder {
        self.table
            .client()
            .put_item()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(subject.key()))
            .item(SK, AttributeValue::S(LOCK_SK.into()))
            .item(ENTITY, AttributeValue::S("login_attempts".into()))
    }

    /// Forgets `subject`'s failures (after a successful sign-in).
    pub async fn clear(&self, subject: Subject<'_>) -> Result<(), StoreError> {
        self.table
            .client()
            .delete_item()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(subject.key()))
            .key(SK, AttributeValue::S(LOCK_SK.into()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}

fn number(item: &super::Item, name: &str) -> i64 {
    super::number_of(item, name).unwrap_or(0)
}

#[cfg(test)]
#[path = "attempts_test.rs"]
mod tests;
