//! PBXs (platform level: superadmins only).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::models::{NewPbx, Pbx, PbxChanges};
use crate::db::schema::pbxes;
use crate::db::{last_insert_id, Page, Paged};
use crate::domain::PbxId;

pub async fn insert(conn: &mut Conn, new: &NewPbx) -> QueryResult<PbxId> {
    diesel::insert_into(pbxes::table).values(new).execute(conn).await?;
    diesel::select(last_insert_id()).get_result::<u64>(conn).await.map(PbxId)
}

pub async fn find(conn: &mut Conn, id: PbxId) -> QueryResult<Pbx> {
    pbxes::table.find(id.0).select(Pbx::as_select()).first(conn).await
}

pub async fn list(conn: &mut Conn, page: Page) -> QueryResult<Paged<Pbx>> {
    let total: i64 = pbxes::table.count().get_result(conn).await?;
    let items = pbxes::table
        .order(pbxes::id.asc())
        .limit(page.limit())
        .offset(page.offset())
        .select(Pbx::as_select())
        .load(conn)
        .await?;
    Ok(Paged { items, page: page.page, per_page: page.per_page, total })
}

pub async fn all_enabled(conn: &mut Conn) -> QueryResult<Vec<Pbx>> {
    pbxes::table.filter(pbxes::enabled.eq(true)).order(pbxes::id.asc()).select(Pbx::as_select()).load(conn).await
}

pub async fn update(conn: &mut Conn, id: PbxId, changes: &PbxChanges) -> QueryResult<usize> {
    if changes.is_empty() {
        return Ok(0);
    }
    diesel::update(pbxes::table.find(id.0)).set(changes).execute(conn).await
}

pub async fn delete(conn: &mut Conn, id: PbxId) -> QueryResult<usize> {
    diesel::delete(pbxes::table.find(id.0)).execute(conn).await
}
