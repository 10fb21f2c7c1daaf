//! The stock function: warehouses, stock levels and the movement ledger.
//!
//! | route                                  | who              |
//! |----------------------------------------|------------------|
//! | `GET /v1/warehouses`, `GET .../{id}`   | staff and above  |
//! | `POST /v1/warehouses`, `PATCH .../{id}`| manager, admin   |
//! | `GET /v1/stock`                        | staff and above  |
//! | `POST /v1/stock/movements`             | staff and above (`Idempotency-Key` required) |
//! | `GET /v1/stock/movements`              | staff and above  |

use std::time::Duration;

use aws_sdk_dynamodb::types::TransactWriteItem;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::AppState;
use super::auth::audit;
use crate::auth::can::{ManageWarehouses, MoveStock, ReadStock};
use crate::auth::{Caller, digest};
use crate::domain::stock::{
    Movement, MovementKind, MovementRefused, MovementRequest, NewWarehouseInput, StockLevel,
    Warehouse, WarehousePatchInput,
};
use crate::domain::{Product, ProductId};
use crate::http::{
    ApiError, ApiJson, ApiPath, ApiQuery, Authorized, IdempotencyKey, IfMatch, Page, PageParams,
    RequestMeta, etag,
};
use crate::store::{Begin, Guard, LedgerFilter, LevelListing, StoreError};

/// How many times a movement is recomputed after losing a race for its level.
pub(super) const ATTEMPTS: u32 = 20;

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
        .merge(super::reservations::router())
        .merge(super::scanner::router())
        .merge(super::dashboard::router())
}

fn warehouse_response(w: &Warehouse, status: StatusCode) -> Response {
    let mut response = (status, Json(w)).into_response();
    response.headers_mut().insert(header::ETAG, etag(w.version));
    response
}

async fn load_warehouse(state: &AppState, id: &str) -> Result<Warehouse, ApiError> {
    state.stock.warehouse(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound(format!("no warehouse with id '{id}'")),
        other => other.into(),
    })
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
    Ok(Json(Page {
        items,
        next_cursor: next.map(|c| c.encode()),
    })
    .into_response())
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
    if let Some(v) = expected
        && v != current.version
    {
        return Err(ApiError::PreconditionFailed(format!(
            "If-Match names version \"{v}\" but the warehouse is at \"{}\"",
            current.version
        )));
    }
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

