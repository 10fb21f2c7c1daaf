//! Saved payment methods (`/v1/payment-methods`), kept by Razorpay: an account links a
//! Razorpay customer (found or created by its e-mail address), whose saved cards and UPI
//! addresses are then listed, deleted, offered at the checkout of its orders, and usable to
//! pay a cart at checkout without the checkout form.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use shared::auth::Caller;
use shared::auth::can::PlaceOrders;
use shared::domain::order::Order;
use shared::http::{
    ApiError, ApiJson, ApiPath, Authorized, RequestMeta, json_response, require_verified_email,
};
use shared::payments::{NewCustomer, NewTokenPayment, RazorpayToken};
use shared::store::{PaymentLink, StoreError};

use crate::checkout::confirm;
use crate::{OrdersState, view};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkInput {
    /// The phone number Razorpay's saved-method payments name.
    contact: String,
}

/// A phone number as Razorpay takes it: an optional `+` and 8 to 15 digits.
fn contact(raw: &str) -> Result<String, ApiError> {
    let c = raw.trim();
    let digits = c.strip_prefix('+').unwrap_or(c);
    if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(c.to_owned())
    } else {
        Err(ApiError::invalid(
            "contact",
            "must be a phone number: an optional + and 8 to 15 digits",
        ))
    }
}

