//! What the live side persists: Mayday's pauses and today's counters.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::models::{AgentPause, LiveCounterRow};
use crate::db::schema::{agent_pauses, live_counters};
use crate::domain::{TenantId, UserId};

pub async fn save_counters(conn: &mut Conn, row: &LiveCounterRow) -> QueryResult<()> {
    diesel::replace_into(live_counters::table).values(row).execute(conn).await.map(|_| ())
}

pub async fn counters_of_day(
    conn: &mut Conn,
    tenant: TenantId,
    day: chrono::NaiveDate,
) -> QueryResult<Vec<LiveCounterRow>> {
    live_counters::table
        .filter(live_counters::tenant_id.eq(tenant.0))
        .filter(live_counters::day.eq(day))
        .select(LiveCounterRow::as_select())
        .load(conn)
        .await
}

pub async fn set_pause(conn: &mut Conn, pause: &AgentPause) -> QueryResult<()> {
    diesel::replace_into(agent_pauses::table).values(pause).execute(conn).await.map(|_| ())
}

pub async fn clear_pause(conn: &mut Conn, tenant: TenantId, user: UserId) -> QueryResult<()> {
    diesel::delete(
        agent_pauses::table.filter(agent_pauses::tenant_id.eq(tenant.0)).filter(agent_pauses::user_id.eq(user.0)),
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn pauses(conn: &mut Conn, tenant: TenantId) -> QueryResult<Vec<AgentPause>> {
    agent_pauses::table.filter(agent_pauses::tenant_id.eq(tenant.0)).select(AgentPause::as_select()).load(conn).await
}

pub async fn pause_of(conn: &mut Conn, tenant: TenantId, user: UserId) -> QueryResult<Option<AgentPause>> {
    agent_pauses::table
        .filter(agent_pauses::tenant_id.eq(tenant.0))
        .filter(agent_pauses::user_id.eq(user.0))
        .select(AgentPause::as_select())
        .first(conn)
        .await
        .optional()
}
