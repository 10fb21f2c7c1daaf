//! Product images: a grant to upload one object (an S3 POST policy binding the key, the
//! content type and at most [`MAX_IMAGE_BYTES`]), then a confirmation that checks the bytes
//! are an image of the declared type before the image is listed.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use shared::auth::can::WriteProducts;
use shared::domain::Product;
use shared::domain::product::{
    IMAGE_CONTENT_TYPES, ImageStatus, MAX_IMAGE_BYTES, ProductImage, inspect_image,
};
use shared::http::{ApiError, ApiJson, ApiPath, Authorized, IfMatch, etag};
use shared::services::AppState;
use shared::services::catalogue::Audience;
use shared::services::commit::{committed, contending_for};

use crate::{load, product_response};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewImage {
    content_type: String,
}

#[tracing::instrument(name = "Issuing an image upload grant", skip_all, fields(product_id = %id))]
pub(crate) async fn add(
    State(state): State<AppState>,
    _: Authorized<WriteProducts>,
    ApiPath(id): ApiPath<String>,
    if_match: IfMatch,
    ApiJson(input): ApiJson<NewImage>,
) -> Result<Response, ApiError> {
    let content_type = input.content_type.trim().to_ascii_lowercase();
    let Some((_, extension)) = IMAGE_CONTENT_TYPES.iter().find(|(t, _)| *t == content_type) else {
        let allowed: Vec<&str> = IMAGE_CONTENT_TYPES.iter().map(|(t, _)| *t).collect();
        return Err(ApiError::invalid(
            "content_type",
            format!(
                "'{content_type}' is not allowed; use one of {}",
                allowed.join(", ")
            ),
        ));
    };
    let current = load(&state, &id).await?;
    if_match.optional().check("product", current.version)?;
    let now = OffsetDateTime::now_utc();
    let image_id = uuid::Uuid::now_v7().to_string();
    let image = ProductImage {
        key: format!("products/{}/images/{image_id}.{extension}", current.id),
        id: image_id,
        content_type: content_type.clone(),
        added_at: now,
        status: ImageStatus::Pending,
        width: None,
        height: None,
    };
    // Grants that lapsed unused make room for new ones.
    let next = current
        .with_image(image.clone(), now - state.image_upload_ttl, now)
        .map_err(ApiError::Conflict)?;
    let upload = state
        .media
        .presign_post(
            &image.upload_key(),
            &content_type,
            MAX_IMAGE_BYTES,
            state.image_upload_ttl,
        )
        .await
        .map_err(ApiError::internal)?;
    state.products.replace(&current, &next).await?;
    let body = json!({
        "image": {"id": image.id, "content_type": image.content_type, "status": image.status},
        "upload": upload,
        "confirm": format!("/v1/products/{}/images/{}/confirm", current.id, image.id),
        "product_version": next.version,
    });
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(next.version));
    Ok(response)
}

#[tracing::instrument(name = "Confirming an image upload", skip_all, fields(product_id = %id, image_id = %image_id))]
pub(crate) async fn confirm(
    State(state): State<AppState>,
    _: Authorized<WriteProducts>,
    ApiPath((id, image_id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let current = load(&state, &id).await?;
    if is_listed(&current, &image_id) {
        return product_response(&state, &current, StatusCode::OK, Audience::Staff).await;
    }
    let image = current.pending_image(&image_id).cloned().ok_or_else(|| {
        ApiError::NotFound(format!(
            "product '{id}' has no image '{image_id}' awaiting its upload"
        ))
    })?;
    let upload = image.upload_key();
    let Some(size) = state.media.size(&upload).await.map_err(unavailable)? else {
        return Err(ApiError::Conflict(
            "nothing was uploaded for this image yet; POST the file with the upload grant first"
                .into(),
        ));
    };
    let bytes = if size > MAX_IMAGE_BYTES {
        None
    } else {
        match state.media.get(&upload).await.map_err(unavailable)? {
            Some(bytes) => Some(bytes),
            // A confirmation running alongside finished first and moved the upload.
            None => return answer_as_it_is(&state, &id, &image_id).await,
        }
    };
    let checked = match &bytes {
        None => Err(format!(
            "the upload is {size} bytes; images may be at most {MAX_IMAGE_BYTES} bytes"
        )),
        Some(bytes) => inspect_image(&image.content_type, bytes),
    };
    let (width, height) = match checked {
        Ok(size) => size,
        Err(reason) => {
            // Refused bytes are never listed, and the grant's image is gone: ask for a new one.
            change(&state, &id, |p, now| {
                p.pending_image(&image_id)
                    .map(|_| p.without_image(&image_id, now))
            })
            .await?;
            if let Err(e) = state.media.delete(&upload).await {
                tracing::warn!(error = %e, key = %upload, "could not delete a refused upload");
            }
            return Err(ApiError::invalid("file", reason));
        }
    };
    // The bytes checked are the bytes served: written from memory, never copied from the
    // upload key, which the grant may still overwrite until it expires.
    state
        .media
        .put_as(
            &image.key,
            bytes.unwrap_or_default(),
            Some(&image.content_type),
        )
        .await
        .map_err(unavailable)?;
    let product = change(&state, &id, |p, now| {
        p.pending_image(&image_id)
            .map(|_| p.with_image_ready(&image_id, width, height, now))
    })
    .await?;
    if let Err(e) = state.media.delete(&upload).await {
        tracing::warn!(error = %e, key = %upload, "could not delete a confirmed upload");
    }
    if !is_listed(&product, &image_id) {
        // The pending image went meanwhile (a newer grant cleared it as lapsed, or a
        // confirmation alongside refused it): nothing may be served for it.
        if let Err(e) = state.media.delete(&image.key).await {
            tracing::warn!(error = %e, key = %image.key, "could not delete an orphaned image");
        }
        return Err(ApiError::Conflict(
            "the image's grant lapsed or was refused meanwhile; ask for a new grant".into(),
        ));
    }
    product_response(&state, &product, StatusCode::OK, Audience::Staff).await
}

fn is_listed(product: &Product, image_id: &str) -> bool {
    product
        .images
        .iter()
        .any(|i| i.id == image_id && i.status == ImageStatus::Ready)
}

/// The answer when the upload was gone: the product if the image is listed, else 409.
async fn answer_as_it_is(state: &AppState, id: &str, image_id: &str) -> Result<Response, ApiError> {
    let product = load(state, id).await?;
    if is_listed(&product, image_id) {
        return product_response(state, &product, StatusCode::OK, Audience::Staff).await;
    }
    Err(ApiError::Conflict(
        "nothing was uploaded for this image yet; POST the file with the upload grant first".into(),
    ))
}

/// Applies `change` to the product as it is now (re-read after a lost race); `None` from it
/// means there is nothing to change.
async fn change(
    state: &AppState,
    id: &str,
    change: impl Fn(&Product, OffsetDateTime) -> Option<Product>,
) -> Result<Product, ApiError> {
    contending_for("product", || async {
        let current = load(state, id).await?;
        let Some(next) = change(&current, OffsetDateTime::now_utc()) else {
            return Ok(Some(current));
        };
        committed(state.products.replace(&current, &next).await, || next)
    })
    .await
}

fn unavailable(e: shared::blob::BlobError) -> ApiError {
    ApiError::Unavailable {
        dependency: "S3",
        source: Box::new(e),
    }
}
