//! Unit tests of `shipment`.

use proptest::prelude::*;
use time::OffsetDateTime;

use super::*;
use crate::domain::fixtures;
use crate::domain::order::OrderLine;

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn line(product: &str, warehouse: &str, quantity: i64) -> OrderLine {
    OrderLine {
        product_id: product.into(),
        sku: format!("SKU-{product}"),
        name: product.into(),
        warehouse_id: warehouse.into(),
        quantity,
        unit_price: 100,
        line_total: 100 * quantity,
    }
}

fn shipped() -> Shipment {
    let mut order = fixtures::paid();
    order.lines = vec![line("p1", "w1", 2)];
    let s = Shipment::for_order(&order, t0()).remove(0);
    let carrier = Carrier::parse("delhivery", "dl-123").unwrap();
    s.shipped(&carrier, t0()).unwrap().unwrap()
}

fn carrier(status: ShipmentStatus, minutes: i64, id: &str) -> Checkpoint {
    Checkpoint {
        status,
        at: t0() + time::Duration::minutes(minutes),
        reported_by: Reporter::Carrier,
        event_id: Some(id.into()),
        location: None,
        note: None,
    }
}

#[test]
fn a_paid_order_ships_in_one_parcel_per_warehouse_with_stable_ids() {
    let mut order = fixtures::paid();
    order.lines = vec![
        line("p1", "w1", 2),
        line("p2", "w2", 1),
        line("p3", "w1", 4),
    ];
    let shipments = Shipment::for_order(&order, t0());
    assert_eq!(shipments.len(), 2);
    assert_eq!(shipments[0].warehouse_id, "w1");
    assert_eq!(
        shipments[0]
            .lines
            .iter()
            .map(|l| (l.product_id.as_str(), l.quantity))
            .collect::<Vec<_>>(),
        [("p1", 2), ("p3", 4)]
    );
    assert_eq!(shipments[1].lines.len(), 1);
    assert!(
        shipments
            .iter()
            .all(|s| s.status == ShipmentStatus::Pending)
    );
    // Applying the payment again makes the same shipments, not new ones.
    assert_eq!(Shipment::for_order(&order, t0())[0].id, shipments[0].id);
    assert_ne!(shipments[0].id, shipments[1].id);
}

#[test]
fn staff_pack_then_ship_and_repeats_change_nothing() {
    let mut order = fixtures::paid();
    order.lines = vec![line("p1", "w1", 2)];
    let s = Shipment::for_order(&order, t0()).remove(0);
    let packed = s.packed(t0()).unwrap().unwrap();
    assert_eq!(packed.status, ShipmentStatus::Packed);
    assert_eq!(packed.packed(t0()).unwrap(), None);
    let carrier = Carrier::parse(" Delhivery ", "dl-123").unwrap();
    assert_eq!(
        (carrier.name.as_str(), carrier.tracking_number.as_str()),
        ("delhivery", "DL-123")
    );
    let shipped = packed.shipped(&carrier, t0()).unwrap().unwrap();
    assert_eq!(shipped.status, ShipmentStatus::Shipped);
    assert_eq!(shipped.version, 3);
    assert_eq!(shipped.shipped(&carrier, t0()).unwrap(), None);
    let other = Carrier::parse("bluedart", "X1").unwrap();
    assert!(
        shipped.shipped(&other, t0()).is_err(),
        "its tracking number is not changed silently"
    );
    assert!(shipped.packed(t0()).is_err());
}

#[test]
fn road_news_needs_a_parcel_on_its_way_and_a_repeated_event_is_ignored() {
    let mut order = fixtures::paid();
    order.lines = vec![line("p1", "w1", 2)];
    let pending = Shipment::for_order(&order, t0()).remove(0);
    assert!(
        pending
            .tracked(carrier(ShipmentStatus::InTransit, 1, "e1"), t0())
            .is_err()
    );
    let s = shipped();
    let moving = s
        .tracked(carrier(ShipmentStatus::InTransit, 1, "e1"), t0())
        .unwrap()
        .unwrap();
    assert_eq!(moving.status, ShipmentStatus::InTransit);
    assert_eq!(
        moving
            .tracked(carrier(ShipmentStatus::Delivered, 2, "e1"), t0())
            .unwrap(),
        None
    );
}

#[test]
fn a_late_update_never_undoes_a_delivery() {
    let s = shipped();
    let delivered = s
        .tracked(carrier(ShipmentStatus::Delivered, 60, "e2"), t0())
        .unwrap()
        .unwrap();
    let late = delivered
        .tracked(carrier(ShipmentStatus::OutForDelivery, 30, "e1"), t0())
        .unwrap()
        .unwrap();
    assert_eq!(late.status, ShipmentStatus::Delivered);
    assert_eq!(
        late.timeline.iter().map(|c| c.status).collect::<Vec<_>>(),
        [
            ShipmentStatus::Pending,
            ShipmentStatus::Shipped,
            ShipmentStatus::OutForDelivery,
            ShipmentStatus::Delivered
        ],
        "the timeline is in time order"
    );
}

