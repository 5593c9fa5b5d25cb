//! A tenant's PJSIP trunks (Mayday's records), always inside one tenant.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::models::{Trunk, TrunkFields};
use crate::db::schema::trunks;
use crate::db::{last_insert_id, Page, Paged};
use crate::domain::TenantId;

pub async fn insert(conn: &mut Conn, t: &TrunkFields) -> QueryResult<u64> {
    diesel::insert_into(trunks::table).values(t).execute(conn).await?;
    diesel::select(last_insert_id()).get_result::<u64>(conn).await
}

pub async fn find(conn: &mut Conn, tenant: TenantId, id: u64) -> QueryResult<Trunk> {
    trunks::table
        .filter(trunks::tenant_id.eq(tenant.0))
        .filter(trunks::id.eq(id))
        .select(Trunk::as_select())
        .first(conn)
        .await
}

pub async fn list(conn: &mut Conn, tenant: TenantId, page: Page) -> QueryResult<Paged<Trunk>> {
    let total: i64 = trunks::table.filter(trunks::tenant_id.eq(tenant.0)).count().get_result(conn).await?;
    let items = trunks::table
        .filter(trunks::tenant_id.eq(tenant.0))
        .order(trunks::name.asc())
        .limit(page.limit())
        .offset(page.offset())
        .select(Trunk::as_select())
        .load(conn)
        .await?;
    Ok(Paged { items, page: page.page, per_page: page.per_page, total })
}

pub async fn update(conn: &mut Conn, tenant: TenantId, id: u64, t: &TrunkFields) -> QueryResult<usize> {
    diesel::update(trunks::table.filter(trunks::tenant_id.eq(tenant.0)).filter(trunks::id.eq(id)))
        .set(t)
        .execute(conn)
        .await
}

/// Only one default trunk per tenant.
pub async fn clear_default_except(conn: &mut Conn, tenant: TenantId, id: u64) -> QueryResult<()> {
    diesel::update(trunks::table.filter(trunks::tenant_id.eq(tenant.0)).filter(trunks::id.ne(id)))
        .set(trunks::is_default.eq(false))
        .execute(conn)
        .await
        .map(|_| ())
}

/// What other tenants' trunks are identified by: `(match_ips, host, register)`.
pub async fn identify_of_others(conn: &mut Conn, tenant: TenantId) -> QueryResult<Vec<(Option<String>, String, bool)>> {
    trunks::table
        .filter(trunks::tenant_id.ne(tenant.0))
        .select((trunks::match_ips, trunks::host, trunks::register))
        .load(conn)
        .await
}

/// Every trunk of a tenant (the dialplan's names).
pub async fn all_of(conn: &mut Conn, tenant: TenantId) -> QueryResult<Vec<Trunk>> {
    trunks::table
        .filter(trunks::tenant_id.eq(tenant.0))
        .order(trunks::id.asc())
        .select(Trunk::as_select())
        .load(conn)
        .await
}

pub async fn delete(conn: &mut Conn, tenant: TenantId, id: u64) -> QueryResult<usize> {
    diesel::delete(trunks::table.filter(trunks::tenant_id.eq(tenant.0)).filter(trunks::id.eq(id))).execute(conn).await
}

/// How many agents, queues and trunks a tenant has (a name prefix cannot change under them).
pub async fn count_provisioned(conn: &mut Conn, tenant: TenantId) -> QueryResult<i64> {
    use crate::db::schema::{agents, tenant_queues};
    let a: i64 = agents::table.filter(agents::tenant_id.eq(tenant.0)).count().get_result(conn).await?;
    let q: i64 = tenant_queues::table.filter(tenant_queues::tenant_id.eq(tenant.0)).count().get_result(conn).await?;
    let t: i64 = trunks::table.filter(trunks::tenant_id.eq(tenant.0)).count().get_result(conn).await?;
    Ok(a + q + t)
}

/// A trunk's last balance check.
#[derive(Clone, Debug, Queryable)]
pub struct BalanceRow {
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub at: Option<chrono::NaiveDateTime>,
    pub error: Option<String>,
    pub error_at: Option<chrono::NaiveDateTime>,
}

pub async fn balance(conn: &mut Conn, tenant: TenantId, id: u64) -> QueryResult<BalanceRow> {
    trunks::table
        .filter(trunks::tenant_id.eq(tenant.0))
        .filter(trunks::id.eq(id))
        .select((
            trunks::balance_amount,
            trunks::balance_currency,
            trunks::balance_at,
            trunks::balance_error,
            trunks::balance_error_at,
        ))
        .first(conn)
        .await
}

pub async fn set_balance(
    conn: &mut Conn,
    tenant: TenantId,
    id: u64,
    amount: f64,
    currency: Option<&str>,
    at: chrono::NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(trunks::table.filter(trunks::tenant_id.eq(tenant.0)).filter(trunks::id.eq(id)))
        .set((
            trunks::balance_amount.eq(amount),
            trunks::balance_currency.eq(currency),
            trunks::balance_at.eq(at),
            trunks::balance_error.eq(None::<String>),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn set_balance_error(
    conn: &mut Conn,
    tenant: TenantId,
    id: u64,
    error: &str,
    at: chrono::NaiveDateTime,
) -> QueryResult<()> {
    let error: String = error.chars().take(250).collect();
    diesel::update(trunks::table.filter(trunks::tenant_id.eq(tenant.0)).filter(trunks::id.eq(id)))
        .set((trunks::balance_error.eq(error), trunks::balance_error_at.eq(at)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Every enabled trunk with a provider account (the scheduled balance checks).
pub async fn with_accounts(conn: &mut Conn) -> QueryResult<Vec<Trunk>> {
    trunks::table
        .filter(trunks::enabled.eq(true))
        .filter(trunks::account_number.is_not_null())
        .select(Trunk::as_select())
        .load(conn)
        .await
}

pub async fn find_by_name(conn: &mut Conn, tenant: TenantId, name: &str) -> QueryResult<Option<Trunk>> {
    trunks::table
        .filter(trunks::tenant_id.eq(tenant.0))
        .filter(trunks::name.eq(name))
        .select(Trunk::as_select())
        .first(conn)
        .await
        .optional()
}
