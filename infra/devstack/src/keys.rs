//! Development signing keys and tokens.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use shared::auth::{AccessClaims, Role, SigningKey};

/// Loads the signing key stored at `path` (PKCS#8 DER), creating it on first use.
pub fn load_or_create_signing_key(path: &Path, kid: &str) -> Result<SigningKey> {
    if path.exists() {
        let der = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        return SigningKey::from_pkcs8(kid, &der).map_err(|e| anyhow!("{}: {e}", path.display()));
    }
    let key = SigningKey::generate(kid).map_err(|e| anyhow!(e))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, key.pkcs8()).with_context(|| format!("writing {}", path.display()))?;
    Ok(key)
}

/// An access token for `sub` with `role`, valid for `ttl_seconds`.
pub fn mint_token(
    key: &SigningKey,
    sub: &str,
    role: Role,
    issuer: &str,
    audience: &str,
    ttl_seconds: i64,
) -> Result<String> {
    let mut claims = AccessClaims::issue(sub, role, issuer, audience, Duration::ZERO, 0);
    // A negative lifetime makes an expired token, which tests need.
    claims.exp = claims.iat + ttl_seconds;
    claims
        .sign(key)
        .map_err(|e| anyhow!("signing the token: {e}"))
}
