//! Suppliers: who purchase orders are placed with.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use time::OffsetDateTime;

use shared::auth::can::{ManagePurchasing, ReadStock};
use shared::domain::purchasing::{Supplier, SupplierInput};
use shared::http::OrMissing;
use shared::http::{ApiError, ApiJson, ApiPath, ApiQuery, Authorized, IfMatch, Page, PageParams};
use shared::services::AppState;

use crate::{check_products, created, versioned};

pub(crate) async fn load_supplier(
    state: &AppState,
    field: Option<&str>,
    id: &str,
) -> Result<Supplier, ApiError> {
    state.purchasing.supplier(id).await.or_missing(|| {
        let message = format!("no supplier with id '{id}'");
        match field {
            Some(f) => ApiError::invalid(f, message),
            None => ApiError::NotFound(message),
        }
    })
}

pub(crate) async fn create_supplier(
    State(state): State<AppState>,
    _: Authorized<ManagePurchasing>,
    ApiJson(input): ApiJson<SupplierInput>,
) -> Result<Response, ApiError> {
    let supplier = Supplier::create(input, OffsetDateTime::now_utc())?;
    check_products(
        &state,
        "products",
        supplier.products.iter().map(|p| p.product_id.as_str()),
    )
    .await?;
    state.purchasing.put_supplier(None, &supplier).await?;
    Ok(created(
        &supplier,
        supplier.version,
        &format!("/v1/suppliers/{}", supplier.id),
    ))
}

pub(crate) async fn list_suppliers(
    State(state): State<AppState>,
    _: Authorized<ReadStock>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, ApiError> {
    let (items, next) = state
        .purchasing
        .list_suppliers(page.limit()?, page.cursor()?.as_ref())
        .await?;
    Ok(Page::response(items, next))
}

pub(crate) async fn get_supplier(
    State(state): State<AppState>,
    _: Authorized<ReadStock>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let s = load_supplier(&state, None, &id).await?;
    Ok(versioned(&s, s.version, StatusCode::OK))
}

pub(crate) async fn update_supplier(
    State(state): State<AppState>,
    _: Authorized<ManagePurchasing>,
    ApiPath(id): ApiPath<String>,
    if_match: IfMatch,
    ApiJson(input): ApiJson<SupplierInput>,
) -> Result<Response, ApiError> {
    let current = load_supplier(&state, None, &id).await?;
    if_match.required()?.check("supplier", current.version)?;
    let next = current.patched(input, OffsetDateTime::now_utc())?;
    if next.products != current.products {
        check_products(
            &state,
            "products",
            next.products.iter().map(|p| p.product_id.as_str()),
        )
        .await?;
    }
    state.purchasing.put_supplier(Some(&current), &next).await?;
    Ok(versioned(&next, next.version, StatusCode::OK))
}

/// The supplier an order is placed with: it must exist and be active.
pub(crate) async fn active_supplier(state: &AppState, id: &str) -> Result<Supplier, ApiError> {
    let supplier = load_supplier(state, Some("supplier_id"), id).await?;
    if !supplier.active {
        return Err(ApiError::Conflict(format!(
            "supplier '{}' is inactive",
            supplier.name
        )));
    }
    Ok(supplier)
}
