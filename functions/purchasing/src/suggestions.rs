//! Reorder suggestions: what to buy for a warehouse, and drafts made from them.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use shared::auth::can::{ManagePurchasing, ReadStock};
use shared::domain::purchasing::{NewPurchaseOrder, PoLineInput, SuggestionGroup, suggest};
use shared::domain::stock::WarehouseId;
use shared::http::json_response;
use shared::http::{ApiError, ApiQuery, Authorized, RequestMeta};
use shared::services::AppState;
use shared::services::catalogue::active_warehouse;
use shared::store::LevelListing;
use shared::store::all_pages as all;

use crate::purchase_orders::place;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SuggestionQuery {
    warehouse_id: Option<String>,
}

const MAX_PRODUCTS: usize = 10_000;
const MAX_ROWS: usize = 5_000;

/// Reorder suggestions for a warehouse, computed from the products stocked there (those with a
/// level), their available units, open purchase orders and suppliers.
pub(crate) async fn compute(
    state: &AppState,
    warehouse: &WarehouseId,
) -> Result<(Vec<SuggestionGroup>, bool), ApiError> {
    active_warehouse(state, "warehouse_id", warehouse).await?;
    let warehouse_id = warehouse.as_str();
    let listing = LevelListing::Warehouse(warehouse_id.to_owned());
    let (levels, more_levels) = all(MAX_ROWS, |c| {
        let listing = listing.clone();
        async move { state.stock.list_levels(&listing, 100, c.as_ref()).await }
    })
    .await?;
    let available: HashMap<String, i64> = levels
        .iter()
        .map(|l| (l.product_id.clone(), l.available()))
        .collect();
    let (open, more_open) = all(MAX_ROWS, |c| async move {
        state
            .purchasing
            .list_open_purchase_orders(warehouse_id, 100, c.as_ref())
            .await
    })
    .await?;
    let (suppliers, more_suppliers) = all(MAX_ROWS, |c| async move {
        state.purchasing.list_suppliers(100, c.as_ref()).await
    })
    .await?;
    let (products, more_products) = state.products.all(MAX_PRODUCTS).await?;
    let stocked: Vec<_> = products
        .into_iter()
        .filter(|p| available.contains_key(p.id.as_str()))
        .collect();
    let groups = suggest(&stocked, &available, &open, &suppliers);
    Ok((
        groups,
        more_levels || more_open || more_suppliers || more_products,
    ))
}

pub(crate) fn draft_of(group: &SuggestionGroup, warehouse_id: &str) -> Option<NewPurchaseOrder> {
    Some(NewPurchaseOrder {
        supplier_id: group.supplier_id.clone()?,
        warehouse_id: warehouse_id.to_owned(),
        lines: group
            .lines
            .iter()
            .map(|l| PoLineInput {
                product_id: l.product_id.clone(),
                quantity: l.quantity,
                unit_cost: None,
            })
            .collect(),
        notes: Some("from reorder suggestions".into()),
    })
}

pub(crate) fn required_warehouse(query: SuggestionQuery) -> Result<WarehouseId, ApiError> {
    let raw = query
        .warehouse_id
        .ok_or_else(|| ApiError::invalid("warehouse_id", "is required"))?;
    WarehouseId::parse(&raw).map_err(|message| ApiError::invalid("warehouse_id", message))
}

pub(crate) async fn suggestions(
    State(state): State<AppState>,
    _: Authorized<ReadStock>,
    ApiQuery(query): ApiQuery<SuggestionQuery>,
) -> Result<Response, ApiError> {
    let warehouse_id = required_warehouse(query)?;
    let (groups, truncated) = compute(&state, &warehouse_id).await?;
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| {
            let mut v = json!(g);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("draft".into(), json!(draft_of(g, warehouse_id.as_str())));
            }
            v
        })
        .collect();
    let body =
        json!({"warehouse_id": warehouse_id.as_str(), "groups": groups, "truncated": truncated});
    Ok(json_response(StatusCode::OK, body.to_string()))
}

/// Turns the current suggestions into draft purchase orders, one per supplier. Drafts count as
/// on order, so calling it again right after creates nothing more.
pub(crate) async fn draft_suggestions(
    State(state): State<AppState>,
    who: Authorized<ManagePurchasing>,
    meta: RequestMeta,
    ApiQuery(query): ApiQuery<SuggestionQuery>,
) -> Result<Response, ApiError> {
    let warehouse_id = required_warehouse(query)?;
    let (groups, _) = compute(&state, &warehouse_id).await?;
    let mut drafts = Vec::new();
    let mut unsourced = Vec::new();
    for group in &groups {
        match draft_of(group, warehouse_id.as_str()) {
            Some(input) => drafts.push(place(&state, &who.0, &meta, &input).await?),
            None => unsourced.extend(group.lines.iter().cloned()),
        }
    }
    let body = json!({"purchase_orders": drafts, "without_supplier": unsourced});
    Ok(json_response(StatusCode::CREATED, body.to_string()))
}
