//! A tenant's event translation: AMI events in, the call registry kept, and facts out for
//! its queues and agents. Plain data, no actors: unit tests feed it messages.
//!
//! Queue members map to agents by `StateInterface`, then `Interface`, then `MemberName`;
//! endpoints map to agents by extension, the tenant's name prefix stripped
//! (`PJSIP/acme-1001` -> `1001`). A true abandon is a caller whose hangup was requested
//! before `QueueCallerAbandon` (asterisk.md gotcha 12); other unanswered exits are timeouts.

use std::collections::HashMap;
use std::sync::Arc;

use super::super::calls::{Call, CallRegistry, CallState, Channel, RingLeg};
use super::super::facts::{
    AgentCall, AgentFact, CallKind, DeviceState, MemberInfo, Membership, QueueFact, QueueParamsInfo, WaitingCaller,
};
use super::super::ids::{AgentId, Millis};
use super::super::spec::{QueueSettings, TenantSpec};
use crate::ami::event::{
    channel_device, device_resource, AgentEvent, ChannelBlock, ChannelState, DialEvent, QueueMemberEvent, TypedEvent,
};
use crate::ami::message::Message;

/// A fact for one actor of the tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Queue(String, QueueFact),
    Agent(AgentId, AgentFact),
}

/// What a resync asked Asterisk for, as raw list items.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// QueueParams, QueueMember and QueueEntry items of QueueStatus. Each part is `None`
    /// when Asterisk refused its action: what is known of that part stays as it is.
    pub queue_status: Option<Vec<Message>>,
    /// CoreShowChannel items.
    pub channels: Option<Vec<Message>>,
    /// DeviceStateChange items of DeviceStateList.
    pub devices: Option<Vec<Message>>,
}

/// A queue member as the translation needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MemberRef {
    agent: Option<AgentId>,
    /// The interface as Asterisk spells it.
    interface: String,
    state_interface: String,
    member_name: String,
    /// The member's own wrap-up, seconds.
    wrapup_secs: u64,
    /// The latest state Asterisk reported.
    membership: Membership,
    last_call: u64,
    /// The whole member, to re-send when its agent mapping changes.
    info: MemberInfo,
}

/// The tenant's view of its PBX traffic.
#[derive(Debug)]
pub struct TenantState {
    spec: Arc<TenantSpec>,
    pub calls: CallRegistry,
    by_extension: HashMap<String, AgentId>,
    by_name: HashMap<String, AgentId>,
    /// (queue, lowercase interface) -> what we know of that member.
    members: HashMap<(String, String), MemberRef>,
    /// Lowercase device -> its last reported state.
    devices: HashMap<String, DeviceState>,
    settings: HashMap<String, QueueSettings>,
}

impl TenantState {
    pub fn new(spec: Arc<TenantSpec>) -> Self {
        let by_extension = spec.agents.iter().map(|a| (a.extension.to_ascii_lowercase(), a.id)).collect();
        let by_name = spec.agents.iter().map(|a| (a.name.to_ascii_lowercase(), a.id)).collect();
        let settings = spec.queue_settings.clone();
        TenantState {
            spec,
            calls: CallRegistry::default(),
            by_extension,
            by_name,
            members: HashMap::new(),
            devices: HashMap::new(),
            settings,
        }
    }

    pub fn spec(&self) -> &Arc<TenantSpec> {
        &self.spec
    }

    /// A changed spec (agents added or removed, settings): calls and members are kept,
    /// members are mapped to agents again.
    pub fn set_spec(&mut self, spec: Arc<TenantSpec>) -> Vec<Effect> {
        let mut next = TenantState::new(spec);
        next.calls = std::mem::take(&mut self.calls);
        next.members = std::mem::take(&mut self.members);
        next.devices = std::mem::take(&mut self.devices);
        let remapped: Vec<((String, String), Option<AgentId>)> = next
            .members
            .iter()
            .map(|(k, m)| (k.clone(), next.agent_of_member(&m.state_interface, &m.interface, &m.member_name)))
            .collect();
        let mut out = Vec::new();
        for (k, agent) in remapped {
            if let Some(m) = next.members.get_mut(&k) {
                if m.agent != agent {
                    m.agent = agent;
                    m.info.agent = agent;
                    // The queue shows the member's agent: tell it.
                    out.push(Effect::Queue(k.0.clone(), QueueFact::Member(m.info.clone())));
                }
            }
        }
        *self = next;
        out
    }

    pub fn set_queue_settings(&mut self, queue: &str, settings: QueueSettings) {
        self.settings.insert(queue.to_string(), settings);
    }

    /// The agent behind a device or a member string (`PJSIP/acme-1001`, `Local/1001@ctx/n`,
    /// `hint:1001@ctx`, `1001`).
    pub fn agent_of(&self, name: &str) -> Option<AgentId> {
        let trimmed = name.trim().trim_end_matches("/n");
        let resource = device_resource(trimmed);
        let resource = resource.strip_prefix("hint:").unwrap_or(resource);
        let ext = resource.strip_prefix(self.spec.name_prefix.as_str()).unwrap_or(resource);
        self.by_extension.get(&ext.to_ascii_lowercase()).copied()
    }

    /// The agent of a queue member: by StateInterface, then Interface, then MemberName.
    pub fn agent_of_member(&self, state_interface: &str, interface: &str, member_name: &str) -> Option<AgentId> {
        self.agent_of(state_interface)
            .or_else(|| self.agent_of(interface))
            .or_else(|| self.by_name.get(&member_name.to_ascii_lowercase()).copied())
            .or_else(|| self.by_extension.get(&member_name.to_ascii_lowercase()).copied())
    }

    fn member_key(queue: &str, interface: &str) -> (String, String) {
        (queue.to_string(), interface.to_ascii_lowercase())
    }

    fn resolve_member(&self, queue: &str, interface: &str) -> Option<AgentId> {
        match self.members.get(&Self::member_key(queue, interface)) {
            Some(m) => m.agent,
            None => self.agent_of(interface),
        }
    }

    /// The wrap-up a member of `queue` gets after a call.
    fn wrapup_for(&self, queue: &str, interface: &str) -> u64 {
        let own = self.members.get(&Self::member_key(queue, interface)).map(|m| m.wrapup_secs).unwrap_or(0);
        QueueSettings::wrapup_for(self.settings.get(queue), own)
    }

    fn member_info(&mut self, e: &QueueMemberEvent<'_>) -> MemberInfo {
        let agent = self.agent_of_member(e.state_interface, e.interface, e.member_name);
        let info = MemberInfo {
            interface: e.interface.to_string(),
            state_interface: e.state_interface.to_string(),
            member_name: e.member_name.to_string(),
            membership: e.membership.to_string(),
            penalty: e.penalty,
            calls_taken: e.calls_taken,
            last_call: e.last_call,
            in_call: e.in_call,
            status: DeviceState::from_code(e.status),
            paused: e.paused,
            paused_reason: e.paused_reason.to_string(),
            wrapup_secs: e.wrapup_time_secs,
            agent,
        };
        let member = MemberRef {
            agent,
            interface: e.interface.to_string(),
            state_interface: e.state_interface.to_string(),
            member_name: e.member_name.to_string(),
            wrapup_secs: e.wrapup_time_secs,
            membership: membership(e.queue, &info),
            last_call: e.last_call,
            info: info.clone(),
        };
        self.members.insert(Self::member_key(e.queue, e.interface), member);
        info
    }

