//! Application services: the flows several functions share, under business names. Handlers
//! in `functions/*` own the routes, parse a request and call one of these. (The movement and
//! receipt flows name their idempotency scopes here because two functions share each.)
//!
//! | service          | used by                                   |
//! |------------------|-------------------------------------------|
//! | [`idempotency`]  | every write a client may retry            |
//! | [`commit`]       | every optimistic write that can lose a race |
//! | [`movements`]    | stock (movements, scanner)                |
//! | [`reservations`] | stock (reservations), orders                |
//! | [`settlement`]   | orders (verify, cancel, refunds read through it), payments-webhook, the sweep |
//! | [`sweep`]        | stock-sweeper, `make dev`                  |
//! | [`receiving`]    | purchasing (receipts), stock (scanner)    |
//! | [`stock_alerts`] | every flow that changes a level (low, out, restocked events) |
//! | [`catalogue`]    | lookups behind all of the above           |
//! | [`audit`]        | everything that records an audit entry    |
//! | [`loyalty`]      | loyalty (order events), orders (redemption, the loyalty reads) |

pub mod audit;
pub mod catalogue;
pub mod commit;
pub mod idempotency;
pub mod loyalty;
pub mod movements;
mod provider_errors;
pub mod receiving;
pub mod reservations;
pub mod settlement;
mod state;
pub mod stock_alerts;
pub mod sweep;

pub use state::AppState;
