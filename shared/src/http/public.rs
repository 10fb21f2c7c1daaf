//! Reads anyone may make: the catalogue and its search. [`Reader`] is the caller of such a
//! route: signed in (the token is verified like any other; a bad one is still a 401, never
//! quietly read as anonymous) or anonymous, in which case the client address is counted
//! against [`ReadThrottle`]'s per-minute allowance. [`Freshness`] gives the answers the
//! validators and lifetimes a CDN or an app's HTTP cache uses: `ETag`, `If-None-Match` → 304,
//! `Cache-Control` and `Vary`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{ApiError, RequestMeta, Standings};
use crate::auth::{Caller, Permission, TokenVerifier};
use crate::store::RequestCounter;

/// Client addresses whose minute is used up, kept before the copy is dropped wholesale.
const BLOCKED_ENTRIES: usize = 10_000;

/// The per-client-address allowance of anonymous reads, counted in the table so every
/// instance adds to one count. An instance that saw an address go over remembers it until the
/// minute ends and refuses it without writing again, so a flood costs no more table writes
/// than the allowance.
#[derive(Debug, Clone)]
pub struct ReadThrottle {
    counter: RequestCounter,
    per_minute: u64,
    salt: Arc<str>,
    blocked: Arc<Mutex<HashMap<String, i64>>>,
}

impl ReadThrottle {
    /// `per_minute` anonymous reads per client address, counted by `counter`. Addresses are
    /// stored as a hash salted with `salt` (the table's name), never as they are.
    pub fn new(counter: RequestCounter, per_minute: u32, salt: &str) -> Self {
        Self {
            counter,
            per_minute: u64::from(per_minute),
            salt: salt.into(),
            blocked: Arc::default(),
        }
    }

    /// Counts one anonymous read from `address`; 429 with the seconds left in the minute once
    /// the allowance is spent. A counter that cannot be written lets the read through (it is
    /// logged): the catalogue staying up matters more than an exact count.
    pub async fn admit(&self, address: &str) -> Result<(), ApiError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let minute = now - now.rem_euclid(60);
        let refused = || {
            ApiError::TooManyRequests(Duration::from_secs(
                (minute + 60 - now).clamp(1, 60).unsigned_abs(),
            ))
        };
        let client = self.client_key(address);
        if let Ok(blocked) = self.blocked.lock()
            && blocked.get(&client).is_some_and(|until| *until > now)
        {
            return Err(refused());
        }
        match self.counter.count(&client, minute).await {
            Ok(count) if count > self.per_minute => {
                if let Ok(mut blocked) = self.blocked.lock() {
                    if blocked.len() >= BLOCKED_ENTRIES {
                        blocked.retain(|_, until| *until > now);
                        if blocked.len() >= BLOCKED_ENTRIES {
                            blocked.clear();
                        }
                    }
                    blocked.insert(client, minute + 60);
                }
                Err(refused())
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "could not count an anonymous read; let through");
                Ok(())
            }
        }
    }

    fn client_key(&self, address: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(self.salt.as_bytes());
        hash.update([0]);
        hash.update(address.as_bytes());
        URL_SAFE_NO_PAD.encode(&hash.finalize()[..16])
    }
}

/// Who reads a public route.
#[derive(Debug)]
pub struct Reader(pub Option<Caller>);

impl Reader {
    /// Whether the reader may see what staff see (the purchasing fields, exact stock).
    pub fn is_staff(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|c| c.can(Permission::ReadStock))
    }
}

impl<S> FromRequestParts<S> for Reader
where
    S: Send + Sync,
    Arc<TokenVerifier>: FromRef<S>,
    Standings: FromRef<S>,
    ReadThrottle: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(caller) =
            <Caller as OptionalFromRequestParts<S>>::from_request_parts(parts, state).await?
        {
            return Ok(Self(Some(caller)));
        }
        let Ok(meta) = RequestMeta::from_request_parts(parts, state).await;
        // API Gateway always names the client; without it (a local call) all share one count.
        let address = meta.source_ip.as_deref().unwrap_or("unknown");
        ReadThrottle::from_ref(state).admit(address).await?;
        Ok(Self(None))
    }
}