    /// The interfaces an agent is a queue member through, as Asterisk spells them (for
    /// QueuePause).
    pub fn interfaces_of(&self, agent: AgentId) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in self.members.values().filter(|m| m.agent == Some(agent)) {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&m.interface)) {
                out.push(m.interface.clone());
            }
        }
        out.sort();
        out
    }

    // ---- channels -------------------------------------------------------------------

    /// Makes sure the channel of an event is known and on the right call; `None` for a
    /// channel that already hung up (late events never resurrect one).
    fn touch<'b>(&mut self, b: &ChannelBlock<'b>, now: Millis) -> Option<&'b str> {
        if self.calls.is_dead(b.uniqueid) {
            return None;
        }
        match self.calls.channel_mut(b.uniqueid) {
            Some(ch) => {
                ch.update(b);
                if ch.linkedid != b.linkedid {
                    self.calls.relink(b.uniqueid, b.linkedid);
                }
            }
            None => {
                self.calls.add_channel(Channel::from_block(b, now));
            }
        }
        Some(b.uniqueid)
    }

    fn call_mut(&mut self, uniqueid: &str) -> Option<&mut Call> {
        self.calls.call_of_channel_mut(uniqueid)
    }

    fn agent_call(call: &Call, party: Option<String>, since: Millis) -> AgentCall {
        AgentCall {
            linkedid: call.linkedid.clone(),
            kind: call.kind,
            queue: call.queue.clone(),
            party,
            since_ms: since,
        }
    }

    /// Applies one event. Returns true when the call list changed.
    pub fn apply(&mut self, msg: &Message, now: Millis, out: &mut Vec<Effect>) -> bool {
        match TypedEvent::parse(msg) {
            TypedEvent::Newchannel(e) => self.touch(&e.channel, now).is_some(),
            TypedEvent::Newstate(e) | TypedEvent::NewCallerid(e) | TypedEvent::NewConnectedLine(e) => {
                self.touch(&e.channel, now);
                false
            }
            TypedEvent::HangupRequest(h) | TypedEvent::SoftHangupRequest(h) => {
                if self.touch(&h.channel, now).is_some() {
                    if let Some(ch) = self.calls.channel_mut(h.channel.uniqueid) {
                        ch.hangup_requested = true;
                    }
                }
                false
            }
            TypedEvent::Hangup(h) => self.on_hangup(&h.channel, now, out),
            TypedEvent::DialBegin(d) => self.on_dial_begin(&d, now, out),
            TypedEvent::DialEnd(d) => self.on_dial_end(&d, now, out),
            TypedEvent::DialState(d) => {
                self.touch(&d.dest, now);
                false
            }
            TypedEvent::BridgeEnter(b) => {
                let Some(uid) = self.touch(&b.channel, now) else { return false };
                if let Some(ch) = self.calls.channel_mut(uid) {
                    ch.bridge = Some(b.bridge.uniqueid.to_string());
                }
                self.on_bridged(uid, now, out)
            }
            TypedEvent::BridgeLeave(b) => {
                if let Some(ch) = self.calls.channel_mut(b.channel.uniqueid) {
                    ch.bridge = None;
                }
                false
            }
            // A refused or failed transfer (Result Fail, Invalid, Not Permitted) changes nothing.
            TypedEvent::BlindTransfer(t) if t.result.eq_ignore_ascii_case("Success") => {
                self.on_blind_transfer(t.transferer.as_ref(), t.transferee.as_ref(), now, out)
            }
            TypedEvent::AttendedTransfer(t) if t.result.eq_ignore_ascii_case("Success") => {
                self.on_blind_transfer(t.orig_transferer.as_ref(), t.transferee.as_ref(), now, out)
            }
            TypedEvent::QueueCallerJoin(e) => {
                let Some(uid) = self.touch(&e.channel, now) else { return false };
                let caller = WaitingCaller {
                    uniqueid: uid.to_string(),
                    linkedid: e.channel.linkedid.to_string(),
                    channel: e.channel.channel.to_string(),
                    caller_num: e.channel.caller_id_num.map(str::to_string),
                    caller_name: e.channel.caller_id_name().map(|n| n.into_owned()),
                    joined_ms: now,
                };
                if let Some(call) = self.call_mut(uid) {
                    call.kind = CallKind::Queue;
                    call.queue = Some(e.queue.to_string());
                    call.state = CallState::Waiting;
                    call.queue_joined_ms = Some(now);
                    call.queue_answered = false;
                    call.clear_agent();
                }
                out.push(Effect::Queue(e.queue.to_string(), QueueFact::CallerJoined(caller)));
                true
            }
            TypedEvent::QueueCallerLeave(e) => {
                self.touch(&e.channel, now);
                let uid = e.channel.uniqueid.to_string();
                out.push(Effect::Queue(e.queue.to_string(), QueueFact::CallerLeft { uniqueid: uid.clone() }));
                // Leaving unanswered with no QueueCallerAbandon first: the caller pressed an
                // exit key (app_queue logs EXITWITHKEY). It left without hanging up.
                let Some(call) = self.call_mut(&uid) else { return false };
                let in_queue = matches!(call.state, CallState::Waiting | CallState::Ringing);
                if call.kind != CallKind::Queue || !in_queue || call.queue_answered {
                    return false;
                }
                let joined = call.queue_joined_ms;
                let legs = call.take_rings(None);
                rings_ended(&call.linkedid, legs, false, out);
                call.clear_agent();
                call.state = CallState::AfterQueue;
                let wait_secs = waited_secs(joined, now);
                out.push(Effect::Queue(
                    e.queue.to_string(),
                    QueueFact::CallerAbandoned { uniqueid: uid, wait_secs, hung_up: false },
                ));
                true
            }
            TypedEvent::QueueCallerAbandon(e) => {
                let hung_up = self.calls.channels.get(e.channel.uniqueid).is_some_and(|c| c.hangup_requested)
                    || self.calls.is_dead(e.channel.uniqueid);
                let uid = e.channel.uniqueid.to_string();
                let mut joined = None;
                if let Some(call) = self.call_mut(&uid) {
                    joined = call.queue_joined_ms;
                    let legs = call.take_rings(None);
                    rings_ended(&call.linkedid, legs, false, out);
                    call.clear_agent();
                    call.state = CallState::AfterQueue;
                }
                let wait_secs = e.hold_time_secs.unwrap_or_else(|| waited_secs(joined, now));
                out.push(Effect::Queue(
                    e.queue.to_string(),
                    QueueFact::CallerAbandoned { uniqueid: uid, wait_secs, hung_up },
                ));
                true
            }
            TypedEvent::AgentCalled(e) => self.on_agent_called(&e, now, out),
            TypedEvent::AgentRingNoAnswer(e) => self.on_agent_ring_ended(&e, true, out),
            // The caller hung up while the member who answered heard the announcement.
            TypedEvent::AgentDump(e) => self.on_agent_ring_ended(&e, false, out),
            TypedEvent::AgentConnect(e) => self.on_agent_connect(&e, now, out),
            TypedEvent::AgentComplete(e) => self.on_agent_complete(&e, out),
            TypedEvent::QueueMemberStatus(e)
            | TypedEvent::QueueMemberAdded(e)
            | TypedEvent::QueueMemberPause(e)
            | TypedEvent::QueueMemberPenalty(e)
            | TypedEvent::QueueMemberRinginuse(e)
            | TypedEvent::QueueMember(e) => {
                let info = self.member_info(&e);
                if let Some(agent) = info.agent {
                    out.push(Effect::Agent(agent, AgentFact::Member(membership(e.queue, &info))));
                }
                out.push(Effect::Queue(e.queue.to_string(), QueueFact::Member(info)));
                false
            }
            TypedEvent::QueueMemberRemoved(e) => {
                let key = Self::member_key(e.queue, e.interface);
                let agent = self
                    .members
                    .remove(&key)
                    .and_then(|m| m.agent)
                    .or_else(|| self.agent_of_member(e.state_interface, e.interface, e.member_name));
                if let Some(agent) = agent {
                    out.push(Effect::Agent(agent, AgentFact::MemberRemoved { queue: e.queue.to_string() }));
                }
                out.push(Effect::Queue(
                    e.queue.to_string(),
                    QueueFact::MemberRemoved { interface: e.interface.to_string() },
                ));
                false
            }
            TypedEvent::QueueParams(p) => {
                out.push(Effect::Queue(p.queue.to_string(), QueueFact::Params(params(&p))));
                false
            }
            TypedEvent::DeviceStateChange(d) => {
                self.devices.insert(d.device.to_ascii_lowercase(), DeviceState::from_text(d.state));
                if let Some(agent) =
                    self.agent_of(d.device).filter(|_| d.device.starts_with("PJSIP/") || d.device.starts_with("SIP/"))
                {
                    out.push(Effect::Agent(agent, AgentFact::Device(DeviceState::from_text(d.state))));
                }
                false
            }
            _ => false,
        }
    }

    fn on_hangup(&mut self, b: &ChannelBlock<'_>, now: Millis, out: &mut Vec<Effect>) -> bool {
        // The agent side of a call that goes on without it (a direct call's agent hangs up
        // first) frees the agent now.
        let linkedid = self.calls.channels.get(b.uniqueid).map(|c| c.linkedid.clone());
        let (removed, ended) = self.calls.remove_channel(b.uniqueid);
        if removed.is_none() {
            return false;
        }
        if let Some(call) = ended {
            self.end_agent_side(&call, now, out);
            return true;
        }
        let Some(linkedid) = linkedid else { return false };
        let Some(call) = self.calls.calls.get_mut(&linkedid) else { return false };
        if call.agent_channel.as_deref() == Some(b.uniqueid) && call.kind == CallKind::Direct {
            let snapshot = call.clone();
            call.clear_agent();
            call.state = CallState::Dialplan;
            self.end_agent_side(&snapshot, now, out);
            return true;
        }
        false
    }

    /// The call is over for its agent: ringing stops, or the conversation ends.
    fn end_agent_side(&mut self, call: &Call, _now: Millis, out: &mut Vec<Effect>) {
        if call.kind == CallKind::Queue && call.state == CallState::Ringing {
            rings_ended(&call.linkedid, call.rings.clone(), false, out);
            return;
        }
        let Some(agent) = call.agent else { return };
        let linkedid = call.linkedid.clone();
        match call.state {
            CallState::Ringing if call.kind != CallKind::Outbound => {
                // A direct call the caller gave up on while it rang: a missed call.
                out.push(Effect::Agent(agent, AgentFact::RingEnded { linkedid, missed: true }));
                if let (Some(q), Some(i)) = (&call.queue, &call.agent_interface) {
                    out.push(Effect::Queue(
                        q.clone(),
                        QueueFact::MemberRinging { interface: i.clone(), ringing: false },
                    ));
                }
            }
            _ => {
                let wrapup = match (&call.queue, &call.agent_interface) {
                    (Some(q), Some(i)) if call.kind == CallKind::Queue => self.wrapup_for(q, i),
                    _ => 0,
                };
                out.push(Effect::Agent(agent, AgentFact::CallEnded { linkedid, talk_secs: None, wrapup_secs: wrapup }));
            }
        }
    }

    fn on_dial_begin(&mut self, d: &DialEvent<'_>, now: Millis, out: &mut Vec<Effect>) -> bool {
        let Some(dest) = self.touch(&d.dest, now) else { return false };
        let Some(caller) = d.caller.as_ref().and_then(|c| self.touch(c, now)) else { return false };
        let caller_device = channel_device(d.caller.as_ref().map(|c| c.channel).unwrap_or_default()).to_string();
        let dest_device = channel_device(d.dest.channel).to_string();
        let caller_agent = self.agent_of(&caller_device).filter(|_| caller_device.starts_with("PJSIP/"));
        let dest_agent = self.agent_of(&dest_device).filter(|_| dest_device.starts_with("PJSIP/"));
        let caller_num = d.caller.as_ref().and_then(|c| c.caller_id_num).map(str::to_string);
        let dialed = d
            .dial_string
            .map(|s| s.split('@').next().unwrap_or(s).to_string())
            .or_else(|| d.dest.connected_line_num.map(str::to_string));
        let Some(call) = self.calls.call_of_channel_mut(caller) else { return false };
        if call.kind == CallKind::Queue && call.state != CallState::AfterQueue {
            // app_queue's own legs: AgentCalled says who rings. After the queue the
            // caller's dialplan may Dial an agent like any call.
            return false;
        }
        let is_caller = call.caller == caller;
        if let (Some(agent), true) = (caller_agent, is_caller) {
            call.kind = CallKind::Outbound;
            call.agent = Some(agent);
            call.agent_interface = Some(caller_device);
            call.agent_channel = Some(dest.to_string());
            call.state = CallState::Ringing;
            let c = Self::agent_call(call, dialed, now);
            out.push(Effect::Agent(agent, AgentFact::CallStarted(c)));
        } else if let Some(agent) = dest_agent {
            call.kind = CallKind::Direct;
            call.agent = Some(agent);
            call.agent_interface = Some(dest_device);
            call.agent_channel = Some(dest.to_string());
            call.state = CallState::Ringing;
            let c = Self::agent_call(call, caller_num, now);
            out.push(Effect::Agent(agent, AgentFact::Ringing(c)));
        } else if call.state == CallState::Dialplan {
            call.state = CallState::Ringing;
            call.agent_channel = Some(dest.to_string());
        }
        true
    }

    fn on_dial_end(&mut self, d: &DialEvent<'_>, now: Millis, out: &mut Vec<Effect>) -> bool {
        self.touch(&d.dest, now);
        let Some(caller) = d.caller.as_ref().map(|c| c.uniqueid.to_string()) else { return false };
        let party = call_party(&self.calls, &caller);
        let Some(call) = self.calls.call_of_channel_mut(&caller) else { return false };
        let answered = d.dial_status.is_some_and(|s| s.eq_ignore_ascii_case("ANSWER"));
        if call.kind == CallKind::Queue && call.state != CallState::AfterQueue {
            // A member's ring ends without AgentRingNoAnswer when another member answered
            // (ringall) or the caller gave up: DialEnd CANCEL is all Asterisk says.
            if answered {
                call.queue_answered = true;
                return false;
            }
            let Some(i) = call.rings.iter().position(|r| r.channel.as_deref() == Some(d.dest.uniqueid)) else {
                return false;
            };
            let leg = call.rings.remove(i);
            if call.state == CallState::Ringing
                && call.agent_interface.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&leg.interface))
            {
                call.ring_ended();
            }
            // CANCEL: answered elsewhere or the caller left. The rest rang out or were refused.
            let missed = d.dial_status.is_some_and(|s| !s.eq_ignore_ascii_case("CANCEL"));
            rings_ended(&call.linkedid, vec![leg], missed, out);
            return true;
        }
        if answered {
            call.state = CallState::Talking;
            call.answered_ms.get_or_insert(now);
            if let (CallKind::Direct, Some(agent)) = (call.kind, call.agent) {
                let c = Self::agent_call(call, party, now);
                out.push(Effect::Agent(agent, AgentFact::CallStarted(c)));
            }
        } else if call.agent_channel.as_deref() == Some(d.dest.uniqueid) {
            if call.kind == CallKind::Outbound {
                // The far end did not answer (busy, no answer, the agent gave up): the
                // agent, on its own channel, is on the call until that channel hangs up.
                call.agent_channel = None;
                call.state = CallState::Dialplan;
                return true;
            }
            let snapshot = call.clone();
            call.clear_agent();
            call.state = CallState::Dialplan;
            if snapshot.kind == CallKind::Direct {
                self.end_agent_side(&snapshot, now, out);
            }
        }
        true
    }

    fn on_bridged(&mut self, uid: &str, now: Millis, out: &mut Vec<Effect>) -> bool {
        let Some(linkedid) = self.calls.channels.get(uid).map(|c| c.linkedid.clone()) else { return false };
        let Some(call) = self.calls.calls.get(&linkedid) else { return false };
        if call.kind == CallKind::Queue || call.state == CallState::Talking || !self.calls.is_bridged(call) {
            return false;
        }
        let party = call_party(&self.calls, &call.caller);
        let Some(call) = self.calls.calls.get_mut(&linkedid) else { return false };
        let was_ringing_direct = call.kind == CallKind::Direct && call.state == CallState::Ringing;
        call.state = CallState::Talking;
        call.answered_ms.get_or_insert(now);
        if let (true, Some(agent)) = (was_ringing_direct, call.agent) {
            let c = Self::agent_call(call, party, now);
            out.push(Effect::Agent(agent, AgentFact::CallStarted(c)));
        }
        true
    }

    fn on_blind_transfer(
        &mut self,
        transferer: Option<&ChannelBlock<'_>>,
        transferee: Option<&ChannelBlock<'_>>,
        now: Millis,
        out: &mut Vec<Effect>,
    ) -> bool {
        let Some(transferee) = transferee.and_then(|t| self.touch(t, now)) else { return false };
        let transferer_uid = transferer.map(|t| t.uniqueid.to_string());
        let Some(call) = self.calls.call_of_channel_mut(transferee) else { return false };
        let snapshot = call.clone();
        // Queue calls end for their agent with AgentComplete (reason transfer).
        if snapshot.kind != CallKind::Queue {
            if let Some(agent) = snapshot.agent.filter(|_| {
                transferer_uid.is_some()
                    && (snapshot.agent_channel == transferer_uid
                        || snapshot.caller == transferer_uid.clone().unwrap_or_default())
            }) {
                out.push(Effect::Agent(
                    agent,
                    AgentFact::CallEnded { linkedid: snapshot.linkedid.clone(), talk_secs: None, wrapup_secs: 0 },
                ));
            }
        }
        call.clear_agent();
        call.kind = CallKind::Other;
        call.queue = None;
        call.state = CallState::Dialplan;
        true
    }

    fn on_agent_called(&mut self, e: &AgentEvent<'_>, now: Millis, out: &mut Vec<Effect>) -> bool {
        let member = e.member.as_ref().and_then(|m| self.touch(m, now));
        let agent = self.resolve_member(e.queue, e.interface);
        let Some(caller) = e.caller.as_ref().and_then(|c| self.touch(c, now)) else { return false };
        let party = e.caller.as_ref().and_then(|c| c.caller_id_num).map(str::to_string);
        let Some(call) = self.calls.call_of_channel_mut(caller) else { return false };
        call.kind = CallKind::Queue;
        call.queue = Some(e.queue.to_string());
        call.rings.retain(|r| !r.interface.eq_ignore_ascii_case(e.interface));
        call.rings.push(RingLeg {
            queue: e.queue.to_string(),
            interface: e.interface.to_string(),
            agent,
            channel: member.map(str::to_string),
        });
        call.show_ringing();
        if let Some(agent) = agent {
            let c = Self::agent_call(call, party, now);
            out.push(Effect::Agent(agent, AgentFact::Ringing(c)));
        }
        out.push(Effect::Queue(
            e.queue.to_string(),
            QueueFact::MemberRinging { interface: e.interface.to_string(), ringing: true },
        ));
        true
    }

    fn on_agent_ring_ended(&mut self, e: &AgentEvent<'_>, missed: bool, out: &mut Vec<Effect>) -> bool {
        let agent = self.resolve_member(e.queue, e.interface);
        let caller = e.caller.as_ref().map(|c| c.uniqueid.to_string()).unwrap_or_default();
        let mut linkedid = e.caller.as_ref().map(|c| c.linkedid.to_string()).unwrap_or_default();
        if let Some(call) = self.calls.call_of_channel_mut(&caller) {
            linkedid = call.linkedid.clone();
            call.rings.retain(|r| !r.interface.eq_ignore_ascii_case(e.interface));
            if call.state == CallState::Ringing
                && call.agent_interface.as_deref().is_some_and(|i| i.eq_ignore_ascii_case(e.interface))
            {
                call.ring_ended();
            }
        }
        if let Some(agent) = agent {
            out.push(Effect::Agent(agent, AgentFact::RingEnded { linkedid, missed }));
        }
        out.push(Effect::Queue(
            e.queue.to_string(),
            QueueFact::MemberRinging { interface: e.interface.to_string(), ringing: false },
        ));
        true
    }

    fn on_agent_connect(&mut self, e: &AgentEvent<'_>, now: Millis, out: &mut Vec<Effect>) -> bool {
        let member = e.member.as_ref().and_then(|m| self.touch(m, now));
        let agent = self.resolve_member(e.queue, e.interface);
        let caller = e.caller.as_ref().and_then(|c| self.touch(c, now));
        let party = e.caller.as_ref().and_then(|c| c.caller_id_num).map(str::to_string);
        let uniqueid = e.caller.as_ref().map(|c| c.uniqueid.to_string()).unwrap_or_default();
        let mut joined = None;
        if let Some(call) = caller.and_then(|c| self.calls.call_of_channel_mut(c)) {
            // The members rung with this one (ringall) stop ringing.
            let others = call.take_rings(Some(e.interface));
            rings_ended(&call.linkedid, others, false, out);
            call.rings.clear();
            call.kind = CallKind::Queue;
            call.queue = Some(e.queue.to_string());
            call.state = CallState::Talking;
            call.answered_ms.get_or_insert(now);
            call.agent = agent;
            call.agent_interface = Some(e.interface.to_string());
            if member.is_some() {
                call.agent_channel = member.map(str::to_string);
            }
            joined = call.queue_joined_ms;
            if let Some(agent) = agent {
                let c = Self::agent_call(call, party, now);
                out.push(Effect::Agent(agent, AgentFact::CallStarted(c)));
            }
        }
        let wait_secs = e.hold_time_secs.unwrap_or_else(|| waited_secs(joined, now));
        out.push(Effect::Queue(
            e.queue.to_string(),
            QueueFact::CallerConnected { uniqueid, wait_secs, interface: e.interface.to_string() },
        ));
        true
    }

    fn on_agent_complete(&mut self, e: &AgentEvent<'_>, out: &mut Vec<Effect>) -> bool {
        // The conversation is over; the caller goes on in the dialplan (or hangs up).
        let mut changed = false;
        if let Some(call) = e.caller.as_ref().and_then(|c| self.calls.call_of_channel_mut(c.uniqueid)) {
            if call.kind == CallKind::Queue
                && call.state == CallState::Talking
                && call.queue.as_deref() == Some(e.queue)
                && call.agent_interface.as_deref().is_some_and(|i| i.eq_ignore_ascii_case(e.interface))
            {
                call.clear_agent();
                call.state = CallState::AfterQueue;
                changed = true;
            }
        }
        let agent = self.resolve_member(e.queue, e.interface);
        let wrapup = self.wrapup_for(e.queue, e.interface);
        // AgentComplete may come after the hangups it names, even without a channel block
        // (asterisk.md gotcha 30): then it names the agent's queue call in this queue if
        // that is still on, and nothing when the hangup ended it already.
        let linkedid = e
            .caller
            .as_ref()
            .map(|c| c.linkedid.to_string())
            .or_else(|| e.member.as_ref().map(|m| m.linkedid.to_string()))
            .or_else(|| {
                let agent = agent?;
                self.calls
                    .calls
                    .values()
                    .find(|c| {
                        c.agent == Some(agent) && c.kind == CallKind::Queue && c.queue.as_deref() == Some(e.queue)
                    })
                    .map(|c| c.linkedid.clone())
            });
        let transferred = e.reason.is_some_and(|r| r.eq_ignore_ascii_case("transfer"));
        if let (Some(agent), Some(linkedid)) = (agent, linkedid) {
            out.push(Effect::Agent(
                agent,
                AgentFact::CallEnded { linkedid, talk_secs: e.talk_time_secs, wrapup_secs: wrapup },
            ));
        }
        out.push(Effect::Queue(
            e.queue.to_string(),
            QueueFact::CallCompleted {
                uniqueid: e.caller.as_ref().map(|c| c.uniqueid.to_string()),
                interface: e.interface.to_string(),
                talk_secs: e.talk_time_secs.unwrap_or(0),
                transferred,
                wrapup_secs: wrapup,
            },
        ));
        changed
    }

    // ---- resync -----------------------------------------------------------------------

    /// Rebuilds calls, queues and agents from what Asterisk answered after a (re)connect.
    /// `queues` are the queues the tenant knows (those absent from the answer are emptied).
    pub fn resync(
        &mut self,
        snap: &Snapshot,
        queues: &[String],
        agents: &[AgentId],
        now: Millis,
    ) -> (Vec<Effect>, Vec<String>) {
        let mut out = Vec::new();
        let old = self.calls.clone();
        if snap.channels.is_some() {
            self.calls.clear();
        }
        if snap.queue_status.is_some() {
            self.members.clear();
        }

        // Queues: params, members, waiting callers.
        let mut params_by: HashMap<String, QueueParamsInfo> = HashMap::new();
        let mut members_by: HashMap<String, Vec<MemberInfo>> = HashMap::new();
        let mut waiting_by: HashMap<String, Vec<(u32, WaitingCaller)>> = HashMap::new();
        let mut entry_of: HashMap<String, (String, Millis)> = HashMap::new();
        for msg in snap.queue_status.iter().flatten() {
            match TypedEvent::parse(msg) {
                TypedEvent::QueueParams(p) => {
                    params_by.insert(p.queue.to_string(), params(&p));
                }
                TypedEvent::QueueMember(m) => {
                    let info = self.member_info(&m);
                    members_by.entry(m.queue.to_string()).or_default().push(info);
                }
                TypedEvent::QueueEntry(e) => {
                    let joined = now - i64::try_from(e.wait_secs).unwrap_or(0) * 1000;
                    entry_of.insert(e.uniqueid.to_string(), (e.queue.to_string(), joined));
                    let caller = WaitingCaller {
                        uniqueid: e.uniqueid.to_string(),
                        linkedid: e.uniqueid.to_string(),
                        channel: e.channel.to_string(),
                        caller_num: e.caller_id_num.filter(|n| *n != "unknown").map(str::to_string),
                        caller_name: e.caller_id_name.filter(|n| *n != "unknown").map(str::to_string),
                        joined_ms: joined,
                    };
                    waiting_by.entry(e.queue.to_string()).or_default().push((e.position, caller));
                }
                _ => {}
            }
        }

        // Channels, then calls.
        let mut app_of: HashMap<String, (String, String)> = HashMap::new();
        for msg in snap.channels.iter().flatten() {
            if let TypedEvent::CoreShowChannel(c) = TypedEvent::parse(msg) {
                let mut ch = Channel::from_block(&c.channel, now - i64::try_from(c.duration_secs).unwrap_or(0) * 1000);
                ch.bridge = c.bridge_id.map(str::to_string);
                if let Some(known) = old.channels.get(c.channel.uniqueid) {
                    ch.created_ms = known.created_ms;
                    ch.hangup_requested = known.hangup_requested;
                }
                app_of.insert(ch.uniqueid.clone(), (c.application.to_string(), c.application_data.to_string()));
                self.calls.add_channel(ch);
            }
        }
        let linkedids: Vec<String> =
            if snap.channels.is_some() { self.calls.calls.keys().cloned().collect() } else { Vec::new() };
        for linkedid in linkedids {
            match old.calls.get(&linkedid).filter(|k| k.kind == CallKind::Queue && snap.queue_status.is_none()) {
                // Without QueueStatus nothing says where a queue call stands: as it was.
                Some(known) => {
                    let known = known.clone();
                    if let Some(c) = self.calls.calls.get_mut(&linkedid) {
                        let channels = std::mem::take(&mut c.channels);
                        *c = known;
                        c.channels = channels;
                    }
                }
                None => self.classify(&linkedid, &old, &entry_of, &app_of, &members_by, now),
            }
        }
        for (uid, (_, _)) in &entry_of {
            if let Some(lid) = self.calls.channels.get(uid).map(|c| c.linkedid.clone()) {
                for list in waiting_by.values_mut() {
                    for (_, w) in list.iter_mut().filter(|(_, w)| &w.uniqueid == uid) {
                        w.linkedid = lid.clone();
                    }
                }
            }
        }

        let mut present: Vec<String> = Vec::new();
        for q in params_by.keys().chain(members_by.keys()).chain(waiting_by.keys()) {
            if !present.contains(q) {
                present.push(q.clone());
            }
        }
        // Queues Mayday configures but Asterisk did not list are shown empty; the others
        // are gone (the caller stops their actors).
        let mut gone = Vec::new();
        let mut all_queues = present.clone();
        for q in queues.iter().filter(|_| snap.queue_status.is_some()) {
            if !present.contains(q) {
                if self.settings.contains_key(q) {
                    all_queues.push(q.clone());
                } else {
                    gone.push(q.clone());
                }
            }
        }
        for q in &all_queues {
            let mut waiting = waiting_by.remove(q).unwrap_or_default();
            waiting.sort_by_key(|(pos, _)| *pos);
            out.push(Effect::Queue(
                q.clone(),
                QueueFact::Resync {
                    params: params_by.get(q).cloned(),
                    members: members_by.get(q).cloned().unwrap_or_default(),
                    waiting: waiting.into_iter().map(|(_, w)| w).collect(),
                },
            ));
        }

        // Members ringing now (a Resync alone shows none ringing).
        for call in self.calls.calls.values() {
            for leg in &call.rings {
                out.push(Effect::Queue(
                    leg.queue.clone(),
                    QueueFact::MemberRinging { interface: leg.interface.clone(), ringing: true },
                ));
            }
        }

        // Agents.
        if let Some(devices) = &snap.devices {
            self.devices = devices
                .iter()
                .filter_map(|m| Some((m.get("Device")?.to_ascii_lowercase(), DeviceState::from_text(m.get("State")?))))
                .collect();
        }
        for &agent in agents {
            out.push(Effect::Agent(agent, self.agent_resync(agent, now)));
        }
        (out, gone)
    }

    /// After provisioning changed a queue's realtime members or app_queue reloaded: what
    /// `QueueStatus` answered. The queue's members are replaced (waiting callers and calls
    /// stay), and every agent that was or now is a member gets its whole state again. The
    /// flag is false when Asterisk does not list the queue: its members are gone (the
    /// caller decides whether the queue is gone or shown empty).
    pub fn refresh_queue(&mut self, queue: &str, items: &[Message], now: Millis) -> (bool, Vec<Effect>) {
        let mut touched: Vec<AgentId> =
            self.members.iter().filter(|((q, _), _)| q == queue).filter_map(|(_, m)| m.agent).collect();
        let mut found = false;
        let mut queue_params = None;
        let mut listed = Vec::new();
        let mut infos = Vec::new();
        for msg in items {
            match TypedEvent::parse(msg) {
                TypedEvent::QueueParams(p) if p.queue == queue => {
                    found = true;
                    queue_params = Some(params(&p));
                }
                TypedEvent::QueueMember(m) if m.queue == queue => {
                    found = true;
                    listed.push(m);
                }
                _ => {}
            }
        }
        self.members.retain(|(q, _), _| q != queue);
        for m in &listed {
            let info = self.member_info(m);
            touched.extend(info.agent);
            infos.push(info);
        }
        let mut out = Vec::new();
        if found {
            out.push(Effect::Queue(queue.to_string(), QueueFact::Members { params: queue_params, members: infos }));
        }
        touched.sort_unstable();
        touched.dedup();
        for agent in touched {
            out.push(Effect::Agent(agent, self.agent_resync(agent, now)));
        }
        (found, out)
    }

    /// Everything known about an agent, as one fact: after a resync, and for an agent added
    /// while the link is up (its actor starts with nothing).
    pub fn agent_resync(&self, agent: AgentId, now: Millis) -> AgentFact {
        let device = self.spec.agents.iter().find(|a| a.id == agent).map(|a| self.spec.device_of(&a.extension));
        let mut members = Vec::new();
        let mut wrapup_until = None;
        let mut member_status = None;
        for ((queue, _), m) in self.members.iter().filter(|(_, m)| m.agent == Some(agent)) {
            members.push(m.membership.clone());
            member_status.get_or_insert(m.membership.status);
            let w = QueueSettings::wrapup_for(self.settings.get(queue), m.wrapup_secs);
            if w > 0 && m.last_call > 0 && !m.membership.in_call {
                let until = i64::try_from(m.last_call + w).unwrap_or(0) * 1000;
                if until > now {
                    wrapup_until = Some(wrapup_until.map_or(until, |u: Millis| u.max(until)));
                }
            }
        }
        members.sort_by(|a, b| a.queue.cmp(&b.queue));
        let device_state =
            device.as_ref().and_then(|d| self.devices.get(&d.to_ascii_lowercase()).copied()).or(member_status);
        let mut ringing = None;
        let mut call = None;
        let involved = |c: &&Call| c.agent == Some(agent) || c.rings.iter().any(|r| r.agent == Some(agent));
        for c in self.calls.calls.values().filter(involved) {
            let party = if c.kind == CallKind::Outbound { None } else { call_party(&self.calls, &c.caller) };
            let since = c.answered_ms.unwrap_or(c.started_ms);
            let ac = Self::agent_call(c, party, since);
            match (c.state, c.kind) {
                (CallState::Ringing, CallKind::Queue | CallKind::Direct) => ringing = Some(ac),
                (CallState::Ringing | CallState::Talking, _) => call = Some(ac),
                _ => {}
            }
        }
        AgentFact::Resync { device: device_state, members, ringing, call, wrapup_until_ms: wrapup_until }
    }

    /// Works out kind, state, queue and agent of a call from the channels Asterisk listed.
    fn classify(
        &mut self,
        linkedid: &str,
        old: &CallRegistry,
        entry_of: &HashMap<String, (String, Millis)>,
        app_of: &HashMap<String, (String, String)>,
        members_by: &HashMap<String, Vec<MemberInfo>>,
        now: Millis,
    ) {
        let Some(call) = self.calls.calls.get(linkedid).cloned() else { return };
        let known = old.calls.get(linkedid);
        let caller = self.calls.channels.get(&call.caller).cloned();
        // The channel in the queue is the caller's own, or for a Local caller its `;2` half
        // (which runs Queue() while the `;1` half holds the Linkedid).
        let channels = || std::iter::once(&call.caller).chain(call.channels.iter().filter(|u| **u != call.caller));
        let runs_queue = |u: &&String| app_of.get(*u).is_some_and(|(a, _)| a.eq_ignore_ascii_case("Queue"));
        let queue_side = channels()
            .find(|u| entry_of.contains_key(*u))
            .or_else(|| channels().find(runs_queue))
            .unwrap_or(&call.caller)
            .clone();
        let others: Vec<Channel> = call
            .channels
            .iter()
            .filter(|u| **u != call.caller && **u != queue_side)
            .filter_map(|u| self.calls.channels.get(u).cloned())
            .collect();
        let bridged = self.calls.is_bridged(&call);
        let partner = self
            .calls
            .channels
            .get(&queue_side)
            .and_then(|c| c.bridge.clone())
            .and_then(|b| others.iter().find(|o| o.bridge.as_deref() == Some(b.as_str())).cloned());
        let (app, app_data) = app_of.get(&queue_side).cloned().unwrap_or_default();
        let mut next = call.clone();
        next.started_ms = known.map(|k| k.started_ms).unwrap_or(caller.as_ref().map(|c| c.created_ms).unwrap_or(now));
        next.answered_ms = known.and_then(|k| k.answered_ms);
        next.queue_joined_ms = known.and_then(|k| k.queue_joined_ms);
        next.clear_agent();
        next.rings.clear();

        let member_of = |queue: &str, ch: &Channel| -> Option<MemberInfo> {
            let dev = ch.device.to_ascii_lowercase();
            members_by
                .get(queue)?
                .iter()
                .find(|m| {
                    let iface = m.interface.trim_end_matches("/n").to_ascii_lowercase();
                    iface == dev || m.state_interface.to_ascii_lowercase() == dev
                })
                .cloned()
        };
        if let Some((queue, joined)) = entry_of.get(&queue_side) {
            next.kind = CallKind::Queue;
            next.queue = Some(queue.clone());
            next.queue_joined_ms = Some(next.queue_joined_ms.unwrap_or(*joined));
            next.state = CallState::Waiting;
            // Every member channel of a waiting call is ringing (ringall rings several). A
            // Local member shows as two halves and the phone its `;2` dials: the leg is the
            // channel named after the member's interface, its `;1` half when there is one.
            for o in &others {
                let Some(m) = member_of(queue, o) else { continue };
                let exact = o.device.eq_ignore_ascii_case(m.interface.trim_end_matches("/n"));
                let leg = RingLeg {
                    queue: queue.clone(),
                    interface: m.interface.clone(),
                    agent: m.agent,
                    channel: Some(self.first_leg(&call, &o.uniqueid)),
                };
                match next.rings.iter_mut().find(|r| r.interface.eq_ignore_ascii_case(&m.interface)) {
                    Some(r) if exact => *r = leg,
                    Some(_) => {}
                    None => next.rings.push(leg),
                }
            }
            next.show_ringing();
        } else if app.eq_ignore_ascii_case("Queue") && bridged {
            let queue = app_data.split(',').next().unwrap_or_default().to_string();
            next.kind = CallKind::Queue;
            next.queue_answered = true;
            next.state = CallState::Talking;
            next.answered_ms.get_or_insert(now);
            if let Some(p) = &partner {
                let m = member_of(&queue, p).or_else(|| others.iter().find_map(|o| member_of(&queue, o)));
                next.agent = m.as_ref().and_then(|m| m.agent);
                next.agent_interface = m.map(|m| m.interface).or_else(|| Some(p.device.clone()));
                next.agent_channel = Some(p.uniqueid.clone());
            }
            next.queue = Some(queue);
        } else {
            let caller_agent =
                caller.as_ref().filter(|c| c.device.starts_with("PJSIP/")).and_then(|c| self.agent_of(&c.device));
            let dest = others.iter().find(|o| o.device.starts_with("PJSIP/") && self.agent_of(&o.device).is_some());
            if let (Some(agent), Some(c)) = (caller_agent, caller.as_ref()) {
                next.kind = CallKind::Outbound;
                next.agent = Some(agent);
                next.agent_interface = Some(c.device.clone());
                next.agent_channel = partner.as_ref().or(others.first()).map(|o| o.uniqueid.clone());
                next.state = if bridged { CallState::Talking } else { CallState::Ringing };
            } else if let Some(d) = dest {
                next.kind = CallKind::Direct;
                next.agent = self.agent_of(&d.device);
                next.agent_interface = Some(d.device.clone());
                next.agent_channel = Some(d.uniqueid.clone());
                next.state = if bridged { CallState::Talking } else { CallState::Ringing };
            } else if let Some(k) = known.filter(|k| k.kind == CallKind::Queue && !bridged) {
                // Left its queue unanswered while we were away, still in the dialplan.
                next.kind = CallKind::Queue;
                next.queue = k.queue.clone();
                next.state = CallState::AfterQueue;
            } else {
                next.kind = known.map(|k| k.kind).filter(|k| *k == CallKind::Other).unwrap_or(CallKind::Other);
                next.state = if bridged { CallState::Talking } else { CallState::Dialplan };
            }
            if next.state == CallState::Talking {
                next.answered_ms.get_or_insert(now);
            }
        }
        if let Some(c) = self.calls.calls.get_mut(linkedid) {
            let channels = std::mem::take(&mut c.channels);
            *c = next;
            c.channels = channels;
        }
    }

    /// For a Local member, the channel the queue dialed is the `;1` half.
    fn first_leg(&self, call: &Call, uid: &str) -> String {
        let Some(ch) = self.calls.channels.get(uid) else { return uid.to_string() };
        if let Some(base) = ch.name.strip_suffix(";2") {
            let one = format!("{base};1");
            if let Some(u) = call.channels.iter().find(|u| self.calls.channels.get(*u).is_some_and(|c| c.name == one)) {
                return u.clone();
            }
        }
        uid.to_string()
    }
}

