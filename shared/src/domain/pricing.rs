//! Pricing an order from the catalogue: every line in one currency, each line's total and the
//! order's within [`MAX_MINOR_UNITS`], the price taken when the order is placed.

use super::order::OrderLine;
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
    currency: Option<Currency>,
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

    /// Adds line `line`: `quantity` of `product` from `warehouse_id`, at today's price.
    pub fn add(
        &mut self,
        line: usize,
        product: &Product,
        quantity: Quantity,
        warehouse_id: String,
    ) -> Result<(), PricingRefused> {
        let quantity = quantity.get();
        self.accepts(line, product)?;
        let unit_price = product.price.amount_minor;
        let line_total = unit_price
            .checked_mul(quantity)
            .filter(|t| *t <= MAX_MINOR_UNITS)
            .ok_or(PricingRefused::LineTooLarge { line })?;
        self.currency = Some(product.price.currency);
        self.lines.push(OrderLine {
            product_id: product.id.to_string(),
            sku: product.sku.as_str().to_owned(),
            name: product.name.clone(),
            warehouse_id,
            quantity,
            unit_price,
            line_total,
        });
        Ok(())
    }

    /// The priced lines, their currency and the order's total.
    pub fn finish(self) -> Result<(Vec<OrderLine>, Currency, i64), PricingRefused> {
        let total = self
            .lines
            .iter()
            .fold(0i64, |sum, l| sum.saturating_add(l.line_total));
        match self.currency {
            Some(currency) if (1..=MAX_MINOR_UNITS).contains(&total) => {
                Ok((self.lines, currency, total))
            }
            _ => Err(PricingRefused::TotalOutOfRange { total }),
        }
    }
}

#[cfg(test)]
#[path = "pricing_test.rs"]
mod tests;
