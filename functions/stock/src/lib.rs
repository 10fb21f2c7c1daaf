//! The stock function: warehouses, stock levels and the movement ledger.
//!
//! | route                                  | who              |
//! |----------------------------------------|------------------|
//! | `GET /v1/warehouses`, `GET .../{id}`   | staff and above  |
//! | `POST /v1/warehouses`, `PATCH .../{id}`| manager, admin   |
//! | `GET /v1/stock`                        | staff and above  |
//! | `POST /v1/stock/movements`             | staff and above (`Idempotency-Key` required) |
//! | `GET /v1/stock/movements`              | staff and above  |

mod dashboard;
mod reservations;
mod scanner;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use shared::auth::can::{ManageWarehouses, MoveStock, ReadStock};
use shared::domain::ProductId;
use shared::domain::stock::{
    MovementRequest, NewWarehouseInput, Warehouse, WarehouseId, WarehousePatchInput,
};
use shared::http::OrMissing;
use shared::http::{
    ApiError, ApiJson, ApiPath, ApiQuery, Authorized, IdempotencyKey, IfMatch, Page, PageParams,
    RequestMeta, etag,
};
use shared::services::AppState;
use shared::services::movements::{level_view, move_once};
use shared::store::{LedgerFilter, LevelListing, StoreError};

/// The `stock` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<AppState> = shared::lambda::Function {
    name: "stock",
    routes: router,
};

/// The stock function's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/warehouses",
            get(list_warehouses).post(create_warehouse),
        )
        .route(
            "/v1/warehouses/{id}",
            get(get_warehouse).patch(update_warehouse),
        )
        .route("/v1/stock", get(list_levels))
        .route(
            "/v1/stock/movements",
            get(list_movements).post(record_movement),
        )
        .merge(reservations::router())
        .merge(scanner::router())
        .merge(dashboard::router())
}

fn warehouse_response(w: &Warehouse, status: StatusCode) -> Response {
    let mut response = (status, Json(w)).into_response();
    response.headers_mut().insert(header::ETAG, etag(w.version));
    response
}

async fn load_warehouse(state: &AppState, id: &str) -> Result<Warehouse, ApiError> {
    state.stock.warehouse(id).await.or_404("warehouse", id)
}

async fn create_warehouse(
    State(state): State<AppState>,
    _: Authorized<ManageWarehouses>,
    ApiJson(input): ApiJson<NewWarehouseInput>,
) -> Result<Response, ApiError> {
    let warehouse = Warehouse::create(&input, OffsetDateTime::now_utc())?;
    state
        .stock
        .create_warehouse(&warehouse)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => ApiError::Conflict(format!(
                "a warehouse with code '{}' already exists",
                warehouse.code
            )),
            other => other.into(),
        })?;
    let mut response = warehouse_response(&warehouse, StatusCode::CREATED);
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/warehouses/{}", warehouse.id)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

async fn list_warehouses(
    State(state): State<AppState>,
    _: Authorized<ReadStock>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, ApiError> {
    let (items, next) = state
        .stock
        .list_warehouses(page.limit()?, page.cursor()?.as_ref())
        .await?;
    Ok(Page::response(items, next))
}

async fn get_warehouse(
    State(state): State<AppState>,
    _: Authorized<ReadStock>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(warehouse_response(
        &load_warehouse(&state, &id).await?,
        StatusCode::OK,
    ))
}

async fn update_warehouse(
    State(state): State<AppState>,
    _: Authorized<ManageWarehouses>,
    ApiPath(id): ApiPath<String>,
    if_match: IfMatch,
    ApiJson(input): ApiJson<WarehousePatchInput>,
) -> Result<Response, ApiError> {
    let expected = if_match.required()?;
    let current = load_warehouse(&state, &id).await?;
    expected.check("warehouse", current.version)?;
    let Some(next) = current.patched(input, OffsetDateTime::now_utc())? else {
        return Ok(warehouse_response(&current, StatusCode::OK));
    };
    state.stock.replace_warehouse(&current, &next).await?;
    Ok(warehouse_response(&next, StatusCode::OK))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelQuery {
    product_id: Option<String>,
    warehouse_id: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list_levels(
    State(state): State<AppState>,
    _: Authorized<ReadStock>,
    ApiQuery(query): ApiQuery<LevelQuery>,
) -> Result<Response, ApiError> {
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    let listing = match stock_ids(query.product_id, query.warehouse_id)? {
        (Some(p), Some(w)) => {
            let level = state.stock.level(p.as_str(), w.as_str()).await?;
            return Ok(
                Json(json!({"items": [level_view(&level)], "next_cursor": null})).into_response(),
            );
        }
        (Some(p), None) => LevelListing::Product(p.to_string()),
        (None, Some(w)) => LevelListing::Warehouse(w.to_string()),
        (None, None) => {
            return Err(ApiError::invalid(
                "product_id",
                "give product_id, warehouse_id or both",
            ));
        }
    };
    let (levels, next) = state
        .stock
        .list_levels(&listing, page.limit()?, page.cursor()?.as_ref())
        .await?;
    Ok(Page::response(
        levels.iter().map(level_view).collect(),
        next,
    ))
}

/// The product and warehouse a stock query names, parsed (so `ABC…` and `abc…` read the same
/// level), or a 422 naming the malformed one.
fn stock_ids(
    product: Option<String>,
    warehouse: Option<String>,
) -> Result<(Option<ProductId>, Option<WarehouseId>), ApiError> {
    let invalid = |field: &'static str| move |message| ApiError::invalid(field, message);
    Ok((
        product
            .map(|p| ProductId::parse(&p).map_err(invalid("product_id")))
            .transpose()?,
        warehouse
            .map(|w| WarehouseId::parse(&w).map_err(invalid("warehouse_id")))
            .transpose()?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerQuery {
    product_id: Option<String>,
    warehouse_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list_movements(
    State(state): State<AppState>,
    _: Authorized<ReadStock>,
    ApiQuery(query): ApiQuery<LedgerQuery>,
) -> Result<Response, ApiError> {
    if query.product_id.is_none() && query.warehouse_id.is_none() {
        return Err(ApiError::invalid(
            "product_id",
            "give product_id, warehouse_id or both",
        ));
    }
    let (product, warehouse) = stock_ids(query.product_id, query.warehouse_id)?;
    let filter = LedgerFilter {
        product_id: product.map(|p| p.to_string()),
        warehouse_id: warehouse.map(|w| w.to_string()),
        from: shared::http::time_param("from", query.from.as_deref())?,
        to: shared::http::time_param("to", query.to.as_deref())?,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ApiError::invalid("from", "must not be after 'to'"));
    }
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (items, next) = state
        .stock
        .list_movements(&filter, page.limit()?, page.cursor()?.as_ref())
        .await?;
    Ok(Page::response(items, next))
}

#[tracing::instrument(name = "Recording a stock movement", skip_all)]
async fn record_movement(
    State(state): State<AppState>,
    who: Authorized<MoveStock>,
    meta: RequestMeta,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(request): ApiJson<MovementRequest>,
) -> Result<Response, ApiError> {
    move_once(&state, &who.0, &meta, &key, &request.parse()?).await
}