/// Seconds since a caller joined its queue (0 when the join was not seen).
fn waited_secs(joined: Option<Millis>, now: Millis) -> u64 {
    joined.map(|j| u64::try_from((now - j).max(0) / 1000).unwrap_or(0)).unwrap_or(0)
}

/// Those legs stopped ringing: their agents and queue members are told.
fn rings_ended(linkedid: &str, legs: Vec<RingLeg>, missed: bool, out: &mut Vec<Effect>) {
    for leg in legs {
        if let Some(agent) = leg.agent {
            out.push(Effect::Agent(agent, AgentFact::RingEnded { linkedid: linkedid.to_string(), missed }));
        }
        out.push(Effect::Queue(leg.queue, QueueFact::MemberRinging { interface: leg.interface, ringing: false }));
    }
}

/// The other party's number as the caller's channel shows it.
fn call_party(calls: &CallRegistry, caller: &str) -> Option<String> {
    calls.channels.get(caller).and_then(|c| c.caller_num.clone())
}

fn params(p: &crate::ami::event::QueueParamsEvent<'_>) -> QueueParamsInfo {
    QueueParamsInfo {
        strategy: p.strategy.to_string(),
        service_level_secs: p.service_level_secs,
        max_len: p.max,
        weight: p.weight,
    }
}

