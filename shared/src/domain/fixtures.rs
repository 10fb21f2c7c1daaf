//! Test fixtures shared by the domain's unit tests.

use time::OffsetDateTime;

use super::Currency;
use super::order::{Order, OrderStatus, StockState};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// An order of 49,900 paise awaiting payment, with no lines.
pub(crate) fn order() -> Order {
    Order {
        id: "o1".into(),
        customer_id: "c1".into(),
        lines: vec![],
        currency: Currency::parse("INR").unwrap(),
        amount: 49_900,
        status: OrderStatus::PendingPayment,
        stock: StockState::Held,
        reservation_id: "r1".into(),
        razorpay_order_id: "order_1".into(),
        payment_id: None,
        amount_paid: 0,
        refunds: vec![],
        review: None,
        notes: None,
        expires_at: Some(now() + time::Duration::minutes(15)),
        version: 1,
        created_at: now(),
        updated_at: now(),
        paid_at: None,
        payment_event_at: None,
        payment_customer_id: None,
        points_redeemed: 0,
        discount: 0,
    }
}

/// [`order`], paid in full and shipped.
pub(crate) fn paid() -> Order {
    let mut o = order();
    o.status = OrderStatus::Paid;
    o.stock = StockState::Shipped;
    o.payment_id = Some("pay_1".into());
    o.amount_paid = 49_900;
    o
}
