//! The shipments function: the parcels a paid order leaves in (created with the payment, one
//! per warehouse), packed and shipped by staff, tracked by the carrier, seen by the customer.
//!
//! | route                                   | who                                              |
//! |-----------------------------------------|--------------------------------------------------|
//! | `GET /v1/orders/{id}/shipments`         | the order's customer; staff and above            |
//! | `GET /v1/shipments?warehouse_id=`       | staff and above: the warehouse's open parcels    |
//! | `GET /v1/shipments/{id}`                | the customer; staff and above                    |
//! | `POST /v1/shipments/{id}/pack`          | staff and above                                  |
//! | `POST /v1/shipments/{id}/ship`          | staff and above (`carrier`, `tracking_number`)   |
//! | `POST /v1/shipments/{id}/checkpoints`   | staff and above (news from the road)             |
//! | `POST /v1/webhooks/carrier`             | a carrier, signed (`X-Carrier-Signature`)        |

mod carrier;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use shared::auth::can::{MoveStock, PlaceOrders};
use shared::auth::{Caller, Permission};
use shared::domain::order::OrderStatus;
use shared::domain::shipment::{Carrier, CheckpointInput, Reporter, Shipment, ShipmentRefused};
use shared::domain::stock::WarehouseId;
use shared::http::{
    ApiError, ApiJson, ApiPath, ApiQuery, Authorized, OrMissing, Page, PageParams, RequestMeta,
    json_response,
};
use shared::services::AppState;
use shared::services::audit::audit;
use shared::services::commit::{committed, contending_for};
use shared::services::settlement::load_order;

/// The state of this function's handlers: the secrets carriers sign their updates with.
pub type ShipmentsState = shared::lambda::With<shared::lambda::CarrierWebhook>;

/// The `shipments` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<ShipmentsState> = shared::lambda::Function {
    name: "shipments",
    routes: router,
};

/// The shipments function's routes.
pub fn router() -> Router<ShipmentsState> {
    Router::new()
        .route("/v1/orders/{id}/shipments", get(of_order))
        .route("/v1/shipments", get(open_at))
        .route("/v1/shipments/{id}", get(show))
        .route("/v1/shipments/{id}/pack", post(pack))
        .route("/v1/shipments/{id}/ship", post(ship))
        .route("/v1/shipments/{id}/checkpoints", post(checkpoint))
        .route("/v1/webhooks/carrier", post(carrier::receive))
}

/// The shipment as `caller` sees it: customers do not see the carrier's event ids.
fn view(shipment: &Shipment, caller: &Caller) -> Value {
    shipment.shown(caller.can(Permission::ReadAllOrders))
}

fn ok(shipment: &Shipment, caller: &Caller) -> Response {
    json_response(StatusCode::OK, view(shipment, caller).to_string())
}

/// The shipment if `caller` may see it: its customer, or staff and above. Others get the
/// same 404 as for a missing one, so ids reveal nothing.
async fn load_visible(state: &AppState, caller: &Caller, id: &str) -> Result<Shipment, ApiError> {
    let missing = || ApiError::NotFound(format!("no shipment with id '{id}'"));
    if id.len() > 100 {
        return Err(missing());
    }
    let shipment = state.shipments.shipment(id).await.or_missing(missing)?;
    if shipment.customer_id != caller.user_id && !caller.can(Permission::ReadAllOrders) {
        return Err(missing());
    }
    Ok(shipment)
}

