//! Users, always inside one tenant.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::models::{NewUser, User, UserChanges};
use crate::db::schema::users;
use crate::db::{last_insert_id, like_pattern, Page, Paged};
use crate::domain::{TenantId, UserId};

/// Filters of the user list.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub role: Option<String>,
    pub enabled: Option<bool>,
    /// Matches username or display name.
    pub q: Option<String>,
}

pub async fn insert(conn: &mut Conn, new: &NewUser) -> QueryResult<UserId> {
    diesel::insert_into(users::table).values(new).execute(conn).await?;
    diesel::select(last_insert_id()).get_result::<u64>(conn).await.map(UserId)
}

pub async fn find(conn: &mut Conn, tenant: TenantId, id: UserId) -> QueryResult<User> {
    users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::id.eq(id.0))
        .select(User::as_select())
        .first(conn)
        .await
}

pub async fn find_by_username(conn: &mut Conn, tenant: TenantId, username: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn list(conn: &mut Conn, tenant: TenantId, filter: &UserFilter, page: Page) -> QueryResult<Paged<User>> {
    let build = || {
        let mut q = users::table.filter(users::tenant_id.eq(tenant.0)).into_boxed();
        if let Some(role) = &filter.role {
            q = q.filter(users::role.eq(role.clone()));
        }
        if let Some(enabled) = filter.enabled {
            q = q.filter(users::enabled.eq(enabled));
        }
        if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
            let pattern = like_pattern(text);
            q = q.filter(users::username.like(pattern.clone()).or(users::display_name.like(pattern)));
        }
        q
    };
    let total: i64 = build().count().get_result(conn).await?;
    let items = build()
        .order(users::id.asc())
        .limit(page.limit())
        .offset(page.offset())
        .select(User::as_select())
        .load(conn)
        .await?;
    Ok(Paged { items, page: page.page, per_page: page.per_page, total })
}

/// Updates a user of `tenant`; returns the rows matched (0: no such user in this tenant).
pub async fn update(conn: &mut Conn, tenant: TenantId, id: UserId, changes: &UserChanges) -> QueryResult<usize> {
    if changes.is_empty() {
        return Ok(0);
    }
    diesel::update(users::table.filter(users::tenant_id.eq(tenant.0)).filter(users::id.eq(id.0)))
        .set(changes)
        .execute(conn)
        .await
}

/// Replaces a password hash (rehash on login); matches on the old hash so a concurrent
/// password change is never overwritten.
pub async fn replace_hash(conn: &mut Conn, id: UserId, old_hash: &str, new_hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::id.eq(id.0)).filter(users::password_hash.eq(old_hash)))
        .set(users::password_hash.eq(new_hash))
        .execute(conn)
        .await
}

pub async fn delete(conn: &mut Conn, tenant: TenantId, id: UserId) -> QueryResult<usize> {
    diesel::delete(users::table.filter(users::tenant_id.eq(tenant.0)).filter(users::id.eq(id.0))).execute(conn).await
}

pub async fn count_in_tenant(conn: &mut Conn, tenant: TenantId) -> QueryResult<i64> {
    users::table.filter(users::tenant_id.eq(tenant.0)).count().get_result(conn).await
}

/// Ids of every user of a tenant (to end their sessions when the tenant is disabled).
pub async fn ids_in_tenant(conn: &mut Conn, tenant: TenantId) -> QueryResult<Vec<UserId>> {
    users::table
        .filter(users::tenant_id.eq(tenant.0))
        .select(users::id)
        .load::<u64>(conn)
        .await
        .map(|ids| ids.into_iter().map(UserId).collect())
}

/// The enabled agents of a tenant that have an extension (the live side's agents).
pub async fn agents_with_extension(conn: &mut Conn, tenant: TenantId) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::role.eq("agent"))
        .filter(users::enabled.eq(true))
        .filter(users::extension.is_not_null())
        .order(users::id.asc())
        .select(User::as_select())
        .load(conn)
        .await
}
