//! The live state as the REST API shows it, and the pauses Mayday owns.
//!
//! Managers and admins see everything of their tenant; an agent sees themself, the queues
//! they are a member of and their own calls. Pause: an agent for themself, managers and
//! admins for their tenant's agents. Mayday stores the pause (reason, since), sends
//! `QueuePause` for each of the agent's queues, and re-applies it after an Asterisk restart.

use std::sync::Arc;

use mayday_actors::ami::Action;
use mayday_actors::ami::LinkStatus;
use mayday_actors::live::agent::state::AgentSnapshot;
use mayday_actors::live::calls::LiveCall;
use mayday_actors::live::queue::state::QueueSnapshot;
use mayday_actors::live::registry::TenantEntry;
use mayday_actors::live::tenant::actor::{GetAgents, GetCalls, GetQueues, PauseError, RefreshQueues, SetPause};
use mayday_actors::live::{AgentId, PauseState};
use serde::Serialize;
use serde_json::json;

use crate::db::models::AgentPause;
use crate::db::repos;
use crate::domain::{Caller, Role, TenantId, UserId};
use crate::live::store::datetime_of;
use crate::services::audit::{self, Change};
use crate::services::{validate, ServiceError, ServiceResult};
use crate::state::AppState;

fn tenant(state: &AppState, caller: &Caller) -> Option<TenantEntry> {
    state.live.registry.tenant(caller.tenant)
}

/// After provisioning changed a tenant's agents, queues or members: the live side reloads
/// the spec, then asks Asterisk about the listed queues (Asterisk names), which also makes
/// Asterisk load their realtime members at once.
pub async fn provisioned(state: &AppState, tenant: TenantId, queues: Vec<String>) {
    state.live.reload(state).await;
    if queues.is_empty() {
        return;
    }
    if let Some(t) = state.live.registry.tenant(tenant) {
        t.addr.do_send(RefreshQueues(queues));
    }
}

/// Sends an action over the tenant's PBX link, in the background, when the link is up
/// (a nudge: what the database says applies anyway at Asterisk's next lookup or reload).
pub fn nudge(state: &AppState, tenant: TenantId, action: Action) {
    let Some(pbx) = state.live.registry.tenant(tenant).and_then(|t| t.pbx) else { return };
    let Some(entry) = state.live.registry.pbx(pbx) else { return };
    if entry.link.status().state != mayday_actors::ami::LinkState::Connected {
        return;
    }
    let name = action.name().to_string();
    actix::spawn(async move {
        if let Err(e) = entry.link.send(action).await {
            tracing::warn!(tenant.id = tenant.0, action = %name, error = %e, "the PBX refused a provisioning nudge");
        }
    });
}

fn mailbox(_: actix::MailboxError) -> ServiceError {
    ServiceError::Unavailable("live state")
}

fn sees_all(caller: &Caller) -> bool {
    caller.role.at_least(Role::Manager)
}

pub async fn queues(state: &AppState, caller: &Caller) -> ServiceResult<Vec<Arc<QueueSnapshot>>> {
    let Some(t) = tenant(state, caller) else { return Ok(Vec::new()) };
    let all = t.addr.send(GetQueues).await.map_err(mailbox)?;
    if sees_all(caller) {
        return Ok(all);
    }
    let me = AgentId(caller.user.0);
    Ok(all.into_iter().filter(|q| q.members.iter().any(|m| m.agent == Some(me))).collect())
}

pub async fn agents(state: &AppState, caller: &Caller) -> ServiceResult<Vec<Arc<AgentSnapshot>>> {
    let Some(t) = tenant(state, caller) else { return Ok(Vec::new()) };
    let all = t.addr.send(GetAgents).await.map_err(mailbox)?;
    if sees_all(caller) {
        return Ok(all);
    }
    Ok(all.into_iter().filter(|a| a.id.0 == caller.user.0).collect())
}

pub async fn calls(state: &AppState, caller: &Caller) -> ServiceResult<Vec<LiveCall>> {
    let Some(t) = tenant(state, caller) else { return Ok(Vec::new()) };
    let all = t.addr.send(GetCalls).await.map_err(mailbox)?;
    if sees_all(caller) {
        return Ok(all);
    }
    Ok(all.into_iter().filter(|c| c.agent.is_some_and(|a| a.0 == caller.user.0)).collect())
}

/// A PBX link as a tenant sees it.
#[derive(Debug, Serialize)]
pub struct PbxLinkView {
    pub pbx_id: u64,
    pub name: String,
    #[serde(flatten)]
    pub status: LinkStatus,
}