pub(super) fn level_view(level: &StockLevel) -> Value {
    json!({
        "product_id": level.product_id,
        "warehouse_id": level.warehouse_id,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": level.available(),
        "updated_at": level.updated_at.format(&time::format_description::well_known::Rfc3339).ok(),
    })
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
    let listing = match (query.product_id, query.warehouse_id) {
        (Some(p), Some(w)) => {
            let level = state.stock.level(&p, &w).await?;
            return Ok(
                Json(json!({"items": [level_view(&level)], "next_cursor": null})).into_response(),
            );
        }
        (Some(p), None) => LevelListing::Product(p),
        (None, Some(w)) => LevelListing::Warehouse(w),
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
    Ok(Json(Page {
        items: levels.iter().map(level_view).collect::<Vec<_>>(),
        next_cursor: next.map(|c| c.encode()),
    })
    .into_response())
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
    let filter = LedgerFilter {
        product_id: query.product_id,
        warehouse_id: query.warehouse_id,
        from: super::time_param("from", query.from.as_deref())?,
        to: super::time_param("to", query.to.as_deref())?,
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
    Ok(Json(Page {
        items,
        next_cursor: next.map(|c| c.encode()),
    })
    .into_response())
}

#[tracing::instrument(name = "Recording a stock movement", skip_all)]
async fn record_movement(
    State(state): State<AppState>,
    who: Authorized<MoveStock>,
    meta: RequestMeta,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(request): ApiJson<MovementRequest>,
) -> Result<Response, ApiError> {
    move_once(&state, &who.0, &meta, &key, &request).await
}

/// Validates and applies a movement once per idempotency key (also used by the scanner).
pub(super) async fn move_once(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    key: &str,
    request: &MovementRequest,
) -> Result<Response, ApiError> {
    request.validate()?;
    Once::run(
        state,
        caller,
        "stock-movements",
        key,
        request,
        |once| async move { apply(state, caller, meta, request, &once).await },
    )
    .await
}

/// A request running under an idempotency key: begun, then completed inside the change's
/// own transaction, or released when the request fails without writing.
#[derive(Clone)]
pub(super) struct Once {
    scope: String,
    key: String,
}

impl Once {
    /// Runs `work` once per key: replays the first answer to a repeat, and frees the key again
    /// when `work` fails (it wrote nothing), so the client can retry with it.
    pub(super) async fn run<T, F, Fut>(
        state: &AppState,
        caller: &Caller,
        route: &str,
        key: &str,
        request: &T,
        work: F,
    ) -> Result<Response, ApiError>
    where
        T: serde::Serialize,
        F: FnOnce(Once) -> Fut,
        Fut: std::future::Future<Output = Result<Response, ApiError>>,
    {
        let once = match Self::begin(state, caller, route, key, request).await? {
            Ok(once) => once,
            Err(replay) => return Ok(replay),
        };
        let result = work(once.clone()).await;
        once.settle(state, result.is_err()).await;
        result
    }

    /// Claims the key; `Ok(Err(response))` replays the first answer.
    async fn begin<T: serde::Serialize>(
        state: &AppState,
        caller: &Caller,
        route: &str,
        key: &str,
        request: &T,
    ) -> Result<Result<Self, Response>, ApiError> {
        let scope = format!("{}:{route}", caller.user_id);
        let canonical = serde_json::to_string(request).map_err(ApiError::internal)?;
        match state
            .idempotency
            .begin(&scope, key, &digest(&canonical))
            .await?
        {
            Begin::Proceed => Ok(Ok(Self {
                scope,
                key: key.to_owned(),
            })),
            Begin::Replay { status, body } => Ok(Err(replayed(status, body))),
            Begin::Mismatch => Err(ApiError::invalid(
                "Idempotency-Key",
                "was already used with a different request body",
            )),
            Begin::InProgress => Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still in progress; retry shortly".into(),
            )),
        }
    }

    /// The write that records `body` as the answer, to commit with the change.
    pub(super) fn completion(
        &self,
        state: &AppState,
        body: &str,
    ) -> Result<(Guard, TransactWriteItem), ApiError> {
        Ok((
            Guard::Alive,
            state
                .idempotency
                .completion(&self.scope, &self.key, 201, body)?,
        ))
    }

    /// After the request: a failure wrote nothing, so let a retry with the same key run again.
    async fn settle(self, state: &AppState, failed: bool) {
        if failed && let Err(e) = state.idempotency.abandon(&self.scope, &self.key).await {
            tracing::warn!(error = %e, "could not release an idempotency key; it frees itself in 30 s");
        }
    }
}

/// Runs `attempt` until it commits: `Ok(None)` means it lost a race for a level and is tried
/// again on fresh reads, with a growing, jittered pause.
pub(super) async fn until_committed<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ApiError>>,
{
    for round in 0..ATTEMPTS {
        if let Some(response) = attempt().await? {
            return Ok(response);
        }
        tokio::time::sleep(backoff(round)).await;
    }
    Err(ApiError::Unavailable {
        dependency: "stock level",
        source: "too many concurrent changes to one level".into(),
    })
}

/// "Full jitter" backoff: a random pause up to 5 ms doubling per round, capped at 160 ms, so
/// writers that collided spread out instead of colliding again in step.
pub(super) fn backoff(round: u32) -> Duration {
    let cap = 5u64.saturating_mul(1 << round.min(5));
    let random = u64::from(u16::from_le_bytes([
        uuid::Uuid::new_v4().as_bytes()[0],
        uuid::Uuid::new_v4().as_bytes()[1],
    ]));
    Duration::from_micros(random % (cap * 1000 + 1))
}

/// Outbox events for every level that `next` takes from above the product's reorder level to
/// at or below it (once per crossing: a level already below raises nothing), and their count.
pub(super) fn low_stock_writes(
    state: &AppState,
    product: &Product,
    before: &[StockLevel],
    next: &[StockLevel],
) -> Result<(Vec<(Guard, TransactWriteItem)>, usize), ApiError> {
    let reorder = i64::from(product.reorder_level);
    let mut writes = Vec::new();
    for (old, new) in before.iter().zip(next) {
        if old.product_id == product.id.as_str()
            && old.available() > reorder
            && new.available() <= reorder
        {
            writes.push((
                Guard::None,
                state
                    .stock
                    .low_stock_event(new, product.reorder_level, product.sku.as_str())?,
            ));
        }
    }
    let crossings = writes.len();
    Ok((writes, crossings))
}

