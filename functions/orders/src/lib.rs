//! The orders function: orders priced from the catalogue, their stock reserved, paid through
//! Razorpay's checkout, cancelled and refunded.
//!
//! | route                                  | who                                            |
//! |----------------------------------------|------------------------------------------------|
//! | `POST /v1/orders`                      | any account (`Idempotency-Key` required)       |
//! | `GET /v1/orders`                       | own orders; staff and above see everyone's     |
//! | `GET /v1/orders/{id}`                  | the owner; staff and above                     |
//! | `POST /v1/orders/{id}/verify`          | the owner; staff and above                     |
//! | `POST /v1/orders/{id}/cancel`          | the owner before payment; managers and admins  |
//! | `POST /v1/orders/{id}/refund`          | managers and admins (`Idempotency-Key` required) |

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use shared::auth::can::{ManageOrders, PlaceOrders};
use shared::auth::{Caller, Permission, digest};
use shared::domain::Currency;
use shared::domain::order::{
    NewOrder, Order, OrderLine, OrderRequest, OrderStatus, RefundRecord, StockState,
};
use shared::domain::pricing::PriceList;
use shared::domain::refund::RefundRequest;
use shared::domain::stock::{HoldRequest, Movement, MovementKind, Reservation};
use shared::http::json_response;
use shared::http::{
    ApiError, ApiJson, ApiPath, ApiQuery, Authorized, IdempotencyKey, Page, PageParams, RequestMeta,
};
use shared::payments::{NewRazorpayOrder, NewRefund, RefundState};
use shared::services::AppState;
use shared::services::audit::audit;
use shared::services::catalogue::{active_warehouse, orderable_product};
use shared::services::commit::{committed, until_committed};
use shared::services::idempotency::IdempotentRequest;
use shared::services::reservations::{hold, release_held};
use shared::services::settlement::{Actor, load_order, settle};
use shared::store::{AuditEntry, LevelListing, OrderListing};
use shared::telemetry::metrics::emit_count;

/// The state of this function's handlers. Razorpay, for orders, checkout verification and refunds.
pub type OrdersState = shared::lambda::With<shared::payments::Payments>;

/// The `orders` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<OrdersState> = shared::lambda::Function {
    name: "orders",
    routes: router,
};

/// The orders function's routes.
pub fn router() -> Router<OrdersState> {
    Router::new()
        .route("/v1/orders", get(list).post(create))
        .route("/v1/orders/{id}", get(show))
        .route("/v1/orders/{id}/verify", post(verify))
        .route("/v1/orders/{id}/cancel", post(cancel))
        .route("/v1/orders/{id}/refund", post(refund))
}

/// An order as the API shows it: the stored order, what was refunded, and while it awaits
/// payment, what the Razorpay checkout needs.
pub(crate) fn view(state: &OrdersState, order: &Order) -> Value {
    let mut v = json!(order);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("amount_refunded".into(), json!(order.refunded()));
        obj.insert("refundable".into(), json!(order.refundable()));
        let awaiting = matches!(
            order.status,
            OrderStatus::PendingPayment | OrderStatus::PaymentFailed
        );
        if awaiting {
            obj.insert(
                "checkout".into(),
                json!({
                    "key_id": state.own.razorpay.key_id(),
                    "razorpay_order_id": order.razorpay_order_id,
                    "amount": order.amount,
                    "currency": order.currency,
                    "receipt": order.id,
                }),
            );
        }
    }
    v
}

/// The order if the caller may see it: its owner, or staff and above. Others get the same 404
/// as for a missing order, so order ids reveal nothing.
async fn load_visible(state: &AppState, caller: &Caller, id: &str) -> Result<Order, ApiError> {
    let order = load_order(state, id).await?;
    if order.customer_id != caller.user_id && !caller.can(Permission::ReadAllOrders) {
        return Err(ApiError::NotFound(format!("no order with id '{id}'")));
    }
    Ok(order)
}

#[tracing::instrument(name = "Placing an order", skip_all)]
async fn create(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    meta: RequestMeta,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(request): ApiJson<NewOrder>,
) -> Result<Response, ApiError> {
    let parsed = OrderRequest::parse(&request)?;
    let caller = who.0;
    let (state, caller, meta, parsed) = (&state, &caller, &meta, &parsed);
    IdempotentRequest::run(state, caller, "orders", &key, &request, |once| async move {
        place(state, caller, meta, parsed, &once).await
    })
    .await
}

