//! The installation's id, the installed licence, and the seats split between tenants.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::schema::{installation, license_allocations, license_state};
use crate::domain::TenantId;

/// This installation's id, created the first time it is asked for.
pub async fn installation_id(conn: &mut Conn) -> QueryResult<String> {
    let fresh = uuid::Uuid::new_v4().to_string();
    diesel::insert_or_ignore_into(installation::table)
        .values((installation::id.eq(1u8), installation::installation_id.eq(&fresh)))
        .execute(conn)
        .await?;
    installation::table.find(1u8).select(installation::installation_id).first(conn).await
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = license_state, check_for_backend(diesel::mysql::Mysql))]
pub struct LicenseStateRow {
    pub document: Option<String>,
    pub installed_at: Option<chrono::NaiveDateTime>,
    pub revoked: String,
    pub last_sync_ok_at: Option<chrono::NaiveDateTime>,
    pub last_sync_error: Option<String>,
}

async fn ensure_row(conn: &mut Conn) -> QueryResult<()> {
    diesel::insert_or_ignore_into(license_state::table)
        .values((license_state::id.eq(1u8), license_state::revoked.eq("[]")))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn state(conn: &mut Conn) -> QueryResult<LicenseStateRow> {
    ensure_row(conn).await?;
    license_state::table.find(1u8).select(LicenseStateRow::as_select()).first(conn).await
}

pub async fn install(conn: &mut Conn, document: &str, at: chrono::NaiveDateTime) -> QueryResult<()> {
    ensure_row(conn).await?;
    diesel::update(license_state::table.find(1u8))
        .set((license_state::document.eq(document), license_state::installed_at.eq(at)))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn sync_ok(conn: &mut Conn, revoked: &str, at: chrono::NaiveDateTime) -> QueryResult<()> {
    ensure_row(conn).await?;
    diesel::update(license_state::table.find(1u8))
        .set((
            license_state::revoked.eq(revoked),
            license_state::last_sync_ok_at.eq(at),
            license_state::last_sync_error.eq(None::<String>),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The vendor's revocation list alone (a sync whose licence was refused: the grace period
/// does not move).
pub async fn set_revoked(conn: &mut Conn, revoked: &str) -> QueryResult<()> {
    ensure_row(conn).await?;
    diesel::update(license_state::table.find(1u8))
        .set(license_state::revoked.eq(revoked))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn sync_failed(conn: &mut Conn, error: &str) -> QueryResult<()> {
    ensure_row(conn).await?;
    let error: String = error.chars().take(250).collect();
    diesel::update(license_state::table.find(1u8))
        .set(license_state::last_sync_error.eq(error))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn allocation(conn: &mut Conn, tenant: TenantId, feature: &str) -> QueryResult<Option<u32>> {
    license_allocations::table.find((tenant.0, feature)).select(license_allocations::seats).first(conn).await.optional()
}

pub async fn allocations(conn: &mut Conn) -> QueryResult<Vec<(u64, String, u32)>> {
    license_allocations::table
        .order((license_allocations::tenant_id.asc(), license_allocations::feature.asc()))
        .select((license_allocations::tenant_id, license_allocations::feature, license_allocations::seats))
        .load(conn)
        .await
}

pub async fn set_allocation(conn: &mut Conn, tenant: TenantId, feature: &str, seats: Option<u32>) -> QueryResult<()> {
    match seats {
        Some(n) => diesel::replace_into(license_allocations::table)
            .values((
                license_allocations::tenant_id.eq(tenant.0),
                license_allocations::feature.eq(feature),
                license_allocations::seats.eq(n),
            ))
            .execute(conn)
            .await
            .map(|_| ()),
        None => diesel::delete(license_allocations::table.find((tenant.0, feature))).execute(conn).await.map(|_| ()),
    }
}
