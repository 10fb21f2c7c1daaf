//! Purchase orders: drafts, changes with If-Match, submission, cancellation, and goods
//! received against them (through the receiving service, which the scanner also uses).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;

use shared::auth::Caller;
use shared::auth::can::{ManagePurchasing, MoveStock, ReadStock};
use shared::domain::purchasing::{
    NewPurchaseOrder, PoStatus, PurchaseOrder, PurchaseOrderPatch, ReceiptInput,
};
use shared::http::{
    ApiError, ApiJson, ApiPath, ApiQuery, Authorized, IdempotencyKey, IfMatch, Page, PageParams,
    RequestMeta,
};
use shared::services::AppState;
use shared::services::audit::audit;
use shared::services::catalogue::active_warehouse;
use shared::services::receiving::{load_purchase_order as load_order, receive_goods};
use shared::store::PurchaseOrderFilter;
use shared::telemetry::metrics::emit_count;

use shared::domain::stock::WarehouseId;

use crate::suppliers::{active_supplier, load_supplier};
use crate::{check_products, created, versioned};

/// Creates a draft purchase order (also used for suggestions).
pub(crate) async fn place(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    input: &NewPurchaseOrder,
) -> Result<PurchaseOrder, ApiError> {
    let supplier = active_supplier(state, &input.supplier_id).await?;
    let warehouse = WarehouseId::parse(&input.warehouse_id)
        .map_err(|message| ApiError::invalid("warehouse_id", message))?;
    active_warehouse(state, "warehouse_id", &warehouse).await?;
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
    let mut writes = state.purchasing.purchase_order_writes(None, &po)?;
    writes.push(state.audit.put(&entry)?);
    state.purchasing.commit(writes).await?;
    Ok(po)
}

pub(crate) async fn create_order(
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
pub(crate) struct OrderQuery {
    supplier_id: Option<String>,
    status: Option<String>,
    warehouse_id: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

pub(crate) async fn list_orders(
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

pub(crate) async fn get_order(
    State(state): State<AppState>,
    _: Authorized<ReadStock>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let po = load_order(&state, &id).await?;
    Ok(versioned(&po, po.version, StatusCode::OK))
}

/// Replaces `current` by `next` with an audit entry, in one transaction.
pub(crate) async fn replace(
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
    let mut writes = state
        .purchasing
        .purchase_order_writes(Some(current), next)?;
    writes.push(state.audit.put(&entry)?);
    state.purchasing.commit(writes).await?;
    Ok(())
}

pub(crate) async fn update_order(
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
pub(crate) async fn transition(
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

pub(crate) async fn submit(
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

pub(crate) async fn cancel(
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
pub(crate) async fn receive(
    State(state): State<AppState>,
    who: Authorized<MoveStock>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(input): ApiJson<ReceiptInput>,
) -> Result<Response, ApiError> {
    receive_goods(&state, &who.0, &meta, &key, &id, &input.parse()?).await
}
