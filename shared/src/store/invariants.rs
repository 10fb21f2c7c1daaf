//! What must hold in any copy of the table, however it was made: the checks a restore drill
//! runs on a table restored to a point in time (`devstack restore-drill`, `make
//! restore-drill`). One consistent scan of the table, then:
//!
//! - **ledger**: every stock level's `on_hand` is the sum of its movements in the ledger, and
//!   no movement names a level that does not exist;
//! - **reserved**: every level's `reserved` is the sum of the held reservations' lines on it;
//! - **orders**: every order's reservation exists, and stands where the order says its stock
//!   stands (held → held, shipped → committed, released or short → released).
//!
//! Items are read as the stores write them (the same serde types), so a check that cannot
//! decode an item reports it rather than skipping it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::keys::ENTITY;
use super::{Item, StoreError, Table, codec};
use crate::domain::order::{Order, StockState};
use crate::domain::stock::{Movement, Reservation, ReservationStatus, StockLevel};

/// How many violations a report lists in full (the counts are always complete).
const LISTED: usize = 50;

/// What a check of the table found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvariantReport {
    /// Items scanned.
    pub items: u64,
    /// Stock levels checked.
    pub levels: u64,
    /// Movements summed.
    pub movements: u64,
    /// Reservations read.
    pub reservations: u64,
    /// Of those, how many hold stock.
    pub held: u64,
    /// Orders checked.
    pub orders: u64,
    /// How many checks failed.
    pub violation_count: u64,
    /// The first of them, each naming the item and what is wrong.
    pub violations: Vec<String>,
}

impl InvariantReport {
    /// Whether every invariant held.
    pub fn holds(&self) -> bool {
        self.violation_count == 0
    }

    fn violation(&mut self, what: String) {
        self.violation_count += 1;
        if self.violations.len() < LISTED {
            self.violations.push(what);
        }
    }
}

type Pair = (String, String);

/// Scans `table` (strongly consistent, in pages) and checks every invariant.
pub async fn check_invariants(table: &Table) -> Result<InvariantReport, StoreError> {
    let mut report = InvariantReport::default();
    let mut levels: BTreeMap<Pair, (i64, i64)> = BTreeMap::new();
    let mut ledger: HashMap<Pair, i64> = HashMap::new();
    let mut held: HashMap<Pair, i64> = HashMap::new();
    let mut reservations: HashMap<String, ReservationStatus> = HashMap::new();
    let mut orders: Vec<(String, String, StockState)> = Vec::new();

    let mut start = None;
    loop {
        let page = table
            .client()
            .scan()
            .table_name(table.name())
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        for item in page.items.unwrap_or_default() {
            report.items += 1;
            let entity = match item.get(ENTITY).and_then(|v| v.as_s().ok()) {
                Some(e) => e.clone(),
                None => continue,
            };
            let key = describe(&item);
            match entity.as_str() {
                "stock_level" => match codec::decode::<StockLevel>(item) {
                    Ok(l) => {
                        report.levels += 1;
                        levels.insert((l.product_id, l.warehouse_id), (l.on_hand, l.reserved));
                    }
                    Err(e) => report.violation(format!("{key}: unreadable stock level: {e}")),
                },
                "movement" => match codec::decode::<Movement>(item) {
                    Ok(m) => {
                        report.movements += 1;
                        *ledger.entry((m.product_id, m.warehouse_id)).or_default() += m.quantity;
                    }
                    Err(e) => report.violation(format!("{key}: unreadable movement: {e}")),
                },
                "reservation" => match codec::decode::<Reservation>(item) {
                    Ok(r) => {
                        report.reservations += 1;
                        if r.status == ReservationStatus::Held {
                            report.held += 1;
                            for line in &r.lines {
                                *held
                                    .entry((line.product_id.clone(), line.warehouse_id.clone()))
                                    .or_default() += line.quantity;
                            }
                        }
                        reservations.insert(r.id, r.status);
                    }
                    Err(e) => report.violation(format!("{key}: unreadable reservation: {e}")),
                },
                "order" => match codec::decode::<Order>(item) {
                    Ok(o) => {
                        report.orders += 1;
                        orders.push((o.id, o.reservation_id, o.stock));
                    }
                    Err(e) => report.violation(format!("{key}: unreadable order: {e}")),
                },
                _ => {}
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }

    for ((product, warehouse), (on_hand, reserved)) in &levels {
        let pair = (product.clone(), warehouse.clone());
        let summed = ledger.remove(&pair).unwrap_or(0);
        if summed != *on_hand {
            report.violation(format!(
                "level {product} at {warehouse}: on_hand {on_hand}, but its movements sum to {summed}"
            ));
        }
        let holding = held.remove(&pair).unwrap_or(0);
        if holding != *reserved {
            report.violation(format!(
                "level {product} at {warehouse}: reserved {reserved}, but held reservations hold {holding}"
            ));
        }
    }
    let mut orphans: Vec<(Pair, i64)> = ledger.into_iter().filter(|(_, q)| *q != 0).collect();
    orphans.extend(held);
    orphans.sort();
    for ((product, warehouse), quantity) in orphans {
        report.violation(format!(
            "{quantity} units of {product} at {warehouse} are in movements or reservations, but there is no such level"
        ));
    }
    for (order, reservation, stock) in orders {
        let expected = match stock {
            StockState::Held => ReservationStatus::Held,
            StockState::Shipped => ReservationStatus::Committed,
            StockState::Released | StockState::Short => ReservationStatus::Released,
        };
        match reservations.get(&reservation) {
            None => report.violation(format!(
                "order {order}: its reservation {reservation} does not exist"
            )),
            Some(status) if *status != expected => report.violation(format!(
                "order {order}: its stock is {stock:?} but its reservation {reservation} is {status:?}"
            )),
            Some(_) => {}
        }
    }
    Ok(report)
}

fn describe(item: &Item) -> String {
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    format!("{} / {}", text(super::keys::PK), text(super::keys::SK))
}