/// Prices each line from the catalogue and picks its warehouse.
async fn price(
    state: &AppState,
    request: &OrderRequest,
) -> Result<(Vec<OrderLine>, Currency, i64), ApiError> {
    let mut list = PriceList::default();
    for (i, line) in request.lines().iter().enumerate() {
        let product = orderable_product(state, line.product_id.as_str())
            .await
            .map_err(|e| at_line(e, i))?;
        list.accepts(i, &product)?;
        let warehouse_id = match &line.warehouse_id {
            Some(w) => {
                active_warehouse(state, &format!("lines[{i}].warehouse_id"), w).await?;
                w.clone()
            }
            None => choose_warehouse(state, line.product_id.as_str(), line.quantity.get()).await?,
        };
        list.add(i, &product, line.quantity, warehouse_id)?;
    }
    Ok(list.finish()?)
}

/// Renames a `product_id` field error to the line it came from.
fn at_line(error: ApiError, i: usize) -> ApiError {
    match error {
        ApiError::Validation(mut errors) => {
            for e in &mut errors {
                e.field = format!("lines[{i}].{}", e.field);
            }
            ApiError::Validation(errors)
        }
        other => other,
    }
}

/// The oldest active warehouse (ids are time-ordered) with the whole quantity available.
async fn choose_warehouse(
    state: &AppState,
    product_id: &str,
    quantity: i64,
) -> Result<String, ApiError> {
    let (mut levels, _) = state
        .stock
        .list_levels(&LevelListing::Product(product_id.to_owned()), 100, None)
        .await?;
    levels.sort_by(|a, b| a.warehouse_id.cmp(&b.warehouse_id));
    let mut best = 0;
    for level in &levels {
        best = best.max(level.available());
        if level.available() >= quantity
            && let Ok(w) = state.stock.warehouse(&level.warehouse_id).await
            && w.active
        {
            return Ok(level.warehouse_id.clone());
        }
    }
    Err(ApiError::InsufficientStock {
        available: best,
        requested: quantity,
    })
}

async fn place(
    state: &OrdersState,
    caller: &Caller,
    meta: &RequestMeta,
    request: &OrderRequest,
    once: &IdempotentRequest,
) -> Result<Response, ApiError> {
    let payments = &state.own;
    let (lines, currency, amount) = price(state, request).await?;
    let id = uuid::Uuid::now_v7().to_string();
    let reservation = hold(
        state,
        &caller.user_id,
        meta,
        &HoldRequest::for_order(&id, &lines, state.order_hold),
        None,
    )
    .await?;
    let mut notes = serde_json::Map::new();
    notes.insert("order_id".into(), json!(id));
    let created = payments
        .razorpay
        .create_order(&NewRazorpayOrder {
            amount,
            currency: currency.to_string(),
            receipt: id.clone(),
            notes,
        })
        .await;
    let razorpay_order = match created {
        Ok(o) if o.amount == amount && o.currency == currency.as_str() => o,
        Ok(o) => {
            give_back(state, &reservation, meta).await;
            return Err(ApiError::internal(format!(
                "Razorpay created order {} for {} {} instead of {amount} {currency}",
                o.id, o.amount, o.currency
            )));
        }
        Err(e) => {
            give_back(state, &reservation, meta).await;
            return Err(e.into());
        }
    };
    let now = OffsetDateTime::now_utc();
    let order = Order {
        id: id.clone(),
        customer_id: caller.user_id.clone(),
        lines,
        currency,
        amount,
        status: OrderStatus::PendingPayment,
        stock: StockState::Held,
        reservation_id: reservation.id.clone(),
        razorpay_order_id: razorpay_order.id,
        payment_id: None,
        amount_paid: 0,
        refunds: Vec::new(),
        review: None,
        notes: request.notes().map(str::to_owned),
        version: 1,
        created_at: now,
        updated_at: now,
        paid_at: None,
    };
    let body = view(state, &order).to_string();
    let entry = audit(meta, &caller.user_id, "order.create")
        .target(order.id.clone())
        .detail("amount", format!("{} {}", order.amount, order.currency));
    let writes = vec![
        state.orders.order_write(&order, None)?,
        state.orders.link_write(&order)?,
        state.audit.put(&entry)?,
        once.completion(state, &body)?,
    ];
    if let Err(e) = state.orders.commit(writes).await {
        give_back(state, &reservation, meta).await;
        return Err(e.into());
    }
    emit_count(&state.metrics_namespace, "orders", "OrdersCreated", 1);
    let mut response = json_response(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/orders/{}", order.id)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// Releases a reservation made for an order that could not be completed; if even that fails,
/// the expiry sweep releases it.
async fn give_back(state: &AppState, reservation: &Reservation, meta: &RequestMeta) {
    if let Err(e) = release_held(
        state,
        reservation,
        "system",
        "stock.reservation_released",
        meta,
    )
    .await
    {
        tracing::error!(error = %e, reservation_id = %reservation.id, "could not release an order's reservation; the sweep will");
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    customer_id: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            OrderStatus::parse(s).ok_or_else(|| {
                let names: Vec<_> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::invalid("status", format!("must be one of {}", names.join(", ")))
            })
        })
        .transpose()?;
    let listing = if caller.can(Permission::ReadAllOrders) {
        query
            .customer_id
            .map_or(OrderListing::All, OrderListing::Customer)
    } else {
        if query
            .customer_id
            .as_ref()
            .is_some_and(|c| *c != caller.user_id)
        {
            return Err(ApiError::Forbidden(
                "customers may only list their own orders".into(),
            ));
        }
        OrderListing::Customer(caller.user_id.clone())
    };
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (orders, next) = state
        .orders
        .list(&listing, status, page.limit()?, page.cursor()?.as_ref())
        .await?;
    Ok(Page::response(
        orders.iter().map(|o| view(&state, o)).collect(),
        next,
    ))
}

async fn show(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let order = load_visible(&state, &who.0, &id).await?;
    Ok(json_response(
        StatusCode::OK,
        view(&state, &order).to_string(),
    ))
}

/// The checkout callback's fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckoutResult {
    razorpay_payment_id: String,
    razorpay_signature: String,
    #[serde(default)]
    razorpay_order_id: Option<String>,
}