async fn of_order(
    State(state): State<ShipmentsState>,
    who: Authorized<PlaceOrders>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    let order = load_order(&state, &id).await?;
    if order.customer_id != caller.user_id && !caller.can(Permission::ReadAllOrders) {
        return Err(ApiError::NotFound(format!("no order with id '{id}'")));
    }
    let shipments = state.shipments.of_order(&order.id).await?;
    Ok(Page::response(
        shipments.iter().map(|s| view(s, &caller)).collect(),
        None,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenQuery {
    warehouse_id: String,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn open_at(
    State(state): State<ShipmentsState>,
    _: Authorized<MoveStock>,
    ApiQuery(query): ApiQuery<OpenQuery>,
) -> Result<Response, ApiError> {
    let warehouse = WarehouseId::parse(&query.warehouse_id)
        .map_err(|message| ApiError::invalid("warehouse_id", message))?;
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (shipments, next) = state
        .shipments
        .open_at(warehouse.as_str(), page.limit()?, page.cursor()?.as_ref())
        .await?;
    // The queue shows where each parcel stands, not its whole story (GET one for that).
    let items = shipments
        .iter()
        .map(|s| {
            let mut v = json!(s);
            if let Some(o) = v.as_object_mut() {
                o.remove("timeline");
            }
            v
        })
        .collect();
    Ok(Page::response(items, next))
}

async fn show(
    State(state): State<ShipmentsState>,
    who: Authorized<PlaceOrders>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(ok(&load_visible(&state, &who.0, &id).await?, &who.0))
}

/// Applies `change` to the shipment with `id` (read fresh each round), commits it with an
/// audit entry named by `action` when it changed anything, and answers with the shipment as
/// it then is. A change that sends the parcel on is refused for an order refunded in full.
async fn change(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    id: &str,
    (action, sends): (&str, Sends),
    change: impl Fn(&Shipment, OffsetDateTime) -> Result<Option<Shipment>, ShipmentRefused>,
) -> Result<Response, ApiError> {
    let shipment = contending_for("shipment", || async {
        let current = load_visible(state, caller, id).await?;
        if sends == Sends::Parcel {
            still_owed(state, &current).await?;
        }
        let Some(next) = change(&current, OffsetDateTime::now_utc()).map_err(ApiError::from)?
        else {
            return Ok(Some(current));
        };
        let entry = audit(meta, &caller.user_id, action)
            .target(next.id.clone())
            .detail("status", next.status.as_str());
        let mut writes = state.shipments.shipment_writes(Some(&current), &next)?;
        writes.push(state.audit.put(&entry)?);
        committed(state.shipments.commit(writes).await, || next)
    })
    .await?;
    Ok(ok(&shipment, caller))
}

/// Refuses to pack or ship the parcel of an order refunded in full: its money went back, and
/// restocked units are on the shelf again.
async fn still_owed(state: &AppState, shipment: &Shipment) -> Result<(), ApiError> {
    let order = load_order(state, &shipment.order_id).await?;
    if order.status == OrderStatus::Refunded {
        return Err(ApiError::Conflict(format!(
            "order {} was refunded in full; its parcel is not to be sent",
            order.id
        )));
    }
    Ok(())
}

/// Whether a change sends the parcel on (packing, shipping), which an order refunded in full
/// must not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sends {
    Parcel,
    Nothing,
}

#[tracing::instrument(name = "Packing a shipment", skip_all, fields(shipment_id = %id))]
async fn pack(
    State(state): State<ShipmentsState>,
    who: Authorized<MoveStock>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let action = ("shipment.pack", Sends::Parcel);
    change(&state, &who.0, &meta, &id, action, |s, now| s.packed(now)).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShipInput {
    carrier: String,
    tracking_number: String,
}

#[tracing::instrument(name = "Shipping a shipment", skip_all, fields(shipment_id = %id))]
async fn ship(
    State(state): State<ShipmentsState>,
    who: Authorized<MoveStock>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ShipInput>,
) -> Result<Response, ApiError> {
    let carrier = Carrier::parse(&input.carrier, &input.tracking_number).map_err(ApiError::from)?;
    let action = ("shipment.ship", Sends::Parcel);
    change(&state, &who.0, &meta, &id, action, |s, now| {
        s.shipped(&carrier, now)
    })
    .await
}

#[tracing::instrument(name = "Recording a shipment checkpoint", skip_all, fields(shipment_id = %id))]
async fn checkpoint(
    State(state): State<ShipmentsState>,
    who: Authorized<MoveStock>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<CheckpointInput>,
) -> Result<Response, ApiError> {
    let checkpoint = input
        .parse(Reporter::Staff, None, OffsetDateTime::now_utc())
        .map_err(ApiError::from)?;
    change(
        &state,
        &who.0,
        &meta,
        &id,
        ("shipment.checkpoint", Sends::Nothing),
        |s, now| s.tracked(checkpoint.clone(), now),
    )
    .await
}
