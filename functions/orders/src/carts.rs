//! Carts (`/v1/cart`): a signed-in customer's cart, or an anonymous one found by the
//! `Cart-Token` header, which merges into the customer's cart at sign-in. Every answer prices
//! the lines from the catalogue as it is now, checks each can still be ordered, and says what
//! changed since the shopper last saw the cart. Checkout makes the cart an order: the same
//! pricing, stock hold and payment as `POST /v1/orders`, once per `Idempotency-Key`, with the
//! cart emptied in the order's own transaction.

use axum::extract::{FromRequestParts, OptionalFromRequestParts, State};
use axum::http::{HeaderValue, StatusCode, request::Parts};
use axum::response::Response;
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use shared::auth::can::PlaceOrders;
use shared::auth::{Caller, Permission, Role, digest, opaque_token};
use shared::domain::cart::{Cart, CartRefused, customer_cart_id};
use shared::domain::order::{NewOrder, NewOrderLine, OrderRequest};
use shared::domain::{Currency, MAX_QUANTITY, Money, Product, ProductId};
use shared::http::{
    ApiError, ApiJson, ApiPath, Authorized, IdempotencyKey, RequestMeta, json_response, require,
    require_verified_email,
};
use shared::services::AppState;
use shared::services::catalogue::orderable_product;
use shared::services::idempotency::IdempotentRequest;
use shared::store::{LevelListing, StoreError};

use crate::placing::{Basket, capped, place, within_units_per_line};
use crate::{OrdersState, payment_methods};

/// The header naming an anonymous cart.
pub(crate) const CART_TOKEN: &str = "cart-token";

/// Rounds of read, change, write before a cart that keeps changing is a 409.
const ROUNDS: usize = 5;

/// How long what is left of a merged anonymous cart is kept (a retried merge finds it).
const MERGED_KEPT: time::Duration = time::Duration::days(1);

/// An anonymous cart's token as the client holds it: `<cart id>.<secret>`.
#[derive(Debug, Clone)]
pub(crate) struct CartToken {
    id: String,
    secret: String,
}

impl CartToken {
    fn parse(raw: &str) -> Result<Self, ApiError> {
        raw.trim()
            .split_once('.')
            .filter(|(id, secret)| uuid::Uuid::parse_str(id).is_ok() && secret.len() == 43)
            .map(|(id, secret)| Self {
                id: id.to_owned(),
                secret: secret.to_owned(),
            })
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "a cart token is the cart_token an earlier cart answer gave".into(),
                )
            })
    }

    fn text(&self) -> String {
        format!("{}.{}", self.id, self.secret)
    }
}

/// Whose cart a request acts on: the signed-in customer's, or an anonymous one (by its
/// token; none yet before the first line is added). Anonymous requests count against the
/// client address's allowance like the public reads.
pub(crate) enum Shopper {
    Customer(Caller),
    Anonymous(Option<CartToken>),
}

impl FromRequestParts<OrdersState> for Shopper {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &OrdersState,
    ) -> Result<Self, Self::Rejection> {
        // A malformed token is refused whoever sends it (a signed-in customer's is otherwise
        // not used: their cart is their account's).
        let token = match parts.headers.get(CART_TOKEN) {
            None => None,
            Some(v) => Some(CartToken::parse(v.to_str().map_err(|_| {
                ApiError::BadRequest("Cart-Token must be visible ASCII".into())
            })?)?),
        };
        if let Some(caller) =
            <Caller as OptionalFromRequestParts<OrdersState>>::from_request_parts(parts, state)
                .await?
        {
            require(&caller, Permission::PlaceOrders)?;
            return Ok(Self::Customer(caller));
        }
        let Ok(meta) = RequestMeta::from_request_parts(parts, state).await;
        state
            .read_throttle
            .admit(meta.source_ip.as_deref().unwrap_or("unknown"))
            .await?;
        Ok(Self::Anonymous(token))
    }
}

