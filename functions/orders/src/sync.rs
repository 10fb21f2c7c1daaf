//! Delta sync for apps that work offline (`GET /v1/sync`): what changed since the app last
//! synced, paged, as current states (upserts) and tombstones.
//!
//! Without `since` it starts from nothing: every listed product, then (signed in) the
//! caller's orders with their shipments, then the changes made meanwhile. With the `cursor`
//! of an answer it goes on. Changes come from the outbox's feeds (the catalogue's `products`
//! and `stock` topics, and the caller's own events), so what is told is exactly what changed,
//! in the order it changed. Each change is the thing as it is now (the customer view; a
//! product with its `in_stock` flag) or, for a product archived or gone, a tombstone. The
//! cursor names the last event told, so asking again with the same cursor answers the same
//! changes (a retry is safe), and events younger than a few seconds wait for the next call
//! (a commit in flight with an older id is not skipped).

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use shared::auth::{Caller, Permission};
use shared::domain::notification::{Audience, Topic, first_id_at, made_at};
use shared::domain::{Product, ProductId};
use shared::http::{ApiError, ApiQuery, Cursor, Reader, json_response};
use shared::services::AppState;
use shared::services::catalogue::{Audience as Viewer, product_view};
use shared::store::{
    LevelListing, OUTBOX_RETENTION_DAYS, OrderListing, Outbox, ProductListing, StoreError,
    StoredEvent,
};

use crate::{OrdersState, view};

/// Events younger than this are left for the next call: a transaction that drew its event
/// id earlier may still be committing.
const SETTLE: time::Duration = time::Duration::seconds(5);

/// Changes per answer unless the client asks for fewer.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;
/// The most an anonymous reader may ask for at once: each product told costs a stock query
/// and a link signing, and anonymous readers are counted per call, not per product.
const MAX_ANONYMOUS_LIMIT: usize = 50;

/// Where a sync stands: the stage, the page within it, and the event after which changes
/// are told once the stages before are done.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SyncCursor {
    #[serde(rename = "s")]
    stage: Stage,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    page: Option<String>,
    #[serde(rename = "a")]
    after: String,
    /// The account the sync is for (none: anonymous, the catalogue only).
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Stage {
    Products,
    Orders,
    Changes,
}

