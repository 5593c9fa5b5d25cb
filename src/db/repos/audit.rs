//! The audit log: who changed what, when. Details never hold secrets.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::models::{AuditEntry, NewAuditEntry};
use crate::db::schema::audit_log;
use crate::domain::TenantId;

pub async fn insert(conn: &mut Conn, entry: &NewAuditEntry) -> QueryResult<()> {
    diesel::insert_into(audit_log::table).values(entry).execute(conn).await.map(|_| ())
}

/// The latest entries of a tenant, newest first.
pub async fn recent(conn: &mut Conn, tenant: TenantId, limit: i64) -> QueryResult<Vec<AuditEntry>> {
    audit_log::table
        .filter(audit_log::tenant_id.eq(tenant.0))
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)
        .await
}
