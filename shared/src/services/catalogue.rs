//! Lookups that check what a stock change names: the product exists and is not archived, the
//! warehouse exists and is active. Unknown ids are a 422 on the field that named them.

use super::AppState;
use crate::domain::stock::WarehouseId;
use crate::domain::{Product, ProductId};
use crate::http::ApiError;
use crate::http::OrMissing;

/// The product a request names by its id text, if it exists and is not archived.
pub async fn orderable_product(state: &AppState, id: &str) -> Result<Product, ApiError> {
    let pid = ProductId::parse(id).map_err(|_| unknown_product(id))?;
    orderable(state, &pid).await
}

/// [`orderable_product`] for an id parsed at the edge.
pub async fn orderable(state: &AppState, id: &ProductId) -> Result<Product, ApiError> {
    let product = state
        .products
        .get(id)
        .await
        .or_missing(|| unknown_product(id.as_str()))?;
    if product.archived {
        return Err(ApiError::Conflict(format!(
            "product '{id}' is archived; restore it first"
        )));
    }
    Ok(product)
}

fn unknown_product(id: &str) -> ApiError {
    ApiError::invalid("product_id", format!("no product with id '{id}'"))
}

/// Checks that the warehouse a request names (in `field`) exists and is active.
pub async fn active_warehouse(
    state: &AppState,
    field: &str,
    id: &WarehouseId,
) -> Result<(), ApiError> {
    let warehouse = state
        .stock
        .warehouse(id.as_str())
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
