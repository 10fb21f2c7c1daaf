//! Pure business types and rules: no SDK, no HTTP, nothing else of ours.
//!
//! Values are parsed at the edge (`Sku::parse`, `Money::price`, `Currency::parse`,
//! `ProductDraft::parse`, ...) so that an invalid one cannot exist past it; validation
//! failures name the offending field and say what was expected. Rules that decide
//! (`order` settles payments, `planning` plans stock movements, `pricing` prices orders,
//! `refund` bounds refunds) return their own refusals, which the HTTP layer turns into
//! problems.

pub mod account;
mod barcode;
pub mod cart;
pub mod event;
#[cfg(test)]
mod fixtures;
pub mod loyalty;
mod money;
pub mod notification;
pub mod order;
mod patch;
pub mod payment;
pub mod persona;
pub mod planning;
pub mod pricing;
pub mod product;
pub mod purchasing;
mod quantity;
pub mod refund;
pub mod role;
pub mod shipment;
pub mod stock;
mod validation;

pub use account::{Account, AccountView, Email};
pub use barcode::Barcode;
pub use money::{Currency, MAX_MINOR_UNITS, Money};
pub use patch::{Patch, present};
pub use product::{Product, ProductId, Sku};
pub use quantity::{MAX_QUANTITY, Quantity};
pub use role::{Permission, Role};
pub use validation::{FieldError, FieldErrors};
