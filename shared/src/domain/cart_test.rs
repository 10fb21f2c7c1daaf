use time::{Duration, OffsetDateTime};

use super::*;

fn product(n: u8) -> ProductId {
    ProductId::parse(&format!("0190a0b0-0000-7000-8000-0000000000{n:02}")).unwrap()
}

fn cart() -> Cart {
    Cart::customer("u1", OffsetDateTime::UNIX_EPOCH, Duration::days(30))
}

#[test]
fn setting_a_product_twice_changes_its_line_instead_of_adding_one() {
    let mut c = cart();
    c.set(&product(1), 2, 10).unwrap();
    c.set(&product(1), 5, 10).unwrap();
    assert_eq!(c.lines.len(), 1);
    assert_eq!(c.lines[0].quantity, 5);
    assert_eq!(c.set(&product(1), 11, 10), Err(CartRefused::TooMany(10)));
    assert!(c.remove(&product(1)));
    assert!(!c.remove(&product(1)));
}

#[test]
fn a_full_cart_refuses_a_new_product_but_not_a_change() {
    let mut c = cart();
    for n in 0..MAX_CART_LINES {
        c.set(&product(u8::try_from(n).unwrap()), 1, 10).unwrap();
    }
    assert_eq!(c.set(&product(99), 1, 10), Err(CartRefused::Full));
    c.set(&product(0), 3, 10).unwrap();
}

#[test]
fn merging_adds_quantities_within_the_cap_and_reports_what_did_not_fit() {
    let mut mine = cart();
    mine.set(&product(1), 8, 10).unwrap();
    let mut anonymous = Cart::anonymous("d".into(), OffsetDateTime::UNIX_EPOCH, Duration::days(1));
    anonymous.set(&product(1), 5, 10).unwrap();
    anonymous.set(&product(2), 1, 10).unwrap();
    assert_eq!(mine.absorb(&anonymous, 10), 0);
    assert_eq!(mine.lines[0].quantity, 10, "capped, not 13");
    assert_eq!(mine.lines[1].product_id, product(2).as_str());

    let mut full = cart();
    for n in 0..MAX_CART_LINES {
        full.set(&product(u8::try_from(n + 10).unwrap()), 1, 10)
            .unwrap();
    }
    assert_eq!(full.absorb(&anonymous, 10), 2);
}

#[test]
fn each_change_is_a_new_version_that_lives_again() {
    let start = OffsetDateTime::UNIX_EPOCH;
    let c = cart();
    assert!(!c.expired(start));
    assert!(c.expired(start + Duration::days(30)));
    let later = c.touched(start + Duration::days(29), Duration::days(30));
    assert_eq!(later.version, 1);
    assert!(!later.expired(start + Duration::days(30)));
}
