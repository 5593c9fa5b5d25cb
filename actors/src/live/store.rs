//! Where the live side persists what must survive a restart: today's counters and the
//! pauses Mayday owns. The server implements it on MariaDB (the actors crate knows no SQL);
//! [`MemoryStore`] serves tests and benches.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use parking_lot::Mutex;

use super::agent::state::AgentCounters;
use super::figures::QueueCounters;
use super::ids::{AgentId, TenantId};
use super::spec::PauseState;

pub type StoreFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Persistence of the live side.
pub trait LiveStore: Send + Sync + 'static {
    fn save_queue_counters(
        &self,
        tenant: TenantId,
        queue: &str,
        day: chrono::NaiveDate,
        counters: &QueueCounters,
    ) -> StoreFuture;
    fn save_agent_counters(
        &self,
        tenant: TenantId,
        agent: AgentId,
        day: chrono::NaiveDate,
        counters: &AgentCounters,
    ) -> StoreFuture;
    /// `None`: the agent is not paused.
    fn save_pause(&self, tenant: TenantId, agent: AgentId, pause: Option<&PauseState>) -> StoreFuture;
}

/// Keeps everything in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    pub queues: Mutex<HashMap<(TenantId, String), (chrono::NaiveDate, QueueCounters)>>,
    pub agents: Mutex<HashMap<(TenantId, AgentId), (chrono::NaiveDate, AgentCounters)>>,
    pub pauses: Mutex<HashMap<(TenantId, AgentId), PauseState>>,
}

impl LiveStore for MemoryStore {
    fn save_queue_counters(
        &self,
        tenant: TenantId,
        queue: &str,
        day: chrono::NaiveDate,
        counters: &QueueCounters,
    ) -> StoreFuture {
        self.queues.lock().insert((tenant, queue.to_string()), (day, counters.clone()));
        Box::pin(async { Ok(()) })
    }

    fn save_agent_counters(
        &self,
        tenant: TenantId,
        agent: AgentId,
        day: chrono::NaiveDate,
        counters: &AgentCounters,
    ) -> StoreFuture {
        self.agents.lock().insert((tenant, agent), (day, counters.clone()));
        Box::pin(async { Ok(()) })
    }

    fn save_pause(&self, tenant: TenantId, agent: AgentId, pause: Option<&PauseState>) -> StoreFuture {
        let mut pauses = self.pauses.lock();
        match pause {
            Some(p) => {
                pauses.insert((tenant, agent), p.clone());
            }
            None => {
                pauses.remove(&(tenant, agent));
            }
        }
        Box::pin(async { Ok(()) })
    }
}
