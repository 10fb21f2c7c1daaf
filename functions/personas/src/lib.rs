//! The personas function: customer personas generated for a segment brief, stored (document in
//! S3, summary in DynamoDB), listed, searched and counted.
//!
//! | route                          | who                                           |
//! |--------------------------------|-----------------------------------------------|
//! | `POST /v1/personas`            | staff and above (`Idempotency-Key` required)  |
//! | `GET /v1/personas`, `.../{id}`, `.../search`, `.../stats` | staff and above    |
//! | `DELETE /v1/personas/{id}`     | managers and admins                           |

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use shared::auth::can::{ManagePersonas, ReadPersonas};
use shared::domain::persona::{
    PROMPT_VERSION, Persona, PersonaBrief, PersonaSummary, Provenance, search_terms,
};
use shared::http::OrMissing;
use shared::http::json_response;
use shared::http::{
    ApiError, ApiJson, ApiPath, ApiQuery, Authorized, IdempotencyKey, Page, RequestMeta,
};
use shared::personas::{GenerationRequest, ProductContext};
use shared::services::AppState;
use shared::services::audit::audit;
use shared::services::catalogue::orderable_product;
use shared::services::idempotency::IdempotentRequest;
use shared::store::all_pages as all;
use shared::store::{PersonaFilter, StoreError};
use shared::telemetry::metrics::emit_count;

/// Most summaries search and stats read.
const MAX_SCANNED: usize = 5_000;

/// The state of this function's handlers. The persona provider.
pub type PersonasState = shared::lambda::With<shared::personas::Provider>;

/// The `personas` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<PersonasState> = shared::lambda::Function {
    name: "personas",
    routes: router,
};

/// The personas function's routes.
pub fn router() -> Router<PersonasState> {
    Router::new()
        .route("/v1/personas", post(generate).get(list))
        .route("/v1/personas/search", get(search))
        .route("/v1/personas/stats", get(stats))
        .route("/v1/personas/{id}", get(show).delete(remove))
}

fn document_key(id: &str) -> String {
    format!("personas/{id}.json")
}

fn blob_error(e: shared::blob::BlobError) -> ApiError {
    ApiError::Unavailable {
        dependency: "S3",
        source: Box::new(e),
    }
}

