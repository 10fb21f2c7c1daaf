//! Unit tests of `purchasing`: the purchase order state machine, receipts and suggestions.

use proptest::prelude::*;

use super::*;

const P1: &str = "0190a0b0-0000-7000-8000-0000000000a1";
const P2: &str = "0190a0b0-0000-7000-8000-0000000000a2";
const W1: &str = "0190a0b0-0000-7000-8000-0000000000b1";
const P9: &str = "0190a0b0-0000-7000-8000-0000000000a9";

/// `units` of product `id` arriving.
fn arrived(id: &str, units: i64) -> [(ProductId, Quantity); 1] {
    [(
        ProductId::parse(id).unwrap(),
        Quantity::parse(units).unwrap(),
    )]
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn supplier(id: &str, offers: &[(&str, i64, i64)]) -> Supplier {
    let mut s = Supplier::create(
        SupplierInput {
            name: Some(format!("Supplier {id}")),
            currency: Some("INR".into()),
            products: Some(
                offers
                    .iter()
                    .map(|(p, cost, moq)| SupplierProduct {
                        product_id: (*p).into(),
                        supplier_sku: None,
                        unit_cost: *cost,
                        min_order_quantity: *moq,
                    })
                    .collect(),
            ),
            ..SupplierInput::default()
        },
        now(),
    )
    .unwrap();
    s.id = id.into();
    s
}

fn order(lines: &[(&str, i64)]) -> PurchaseOrder {
    let s = supplier(
        "s1",
        &lines.iter().map(|(p, _)| (*p, 100, 1)).collect::<Vec<_>>(),
    );
    let input = NewPurchaseOrder {
        supplier_id: "s1".into(),
        warehouse_id: W1.into(),
        lines: lines
            .iter()
            .map(|(p, q)| PoLineInput {
                product_id: (*p).into(),
                quantity: *q,
                unit_cost: None,
            })
            .collect(),
        notes: None,
    };
    PurchaseOrder::create(&input, &s, "manager", now()).unwrap()
}

#[test]
fn every_transition_allowed_and_refused() {
    let draft = order(&[(P1, 10)]);
    assert_eq!(draft.total, 1000);
    // Draft: submit or cancel; no receipts.
    assert_eq!(
        draft.receiving(&arrived(P1, 1), now()),
        Err(ReceiptRefused::NotOpen(PoStatus::Draft))
    );
    assert_eq!(
        draft.cancelled(now()).unwrap().unwrap().status,
        PoStatus::Cancelled
    );
    let submitted = draft.submitted(now()).unwrap();
    assert_eq!(submitted.status, PoStatus::Submitted);
    // Submitted: not again; cancel allowed; receipts allowed.
    assert!(submitted.submitted(now()).is_err());
    assert!(submitted.cancelled(now()).unwrap().is_some());
    let partial = submitted.receiving(&arrived(P1, 4), now()).unwrap();
    assert_eq!(partial.status, PoStatus::PartiallyReceived);
    // Partially received: no cancel, no submit; more receipts.
    assert!(partial.cancelled(now()).is_err());
    assert!(partial.submitted(now()).is_err());
    let full = partial.receiving(&arrived(P1, 6), now()).unwrap();
    assert_eq!(full.status, PoStatus::Received);
    // Received: nothing more.
    assert!(full.cancelled(now()).is_err());
    assert_eq!(
        full.receiving(&arrived(P1, 1), now()),
        Err(ReceiptRefused::NotOpen(PoStatus::Received))
    );
    // Cancelled: cancelling again is harmless; nothing else.
    let cancelled = submitted.cancelled(now()).unwrap().unwrap();
    assert_eq!(cancelled.cancelled(now()), Ok(None));
    assert!(cancelled.submitted(now()).is_err());
    assert_eq!(
        cancelled.receiving(&arrived(P1, 1), now()),
        Err(ReceiptRefused::NotOpen(PoStatus::Cancelled))
    );
}

#[test]
fn receipts_accept_the_tolerance_and_refuse_beyond_it() {
    let po = order(&[(P1, 100), (P2, 10)]).submitted(now()).unwrap();
    // 5% of 100 = 5 extra; 5% of 10 rounds down to 0.
    let over = po.receiving(&arrived(P1, 105), now()).unwrap();
    assert_eq!(over.status, PoStatus::PartiallyReceived, "p2 still open");
    assert_eq!(
        po.receiving(&arrived(P1, 106), now()),
        Err(ReceiptRefused::OverReceipt {
            product_id: P1.into(),
            ordered: 100,
            received: 0,
            acceptable: 105
        })
    );
    assert!(po.receiving(&arrived(P2, 11), now()).is_err());
    assert_eq!(
        po.receiving(&arrived(P9, 1), now()),
        Err(ReceiptRefused::NotOnOrder(P9.into()))
    );
}

#[test]
fn lines_need_a_price_and_are_checked_field_by_field() {
    let s = supplier("s1", &[(P1, 250, 1)]);
    let lines = vec![
        PoLineInput {
            product_id: P1.into(),
            quantity: 0,
            unit_cost: None,
        },
        PoLineInput {
            product_id: P2.into(),
            quantity: 1,
            unit_cost: None,
        },
        PoLineInput {
            product_id: P1.into(),
            quantity: 1,
            unit_cost: Some(-1),
        },
    ];
    let errors = price_lines(&s, &lines).unwrap_err().into_vec();
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "lines[0].quantity",
            "lines[2].product_id",
            "lines[1].unit_cost",
            "lines[2].unit_cost"
        ]
    );
    let priced = price_lines(
        &s,
        &[PoLineInput {
            product_id: P1.into(),
            quantity: 3,
            unit_cost: None,
        }],
    )
    .unwrap();
    assert_eq!(priced[0].unit_cost, 250, "the supplier's price by default");
}

