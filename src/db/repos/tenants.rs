//! Tenants and the host names they are reached by (platform level: superadmins only).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::models::{NewTenant, NewTenantDomain, Tenant, TenantChanges};
use crate::db::schema::{tenant_domains, tenants};
use crate::db::{last_insert_id, like_pattern, Page, Paged};
use crate::domain::TenantId;

pub async fn insert(conn: &mut Conn, new: &NewTenant) -> QueryResult<TenantId> {
    diesel::insert_into(tenants::table).values(new).execute(conn).await?;
    diesel::select(last_insert_id()).get_result::<u64>(conn).await.map(TenantId)
}

pub async fn find(conn: &mut Conn, id: TenantId) -> QueryResult<Tenant> {
    tenants::table.find(id.0).select(Tenant::as_select()).first(conn).await
}

pub async fn find_by_slug(conn: &mut Conn, slug: &str) -> QueryResult<Option<Tenant>> {
    tenants::table.filter(tenants::slug.eq(slug)).select(Tenant::as_select()).first(conn).await.optional()
}

pub async fn find_by_domain(conn: &mut Conn, domain: &str) -> QueryResult<Option<Tenant>> {
    tenants::table
        .inner_join(tenant_domains::table)
        .filter(tenant_domains::domain.eq(domain))
        .select(Tenant::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn list(conn: &mut Conn, q: Option<&str>, page: Page) -> QueryResult<Paged<Tenant>> {
    let build = || {
        let mut query = tenants::table.into_boxed();
        if let Some(text) = q.filter(|t| !t.is_empty()) {
            let pattern = like_pattern(text);
            query = query.filter(tenants::slug.like(pattern.clone()).or(tenants::name.like(pattern)));
        }
        query
    };
    let total: i64 = build().count().get_result(conn).await?;
    let items = build()
        .order(tenants::id.asc())
        .limit(page.limit())
        .offset(page.offset())
        .select(Tenant::as_select())
        .load(conn)
        .await?;
    Ok(Paged { items, page: page.page, per_page: page.per_page, total })
}

/// Every enabled tenant (supervision at start).
pub async fn all_enabled(conn: &mut Conn) -> QueryResult<Vec<Tenant>> {
    tenants::table
        .filter(tenants::enabled.eq(true))
        .order(tenants::id.asc())
        .select(Tenant::as_select())
        .load(conn)
        .await
}

/// Every tenant, on any PBX.
pub async fn all(conn: &mut Conn) -> QueryResult<Vec<Tenant>> {
    tenants::table.order(tenants::id.asc()).select(Tenant::as_select()).load(conn).await
}

/// Tenants living on a PBX.
pub async fn on_pbx(conn: &mut Conn, pbx: u64) -> QueryResult<Vec<Tenant>> {
    tenants::table.filter(tenants::pbx_id.eq(pbx)).order(tenants::id.asc()).select(Tenant::as_select()).load(conn).await
}

/// Takes the tenant's dialplan lock until the transaction ends (an exclusive lock taken at
/// once: `ON DUPLICATE KEY UPDATE` never holds a shared lock first).
pub async fn lock_dialplan(conn: &mut Conn, id: TenantId) -> QueryResult<()> {
    diesel::sql_query("INSERT INTO dialplan_locks (tenant_id) VALUES (?) ON DUPLICATE KEY UPDATE tenant_id = tenant_id")
        .bind::<diesel::sql_types::Unsigned<diesel::sql_types::BigInt>, _>(id.0)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Tenants whose dialplan rows an older compiler than `generation` wrote.
pub async fn with_dialplan_before(conn: &mut Conn, generation: u32) -> QueryResult<Vec<TenantId>> {
    tenants::table
        .filter(tenants::dialplan_generation.lt(generation))
        .order(tenants::id.asc())
        .select(tenants::id)
        .load::<u64>(conn)
        .await
        .map(|ids| ids.into_iter().map(TenantId).collect())
}

pub async fn set_dialplan_generation(conn: &mut Conn, id: TenantId, generation: u32) -> QueryResult<usize> {
    diesel::update(tenants::table.find(id.0)).set(tenants::dialplan_generation.eq(generation)).execute(conn).await
}

pub async fn update(conn: &mut Conn, id: TenantId, changes: &TenantChanges) -> QueryResult<usize> {
    if changes.is_empty() {
        return Ok(0);
    }
    diesel::update(tenants::table.find(id.0)).set(changes).execute(conn).await
}

pub async fn delete(conn: &mut Conn, id: TenantId) -> QueryResult<usize> {
    diesel::delete(tenants::table.find(id.0)).execute(conn).await
}

pub async fn domains(conn: &mut Conn, id: TenantId) -> QueryResult<Vec<String>> {
    tenant_domains::table
        .filter(tenant_domains::tenant_id.eq(id.0))
        .order(tenant_domains::domain.asc())
        .select(tenant_domains::domain)
        .load(conn)
        .await
}

/// Replaces a tenant's host names.
pub async fn set_domains(conn: &mut Conn, id: TenantId, domains: &[String]) -> QueryResult<()> {
    diesel::delete(tenant_domains::table.filter(tenant_domains::tenant_id.eq(id.0))).execute(conn).await?;
    if !domains.is_empty() {
        let rows: Vec<NewTenantDomain> =
            domains.iter().map(|d| NewTenantDomain { tenant_id: id.0, domain: d.clone() }).collect();
        diesel::insert_into(tenant_domains::table).values(&rows).execute(conn).await?;
    }
    Ok(())
}
