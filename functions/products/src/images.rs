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
    let listed = |p: &Product| {
        p.images
            .iter()
            .any(|i| i.id == image_id && i.status == ImageStatus::Ready)
    };
    if listed(&current) {
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
    let checked = if size > MAX_IMAGE_BYTES {
        Err(format!(
            "the upload is {size} bytes; images may be at most {MAX_IMAGE_BYTES} bytes"
        ))
    } else {
        let bytes = state.media.get(&upload).await.map_err(unavailable)?;
        inspect_image(&image.content_type, bytes.as_deref().unwrap_or_default())
    };
    let product = match checked {
        Ok((width, height)) => {
            state
                .media
                .copy(&upload, &image.key, &image.content_type)
                .await
                .map_err(unavailable)?;
            change(&state, &id, |p, now| {
                p.pending_image(&image_id)
                    .map(|_| p.with_image_ready(&image_id, width, height, now))
            })
            .await?
        }
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
    if let Err(e) = state.media.delete(&upload).await {
        tracing::warn!(error = %e, key = %upload, "could not delete a confirmed upload");
    }
    product_response(&state, &product, StatusCode::OK, Audience::Staff).await
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
