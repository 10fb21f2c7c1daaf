//! Refund rules: what may be refunded from an order, and how much stock may go back.

// Client-influenced sums: every arithmetic step is checked or saturating (issue 15).
#![deny(clippy::arithmetic_side_effects)]

use serde::{Deserialize, Serialize};

use super::FieldErrors;
use super::order::{Order, OrderStatus, RestockLine, StockState};

/// Why a refund cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRefused {
    /// Only paid orders are refunded.
    NotPaid(OrderStatus),
    /// Nothing is left to refund.
    RefundedInFull,
    /// The request's fields are out of bounds for this order.
    Invalid(FieldErrors),
}

/// The body of `POST /v1/orders/{id}/refund`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Minor units; the whole refundable amount when absent.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Why (kept in Razorpay's notes and the audit log).
    #[serde(default)]
    pub reason: Option<String>,
    /// Units to put back into stock (a `return` movement at the line's warehouse).
    #[serde(default)]
    pub restock: Vec<RestockLine>,
}

impl RefundRequest {
    /// The amount to refund, checked against the order.
    pub fn check(&self, order: &Order) -> Result<i64, RefundRefused> {
        let mut e = FieldErrors::new();
        if !order.status.is_paid() {
            return Err(RefundRefused::NotPaid(order.status));
        }
        let refundable = order.refundable();
        let amount = self.amount.unwrap_or(refundable);
        if refundable == 0 {
            return Err(RefundRefused::RefundedInFull);
        }
        if !(1..=refundable).contains(&amount) {
            e.add(
                "amount",
                format!("must be between 1 and the refundable {refundable}, got {amount}"),
            );
        }
        if let Some(r) = &self.reason
            && (r.trim().is_empty() || r.chars().count() > 200)
        {
            e.add("reason", "must be 1 to 200 characters");
        }
        if !self.restock.is_empty() && order.stock != StockState::Shipped {
            e.add("restock", "only shipped stock can be put back");
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, r) in self.restock.iter().enumerate() {
            let Some(line) = order.lines.iter().find(|l| l.product_id == r.product_id) else {
                e.add(
                    format!("restock[{i}].product_id"),
                    "is not a product of this order",
                );
                continue;
            };
            let left = line.quantity.saturating_sub(order.restocked(&r.product_id));
            if !seen.insert(&r.product_id) {
                e.add(
                    format!("restock[{i}].product_id"),
                    "repeats an earlier restock line",
                );
            } else if !(1..=left).contains(&r.quantity) {
                e.add(
                    format!("restock[{i}].quantity"),
                    format!(
                        "must be between 1 and the {left} units not yet restocked, got {}",
                        r.quantity
                    ),
                );
            }
        }
        e.finish(|| Some(amount)).map_err(RefundRefused::Invalid)
    }
}

/// The part of `restock` that `order` still allows: nothing unless its stock shipped; for each
/// product (repeats merged), at most the units not yet put back. A refund checked against an older read of the order is recorded
/// with this, so two refunds racing never put the same units back twice.
pub fn restock_left(order: &Order, restock: &[RestockLine]) -> Vec<RestockLine> {
    let mut kept: Vec<RestockLine> = Vec::with_capacity(restock.len());
    if order.stock != StockState::Shipped {
        return kept;
    }
    for r in restock {
        let Some(line) = order.lines.iter().find(|l| l.product_id == r.product_id) else {
            continue;
        };
        let earlier: i64 = kept
            .iter()
            .filter(|k| k.product_id == r.product_id)
            .map(|k| k.quantity)
            .sum();
        let left = line
            .quantity
            .saturating_sub(order.restocked(&r.product_id))
            .saturating_sub(earlier);
        let quantity = r.quantity.min(left);
        if quantity <= 0 {
            continue;
        }
        // One line per product: two writes to one level cannot share a transaction.
        match kept.iter_mut().find(|k| k.product_id == r.product_id) {
            Some(k) => k.quantity = k.quantity.saturating_add(quantity),
            None => kept.push(RestockLine {
                product_id: r.product_id.clone(),
                quantity,
            }),
        }
    }
    kept
}

#[cfg(test)]
#[path = "refund_test.rs"]
mod tests;