/// The state of the tenant's PBX link (empty when the tenant has no PBX or it is disabled).
pub async fn pbx(state: &AppState, caller: &Caller) -> ServiceResult<Vec<PbxLinkView>> {
    if !sees_all(caller) {
        return Err(ServiceError::Forbidden("this needs the manager role".into()));
    }
    let mut conn = state.db.get().await?;
    let t = repos::tenants::find(&mut conn, caller.tenant).await?;
    let Some(pbx) = t.pbx_id else { return Ok(Vec::new()) };
    let row = repos::pbxes::find(&mut conn, crate::domain::PbxId(pbx)).await?;
    Ok(state
        .live
        .registry
        .pbx(crate::domain::PbxId(pbx))
        .map(|e| PbxLinkView { pbx_id: pbx, name: row.name.clone(), status: e.link.status() })
        .into_iter()
        .collect())
}

/// An agent's pause as the API shows it.
#[derive(Debug, Serialize)]
pub struct PauseView {
    pub agent_id: u64,
    pub paused: bool,
    pub reason: Option<String>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether Asterisk was told (false while the PBX link is down: it is sent when the link
    /// is back; true also when the agent is in no queue).
    pub applied: bool,
    /// The member interfaces Asterisk acknowledged.
    pub applied_to: Vec<String>,
}

async fn check_agent(state: &AppState, caller: &Caller, agent: UserId) -> ServiceResult<()> {
    if agent != caller.user && !sees_all(caller) {
        return Err(ServiceError::Forbidden("agents may pause only themselves".into()));
    }
    let mut conn = state.db.get().await?;
    let user = repos::users::find(&mut conn, caller.tenant, agent).await?;
    if user.role != Role::Agent.as_str() {
        return Err(ServiceError::invalid("id", "is not an agent"));
    }
    Ok(())
}

/// Pauses (`Some(reason)`) or unpauses (`None`) an agent.
pub async fn set_pause(
    state: &AppState,
    caller: &Caller,
    agent: UserId,
    reason: Option<String>,
) -> ServiceResult<PauseView> {
    check_agent(state, caller, agent).await?;
    let now = chrono::Utc::now();
    let pause = match reason {
        Some(r) => {
            let r = r.trim().to_string();
            if r.chars().count() > 80 || r.contains(['\r', '\n']) {
                return Err(ServiceError::invalid("reason", "must be at most 80 characters on one line"));
            }
            let reason = if r.is_empty() { "paused".to_string() } else { validate::text("reason", &r, 80)? };
            Some(PauseState { reason, since_ms: now.timestamp_millis() })
        }
        None => None,
    };
    {
        let mut conn = state.db.get().await?;
        match &pause {
            Some(p) => {
                let row = AgentPause {
                    tenant_id: caller.tenant.0,
                    user_id: agent.0,
                    reason: p.reason.clone(),
                    since: datetime_of(p.since_ms),
                };
                repos::live::set_pause(&mut conn, &row).await?
            }
            None => repos::live::clear_pause(&mut conn, caller.tenant, agent).await?,
        }
        let change = Change {
            tenant: Some(caller.tenant),
            action: if pause.is_some() { "pause" } else { "unpause" },
            entity: "agent",
            entity_id: Some(agent.to_string()),
            detail: Some(json!({"reason": pause.as_ref().map(|p| p.reason.clone())})),
        };
        audit::record(&mut conn, Some(caller), change).await?;
    }
    let mut view = PauseView {
        agent_id: agent.0,
        paused: pause.is_some(),
        reason: pause.as_ref().map(|p| p.reason.clone()),
        since: pause.as_ref().map(|_| now),
        applied: false,
        applied_to: Vec::new(),
    };
    if let Some(t) = tenant(state, caller) {
        match t.addr.send(SetPause { agent: AgentId(agent.0), pause }).await.map_err(mailbox)? {
            Ok(out) => {
                view.applied = out.applied;
                view.applied_to = out.applied_to;
            }
            // The agent has no live state yet (no extension): stored, nothing to send.
            Err(PauseError::UnknownAgent) => {}
            Err(PauseError::Ami(e)) => {
                tracing::warn!(agent.id = agent.0, error = %e, "QueuePause failed; the pause is stored and re-sent at the next resync");
            }
        }
    }
    Ok(view)
}

/// The agent's pause now.
pub async fn pause_status(state: &AppState, caller: &Caller, agent: UserId) -> ServiceResult<PauseView> {
    check_agent(state, caller, agent).await?;
    let mut conn = state.db.get().await?;
    let stored = repos::live::pause_of(&mut conn, caller.tenant, agent).await?;
    Ok(PauseView {
        agent_id: agent.0,
        paused: stored.is_some(),
        reason: stored.as_ref().map(|p| p.reason.clone()),
        since: stored.as_ref().map(|p| p.since.and_utc()),
        applied: true,
        applied_to: Vec::new(),
    })
}
