//! Stock alerts: every change to a level announces the lines it crosses (low, out,
//! restocked; [`level_events`]) in the change's own transaction, whichever flow made it
//! (movements, holds, releases, receipts, refunds that restock).

use super::AppState;
use crate::domain::event::level_events;
use crate::domain::stock::StockLevel;
use crate::domain::{Product, ProductId};
use crate::http::ApiError;
use crate::store::{StoreError, Write};
use crate::telemetry::metrics::emit_count;

/// The announcements of a set of level changes, to commit with them.
#[derive(Debug, Default)]
pub struct LevelAlerts {
    /// The outbox writes.
    pub writes: Vec<Write>,
    low: usize,
}

impl LevelAlerts {
    /// Counts the committed low-stock crossings as a CloudWatch metric.
    pub fn record(&self, state: &AppState) {
        if self.low > 0 {
            emit_count(
                &state.metrics_namespace,
                "stock",
                "LowStockCrossings",
                self.low,
            );
        }
    }
}

/// The alerts of levels changing from `before` to `after` (each with the version read, as
/// [`crate::store::StockStore::commit`] takes them). A change that leaves availability as it
/// was crosses nothing; the others need their product's reorder level and SKU, taken from
/// `known` or read.
pub async fn level_alerts(
    state: &AppState,
    before: &[StockLevel],
    after: &[(u64, StockLevel)],
    known: &[&Product],
) -> Result<LevelAlerts, ApiError> {
    let mut read: Vec<Product> = Vec::new();
    let mut alerts = LevelAlerts::default();
    for (before, (_, after)) in before.iter().zip(after) {
        if before.available() == after.available() {
            continue;
        }
        let id = after.product_id.as_str();
        let found = known
            .iter()
            .copied()
            .chain(read.iter())
            .find(|p| p.id.as_str() == id)
            .map(|p| (p.sku.as_str().to_owned(), p.reorder_level));
        let (sku, reorder_level) = match found {
            Some(found) => found,
            None => {
                let Some(product) = product(state, id).await? else {
                    // A level whose product is gone announces nothing rather than stopping the
                    // flow (a release, a refund) that gives its stock back.
                    tracing::warn!(
                        product_id = id,
                        "a stock level names a missing product; no alert"
                    );
                    continue;
                };
                let found = (product.sku.as_str().to_owned(), product.reorder_level);
                read.push(product);
                found
            }
        };
        let events = level_events(before, after, &sku, reorder_level);
        alerts.low += events.iter().filter(|e| e.kind() == "stock.low").count();
        alerts.writes.extend(state.stock.announce(&events)?);
    }
    Ok(alerts)
}

/// The product a level names; `None` when there is no such product.
async fn product(state: &AppState, id: &str) -> Result<Option<Product>, ApiError> {
    let Ok(pid) = ProductId::parse(id) else {
        return Ok(None);
    };
    match state.products.get(&pid).await {
        Ok(product) => Ok(Some(product)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