impl SyncCursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(text: &str, caller: Option<&Caller>) -> Result<Self, ApiError> {
        let bad = || {
            ApiError::invalid(
                "since",
                "is not a cursor this API gave; sync from the start without it",
            )
        };
        if text.len() > 2048 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let cursor: SyncCursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let after = uuid::Uuid::parse_str(&cursor.after).map_err(|_| bad())?;
        if cursor.user.as_deref() != caller.map(|c| c.user_id.as_str()) {
            return Err(ApiError::invalid(
                "since",
                "was given to another account (or to an anonymous reader); sync from the start",
            ));
        }
        let oldest = OffsetDateTime::now_utc() - time::Duration::days(OUTBOX_RETENTION_DAYS)
            + time::Duration::hours(1);
        if made_at(after).is_none_or(|at| at < oldest) {
            return Err(ApiError::Gone(format!(
                "changes are kept {OUTBOX_RETENTION_DAYS} days and this cursor is older; sync from the start without since"
            )));
        }
        Ok(cursor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyncQuery {
    since: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/sync`.
pub(crate) async fn sync(
    State(state): State<OrdersState>,
    reader: Reader,
    ApiQuery(query): ApiQuery<SyncQuery>,
) -> Result<Response, ApiError> {
    let caller = reader.0.as_ref();
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    let most = if caller.is_some() {
        MAX_LIMIT
    } else {
        MAX_ANONYMOUS_LIMIT
    };
    if !(1..=most).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {most} (200 signed in, 50 without), got {limit}"),
        ));
    }
    let cursor = match query.since.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => SyncCursor::decode(text, caller)?,
        None => SyncCursor {
            stage: Stage::Products,
            page: None,
            after: first_id_at(OffsetDateTime::now_utc() - SETTLE).to_string(),
            user: caller.map(|c| c.user_id.clone()),
        },
    };
    let (changes, next, more) = match cursor.stage {
        Stage::Products => products(&state, caller, cursor, limit).await?,
        Stage::Orders => match caller {
            Some(caller) => orders(&state, caller, cursor, limit).await?,
            None => return Err(ApiError::invalid("since", "is not a cursor this API gave")),
        },
        Stage::Changes => changes(&state, caller, cursor, limit).await?,
    };
    let body = json!({"changes": changes, "cursor": next.encode(), "more": more});
    Ok(json_response(StatusCode::OK, body.to_string()))
}

type Step = (Vec<Value>, SyncCursor, bool);

fn page_cursor(text: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    text.map(|t| {
        Cursor::decode(t).map_err(|_| ApiError::invalid("since", "is not a cursor this API gave"))
    })
    .transpose()
}

async fn products(
    state: &AppState,
    caller: Option<&Caller>,
    cursor: SyncCursor,
    limit: usize,
) -> Result<Step, ApiError> {
    let page = page_cursor(cursor.page.as_deref())?;
    let (listed, next) = state
        .products
        .list(&ProductListing::All, page_size(limit), page.as_ref())
        .await?;
    let changes = try_join_all(listed.iter().map(|p| product_change(state, p))).await?;
    let following = match (next, caller) {
        (Some(page), _) => SyncCursor {
            page: Some(page.encode()),
            ..cursor
        },
        (None, Some(_)) => SyncCursor {
            stage: Stage::Orders,
            page: None,
            ..cursor
        },
        (None, None) => SyncCursor {
            stage: Stage::Changes,
            page: None,
            ..cursor
        },
    };
    Ok((changes, following, true))
}

async fn orders(
    state: &OrdersState,
    caller: &Caller,
    cursor: SyncCursor,
    limit: usize,
) -> Result<Step, ApiError> {
    let page = page_cursor(cursor.page.as_deref())?;
    // Each order comes with its shipments: a page holds at most a quarter as many orders.
    let (listed, next) = state
        .orders
        .list(
            &OrderListing::Customer(caller.user_id.clone()),
            None,
            page_size(limit.div_ceil(4)),
            page.as_ref(),
        )
        .await?;
    let shipments = try_join_all(listed.iter().map(|o| state.shipments.of_order(&o.id))).await?;
    let mut changes = Vec::new();
    for (order, parcels) in listed.iter().zip(shipments) {
        changes.push(json!({"type": "order", "id": order.id, "data": view(state, order, caller)}));
        for s in parcels {
            changes.push(json!({"type": "shipment", "id": s.id, "data": s.shown(false)}));
        }
    }
    let following = match next {
        Some(page) => SyncCursor {
            page: Some(page.encode()),
            ..cursor
        },
        None => SyncCursor {
            stage: Stage::Changes,
            page: None,
            ..cursor
        },
    };
    Ok((changes, following, true))
}

fn page_size(limit: usize) -> u32 {
    u32::try_from(limit.clamp(1, MAX_LIMIT)).unwrap_or(100)
}

/// A product as the storefront shows it now, with whether any warehouse has some available;
/// archived or gone, a tombstone.
async fn product_change(state: &AppState, product: &Product) -> Result<Value, ApiError> {
    if product.archived {
        return Ok(json!({"type": "product", "id": product.id, "deleted": true}));
    }
    let (levels, _) = state
        .stock
        .list_levels(&LevelListing::Product(product.id.to_string()), 100, None)
        .await?;
    let mut data = product_view(state, product, Viewer::Public).await?;
    data["in_stock"] = json!(levels.iter().any(|l| l.available() > 0));
    Ok(json!({"type": "product", "id": product.id, "data": data}))
}

/// What one event is about, for sync.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Subject {
    Product(String),
    Order(String),
    Shipment(String),
}

fn subject(event: &StoredEvent) -> Option<Subject> {
    let detail: Value = serde_json::from_str(&event.detail).ok()?;
    let data = &detail["data"];
    let text = |field: &str| data[field].as_str().map(str::to_owned);
    match event.kind.split('.').next()? {
        "product" | "stock" => text("product_id").map(Subject::Product),
        "order" | "payment" | "refund" => text("order_id").map(Subject::Order),
        "shipment" => text("shipment_id").map(Subject::Shipment),
        _ => None,
    }
}

async fn changes(
    state: &OrdersState,
    caller: Option<&Caller>,
    cursor: SyncCursor,
    limit: usize,
) -> Result<Step, ApiError> {
    let mut audiences = vec![
        Audience::Topic(Topic::Products),
        Audience::Topic(Topic::Stock),
    ];
    if let Some(c) = caller {
        audiences.push(Audience::Account(c.user_id.clone()));
    }
    let outbox = Outbox::new(state.table.clone());
    let fetched = try_join_all(
        audiences
            .iter()
            .map(|a| outbox.feed(a, &cursor.after, limit + 1)),
    )
    .await?;
    let horizon = first_id_at(OffsetDateTime::now_utc() - SETTLE).to_string();
    let mut events: Vec<(String, StoredEvent)> = fetched
        .into_iter()
        .flatten()
        .filter_map(|e| Some((event_id(&e)?, e)))
        .filter(|(id, _)| *id < horizon)
        .collect();
    events.sort_by(|a, b| a.0.cmp(&b.0));
    events.dedup_by(|a, b| a.0 == b.0);
    let more = events.len() > limit;
    events.truncate(limit);
    let Some((last, _)) = events.last() else {
        return Ok((Vec::new(), cursor, false));
    };
    let last = last.clone();
    // Each thing once, as it is now, in the order of its latest change.
    let mut seen = BTreeSet::new();
    let mut subjects = Vec::new();
    for (_, event) in events.iter().rev() {
        if let Some(s) = subject(event)
            && seen.insert(s.clone())
        {
            subjects.push(s);
        }
    }
    subjects.reverse();
    let told = try_join_all(subjects.iter().map(|s| current(state, caller, s))).await?;
    let next = SyncCursor {
        after: last,
        ..cursor
    };
    Ok((told.into_iter().flatten().collect(), next, more))
}

fn event_id(event: &StoredEvent) -> Option<String> {
    let detail: Value = serde_json::from_str(&event.detail).ok()?;
    detail["id"].as_str().map(str::to_owned)
}

/// `subject` as it is now, for `caller`; `None` when the caller may not see it.
async fn current(
    state: &OrdersState,
    caller: Option<&Caller>,
    subject: &Subject,
) -> Result<Option<Value>, ApiError> {
    match subject {
        Subject::Product(id) => {
            let tombstone = || json!({"type": "product", "id": id, "deleted": true});
            let Ok(pid) = ProductId::parse(id) else {
                return Ok(None);
            };
            match state.products.get(&pid).await {
                Ok(p) => Ok(Some(product_change(state, &p).await?)),
                Err(StoreError::NotFound) => Ok(Some(tombstone())),
                Err(e) => Err(e.into()),
            }
        }
        Subject::Order(id) => {
            let Some(caller) = caller else {
                return Ok(None);
            };
            match state.orders.order(id).await {
                Ok(o)
                    if o.customer_id == caller.user_id || caller.can(Permission::ReadAllOrders) =>
                {
                    Ok(Some(
                        json!({"type": "order", "id": id, "data": view(state, &o, caller)}),
                    ))
                }
                Ok(_) | Err(StoreError::NotFound) => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
        Subject::Shipment(id) => {
            let Some(caller) = caller else {
                return Ok(None);
            };
            match state.shipments.shipment(id).await {
                Ok(s) if s.customer_id == caller.user_id => Ok(Some(
                    json!({"type": "shipment", "id": id, "data": s.shown(false)}),
                )),
                Ok(_) | Err(StoreError::NotFound) => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
    }
}