/// Counts committed low-stock crossings as a CloudWatch metric.
pub(super) fn record_low_stock(state: &AppState, crossings: usize) {
    if crossings > 0 {
        crate::telemetry::metrics::emit_count(
            &state.metrics_namespace,
            "stock",
            "LowStockCrossings",
            crossings,
        );
    }
}

/// What a commit's failure means for a request: retry on a lost race, refuse otherwise.
pub(super) fn after_commit(
    result: Result<(), StoreError>,
    status: StatusCode,
    body: String,
) -> Result<Option<Response>, ApiError> {
    committed(result, || json_response(status, body))
}

/// [`after_commit`] for any value: `Some(value())` once committed, `None` after a lost race.
pub(super) fn committed<T>(
    result: Result<(), StoreError>,
    value: impl FnOnce() -> T,
) -> Result<Option<T>, ApiError> {
    match result {
        Ok(()) => Ok(Some(value())),
        Err(StoreError::VersionMismatch) => Ok(None),
        Err(StoreError::Gone) => Err(ApiError::Conflict(
            "this Idempotency-Key was taken over by a retry; check the ledger before retrying"
                .into(),
        )),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn replayed(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// The parts of a request that name stock: its product and its warehouse(s).
struct Target<'a> {
    product_id: &'a str,
    warehouses: Vec<(&'static str, &'a str)>,
}

fn target(request: &MovementRequest) -> Target<'_> {
    match request {
        MovementRequest::Receive {
            product_id,
            warehouse_id,
            ..
        }
        | MovementRequest::Ship {
            product_id,
            warehouse_id,
            ..
        }
        | MovementRequest::Adjust {
            product_id,
            warehouse_id,
            ..
        }
        | MovementRequest::Count {
            product_id,
            warehouse_id,
            ..
        } => Target {
            product_id,
            warehouses: vec![("warehouse_id", warehouse_id)],
        },
        MovementRequest::Transfer {
            product_id,
            from_warehouse_id,
            to_warehouse_id,
            ..
        } => Target {
            product_id,
            warehouses: vec![
                ("from_warehouse_id", from_warehouse_id),
                ("to_warehouse_id", to_warehouse_id),
            ],
        },
    }
}

pub(super) async fn check_product(state: &AppState, id: &str) -> Result<Product, ApiError> {
    let unknown = || ApiError::invalid("product_id", format!("no product with id '{id}'"));
    let pid = ProductId::parse(id).map_err(|_| unknown())?;
    let product = state.products.get(&pid).await.map_err(|e| match e {
        StoreError::NotFound => unknown(),
        other => other.into(),
    })?;
    if product.archived {
        return Err(ApiError::Conflict(format!(
            "product '{id}' is archived; restore it first"
        )));
    }
    Ok(product)
}

pub(super) async fn check_warehouse(
    state: &AppState,
    field: &str,
    id: &str,
) -> Result<(), ApiError> {
    let warehouse = state.stock.warehouse(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::invalid(field, format!("no warehouse with id '{id}'")),
        other => other.into(),
    })?;
    if !warehouse.active {
        return Err(ApiError::Conflict(format!(
            "warehouse '{}' is inactive",
            warehouse.code
        )));
    }
    Ok(())
}

