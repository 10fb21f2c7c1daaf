//! Pure business types and rules: no SDK, no HTTP.
//!
//! Values are parsed at the edge (`Sku::parse`, `Money::new`, ...) so that an invalid one cannot
//! exist past it; validation failures name the offending field and say what was expected.

pub mod account;
mod barcode;
mod money;
pub mod order;
pub mod persona;
pub mod product;
pub mod purchasing;
pub mod stock;
mod validation;

pub use account::{Account, AccountView, Email};
pub use barcode::Barcode;
pub use money::{Currency, MAX_MINOR_UNITS, Money};
pub use product::{Product, ProductId, Sku};
pub use validation::{FieldError, FieldErrors};
