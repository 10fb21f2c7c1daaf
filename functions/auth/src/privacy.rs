//! The account holder's own data: everything stored about them as one JSON document, and
//! erasure (the account becomes a tombstone; what others rely on keeps its integrity without
//! the person).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use shared::auth::Caller;
use shared::domain::Account;
use shared::http::{ApiError, ApiJson, RequestMeta};
use shared::services::audit::audit;
use shared::services::commit::contending_for;
use shared::store::{AuditEntry, OrderListing, StoreError, all_pages};

use crate::guards::{Proof, prove_password};
use crate::{AuthState, account_of, change_account, mail_owner};

/// The most orders, or audit entries, one export or erasure reads.
const CAP: usize = 10_000;

/// `GET /v1/auth/me/export`: the account, its orders, sessions and the audit entries by or
/// about it, as one JSON document (a download).
#[tracing::instrument(name = "Exporting an account's data", skip_all)]
pub(crate) async fn export(
    State(state): State<AuthState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    let (orders, orders_cut) = orders_of(&state, &account.id, CAP).await?;
    let sessions = state.sessions.sessions(&account.id).await?;
    let (mut entries, audit_cut) = state.audit.about(&account.id, CAP).await?;
    // Entries others (an admin) wrote about the account: what was done, not where they were.
    for entry in entries.iter_mut().filter(|e| e.actor != account.id) {
        entry.source_ip = None;
    }
    let document = json!({
        "exported_at": OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "account": account.view(),
        "phone": account.two_factor.phone,
        "orders": orders,
        "sessions": sessions,
        "audit": entries,
        "truncated": orders_cut || audit_cut,
    });
    let mut response = Json(document).into_response();
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "attachment; filename=\"stockroom-export-{}.json\"",
        account.id
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Erasure {
    /// The account's password (accounts made with Google and no password: `id_token`).
    #[serde(default)]
    password: Option<String>,
    /// A fresh Google ID token of the account's Google account, for accounts without a password.
    #[serde(default)]
    id_token: Option<String>,
}

/// `DELETE /v1/auth/me`: erases the caller's personal data. Everything else is done before the
/// account becomes a tombstone (which ends its tokens), so after a failure part-way the access
/// token the owner holds still works to try again, and a retry finishes the job.
#[tracing::instrument(name = "Erasing an account", skip_all)]
pub(crate) async fn erase(
    State(state): State<AuthState>,
    caller: Caller,
    meta: RequestMeta,
    ApiJson(input): ApiJson<Erasure>,
) -> Result<Response, ApiError> {
    let account = account_of(&state, &caller).await?;
    if account.is_active_admin() {
        return Err(ApiError::Conflict(
            "an admin account cannot erase itself: another admin changes its role first".into(),
        ));
    }
    prove_owner(&state, &meta, &account, &input).await?;
    let pseudonym = format!(
        "erased-{}",
        &state
            .own
            .signing_key
            .keyed_hash("erased person", &account.id)[..32]
    );
    state.sessions.forget_all(&account.id).await?;
    clear_order_notes(&state, &account.id).await?;
    // The storefront's: the leaderboard name and the payment link's phone number. (The
    // customer Razorpay keeps is Razorpay's to erase: docs/OPERATIONS.md, "Accounts".)
    shared::services::loyalty::forget_name(&state, &account.id).await?;
    state.payment_customers.forget(&account.id).await?;
    let personal: Vec<&str> = [
        Some(account.email.as_str()),
        account.two_factor.phone.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    pseudonymise_audit(&state, &account.id, &pseudonym, &personal).await?;
    let mut entry = audit(&meta, &pseudonym, "auth.account_erased").target(account.id.clone());
    entry.source_ip = None;
    change_account(
        &state,
        &account.id,
        Some(&entry),
        |a| {
            if a.is_active_admin() {
                Err(ApiError::Conflict(
                    "the account became an admin meanwhile".into(),
                ))
            } else {
                Ok(())
            }
        },
        |a| a.erase(OffsetDateTime::now_utc()),
    )
    .await?;
    // A second pass for what was stored while the account was being erased (a session
    // started, an entry the index had not shown yet): nothing new can come now.
    state.sessions.forget_all(&account.id).await?;
    pseudonymise_audit(&state, &account.id, &pseudonym, &personal).await?;
    tracing::info!(user_id = %account.id, "account erased");
    // Told last, at the address that just went (the message leaves no trace in the table).
    let body = "Your Stockroom account and the personal data in it were erased at your \
                request. Orders you placed are kept for the shop's books, without your name, \
                address or phone.\n\nIf you did not ask for this, contact the shop.";
    mail_owner(&state, &account, "Your Stockroom account was erased", body).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Checks the owner's proof: the password, or for an account without one a fresh Google ID
/// token of its Google account.
async fn prove_owner(
    state: &AuthState,
    meta: &RequestMeta,
    account: &Account,
    input: &Erasure,
) -> Result<(), ApiError> {
    if !account.password_hash.is_empty() {
        let password = input
            .password
            .as_deref()
            .ok_or_else(|| ApiError::invalid("password", "is required to erase the account"))?;
        return prove_password(
            state,
            meta,
            account,
            password,
            Proof::password_for("erasure"),
        )
        .await;
    }
    let refused = || {
        ApiError::invalid(
            "id_token",
            "must be a fresh Google ID token of the account's Google account",
        )
    };
    let token = input.id_token.as_deref().ok_or_else(refused)?;
    let identity = state
        .own
        .google
        .verify(token.trim())
        .await
        .map_err(|_| refused())?;
    if account.google_sub.as_deref() == Some(identity.sub.as_str()) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// Up to `cap` of `customer_id`'s orders, and whether there were more.
async fn orders_of(
    state: &AuthState,
    customer_id: &str,
    cap: usize,
) -> Result<(Vec<shared::domain::order::Order>, bool), StoreError> {
    let customer = OrderListing::Customer(customer_id.to_owned());
    all_pages(cap, |after| {
        let customer = &customer;
        async move { state.orders.list(customer, None, 100, after.as_ref()).await }
    })
    .await
}

/// Removes the customer's free-text notes from their orders (they may hold anything, an
/// address or a phone number); the lines, amounts and payments stay.
async fn clear_order_notes(state: &AuthState, customer_id: &str) -> Result<(), ApiError> {
    let (orders, _) = orders_of(state, customer_id, usize::MAX).await?;
    for order in orders.into_iter().filter(|o| o.notes.is_some()) {
        contending_for("order", || async {
            let current = state.orders.order(&order.id).await?;
            if current.notes.is_none() {
                return Ok(Some(()));
            }
            let mut next = current.clone();
            next.notes = None;
            next.version += 1;
            let writes = state.orders.order_writes(Some(&current), &next)?;
            match state.orders.commit(writes).await {
                Ok(()) => Ok(Some(())),
                Err(StoreError::VersionMismatch) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    }
    Ok(())
}

/// Rewrites every audit entry by or about `person` with [`pseudonymised`].
async fn pseudonymise_audit(
    state: &AuthState,
    person: &str,
    pseudonym: &str,
    personal: &[&str],
) -> Result<(), ApiError> {
    let (entries, _) = state.audit.about(person, usize::MAX).await?;
    for entry in entries {
        state
            .audit
            .rewrite(&pseudonymised(entry, person, pseudonym, personal))
            .await?;
    }
    Ok(())
}

/// `entry` with `person` replaced by `pseudonym` wherever it named them, without the client
/// address, and without any detail holding one of the `personal` values.
fn pseudonymised(
    mut entry: AuditEntry,
    person: &str,
    pseudonym: &str,
    personal: &[&str],
) -> AuditEntry {
    if entry.actor == person {
        entry.actor = pseudonym.to_owned();
    }
    if entry.target.as_deref() == Some(person) {
        entry.target = Some(pseudonym.to_owned());
    }
    entry.source_ip = None;
    entry.details.retain(|key, value| {
        key.as_str() != "email" && !personal.iter().any(|p| value.contains(p))
    });
    entry
}