#[test]
fn suppliers_are_validated() {
    let bad = Supplier::create(
        SupplierInput {
            email: Some("not-an-address".into()),
            phone: Some("call me".into()),
            currency: Some("RUPEES".into()),
            lead_time_days: Some(400),
            ..SupplierInput::default()
        },
        now(),
    )
    .unwrap_err()
    .into_vec();
    let fields: Vec<_> = bad.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["name", "email", "phone", "currency", "lead_time_days"]
    );
}

fn product(n: usize, reorder: u32, target: Option<u32>, preferred: Option<&str>) -> Product {
    let input: crate::domain::product::NewProductInput =
        serde_json::from_value(serde_json::json!({
            "sku": format!("SKU-{n}"), "name": format!("P{n}"), "category": "c",
            "price": {"amount_minor": 100, "currency": "INR"}, "reorder_level": reorder,
        }))
        .unwrap();
    let mut p = Product::create(
        crate::domain::product::ProductDraft::parse(input).unwrap(),
        now(),
    );
    p.target_level = target;
    p.preferred_supplier_id = preferred.map(str::to_owned);
    p
}

#[test]
fn the_preferred_supplier_wins_else_the_cheapest() {
    let p = product(1, 5, None, Some("s2"));
    let pid = p.id.to_string();
    let suppliers = vec![
        supplier("s1", &[(pid.as_str(), 90, 1)]),
        supplier("s2", &[(pid.as_str(), 120, 1)]),
    ];
    assert_eq!(supplier_for(&p, &suppliers).unwrap().id, "s2");
    let mut inactive = suppliers.clone();
    inactive[1].active = false;
    assert_eq!(supplier_for(&p, &inactive).unwrap().id, "s1");
    let nobody = product(2, 5, None, None);
    assert!(supplier_for(&nobody, &suppliers).is_none());
}

proptest! {
    /// Suggestions match a direct computation over the same data, line by line.
    #[test]
    fn suggestions_match_a_brute_force_count(
        levels in prop::collection::vec((0u32..10, prop::option::of(0u32..30), -5i64..25, 0i64..10, 0usize..3, 1i64..8), 1..12)
    ) {
        let products: Vec<Product> = levels
            .iter()
            .enumerate()
            .map(|(i, (reorder, target, ..))| product(i, *reorder, *target, None))
            .collect();
        let ids: Vec<String> = products.iter().map(|p| p.id.to_string()).collect();
        // Supplier k sells every product whose choice is k (0: nobody), at cost 100 + i.
        let suppliers: Vec<Supplier> = (1..3)
            .map(|k| {
                let offers: Vec<(&str, i64, i64)> = levels
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.4 == k)
                    .map(|(i, l)| (ids[i].as_str(), 100 + i as i64, l.5))
                    .collect();
                supplier(&format!("s{k}"), &offers)
            })
            .collect();
        let available: HashMap<String, i64> =
            levels.iter().enumerate().map(|(i, l)| (ids[i].clone(), l.2)).collect();
        let open_lines: Vec<(&str, i64)> = ids
            .iter()
            .zip(&levels)
            .filter(|(_, l)| l.3 > 0)
            .map(|(id, l)| (id.as_str(), l.3))
            .collect();
        // One open order with every product's on-order units, and a cancelled one that must
        // not count.
        let mut open_orders = vec![];
        if !open_lines.is_empty() {
            open_orders.push(order(&open_lines));
            let mut cancelled = order(&open_lines);
            cancelled.status = PoStatus::Cancelled;
            open_orders.push(cancelled);
        }
        let groups = suggest(&products, &available, &open_orders, &suppliers);

        let mut expected = Vec::new();
        for (i, (reorder, target, have, on_order, choice, moq)) in levels.iter().enumerate() {
            let reorder = i64::from(*reorder);
            let target = target.map_or(reorder * 2, i64::from).max(reorder + 1);
            if *have > reorder || target - have - on_order <= 0 {
                continue;
            }
            let minimum = if *choice == 0 { 1 } else { *moq };
            expected.push((ids[i].clone(), (target - have - on_order).max(minimum), *choice));
        }
        let mut got: Vec<(String, i64, usize)> = groups
            .iter()
            .flat_map(|g| {
                let k = g.supplier_id.as_deref().map_or(0, |s| s[1..].parse().unwrap());
                g.lines.iter().map(move |l| (l.product_id.clone(), l.quantity, k))
            })
            .collect();
        got.sort();
        expected.sort();
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn a_receipt_names_at_most_the_lines_one_transaction_can_hold() {
    let receipt = |n: usize| ReceiptInput {
        lines: (0..n)
            .map(|_| ReceiptLine {
                product_id: ProductId::generate().to_string(),
                quantity: 1,
            })
            .collect(),
        note: None,
    };
    assert!(receipt(MAX_RECEIPT_LINES).parse().is_ok());
    let errors = receipt(MAX_RECEIPT_LINES + 1)
        .parse()
        .unwrap_err()
        .into_vec();
    assert_eq!(errors[0].field, "lines");
    assert!(errors[0].message.contains("1 to 30"), "{errors:?}");
}
