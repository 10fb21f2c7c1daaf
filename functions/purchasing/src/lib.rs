//! The purchasing function: suppliers, purchase orders, receiving goods against them, and
//! reorder suggestions.
//!
//! | route                                             | who                                  |
//! |---------------------------------------------------|--------------------------------------|
//! | `GET /v1/suppliers`, `GET .../{id}`               | staff and above                      |
//! | `POST /v1/suppliers`, `PATCH .../{id}`            | managers and admins (`If-Match` on PATCH) |
//! | `GET /v1/purchase-orders`, `GET .../{id}`         | staff and above                      |
//! | `POST /v1/purchase-orders`, `PATCH .../{id}`, `.../submit`, `.../cancel` | managers and admins |
//! | `POST /v1/purchase-orders/{id}/receipts`          | staff and above (`Idempotency-Key`)  |
//! | `GET /v1/purchase-orders/suggestions`             | staff and above                      |
//! | `POST /v1/purchase-orders/suggestions`            | managers and admins: drafts for them |

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use shared::auth::Caller;
use shared::auth::can::{ManagePurchasing, MoveStock, ReadStock};
use shared::domain::purchasing::{
    NewPurchaseOrder, PoLineInput, PoStatus, PurchaseOrder, PurchaseOrderPatch, ReceiptInput,
    SuggestionGroup, Supplier, SupplierInput, suggest,
};
use shared::http::json_response;
use shared::http::{
    ApiError, ApiJson, ApiPath, ApiQuery, Authorized, IdempotencyKey, IfMatch, Page, PageParams,
    RequestMeta, etag,
};
use shared::services::AppState;
use shared::services::audit::audit;
use shared::services::catalogue::{active_warehouse, orderable_product};
use shared::services::receiving::{load_purchase_order as load_order, receive_goods};
use shared::store::all_pages as all;
use shared::store::{LevelListing, ProductListing, PurchaseOrderFilter, StoreError};
use shared::telemetry::metrics::emit_count;

/// The `purchasing` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<AppState> = shared::lambda::Function {
    name: "purchasing",
    routes: router,
};

/// The purchasing function's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/suppliers", get(list_suppliers).post(create_supplier))
        .route(
            "/v1/suppliers/{id}",
            get(get_supplier).patch(update_supplier),
        )
        .route("/v1/purchase-orders", get(list_orders).post(create_order))
        .route(
            "/v1/purchase-orders/suggestions",
            get(suggestions).post(draft_suggestions),
        )
        .route(
            "/v1/purchase-orders/{id}",
            get(get_order).patch(update_order),
        )
        .route("/v1/purchase-orders/{id}/submit", post(submit))
        .route("/v1/purchase-orders/{id}/cancel", post(cancel))
        .route("/v1/purchase-orders/{id}/receipts", post(receive))
}

fn versioned(body: &impl serde::Serialize, version: u64, status: StatusCode) -> Response {
    let mut r = json_response(status, json!(body).to_string());
    r.headers_mut().insert(header::ETAG, etag(version));
    r
}

