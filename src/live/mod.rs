//! The server's side of the live actors: starting them from the database, re-applying
//! the spec when PBXs, tenants or agents change, and the MariaDB store they persist to.

pub mod spec;
pub mod store;

use std::sync::{Arc, OnceLock};

use actix::prelude::*;
use mayday_actors::live::supervisor::{Apply, LiveSupervisor};
use mayday_actors::live::tenant::actor::LiveTimings;
use mayday_actors::live::Registry;

use crate::state::AppState;

/// Handle on the live side.
#[derive(Clone, Default)]
pub struct Live {
    pub registry: Arc<Registry>,
    supervisor: Arc<OnceLock<Addr<LiveSupervisor>>>,
    /// One reload at a time: a spec read earlier never replaces one read later.
    reloading: Arc<tokio::sync::Mutex<()>>,
}

impl Live {
    /// Starts the supervisor (inside the actix system) and applies the database's spec.
    pub async fn start(state: &AppState) {
        if !state.config.live.enabled {
            tracing::info!("the live side is off (MAYDAY_LIVE=false)");
            return;
        }
        let live = &state.live;
        let store = store::MariaDbStore::new(state.db.clone());
        let timings = LiveTimings {
            persist_after: state.config.live.persist_after,
            day_check: state.config.live.day_check,
            pause_confirm: state.config.live.pause_confirm,
            push_interval: state.config.live.push_interval,
            push_history: state.config.live.push_history,
            queue_refresh: state.config.live.queue_refresh,
        };
        let arbiters = state.config.live.arbiters;
        let addr = LiveSupervisor::new(live.registry.clone(), store, timings, arbiters).start();
        let _ = live.supervisor.set(addr);
        live.reload(state).await;
    }

    /// Stops every live actor (tests restarting a server in one process).
    pub async fn shutdown(&self) {
        if let Some(supervisor) = self.supervisor.get() {
            let _ = supervisor.send(Apply(mayday_actors::live::LiveSpec::default())).await;
        }
    }

    /// Rebuilds the spec from the database and applies it (after PBX, tenant or agent
    /// changes). Failures are logged: the live side keeps running what it had.
    pub async fn reload(&self, state: &AppState) {
        let Some(supervisor) = self.supervisor.get() else { return };
        let _one_at_a_time = self.reloading.lock().await;
        match spec::build(state).await {
            Ok(spec) => {
                let (pbxes, tenants) = (spec.pbxes.len(), spec.tenants.len());
                if supervisor.send(Apply(spec)).await.is_err() {
                    tracing::error!("the live supervisor is gone");
                } else {
                    tracing::debug!(pbxes, tenants, "live spec applied");
                }
            }
            Err(e) => tracing::error!(error = %e, "could not load the live spec; keeping the running one"),
        }
    }
}
