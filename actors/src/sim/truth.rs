//! The simulated PBX's ground truth: what really happened, to compare with what Mayday
//! believes. Counters use the same definitions (and type) as Mayday's queue figures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::world::{CallId, CallKind, Phase, World};
use crate::live::figures::{QueueCounters, QueueFigures};

/// A queue's counters as the sim keeps them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueTruth {
    pub service_level_secs: u32,
    pub counters: QueueCounters,
}

impl QueueTruth {
    pub fn new(service_level_secs: u32) -> Self {
        QueueTruth { service_level_secs, counters: QueueCounters::default() }
    }
}

/// One live call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthCall {
    pub id: CallId,
    pub kind: String,
    pub state: String,
    pub caller_uniqueid: String,
    pub caller_channel: String,
    pub linkedid: String,
    pub queue: Option<String>,
    /// Member interface or agent device.
    pub agent_interface: Option<String>,
    pub agent_channel: Option<String>,
}

/// One queue member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthMember {
    pub interface: String,
    pub member_name: String,
    pub state_interface: String,
    pub status: u8,
    pub paused: bool,
    pub reason: String,
    pub in_call: bool,
    pub calls_taken: u64,
}

/// One queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthQueue {
    /// Uniqueids of waiting callers, in position order.
    pub waiting: Vec<String>,
    pub counters: QueueCounters,
    pub figures: QueueFigures,
    pub members: Vec<TruthMember>,
}

/// What an agent behind an endpoint is doing, with Mayday's definitions (`live::agent`):
/// on call > ringing > logged out > paused > wrap-up > available.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthAgent {
    /// `PJSIP/<endpoint>`.
    pub device: String,
    /// `logged_out`, `available`, `ringing`, `on_call`, `wrapup` or `paused`.
    pub status: String,
    /// While paused.
    pub reason: Option<String>,
    /// While ringing or on call: `queue`, `direct` or `outbound`.
    pub call_kind: Option<String>,
    pub linkedid: Option<String>,
}

/// Everything at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub startup_epoch: i64,
    pub calls: Vec<TruthCall>,
    pub queues: BTreeMap<String, TruthQueue>,
    /// By endpoint id.
    pub agents: BTreeMap<String, TruthAgent>,
}

fn kind_name(kind: CallKind) -> &'static str {
    match kind {
        CallKind::Queue => "queue",
        CallKind::Direct => "direct",
        CallKind::Outbound => "outbound",
    }
}

fn agent_truth(world: &World, endpoint: &str) -> TruthAgent {
    use super::world::DeviceState;
    let device = format!("PJSIP/{endpoint}");
    let own_channel =
        |uid: &str| world.channels.get(uid).is_some_and(|c| c.view.name.starts_with(&format!("{device}-")));
    let mut ringing = None;
    let mut on_call = None;
    for c in world.calls.values() {
        match (&c.phase, c.kind) {
            (Phase::Ringing(_) | Phase::Talking { .. }, CallKind::Outbound) if own_channel(&c.caller) => {
                on_call = Some(c)
            }
            (Phase::Talking { leg, .. }, _) if leg.device == device => on_call = Some(c),
            (Phase::Ringing(leg), _) if leg.device == device => ringing = Some(c),
            (Phase::Ringing(_), _) if c.also_ringing.iter().any(|l| l.device == device) => ringing = Some(c),
            _ => {}
        }
    }
    let members: Vec<&super::world::Member> =
        world.queues.values().flat_map(|q| q.members.iter()).filter(|m| m.def.state_interface() == device).collect();
    let state = world.device_state(&device);
    let (status, reason, call) = if let Some(c) = on_call {
        ("on_call", None, Some(c))
    } else if let Some(c) = ringing {
        ("ringing", None, Some(c))
    } else if matches!(state, DeviceState::Unavailable | DeviceState::Invalid) {
        ("logged_out", None, None)
    } else if let Some(m) = members.iter().find(|m| m.paused) {
        ("paused", Some(m.reason.clone()), None)
    } else if members.iter().any(|m| m.wrapup_until.is_some_and(|t| t > world.now)) {
        ("wrapup", None, None)
    } else {
        ("available", None, None)
    };
    TruthAgent {
        device,
        status: status.into(),
        reason,
        call_kind: call.map(|c| kind_name(c.kind).to_string()),
        linkedid: call.map(|c| c.linkedid.clone()),
    }
}

impl Truth {
    pub fn of(world: &World) -> Truth {
        let calls = world
            .calls
            .values()
            .filter(|c| c.phase != Phase::Ended)
            .map(|c| {
                let (state, leg) = match &c.phase {
                    Phase::Waiting => ("waiting", None),
                    Phase::Ringing(leg) => ("ringing", Some(leg)),
                    Phase::Talking { leg, .. } => ("talking", Some(leg)),
                    Phase::AfterQueue => ("after_queue", None),
                    Phase::Ended => ("ended", None),
                };
                TruthCall {
                    id: c.id,
                    kind: kind_name(c.kind).into(),
                    state: state.into(),
                    caller_uniqueid: c.caller.clone(),
                    caller_channel: world.channels.get(&c.caller).map(|ch| ch.view.name.clone()).unwrap_or_default(),
                    linkedid: c.linkedid.clone(),
                    queue: c.queue.clone(),
                    agent_interface: leg.map(|l| l.interface.clone()),
                    agent_channel: leg.and_then(|l| world.channels.get(&l.dest)).map(|ch| ch.view.name.clone()),
                }
            })
            .collect();
        let queues = world
            .queues
            .iter()
            .map(|(name, q)| {
                let waiting = q.waiting.iter().filter_map(|id| world.calls.get(id)).map(|c| c.caller.clone()).collect();
                let members = q
                    .members
                    .iter()
                    .map(|m| TruthMember {
                        interface: m.def.interface.clone(),
                        member_name: m.def.member_name().to_string(),
                        state_interface: m.def.state_interface().to_string(),
                        status: m.status.code(),
                        paused: m.paused,
                        reason: m.reason.clone(),
                        in_call: m.in_call,
                        calls_taken: m.calls_taken,
                    })
                    .collect();
                (
                    name.clone(),
                    TruthQueue {
                        waiting,
                        counters: q.truth.counters.clone(),
                        figures: q.truth.counters.figures(),
                        members,
                    },
                )
            })
            .collect();
        let agents = world.endpoints.keys().map(|e| (e.clone(), agent_truth(world, e))).collect();
        Truth { startup_epoch: world.startup_epoch, calls, queues, agents }
    }
}
