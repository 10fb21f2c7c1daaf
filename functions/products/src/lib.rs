//! The products function: the catalogue.
//!
//! | route                                   | permission      |
//! |-----------------------------------------|-----------------|
//! | `POST /v1/products`                     | write products  |
//! | `GET /v1/products`                      | read products   |
//! | `GET /v1/products/{id}`                 | read products   |
//! | `PATCH /v1/products/{id}` (`If-Match`)  | write products  |
//! | `DELETE /v1/products/{id}` (archive)    | write products  |
//! | `POST /v1/products/{id}/restore`        | write products  |
//! | `GET /v1/products/by-barcode/{code}`    | anyone (public) |
//! | `POST /v1/products/{id}/images`         | write products  |
//! | `POST /v1/products/{id}/images/{image}/confirm` | write products |
//!
//! The public reads answer anonymous callers with the customer view of listed (not archived)
//! products, counted against the per-address allowance, with validators and cache lifetimes
//! (`shared::http::Freshness`); signed-in staff get their own view, privately cached.

mod images;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use time::OffsetDateTime;

use shared::auth::can::WriteProducts;
use shared::domain::product::{
    NewProductInput, ProductDraft, ProductPatch, ProductPatchInput, category_key,
};
use shared::domain::{Barcode, Product, ProductId};
use shared::http::OrMissing;
use shared::http::{
    ApiError, ApiJson, ApiPath, ApiQuery, Authorized, Cursor, Freshness, IfMatch, Page, PageParams,
    Reader, etag, fingerprint,
};
use shared::services::AppState;
use shared::services::catalogue::{Audience, product_view};
use shared::store::{ProductListing, StoreError, Uniqueness};

/// The `products` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<AppState> = shared::lambda::Function {
    name: "products",
    routes: router,
};

/// The products function's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/products", get(list_products).post(create_product))
        .route(
            "/v1/products/{id}",
            get(get_product)
                .patch(update_product)
                .delete(archive_product),
        )
        .route("/v1/products/{id}/restore", post(restore_product))
        .route("/v1/products/{id}/images", post(images::add))
        .route(
            "/v1/products/{id}/images/{image_id}/confirm",
            post(images::confirm),
        )
        .route("/v1/products/by-barcode/{code}", get(get_by_barcode))
}