impl Shopper {
    /// Units of one product this shopper may order at once.
    fn cap(&self, state: &AppState) -> i64 {
        match self {
            Shopper::Customer(c) if c.role != Role::Customer => MAX_QUANTITY,
            _ => state.order_limits.max_units_per_line,
        }
    }
}

fn no_such_cart() -> ApiError {
    ApiError::NotFound(
        "no cart has this token: it expired, or it was merged into a customer's cart at sign-in"
            .into(),
    )
}

/// The anonymous cart `token` names, as stored (expired or merged ones included).
async fn anonymous(state: &AppState, token: &CartToken) -> Result<Cart, ApiError> {
    let cart = state.carts.get(&token.id).await?.ok_or_else(no_such_cart)?;
    // The digest compared is of a 256-bit random secret: timing reveals nothing usable.
    if cart.secret_digest.as_deref() != Some(digest(&token.secret).as_str()) {
        return Err(no_such_cart());
    }
    Ok(cart)
}

/// The shopper's cart as stored (`None`: never stored, or a token-less anonymous shopper).
async fn stored(state: &AppState, shopper: &Shopper) -> Result<Option<Cart>, ApiError> {
    match shopper {
        Shopper::Customer(c) => Ok(state.carts.get(&customer_cart_id(&c.user_id)).await?),
        Shopper::Anonymous(None) => Ok(None),
        Shopper::Anonymous(Some(token)) => {
            let cart = anonymous(state, token).await?;
            if cart.merged_into.is_some() || cart.expired(OffsetDateTime::now_utc()) {
                return Err(no_such_cart());
            }
            Ok(Some(cart))
        }
    }
}

/// What one line's product is now.
struct Look {
    product: Option<Product>,
    /// The most units one warehouse could ship (checkout takes a line from one warehouse).
    best_level: i64,
}