async fn account_email(state: &OrdersState, caller: &Caller) -> Result<(String, String), ApiError> {
    match state.accounts.get(&caller.user_id).await {
        Ok(a) => Ok((a.email.as_str().to_owned(), a.display_name)),
        Err(StoreError::NotFound) => Err(ApiError::Conflict(
            "this token names no account with an e-mail address; sign in as a customer".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `PUT /v1/payment-methods/customer`: links the account to its Razorpay customer (found by
/// the account's address, or created). Linking again answers the link (201 the first time).
pub(crate) async fn link(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    ApiJson(input): ApiJson<LinkInput>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    // Razorpay finds customers by address: only a proven owner of it may be linked.
    require_verified_email(&caller)?;
    let contact = contact(&input.contact)?;
    if let Some(existing) = state.payment_customers.get(&caller.user_id).await? {
        return Ok(linked(StatusCode::OK, &existing));
    }
    let (email, name) = account_email(&state, &caller).await?;
    let mut notes = serde_json::Map::new();
    notes.insert("account_id".into(), json!(caller.user_id));
    let customer = state
        .own
        .razorpay
        .create_customer(&NewCustomer {
            name: Some(name).filter(|n| (3..=50).contains(&n.chars().count())),
            email,
            fail_existing: "0",
            notes,
        })
        .await?;
    // A customer Razorpay already had for this address belongs to whichever account made it
    // (an address changes hands when its owner moves on): only our own is linked.
    if customer.notes.get("account_id").and_then(Value::as_str) != Some(caller.user_id.as_str()) {
        return Err(ApiError::Conflict(
            "Razorpay already has a customer with this address that this account did not create; ask support to move the saved methods".into(),
        ));
    }
    let link = state
        .payment_customers
        .link(
            &caller.user_id,
            &PaymentLink {
                customer_id: customer.id,
                contact,
            },
        )
        .await?;
    Ok(linked(StatusCode::CREATED, &link))
}

fn linked(status: StatusCode, link: &PaymentLink) -> Response {
    json_response(
        status,
        json!({"linked": true, "customer_id": link.customer_id, "contact": link.contact})
            .to_string(),
    )
}

fn when(unix: Option<i64>) -> Value {
    json!(
        unix.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(|t| t.format(&Rfc3339).ok())
    )
}

/// A saved method as the account sees it: what identifies it to a person, nothing that pays.
fn shown(token: &RazorpayToken) -> Value {
    let card = token.card.as_ref().map(|c| {
        json!({
            "network": c["network"], "last4": c["last4"], "issuer": c["issuer"],
            "type": c["type"], "expiry_month": c["expiry_month"], "expiry_year": c["expiry_year"],
        })
    });
    let vpa = token.vpa.as_ref().and_then(|v| {
        Some(format!(
            "{}@{}",
            v["username"].as_str()?,
            v["handle"].as_str()?
        ))
    });
    let label = match (&card, &vpa) {
        (Some(c), _) => format!(
            "{} {} ending {}",
            c["network"].as_str().unwrap_or("card"),
            c["type"].as_str().unwrap_or(""),
            c["last4"].as_str().unwrap_or("????")
        )
        .replace("  ", " "),
        (None, Some(v)) => format!("UPI {v}"),
        (None, None) => token.method.clone(),
    };
    json!({
        "id": token.id, "method": token.method, "label": label, "card": card, "vpa": vpa,
        "chargeable": token.chargeable(),
        "created_at": when(token.created_at), "expires_at": when(token.expired_at),
    })
}

/// The account's link and saved methods (none linked: none saved).
async fn saved(
    state: &OrdersState,
    caller: &Caller,
) -> Result<Option<(PaymentLink, Vec<RazorpayToken>)>, ApiError> {
    let Some(link) = state.payment_customers.get(&caller.user_id).await? else {
        return Ok(None);
    };
    let tokens = state.own.razorpay.tokens(&link.customer_id).await?;
    Ok(Some((link, tokens)))
}

/// `GET /v1/payment-methods`: the saved cards and UPI addresses.
pub(crate) async fn list(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
) -> Result<Response, ApiError> {
    let body = match saved(&state, &who.0).await? {
        None => json!({"linked": false, "items": []}),
        Some((_, tokens)) => {
            json!({"linked": true, "items": tokens.iter().map(shown).collect::<Vec<_>>()})
        }
    };
    Ok(json_response(StatusCode::OK, body.to_string()))
}

fn no_such_method(id: &str) -> ApiError {
    ApiError::NotFound(format!("no saved payment method '{id}'"))
}

/// `DELETE /v1/payment-methods/{id}`: forgets a saved method at Razorpay.
pub(crate) async fn delete(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let (link, tokens) = saved(&state, &who.0)
        .await?
        .ok_or_else(|| no_such_method(&id))?;
    if !tokens.iter().any(|t| t.id == id) {
        return Err(no_such_method(&id));
    }
    state
        .own
        .razorpay
        .delete_token(&link.customer_id, &id)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        json!({"id": id, "deleted": true}).to_string(),
    ))
}

/// A saved method chosen to pay at checkout, checked before anything is placed.
pub(crate) struct Chosen {
    link: PaymentLink,
    token: String,
    email: String,
}

/// Checks that `token` is one of the caller's saved methods.
pub(crate) async fn choose(
    state: &OrdersState,
    caller: &Caller,
    token: &str,
) -> Result<Chosen, ApiError> {
    let unknown = || {
        ApiError::invalid(
            "payment_method",
            format!("no saved payment method '{token}'"),
        )
    };
    let (link, tokens) = saved(state, caller).await?.ok_or_else(unknown)?;
    match tokens.iter().find(|t| t.id == token) {
        None => return Err(unknown()),
        Some(t) if !t.chargeable() => {
            return Err(ApiError::invalid(
                "payment_method",
                format!(
                    "'{token}' may not be charged without the customer (no confirmed recurring mandate); pay at the checkout"
                ),
            ));
        }
        Some(_) => {}
    }
    let (email, _) = account_email(state, caller).await?;
    Ok(Chosen {
        link,
        token: token.to_owned(),
        email,
    })
}

/// Pays a just-placed `order` with the chosen saved method and settles it with the payment's
/// signed callback fields. The order stands either way: a refused or unanswered charge leaves
/// it awaiting payment (its checkout still works), and the answer says so.
pub(crate) async fn pay_placed(
    state: &OrdersState,
    caller: &Caller,
    meta: &RequestMeta,
    order: Order,
    chosen: &Chosen,
) -> Result<Response, ApiError> {
    let charged = state
        .own
        .razorpay
        .pay_with_token(&NewTokenPayment {
            email: chosen.email.clone(),
            contact: chosen.link.contact.clone(),
            amount: order.amount,
            currency: order.currency.to_string(),
            order_id: order.razorpay_order_id.clone(),
            customer_id: chosen.link.customer_id.clone(),
            token: chosen.token.clone(),
            recurring: "1",
            description: format!("Stockroom order {}", order.id),
        })
        .await;
    let (order, outcome) = match charged {
        Ok(paid) => {
            let settled = confirm(
                state,
                caller,
                meta,
                &order,
                &paid.razorpay_payment_id,
                Some(&paid.razorpay_order_id),
                &paid.razorpay_signature,
            )
            .await?;
            (settled, json!({"id": chosen.token, "charged": true}))
        }
        Err(e) => {
            tracing::warn!(error = %e, order_id = %order.id, "a saved method did not pay; the order awaits payment");
            let detail = e.to_string();
            (
                order,
                json!({"id": chosen.token, "charged": false, "detail": detail}),
            )
        }
    };
    let mut body = view(state, &order, caller);
    body["saved_method"] = outcome;
    let mut response = json_response(StatusCode::CREATED, body.to_string());
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/orders/{}", order.id)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}
