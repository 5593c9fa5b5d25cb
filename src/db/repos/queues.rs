//! A tenant's queues and their members (Mayday's records), always inside one tenant.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::models::{Membership, QueueFields, TenantQueue, User};
use crate::db::schema::{queue_memberships, tenant_queues, users};
use crate::db::{last_insert_id, like_pattern, Page, Paged};
use crate::domain::{TenantId, UserId};

pub async fn insert(conn: &mut Conn, q: &QueueFields) -> QueryResult<u64> {
    diesel::insert_into(tenant_queues::table).values(q).execute(conn).await?;
    diesel::select(last_insert_id()).get_result::<u64>(conn).await
}

pub async fn find(conn: &mut Conn, tenant: TenantId, id: u64) -> QueryResult<TenantQueue> {
    tenant_queues::table
        .filter(tenant_queues::tenant_id.eq(tenant.0))
        .filter(tenant_queues::id.eq(id))
        .select(TenantQueue::as_select())
        .first(conn)
        .await
}

pub async fn list(conn: &mut Conn, tenant: TenantId, q: Option<&str>, page: Page) -> QueryResult<Paged<TenantQueue>> {
    let build = || {
        let mut query = tenant_queues::table.filter(tenant_queues::tenant_id.eq(tenant.0)).into_boxed();
        if let Some(text) = q.filter(|t| !t.is_empty()) {
            query = query.filter(tenant_queues::name.like(like_pattern(text)));
        }
        query
    };
    let total: i64 = build().count().get_result(conn).await?;
    let items = build()
        .order(tenant_queues::name.asc())
        .limit(page.limit())
        .offset(page.offset())
        .select(TenantQueue::as_select())
        .load(conn)
        .await?;
    Ok(Paged { items, page: page.page, per_page: page.per_page, total })
}

pub async fn find_by_name(conn: &mut Conn, tenant: TenantId, name: &str) -> QueryResult<Option<TenantQueue>> {
    tenant_queues::table
        .filter(tenant_queues::tenant_id.eq(tenant.0))
        .filter(tenant_queues::name.eq(name))
        .select(TenantQueue::as_select())
        .first(conn)
        .await
        .optional()
}

/// Every queue of a tenant (the live spec's settings).
pub async fn all_of(conn: &mut Conn, tenant: TenantId) -> QueryResult<Vec<TenantQueue>> {
    tenant_queues::table
        .filter(tenant_queues::tenant_id.eq(tenant.0))
        .order(tenant_queues::name.asc())
        .select(TenantQueue::as_select())
        .load(conn)
        .await
}

pub async fn update(conn: &mut Conn, tenant: TenantId, id: u64, q: &QueueFields) -> QueryResult<usize> {
    diesel::update(tenant_queues::table.filter(tenant_queues::tenant_id.eq(tenant.0)).filter(tenant_queues::id.eq(id)))
        .set(q)
        .execute(conn)
        .await
}

/// Deletes a queue (its memberships cascade).
pub async fn delete(conn: &mut Conn, tenant: TenantId, id: u64) -> QueryResult<usize> {
    diesel::delete(tenant_queues::table.filter(tenant_queues::tenant_id.eq(tenant.0)).filter(tenant_queues::id.eq(id)))
        .execute(conn)
        .await
}

/// One of an agent's memberships, with its queue's names.
#[derive(Clone, Debug, Queryable)]
pub struct AgentMembership {
    pub queue_id: u64,
    pub name: String,
    pub asterisk_name: String,
    pub penalty: i32,
    pub paused: bool,
}

pub async fn memberships_of(conn: &mut Conn, user: UserId) -> QueryResult<Vec<AgentMembership>> {
    queue_memberships::table
        .inner_join(tenant_queues::table)
        .filter(queue_memberships::user_id.eq(user.0))
        .order(tenant_queues::name.asc())
        .select((
            tenant_queues::id,
            tenant_queues::name,
            tenant_queues::asterisk_name,
            queue_memberships::penalty,
            queue_memberships::paused,
        ))
        .load(conn)
        .await
}

/// The members of a queue with their users.
pub async fn members(conn: &mut Conn, queue: u64) -> QueryResult<Vec<(Membership, User)>> {
    queue_memberships::table
        .inner_join(users::table)
        .filter(queue_memberships::queue_id.eq(queue))
        .order(users::extension.asc())
        .select((Membership::as_select(), User::as_select()))
        .load(conn)
        .await
}

pub async fn member(conn: &mut Conn, queue: u64, user: UserId) -> QueryResult<Option<Membership>> {
    queue_memberships::table.find((queue, user.0)).select(Membership::as_select()).first(conn).await.optional()
}

/// Adds a member or changes its penalty and paused flag.
pub async fn put_member(conn: &mut Conn, m: &Membership) -> QueryResult<()> {
    diesel::insert_into(queue_memberships::table)
        .values(m)
        .on_conflict(diesel::dsl::DuplicatedKeys)
        .do_update()
        .set((queue_memberships::penalty.eq(m.penalty), queue_memberships::paused.eq(m.paused)))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn remove_member(conn: &mut Conn, queue: u64, user: UserId) -> QueryResult<usize> {
    diesel::delete(queue_memberships::table.find((queue, user.0))).execute(conn).await
}
