//! Stockroom's core crate: everything the Lambda functions share.
//!
//! Each function crate (`functions/<name>`) owns its routes and handlers; what several of
//! them need lives here, in layers (docs/ARCHITECTURE.md): application services
//! ([`services`]), HTTP plumbing ([`http`]), search ([`search`]), storage ([`store`],
//! [`blob`]), the payment and persona providers ([`payments`], [`personas`]), token and
//! password handling ([`auth`]), telemetry ([`telemetry`]) and the business rules
//! ([`domain`]). [`lambda`] starts a function.

pub mod auth;
pub mod aws;
pub mod blob;
pub mod config;
pub mod domain;
pub mod google;
pub mod http;
pub mod lambda;
pub mod mail;
pub mod outbox;
pub mod payments;
pub mod personas;
#[cfg(feature = "search")]
pub mod search;
pub mod services;
pub mod sms;
#[cfg(feature = "sockets")]
pub mod sockets;
pub mod store;
pub mod telemetry;
