//! Placing an order: priced from the catalogue, its stock held, a Razorpay order made, all
//! once per idempotency key; the hold is given back when a later step fails.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;
use time::OffsetDateTime;

use shared::auth::can::PlaceOrders;
use shared::auth::{Caller, Role};
use shared::domain::FieldErrors;
use shared::domain::Money;
use shared::domain::order::{NewOrder, Order, OrderRequest, OrderStatus, StockState};
use shared::domain::pricing::{PriceList, Priced};
use shared::domain::stock::{HoldRequest, Reservation, WarehouseId};
use shared::http::json_response;
use shared::http::{
    ApiError, ApiJson, Authorized, IdempotencyKey, RequestMeta, require_verified_email,
};
use shared::payments::NewRazorpayOrder;
use shared::services::AppState;
use shared::services::audit::audit;
use shared::services::catalogue::{active_warehouse, orderable};
use shared::services::idempotency::IdempotentRequest;
use shared::services::loyalty::{Redeeming, redeem};
use shared::services::reservations::{hold, release_held};
use shared::store::{LevelListing, StoreError, Write};
use shared::telemetry::metrics::emit_count;

use crate::{OrdersState, view};

#[tracing::instrument(name = "Placing an order", skip_all)]
pub(crate) async fn create(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    meta: RequestMeta,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(request): ApiJson<NewOrder>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    // An address nobody proved to read cannot be told about the order or its refund.
    require_verified_email(&caller)?;
    let parsed = OrderRequest::parse(&request)?;
    if capped(&caller) {
        within_units_per_line(&parsed, state.order_limits.max_units_per_line)?;
    }
    let (state, caller, meta, parsed) = (&state, &caller, &meta, &parsed);
    IdempotentRequest::run(state, caller, "orders", &key, &request, |once| async move {
        Ok(place(state, caller, meta, parsed, &once, None).await?.1)
    })
    .await
}

/// Whether the customers' caps apply to `caller`'s orders: the customer role is capped; staff
/// and above are trusted with larger orders.
pub(crate) fn capped(caller: &Caller) -> bool {
    caller.role == Role::Customer
}

/// Refuses lines of more units than a customer may order at once.
pub(crate) fn within_units_per_line(request: &OrderRequest, max: i64) -> Result<(), ApiError> {
    let mut e = FieldErrors::new();
    for (i, line) in request.lines().iter().enumerate() {
        if line.quantity.get() > max {
            e.add(
                format!("lines[{i}].quantity"),
                format!("a customer may order at most {max} units of a product at once"),
            );
        }
    }
    Ok(e.finish(|| Some(()))?)
}

/// The answer when a customer already has as many unpaid orders as they may.
fn too_many_open(cap: u32) -> ApiError {
    ApiError::Conflict(format!(
        "you already have {cap} unpaid orders, the most a customer may have open; pay for or cancel one first (unpaid orders also expire when their hold ends)"
    ))
}

