//! The purchasing function: suppliers, purchase orders, receiving goods against them, and
//! reorder suggestions.
//!
//! | route                                             | who                                  |
//! |---------------------------------------------------|--------------------------------------|
//! | `GET /v1/suppliers`, `GET .../{id}`               | staff and above                      |
//! | `POST /v1/suppliers`, `PATCH .../{id}`            | managers and admins (`If-Match` on PATCH) |
//! | `GET /v1/purchase-orders`, `GET .../{id}`         | staff and above                      |
//! | `POST /v1/purchase-orders`, `PATCH .../{id}`, `.../submit`, `.../cancel` | managers and admins |
//! | `POST /v1/purchase-orders/{id}/receipts`          | staff and above (`Idempotency-Key`)  |
//! | `GET /v1/purchase-orders/suggestions`             | staff and above                      |
//! | `POST /v1/purchase-orders/suggestions`            | managers and admins: drafts for them |

mod purchase_orders;
mod suggestions;
mod suppliers;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;

use shared::http::json_response;
use shared::http::{ApiError, etag};
use shared::services::AppState;
use shared::services::catalogue::orderable_product;

use purchase_orders::{
    cancel, create_order, get_order, list_orders, receive, submit, update_order,
};
use suggestions::{draft_suggestions, suggestions};
use suppliers::{create_supplier, get_supplier, list_suppliers, update_supplier};

/// The `purchasing` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<AppState> = shared::lambda::Function {
    name: "purchasing",
    routes: router,
};

/// The purchasing function's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/suppliers", get(list_suppliers).post(create_supplier))
        .route(
            "/v1/suppliers/{id}",
            get(get_supplier).patch(update_supplier),
        )
        .route("/v1/purchase-orders", get(list_orders).post(create_order))
        .route(
            "/v1/purchase-orders/suggestions",
            get(suggestions).post(draft_suggestions),
        )
        .route(
            "/v1/purchase-orders/{id}",
            get(get_order).patch(update_order),
        )
        .route("/v1/purchase-orders/{id}/submit", post(submit))
        .route("/v1/purchase-orders/{id}/cancel", post(cancel))
        .route("/v1/purchase-orders/{id}/receipts", post(receive))
}

pub(crate) fn versioned(
    body: &impl serde::Serialize,
    version: u64,
    status: StatusCode,
) -> Response {
    let mut r = json_response(status, json!(body).to_string());
    r.headers_mut().insert(header::ETAG, etag(version));
    r
}

pub(crate) fn created(body: &impl serde::Serialize, version: u64, location: &str) -> Response {
    let mut r = versioned(body, version, StatusCode::CREATED);
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Every product named must exist and not be archived; errors name `{prefix}[i].product_id`.
pub(crate) async fn check_products<'a>(
    state: &AppState,
    prefix: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<(), ApiError> {
    for (i, id) in ids.enumerate() {
        orderable_product(state, id).await.map_err(|e| match e {
            ApiError::Validation(_) => ApiError::invalid(
                format!("{prefix}[{i}].product_id"),
                format!("no product with id '{id}'"),
            ),
            other => other,
        })?;
    }
    Ok(())
}
