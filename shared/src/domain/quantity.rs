//! Quantities of stock: how many units one line or movement may name.

/// The largest quantity one movement, reservation or order line may move.
pub const MAX_QUANTITY: i64 = 1_000_000;
