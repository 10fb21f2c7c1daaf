//! The search function: full-text product search and autocomplete over the index published in
//! S3, and the full rebuild of that index from the table. Both reads are public: anonymous
//! callers count against the per-address allowance and get cacheable answers; staff also see
//! exact stock counts.

// Client-influenced sums: every arithmetic step is checked or saturating (issue 15).
#![deny(clippy::arithmetic_side_effects)]

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use shared::http::{ApiError, ApiQuery, Freshness, Reader, fingerprint, json_response};
use shared::search::{Catalogue, MAX_WINDOW, Report, SearchQuery, SortBy};

/// The state of this function's handlers. The published index, loaded on first use.
pub type SearchState = shared::lambda::With<shared::search::SearchCache>;

/// The `search` function as `main` starts it and the test harness builds it.
pub const FUNCTION: shared::lambda::Function<SearchState> = shared::lambda::Function {
    name: "search",
    routes: router,
};

/// The search function's routes.
pub fn router() -> Router<SearchState> {
    Router::new()
        .route("/v1/search", get(search))
        .route("/v1/search/suggest", get(suggest))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    q: Option<String>,
    category: Option<String>,
    brand: Option<String>,
    min_price: Option<i64>,
    max_price: Option<i64>,
    in_stock: Option<bool>,
    facets: Option<bool>,
    sort: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

/// The query text: 1 to 200 characters with at least one letter or digit.
fn text(q: Option<&str>, max: usize) -> Result<String, ApiError> {
    let q = q.unwrap_or("").trim();
    if q.is_empty() {
        return Err(ApiError::invalid("q", "is required"));
    }
    if q.chars().count() > max {
        return Err(ApiError::invalid(
            "q",
            format!("must be at most {max} characters"),
        ));
    }
    if !q.chars().any(char::is_alphanumeric) {
        return Err(ApiError::invalid("q", "must contain a letter or digit"));
    }
    Ok(q.to_owned())
}

fn parse(p: SearchParams) -> Result<SearchQuery, ApiError> {
    let mut e = shared::domain::FieldErrors::new();
    let text = text(p.q.as_deref(), 200);
    if let Err(ApiError::Validation(errors)) = &text {
        for f in errors {
            e.add(f.field.clone(), f.message.clone());
        }
    }
    for (field, v) in [("min_price", p.min_price), ("max_price", p.max_price)] {
        if v.is_some_and(|v| v < 0) {
            e.add(field, "must not be negative");
        }
    }
    if let (Some(lo), Some(hi)) = (p.min_price, p.max_price)
        && lo > hi
    {
        e.add("min_price", "must not be above max_price");
    }
    let sort = match p.sort.as_deref().unwrap_or("relevance") {
        "relevance" => SortBy::Relevance,
        "price_asc" => SortBy::PriceAsc,
        "price_desc" => SortBy::PriceDesc,
        "newest" => SortBy::Newest,
        other => {
            e.add(
                "sort",
                format!("'{other}' is not relevance, price_asc, price_desc or newest"),
            );
            SortBy::Relevance
        }
    };
    let limit = p.limit.unwrap_or(20);
    if !(1..=50).contains(&limit) {
        e.add("limit", format!("must be between 1 and 50, got {limit}"));
    }
    let offset = p.offset.unwrap_or(0);
    if offset.checked_add(limit).is_none_or(|end| end > MAX_WINDOW) {
        e.add(
            "offset",
            format!("offset + limit must be at most {MAX_WINDOW}; narrow the search"),
        );
    }
    for (field, v) in [("category", &p.category), ("brand", &p.brand)] {
        if v.as_ref()
            .is_some_and(|v| v.trim().is_empty() || v.chars().count() > 100)
        {
            e.add(field, "must be 1 to 100 characters");
        }
    }
    let text = e.finish(|| text.ok())?;
    Ok(SearchQuery {
        text,
        category: p.category,
        brand: p.brand,
        min_price: p.min_price,
        max_price: p.max_price,
        in_stock: p.in_stock.unwrap_or(false),
        skip_facets: !p.facets.unwrap_or(true),
        sort,
        offset,
        limit,
    })
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::Unavailable {
        dependency: "search index",
        source: e.to_string().into(),
    }
}

/// The published index, and how answers drawn from it are validated and cached: the same
/// query on the same version, for the same audience, is the same answer.
async fn catalogue(
    state: &SearchState,
    reader: &Reader,
    uri: &Uri,
) -> Result<(std::sync::Arc<Catalogue>, Freshness), ApiError> {
    let (catalogue, version) = state
        .own
        .current()
        .await
        .map_err(unavailable)?
        .ok_or_else(|| unavailable("no search index has been published yet; run the rebuild"))?;
    let staff = reader.is_staff();
    let print = fingerprint([
        if staff { "staff" } else { "public" },
        &version.to_string(),
        uri.path(),
        uri.query().unwrap_or(""),
    ]);
    let freshness = Freshness::for_reader(
        reader,
        &print,
        || format!("\"{print}\""),
        state.public_lifetimes,
    );
    Ok((catalogue, freshness))
}

async fn search(
    State(state): State<SearchState>,
    reader: Reader,
    uri: Uri,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Response, ApiError> {
    let query = parse(params)?;
    let (catalogue, freshness) = catalogue(&state, &reader, &uri).await?;
    if let Some(unchanged) = freshness.not_modified(&headers) {
        return Ok(unchanged);
    }
    let results = catalogue.search(&query).map_err(ApiError::internal)?;
    let next = query.offset.saturating_add(results.hits.len());
    let body = json!({
        "query": query.text,
        "total": results.total,
        "offset": query.offset,
        "limit": query.limit,
        "next_offset": (next < results.total && next < MAX_WINDOW).then_some(next),
        "hits": hits(&results.hits, reader.is_staff()),
        "facets": {"category": results.categories, "brand": results.brands, "price": results.prices},
    });
    Ok(freshness.apply(json_response(StatusCode::OK, body.to_string())))
}

/// The hits as the caller sees them: whether each is in stock, and the exact count only for
/// those who may read stock (`/v1/stock` is closed to customers, so search does not leak it).
fn hits(hits: &[shared::search::Hit], staff: bool) -> Vec<serde_json::Value> {
    hits.iter()
        .map(|hit| {
            let mut shown = json!(hit);
            if let Some(fields) = shown.as_object_mut() {
                fields.insert("in_stock".into(), json!(hit.available > 0));
                if !staff {
                    fields.remove("available");
                }
            }
            shown
        })
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuggestParams {
    q: Option<String>,
    limit: Option<usize>,
}

async fn suggest(
    State(state): State<SearchState>,
    reader: Reader,
    uri: Uri,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<SuggestParams>,
) -> Result<Response, ApiError> {
    let q = text(params.q.as_deref(), 100)?;
    let limit = params.limit.unwrap_or(8);
    if !(1..=20).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and 20, got {limit}"),
        ));
    }
    let (catalogue, freshness) = catalogue(&state, &reader, &uri).await?;
    if let Some(unchanged) = freshness.not_modified(&headers) {
        return Ok(unchanged);
    }
    let suggestions = catalogue.suggest(&q, limit).map_err(ApiError::internal)?;
    Ok(freshness.apply(json_response(
        StatusCode::OK,
        json!({"query": q, "suggestions": suggestions}).to_string(),
    )))
}

/// Rebuilds the index from the table and publishes it (`make reindex`, tests); this process's
/// readers look for the new version on their next request.
pub async fn rebuild(state: &SearchState) -> Result<Report, ApiError> {
    let report = state.indexer().rebuild().await.map_err(unavailable)?;
    state.own.expire().await;
    Ok(report)
}
