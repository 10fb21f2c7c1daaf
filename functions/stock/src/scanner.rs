//! Handheld scanners: one endpoint that looks a barcode up or moves stock for it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use shared::auth::can::MoveStock;
use shared::domain::Barcode;
use shared::domain::purchasing::{ReceiptInput, ReceiptLine};
use shared::domain::stock::MovementRequest;
use shared::http::OrMissing;
use shared::http::{ApiError, ApiJson, Authorized, IdempotencyKey, RequestMeta};
use shared::services::AppState;
use shared::services::catalogue::{Audience, product_view};
use shared::services::movements::{level_view, move_once};
use shared::store::LevelListing;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v1/scanner/scan", post(scan))
}

/// What the scan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ScanAction {
    Lookup,
    Receive,
    Ship,
    Count,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scan {
    barcode: String,
    warehouse_id: String,
    action: ScanAction,
    /// Units for receive and ship (default 1: one scan, one unit).
    #[serde(default)]
    quantity: Option<i64>,
    /// Units counted, for count.
    #[serde(default)]
    counted: Option<i64>,
    #[serde(default)]
    reference: Option<String>,
    /// Receive against this purchase order (action `receive` only).
    #[serde(default)]
    purchase_order_id: Option<String>,
}

#[tracing::instrument(name = "Scanning a barcode", skip_all)]
async fn scan(
    State(state): State<AppState>,
    who: Authorized<MoveStock>,
    meta: RequestMeta,
    headers: axum::http::HeaderMap,
    ApiJson(scan): ApiJson<Scan>,
) -> Result<Response, ApiError> {
    let unknown =
        || ApiError::NotFound(format!("no product has barcode '{}'", scan.barcode.trim()));
    let barcode = Barcode::parse(&scan.barcode).map_err(|_| unknown())?;
    let product = state
        .products
        .get_by_barcode(&barcode)
        .await
        .or_missing(unknown)?;
    let (product_id, warehouse_id) = (product.id.to_string(), scan.warehouse_id.clone());
    if let Some(po) = &scan.purchase_order_id {
        if scan.action != ScanAction::Receive {
            return Err(ApiError::invalid(
                "purchase_order_id",
                "goes with action 'receive' only",
            ));
        }
        let IdempotencyKey(key) = IdempotencyKey::from_headers(&headers)?;
        let receipt = ReceiptInput {
            lines: vec![ReceiptLine {
                product_id,
                quantity: scan.quantity.unwrap_or(1),
            }],
            note: Some("scanned".into()),
        };
        return shared::services::receiving::receive_goods(
            &state,
            &who.0,
            &meta,
            &key,
            po,
            &receipt.parse()?,
        )
        .await;
    }
    let request = match scan.action {
        ScanAction::Lookup => {
            state.stock.warehouse(&warehouse_id).await.or_missing(|| {
                ApiError::invalid(
                    "warehouse_id",
                    format!("no warehouse with id '{warehouse_id}'"),
                )
            })?;
            let here = state.stock.level(&product_id, &warehouse_id).await?;
            let (everywhere, _) = state
                .stock
                .list_levels(&LevelListing::Product(product_id.clone()), 100, None)
                .await?;
            let body = json!({
                "product": product_view(&state, &product, Audience::Staff).await?,
                "level": level_view(&here),
                "levels": everywhere.iter().map(level_view).collect::<Vec<_>>(),
            });
            return Ok((StatusCode::OK, Json(body)).into_response());
        }
        ScanAction::Receive => MovementRequest::Receive {
            product_id,
            warehouse_id,
            quantity: scan.quantity.unwrap_or(1),
            reason: Some("scanned".into()),
            reference: scan.reference,
        },
        ScanAction::Ship => MovementRequest::Ship {
            product_id,
            warehouse_id,
            quantity: scan.quantity.unwrap_or(1),
            reason: Some("scanned".into()),
            reference: scan.reference,
        },
        ScanAction::Count => MovementRequest::Count {
            product_id,
            warehouse_id,
            counted: scan
                .counted
                .ok_or_else(|| ApiError::invalid("counted", "is required to count"))?,
            reason: Some("scanned".into()),
            reference: scan.reference,
        },
    };
    // Lookups are reads; scans that move stock need a key like any other movement.
    let IdempotencyKey(key) = IdempotencyKey::from_headers(&headers)?;
    move_once(&state, &who.0, &meta, &key, &request.parse()?).await
}
