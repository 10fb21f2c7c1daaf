//! Carts: what a shopper means to buy, before it is an order. A signed-in customer has one
//! cart (its id is `USER#<account>`); a shopper who has not signed in has an anonymous cart,
//! found by a cart token (`<cart id>.<secret>`, only the secret's digest is kept), which
//! merges into the customer's cart at sign-in. Lines hold a product and a quantity, and the
//! price and stock state the shopper last saw, so a read can say what changed since.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::order::MAX_ORDER_LINES;
use super::{Money, ProductId};

/// Lines a cart may hold: what one order may hold, since checkout makes one order.
pub const MAX_CART_LINES: usize = MAX_ORDER_LINES;

/// A cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    /// `USER#<account>` for a customer's cart, a random UUID for an anonymous one.
    pub id: String,
    /// The account of a customer's cart.
    pub owner: Option<String>,
    /// SHA-256 of an anonymous cart's secret.
    #[serde(default)]
    pub secret_digest: Option<String>,
    /// In the order they were added.
    pub lines: Vec<CartLine>,
    /// Grows with every change (optimistic concurrency).
    pub version: u64,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When it expires (epoch seconds; the table's TTL).
    pub expires_at: i64,
    /// The account an anonymous cart was merged into (what is left of it after the merge).
    #[serde(default)]
    pub merged_into: Option<String>,
}

/// One line of a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    /// The product.
    pub product_id: String,
    /// Units, at least 1.
    pub quantity: i64,
    /// The unit price the shopper last saw (none before the first look).
    #[serde(default)]
    pub seen_price: Option<Money>,
    /// Whether the shopper last saw the line as orderable (listed, in stock for the quantity).
    #[serde(default = "yes")]
    pub seen_orderable: bool,
}

fn yes() -> bool {
    true
}

/// Why a change to a cart was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartRefused {
    /// The cart holds as many products as it may.
    #[error("a cart holds at most {MAX_CART_LINES} products; remove one first")]
    Full,
    /// More units than the shopper may order at once.
    #[error("at most {0} units of a product may be ordered at once")]
    TooMany(i64),
}

/// The id of the customer's cart of `account`.
pub fn customer_cart_id(account: &str) -> String {
    format!("USER#{account}")
}

impl Cart {
    /// An empty cart of `account`, living for `lifetime`.
    pub fn customer(account: &str, now: OffsetDateTime, lifetime: Duration) -> Self {
        Self::empty(
            customer_cart_id(account),
            Some(account.to_owned()),
            None,
            now,
            lifetime,
        )
    }

    /// An empty anonymous cart with a fresh id, found by `secret`'s `digest`.
    pub fn anonymous(digest: String, now: OffsetDateTime, lifetime: Duration) -> Self {
        Self::empty(
            uuid::Uuid::new_v4().to_string(),
            None,
            Some(digest),
            now,
            lifetime,
        )
    }

    fn empty(
        id: String,
        owner: Option<String>,
        secret_digest: Option<String>,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Self {
        Self {
            id,
            owner,
            secret_digest,
            lines: Vec::new(),
            version: 0,
            updated_at: now,
            expires_at: (now + lifetime).unix_timestamp(),
            merged_into: None,
        }
    }

    /// Whether it is past its expiry (TTL deletes it eventually; until then it is gone too).
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at <= now.unix_timestamp()
    }

    /// Sets `product`'s quantity (adding the line if it is new), at most `cap` units.
    pub fn set(&mut self, product: &ProductId, quantity: i64, cap: i64) -> Result<(), CartRefused> {
        if quantity > cap {
            return Err(CartRefused::TooMany(cap));
        }
        let room = self.lines.len() < MAX_CART_LINES;
        match self
            .lines
            .iter_mut()
            .find(|l| l.product_id == product.as_str())
        {
            Some(line) => line.quantity = quantity,
            None if !room => return Err(CartRefused::Full),
            None => self.lines.push(CartLine {
                product_id: product.as_str().to_owned(),
                quantity,
                seen_price: None,
                seen_orderable: true,
            }),
        }
        Ok(())
    }

    /// Removes `product`'s line; whether there was one.
    pub fn remove(&mut self, product: &ProductId) -> bool {
        let before = self.lines.len();
        self.lines.retain(|l| l.product_id != product.as_str());
        self.lines.len() != before
    }

    /// Adds `other`'s lines: quantities of a product in both add up (at most `cap`); products
    /// only in `other` are appended while there is room. Answers how many lines did not fit.
    pub fn absorb(&mut self, other: &Cart, cap: i64) -> usize {
        let mut left_out = 0;
        for line in &other.lines {
            let room = self.lines.len() < MAX_CART_LINES;
            match self
                .lines
                .iter_mut()
                .find(|l| l.product_id == line.product_id)
            {
                Some(mine) => mine.quantity = mine.quantity.saturating_add(line.quantity).min(cap),
                None if room => {
                    let mut taken = line.clone();
                    taken.quantity = taken.quantity.min(cap);
                    self.lines.push(taken);
                }
                None => left_out += 1,
            }
        }
        left_out
    }

    /// This cart as its next version, changed at `now`; its life starts again.
    pub fn touched(mut self, now: OffsetDateTime, lifetime: Duration) -> Self {
        self.version += 1;
        self.updated_at = now;
        self.expires_at = (now + lifetime).unix_timestamp();
        self
    }
}

#[cfg(test)]
#[path = "cart_test.rs"]
mod tests;
