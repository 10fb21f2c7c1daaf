//! Unit tests of `refund`.

use super::*;
use crate::domain::fixtures::{order, paid};
use crate::domain::order::{OrderLine, RefundRecord};
use crate::domain::payment::RefundState;

fn request(amount: Option<i64>, restock: &[(&str, i64)]) -> RefundRequest {
    RefundRequest {
        amount,
        reason: None,
        restock: restock
            .iter()
            .map(|(p, q)| RestockLine {
                product_id: (*p).into(),
                quantity: *q,
            })
            .collect(),
    }
}

/// A paid order with one line of 3 units of `p1`.
fn paid_with_a_line() -> Order {
    let mut o = paid();
    o.lines.push(OrderLine {
        product_id: "p1".into(),
        sku: "SKU-1".into(),
        name: "Tee".into(),
        warehouse_id: "w1".into(),
        quantity: 3,
        unit_price: 16_633,
        line_total: 49_899,
    });
    o
}

fn fields(refused: RefundRefused) -> Vec<String> {
    match refused {
        RefundRefused::Invalid(errors) => errors.into_vec().into_iter().map(|e| e.field).collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[test]
fn an_unpaid_order_is_not_refunded() {
    assert_eq!(
        request(None, &[]).check(&order()),
        Err(RefundRefused::NotPaid(OrderStatus::PendingPayment))
    );
}

#[test]
fn the_whole_refundable_amount_is_the_default_and_more_is_refused() {
    assert_eq!(request(None, &[]).check(&paid()), Ok(49_900));
    assert_eq!(
        fields(request(Some(49_901), &[]).check(&paid()).unwrap_err()),
        ["amount"]
    );
    assert_eq!(
        fields(request(Some(0), &[]).check(&paid()).unwrap_err()),
        ["amount"]
    );
}

#[test]
fn an_order_refunded_in_full_refuses_another_refund() {
    let mut o = paid();
    o.refunds.push(RefundRecord {
        id: "rfnd_1".into(),
        amount: 49_900,
        state: RefundState::Processed,
        requested_by: None,
        restocked: Vec::new(),
        created_at: o.created_at,
    });
    assert_eq!(
        request(None, &[]).check(&o),
        Err(RefundRefused::RefundedInFull)
    );
}

#[test]
fn restock_lines_are_bounded_by_what_the_order_shipped() {
    let o = paid_with_a_line();
    assert_eq!(request(Some(100), &[("p1", 3)]).check(&o), Ok(100));
    assert_eq!(
        fields(request(Some(100), &[("p1", 4)]).check(&o).unwrap_err()),
        ["restock[0].quantity"]
    );
    assert_eq!(
        fields(request(Some(100), &[("p2", 1)]).check(&o).unwrap_err()),
        ["restock[0].product_id"]
    );
    assert_eq!(
        fields(
            request(Some(100), &[("p1", 1), ("p1", 1)])
                .check(&o)
                .unwrap_err()
        ),
        ["restock[1].product_id"]
    );
}

#[test]
fn a_restock_recorded_after_a_racing_one_keeps_only_the_units_left() {
    let mut o = paid_with_a_line();
    o.stock = StockState::Shipped;
    let racing = request(Some(100), &[("p1", 2)]);
    assert_eq!(restock_left(&o, &racing.restock), racing.restock);
    // Another refund put 2 of the 3 units back meanwhile.
    o.refunds.push(RefundRecord {
        id: "rfnd_1".into(),
        amount: 100,
        state: RefundState::Pending,
        requested_by: Some("manager".into()),
        restocked: racing.restock.clone(),
        created_at: o.created_at,
    });
    assert_eq!(
        restock_left(&o, &racing.restock),
        request(None, &[("p1", 1)]).restock
    );
    o.refunds[0].restocked[0].quantity = 3;
    assert!(restock_left(&o, &racing.restock).is_empty());
    assert!(restock_left(&o, &request(None, &[("p9", 1)]).restock).is_empty());
}

#[test]
fn a_restock_of_stock_that_never_shipped_or_named_twice_is_kept_sound() {
    let mut o = paid_with_a_line();
    o.stock = StockState::Released;
    assert!(restock_left(&o, &request(None, &[("p1", 1)]).restock).is_empty());
    o.stock = StockState::Shipped;
    assert_eq!(
        restock_left(&o, &request(None, &[("p1", 1), ("p1", 5)]).restock),
        request(None, &[("p1", 3)]).restock,
        "one line per product, at most what shipped"
    );
}
