//! Call control over the tenant's PBX link: click-to-dial (Asterisk rings the agent's own
//! phone, then dials the number from the agent's dialplan, as if the agent had dialed it),
//! blind transfer of a caller (to an extension or a number, through the tenant's dialplan)
//! and hanging up a live call. An agent acts on its own phone and calls; managers and
//! admins on any agent and call of their tenant.

use mayday_actors::ami::action::Originate;
use mayday_actors::ami::{action, Action, AmiError, LinkState};
use mayday_actors::live::calls::CallState;
use mayday_actors::live::facts::CallKind;
use mayday_actors::live::tenant::actor::GetCalls;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::repos;
use crate::domain::{Caller, Role, TenantId, UserId};
use crate::services::audit::{self, Change};
use crate::services::{licenses, telephony, ServiceError, ServiceResult};
use crate::state::AppState;

/// How long the agent's phone rings before Asterisk gives up (ms).
const RING_MS: u64 = 30_000;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialInput {
    pub number: String,
    /// Whose phone rings (default: the caller's own).
    pub agent_id: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DialView {
    /// The call's id in `/api/live/calls` (and later in the history).
    pub linkedid: String,
    pub agent_id: u64,
    pub number: String,
}

/// The number trimmed, when it is one the dialplan may carry ([`crate::dialplan::is_dialable`]).
fn dialable(number: &str) -> ServiceResult<String> {
    let n = number.trim();
    if !crate::dialplan::is_dialable(n) {
        return Err(ServiceError::invalid("number", "must be digits, * or #, with an optional leading +, at most 32"));
    }
    Ok(n.to_string())
}

/// Sends an action over the tenant's PBX link; the PBX's refusal is a 502 with its words.
async fn send(state: &AppState, tenant: TenantId, action: Action) -> ServiceResult<()> {
    let link = state
        .live
        .registry
        .tenant(tenant)
        .and_then(|t| t.pbx)
        .and_then(|pbx| state.live.registry.pbx(pbx))
        .map(|p| p.link)
        .ok_or(ServiceError::Unavailable("the tenant's PBX"))?;
    if link.status().state != LinkState::Connected {
        return Err(ServiceError::Unavailable("the tenant's PBX link"));
    }
    match link.send(action).await {
        Ok(_) => Ok(()),
        Err(AmiError::ActionFailed { message }) => Err(ServiceError::Upstream(format!("the PBX refused: {message}"))),
        Err(AmiError::Invalid(e)) => Err(ServiceError::invalid("number", e.to_string())),
        Err(_) => Err(ServiceError::Unavailable("the tenant's PBX link")),
    }
}

/// The PBX has acted already: a failure to audit it is logged, not answered as a failure
/// (a client would try again and place a second call).
fn recorded<E: std::fmt::Display>(r: Result<(), E>) {
    if let Err(e) = r {
        tracing::warn!(error = %e, "a call-control action went through but could not be audited");
    }
}

/// `POST /api/calls/dial`.
pub async fn dial(state: &AppState, caller: &Caller, input: DialInput) -> ServiceResult<DialView> {
    licenses::require_feature(state, "calls")?;
    let number = dialable(&input.number)?;
    let agent = UserId(input.agent_id.unwrap_or(caller.user.0));
    if agent != caller.user && !caller.role.at_least(Role::Manager) {
        return Err(ServiceError::Forbidden("agents may ring only their own phone".into()));
    }
    let mut conn = state.db.get().await?;
    let tenant = repos::tenants::find(&mut conn, caller.tenant).await?;
    let (user, row) = repos::agents::find(&mut conn, caller.tenant, agent).await.map_err(|e| match e {
        diesel::result::Error::NotFound => ServiceError::invalid("agent_id", "is not an agent of this tenant"),
        other => other.into(),
    })?;
    if !user.enabled {
        return Err(ServiceError::Conflict("the agent is disabled".into()));
    }
    // Our own Uniqueid for the agent's leg: the first channel's Uniqueid is the call's
    // Linkedid, so the caller can follow the call in /api/live/calls.
    let linkedid = format!("mayday-{}-{:016x}", caller.tenant.0, rand::random::<u64>());
    // The agent's own caller ID, as when it dials from the phone: it is what the far end
    // sees when the agent has no DID to present, and the history's caller.
    let own =
        format!("\"{}\" <{}>", crate::services::agents::display(&user), user.extension.as_deref().unwrap_or_default());
    let mut originate = Originate::to_exten(&format!("PJSIP/{}", row.endpoint), "mayday-launch", &number, "1")
        .timeout_ms(RING_MS)
        .caller_id(own)
        .variable("MAYDAY_CONTEXT", telephony::agents_context(&tenant))
        .channel_id(&linkedid);
    if let Some(did) = user.callerid.as_deref().filter(|d| !d.is_empty()) {
        originate = originate.variable("MAYDAY_DID", did);
    }
    send(state, caller.tenant, originate.into()).await?;
    let change = Change {
        tenant: Some(caller.tenant),
        action: "dial",
        entity: "call",
        entity_id: Some(linkedid.clone()),
        detail: Some(json!({"agent_id": agent.0, "number": number})),
    };
    recorded(audit::record(&mut conn, Some(caller), change).await);
    Ok(DialView { linkedid, agent_id: agent.0, number })
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// An extension of the tenant or a number, dialed from the tenant's dialplan.
    pub to: String,
}

/// A live call of the tenant the caller may act on (an agent: one of its own).
async fn own_call(
    state: &AppState,
    caller: &Caller,
    linkedid: &str,
) -> ServiceResult<mayday_actors::live::calls::LiveCall> {
    let t = state.live.registry.tenant(caller.tenant).ok_or(ServiceError::NotFound)?;
    let calls = t.addr.send(GetCalls).await.map_err(|_| ServiceError::Unavailable("live state"))?;
    calls
        .into_iter()
        .find(|c| c.linkedid == linkedid)
        .filter(|c| {
            // An agent only rung for a queue call is not on it: it may not end the caller's call.
            let on_it = c.state == CallState::Talking || c.kind == CallKind::Outbound;
            caller.role.at_least(Role::Manager) || (on_it && c.agent.is_some_and(|a| a.0 == caller.user.0))
        })
        .ok_or(ServiceError::NotFound)
}

/// `POST /api/calls/{linkedid}/transfer`: the agent's party goes to `to`; the agent is free.
/// Asterisk's BlindTransfer on the agent's channel sends the other party of its bridge to
/// `mayday-launch`, which runs the tenant's rows with the `MAYDAY_CONTEXT` set on it first.
pub async fn transfer(state: &AppState, caller: &Caller, linkedid: &str, input: TransferInput) -> ServiceResult<()> {
    licenses::require_feature(state, "transfers")?;
    let to = dialable(&input.to).map_err(|_| {
        ServiceError::invalid("to", "must be an extension or a number: digits, * or #, an optional leading +")
    })?;
    let call = own_call(state, caller, linkedid).await?;
    // The agent's channel transfers, its party moves: on an outbound call the agent is the
    // caller's side and the far end is the party.
    let (agent_side, party) = match call.kind {
        CallKind::Outbound => (Some(call.caller_channel.clone()), call.agent_channel.clone()),
        _ => (call.agent_channel.clone(), Some(call.caller_channel.clone())),
    };
    let (agent_side, party) = match (agent_side, party) {
        (Some(a), Some(p)) if call.state == CallState::Talking && !a.is_empty() && !p.is_empty() => (a, p),
        _ => return Err(ServiceError::Conflict("only a call an agent is talking on can be transferred".into())),
    };
    let mut conn = state.db.get().await?;
    let tenant = repos::tenants::find(&mut conn, caller.tenant).await?;
    let ctx = telephony::agents_context(&tenant);
    // Never without a channel: Setvar without one sets a global every channel would see.
    send(state, caller.tenant, action::setvar(Some(&party), "MAYDAY_CONTEXT", &ctx)).await?;
    send(state, caller.tenant, action::blind_transfer(&agent_side, Some("mayday-launch"), &to)).await?;
    let change = Change {
        tenant: Some(caller.tenant),
        action: "transfer",
        entity: "call",
        entity_id: Some(linkedid.to_string()),
        detail: Some(json!({"to": to})),
    };
    recorded(audit::record(&mut conn, Some(caller), change).await);
    Ok(())
}

/// `POST /api/calls/{linkedid}/hangup`: ends a live call of the tenant (an agent: one of
/// its own).
pub async fn hangup(state: &AppState, caller: &Caller, linkedid: &str) -> ServiceResult<()> {
    let call = own_call(state, caller, linkedid).await?;
    // The caller's leg first (that ends the call), then the agent's if it outlives it.
    if call.caller_channel.is_empty() {
        return Err(ServiceError::Conflict("the call's channels are not known yet".into()));
    }
    let mut result = send(state, caller.tenant, action::hangup(&call.caller_channel, Some(16))).await;
    if let Some(agent) = call.agent_channel.as_deref().filter(|a| !a.is_empty() && *a != call.caller_channel) {
        match send(state, caller.tenant, action::hangup(agent, Some(16))).await {
            // Gone with the caller's leg.
            Err(ServiceError::Upstream(_)) => {}
            other => result = result.and(other),
        }
    }
    result?;
    let change = Change {
        tenant: Some(caller.tenant),
        action: "hangup",
        entity: "call",
        entity_id: Some(linkedid.to_string()),
        detail: None,
    };
    match state.db.get().await {
        Ok(mut conn) => recorded(audit::record(&mut conn, Some(caller), change).await),
        Err(e) => recorded::<ServiceError>(Err(e.into())),
    }
    Ok(())
}