#[tracing::instrument(name = "Verifying a checkout", skip_all, fields(order_id = %id))]
async fn verify(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
    ApiJson(result): ApiJson<CheckoutResult>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    let payments = &state.own;
    let order = load_visible(&state, &caller, &id).await?;
    let payment_id = result.razorpay_payment_id.trim();
    if payment_id.is_empty() || payment_id.len() > 64 {
        return Err(ApiError::invalid(
            "razorpay_payment_id",
            "must be Razorpay's payment id (1 to 64 characters)",
        ));
    }
    let order_matches = result
        .razorpay_order_id
        .as_deref()
        .is_none_or(|o| o == order.razorpay_order_id);
    if !order_matches
        || !shared::payments::checkout_signature_valid(
            payments.razorpay.key_secret(),
            &order.razorpay_order_id,
            payment_id,
            &result.razorpay_signature,
        )
    {
        let entry = audit(&meta, &caller.user_id, "order.verify_failed")
            .target(order.id.clone())
            .detail("payment_id", payment_id.to_owned());
        if let Err(e) = state.audit.append(&entry).await {
            tracing::warn!(error = %e, "could not audit a failed checkout verification");
        }
        emit_count(
            &state.metrics_namespace,
            "orders",
            "CheckoutSignatureFailures",
            1,
        );
        return Err(ApiError::BadRequest(
            "the payment signature does not match this order and payment".into(),
        ));
    }
    let order = settle(
        &state,
        &order.id,
        &Actor::person(&caller.user_id, &meta),
        None,
        |o, now| Ok(o.on_checkout(payment_id, now)),
    )
    .await?
    .order()?;
    Ok(json_response(
        StatusCode::OK,
        view(&state, &order).to_string(),
    ))
}

#[tracing::instrument(name = "Cancelling an order", skip_all, fields(order_id = %id))]
async fn cancel(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    let order = load_visible(&state, &caller, &id).await?;
    let manager = caller.can(Permission::ManageOrders);
    if order.customer_id != caller.user_id && !manager {
        return Err(ApiError::Forbidden(
            "only the customer or a manager may cancel an order".into(),
        ));
    }
    let order = settle(
        &state,
        &order.id,
        &Actor::person(&caller.user_id, &meta),
        None,
        |o, now| o.cancel(manager, now).map_err(ApiError::Conflict),
    )
    .await?
    .order()?;
    Ok(json_response(
        StatusCode::OK,
        view(&state, &order).to_string(),
    ))
}

#[tracing::instrument(name = "Refunding an order", skip_all, fields(order_id = %id))]
async fn refund(
    State(state): State<OrdersState>,
    who: Authorized<ManageOrders>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(request): ApiJson<RefundRequest>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    let route = format!("orders/{id}/refund");
    let call = RefundCall {
        state: &state,
        caller: &caller,
        meta: &meta,
        id: &id,
        key: &key,
        request: &request,
    };
    IdempotentRequest::run(&state, &caller, &route, &key, &request, |once| {
        make_refund(call, once)
    })
    .await
}

