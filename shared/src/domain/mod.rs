//! Pure business types and rules: no SDK, no HTTP.
//!
//! Values are parsed at the edge (`Sku::parse`, `Money::new`, ...) so that an invalid one cannot
//! exist past it; validation failures name the offending field and say what was expected.

pub mod account;
mod barcode;
mod money;
pub mod order;
mod patch;
pub mod payment;
pub mod persona;
pub mod product;
pub mod purchasing;
mod quantity;
pub mod role;
pub mod stock;
mod validation;

pub use account::{Account, AccountView, Email};
pub use barcode::Barcode;
pub use money::{Currency, MAX_MINOR_UNITS, Money};
pub use product::{Product, ProductId, Sku};
pub use role::{Permission, Role};
pub use validation::{FieldError, FieldErrors};
