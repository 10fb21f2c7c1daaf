//! The loyalty reads (`/v1/loyalty`, `/v1/achievements`, `/v1/leaderboards/{period}`) and the
//! leaderboard opt-in. Points move in the loyalty function (from the orders' events) and at
//! checkout (redemption); here they are shown.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use shared::auth::Caller;
use shared::auth::can::PlaceOrders;
use shared::domain::loyalty::{BADGES, PointsAccount};
use shared::http::{ApiError, ApiJson, ApiPath, ApiQuery, Authorized, Reader, json_response};
use shared::services::AppState;
use shared::services::commit::contending_for;
use shared::store::{LoyaltyChange, RANK_COUNTED_TO, StoreError};

use crate::OrdersState;

fn rfc3339(at: OffsetDateTime) -> Value {
    json!(at.format(&Rfc3339).ok())
}

/// The caller's points account with what is due to expire recorded (best effort: a change
/// made meanwhile keeps it for the next read), or a new one.
async fn account(state: &AppState, caller: &Caller) -> Result<PointsAccount, ApiError> {
    let now = OffsetDateTime::now_utc();
    let Some(mut account) = state.loyalty.account(&caller.user_id).await? else {
        return Ok(PointsAccount::new(&caller.user_id, now));
    };
    let previous = account.version;
    if let Some(expired) = account.expire(now) {
        account.version += 1;
        let writes = state.loyalty.writes(&LoyaltyChange {
            account: (&account, Some(previous)),
            order: None,
            entries: std::slice::from_ref(&expired),
            badges: &[],
            events: &[],
        })?;
        match state.loyalty.commit(writes).await {
            Ok(()) => {}
            Err(StoreError::VersionMismatch) => {
                return Ok(state
                    .loyalty
                    .account(&caller.user_id)
                    .await?
                    .unwrap_or(account));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(account)
}

/// `GET /v1/loyalty`: the balance, what the points are worth, and the newest entries.
pub(crate) async fn show(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    let account = account(&state, &caller).await?;
    let entries = state.loyalty.entries(&caller.user_id, 20).await?;
    let rules = &state.loyalty_rules;
    let next_expiry = account.lots.first().map(
        |l| json!({"at": OffsetDateTime::from_unix_timestamp(l.expires_at).ok().map(rfc3339)}),
    );
    let body = json!({
        "balance": account.balance,
        "worth_minor": account.balance.max(0).saturating_mul(rules.point_value_minor),
        "score": account.score,
        "show_on_leaderboards": account.public_name.is_some(),
        "next_expiry": next_expiry,
        "rules": {
            "points_per_100": rules.points_per_100,
            "point_value_minor": rules.point_value_minor,
            "expiry_days": rules.expiry.whole_days(),
            "max_redeem_percent": rules.max_redeem_percent,
        },
        "entries": entries.iter().map(|e| json!({
            "id": e.id, "kind": e.kind, "points": e.points, "order_id": e.order_id,
            "at": rfc3339(e.at), "balance_after": e.balance_after,
        })).collect::<Vec<_>>(),
    });
    Ok(json_response(StatusCode::OK, body.to_string()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Preferences {
    show_on_leaderboards: bool,
}

/// `PATCH /v1/loyalty`: whether the account's display name is shown on leaderboards (it is
/// not unless the account says so).
pub(crate) async fn preferences(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
    ApiJson(input): ApiJson<Preferences>,
) -> Result<Response, ApiError> {
    let caller = who.0;
    let name = if input.show_on_leaderboards {
        match state.accounts.get(&caller.user_id).await {
            Ok(a) => Some(a.display_name),
            Err(StoreError::NotFound) => {
                return Err(ApiError::Conflict(
                    "this token names no account with a display name".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let (state_ref, caller_ref, name_ref) = (&state, &caller, &name);
    contending_for("points account", || async move {
        let now = OffsetDateTime::now_utc();
        let stored = state_ref.loyalty.account(&caller_ref.user_id).await?;
        let previous = stored.as_ref().map(|a| a.version);
        let mut account = stored.unwrap_or_else(|| PointsAccount::new(&caller_ref.user_id, now));
        account.public_name = name_ref.clone();
        account.version += 1;
        let writes = state_ref.loyalty.writes(&LoyaltyChange {
            account: (&account, previous),
            order: None,
            entries: &[],
            badges: &[],
            events: &[],
        })?;
        match state_ref.loyalty.commit(writes).await {
            Ok(()) => Ok(Some(())),
            Err(StoreError::VersionMismatch) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    Ok(json_response(
        StatusCode::OK,
        json!({"show_on_leaderboards": name.is_some()}).to_string(),
    ))
}

/// `GET /v1/achievements`: every badge there is, and which the caller earned when.
pub(crate) async fn achievements(
    State(state): State<OrdersState>,
    who: Authorized<PlaceOrders>,
) -> Result<Response, ApiError> {
    let earned = state.loyalty.badges(&who.0.user_id).await?;
    let items: Vec<Value> = BADGES
        .iter()
        .map(|(code, name, description)| {
            let at = earned.iter().find(|(c, _)| c == code).map(|(_, at)| *at);
            json!({"code": code, "name": name, "description": description,
                   "earned": at.is_some(), "awarded_at": at.map(rfc3339)})
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({"items": items}).to_string(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BoardQuery {
    limit: Option<usize>,
}

/// `GET /v1/leaderboards/{period}` (`month`: this calendar month, UTC; `all-time`): the top
/// by points earned (net of refunds), names only for those who opted in, and the caller's
/// own place when signed in.
pub(crate) async fn leaderboard(
    State(state): State<OrdersState>,
    reader: Reader,
    ApiPath(period): ApiPath<String>,
    ApiQuery(query): ApiQuery<BoardQuery>,
) -> Result<Response, ApiError> {
    let now = OffsetDateTime::now_utc();
    let month = format!("{:04}-{:02}", now.year(), u8::from(now.month()));
    let board = match period.as_str() {
        "month" => format!("month#{month}"),
        "all-time" => "all-time".to_owned(),
        other => {
            return Err(ApiError::NotFound(format!(
                "no leaderboard '{other}': there are month and all-time"
            )));
        }
    };
    let limit = query.limit.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and 100, got {limit}"),
        ));
    }
    let top = state.loyalty.top(&board, limit).await?;
    let me = reader.0.as_ref().map(|c| c.user_id.clone());
    let placings: Vec<Value> = top
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({"rank": i + 1, "score": p.score, "name": p.name,
                   "you": me.as_deref() == Some(p.user_id.as_str())})
        })
        .collect();
    let mine = match &me {
        None => Value::Null,
        Some(user) => {
            let account = state.loyalty.account(user).await?;
            let score = account.map_or(0, |a| match period.as_str() {
                "month" if a.month == month => a.month_score,
                "month" => 0,
                _ => a.score,
            });
            let rank = state.loyalty.rank(&board, score, user).await?;
            json!({"score": score, "rank": rank, "ranked_to": RANK_COUNTED_TO})
        }
    };
    Ok(json_response(
        StatusCode::OK,
        json!({"period": period, "board": board, "top": placings, "me": mine}).to_string(),
    ))
}