/// Everything a refund request carries.
#[derive(Clone, Copy)]
struct RefundCall<'a> {
    state: &'a OrdersState,
    caller: &'a Caller,
    meta: &'a RequestMeta,
    id: &'a str,
    key: &'a str,
    request: &'a RefundRequest,
}

async fn make_refund(call: RefundCall<'_>, once: IdempotentRequest) -> Result<Response, ApiError> {
    let RefundCall {
        state,
        caller,
        id,
        key,
        request,
        ..
    } = call;
    let payments = &state.own;
    // Checked under the key, so a retry of a refund that emptied the order replays it.
    let order = load_order(state, id).await?;
    let amount = request.check(&order)?;
    let payment_id = order
        .payment_id
        .as_deref()
        .ok_or_else(|| ApiError::internal("a paid order has no payment id"))?;
    // Razorpay refunds once per key however often this is retried (same order, same caller,
    // same Idempotency-Key).
    let refund_key = digest(&format!("{}:{}:{key}", order.id, caller.user_id))[..40].to_owned();
    let mut notes = serde_json::Map::new();
    notes.insert("order_id".into(), json!(order.id));
    if let Some(r) = &request.reason {
        notes.insert("reason".into(), json!(r));
    }
    let refund = NewRefund {
        amount,
        speed: "normal",
        receipt: order.id.clone(),
        notes,
    };
    let made = payments
        .razorpay
        .refund(payment_id, &refund_key, &refund)
        .await?;
    let response = until_committed(|| record_refund(call, &made, &once)).await?;
    emit_count(&state.metrics_namespace, "orders", "RefundsCreated", 1);
    emit_count(
        &state.metrics_namespace,
        "orders",
        "RefundedAmountMinor",
        usize::try_from(made.amount).unwrap_or(0),
    );
    Ok(response)
}

/// Records a refund Razorpay made (and its restock) on the order, in one transaction with the
/// idempotency completion. A webhook may have recorded the refund first; then only the
/// requester and the restock are added.
async fn record_refund(
    call: RefundCall<'_>,
    made: &shared::payments::RazorpayRefund,
    once: &IdempotentRequest,
) -> Result<Option<Response>, ApiError> {
    let RefundCall {
        state,
        caller,
        meta,
        id,
        request,
        ..
    } = call;
    let state_of = match made.status.as_str() {
        "processed" => RefundState::Processed,
        "failed" => RefundState::Failed,
        _ => RefundState::Pending,
    };
    let current = load_order(state, id).await?;
    let now = OffsetDateTime::now_utc();
    let mut levels = Vec::new();
    let mut movements = Vec::new();
    for r in &request.restock {
        let Some(line) = current.lines.iter().find(|l| l.product_id == r.product_id) else {
            continue;
        };
        let level = state
            .stock
            .level(&line.product_id, &line.warehouse_id)
            .await?;
        let next = level
            .moved(r.quantity, now)
            .map_err(|_| ApiError::internal("returning stock cannot run short"))?;
        movements.push(Movement::between(
            MovementKind::Return,
            &level,
            &next,
            &caller.user_id,
            request.reason.clone().or_else(|| Some("refund".into())),
            Some(format!("order:{id}:refund:{}", made.id)),
        ));
        levels.push((level.version, next));
    }
    let record = RefundRecord {
        id: made.id.clone(),
        amount: made.amount,
        state: state_of,
        requested_by: Some(caller.user_id.clone()),
        restocked: request.restock.clone(),
        created_at: now,
    };
    let next = match current.refunds.iter().position(|r| r.id == made.id) {
        Some(i) => {
            let mut next = current.with_refund(record.clone(), now);
            next.refunds.pop();
            let known = &mut next.refunds[i];
            known.requested_by = record.requested_by.clone();
            known.restocked = record.restocked.clone();
            next
        }
        None => current.with_refund(record.clone(), now),
    };
    let body = json!({"order": view(state, &next), "refund": record}).to_string();
    let entry: AuditEntry = audit(meta, &caller.user_id, "order.refund")
        .target(id.to_owned())
        .detail(
            "refund",
            format!("{} {} {}", made.id, made.amount, made.currency),
        );
    let writes = vec![
        state.orders.order_write(&next, Some(current.version))?,
        state.audit.put(&entry)?,
        once.completion(state, &body)?,
    ];
    committed(
        state.stock.commit(&levels, &movements, writes).await,
        || json_response(StatusCode::CREATED, body),
    )
}