/// How long a public answer may be reused: `max-age`, then served stale for up to
/// `stale-while-revalidate` while a cache fetches it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// `max-age`.
    pub max_age: Duration,
    /// `stale-while-revalidate`.
    pub stale_while_revalidate: Duration,
    /// How long links in the answers stay valid.
    pub links_valid: Duration,
}

impl Lifetimes {
    /// 60 s fresh, then 5 minutes stale-while-revalidate; shorter when the answers carry links
    /// that expire sooner (image download URLs valid for `links_valid`), so no cache hands out
    /// a dead link.
    pub fn within(links_valid: Duration) -> Self {
        let budget = links_valid / 2;
        let max_age = Duration::from_secs(60).min(budget / 6);
        Self {
            max_age,
            stale_while_revalidate: Duration::from_secs(300).min(budget.saturating_sub(max_age)),
            links_valid,
        }
    }

    /// Which half-life of the links `now` falls in: part of the tag of answers carrying
    /// links, so a cache revalidating an answer whose links are about to die gets a new one
    /// instead of a 304 that keeps the old links.
    pub fn link_epoch(&self, now: time::OffsetDateTime) -> String {
        let half = (self.links_valid.as_secs() / 2).max(1);
        (now.unix_timestamp().unsigned_abs() / half).to_string()
    }
}

/// The validators and lifetimes of one answer to a read, for the audience it was made for.
#[derive(Debug, Clone)]
pub struct Freshness {
    etag: String,
    cache_control: String,
}

impl Freshness {
    /// A public answer, the same for every reader who is not staff, identified by
    /// `fingerprint`. Its tag is weak: answers holding the same data may differ in bytes
    /// (download links are signed afresh).
    pub fn public(fingerprint: &str, lifetimes: Lifetimes) -> Self {
        Self {
            etag: format!("W/\"{fingerprint}\""),
            cache_control: format!(
                "public, max-age={}, stale-while-revalidate={}",
                lifetimes.max_age.as_secs(),
                lifetimes.stale_while_revalidate.as_secs()
            ),
        }
    }

    /// A staff answer: kept by the reader's own cache only, and checked every time.
    pub fn private(etag: &str) -> Self {
        Self {
            etag: etag.to_owned(),
            cache_control: "private, no-cache".into(),
        }
    }

    /// The answer for `reader` of data identified by `fingerprint`: public unless staff
    /// read it (their tag is `staff_tag`).
    pub fn for_reader(
        reader: &Reader,
        fingerprint: &str,
        staff_tag: impl FnOnce() -> String,
        lifetimes: Lifetimes,
    ) -> Self {
        if reader.is_staff() {
            Self::private(&staff_tag())
        } else {
            Self::public(fingerprint, lifetimes)
        }
    }

    /// 304 Not Modified when the request's `If-None-Match` names this answer's tag (weak
    /// comparison, as RFC 9110 requires for `If-None-Match`; `*` matches too).
    pub fn not_modified(&self, request: &HeaderMap) -> Option<Response> {
        let listed = request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .any(|tag| tag == "*" || opaque(tag) == opaque(&self.etag));
        listed.then(|| self.apply(StatusCode::NOT_MODIFIED.into_response()))
    }

    /// `response` with this answer's `ETag`, `Cache-Control` and `Vary: Authorization`.
    pub fn apply(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.etag) {
            headers.insert(header::ETAG, v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.cache_control) {
            headers.insert(header::CACHE_CONTROL, v);
        }
        headers.insert(header::VARY, HeaderValue::from_static("Authorization"));
        response
    }
}

/// An entity tag without its weakness marker.
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// A short fingerprint of `parts`, for tags of answers composed from several things.
pub fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    URL_SAFE_NO_PAD.encode(&hash.finalize()[..12])
}

#[cfg(test)]
#[path = "public_test.rs"]
mod tests;
