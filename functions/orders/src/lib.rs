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
//! | `GET /v1/cart`, `DELETE /v1/cart`      | the customer's cart, or an anonymous one (`Cart-Token`) |
//! | `PUT`/`DELETE /v1/cart/lines/{product_id}` | the same                                   |
//! | `POST /v1/cart/merge`                  | a signed-in account, with an anonymous cart's token |
//! | `POST /v1/cart/checkout`               | a signed-in account (`Idempotency-Key` required) |
//! | `GET`/`PATCH /v1/loyalty`, `GET /v1/achievements` | the account's own points and badges |
//! | `GET /v1/leaderboards/{period}`        | anyone; signed in, also one's own place        |
//! | `GET /v1/sync`                         | anyone: the catalogue; signed in, also one's orders and shipments |
//! | `GET /v1/payment-methods`, `PUT /v1/payment-methods/customer`, `DELETE /v1/payment-methods/{id}` | the account's own saved methods |

mod carts;
mod checkout;
mod loyalty;
mod payment_methods;
mod placing;
mod refunds;
mod sync;

pub use refunds::refund_call;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use shared::auth::can::PlaceOrders;
use shared::auth::{Caller, Permission};
use shared::domain::order::{Order, OrderStatus};
use shared::http::json_response;
use shared::http::{ApiError, ApiPath, ApiQuery, Authorized, Page, PageParams};
use shared::services::AppState;
use shared::services::settlement::load_order;
use shared::store::OrderListing;

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
        .route("/v1/orders", get(list).post(placing::create))
        .route("/v1/orders/{id}", get(show))
        .route("/v1/orders/{id}/verify", post(checkout::verify))
        .route("/v1/orders/{id}/cancel", post(checkout::cancel))
        .route("/v1/orders/{id}/refund", post(refunds::refund))
        .route("/v1/cart", get(carts::show).delete(carts::clear))
        .route(
            "/v1/cart/lines/{product_id}",
            put(carts::set_line).delete(carts::remove_line),
        )
        .route("/v1/cart/merge", post(carts::merge))
        .route("/v1/cart/checkout", post(carts::checkout))
        .route("/v1/sync", get(sync::sync))
        .route(
            "/v1/loyalty",
            get(loyalty::show).patch(loyalty::preferences),
        )
        .route("/v1/achievements", get(loyalty::achievements))
        .route("/v1/leaderboards/{period}", get(loyalty::leaderboard))
        .route("/v1/payment-methods", get(payment_methods::list))
        .route("/v1/payment-methods/customer", put(payment_methods::link))
        .route(
            "/v1/payment-methods/{id}",
            axum::routing::delete(payment_methods::delete),
        )
}

/// Fields of an order only staff see: why it was flagged, the reservation behind it, who
/// asked for each refund.
const STAFF_FIELDS: [&str; 2] = ["review", "reservation_id"];

/// The order as `caller` sees it: the stored order with what was refunded, what is refundable,
/// when its hold ends and, while the customer may still pay, the checkout parameters; a
/// customer does not see the staff fields.
pub(crate) fn view(state: &OrdersState, order: &Order, caller: &Caller) -> Value {
    let mut v = json!(order);
    if !caller.can(Permission::ReadAllOrders)
        && let Some(obj) = v.as_object_mut()
    {
        for field in STAFF_FIELDS {
            obj.remove(field);
        }
        if let Some(refunds) = obj.get_mut("refunds").and_then(Value::as_array_mut) {
            for refund in refunds.iter_mut().filter_map(Value::as_object_mut) {
                refund.remove("requested_by");
            }
        }
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert("amount_refunded".into(), json!(order.refunded()));
        obj.insert("refundable".into(), json!(order.refundable()));
        obj.insert(
            "expires_at".into(),
            json!(order.deadline().format(&Rfc3339).ok()),
        );
        if order.checkout_open(time::OffsetDateTime::now_utc()) {
            obj.insert(
                "checkout".into(),
                json!({
                    "key_id": state.own.razorpay.key_id(),
                    "razorpay_order_id": order.razorpay_order_id,
                    "amount": order.amount,
                    "currency": order.currency,
                    "receipt": order.id,
                    "customer_id": order.payment_customer_id,
                }),
            );
        }
    }
    v
}

/// The order if the caller may see it: its owner, or staff and above. Others get the same 404
/// as for a missing order, so order ids reveal nothing.
pub(crate) async fn load_visible(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Order, ApiError> {
    let order = load_order(state, id).await?;
    if order.customer_id != caller.user_id && !caller.can(Permission::ReadAllOrders) {
        return Err(ApiError::NotFound(format!("no order with id '{id}'")));
    }
    Ok(order)
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
    if query.customer_id.as_ref().is_some_and(|c| c.len() > 200) {
        return Err(ApiError::invalid(
            "customer_id",
            "no account has an id that long (at most 200 characters)",
        ));
    }
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
        orders.iter().map(|o| view(&state, o, &caller)).collect(),
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
        view(&state, &order, &who.0).to_string(),
    ))
}
