//! Agents: Mayday's telephony record of an agent user, always inside one tenant.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::models::{AgentRow, User};
use crate::db::schema::{agents, users};
use crate::db::{like_pattern, Page, Paged};
use crate::domain::{TenantId, UserId};

pub async fn insert(conn: &mut Conn, row: &AgentRow) -> QueryResult<()> {
    diesel::insert_into(agents::table).values(row).execute(conn).await.map(|_| ())
}

pub async fn find(conn: &mut Conn, tenant: TenantId, id: UserId) -> QueryResult<(User, AgentRow)> {
    users::table
        .inner_join(agents::table.on(agents::user_id.eq(users::id)))
        .filter(users::tenant_id.eq(tenant.0))
        .filter(agents::tenant_id.eq(tenant.0))
        .filter(users::id.eq(id.0))
        .select((User::as_select(), AgentRow::as_select()))
        .first(conn)
        .await
}

/// [`find`] with the rows locked until the transaction ends (`SELECT ... FOR UPDATE`).
pub async fn find_for_update(conn: &mut Conn, tenant: TenantId, id: UserId) -> QueryResult<(User, AgentRow)> {
    users::table
        .inner_join(agents::table.on(agents::user_id.eq(users::id)))
        .filter(users::tenant_id.eq(tenant.0))
        .filter(agents::tenant_id.eq(tenant.0))
        .filter(users::id.eq(id.0))
        .select((User::as_select(), AgentRow::as_select()))
        .for_update()
        .first(conn)
        .await
}

/// Filters of the agent list.
#[derive(Clone, Debug, Default)]
pub struct AgentFilter {
    pub q: Option<String>,
    pub enabled: Option<bool>,
    pub profile: Option<String>,
}

pub async fn list(
    conn: &mut Conn,
    tenant: TenantId,
    f: &AgentFilter,
    page: Page,
) -> QueryResult<Paged<(User, AgentRow)>> {
    let build = || {
        let mut q = users::table
            .inner_join(agents::table.on(agents::user_id.eq(users::id)))
            .filter(users::tenant_id.eq(tenant.0))
            .into_boxed();
        if let Some(e) = f.enabled {
            q = q.filter(users::enabled.eq(e));
        }
        if let Some(p) = &f.profile {
            q = q.filter(agents::profile.eq(p.clone()));
        }
        if let Some(text) = f.q.as_deref().filter(|t| !t.is_empty()) {
            let pattern = like_pattern(text);
            q = q.filter(
                users::username
                    .like(pattern.clone())
                    .or(users::display_name.like(pattern.clone()))
                    .or(users::extension.like(pattern)),
            );
        }
        q
    };
    let total: i64 = build().count().get_result(conn).await?;
    let items = build()
        .order(users::extension.asc())
        .limit(page.limit())
        .offset(page.offset())
        .select((User::as_select(), AgentRow::as_select()))
        .load(conn)
        .await?;
    Ok(Paged { items, page: page.page, per_page: page.per_page, total })
}

/// Rewrites the agent's telephony record.
pub async fn update(conn: &mut Conn, row: &AgentRow) -> QueryResult<()> {
    diesel::update(agents::table.find(row.user_id).filter(agents::tenant_id.eq(row.tenant_id)))
        .set((
            agents::profile.eq(&row.profile),
            agents::codecs.eq(&row.codecs),
            agents::sip_secret_enc.eq(&row.sip_secret_enc),
            agents::endpoint.eq(&row.endpoint),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The telephony record of a user, if it is an agent.
pub async fn by_user(conn: &mut Conn, id: UserId) -> QueryResult<Option<AgentRow>> {
    agents::table.find(id.0).select(AgentRow::as_select()).first(conn).await.optional()
}

/// Every agent of a tenant, by extension.
pub async fn all_of(conn: &mut Conn, tenant: TenantId) -> QueryResult<Vec<(User, AgentRow)>> {
    users::table
        .inner_join(agents::table.on(agents::user_id.eq(users::id)))
        .filter(users::tenant_id.eq(tenant.0))
        .order(users::extension.asc())
        .select((User::as_select(), AgentRow::as_select()))
        .load(conn)
        .await
}
