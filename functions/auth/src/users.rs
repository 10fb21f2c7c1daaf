//! Administration: accounts (list, change role, disable) and the audit log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, put};
use axum::{Json, Router};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::AuthState;
use crate::guards::signal;
use shared::auth::can::{ManageUsers, ReadAudit};
use shared::auth::{Permission, Role};
use shared::domain::present;
use shared::http::OrMissing;
use shared::http::{
    ApiError, ApiJson, ApiPath, ApiQuery, Authorized, IfMatch, Page, PageParams, RequestMeta, etag,
};
use shared::services::audit::audit;
use shared::store::AuditFilter;

pub(crate) fn router() -> Router<AuthState> {
    Router::new()
        .route("/v1/users", get(list_users))
        .route("/v1/users/{id}", patch(update_user))
        .route("/v1/users/{id}/sessions", delete(end_sessions))
        .route("/v1/users/{id}/2fa", delete(reset_two_factor))
        .route(
            "/v1/users/{id}/grants/{permission}",
            put(grant).delete(revoke_grant),
        )
        .route("/v1/audit", get(list_audit))
}

async fn list_users(
    State(state): State<AuthState>,
    _: Authorized<ManageUsers>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, ApiError> {
    let (accounts, next) = state
        .accounts
        .list(page.limit()?, page.cursor()?.as_ref())
        .await?;
    Ok(Page::response(
        accounts.iter().map(|a| a.view()).collect(),
        next,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChange {
    #[serde(default, deserialize_with = "present")]
    role: Option<Role>,
    #[serde(default, deserialize_with = "present")]
    disabled: Option<bool>,
}

#[tracing::instrument(name = "Changing an account", skip_all, fields(target = %id))]
async fn update_user(
    State(state): State<AuthState>,
    admin: Authorized<ManageUsers>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
    if_match: IfMatch,
    ApiJson(change): ApiJson<UserChange>,
) -> Result<Response, ApiError> {
    let current = state.accounts.get(&id).await.or_404("account", &id)?;
    if_match.optional().check("account", current.version)?;
    let role = change.role.unwrap_or(current.role);
    let disabled = change.disabled.unwrap_or(current.disabled);
    if role == current.role && disabled == current.disabled {
        return respond(&current);
    }
    let next = current.changed(OffsetDateTime::now_utc(), |a| {
        a.role = role;
        a.disabled = disabled;
        // Tokens issued with the old role, or before the account was disabled, stop working.
        if role != current.role || (disabled && !current.disabled) {
            a.token_generation += 1;
        }
        // Grants were given to the person in the old role; a new role starts without them.
        if role != current.role {
            a.grants.clear();
        }
    });
    let action = match (role != current.role, disabled != current.disabled) {
        (true, false) => "user.role_changed",
        (false, true) if disabled => "user.disabled",
        (false, true) => "user.enabled",
        _ => "user.changed",
    };
    let entry = audit(&meta, &admin.0.user_id, action)
        .target(current.id.clone())
        .detail("role_before", current.role.as_str())
        .detail("role_after", role.as_str())
        .detail("disabled", disabled.to_string());
    state
        .accounts
        .replace(&current, &next, Some(&entry))
        .await?;
    if disabled && !current.disabled {
        // Refresh also checks the flag, so a failure here cannot let the account back in.
        state.sessions.revoke_all(&current.id).await?;
    }
    if role != current.role {
        signal(&state, "PrivilegeChanges");
    }
    respond(&next)
}

fn respond(account: &shared::domain::Account) -> Result<Response, ApiError> {
    let mut response = Json(account.view()).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(account.version));
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

async fn list_audit(
    State(state): State<AuthState>,
    _: Authorized<ReadAudit>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Response, ApiError> {
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    let filter = AuditFilter {
        actor: query.actor.filter(|a| !a.is_empty()),
        action: query.action.filter(|a| !a.is_empty()),
        from: shared::http::time_param("from", query.from.as_deref())?,
        to: shared::http::time_param("to", query.to.as_deref())?,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ApiError::invalid("from", "must not be after 'to'"));
    }
    let (entries, next) = state
        .audit
        .list(&filter, page.limit()?, page.cursor()?.as_ref())
        .await?;
    Ok(Page::response(entries, next))
}

/// `DELETE /v1/users/{id}/sessions`: an admin signs a user out everywhere (a lost device, a
/// leaked token): every refresh token stops at once and every access token at its next use.
async fn end_sessions(
    State(state): State<AuthState>,
    admin: Authorized<ManageUsers>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let user = state
        .accounts
        .get(&id)
        .await
        .or_missing(|| ApiError::NotFound(format!("no user with id '{id}'")))?;
    crate::sessions::end_every_session(&state, &user.id).await?;
    let entry = audit(&meta, &admin.0.user_id, "user.sessions_ended").target(user.id.clone());
    state.audit.append(&entry).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /v1/users/{id}/2fa`: an admin turns a user's two-factor off (an authenticator lost
/// with no recovery code left). Every session ends too, so the account is signed in again with
/// the password alone and two-factor set up afresh; the user is told by e-mail.
async fn reset_two_factor(
    State(state): State<AuthState>,
    admin: Authorized<ManageUsers>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let entry = audit(&meta, &admin.0.user_id, "user.2fa_reset").target(id.clone());
    let enabled = |a: &shared::domain::Account| {
        if a.two_factor.enabled() {
            Ok(())
        } else {
            Err(ApiError::Conflict(
                "two-factor is not enabled for this user".into(),
            ))
        }
    };
    let user = crate::sessions::signed_out(&state, &id, Some(&entry), enabled, |a| {
        a.two_factor = Default::default();
    })
    .await?;
    signal(&state, "PrivilegeChanges");
    state.sessions.revoke_all(&user.id).await?;
    let body = format!(
        "An administrator turned off two-factor sign-in for your Stockroom account {}, and \
         every session was signed out.\n\nSign in at {} with your password and set \
         two-factor up again. If you did not ask for this, tell your administrator at once.",
        user.email.as_str(),
        state.own.mailer.app_url()
    );
    crate::mail_owner(&state, &user, "Two-factor sign-in was turned off", &body).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /v1/users/{id}/grants/{permission}`: an admin lets one account do one thing beyond its
/// role (a staff member who may refund). Checked by the same guard as roles, from the next
/// request on.
async fn grant(
    State(state): State<AuthState>,
    admin: Authorized<ManageUsers>,
    meta: RequestMeta,
    ApiPath((id, permission)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    change_grants(&state, &admin.0.user_id, &meta, &id, &permission, true).await
}

/// `DELETE /v1/users/{id}/grants/{permission}`: takes a grant back. Every write the account
/// makes from then on is refused it; a read may still use it for the few seconds an instance
/// trusts its copy of the account (the revocation point).
async fn revoke_grant(
    State(state): State<AuthState>,
    admin: Authorized<ManageUsers>,
    meta: RequestMeta,
    ApiPath((id, permission)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    change_grants(&state, &admin.0.user_id, &meta, &id, &permission, false).await
}

/// Adds (`granted`) or removes `permission` among `id`'s grants; idempotent, audited when
/// something changed.
async fn change_grants(
    state: &AuthState,
    admin: &str,
    meta: &RequestMeta,
    id: &str,
    permission: &str,
    granted: bool,
) -> Result<Response, ApiError> {
    let permission = Permission::parse(permission).map_err(ApiError::NotFound)?;
    // Managing users includes changing one's own role: granting it would make an admin.
    if granted && permission == Permission::ManageUsers {
        return Err(ApiError::Conflict(
            "manage_users cannot be granted: make the account an admin instead".into(),
        ));
    }
    let holds = |a: &shared::domain::Account| a.grants.contains(&permission);
    let current = state
        .accounts
        .get(id)
        .await
        .or_missing(|| ApiError::NotFound(format!("no user with id '{id}'")))?;
    if holds(&current) == granted {
        return respond(&current);
    }
    let action = if granted {
        "user.grant_added"
    } else {
        "user.grant_revoked"
    };
    let entry = audit(meta, admin, action)
        .target(id.to_owned())
        .detail("permission", permission.as_str());
    let next = crate::change_account(
        state,
        id,
        Some(&entry),
        |_| Ok(()),
        |a| {
            a.grants.retain(|p| *p != permission);
            if granted {
                a.grants.push(permission);
            }
        },
    )
    .await?;
    signal(state, "PrivilegeChanges");
    respond(&next)
}
