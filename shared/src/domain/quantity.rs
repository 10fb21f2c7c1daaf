//! Quantities of stock: how many units one line or movement may name.

/// The largest quantity one movement, reservation or order line may move.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// A number of units a line may ask for: 1 to [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Quantity(i64);

impl Quantity {
    /// Parses a requested number of units.
    pub fn parse(units: i64) -> Result<Self, String> {
        if (1..=MAX_QUANTITY).contains(&units) {
            Ok(Self(units))
        } else {
            Err(format!("must be between 1 and {MAX_QUANTITY}, got {units}"))
        }
    }

    /// The number of units.
    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_outside_one_to_the_maximum_are_refused() {
        assert_eq!(Quantity::parse(1).map(Quantity::get), Ok(1));
        assert_eq!(
            Quantity::parse(MAX_QUANTITY).map(Quantity::get),
            Ok(MAX_QUANTITY)
        );
        for bad in [0, -1, MAX_QUANTITY + 1, i64::MIN] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
    }
}
