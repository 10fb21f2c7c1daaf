//! The auth middleware: a [`Caller`] extractor that verifies the bearer token, and
//! [`Authorized`], which also checks the permission matrix before anything else of the
//! request (body, preconditions) is looked at, so a caller without the permission learns
//! nothing but 403.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use http::{header, request::Parts};

use super::ApiError;
use crate::auth::{Caller, Guard, Permission, TokenError, TokenVerifier};

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<TokenVerifier>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
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
}

/// 403 unless the caller's role holds `permission`.
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
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        require(&caller, G::PERMISSION)?;
        Ok(Self(caller, PhantomData))
    }
}

/// Who reads a public route: nobody (no `Authorization` header) or a verified caller. A header
/// that is present but not a valid token is still a 401, never a silent anonymous read.
#[derive(Debug, Clone)]
pub struct Viewer(pub Option<Caller>);

impl Viewer {
    /// Whether the viewer holds `permission` (an anonymous viewer holds none).
    pub fn can(&self, permission: Permission) -> bool {
        self.0.as_ref().is_some_and(|c| c.can(permission))
    }
}

impl<S> FromRequestParts<S> for Viewer
where
    S: Send + Sync,
    Arc<TokenVerifier>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(Self(None));
        }
        Caller::from_request_parts(parts, state)
            .await
            .map(|c| Self(Some(c)))
    }
}
