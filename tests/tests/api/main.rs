//! End-to-end tests of the functions on the local stack (run by `make test`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth_admin;
mod auth_jwt_attacks;
mod auth_keys;
mod auth_login;
mod auth_tokens;
mod auth_two_factor;
mod authz;
mod consistency;
mod events;
mod health;
mod hostile_input;
mod http_contract;
mod orders_checkout;
mod orders_limits;
mod orders_refunds;
mod orders_support;
mod orders_webhooks;
mod personas;
mod products_concurrency;
mod products_crud;
mod products_pagination;
mod products_validation;
mod purchasing;
mod routing;
mod search_api;
mod search_index;
mod search_indexer;
mod start_up;
mod stock_dashboard;
mod stock_low_stock;
mod stock_movements;
mod stock_reservations;
mod stock_scanner;
mod stock_warehouses;