#[tracing::instrument(name = "Generating personas", skip_all)]
async fn generate(
    State(state): State<PersonasState>,
    who: Authorized<ReadPersonas>,
    meta: RequestMeta,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(brief): ApiJson<PersonaBrief>,
) -> Result<Response, ApiError> {
    brief.validate()?;
    let (state, caller, meta, brief) = (&state, &who.0, &meta, &brief);
    IdempotentRequest::run(state, caller, "personas", &key, brief, |once| async move {
        let mut products = Vec::with_capacity(brief.product_ids.len());
        for (i, id) in brief.product_ids.iter().enumerate() {
            let p = orderable_product(state, id).await.map_err(|e| match e {
                ApiError::Validation(_) => ApiError::invalid(
                    format!("product_ids[{i}]"),
                    format!("no product with id '{id}'"),
                ),
                other => other,
            })?;
            products.push(ProductContext {
                id: p.id.to_string(),
                name: p.name.clone(),
                category: p.category.clone(),
                brand: p.brand.clone(),
                price_minor: p.price.amount_minor,
                currency: p.price.currency.as_str().to_owned(),
            });
        }
        let request = GenerationRequest {
            brief: brief.brief.trim().to_owned(),
            products,
            category: brief.category.clone(),
            locale: brief.locale().to_owned(),
            count: brief.count(),
        };
        let generation = state.own.generate(&request).await?;
        let now = OffsetDateTime::now_utc();
        let generation_id = uuid::Uuid::now_v7().to_string();
        let personas: Vec<Persona> = generation
            .personas
            .into_iter()
            .map(|profile| Persona {
                id: uuid::Uuid::now_v7().to_string(),
                profile,
                brief: request.brief.clone(),
                provenance: Provenance {
                    generation_id: generation_id.clone(),
                    segment: brief.segment(),
                    category: brief.category.clone(),
                    product_ids: brief.product_ids.clone(),
                    locale: request.locale.clone(),
                    provider: state.own.name().to_owned(),
                    model: generation.model.clone(),
                    synthetic: state.own.name() == "template",
                    prompt_version: PROMPT_VERSION.to_owned(),
                    usage: generation.usage,
                    generation_ms: generation.generation_ms,
                    created_by: caller.user_id.clone(),
                    created_at: now,
                },
            })
            .collect();
        // Documents first; the summaries that make them visible commit last, in one transaction.
        for p in &personas {
            let body = serde_json::to_vec(p).map_err(ApiError::internal)?;
            state
                .media
                .put_json(&document_key(&p.id), body)
                .await
                .map_err(blob_error)?;
        }
        let body = json!({
            "generation_id": generation_id,
            "provider": state.own.name(),
            "model": generation.model,
            "synthetic": state.own.name() == "template",
            "prompt_version": PROMPT_VERSION,
            "usage": generation.usage,
            "generation_ms": generation.generation_ms,
            "attempts": generation.attempts,
            "personas": personas,
        })
        .to_string();
        let entry = audit(meta, &caller.user_id, "personas.generate")
            .target(generation_id.clone())
            .detail("personas", personas.len().to_string());
        let mut writes = Vec::with_capacity(personas.len() + 2);
        for p in &personas {
            writes.push(state.personas.create_write(&PersonaSummary::of(p))?);
        }
        writes.push(state.audit.put(&entry)?);
        writes.push(once.completion(state, &body)?);
        if let Err(e) = state.personas.commit(writes).await {
            // Refused, it wrote nothing: the documents go. Unanswered, it may have committed
            // (the retry replays it), so they stay; at worst they are unreachable.
            if !matches!(e, StoreError::Unavailable(_)) {
                for p in &personas {
                    let _ = state.media.delete(&document_key(&p.id)).await;
                }
            }
            return Err(e.into());
        }
        emit_count(
            &state.metrics_namespace,
            "personas",
            "PersonasGenerated",
            personas.len(),
        );
        let mut response = json_response(StatusCode::CREATED, body);
        if let Ok(v) = HeaderValue::from_str(&format!("/v1/personas?segment={}", brief.segment())) {
            response.headers_mut().insert(header::LOCATION, v);
        }
        Ok(response)
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    segment: Option<String>,
    category: Option<String>,
    product_id: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<PersonasState>,
    _: Authorized<ReadPersonas>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let page = shared::http::PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    let filter = PersonaFilter {
        segment: query.segment,
        category: query.category,
        product_id: query.product_id,
    };
    let (mut items, next) = state
        .personas
        .list(&filter, page.limit()?, page.cursor()?.as_ref())
        .await?;
    for item in &mut items {
        item.search_text.clear();
    }
    Ok(Page::response(items, next))
}

async fn show(
    State(state): State<PersonasState>,
    _: Authorized<ReadPersonas>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::NotFound(format!("no persona with id '{id}'"));
    state.personas.summary(&id).await.or_missing(missing)?;
    let bytes = state
        .media
        .get(&document_key(&id))
        .await
        .map_err(blob_error)?
        .ok_or_else(|| ApiError::internal(format!("persona {id} has a summary but no document")))?;
    let persona: Persona = serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
    Ok(json_response(StatusCode::OK, json!(persona).to_string()))
}

async fn remove(
    State(state): State<PersonasState>,
    who: Authorized<ManagePersonas>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let entry = audit(&meta, &who.0.user_id, "personas.delete").target(id.clone());
    let writes = vec![state.personas.delete_write(&id)?, state.audit.put(&entry)?];
    state.personas.commit(writes).await.map_err(|e| match e {
        StoreError::VersionMismatch => ApiError::NotFound(format!("no persona with id '{id}'")),
        other => other.into(),
    })?;
    if let Err(e) = state.media.delete(&document_key(&id)).await {
        tracing::warn!(error = %e, persona_id = %id, "could not delete a persona document; it is unreachable");
    }
    let mut response = json_response(StatusCode::NO_CONTENT, String::new());
    response.headers_mut().remove(header::CONTENT_TYPE);
    Ok(response)
}

/// Every summary (newest first), up to [`MAX_SCANNED`]; says whether it stopped early.
async fn everything(state: &AppState) -> Result<(Vec<PersonaSummary>, bool), ApiError> {
    let filter = PersonaFilter::default();
    let filter = &filter;
    all(MAX_SCANNED, |c| async move {
        state.personas.list(filter, 100, c.as_ref()).await
    })
    .await
    .map_err(ApiError::from)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    q: Option<String>,
    limit: Option<u32>,
}

async fn search(
    State(state): State<PersonasState>,
    _: Authorized<ReadPersonas>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Response, ApiError> {
    let q = query.q.unwrap_or_default();
    if q.chars().count() > 200 {
        return Err(ApiError::invalid("q", "must be at most 200 characters"));
    }
    let terms = search_terms(&q);
    if terms.is_empty() {
        return Err(ApiError::invalid(
            "q",
            "must contain at least one letter or digit",
        ));
    }
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and 100, got {limit}"),
        ));
    }
    let (summaries, truncated) = everything(&state).await?;
    let mut hits: Vec<(u32, PersonaSummary)> = summaries
        .into_iter()
        .map(|s| (s.score(&terms), s))
        .filter(|(score, _)| *score > 0)
        .collect();
    // Best first; among equals, newest first (the listing's order, kept by a stable sort).
    hits.sort_by_key(|h| std::cmp::Reverse(h.0));
    let total = hits.len();
    let items: Vec<_> = hits
        .into_iter()
        .take(limit as usize)
        .map(|(score, mut s)| {
            s.search_text.clear();
            json!({"score": score, "persona": s})
        })
        .collect();
    let body =
        json!({"query": terms.join(" "), "total": total, "items": items, "truncated": truncated});
    Ok(json_response(StatusCode::OK, body.to_string()))
}

async fn stats(
    State(state): State<PersonasState>,
    _: Authorized<ReadPersonas>,
) -> Result<Response, ApiError> {
    let (summaries, truncated) = everything(&state).await?;
    let mut by_segment: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_provider: BTreeMap<&str, usize> = BTreeMap::new();
    let mut generations: BTreeMap<&str, &PersonaSummary> = BTreeMap::new();
    for s in &summaries {
        *by_segment.entry(&s.provenance.segment).or_default() += 1;
        *by_provider.entry(&s.provenance.provider).or_default() += 1;
        generations.entry(&s.provenance.generation_id).or_insert(s);
    }
    let n = generations.len().max(1) as f64;
    let avg = |f: &dyn Fn(&PersonaSummary) -> u64| {
        generations.values().map(|s| f(s) as f64).sum::<f64>() / n
    };
    let body = json!({
        "personas": summaries.len(),
        "generations": generations.len(),
        "by_segment": by_segment,
        "by_provider": by_provider,
        "average_generation_ms": avg(&|s| s.provenance.generation_ms),
        "average_prompt_tokens": avg(&|s| s.provenance.usage.prompt_tokens),
        "average_completion_tokens": avg(&|s| s.provenance.usage.completion_tokens),
        "truncated": truncated,
    });
    Ok(json_response(StatusCode::OK, body.to_string()))
}
