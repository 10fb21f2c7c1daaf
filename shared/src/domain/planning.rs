//! Movement planning: what a stock movement request does to the levels it names, as pure
//! rules. The movements service reads the levels, plans here, and commits the result.

use time::OffsetDateTime;

use super::stock::{Movement, MovementKind, MovementRefused, MovementRequest, StockLevel};

/// The parts of a request that name stock: its product and its warehouse(s).
#[derive(Debug)]
pub struct Target<'a> {
    /// The product.
    pub product_id: &'a str,
    /// Each warehouse with the request field that named it.
    pub warehouses: Vec<(&'static str, &'a str)>,
}

impl MovementRequest {
    /// The product and warehouse(s) the request names.
    pub fn target(&self) -> Target<'_> {
        match self {
            MovementRequest::Receive {
                product_id,
                warehouse_id,
                ..
            }
            | MovementRequest::Ship {
                product_id,
                warehouse_id,
                ..
            }
            | MovementRequest::Adjust {
                product_id,
                warehouse_id,
                ..
            }
            | MovementRequest::Count {
                product_id,
                warehouse_id,
                ..
            } => Target {
                product_id,
                warehouses: vec![("warehouse_id", warehouse_id)],
            },
            MovementRequest::Transfer {
                product_id,
                from_warehouse_id,
                to_warehouse_id,
                ..
            } => Target {
                product_id,
                warehouses: vec![
                    ("from_warehouse_id", from_warehouse_id),
                    ("to_warehouse_id", to_warehouse_id),
                ],
            },
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
        let entry = |kind,
                     level: &StockLevel,
                     next: &StockLevel,
                     reason: &Option<String>,
                     reference: &Option<String>| {
            Movement::between(kind, level, next, actor, reason.clone(), reference.clone())
        };
        let single = |kind, delta: i64, reason: &Option<String>, reference: &Option<String>| {
            let level = &levels[0];
            let next = level.moved(delta, now)?;
            let movement = entry(kind, level, &next, reason, reference);
            Ok((vec![next], vec![movement]))
        };
        match self {
            MovementRequest::Receive {
                quantity,
                reason,
                reference,
                ..
            } => single(MovementKind::Receive, *quantity, reason, reference),
            MovementRequest::Ship {
                quantity,
                reason,
                reference,
                ..
            } => single(MovementKind::Ship, -*quantity, reason, reference),
            MovementRequest::Adjust {
                quantity,
                reason,
                reference,
                ..
            } => single(
                MovementKind::Adjust,
                *quantity,
                &Some(reason.clone()),
                reference,
            ),
            MovementRequest::Count {
                counted,
                reason,
                reference,
                ..
            } => {
                let level = &levels[0];
                if *counted < level.reserved {
                    return Err(MovementRefused::BelowReserved {
                        counted: *counted,
                        reserved: level.reserved,
                    });
                }
                single(
                    MovementKind::Count,
                    counted - level.on_hand,
                    reason,
                    reference,
                )
            }
            MovementRequest::Transfer {
                quantity,
                reason,
                reference,
                ..
            } => {
                let reference = Some(
                    reference
                        .clone()
                        .unwrap_or_else(|| format!("transfer:{}", uuid::Uuid::now_v7())),
                );
                let (from, to) = (&levels[0], &levels[1]);
                let from_next = from.moved(-*quantity, now)?;
                let to_next = to.moved(*quantity, now)?;
                let out = entry(
                    MovementKind::TransferOut,
                    from,
                    &from_next,
                    reason,
                    &reference,
                );
                let inn = entry(MovementKind::TransferIn, to, &to_next, reason, &reference);
                Ok((vec![from_next, to_next], vec![out, inn]))
            }
        }
    }

    /// The audit action that records it.
    pub fn action(&self) -> &'static str {
        match self {
            MovementRequest::Receive { .. } => "stock.receive",
            MovementRequest::Ship { .. } => "stock.ship",
            MovementRequest::Adjust { .. } => "stock.adjust",
            MovementRequest::Count { .. } => "stock.count",
            MovementRequest::Transfer { .. } => "stock.transfer",
        }
    }
}

#[cfg(test)]
#[path = "planning_test.rs"]
mod tests;
