//! The local stack's helper: reads `template.yaml` so the local tables and buckets are the ones
//! AWS gets (keys, indexes, streams, TTL), keeps development signing keys, and mints tokens.
//!
//! Used by `make dev` (through the `devstack` binary) and by the tests (per-test tables).

mod drill;
mod gateway;
mod keys;
pub mod live;
mod outbox;
mod smoke;
mod stream;
mod template;

pub use drill::{Drill, DrillReport, delete_copy};
pub use gateway::{Gateway, Integration};
pub use keys::{load_or_create_signing_key, mint_token};
pub use outbox::{SentMessage, outbox, verify_sender};
pub use smoke::{Smoke, SmokeUser};
pub use stream::{StreamPoller, index as index_batch};
pub use template::{Route, Template};
