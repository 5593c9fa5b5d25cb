//! Writes audit entries inside the caller's transaction, so a change and its record land
//! together or not at all.

use crate::db::models::NewAuditEntry;
use crate::db::repos::{self, Conn};
use crate::domain::{Caller, TenantId};

/// One audited change.
pub struct Change<'a> {
    pub tenant: Option<TenantId>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<String>,
    /// What changed, as JSON; never a secret.
    pub detail: Option<serde_json::Value>,
}

pub async fn record(conn: &mut Conn, by: Option<&Caller>, change: Change<'_>) -> diesel::QueryResult<()> {
    let entry = NewAuditEntry {
        tenant_id: change.tenant.map(|t| t.0),
        actor_user_id: by.map(|c| c.user.0),
        action: change.action.to_string(),
        entity: change.entity.to_string(),
        entity_id: change.entity_id,
        detail: change.detail.map(|d| d.to_string()),
    };
    repos::audit::insert(conn, &entry).await
}