fn membership(queue: &str, m: &MemberInfo) -> Membership {
    Membership {
        queue: queue.to_string(),
        interface: m.interface.clone(),
        paused: m.paused,
        reason: m.paused_reason.clone(),
        status: m.status,
        in_call: m.in_call,
    }
}

/// Ringing and up states of a channel, for readers of the registry.
pub fn is_ringing(state: ChannelState) -> bool {
    matches!(state, ChannelState::Ring | ChannelState::Ringing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::spec::AgentSpec;

    fn msg(pairs: &[(&str, &str)]) -> Message {
        Message::from_pairs(pairs.iter().copied())
    }

    fn member_item(queue: &str, iface: &str, paused: bool) -> Message {
        msg(&[
            ("Event", "QueueMember"),
            ("Queue", queue),
            ("Name", "Agent"),
            ("Location", iface),
            ("StateInterface", iface),
            ("Membership", "realtime"),
            ("Status", "1"),
            ("Paused", if paused { "1" } else { "0" }),
            ("PausedReason", if paused { "lunch" } else { "" }),
        ])
    }

    fn spec(agents: &[(u64, &str)]) -> Arc<TenantSpec> {
        let mut t = TenantSpec::new(crate::live::TenantId(1), "acme", "acme-", None);
        t.agents = agents
            .iter()
            .map(|(id, ext)| AgentSpec {
                id: AgentId(*id),
                extension: ext.to_string(),
                name: format!("A{ext}"),
                pause: None,
                today: None,
            })
            .collect();
        Arc::new(t)
    }

    #[test]
    fn members_and_devices_map_to_agents_by_extension_without_the_prefix() {
        let s = TenantState::new(spec(&[(7, "1001")]));
        assert_eq!(s.agent_of("PJSIP/acme-1001"), Some(AgentId(7)));
        assert_eq!(s.agent_of("Local/acme-1001@agents/n"), Some(AgentId(7)));
        assert_eq!(s.agent_of("PJSIP/beta-1001"), None);
        assert_eq!(s.agent_of_member("Custom:x", "Local/9@x", "A1001"), Some(AgentId(7)), "then by member name");
    }

    #[test]
    fn an_agent_added_after_a_resync_starts_from_what_the_tenant_knows() {
        let mut s = TenantState::new(spec(&[]));
        let snap = Snapshot {
            queue_status: Some(vec![member_item("acme-sales", "PJSIP/acme-1001", true)]),
            channels: Some(vec![]),
            devices: Some(vec![msg(&[
                ("Event", "DeviceStateChange"),
                ("Device", "PJSIP/acme-1001"),
                ("State", "NOT_INUSE"),
            ])]),
        };
        let _ = s.resync(&snap, &[], &[], 0);
        let remapped = s.set_spec(spec(&[(7, "1001")]));
        assert!(
            matches!(&remapped[..], [Effect::Queue(q, QueueFact::Member(m))] if q == "acme-sales" && m.agent == Some(AgentId(7)))
        );
        match s.agent_resync(AgentId(7), 0) {
            AgentFact::Resync { device, members, .. } => {
                assert_eq!(device, Some(DeviceState::NotInuse));
                assert_eq!(members.len(), 1);
                assert!(members[0].paused && members[0].reason == "lunch");
            }
            other => panic!("expected a resync fact, got {other:?}"),
        }
        assert_eq!(s.interfaces_of(AgentId(7)), ["PJSIP/acme-1001"]);
    }

    /// A channel block: `prefix` "" for the caller, "Dest" for the member leg.
    fn block(prefix: &str, name: &str, uid: &str, linkedid: &str) -> Vec<(String, String)> {
        [("Channel", name), ("Uniqueid", uid), ("Linkedid", linkedid), ("CallerIDNum", "5550100")]
            .into_iter()
            .map(|(k, v)| (format!("{prefix}{k}"), v.to_string()))
            .collect()
    }

    fn event(name: &str, fields: &[(&str, &str)], blocks: &[Vec<(String, String)>]) -> Message {
        let mut pairs: Vec<(String, String)> = vec![("Event".into(), name.into())];
        pairs.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        for b in blocks {
            pairs.extend(b.iter().cloned());
        }
        Message::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    fn rings_ended_for(out: &[Effect]) -> Vec<(u64, String)> {
        let mut ended: Vec<(u64, String)> = out
            .iter()
            .filter_map(|e| match e {
                Effect::Agent(a, AgentFact::RingEnded { .. }) => Some((a.0, String::new())),
                Effect::Queue(_, QueueFact::MemberRinging { interface, ringing: false }) => {
                    Some((0, interface.clone()))
                }
                _ => None,
            })
            .collect();
        ended.sort();
        ended
    }

    /// A trunk caller in `acme-sales` with members 1001 and 1002 both ringing (ringall).
    fn ringall() -> (TenantState, Vec<Effect>) {
        let mut s = TenantState::new(spec(&[(1, "1001"), (2, "1002")]));
        let mut out = Vec::new();
        let caller = block("", "PJSIP/trunk-00000001", "9.1", "9.1");
        s.apply(&event("Newchannel", &[], std::slice::from_ref(&caller)), 0, &mut out);
        s.apply(&event("QueueCallerJoin", &[("Queue", "acme-sales")], std::slice::from_ref(&caller)), 0, &mut out);
        for (ext, uid) in [("1001", "9.2"), ("1002", "9.3")] {
            let dest = block("Dest", &format!("PJSIP/acme-{ext}-0000000{uid}"), uid, "9.1");
            let leg = block("", &format!("PJSIP/acme-{ext}-0000000{uid}"), uid, "9.1");
            s.apply(&event("Newchannel", &[], &[leg]), 0, &mut out);
            let iface = format!("PJSIP/acme-{ext}");
            let fields = [("Queue", "acme-sales"), ("Interface", iface.as_str()), ("MemberName", ext)];
            s.apply(&event("AgentCalled", &fields, &[caller.clone(), dest]), 0, &mut out);
        }
        (s, out)
    }

    #[test]
    fn with_ringall_the_members_who_did_not_answer_stop_ringing_when_one_answers() {
        let (mut s, mut out) = ringall();
        let ringing = out.iter().filter(|e| matches!(e, Effect::Agent(_, AgentFact::Ringing(_)))).count();
        assert_eq!(ringing, 2, "both agents ring");
        out.clear();
        // app_queue's order: the answer, CANCEL for the others, the caller leaves the queue,
        // AgentConnect, and hangupcalls' CANCEL once more.
        let caller = block("", "PJSIP/trunk-00000001", "9.1", "9.1");
        let dest = block("Dest", "PJSIP/acme-1002-00000009.3", "9.3", "9.1");
        let cancelled = block("Dest", "PJSIP/acme-1001-00000009.2", "9.2", "9.1");
        s.apply(&event("DialEnd", &[("DialStatus", "ANSWER")], &[caller.clone(), dest.clone()]), 0, &mut out);
        s.apply(&event("DialEnd", &[("DialStatus", "CANCEL")], &[caller.clone(), cancelled.clone()]), 0, &mut out);
        assert_eq!(rings_ended_for(&out), [(0, "PJSIP/acme-1001".to_string()), (1, String::new())]);
        assert!(
            out.iter().all(|e| !matches!(e, Effect::Agent(_, AgentFact::RingEnded { missed: true, .. }))),
            "a ring cancelled because another member answered is not a missed call"
        );
        out.clear();
        s.apply(&event("QueueCallerLeave", &[("Queue", "acme-sales")], std::slice::from_ref(&caller)), 0, &mut out);
        let fields = [("Queue", "acme-sales"), ("Interface", "PJSIP/acme-1002"), ("HoldTime", "3")];
        s.apply(&event("AgentConnect", &fields, &[caller.clone(), dest.clone()]), 0, &mut out);
        s.apply(&event("DialEnd", &[("DialStatus", "CANCEL")], &[caller.clone(), cancelled]), 0, &mut out);
        assert!(rings_ended_for(&out).is_empty(), "nothing more ends: {out:?}");
        let call = &s.calls.calls["9.1"];
        assert_eq!((call.state, call.agent), (CallState::Talking, Some(AgentId(2))));
        assert!(call.rings.is_empty());
        // The agent hangs up: the call is over for the agent, the caller goes on.
        let fields = [("Queue", "acme-sales"), ("Interface", "PJSIP/acme-1002"), ("TalkTime", "30")];
        assert!(s.apply(&event("AgentComplete", &fields, &[caller, dest]), 0, &mut out));
        let call = &s.calls.calls["9.1"];
        assert_eq!((call.state, call.agent), (CallState::AfterQueue, None));
    }

    #[test]
    fn with_ringall_a_caller_who_gives_up_stops_every_ring() {
        let (mut s, mut out) = ringall();
        out.clear();
        let caller = block("", "PJSIP/trunk-00000001", "9.1", "9.1");
        s.apply(&event("QueueCallerAbandon", &[("Queue", "acme-sales"), ("HoldTime", "4")], &[caller]), 0, &mut out);
        assert_eq!(
            rings_ended_for(&out),
            [
                (0, "PJSIP/acme-1001".to_string()),
                (0, "PJSIP/acme-1002".to_string()),
                (1, String::new()),
                (2, String::new())
            ]
        );
    }

    #[test]
    fn a_cancelled_leg_stops_ringing_and_the_call_shows_the_member_still_ringing() {
        let (mut s, mut out) = ringall();
        out.clear();
        let caller = block("", "PJSIP/trunk-00000001", "9.1", "9.1");
        let dest = block("Dest", "PJSIP/acme-1002-00000009.3", "9.3", "9.1");
        assert!(s.apply(&event("DialEnd", &[("DialStatus", "CANCEL")], &[caller, dest]), 0, &mut out));
        assert_eq!(rings_ended_for(&out), [(0, "PJSIP/acme-1002".to_string()), (2, String::new())]);
        let call = &s.calls.calls["9.1"];
        assert_eq!((call.state, call.agent), (CallState::Ringing, Some(AgentId(1))));
    }

    #[test]
    fn a_caller_who_leaves_with_an_exit_key_is_settled_as_leaving_without_hanging_up() {
        let (mut s, mut out) = ringall();
        out.clear();
        let caller = block("", "PJSIP/trunk-00000001", "9.1", "9.1");
        assert!(s.apply(
            &event("QueueCallerLeave", &[("Queue", "acme-sales")], std::slice::from_ref(&caller)),
            0,
            &mut out
        ));
        assert_eq!(s.calls.calls["9.1"].state, CallState::AfterQueue);
        assert_eq!(rings_ended_for(&out).len(), 4, "both rings end: {out:?}");
        assert!(out.iter().any(|e| matches!(e, Effect::Queue(_, QueueFact::CallerAbandoned { hung_up: false, .. }))));

        // An answered caller leaves the queue too, after DialEnd ANSWER: that is no exit.
        let (mut s, mut out) = ringall();
        let dest = block("Dest", "PJSIP/acme-1002-00000009.3", "9.3", "9.1");
        s.apply(&event("DialEnd", &[("DialStatus", "ANSWER")], &[caller.clone(), dest]), 0, &mut out);
        out.clear();
        assert!(!s.apply(
            &event("QueueCallerLeave", &[("Queue", "acme-sales")], std::slice::from_ref(&caller)),
            0,
            &mut out
        ));
        assert!(out.iter().all(|e| !matches!(e, Effect::Queue(_, QueueFact::CallerAbandoned { .. }))));
    }

    #[test]
    fn after_its_queue_a_caller_dialed_to_an_agent_rings_that_agent() {
        let mut s = TenantState::new(spec(&[(2, "1002")]));
        let mut out = Vec::new();
        let caller = block("", "PJSIP/trunk-00000001", "9.1", "9.1");
        s.apply(&event("Newchannel", &[], std::slice::from_ref(&caller)), 0, &mut out);
        s.apply(&event("QueueCallerJoin", &[("Queue", "acme-sales")], std::slice::from_ref(&caller)), 0, &mut out);
        s.apply(&event("QueueCallerAbandon", &[("Queue", "acme-sales")], std::slice::from_ref(&caller)), 0, &mut out);
        assert_eq!(s.calls.calls["9.1"].state, CallState::AfterQueue);
        out.clear();
        let leg = block("", "PJSIP/acme-1002-00000002", "9.2", "9.1");
        s.apply(&event("Newchannel", &[], &[leg]), 0, &mut out);
        let dest = block("Dest", "PJSIP/acme-1002-00000002", "9.2", "9.1");
        assert!(s.apply(&event("DialBegin", &[("DialString", "acme-1002")], &[caller, dest]), 0, &mut out));
        assert!(out.iter().any(|e| matches!(e, Effect::Agent(AgentId(2), AgentFact::Ringing(_)))));
        assert_eq!(s.calls.calls["9.1"].kind, CallKind::Direct);
    }

    #[test]
    fn an_agent_complete_without_channels_ends_the_agents_call_in_that_queue_only() {
        let (mut s, mut out) = ringall();
        let caller = block("", "PJSIP/trunk-00000001", "9.1", "9.1");
        let dest = block("Dest", "PJSIP/acme-1002-00000009.3", "9.3", "9.1");
        let fields = [("Queue", "acme-sales"), ("Interface", "PJSIP/acme-1002")];
        s.apply(&event("AgentConnect", &fields, &[caller, dest]), 0, &mut out);
        out.clear();
        let other = [("Queue", "acme-support"), ("Interface", "PJSIP/acme-1002"), ("TalkTime", "5")];
        s.apply(&event("AgentComplete", &other, &[]), 0, &mut out);
        assert!(!out.iter().any(|e| matches!(e, Effect::Agent(_, AgentFact::CallEnded { .. }))), "another queue's");
        let same = [("Queue", "acme-sales"), ("Interface", "PJSIP/acme-1002"), ("TalkTime", "5")];
        s.apply(&event("AgentComplete", &same, &[]), 0, &mut out);
        assert!(out.iter().any(
            |e| matches!(e, Effect::Agent(AgentId(2), AgentFact::CallEnded { linkedid, .. }) if linkedid == "9.1")
        ));
    }

    #[test]
    fn a_resync_without_queue_status_keeps_where_queue_calls_stood() {
        let (mut s, _) = ringall();
        let item = |name: &str, uid: &str| {
            msg(&[("Event", "CoreShowChannel"), ("Channel", name), ("Uniqueid", uid), ("Linkedid", "9.1")])
        };
        let snap = Snapshot {
            queue_status: None,
            channels: Some(vec![
                item("PJSIP/trunk-00000001", "9.1"),
                item("PJSIP/acme-1001-00000009.2", "9.2"),
                item("PJSIP/acme-1002-00000009.3", "9.3"),
            ]),
            devices: None,
        };
        let (out, gone) = s.resync(&snap, &["acme-sales".into()], &[AgentId(1), AgentId(2)], 1_000);
        assert!(gone.is_empty(), "no queue is gone when Asterisk did not say");
        assert!(!out.iter().any(|e| matches!(e, Effect::Queue(_, QueueFact::Resync { .. }))));
        let call = &s.calls.calls["9.1"];
        assert_eq!((call.kind, call.state, call.rings.len()), (CallKind::Queue, CallState::Ringing, 2));
        assert_eq!(call.channels.len(), 3);
    }

    #[test]
    fn a_failed_transfer_leaves_the_call_as_it_was() {
        let (mut s, mut out) = ringall();
        let caller = block("", "PJSIP/trunk-00000001", "9.1", "9.1");
        let dest = block("Dest", "PJSIP/acme-1002-00000009.3", "9.3", "9.1");
        let fields = [("Queue", "acme-sales"), ("Interface", "PJSIP/acme-1002")];
        s.apply(&event("AgentConnect", &fields, &[caller.clone(), dest]), 0, &mut out);
        let transferer = block("Transferer", "PJSIP/acme-1002-00000009.3", "9.3", "9.1");
        let transferee = block("Transferee", "PJSIP/trunk-00000001", "9.1", "9.1");
        let fields = [("Result", "Fail"), ("IsExternal", "Yes"), ("Context", "x"), ("Extension", "1")];
        assert!(!s.apply(&event("BlindTransfer", &fields, &[transferer, transferee]), 0, &mut out));
        assert_eq!(s.calls.calls["9.1"].agent, Some(AgentId(2)));
    }

    #[test]
    fn a_resync_finds_a_local_caller_in_its_queue_through_its_second_half() {
        // Local/5550100@incoming: `;1` holds the Linkedid, `;2` runs Queue(); member 1001 is a
        // Local member whose `;2` rings the phone; 1002 is a phone ringing too (ringall).
        let item = |name: &str, uid: &str, app: &str, data: &str, bridge: &str| {
            msg(&[
                ("Event", "CoreShowChannel"),
                ("Channel", name),
                ("Uniqueid", uid),
                ("Linkedid", "7.1"),
                ("Application", app),
                ("ApplicationData", data),
                ("Duration", "00:00:05"),
                ("BridgeId", bridge),
            ])
        };
        let member = |iface: &str, state_iface: &str| {
            msg(&[
                ("Event", "QueueMember"),
                ("Queue", "acme-sales"),
                ("Name", "x"),
                ("Location", iface),
                ("StateInterface", state_iface),
                ("Status", "1"),
                ("Paused", "0"),
            ])
        };
        let waiting = Snapshot {
            queue_status: Some(vec![
                member("Local/acme-1001@agents/n", "PJSIP/acme-1001"),
                member("PJSIP/acme-1002", "PJSIP/acme-1002"),
                msg(&[
                    ("Event", "QueueEntry"),
                    ("Queue", "acme-sales"),
                    ("Position", "1"),
                    ("Channel", "Local/5550100@incoming-00000001;2"),
                    ("Uniqueid", "7.2"),
                    ("Wait", "5"),
                ]),
            ]),
            channels: Some(vec![
                item("Local/5550100@incoming-00000001;1", "7.1", "Wait", "60", ""),
                item("Local/5550100@incoming-00000001;2", "7.2", "Queue", "acme-sales,,,,30", ""),
                item("Local/acme-1001@agents-00000002;1", "7.3", "AppQueue", "(Outgoing Line)", ""),
                item("Local/acme-1001@agents-00000002;2", "7.4", "Dial", "PJSIP/acme-1001", ""),
                item("PJSIP/acme-1001-00000003", "7.5", "AppDial", "(Outgoing Line)", ""),
                item("PJSIP/acme-1002-00000004", "7.6", "AppQueue", "(Outgoing Line)", ""),
            ]),
            devices: Some(vec![]),
        };
        let mut s = TenantState::new(spec(&[(1, "1001"), (2, "1002")]));
        let (out, _) = s.resync(&waiting, &["acme-sales".into()], &[AgentId(1), AgentId(2)], 10_000);
        let call = &s.calls.calls["7.1"];
        assert_eq!((call.kind, call.state), (CallKind::Queue, CallState::Ringing));
        let mut legs: Vec<(&str, Option<&str>)> =
            call.rings.iter().map(|r| (r.interface.as_str(), r.channel.as_deref())).collect();
        legs.sort();
        assert_eq!(legs, [("Local/acme-1001@agents/n", Some("7.3")), ("PJSIP/acme-1002", Some("7.6"))]);
        let ringing_agents =
            out.iter().filter(|e| matches!(e, Effect::Agent(_, AgentFact::Resync { ringing: Some(_), .. }))).count();
        assert_eq!(ringing_agents, 2, "both agents show ringing after the resync");
        let member_ringing = out
            .iter()
            .filter(|e| matches!(e, Effect::Queue(_, QueueFact::MemberRinging { ringing: true, .. })))
            .count();
        assert_eq!(member_ringing, 2);

        // Later: 1001 answered, its Local `;1` is bridged with the caller's `;2`.
        let talking = Snapshot {
            queue_status: waiting.queue_status.as_ref().map(|q| q[..2].to_vec()),
            channels: Some(vec![
                item("Local/5550100@incoming-00000001;1", "7.1", "Wait", "60", ""),
                item("Local/5550100@incoming-00000001;2", "7.2", "Queue", "acme-sales,,,,30", "b-1"),
                item("Local/acme-1001@agents-00000002;1", "7.3", "AppQueue", "(Outgoing Line)", "b-1"),
                item("Local/acme-1001@agents-00000002;2", "7.4", "Dial", "PJSIP/acme-1001", "b-2"),
                item("PJSIP/acme-1001-00000003", "7.5", "AppDial", "(Outgoing Line)", "b-2"),
            ]),
            devices: Some(vec![]),
        };
        let (out, _) = s.resync(&talking, &["acme-sales".into()], &[AgentId(1), AgentId(2)], 20_000);
        let call = &s.calls.calls["7.1"];
        assert_eq!((call.kind, call.state, call.agent), (CallKind::Queue, CallState::Talking, Some(AgentId(1))));
        assert_eq!(call.queue.as_deref(), Some("acme-sales"));
        assert!(out.iter().any(|e| matches!(e, Effect::Agent(AgentId(1), AgentFact::Resync { call: Some(_), .. }))));
    }

    #[test]
    fn a_caller_whose_hangup_was_requested_is_an_abandon_and_one_who_was_not_is_a_timeout() {
        let mut s = TenantState::new(spec(&[]));
        fn chan(uid: &str) -> Vec<(&str, &str)> {
            vec![("Channel", "PJSIP/trunk-00000001"), ("Uniqueid", uid), ("Linkedid", uid)]
        }
        let mut out = Vec::new();
        for uid in ["1.1", "1.2"] {
            s.apply(&msg(&[&[("Event", "Newchannel")][..], &chan(uid)[..]].concat()), 0, &mut out);
            s.apply(
                &msg(&[
                    &[("Event", "QueueCallerJoin"), ("Queue", "acme-sales"), ("Position", "1")][..],
                    &chan(uid)[..],
                ]
                .concat()),
                0,
                &mut out,
            );
        }
        s.apply(&msg(&[&[("Event", "HangupRequest")][..], &chan("1.1")[..]].concat()), 0, &mut out);
        out.clear();
        for uid in ["1.1", "1.2"] {
            s.apply(
                &msg(
                    &[
                        &[
                            ("Event", "QueueCallerAbandon"),
                            ("Queue", "acme-sales"),
                            ("Position", "1"),
                            ("HoldTime", "7"),
                        ][..],
                        &chan(uid)[..],
                    ]
                    .concat(),
                ),
                0,
                &mut out,
            );
        }
        let hung: Vec<bool> = out
            .iter()
            .filter_map(|e| match e {
                Effect::Queue(_, QueueFact::CallerAbandoned { hung_up, wait_secs: 7, .. }) => Some(*hung_up),
                _ => None,
            })
            .collect();
        assert_eq!(hung, [true, false]);
        assert_eq!(s.calls.calls["1.2"].state, CallState::AfterQueue);
    }
}
