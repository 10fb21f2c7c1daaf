//! `GET /v1/dashboard`: stock totals, value at current prices, low stock, per-warehouse totals
//! and the latest movements, computed from the levels when asked.
//!
//! It reads every warehouse's levels and the active catalogue, so its cost grows with the
//! catalogue; past the caps below it answers with `truncated: true` rather than time out.

// Client-influenced sums: every arithmetic step is checked or saturating (issue 15).
#![deny(clippy::arithmetic_side_effects)]

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use shared::auth::can::ReadStock;
use shared::domain::stock::{Movement, StockLevel, Warehouse};
use shared::domain::{Product, ProductId};
use shared::http::{ApiError, Authorized};
use shared::services::AppState;
use shared::store::{LedgerFilter, LevelListing, StoreError};

/// Most warehouses, levels per warehouse and products the dashboard reads.
const MAX_WAREHOUSES: usize = 200;
const MAX_LEVELS_PER_WAREHOUSE: usize = 5_000;
const MAX_PRODUCTS: usize = 10_000;
/// How many of the latest movements it shows.
const RECENT: usize = 20;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v1/dashboard", get(dashboard))
}

pub(crate) use shared::store::all_pages as all;

fn money(values: &BTreeMap<String, i64>) -> Value {
    json!(
        values
            .iter()
            .map(|(currency, amount)| json!({"currency": currency, "amount_minor": amount}))
            .collect::<Vec<_>>()
    )
}

#[tracing::instrument(name = "Building the dashboard", skip_all)]
async fn dashboard(
    State(state): State<AppState>,
    _: Authorized<ReadStock>,
) -> Result<Response, ApiError> {
    let state = &state;
    let (warehouses, mut truncated): (Vec<Warehouse>, bool) = all(MAX_WAREHOUSES, |c| async move {
        state.stock.list_warehouses(100, c.as_ref()).await
    })
    .await?;
    let (products, more_products) = state.products.all(MAX_PRODUCTS).await?;
    truncated |= more_products;
    let mut catalogue: HashMap<String, Product> = products
        .into_iter()
        .map(|p| (p.id.to_string(), p))
        .collect();
    let active_products = catalogue.len();

    let mut totals = (0i64, 0i64, BTreeMap::<String, i64>::new());
    let mut per_warehouse = Vec::new();
    let mut low_stock = Vec::new();
    let mut recent: Vec<Movement> = Vec::new();
    for warehouse in &warehouses {
        let listing = LevelListing::Warehouse(warehouse.id.clone());
        let (levels, more): (Vec<StockLevel>, bool) = all(MAX_LEVELS_PER_WAREHOUSE, |c| {
            let listing = listing.clone();
            async move { state.stock.list_levels(&listing, 100, c.as_ref()).await }
        })
        .await?;
        truncated |= more;
        let mut here = (0i64, 0i64, BTreeMap::<String, i64>::new());
        for level in &levels {
            if !catalogue.contains_key(&level.product_id) {
                // Stock of an archived product still counts; fetch it once.
                // A product that is gone is left out; one that cannot be read is an outage,
                // not a reason to report smaller totals.
                if let Ok(id) = ProductId::parse(&level.product_id) {
                    match state.products.get(&id).await {
                        Ok(p) => {
                            catalogue.insert(level.product_id.clone(), p);
                        }
                        Err(StoreError::NotFound) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            let Some(product) = catalogue.get(&level.product_id) else {
                continue;
            };
            let value = level.on_hand.saturating_mul(product.price.amount_minor);
            for t in [&mut here, &mut totals] {
                t.0 = t.0.saturating_add(level.on_hand);
                t.1 = t.1.saturating_add(level.reserved);
                let sum =
                    t.2.entry(product.price.currency.as_str().to_owned())
                        .or_default();
                *sum = sum.saturating_add(value);
            }
            if level.available() <= i64::from(product.reorder_level) && !product.archived {
                low_stock.push(json!({
                    "product_id": product.id, "sku": product.sku, "name": product.name,
                    "warehouse_id": warehouse.id, "warehouse_code": warehouse.code,
                    "available": level.available(), "reorder_level": product.reorder_level,
                }));
            }
        }
        per_warehouse.push(json!({
            "id": warehouse.id, "code": warehouse.code, "name": warehouse.name,
            "active": warehouse.active, "levels": levels.len(),
            "units_on_hand": here.0, "units_reserved": here.1, "stock_value": money(&here.2),
        }));
        let filter = LedgerFilter {
            warehouse_id: Some(warehouse.id.clone()),
            ..LedgerFilter::default()
        };
        let (latest, _) = state
            .stock
            .list_movements(&filter, RECENT as u32, None)
            .await?;
        recent.extend(latest);
    }
    recent.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
    recent.truncate(RECENT);
    Ok(Json(json!({
        "totals": {
            "products": active_products,
            "warehouses": warehouses.len(),
            "units_on_hand": totals.0,
            "units_reserved": totals.1,
            "stock_value": money(&totals.2),
        },
        "low_stock": low_stock,
        "warehouses": per_warehouse,
        "recent_movements": recent,
        "truncated": truncated,
    }))
    .into_response())
}
