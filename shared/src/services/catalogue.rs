//! Lookups that check what a stock change names: the product exists and is not archived, the
//! warehouse exists and is active. Unknown ids are a 422 on the field that named them.

use super::AppState;
use crate::domain::{Product, ProductId};
use crate::http::ApiError;
use crate::http::OrMissing;

pub async fn orderable_product(state: &AppState, id: &str) -> Result<Product, ApiError> {
    let unknown = || ApiError::invalid("product_id", format!("no product with id '{id}'"));
    let pid = ProductId::parse(id).map_err(|_| unknown())?;
    let product = state.products.get(&pid).await.or_missing(unknown)?;
    if product.archived {
        return Err(ApiError::Conflict(format!(
            "product '{id}' is archived; restore it first"
        )));
    }
    Ok(product)
}

pub async fn active_warehouse(state: &AppState, field: &str, id: &str) -> Result<(), ApiError> {
    let warehouse = state
        .stock
        .warehouse(id)
        .await
        .or_missing(|| ApiError::invalid(field, format!("no warehouse with id '{id}'")))?;
    if !warehouse.active {
        return Err(ApiError::Conflict(format!(
            "warehouse '{}' is inactive",
            warehouse.code
        )));
    }
    Ok(())
}
