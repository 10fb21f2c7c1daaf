//! Pricing an order from the catalogue: every line in one currency, each line's total and the
//! order's within [`MAX_MINOR_UNITS`], the price taken when the order is placed.

// Client-influenced sums: every arithmetic step is checked or saturating (issue 15).
#![deny(clippy::arithmetic_side_effects)]

use super::order::OrderLine;
use super::stock::{StockLine, WarehouseId};
use super::{Currency, MAX_MINOR_UNITS, Product, Quantity};

/// Why an order cannot be priced; each names the line (0-based) at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PricingRefused {
    /// The line's product is priced in another currency than the lines before it.
    MixedCurrencies {
        line: usize,
        /// Its product's currency.
        currency: Currency,
        /// The earlier lines' currency.
        earlier: Currency,
    },
    /// The line's total is beyond what an order may cost.
    LineTooLarge { line: usize },
    /// The order's total is zero or beyond what an order may cost.
    TotalOutOfRange {
        /// The total, saturated.
        total: i64,
    },
}

/// The lines of an order as they are priced, one by one.
#[derive(Debug, Default)]
pub struct PriceList {
    lines: Vec<OrderLine>,
    holds: Vec<StockLine>,
    currency: Option<Currency>,
}

/// A priced order: its lines, the stock they hold, their currency and the total.
#[derive(Debug, PartialEq, Eq)]
pub struct Priced {
    /// The order's lines at today's prices.
    pub lines: Vec<OrderLine>,
    /// The stock each line holds, in the same order.
    pub holds: Vec<StockLine>,
    pub currency: Currency,
    /// The order's total, 1 to [`MAX_MINOR_UNITS`].
    pub total: i64,
}

impl PriceList {
    /// Checks that line `line`'s product is priced in the currency of the lines before it.
    pub fn accepts(&self, line: usize, product: &Product) -> Result<(), PricingRefused> {
        match self.currency {
            Some(earlier) if earlier != product.price.currency => {
                Err(PricingRefused::MixedCurrencies {
                    line,
                    currency: product.price.currency,
                    earlier,
                })
            }
            _ => Ok(()),
        }
    }

    /// Adds line `line`: `quantity` of `product` from `warehouse`, at today's price.
    pub fn add(
        &mut self,
        line: usize,
        product: &Product,
        quantity: Quantity,
        warehouse: WarehouseId,
    ) -> Result<(), PricingRefused> {
        self.accepts(line, product)?;
        let unit_price = product.price.amount_minor;
        let line_total = unit_price
            .checked_mul(quantity.get())
            .filter(|t| *t <= MAX_MINOR_UNITS)
            .ok_or(PricingRefused::LineTooLarge { line })?;
        self.currency = Some(product.price.currency);
        self.lines.push(OrderLine {
            product_id: product.id.to_string(),
            sku: product.sku.as_str().to_owned(),
            name: product.name.clone(),
            warehouse_id: warehouse.to_string(),
            quantity: quantity.get(),
            unit_price,
            line_total,
        });
        self.holds.push(StockLine {
            product: product.id.clone(),
            warehouse,
            quantity,
        });
        Ok(())
    }

    /// The priced order.
    pub fn finish(self) -> Result<Priced, PricingRefused> {
        let total = self
            .lines
            .iter()
            .fold(0i64, |sum, l| sum.saturating_add(l.line_total));
        match self.currency {
            Some(currency) if (1..=MAX_MINOR_UNITS).contains(&total) => Ok(Priced {
                lines: self.lines,
                holds: self.holds,
                currency,
                total,
            }),
            _ => Err(PricingRefused::TotalOutOfRange { total }),
        }
    }
}

#[cfg(test)]
#[path = "pricing_test.rs"]
mod tests;
