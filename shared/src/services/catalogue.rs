//! Lookups that check what a stock change names: the product exists and is not archived, the
//! warehouse exists and is active. Unknown ids are a 422 on the field that named them.

use serde_json::{Value, json};

use super::AppState;
use crate::domain::product::ImageStatus;
use crate::domain::stock::WarehouseId;
use crate::domain::{Product, ProductId};
use crate::http::ApiError;
use crate::http::OrMissing;

/// The product a request names by its id text, if it exists and is not archived.
pub async fn orderable_product(state: &AppState, id: &str) -> Result<Product, ApiError> {
    let pid = ProductId::parse(id).map_err(|_| unknown_product(id))?;
    orderable(state, &pid).await
}

/// [`orderable_product`] for an id parsed at the edge.
pub async fn orderable(state: &AppState, id: &ProductId) -> Result<Product, ApiError> {
    let product = state
        .products
        .get(id)
        .await
        .or_missing(|| unknown_product(id.as_str()))?;
    if product.archived {
        return Err(ApiError::Conflict(format!(
            "product '{id}' is archived; restore it first"
        )));
    }
    Ok(product)
}

fn unknown_product(id: &str) -> ApiError {
    ApiError::invalid("product_id", format!("no product with id '{id}'"))
}

/// Checks that the warehouse a request names (in `field`) exists and is active.
pub async fn active_warehouse(
    state: &AppState,
    field: &str,
    id: &WarehouseId,
) -> Result<(), ApiError> {
    let warehouse = state
        .stock
        .warehouse(id.as_str())
        .await
        .or_missing(|| ApiError::invalid(field, format!("no warehouse with id '{id}'")))?;
    if !warehouse.active {
        return Err(ApiError::Conflict(format!(
            "warehouse '{}' is inactive",
            warehouse.code
        )));
    }
    Ok(())
}

/// Who a product is shown to: the public (customers and anonymous readers) sees what a shop
/// shows; staff and above also see the purchasing fields (reorder and target levels, the
/// preferred supplier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Customers and anonymous readers.
    Public,
    /// Those who may read stock.
    Staff,
}

impl Audience {
    /// The audience of a caller who may (or may not) read stock.
    pub fn from_staff(staff: bool) -> Self {
        if staff {
            Audience::Staff
        } else {
            Audience::Public
        }
    }

    /// The audience's name, as fingerprints of answers made for it include it.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Public => "public",
            Audience::Staff => "staff",
        }
    }
}

/// Fields of a product only staff see.
const STAFF_FIELDS: [&str; 3] = ["reorder_level", "target_level", "preferred_supplier_id"];

/// The product as `audience` sees it: its checked images with time-limited download URLs (the
/// S3 keys stay inside), and the public does not see the purchasing fields.
pub async fn product_view(
    state: &AppState,
    product: &Product,
    audience: Audience,
) -> Result<Value, ApiError> {
    let mut images = Vec::with_capacity(product.images.len());
    // Only images whose bytes were checked are listed; a pending upload is nobody's business.
    for image in product
        .images
        .iter()
        .filter(|i| i.status == ImageStatus::Ready)
    {
        let url = state
            .media
            .presign_download(&image.key, state.image_download_ttl)
            .await
            .map_err(ApiError::internal)?;
        images.push(json!({
            "id": image.id,
            "content_type": image.content_type,
            "url": url,
            "added_at": image.added_at.format(&time::format_description::well_known::Rfc3339).ok(),
            "width": image.width,
            "height": image.height,
        }));
    }
    let mut view = serde_json::to_value(product).map_err(ApiError::internal)?;
    view["images"] = Value::Array(images);
    if audience == Audience::Public
        && let Some(fields) = view.as_object_mut()
    {
        for field in STAFF_FIELDS {
            fields.remove(field);
        }
    }
    Ok(view)
}
