//! Unit tests of `pricing`.

use time::OffsetDateTime;

use super::*;
use crate::domain::product::{NewProductInput, ProductDraft};

fn product(sku: &str, amount_minor: i64, currency: &str) -> Product {
    let input: NewProductInput = serde_json::from_value(serde_json::json!({
        "sku": sku,
        "name": sku,
        "category": "Apparel",
        "price": {"amount_minor": amount_minor, "currency": currency},
        "reorder_level": 1
    }))
    .unwrap();
    Product::create(
        ProductDraft::parse(input).unwrap(),
        OffsetDateTime::now_utc(),
    )
}

fn w(n: u8) -> WarehouseId {
    WarehouseId::parse(&format!("0190a0b0-0000-7000-8000-0000000000b{n}")).unwrap()
}

fn units(n: i64) -> Quantity {
    Quantity::parse(n).unwrap()
}

#[test]
fn lines_are_priced_at_todays_price_and_summed() {
    let mut list = PriceList::default();
    list.add(0, &product("A", 250, "INR"), units(3), w(1))
        .unwrap();
    list.add(1, &product("B", 100, "INR"), units(1), w(2))
        .unwrap();
    let priced = list.finish().unwrap();
    assert_eq!(priced.currency.as_str(), "INR");
    assert_eq!(priced.total, 850);
    let lines = &priced.lines;
    assert_eq!((lines[0].unit_price, lines[0].line_total), (250, 750));
    assert_eq!(lines[1].warehouse_id, w(2).as_str());
    assert_eq!(priced.holds[1].warehouse, w(2));
    assert_eq!(priced.holds[0].quantity, units(3));
}

#[test]
fn a_line_in_another_currency_is_refused_naming_both() {
    let mut list = PriceList::default();
    list.add(0, &product("A", 250, "INR"), units(1), w(1))
        .unwrap();
    let usd = product("B", 100, "USD");
    assert!(matches!(
        list.accepts(1, &usd),
        Err(PricingRefused::MixedCurrencies { line: 1, .. })
    ));
}

#[test]
fn a_line_whose_total_overflows_is_refused_not_wrapped() {
    let mut list = PriceList::default();
    let dear = product("A", MAX_MINOR_UNITS, "INR");
    assert_eq!(
        list.add(0, &dear, units(2), w(1)),
        Err(PricingRefused::LineTooLarge { line: 0 })
    );
}

#[test]
fn an_order_of_free_lines_or_past_the_ceiling_is_refused() {
    let mut free = PriceList::default();
    free.add(0, &product("A", 0, "INR"), units(1), w(1))
        .unwrap();
    assert_eq!(
        free.finish(),
        Err(PricingRefused::TotalOutOfRange { total: 0 })
    );
    let mut dear = PriceList::default();
    let half = product("A", MAX_MINOR_UNITS / 2 + 1, "INR");
    dear.add(0, &half, units(1), w(1)).unwrap();
    dear.add(1, &half, units(1), w(1)).unwrap();
    assert!(matches!(
        dear.finish(),
        Err(PricingRefused::TotalOutOfRange { .. })
    ));
}
