//! Loyalty flows: settling an order's points (what the `loyalty` function does for every
//! order event, and what a redemption's order ends in), spending points at checkout, and the
//! reads behind `/v1/loyalty`, `/v1/achievements` and `/v1/leaderboards`.

use time::OffsetDateTime;

use super::AppState;
use super::commit::contending_for;
use crate::domain::event::achievement_events;
use crate::domain::loyalty::{Entry, OrderPoints, PointsAccount, Settled};
use crate::http::ApiError;
use crate::store::{LoyaltyChange, StoreError, Write};

/// Brings the points of order `order_id` in line with the order as it is now; answers what
/// changed. Repeating it (a duplicate or reordered event) changes nothing more; a lost race
/// with another change of the same account is recomputed on fresh reads.
pub async fn settle_order(state: &AppState, order_id: &str) -> Result<Settled, ApiError> {
    contending_for("points account", || async move {
        let order = match state.orders.order(order_id).await {
            Ok(o) => o,
            // An order that does not exist earns nothing (an event about it is stale).
            Err(StoreError::NotFound) => return Ok(Some(Settled::default())),
            Err(e) => return Err(e.into()),
        };
        let now = OffsetDateTime::now_utc();
        let user = order.customer_id.as_str();
        let (stored, order_points) = futures::future::try_join(
            state.loyalty.account(user),
            state.loyalty.order_points(user, &order.id),
        )
        .await?;
        let previous = stored.as_ref().map(|a| a.version);
        let mut account = stored.unwrap_or_else(|| PointsAccount::new(user, now));
        let previous_state = order_points.as_ref().map(|o| o.version);
        let mut points = order_points.unwrap_or_else(|| OrderPoints::new(&order.id));
        let before = points.clone();
        let settled = points.settle(&mut account, &order, &state.loyalty_rules, now);
        if settled.is_empty() && points == before {
            return Ok(Some(settled));
        }
        account.version += 1;
        points.version += 1;
        let events = achievement_events(user, &settled.badges, account.version, now);
        let writes = state.loyalty.writes(&LoyaltyChange {
            account: (&account, previous),
            order: Some((&points, previous_state)),
            entries: &settled.entries,
            badges: &settled.badges,
            events: &events,
        })?;
        match state.loyalty.commit(writes).await {
            Ok(()) => Ok(Some(settled)),
            Err(StoreError::VersionMismatch) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// Points spent on an order at checkout: the writes that go into the order's own
/// transaction (version-guarded on the points account, so a change of the account meanwhile
/// fails the order's commit and it is tried again).
#[derive(Debug)]
pub struct Redemption {
    /// Points spent.
    pub points: i64,
    /// Their worth, in minor units: the order's discount.
    pub discount_minor: i64,
    /// The account's writes.
    pub writes: Vec<Write>,
}

/// What an order redeeming points is: its id, total and currency.
#[derive(Debug, Clone, Copy)]
pub struct Redeeming<'a> {
    /// The order's id.
    pub order_id: &'a str,
    /// Its lines' total, minor units.
    pub total_minor: i64,
    /// Its currency.
    pub currency: &'a str,
}

/// Spends `points` of `user`'s on `order`, within the cap; 422 on `field` when more are
/// asked for than may be spent, or the points were earned in another currency.
pub async fn redeem(
    state: &AppState,
    user: &str,
    order: Redeeming<'_>,
    points: i64,
    field: &str,
) -> Result<Redemption, ApiError> {
    let Redeeming {
        order_id,
        total_minor,
        currency,
    } = order;
    let now = OffsetDateTime::now_utc();
    let stored = state.loyalty.account(user).await?;
    let previous = stored.as_ref().map(|a| a.version);
    let mut account = stored.unwrap_or_else(|| PointsAccount::new(user, now));
    let rules = &state.loyalty_rules;
    if let Some(earned_in) = account.currency.as_deref()
        && earned_in != currency
    {
        return Err(ApiError::invalid(
            field,
            format!("these points were earned in {earned_in} and pay only for orders in it"),
        ));
    }
    // Razorpay takes no order under 100 minor units: what is left to pay stays at least that.
    let leaves_payable = (total_minor - 100).max(0) / rules.point_value_minor.max(1);
    let most = account
        .redeemable(total_minor, rules, now)
        .min(leaves_payable);
    if points > most {
        return Err(ApiError::invalid(
            field,
            format!(
                "at most {most} points may pay for this order (the balance at hand, and at most {}% of its total)",
                rules.max_redeem_percent
            ),
        ));
    }
    let mut order_points = OrderPoints::new(order_id);
    let entries: Vec<Entry> = account.redeem(&mut order_points, points, now);
    account.version += 1;
    order_points.version = 1;
    let writes = state.loyalty.writes(&LoyaltyChange {
        account: (&account, previous),
        order: Some((&order_points, None)),
        entries: &entries,
        badges: &[],
        events: &[],
    })?;
    Ok(Redemption {
        points,
        discount_minor: points.saturating_mul(rules.point_value_minor),
        writes,
    })
}

/// Takes `user`'s name off the leaderboards (erasure): the points account and its scores are
/// rewritten without it. Nothing to do for an account without one.
pub async fn forget_name(state: &AppState, user: &str) -> Result<(), ApiError> {
    contending_for("points account", || async move {
        let Some(mut account) = state.loyalty.account(user).await? else {
            return Ok(Some(()));
        };
        if account.public_name.is_none() {
            return Ok(Some(()));
        }
        let previous = account.version;
        account.public_name = None;
        account.version += 1;
        let writes = state.loyalty.writes(&LoyaltyChange {
            account: (&account, Some(previous)),
            order: None,
            entries: &[],
            badges: &[],
            events: &[],
        })?;
        match state.loyalty.commit(writes).await {
            Ok(()) => Ok(Some(())),
            Err(StoreError::VersionMismatch) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
    .await
}
