//! Accounts, their e-mail claims, and the count of active admins.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::audit::AuditEntry;
use super::codec::{self, decode_all};
use super::keys::*;
use super::{AuditLog, Cursor, Guard, IndexListing, Item, StoreError, Table, Uniqueness, Write};
use crate::domain::{Account, Email};

/// Stores accounts in the single table.
#[derive(Debug, Clone)]
pub struct AccountStore {
    table: Table,
    audit: AuditLog,
}

impl AccountStore {
    /// Accounts in `table`.
    pub fn new(table: Table) -> Self {
        Self {
            audit: AuditLog::new(table.clone()),
            table,
        }
    }

    /// Creates `account`, claiming its e-mail address, with its audit entry; all or nothing.
    #[tracing::instrument(name = "store: create account", skip_all, fields(user_id = %account.id))]
    pub async fn create(&self, account: &Account, audit: &AuditEntry) -> Result<(), StoreError> {
        let mut writes = vec![
            Write(Guard::Version, self.put_account(account, None)?),
            Write(Guard::Unique(Uniqueness::Email), self.claim_email(account)?),
            self.audit.put(audit)?,
        ];
        if let Some(sub) = &account.google_sub {
            writes.push(Write(
                Guard::Unique(Uniqueness::GoogleAccount),
                self.claim_google(account, sub)?,
            ));
        }
        if account.is_active_admin() {
            writes.push(Write(Guard::None, self.count_admins(1, false)?));
        }
        self.table.transact(writes).await
    }

    /// Replaces `previous` by `next` if it is still current, keeping the admin count right
    /// (refusing to leave no active admin) and moving the e-mail claim when the address
    /// changes (refusing an address another account holds), with an optional audit entry;
    /// all or nothing.
    #[tracing::instrument(name = "store: save account", skip_all, fields(user_id = %next.id))]
    pub async fn replace(
        &self,
        previous: &Account,
        next: &Account,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let mut writes = vec![Write(
            Guard::Version,
            self.put_account(next, Some(previous.version))?,
        )];
        match (previous.is_active_admin(), next.is_active_admin()) {
            (true, false) => writes.push(Write(Guard::LastAdmin, self.count_admins(-1, true)?)),
            (false, true) => writes.push(Write(Guard::None, self.count_admins(1, false)?)),
            _ => {}
        }
        if previous.email != next.email {
            writes.push(Write(
                Guard::Unique(Uniqueness::Email),
                self.claim_email(next)?,
            ));
            writes.push(Write(Guard::None, self.release_email(previous)?));
        }
        if previous.google_sub != next.google_sub {
            if let Some(sub) = &next.google_sub {
                writes.push(Write(
                    Guard::Unique(Uniqueness::GoogleAccount),
                    self.claim_google(next, sub)?,
                ));
            }
            if let Some(sub) = &previous.google_sub {
                writes.push(Write(
                    Guard::None,
                    self.release(google_pk(sub), GOOGLE_SK, previous)?,
                ));
            }
        }
        if let Some(entry) = audit {
            writes.push(self.audit.put(entry)?);
        }
        self.table.transact(writes).await
    }

    /// The account with `id`.
    pub async fn get(&self, id: &str) -> Result<Account, StoreError> {
        self.table.get_as(user_pk(id), USER_SK).await
    }

    /// The account signing in with `email`, if any.
    pub async fn find_by_email(&self, email: &Email) -> Result<Option<Account>, StoreError> {
        self.find_by_claim(email_pk(email.as_str()), EMAIL_SK).await
    }

    /// The account holding the claim item at `pk`/`sk`, if any.
    async fn find_by_claim(&self, pk: String, sk: &str) -> Result<Option<Account>, StoreError> {
        let Some(claim) = self.table.get_item(pk, sk).await? else {
            return Ok(None);
        };
        let id = claim
            .get("user_id")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| StoreError::corrupt("claim without user_id"))?;
        match self.get(id).await {
            Ok(account) => Ok(Some(account)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The account a Google account (`sub`) signs in to, if any.
    pub async fn find_by_google(&self, sub: &str) -> Result<Option<Account>, StoreError> {
        self.find_by_claim(google_pk(sub), GOOGLE_SK).await
    }

    /// One page of accounts in creation order.
    pub async fn list(
        &self,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Account>, Option<Cursor>), StoreError> {
        let listing = IndexListing::new(BY_GSI1, USERS_PARTITION.to_owned(), "USER#", USER_SK);
        let (items, next) = self.table.query_page(&listing, limit, after).await?;
        let accounts = decode_all(items)?;
        Ok((accounts, next))
    }

    fn put_account(
        &self,
        account: &Account,
        expected_version: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item: Item = codec::encode(account)?;
        let s = AttributeValue::S;
        item.insert(PK.into(), s(user_pk(&account.id)));
        item.insert(SK.into(), s(USER_SK.into()));
        item.insert(ENTITY.into(), s("account".into()));
        item.insert(GSI1PK.into(), s(USERS_PARTITION.into()));
        item.insert(GSI1SK.into(), s(account.id.clone()));
        self.table.versioned_put(item, expected_version)
    }

    fn claim_email(&self, account: &Account) -> Result<TransactWriteItem, StoreError> {
        self.claim(email_pk(account.email.as_str()), EMAIL_SK, "email", account)
    }

    fn claim_google(&self, account: &Account, sub: &str) -> Result<TransactWriteItem, StoreError> {
        self.claim(google_pk(sub), GOOGLE_SK, "google_account", account)
    }

    /// Claims the item `pk`/`sk` for `account`, if nobody holds it.
    fn claim(
        &self,
        pk: String,
        sk: &str,
        entity: &str,
        account: &Account,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(pk))
            .item(SK, AttributeValue::S(sk.into()))
            .item(ENTITY, AttributeValue::S(entity.into()))
            .item("user_id", AttributeValue::S(account.id.clone()))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(StoreError::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Gives up `account`'s claim on its address (only if the claim is still its own).
    fn release_email(&self, account: &Account) -> Result<TransactWriteItem, StoreError> {
        self.release(email_pk(account.email.as_str()), EMAIL_SK, account)
    }

    /// Gives up `account`'s claim item `pk`/`sk` (only if the claim is still its own).
    fn release(
        &self,
        pk: String,
        sk: &str,
        account: &Account,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk.into()))
            .condition_expression("attribute_not_exists(PK) OR user_id = :id")
            .expression_attribute_values(":id", AttributeValue::S(account.id.clone()))
            .build()
            .map_err(StoreError::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Adds `delta` to the active-admin count; with `keep_one`, only while more than one remains.
    fn count_admins(&self, delta: i64, keep_one: bool) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(ADMINS_PK.into()))
            .key(SK, AttributeValue::S(ADMINS_SK.into()))
            .update_expression("ADD #count :delta")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()));
        if keep_one {
            update = update
                .condition_expression("#count > :one")
                .expression_attribute_values(":one", AttributeValue::N("1".into()));
        }
        let update = update.build().map_err(StoreError::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