fn created(body: &impl serde::Serialize, version: u64, location: &str) -> Response {
    let mut r = versioned(body, version, StatusCode::CREATED);
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn load_supplier(
    state: &AppState,
    field: Option<&str>,
    id: &str,
) -> Result<Supplier, ApiError> {
    state
        .purchasing
        .supplier(id)
        .await
        .map_err(|e| match (e, field) {
            (StoreError::NotFound, Some(f)) => {
                ApiError::invalid(f, format!("no supplier with id '{id}'"))
            }
            (StoreError::NotFound, None) => {
                ApiError::NotFound(format!("no supplier with id '{id}'"))
            }
            (other, _) => other.into(),
        })
}

/// Every product named must exist and not be archived; errors name `{prefix}[i].product_id`.
async fn check_products<'a>(
    state: &AppState,
    prefix: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<(), ApiError> {
    for (i, id) in ids.enumerate() {
        orderable_product(state, id).await.map_err(|e| match e {
            ApiError::Validation(_) => ApiError::invalid(
                format!("{prefix}[{i}].product_id"),
                format!("no product with id '{id}'"),
            ),
            other => other,
        })?;
    }
    Ok(())
}

async fn create_supplier(
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

async fn list_suppliers(
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

async fn get_supplier(
    State(state): State<AppState>,
    _: Authorized<ReadStock>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let s = load_supplier(&state, None, &id).await?;
    Ok(versioned(&s, s.version, StatusCode::OK))
}

async fn update_supplier(
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
async fn active_supplier(state: &AppState, id: &str) -> Result<Supplier, ApiError> {
    let supplier = load_supplier(state, Some("supplier_id"), id).await?;
    if !supplier.active {
        return Err(ApiError::Conflict(format!(
            "supplier '{}' is inactive",
            supplier.name
        )));
    }
    Ok(supplier)
}

/// Creates a draft purchase order (also used for suggestions).
async fn place(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    input: &NewPurchaseOrder,
) -> Result<PurchaseOrder, ApiError> {
    let supplier = active_supplier(state, &input.supplier_id).await?;
    active_warehouse(state, "warehouse_id", &input.warehouse_id).await?;
    let po = PurchaseOrder::create(input, &supplier, &caller.user_id, OffsetDateTime::now_utc())?;
    check_products(
        state,
        "lines",
        po.lines.iter().map(|l| l.product_id.as_str()),
    )
    .await?;
    let entry = audit(meta, &caller.user_id, "purchasing.po_create")
        .target(po.id.clone())
        .detail("total", format!("{} {}", po.total, po.currency));
    state
        .purchasing
        .commit(vec![
            state.purchasing.purchase_order_write(&po, None)?,
            state.audit.put(&entry)?,
        ])
        .await?;
    Ok(po)
}

async fn create_order(
    State(state): State<AppState>,
    who: Authorized<ManagePurchasing>,
    meta: RequestMeta,
    ApiJson(input): ApiJson<NewPurchaseOrder>,
) -> Result<Response, ApiError> {
    let po = place(&state, &who.0, &meta, &input).await?;
    Ok(created(
        &po,
        po.version,
        &format!("/v1/purchase-orders/{}", po.id),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderQuery {
    supplier_id: Option<String>,
    status: Option<String>,
    warehouse_id: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list_orders(
    State(state): State<AppState>,
    _: Authorized<ReadStock>,
    ApiQuery(query): ApiQuery<OrderQuery>,
) -> Result<Response, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(|s| {
            PoStatus::parse(s).ok_or_else(|| {
                let names: Vec<_> = PoStatus::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::invalid("status", format!("must be one of {}", names.join(", ")))
            })
        })
        .transpose()?;
    let filter = PurchaseOrderFilter {
        supplier_id: query.supplier_id,
        status,
        warehouse_id: query.warehouse_id,
    };
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (items, next) = state
        .purchasing
        .list_purchase_orders(&filter, page.limit()?, page.cursor()?.as_ref())
        .await?;
    Ok(Page::response(items, next))
}

async fn get_order(
    State(state): State<AppState>,
    _: Authorized<ReadStock>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let po = load_order(&state, &id).await?;
    Ok(versioned(&po, po.version, StatusCode::OK))
}

/// Replaces `current` by `next` with an audit entry, in one transaction.
async fn replace(
    state: &AppState,
    meta: &RequestMeta,
    caller: &Caller,
    action: &str,
    current: &PurchaseOrder,
    next: &PurchaseOrder,
) -> Result<(), ApiError> {
    let entry = audit(meta, &caller.user_id, action)
        .target(next.id.clone())
        .detail("status", next.status.as_str());
    state
        .purchasing
        .commit(vec![
            state
                .purchasing
                .purchase_order_write(next, Some(current.version))?,
            state.audit.put(&entry)?,
        ])
        .await?;
    Ok(())
}

async fn update_order(
    State(state): State<AppState>,
    who: Authorized<ManagePurchasing>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
    if_match: IfMatch,
    ApiJson(patch): ApiJson<PurchaseOrderPatch>,
) -> Result<Response, ApiError> {
    let current = load_order(&state, &id).await?;
    if_match
        .required()?
        .check("purchase order", current.version)?;
    let supplier = load_supplier(&state, None, &current.supplier_id).await?;
    let next = current
        .patched(patch, &supplier, OffsetDateTime::now_utc())?
        .map_err(ApiError::Conflict)?;
    check_products(
        &state,
        "lines",
        next.lines.iter().map(|l| l.product_id.as_str()),
    )
    .await?;
    replace(
        &state,
        &meta,
        &who.0,
        "purchasing.po_update",
        &current,
        &next,
    )
    .await?;
    Ok(versioned(&next, next.version, StatusCode::OK))
}

/// Moves `current` with `step` (`None`: nothing to change) and stores the result with an
/// audit entry; answers with the order as it now is.
async fn transition(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    current: PurchaseOrder,
    action: &str,
    step: impl FnOnce(&PurchaseOrder) -> Result<Option<PurchaseOrder>, String>,
) -> Result<PurchaseOrder, ApiError> {
    let Some(next) = step(&current).map_err(ApiError::Conflict)? else {
        return Ok(current);
    };
    replace(state, meta, caller, action, &current, &next).await?;
    Ok(next)
}

async fn submit(
    State(state): State<AppState>,
    who: Authorized<ManagePurchasing>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let current = load_order(&state, &id).await?;
    if current.status == PoStatus::Draft {
        active_supplier(&state, &current.supplier_id).await?;
    }
    let next = transition(
        &state,
        &who.0,
        &meta,
        current,
        "purchasing.po_submit",
        |po| po.submitted(OffsetDateTime::now_utc()).map(Some),
    )
    .await?;
    emit_count(
        &state.metrics_namespace,
        "purchasing",
        "PurchaseOrdersSubmitted",
        1,
    );
    Ok(versioned(&next, next.version, StatusCode::OK))
}

async fn cancel(
    State(state): State<AppState>,
    who: Authorized<ManagePurchasing>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let current = load_order(&state, &id).await?;
    let next = transition(
        &state,
        &who.0,
        &meta,
        current,
        "purchasing.po_cancel",
        |po| po.cancelled(OffsetDateTime::now_utc()),
    )
    .await?;
    Ok(versioned(&next, next.version, StatusCode::OK))
}

#[tracing::instrument(name = "Receiving goods", skip_all, fields(purchase_order_id = %id))]
async fn receive(
    State(state): State<AppState>,
    who: Authorized<MoveStock>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(input): ApiJson<ReceiptInput>,
) -> Result<Response, ApiError> {
    receive_goods(&state, &who.0, &meta, &key, &id, &input.parse()?).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuggestionQuery {
    warehouse_id: Option<String>,
}

const MAX_PRODUCTS: usize = 10_000;
const MAX_ROWS: usize = 5_000;

/// Reorder suggestions for a warehouse, computed from the products stocked there (those with a
/// level), their available units, open purchase orders and suppliers.
async fn compute(
    state: &AppState,
    warehouse_id: &str,
) -> Result<(Vec<SuggestionGroup>, bool), ApiError> {
    active_warehouse(state, "warehouse_id", warehouse_id).await?;
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
    let (products, more_products) = all(MAX_PRODUCTS, |c| async move {
        state
            .products
            .list(&ProductListing::All, 100, c.as_ref())
            .await
    })
    .await?;
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

fn draft_of(group: &SuggestionGroup, warehouse_id: &str) -> Option<NewPurchaseOrder> {
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

fn required_warehouse(query: SuggestionQuery) -> Result<String, ApiError> {
    query
        .warehouse_id
        .ok_or_else(|| ApiError::invalid("warehouse_id", "is required"))
}

async fn suggestions(
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
                obj.insert("draft".into(), json!(draft_of(g, &warehouse_id)));
            }
            v
        })
        .collect();
    let body = json!({"warehouse_id": warehouse_id, "groups": groups, "truncated": truncated});
    Ok(json_response(StatusCode::OK, body.to_string()))
}

/// Turns the current suggestions into draft purchase orders, one per supplier. Drafts count as
/// on order, so calling it again right after creates nothing more.
async fn draft_suggestions(
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
        match draft_of(group, &warehouse_id) {
            Some(input) => drafts.push(place(&state, &who.0, &meta, &input).await?),
            None => unsourced.extend(group.lines.iter().cloned()),
        }
    }
    let body = json!({"purchase_orders": drafts, "without_supplier": unsourced});
    Ok(json_response(StatusCode::CREATED, body.to_string()))
}