#[test]
fn a_failed_attempt_followed_by_another_round_is_on_its_way_again() {
    let s = shipped();
    let failed = s
        .tracked(carrier(ShipmentStatus::Failed, 10, "e1"), t0())
        .unwrap()
        .unwrap();
    assert_eq!(failed.status, ShipmentStatus::Failed);
    let again = failed
        .tracked(carrier(ShipmentStatus::InTransit, 20, "e2"), t0())
        .unwrap()
        .unwrap();
    assert_eq!(again.status, ShipmentStatus::InTransit);
}

#[test]
fn a_full_timeline_makes_room_so_the_delivery_still_lands() {
    let mut s = shipped();
    for i in 0..MAX_CHECKPOINTS {
        let minutes = i64::try_from(i).unwrap();
        let news = carrier(ShipmentStatus::InTransit, minutes, &format!("e{i}"));
        if let Some(next) = s.tracked(news, t0()).unwrap() {
            s = next;
        }
    }
    assert_eq!(s.timeline.len(), MAX_CHECKPOINTS);
    let delivered = s
        .tracked(carrier(ShipmentStatus::Delivered, 999, "last"), t0())
        .unwrap()
        .unwrap();
    assert_eq!(delivered.status, ShipmentStatus::Delivered);
    assert_eq!(delivered.timeline.len(), MAX_CHECKPOINTS);
    // Older news than everything kept changes nothing.
    let stale = carrier(ShipmentStatus::InTransit, -5, "stale");
    assert_eq!(delivered.tracked(stale, t0()).unwrap(), None);
    // Only checkpoints that decide the status left: the timeline is full.
    let mut finals = delivered;
    let refused = (0..MAX_CHECKPOINTS).find_map(|i| {
        let minutes = 1000 + i64::try_from(i).unwrap();
        match finals.tracked(
            carrier(ShipmentStatus::Returned, minutes, &format!("r{i}")),
            t0(),
        ) {
            Ok(Some(next)) => {
                finals = next;
                None
            }
            other => Some(other),
        }
    });
    assert_eq!(refused, Some(Err(ShipmentRefused::TimelineFull)));
}

#[test]
fn checkpoints_are_parsed_field_by_field() {
    let input: CheckpointInput = serde_json::from_value(serde_json::json!({
        "status": "packed", "occurred_at": "2099-01-01T00:00:00Z", "location": "x".repeat(121),
        "note": "  "
    }))
    .unwrap();
    let fields: Vec<String> = input
        .parse(Reporter::Carrier, Some("e1".into()), t0())
        .unwrap_err()
        .into_vec()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["status", "occurred_at", "location"]);
    let bad = Carrier::parse("", "no spaces please")
        .unwrap_err()
        .into_vec();
    assert_eq!(bad.len(), 2);
}

fn road() -> impl Strategy<Value = Checkpoint> {
    (
        prop_oneof![
            Just(ShipmentStatus::InTransit),
            Just(ShipmentStatus::OutForDelivery),
            Just(ShipmentStatus::Failed),
            Just(ShipmentStatus::Delivered),
            Just(ShipmentStatus::Returned),
        ],
        0i64..50,
    )
        .prop_map(|(status, minutes)| {
            carrier(status, minutes, &format!("{}-{minutes}", status.as_str()))
        })
}

proptest! {
    /// Carrier updates in any order, with repeats, end in the same shipment.
    #[test]
    fn any_arrival_order_of_carrier_updates_ends_the_same(
        updates in prop::collection::vec(road(), 1..10),
        seed in any::<u64>(),
    ) {
        let apply = |order: &[Checkpoint]| {
            let mut s = shipped();
            for c in order {
                if let Some(next) = s.tracked(c.clone(), t0()).unwrap() {
                    s = next;
                }
            }
            s
        };
        let forward = apply(&updates);
        let mut shuffled: Vec<Checkpoint> = updates.iter().rev().cloned().collect();
        shuffled.extend(updates.iter().cloned());
        let rotation = usize::try_from(seed % (shuffled.len() as u64)).unwrap();
        shuffled.rotate_left(rotation);
        let other = apply(&shuffled);
        prop_assert_eq!(forward.status, other.status);
        prop_assert_eq!(&forward.timeline, &other.timeline);
        prop_assert_eq!(forward.status, Shipment::status_of(&forward.timeline));
    }
}
