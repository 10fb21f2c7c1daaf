//! Unit tests of `planning`.

use proptest::prelude::*;
use time::OffsetDateTime;

use super::*;
use crate::domain::stock::MovementRequest;

const P1: &str = "0190a0b0-0000-7000-8000-0000000000a1";
const W1: &str = "0190a0b0-0000-7000-8000-0000000000b1";
const W2: &str = "0190a0b0-0000-7000-8000-0000000000b2";

fn now() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
}

fn level(warehouse: &str, on_hand: i64, reserved: i64) -> StockLevel {
    StockLevel {
        on_hand,
        reserved,
        ..StockLevel::empty(P1, warehouse, now())
    }
}

fn transfer(quantity: i64) -> CheckedMovement {
    MovementRequest::Transfer {
        product_id: P1.into(),
        from_warehouse_id: W1.into(),
        to_warehouse_id: W2.into(),
        quantity,
        reason: None,
        reference: None,
    }
    .parse()
    .unwrap()
}

#[test]
fn a_transfer_names_both_warehouses_by_their_fields() {
    let request = transfer(1);
    let target = request.target();
    assert_eq!(target.product.as_str(), P1);
    let named: Vec<_> = target
        .warehouses
        .iter()
        .map(|(field, id)| (*field, id.as_str()))
        .collect();
    assert_eq!(named, [("from_warehouse_id", W1), ("to_warehouse_id", W2)]);
    assert_eq!(request.action(), "stock.transfer");
}

#[test]
fn a_count_below_the_reserved_units_is_refused() {
    let request = MovementRequest::Count {
        product_id: P1.into(),
        warehouse_id: W1.into(),
        counted: 2,
        reason: None,
        reference: None,
    }
    .parse()
    .unwrap();
    assert_eq!(
        request.plan(&[level(W1, 10, 3)], "u1", now()),
        Err(MovementRefused::BelowReserved {
            counted: 2,
            reserved: 3
        })
    );
}

#[test]
fn shipping_more_than_is_available_is_refused_with_what_is_available() {
    let request = MovementRequest::Ship {
        product_id: P1.into(),
        warehouse_id: W1.into(),
        quantity: 8,
        reason: None,
        reference: None,
    }
    .parse()
    .unwrap();
    assert_eq!(
        request.plan(&[level(W1, 10, 3)], "u1", now()),
        Err(MovementRefused::Insufficient {
            available: 7,
            requested: 8
        })
    );
}

proptest! {
    #[test]
    fn a_transfer_conserves_units_and_its_two_entries_share_a_reference(
        on_hand in 0i64..1000, reserved in 0i64..1000, quantity in 1i64..1000,
    ) {
        let reserved = reserved.min(on_hand);
        let before = [level(W1, on_hand, reserved), level(W2, 5, 0)];
        match transfer(quantity).plan(&before, "u1", now()) {
            Ok((after, movements)) => {
                prop_assert!(quantity <= on_hand - reserved);
                prop_assert_eq!(after[0].on_hand + after[1].on_hand, on_hand + 5);
                prop_assert_eq!(movements[0].quantity, -quantity);
                prop_assert_eq!(movements[1].quantity, quantity);
                prop_assert_eq!(&movements[0].reference, &movements[1].reference);
                for (m, l) in movements.iter().zip(&after) {
                    prop_assert_eq!(m.after, l.on_hand);
                }
            }
            Err(refused) => {
                prop_assert!(quantity > on_hand - reserved);
                prop_assert_eq!(
                    refused,
                    MovementRefused::Insufficient { available: on_hand - reserved, requested: quantity }
                );
            }
        }
    }
}

/// The fields a transfer between `from` and `to` of `product` is refused on.
fn refused_transfer(product: &str, from: &str, to: &str) -> Vec<String> {
    MovementRequest::Transfer {
        product_id: product.into(),
        from_warehouse_id: from.into(),
        to_warehouse_id: to.into(),
        quantity: 1,
        reason: None,
        reference: None,
    }
    .parse()
    .unwrap_err()
    .into_vec()
    .into_iter()
    .map(|e| e.field)
    .collect()
}

#[test]
fn a_movement_naming_malformed_ids_is_refused_before_anything_is_read() {
    assert_eq!(
        refused_transfer("nope", "../w1", W2),
        ["product_id", "from_warehouse_id"]
    );
}

#[test]
fn two_spellings_of_one_uuid_name_one_level() {
    let upper = MovementRequest::Receive {
        product_id: P1.to_uppercase(),
        warehouse_id: format!("{{{}}}", W1.to_uppercase()),
        quantity: 1,
        reason: None,
        reference: None,
    }
    .parse()
    .unwrap();
    let target = upper.target();
    assert_eq!(target.product.as_str(), P1);
    assert_eq!(target.warehouses[0].1.as_str(), W1);
}

#[test]
fn a_transfer_to_the_same_warehouse_spelled_differently_is_refused() {
    assert_eq!(
        refused_transfer(P1, W1, &W1.to_uppercase()),
        ["to_warehouse_id"]
    );
}
