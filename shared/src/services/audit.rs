//! Audit entries for what a request did: who, which action, and the request's id and address.

use crate::http::RequestMeta;
use crate::store::AuditEntry;

/// An audit entry for `action` by `actor`, carrying the request's id and address.
pub fn audit(meta: &RequestMeta, actor: &str, action: &str) -> AuditEntry {
    AuditEntry::new(actor, action)
        .from_request(meta.request_id.as_deref(), meta.source_ip.as_deref())
}
