//! Access tokens: who the caller is and what their role lets them do.
//!
//! Tokens are EdDSA-signed JWTs naming their key by `kid`; verifiers hold the public keys as a
//! JWKS so keys can be rotated by publishing more than one. Every function verifies tokens
//! itself (defence in depth: `cargo lambda watch` has no authorizers).

mod keys;
pub mod passwords;
mod random;
mod roles;
mod tokens;
pub mod two_factor;
pub(crate) mod webhook_signatures;

pub use keys::{Jwks, SigningKey};
pub use passwords::Verified;
pub use random::{digest, opaque_token, random_digits};
pub use roles::{Guard, Permission, Role, can};
pub use tokens::{AccessClaims, Caller, TokenError, TokenVerifier};
pub use webhook_signatures::{WebhookSecrets, sign_hex};
