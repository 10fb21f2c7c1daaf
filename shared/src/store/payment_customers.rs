//! Which Razorpay customer an account is linked to: `USER#<account>` / `PAYMENT_CUSTOMER`,
//! written once (the first link wins; linking again answers it).

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{ENTITY, PK, SK, user_pk};
use super::{StoreError, Table};

const PAYMENT_CUSTOMER_SK: &str = "PAYMENT_CUSTOMER";

/// An account's Razorpay customer and the phone number its payments name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLink {
    /// `cust_...`.
    pub customer_id: String,
    /// The phone number given at the link (Razorpay's token payments require one).
    pub contact: String,
}

/// Accounts' Razorpay customers in the single table.
#[derive(Debug, Clone)]
pub struct PaymentCustomers {
    table: Table,
}

impl PaymentCustomers {
    /// Links in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The Razorpay customer `account` is linked to, if any.
    pub async fn get(&self, account: &str) -> Result<Option<PaymentLink>, StoreError> {
        let Some(item) = self
            .table
            .get_item(user_pk(account), PAYMENT_CUSTOMER_SK)
            .await?
        else {
            return Ok(None);
        };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        match (text("customer_id"), text("contact")) {
            (Some(customer_id), Some(contact)) => Ok(Some(PaymentLink {
                customer_id,
                contact,
            })),
            _ => Err(StoreError::corrupt("a payment link without its customer")),
        }
    }

    /// Links `account` as `link` unless it is linked already; answers the link that holds.
    pub async fn link(&self, account: &str, link: &PaymentLink) -> Result<PaymentLink, StoreError> {
        let put = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .item(PK, AttributeValue::S(user_pk(account)))
            .item(SK, AttributeValue::S(PAYMENT_CUSTOMER_SK.into()))
            .item(ENTITY, AttributeValue::S("payment_customer".into()))
            .item("customer_id", AttributeValue::S(link.customer_id.clone()))
            .item("contact", AttributeValue::S(link.contact.clone()))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(link.clone()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                self.get(account)
                    .await?
                    .ok_or_else(|| StoreError::corrupt("a payment link vanished while read"))
            }
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }

    /// Forgets `account`'s link (erasure: the phone number goes with it).
    pub async fn forget(&self, account: &str) -> Result<(), StoreError> {
        self.table
            .client()
            .delete_item()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(user_pk(account)))
            .key(SK, AttributeValue::S(PAYMENT_CUSTOMER_SK.into()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
