//! The live side's persistence on MariaDB: today's counters and Mayday's pauses.

use std::sync::Arc;

use mayday_actors::live::agent::state::AgentCounters;
use mayday_actors::live::figures::QueueCounters;
use mayday_actors::live::store::{LiveStore, StoreFuture};
use mayday_actors::live::{AgentId, PauseState, TenantId};

use crate::db::models::{AgentPause, LiveCounterRow};
use crate::db::{repos, DbPool};
use crate::domain::UserId;

/// Writes through the server's pool.
#[derive(Clone)]
pub struct MariaDbStore {
    pool: DbPool,
}

impl MariaDbStore {
    pub fn new(pool: DbPool) -> Arc<Self> {
        Arc::new(MariaDbStore { pool })
    }

    fn save_row(&self, row: LiveCounterRow) -> StoreFuture {
        let pool = self.pool.clone();
        Box::pin(async move {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            repos::live::save_counters(&mut conn, &row).await.map_err(|e| e.to_string())
        })
    }
}

/// Epoch milliseconds as a UTC datetime for DATETIME columns.
pub fn datetime_of(ms: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc()
}

impl LiveStore for MariaDbStore {
    fn save_queue_counters(
        &self,
        tenant: TenantId,
        queue: &str,
        day: chrono::NaiveDate,
        counters: &QueueCounters,
    ) -> StoreFuture {
        let json = serde_json::to_string(counters).unwrap_or_default();
        self.save_row(LiveCounterRow {
            tenant_id: tenant.0,
            kind: "queue".into(),
            name: queue.to_string(),
            day,
            counters: json,
        })
    }

    fn save_agent_counters(
        &self,
        tenant: TenantId,
        agent: AgentId,
        day: chrono::NaiveDate,
        counters: &AgentCounters,
    ) -> StoreFuture {
        let json = serde_json::to_string(counters).unwrap_or_default();
        self.save_row(LiveCounterRow {
            tenant_id: tenant.0,
            kind: "agent".into(),
            name: agent.0.to_string(),
            day,
            counters: json,
        })
    }

    fn save_pause(&self, tenant: TenantId, agent: AgentId, pause: Option<&PauseState>) -> StoreFuture {
        let pool = self.pool.clone();
        let row = pause.map(|p| AgentPause {
            tenant_id: tenant.0,
            user_id: agent.0,
            reason: p.reason.clone(),
            since: datetime_of(p.since_ms),
        });
        Box::pin(async move {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            match row {
                Some(r) => repos::live::set_pause(&mut conn, &r).await,
                None => repos::live::clear_pause(&mut conn, tenant, UserId(agent.0)).await,
            }
            .map_err(|e| e.to_string())
        })
    }
}