/// Computes the new levels and ledger entries from levels as just read.
fn plan(
    request: &MovementRequest,
    levels: &[StockLevel],
    actor: &str,
    now: OffsetDateTime,
) -> Result<(Vec<StockLevel>, Vec<Movement>), ApiError> {
    let insufficient = |r: MovementRefused| match r {
        MovementRefused::Insufficient {
            available,
            requested,
        } => ApiError::InsufficientStock {
            available,
            requested,
        },
    };
    let entry = |kind,
                 level: &StockLevel,
                 next: &StockLevel,
                 reason: &Option<String>,
                 reference: &Option<String>| Movement {
        id: uuid::Uuid::now_v7().to_string(),
        kind,
        product_id: level.product_id.clone(),
        warehouse_id: level.warehouse_id.clone(),
        quantity: next.on_hand - level.on_hand,
        before: level.on_hand,
        after: next.on_hand,
        reason: reason.clone(),
        reference: reference.clone(),
        actor: actor.to_owned(),
        at: now,
    };
    let single = |kind, delta: i64, reason: &Option<String>, reference: &Option<String>| {
        let level = &levels[0];
        let next = level.moved(delta, now).map_err(insufficient)?;
        let movement = entry(kind, level, &next, reason, reference);
        Ok((vec![next], vec![movement]))
    };
    match request {
        MovementRequest::Receive {
            quantity,
            reason,
            reference,
            ..
        } => single(MovementKind::Receive, *quantity, reason, reference),
        MovementRequest::Ship {
            quantity,
            reason,
            reference,
            ..
        } => single(MovementKind::Ship, -*quantity, reason, reference),
        MovementRequest::Adjust {
            quantity,
            reason,
            reference,
            ..
        } => single(
            MovementKind::Adjust,
            *quantity,
            &Some(reason.clone()),
            reference,
        ),
        MovementRequest::Count {
            counted,
            reason,
            reference,
            ..
        } => {
            let level = &levels[0];
            if *counted < level.reserved {
                return Err(ApiError::Conflict(format!(
                    "counted {counted} is below the {} units reserved; release reservations first",
                    level.reserved
                )));
            }
            single(
                MovementKind::Count,
                counted - level.on_hand,
                reason,
                reference,
            )
        }
        MovementRequest::Transfer {
            quantity,
            reason,
            reference,
            ..
        } => {
            let reference = Some(
                reference
                    .clone()
                    .unwrap_or_else(|| format!("transfer:{}", uuid::Uuid::now_v7())),
            );
            let (from, to) = (&levels[0], &levels[1]);
            let from_next = from.moved(-*quantity, now).map_err(insufficient)?;
            let to_next = to.moved(*quantity, now).map_err(insufficient)?;
            let out = entry(
                MovementKind::TransferOut,
                from,
                &from_next,
                reason,
                &reference,
            );
            let inn = entry(MovementKind::TransferIn, to, &to_next, reason, &reference);
            Ok((vec![from_next, to_next], vec![out, inn]))
        }
    }
}

fn action(request: &MovementRequest) -> &'static str {
    match request {
        MovementRequest::Receive { .. } => "stock.receive",
        MovementRequest::Ship { .. } => "stock.ship",
        MovementRequest::Adjust { .. } => "stock.adjust",
        MovementRequest::Count { .. } => "stock.count",
        MovementRequest::Transfer { .. } => "stock.transfer",
    }
}

async fn apply(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    request: &MovementRequest,
    once: &Once,
) -> Result<Response, ApiError> {
    let target = target(request);
    let product = check_product(state, target.product_id).await?;
    for (field, id) in &target.warehouses {
        check_warehouse(state, field, id).await?;
    }
    until_committed(|| async {
        let mut levels = Vec::with_capacity(target.warehouses.len());
        for (_, warehouse_id) in &target.warehouses {
            levels.push(state.stock.level(target.product_id, warehouse_id).await?);
        }
        let now = OffsetDateTime::now_utc();
        let (next, movements) = plan(request, &levels, &caller.user_id, now)?;
        let body = json!({
            "movements": movements,
            "levels": next.iter().map(level_view).collect::<Vec<_>>(),
        })
        .to_string();
        let entry = audit(meta, &caller.user_id, action(request))
            .target(target.product_id.to_owned())
            .detail("movements", summarize(&movements));
        let (mut others, crossings) = low_stock_writes(state, &product, &levels, &next)?;
        others.push((Guard::None, state.audit.put(&entry)?));
        others.push(once.completion(state, &body)?);
        let guarded: Vec<(u64, StockLevel)> = levels.iter().map(|l| l.version).zip(next).collect();
        let outcome = after_commit(
            state.stock.commit(&guarded, &movements, others).await,
            StatusCode::CREATED,
            body,
        )?;
        if outcome.is_some() {
            record_low_stock(state, crossings);
        }
        Ok(outcome)
    })
    .await
}

pub(super) fn summarize(movements: &[Movement]) -> String {
    movements
        .iter()
        .map(|m| {
            format!(
                "{} {:+} at {} ({} -> {})",
                m.id, m.quantity, m.warehouse_id, m.before, m.after
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}