#[tracing::instrument(name = "Creating a product", skip_all)]
async fn create_product(
    State(state): State<AppState>,
    _: Authorized<WriteProducts>,
    ApiJson(input): ApiJson<NewProductInput>,
) -> Result<Response, ApiError> {
    let draft = ProductDraft::parse(input).map_err(ApiError::from)?;
    let sku = draft.sku().clone();
    let product = Product::create(draft, OffsetDateTime::now_utc());
    state.products.create(&product).await.map_err(|e| match e {
        StoreError::Duplicate(Uniqueness::Sku) => ApiError::Conflict(format!(
            "a product with SKU '{}' already exists",
            sku.as_str()
        )),
        other => other.into(),
    })?;
    tracing::info!(product_id = %product.id, "product created");
    let location = format!("/v1/products/{}", product.id);
    let mut response =
        product_response(&state, &product, StatusCode::CREATED, Audience::Staff).await?;
    if let Ok(v) = location.parse() {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    category: Option<String>,
}

async fn list_products(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = page.limit()?;
    let cursor = page.cursor()?;
    let listing = match query.category.as_deref().map(str::trim) {
        None => ProductListing::All,
        Some("") => return Err(ApiError::invalid("category", "must not be empty")),
        Some(c) if c.chars().count() > 100 => {
            return Err(ApiError::invalid(
                "category",
                "must be at most 100 characters",
            ));
        }
        Some(c) => ProductListing::Category(category_key(c)),
    };
    let (products, next) = state
        .products
        .list(&listing, limit, cursor.as_ref())
        .await?;
    // The page is the same answer while the same versions of the same products are on it.
    let versions: Vec<String> = products
        .iter()
        .map(|p| format!("{}@{}", p.id, p.version))
        .collect();
    let next_text = next.as_ref().map(Cursor::encode).unwrap_or_default();
    let epoch = state.public_lifetimes.link_epoch(OffsetDateTime::now_utc());
    let page_print = fingerprint(
        [
            audience(&reader).as_str(),
            next_text.as_str(),
            epoch.as_str(),
        ]
        .into_iter()
        .chain(versions.iter().map(String::as_str)),
    );
    let freshness = Freshness::for_reader(
        &reader,
        &page_print,
        || format!("\"{page_print}\""),
        state.public_lifetimes,
    );
    if let Some(unchanged) = freshness.not_modified(&headers) {
        return Ok(unchanged);
    }
    let mut items = Vec::with_capacity(products.len());
    for product in &products {
        items.push(product_view(&state, product, audience(&reader)).await?);
    }
    Ok(freshness.apply(Page::response(items, next)))
}

async fn get_product(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let product = load(&state, &id).await?;
    read_response(&state, &reader, &headers, product, || {
        ApiError::NotFound(format!("no product with id '{id}'"))
    })
    .await
}

async fn get_by_barcode(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    ApiPath(code): ApiPath<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(format!("no product has barcode '{code}'"));
    let barcode = Barcode::parse(&code).map_err(|_| not_found())?;
    let product = state
        .products
        .get_by_barcode(&barcode)
        .await
        .or_missing(not_found)?;
    read_response(&state, &reader, &headers, product, not_found).await
}

/// A product as `reader` sees it: an archived one does not exist for the public; staff get
/// the strong version tag they send back as `If-Match`.
async fn read_response(
    state: &AppState,
    reader: &Reader,
    headers: &HeaderMap,
    product: Product,
    not_found: impl FnOnce() -> ApiError,
) -> Result<Response, ApiError> {
    if product.archived && !reader.is_staff() {
        return Err(not_found());
    }
    // The public tag changes with the version and as the image links age; staff get the
    // version itself (what If-Match takes).
    let epoch = state.public_lifetimes.link_epoch(OffsetDateTime::now_utc());
    let freshness = Freshness::for_reader(
        reader,
        &fingerprint(["product", &product.version.to_string(), &epoch]),
        || format!("\"{}\"", product.version),
        state.public_lifetimes,
    );
    if let Some(unchanged) = freshness.not_modified(headers) {
        return Ok(unchanged);
    }
    let view = product_view(state, &product, audience(reader)).await?;
    Ok(freshness.apply((StatusCode::OK, Json(view)).into_response()))
}

#[tracing::instrument(name = "Updating a product", skip_all, fields(product_id = %id))]
async fn update_product(
    State(state): State<AppState>,
    _: Authorized<WriteProducts>,
    ApiPath(id): ApiPath<String>,
    if_match: IfMatch,
    ApiJson(input): ApiJson<ProductPatchInput>,
) -> Result<Response, ApiError> {
    let expected = if_match.required()?;
    let patch = ProductPatch::parse(input).map_err(ApiError::from)?;
    let current = load(&state, &id).await?;
    expected.check("product", current.version)?;
    let next = current
        .patched(patch, OffsetDateTime::now_utc())
        .map_err(ApiError::from)?;
    let product = save(&state, &current, next).await?;
    product_response(&state, &product, StatusCode::OK, Audience::Staff).await
}

#[tracing::instrument(name = "Archiving a product", skip_all, fields(product_id = %id))]
async fn archive_product(
    State(state): State<AppState>,
    _: Authorized<WriteProducts>,
    ApiPath(id): ApiPath<String>,
    if_match: IfMatch,
) -> Result<Response, ApiError> {
    set_archived(&state, &id, if_match, true).await
}

#[tracing::instrument(name = "Restoring a product", skip_all, fields(product_id = %id))]
async fn restore_product(
    State(state): State<AppState>,
    _: Authorized<WriteProducts>,
    ApiPath(id): ApiPath<String>,
    if_match: IfMatch,
) -> Result<Response, ApiError> {
    set_archived(&state, &id, if_match, false).await
}

async fn set_archived(
    state: &AppState,
    id: &str,
    if_match: IfMatch,
    archived: bool,
) -> Result<Response, ApiError> {
    let current = load(state, id).await?;
    if_match.optional().check("product", current.version)?;
    let next = current.with_archived(archived, OffsetDateTime::now_utc());
    let product = save(state, &current, next).await?;
    product_response(state, &product, StatusCode::OK, Audience::Staff).await
}

pub(crate) async fn load(state: &AppState, id: &str) -> Result<Product, ApiError> {
    let not_found = || ApiError::NotFound(format!("no product with id '{id}'"));
    let id = ProductId::parse(id).map_err(|_| not_found())?;
    state.products.get(&id).await.or_missing(not_found)
}

/// Stores `next` if there is a change, returning the product as it now is.
async fn save(
    state: &AppState,
    current: &Product,
    next: Option<Product>,
) -> Result<Product, ApiError> {
    match next {
        None => Ok(current.clone()),
        Some(next) => {
            state.products.replace(current, &next).await?;
            Ok(next)
        }
    }
}

/// Who reads: staff see the purchasing fields, customers and anonymous readers do not.
fn audience(reader: &Reader) -> Audience {
    Audience::from_staff(reader.is_staff())
}

pub(crate) async fn product_response(
    state: &AppState,
    product: &Product,
    status: StatusCode,
    audience: Audience,
) -> Result<Response, ApiError> {
    let view = product_view(state, product, audience).await?;
    let mut response = (status, Json(view)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(product.version));
    Ok(response)
}
