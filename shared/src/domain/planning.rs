//! Movement planning: what a checked stock movement does to the levels it names, as pure
//! rules. The movements service reads the levels, plans here, and commits the result.

use time::OffsetDateTime;

use super::ProductId;
use super::stock::{
    CheckedMovement, Movement, MovementKind, MovementRefused, StockChange, StockLevel, WarehouseId,
};

/// The parts of a movement that name stock: its product and its warehouse(s).
#[derive(Debug)]
pub struct Target<'a> {
    /// The product.
    pub product: &'a ProductId,
    /// Each warehouse with the request field that named it.
    pub warehouses: Vec<(&'static str, &'a WarehouseId)>,
}

impl CheckedMovement {
    /// The product and warehouse(s) the movement names.
    pub fn target(&self) -> Target<'_> {
        let warehouses = match self.change() {
            StockChange::Receive { warehouse, .. }
            | StockChange::Ship { warehouse, .. }
            | StockChange::Adjust { warehouse, .. }
            | StockChange::Count { warehouse, .. } => vec![("warehouse_id", warehouse)],
            StockChange::Transfer { from, to, .. } => {
                vec![("from_warehouse_id", from), ("to_warehouse_id", to)]
            }
        };
        Target {
            product: self.product(),
            warehouses,
        }
    }

    /// The new levels and ledger entries, from `levels` as just read (one per warehouse of
    /// [`Self::target`], in its order).
    pub fn plan(
        &self,
        levels: &[StockLevel],
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<(Vec<StockLevel>, Vec<Movement>), MovementRefused> {
        let reason = self.reason().map(str::to_owned);
        let entry = |kind, level: &StockLevel, next: &StockLevel, reference: Option<String>| {
            Movement::between(kind, level, next, actor, reason.clone(), reference)
        };
        let single = |kind, delta: i64| {
            let level = &levels[0];
            let next = level.moved(delta, now)?;
            let movement = entry(kind, level, &next, self.reference().map(str::to_owned));
            Ok((vec![next], vec![movement]))
        };
        match self.change() {
            StockChange::Receive { quantity, .. } => single(MovementKind::Receive, quantity.get()),
            StockChange::Ship { quantity, .. } => single(MovementKind::Ship, -quantity.get()),
            StockChange::Adjust { by, .. } => single(MovementKind::Adjust, by.get()),
            StockChange::Count { counted, .. } => {
                let (level, counted) = (&levels[0], counted.get());
                if counted < level.reserved {
                    return Err(MovementRefused::BelowReserved {
                        counted,
                        reserved: level.reserved,
                    });
                }
                single(MovementKind::Count, counted - level.on_hand)
            }
            StockChange::Transfer { quantity, .. } => {
                let quantity = quantity.get();
                let reference = self.reference().map_or_else(
                    || format!("transfer:{}", uuid::Uuid::now_v7()),
                    str::to_owned,
                );
                let (from, to) = (&levels[0], &levels[1]);
                let from_next = from.moved(-quantity, now)?;
                let to_next = to.moved(quantity, now)?;
                let out = entry(
                    MovementKind::TransferOut,
                    from,
                    &from_next,
                    Some(reference.clone()),
                );
                let inn = entry(MovementKind::TransferIn, to, &to_next, Some(reference));
                Ok((vec![from_next, to_next], vec![out, inn]))
            }
        }
    }

    /// The audit action that records it.
    pub fn action(&self) -> &'static str {
        match self.change() {
            StockChange::Receive { .. } => "stock.receive",
            StockChange::Ship { .. } => "stock.ship",
            StockChange::Adjust { .. } => "stock.adjust",
            StockChange::Count { .. } => "stock.count",
            StockChange::Transfer { .. } => "stock.transfer",
        }
    }
}

#[cfg(test)]
#[path = "planning_test.rs"]
mod tests;
