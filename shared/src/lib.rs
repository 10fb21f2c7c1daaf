//! Stockroom's core crate: everything the Lambda functions share.
//!
//! Each function's `main.rs` only wires configuration, SDK clients and one router from
//! [`api`]; the business rules ([`domain`]), storage ([`store`], [`blob`]), HTTP plumbing
//! ([`http`]), token verification ([`auth`]) and telemetry ([`telemetry`]) live here so no
//! function drifts from the others.

pub mod api;
pub mod auth;
pub mod aws;
pub mod blob;
pub mod config;
pub mod domain;
pub mod http;
pub mod lambda;
pub mod outbox;
pub mod payments;
pub mod personas;
#[cfg(feature = "search")]
pub mod search;
pub mod store;
pub mod telemetry;