/// Prices each line from the catalogue and picks its warehouse.
async fn price(state: &AppState, request: &OrderRequest) -> Result<Priced, ApiError> {
    let mut list = PriceList::default();
    for (i, line) in request.lines().iter().enumerate() {
        let product = orderable(state, &line.product_id)
            .await
            .map_err(|e| at_line(e, i))?;
        list.accepts(i, &product)?;
        let warehouse = match &line.warehouse_id {
            Some(w) => {
                active_warehouse(state, &format!("lines[{i}].warehouse_id"), w).await?;
                w.clone()
            }
            None => choose_warehouse(state, line.product_id.as_str(), line.quantity.get()).await?,
        };
        list.add(i, &product, line.quantity, warehouse)?;
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
) -> Result<WarehouseId, ApiError> {
    let (mut levels, _) = state
        .stock
        .list_levels(&LevelListing::Product(product_id.to_owned()), 100, None)
        .await?;
    levels.sort_by(|a, b| a.warehouse_id.cmp(&b.warehouse_id));
    let mut best = 0;
    for level in &levels {
        best = best.max(level.available());
        if level.available() >= quantity
            && let Ok(id) = WarehouseId::parse(&level.warehouse_id)
        {
            // A warehouse that is gone or closed is passed over; one that cannot be read
            // (DynamoDB throttling, unreachable) is an outage, not a lack of stock.
            match state.stock.warehouse(id.as_str()).await {
                Ok(w) if w.active => return Ok(id),
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Err(ApiError::InsufficientStock {
        available: best,
        requested: quantity,
    })
}

/// A cart being checked out: the total its shopper was shown, and the write that empties it
/// (guarded by the version read) in the order's own transaction.
pub(crate) struct Basket {
    pub(crate) expected: Money,
    pub(crate) emptied: Write,
    /// Loyalty points to pay part of it with.
    pub(crate) redeem: i64,
    /// The saved method that will be charged once the order stands: the answer recorded for
    /// a retry says it was requested (the charge's outcome is the order's state).
    pub(crate) saved_method: Option<String>,
}

pub(crate) async fn place(
    state: &OrdersState,
    caller: &Caller,
    meta: &RequestMeta,
    request: &OrderRequest,
    once: &IdempotentRequest,
    basket: Option<Basket>,
) -> Result<(Order, Response), ApiError> {
    let payments = &state.own;
    let cap = capped(caller).then_some(state.order_limits.max_open_per_customer);
    // Checked before any stock is held; the count's condition in the commit below is what
    // holds under concurrent orders.
    if let Some(cap) = cap
        && state.orders.open_orders(&caller.user_id).await? >= i64::from(cap)
    {
        return Err(too_many_open(cap));
    }
    let Priced {
        lines,
        holds,
        currency,
        total,
    } = price(state, request).await?;
    let mut amount = total;
    if let Some(b) = &basket
        && (b.expected.amount_minor, b.expected.currency) != (amount, currency)
    {
        return Err(ApiError::Conflict(format!(
            "the cart now totals {amount} {currency}, not the {} {} it showed; read the cart again and check out at its new total",
            b.expected.amount_minor, b.expected.currency
        )));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let redemption = match basket.as_ref().map(|b| b.redeem) {
        Some(points) if points > 0 => {
            let order = Redeeming {
                order_id: &id,
                total_minor: total,
                currency: currency.as_str(),
            };
            Some(redeem(state, &caller.user_id, order, points, "redeem_points").await?)
        }
        _ => None,
    };
    if let Some(r) = &redemption {
        amount -= r.discount_minor;
    }
    // A linked Razorpay customer lets the checkout offer (and save) their payment methods.
    let payment_customer = state
        .payment_customers
        .get(&caller.user_id)
        .await?
        .map(|l| l.customer_id);
    let reservation = hold(
        state,
        &caller.user_id,
        meta,
        &HoldRequest::for_order(&id, holds, state.order_limits.hold),
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
            customer_id: payment_customer.clone(),
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
        expires_at: Some(reservation.expires_at),
        version: 1,
        created_at: now,
        updated_at: now,
        paid_at: None,
        payment_event_at: None,
        payment_customer_id: payment_customer,
        points_redeemed: redemption.as_ref().map_or(0, |r| r.points),
        discount: redemption.as_ref().map_or(0, |r| r.discount_minor),
    };
    let mut shown = view(state, &order, caller);
    if let Some(token) = basket.as_ref().and_then(|b| b.saved_method.as_ref()) {
        shown["saved_method"] = json!({"id": token, "status": "requested"});
    }
    let body = shown.to_string();
    let entry = audit(meta, &caller.user_id, "order.create")
        .target(order.id.clone())
        .detail("amount", format!("{} {}", order.amount, order.currency));
    let mut writes = state.orders.order_writes(None, &order)?;
    writes.extend([
        state.orders.link_write(&order)?,
        state.orders.open_order_claim(&caller.user_id, cap)?,
        state.audit.put(&entry)?,
        once.completion(state, &body)?,
    ]);
    let checking_out = basket.is_some();
    writes.extend(basket.map(|b| b.emptied));
    writes.extend(redemption.map(|r| r.writes).unwrap_or_default());
    if let Err(e) = state.orders.commit(writes).await {
        give_back(state, &reservation, meta).await;
        return Err(match (e, cap) {
            (StoreError::LimitReached, Some(cap)) => too_many_open(cap),
            (StoreError::VersionMismatch, _) if checking_out => ApiError::Conflict(
                "the cart or the points balance changed while it was checked out; read the cart again and retry".into(),
            ),
            (e, _) => e.into(),
        });
    }
    emit_count(&state.metrics_namespace, "orders", "OrdersCreated", 1);
    let mut response = json_response(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/orders/{}", order.id)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok((order, response))
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
