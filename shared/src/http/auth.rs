//! The auth middleware: a [`Caller`] extractor that verifies the bearer token, and
//! [`Authorized`], which also checks the permission matrix before anything else of the
//! request (body, preconditions) is looked at, so a caller without the permission learns
//! nothing but 403.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use http::{Method, header, request::Parts};

use super::ApiError;
use crate::auth::{Caller, Guard, Permission, TokenError, TokenVerifier};
use crate::store::{AccountStore, StoreError};

/// How long a read may trust a copy of an account's token generation.
const READ_CACHE: Duration = Duration::from_secs(10);

/// Entries kept before the copy is dropped wholesale (it refills from the table).
const CACHE_ENTRIES: usize = 10_000;

/// What the account behind a token allows now, beyond what the token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The account's current token generation ([`crate::domain::Account::token_generation`]):
    /// a token issued in an earlier one was revoked.
    pub generation: u64,
    /// Permissions granted beyond the role.
    pub grants: Vec<Permission>,
    /// Whether the address is verified.
    pub email_verified: bool,
}

impl Standing {
    /// The standing of a token that names no account (operators mint those for tooling).
    fn no_account() -> Self {
        Self {
            generation: 0,
            grants: Vec::new(),
            email_verified: true,
        }
    }
}

/// Each account's [`Standing`]: the revocation point. Read from the table for every write;
/// reads may use a per-instance copy up to [`READ_CACHE`] old.
#[derive(Debug, Clone)]
pub struct Standings {
    accounts: AccountStore,
    copy: Arc<Mutex<HashMap<String, (Standing, Instant)>>>,
}

impl Standings {
    /// Generations read from `accounts`.
    pub fn new(accounts: AccountStore) -> Self {
        Self {
            accounts,
            copy: Arc::default(),
        }
    }

    /// The standing of `user_id`'s account; [`Standing::no_account`] when there is no such
    /// account.
    pub async fn current(&self, user_id: &str, fresh: bool) -> Result<Standing, ApiError> {
        if !fresh
            && let Ok(copy) = self.copy.lock()
            && let Some((standing, read)) = copy.get(user_id)
            && read.elapsed() < READ_CACHE
        {
            return Ok(standing.clone());
        }
        let standing = match self.accounts.get(user_id).await {
            Ok(account) => Standing {
                generation: account.token_generation,
                grants: account.grants,
                email_verified: account.email_verified,
            },
            Err(StoreError::NotFound) => Standing::no_account(),
            Err(e) => return Err(e.into()),
        };
        if let Ok(mut copy) = self.copy.lock() {
            if copy.len() >= CACHE_ENTRIES {
                copy.clear();
            }
            copy.insert(user_id.to_owned(), (standing.clone(), Instant::now()));
        }
        Ok(standing)
    }
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<TokenVerifier>: FromRef<S>,
    Standings: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let mut caller = verified(parts, state)?;
        // A write always reads the account's standing; a read may use a copy a few seconds
        // old (so a revoked token or grant may still read briefly, never change anything).
        let fresh = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let standing = Standings::from_ref(state)
            .current(&caller.user_id, fresh)
            .await?;
        if caller.generation < standing.generation {
            return Err(ApiError::Unauthenticated(TokenError::Revoked));
        }
        caller.grants = standing.grants;
        caller.email_verified = standing.email_verified;
        Ok(caller)
    }
}

/// `Option<Caller>`: `None` when the request has no `Authorization` header; a header that is
/// there must hold a good token (a bad one is a 401, not an anonymous request).
impl<S> OptionalFromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<TokenVerifier>: FromRef<S>,
    Standings: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(None);
        }
        <Caller as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

/// The caller a request's bearer token names, verified but not yet checked for revocation.
fn verified<S>(parts: &Parts, state: &S) -> Result<Caller, ApiError>
where
    Arc<TokenVerifier>: FromRef<S>,
{
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated(TokenError::Missing))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthenticated(TokenError::Invalid))?;
    let caller = Arc::<TokenVerifier>::from_ref(state)
        .verify(token)
        .map_err(ApiError::Unauthenticated)?;
    tracing::Span::current().record("user_id", caller.user_id.as_str());
    Ok(caller)
}

/// 403 unless the caller's account has verified its e-mail address.
pub fn require_verified_email(caller: &Caller) -> Result<(), ApiError> {
    if caller.email_verified {
        Ok(())
    } else {
        Err(ApiError::EmailNotVerified)
    }
}

/// 403 unless the caller's role, or a grant, holds `permission`.
pub fn require(caller: &Caller, permission: Permission) -> Result<(), ApiError> {
    if caller.can(permission) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "the '{}' role may not do this",
            caller.role.as_str()
        )))
    }
}

/// A caller whose role holds `G`'s permission; extracting it answers 401 or 403 otherwise.
#[derive(Debug)]
pub struct Authorized<G>(pub Caller, PhantomData<G>);

impl<S, G> FromRequestParts<S> for Authorized<G>
where
    S: Send + Sync,
    G: Guard,
    Arc<TokenVerifier>: FromRef<S>,
    Standings: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = <Caller as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        require(&caller, G::PERMISSION)?;
        Ok(Self(caller, PhantomData))
    }
}