async fn look(state: &AppState, product_id: &str) -> Result<Look, ApiError> {
    let product = match ProductId::parse(product_id) {
        Ok(id) => match state.products.get(&id).await {
            Ok(p) if !p.archived => Some(p),
            Ok(_) | Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    let best_level = match &product {
        None => 0,
        Some(_) => state
            .stock
            .list_levels(&LevelListing::Product(product_id.to_owned()), 100, None)
            .await?
            .0
            .iter()
            .map(|l| l.available())
            .max()
            .unwrap_or(0),
    };
    Ok(Look {
        product,
        best_level,
    })
}

/// A cart priced and checked now: its answer, and the cart with what the shopper now sees
/// recorded on its lines.
struct Priced {
    body: Value,
    seen: Cart,
    changed: bool,
}

async fn priced(state: &AppState, cart: &Cart) -> Result<Priced, ApiError> {
    let looks = try_join_all(cart.lines.iter().map(|l| look(state, &l.product_id))).await?;
    let currency: Option<Currency> = looks
        .iter()
        .find_map(|l| l.product.as_ref().map(|p| p.price.currency));
    let mut seen = cart.clone();
    let (mut lines, mut changes) = (Vec::new(), Vec::new());
    let mut total: i64 = 0;
    for (line, look) in seen.lines.iter_mut().zip(&looks) {
        let price = look.product.as_ref().map(|p| p.price);
        let problem = match (&look.product, price) {
            (None, _) => Some("unavailable"),
            (Some(_), Some(p)) if Some(p.currency) != currency => Some("other_currency"),
            _ if look.best_level < line.quantity => Some("out_of_stock"),
            _ => None,
        };
        let orderable = problem.is_none();
        if let (Some(before), Some(now)) = (line.seen_price, price)
            && before != now
        {
            changes.push(json!({"product_id": line.product_id, "change": "price",
                "from": before, "to": now}));
        }
        if line.seen_orderable != orderable {
            let change = problem.unwrap_or("available");
            changes.push(json!({"product_id": line.product_id, "change": change}));
        }
        let line_total = price.map(|p| p.amount_minor.saturating_mul(line.quantity));
        if orderable {
            total = total.saturating_add(line_total.unwrap_or(0));
        }
        lines.push(json!({
            "product_id": line.product_id,
            "quantity": line.quantity,
            "name": look.product.as_ref().map(|p| p.name.clone()),
            "sku": look.product.as_ref().map(|p| p.sku.as_str().to_owned()),
            "unit_price": price,
            "line_total": line_total,
            "orderable": orderable,
            "problem": problem,
        }));
        line.seen_price = price.or(line.seen_price);
        line.seen_orderable = orderable;
    }
    let ready = !lines.is_empty() && lines.iter().all(|l| l["orderable"] == true);
    let expires = OffsetDateTime::from_unix_timestamp(cart.expires_at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok());
    let body = json!({
        "lines": lines,
        "currency": currency,
        "total": total,
        "items": cart.lines.iter().map(|l| l.quantity).sum::<i64>(),
        "ready": ready,
        "changes": changes,
        "expires_at": if cart.version == 0 { None } else { expires },
    });
    let changed = seen.lines != cart.lines;
    Ok(Priced {
        body,
        seen,
        changed,
    })
}

fn answer(status: StatusCode, body: Value, token: Option<&CartToken>) -> Response {
    let mut body = body;
    let mut response_token = None;
    if let Some(token) = token {
        body["cart_token"] = json!(token.text());
        response_token = HeaderValue::from_str(&token.text()).ok();
    }
    let mut response = json_response(status, body.to_string());
    if let Some(v) = response_token {
        response.headers_mut().insert(CART_TOKEN, v);
    }
    response
}

/// `GET /v1/cart`: the cart priced now, with what changed since the shopper last saw it
/// (recorded as seen, so each change is told once).
pub(crate) async fn show(
    State(state): State<OrdersState>,
    shopper: Shopper,
) -> Result<Response, ApiError> {
    let now = OffsetDateTime::now_utc();
    let cart = match stored(&state, &shopper).await? {
        Some(cart) if !cart.expired(now) => cart,
        _ => empty(&state, &shopper, now),
    };
    let priced = priced(&state, &cart).await?;
    if priced.changed && cart.version > 0 {
        // Recording what was shown is best effort: a cart changed meanwhile keeps its news
        // for the next read.
        let write = state.carts.put(&priced.seen, Some(cart.version))?;
        match state.carts.commit(vec![write]).await {
            Ok(()) | Err(StoreError::VersionMismatch) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(answer(StatusCode::OK, priced.body, None))
}

fn empty(state: &AppState, shopper: &Shopper, now: OffsetDateTime) -> Cart {
    let lifetime = lifetime(state);
    match shopper {
        Shopper::Customer(c) => Cart::customer(&c.user_id, now, lifetime),
        Shopper::Anonymous(_) => Cart::anonymous(String::new(), now, lifetime),
    }
}

fn lifetime(state: &AppState) -> time::Duration {
    time::Duration::try_from(state.order_limits.cart_lifetime).unwrap_or(time::Duration::DAY)
}

/// Reads the shopper's cart, changes it with `change` and stores it priced, retrying when
/// another request changed it meanwhile. An anonymous shopper without a cart gets a new one
/// (and its token, once).
async fn change_cart(
    state: &AppState,
    shopper: &Shopper,
    change: impl Fn(&mut Cart) -> Result<(), ApiError>,
) -> Result<Response, ApiError> {
    let fresh_token = match shopper {
        Shopper::Anonymous(None) => Some(CartToken {
            id: String::new(),
            secret: opaque_token(),
        }),
        _ => None,
    };
    for _ in 0..ROUNDS {
        let now = OffsetDateTime::now_utc();
        let current = stored(state, shopper).await?;
        let (mut cart, previous) = match (current, &fresh_token) {
            (Some(cart), _) if cart.expired(now) => {
                // Past its life but not yet deleted: it starts over, replacing that version.
                let version = cart.version;
                let mut empty = empty(state, shopper, now);
                empty.id = cart.id;
                empty.secret_digest = cart.secret_digest;
                empty.version = version;
                (empty, Some(version))
            }
            (Some(cart), _) => {
                let version = cart.version;
                (cart, Some(version))
            }
            (None, Some(token)) => (
                Cart::anonymous(digest(&token.secret), now, lifetime(state)),
                None,
            ),
            (None, None) => (empty(state, shopper, now), None),
        };
        change(&mut cart)?;
        let cart = cart.touched(now, lifetime(state));
        let priced = priced(state, &cart).await?;
        match state
            .carts
            .commit(vec![state.carts.put(&priced.seen, previous)?])
            .await
        {
            Ok(()) => {
                let token = fresh_token.as_ref().map(|t| CartToken {
                    id: priced.seen.id.clone(),
                    secret: t.secret.clone(),
                });
                return Ok(answer(StatusCode::OK, priced.body, token.as_ref()));
            }
            Err(StoreError::VersionMismatch) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(
        "the cart kept changing while this change was made; read it and try again".into(),
    ))
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineInput {
    quantity: i64,
}

fn refused(e: &CartRefused) -> ApiError {
    match e {
        CartRefused::Full => ApiError::Conflict(e.to_string()),
        CartRefused::TooMany(_) => ApiError::invalid("quantity", e.to_string()),
    }
}

/// `PUT /v1/cart/lines/{product_id}`: puts the product in the cart with this quantity (adds
/// it, or changes its line).
pub(crate) async fn set_line(
    State(state): State<OrdersState>,
    shopper: Shopper,
    ApiPath(product_id): ApiPath<String>,
    ApiJson(input): ApiJson<LineInput>,
) -> Result<Response, ApiError> {
    if input.quantity < 1 {
        return Err(ApiError::invalid(
            "quantity",
            format!(
                "must be at least 1, got {}; DELETE the line to remove it",
                input.quantity
            ),
        ));
    }
    let product = orderable_product(&state, &product_id).await?;
    let cap = shopper.cap(&state);
    change_cart(&state, &shopper, |cart| {
        cart.set(&product.id, input.quantity, cap)
            .map_err(|e| refused(&e))
    })
    .await
}

/// `DELETE /v1/cart/lines/{product_id}`: takes the product out of the cart.
pub(crate) async fn remove_line(
    State(state): State<OrdersState>,
    shopper: Shopper,
    ApiPath(product_id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let not_in_cart = || ApiError::NotFound(format!("the cart holds no product '{product_id}'"));
    let id = ProductId::parse(&product_id).map_err(|_| not_in_cart())?;
    if matches!(shopper, Shopper::Anonymous(None)) {
        return Err(not_in_cart());
    }
    change_cart(&state, &shopper, |cart| {
        cart.remove(&id).then_some(()).ok_or_else(not_in_cart)
    })
    .await
}

/// `DELETE /v1/cart`: empties the cart.
pub(crate) async fn clear(
    State(state): State<OrdersState>,
    shopper: Shopper,
) -> Result<Response, ApiError> {
    if matches!(shopper, Shopper::Anonymous(None)) {
        return show(State(state), shopper).await;
    }
    change_cart(&state, &shopper, |cart| {
        cart.lines.clear();
        Ok(())
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MergeInput {
    cart_token: String,
}

/// `POST /v1/cart/merge`: at sign-in, the anonymous cart's lines join the customer's cart
/// (quantities of a product in both add up, within the cap) and the anonymous cart is gone.
/// Merging the same token again answers the cart as it is.
pub(crate) async fn merge(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    ApiJson(input): ApiJson<MergeInput>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    let token = CartToken::parse(&input.cart_token)
        .map_err(|_| ApiError::invalid("cart_token", "is not a cart token"))?;
    let shopper = Shopper::Customer(caller.clone());
    let cap = shopper.cap(&state);
    for _ in 0..ROUNDS {
        let now = OffsetDateTime::now_utc();
        let theirs = anonymous(&state, &token).await?;
        match theirs.merged_into.as_deref() {
            Some(user) if user == caller.user_id => {
                return show(State(state), shopper).await;
            }
            Some(_) => return Err(no_such_cart()),
            None if theirs.expired(now) => return Err(no_such_cart()),
            None => {}
        }
        let current = stored(&state, &shopper).await?;
        let previous = current.as_ref().map(|c| c.version);
        let mut mine = match current {
            Some(c) if !c.expired(now) => c,
            Some(c) => {
                let mut fresh = empty(&state, &shopper, now);
                fresh.version = c.version;
                fresh
            }
            None => empty(&state, &shopper, now),
        };
        let left_out = mine.absorb(&theirs, cap);
        let mine = mine.touched(now, lifetime(&state));
        let mut rest = theirs.clone();
        rest.lines.clear();
        rest.merged_into = Some(caller.user_id.clone());
        let rest = rest.touched(now, MERGED_KEPT);
        let priced = priced(&state, &mine).await?;
        let writes = vec![
            state.carts.put(&priced.seen, previous)?,
            state.carts.put(&rest, Some(theirs.version))?,
        ];
        match state.carts.commit(writes).await {
            Ok(()) => {
                let mut body = priced.body;
                body["merged"] = json!({"lines": theirs.lines.len().saturating_sub(left_out), "left_out": left_out});
                return Ok(answer(StatusCode::OK, body, None));
            }
            Err(StoreError::VersionMismatch) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(
        "the carts kept changing during the merge; try again".into(),
    ))
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckoutInput {
    /// The total the shopper was shown, in minor units.
    expected_total: i64,
    /// Its currency.
    currency: String,
    #[serde(default)]
    notes: Option<String>,
    /// A saved payment method (`GET /v1/payment-methods`) to pay with at once.
    #[serde(default)]
    payment_method: Option<String>,
    /// Loyalty points to pay part of the total with (at most the balance at hand and the
    /// configured share of the total).
    #[serde(default)]
    redeem_points: i64,
}

/// `POST /v1/cart/checkout`: the cart becomes an order at the total the shopper was shown.
pub(crate) async fn checkout(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    meta: RequestMeta,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(input): ApiJson<CheckoutInput>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    require_verified_email(&caller)?;
    let currency =
        Currency::parse(&input.currency).map_err(|m| ApiError::invalid("currency", m))?;
    let expected = Money::price(input.expected_total, currency)
        .map_err(|m| ApiError::invalid("expected_total", m))?;
    if input.redeem_points < 0 {
        return Err(ApiError::invalid("redeem_points", "must not be negative"));
    }
    let (state, caller, meta, input) = (&state, &caller, &meta, &input);
    IdempotentRequest::run(
        state,
        caller,
        "cart-checkout",
        &key,
        input,
        |once| async move {
            let shopper = Shopper::Customer(caller.clone());
            let cart = stored(state, &shopper)
                .await?
                .filter(|c| !c.expired(OffsetDateTime::now_utc()) && !c.lines.is_empty())
                .ok_or_else(|| ApiError::Conflict("the cart is empty".into()))?;
            let order = NewOrder {
                lines: cart
                    .lines
                    .iter()
                    .map(|l| NewOrderLine {
                        product_id: l.product_id.clone(),
                        quantity: l.quantity,
                        warehouse_id: None,
                    })
                    .collect(),
                notes: input.notes.clone(),
            };
            let request = OrderRequest::parse(&order)?;
            // Checked inside the key's run: a retry is answered from the first answer, not
            // refused because the method changed meanwhile.
            let chosen = match &input.payment_method {
                Some(token) => Some(payment_methods::choose(state, caller, token).await?),
                None => None,
            };
            if capped(caller) {
                within_units_per_line(&request, state.order_limits.max_units_per_line)?;
            }
            let basket = Basket {
                expected,
                emptied: state.carts.delete(&cart)?,
                redeem: input.redeem_points,
                saved_method: input.payment_method.clone(),
            };
            let (order, placed) = place(state, caller, meta, &request, &once, Some(basket)).await?;
            match &chosen {
                None => Ok(placed),
                Some(chosen) => {
                    payment_methods::pay_placed(state, caller, meta, order, chosen).await
                }
            }
        },
    )
    .await
}
