//! Call flows of the simulated PBX: each step writes the events Asterisk 22 writes for it,
//! in its order (checked against the recordings in `testdata/`, asterisk.md sections 2.2-2.7
//! and app_queue's emission order), and keeps the ground truth.

use std::time::Duration;

use super::wire::{self, Class};
use super::world::{AgentLeg, Call, CallId, CallKind, DeviceState, Phase, SimTime, World};
use crate::ami::event::{ChannelPrefix, ChannelState};

/// Why a scripted step or action could not run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("no such queue: {0}")]
    UnknownQueue(String),
    #[error("no such call: {0:?}")]
    UnknownCall(CallId),
    #[error("no such member {1} in queue {0}")]
    UnknownMember(String, String),
    #[error("no such endpoint: {0}")]
    UnknownEndpoint(String),
    #[error("call {0:?} is not {1}")]
    WrongPhase(CallId, &'static str),
    #[error("no member of queue {0} is available")]
    NobodyAvailable(String),
    #[error("the simulated PBX is not running")]
    Stopped,
}

/// Where a blind transfer sends the caller.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferTarget {
    /// Into another queue.
    Queue(String),
    /// Straight to an agent's endpoint.
    Endpoint(String),
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

impl World {
    fn call(&self, id: CallId) -> Result<&Call, SimError> {
        self.calls.get(&id).filter(|c| c.phase != Phase::Ended).ok_or(SimError::UnknownCall(id))
    }

    fn call_mut(&mut self, id: CallId) -> Result<&mut Call, SimError> {
        self.calls.get_mut(&id).filter(|c| c.phase != Phase::Ended).ok_or(SimError::UnknownCall(id))
    }

    /// An inbound caller arrives on the trunk and enters `queue`.
    pub fn place_call(
        &mut self,
        now: SimTime,
        queue: &str,
        caller_num: &str,
        caller_name: &str,
    ) -> Result<CallId, SimError> {
        let def = self.queues.get(queue).ok_or_else(|| SimError::UnknownQueue(queue.into()))?.def.clone();
        let trunk = format!("PJSIP/{}", self.trunk);
        let uid =
            self.new_channel(now, &trunk, ChannelState::Ring, &def.caller_context, "s", None, def.tenantid.clone());
        self.set_caller(&uid, caller_num, caller_name);
        self.chan_event("Newchannel", Class::Call, &uid, &[]);
        self.set_state(&uid, ChannelState::Up, now);
        let id = self.new_call_id();
        let linkedid = self.view(&uid).map(|v| v.linkedid).unwrap_or_default();
        self.calls.insert(
            id,
            Call {
                id,
                kind: CallKind::Queue,
                caller: uid,
                linkedid,
                queue: Some(queue.into()),
                joined_at: now,
                original_position: 0,
                phase: Phase::Waiting,
                also_ringing: Vec::new(),
                patience: None,
            },
        );
        self.join_queue(now, id, queue)?;
        Ok(id)
    }

    /// Queue(): the caller joins (QueueCallerJoin, music on hold).
    fn join_queue(&mut self, now: SimTime, id: CallId, queue: &str) -> Result<(), SimError> {
        let caller = self.call(id)?.caller.clone();
        let q = self.queues.get_mut(queue).ok_or_else(|| SimError::UnknownQueue(queue.into()))?;
        q.waiting.push(id);
        let position = q.waiting.len();
        q.truth.counters.record_offered();
        let max_wait = q.def.max_wait_secs;
        if let Some(c) = self.channels.get_mut(&caller) {
            c.application = "Queue".into();
            c.application_data = format!("{queue},,,,{max_wait}");
            c.view.priority = 3;
        }
        let call = self.call_mut(id)?;
        call.queue = Some(queue.into());
        call.joined_at = now;
        call.original_position = position as u32;
        call.phase = Phase::Waiting;
        call.kind = CallKind::Queue;
        let p = position.to_string();
        self.chan_event("QueueCallerJoin", Class::Agent, &caller, &[("Queue", queue), ("Position", &p), ("Count", &p)]);
        self.chan_event("MusicOnHoldStart", Class::Call, &caller, &[("Class", "default")]);
        Ok(())
    }

    /// Removes a caller from its queue's waiting list; returns (position, count after).
    fn leave_queue(&mut self, id: CallId, queue: &str) -> (usize, usize) {
        let Some(q) = self.queues.get_mut(queue) else {
            return (0, 0);
        };
        let pos = q.waiting.iter().position(|c| *c == id).map(|i| i + 1).unwrap_or(0);
        q.waiting.retain(|c| *c != id);
        (pos, q.waiting.len())
    }

    /// The members app_queue would ring now, in strategy order.
    pub fn available_members(&self, queue: &str, now: SimTime) -> Vec<String> {
        let Some(q) = self.queues.get(queue) else {
            return Vec::new();
        };
        let mut avail: Vec<(usize, &super::world::Member)> =
            q.members.iter().enumerate().filter(|(_, m)| self.member_available(m, now)).collect();
        match q.def.strategy.as_str() {
            "leastrecent" => avail.sort_by_key(|(_, m)| m.last_call),
            "fewestcalls" => avail.sort_by_key(|(_, m)| m.calls_taken),
            "linear" | "rrordered" => {}
            _ => {
                // rrmemory (default) and the rest: start after the last member rung.
                let n = q.members.len().max(1);
                avail.sort_by_key(|(i, _)| (i + n - q.rr_next % n) % n);
            }
        }
        avail.sort_by_key(|(_, m)| m.def.penalty);
        avail.into_iter().map(|(_, m)| m.def.interface.clone()).collect()
    }

    /// app_queue rings a member for a waiting caller.
    pub fn ring(&mut self, now: SimTime, id: CallId, interface: &str) -> Result<(), SimError> {
        let call = self.call(id)?.clone();
        let queue = call.queue.clone().unwrap_or_default();
        let ringall = self.queues.get(&queue).is_some_and(|q| q.def.strategy == "ringall");
        let adds_a_leg = ringall && matches!(call.phase, Phase::Ringing(_));
        if call.phase != Phase::Waiting && !adds_a_leg {
            return Err(SimError::WrongPhase(id, "waiting"));
        }
        let idx = self
            .member_index(&queue, interface)
            .ok_or_else(|| SimError::UnknownMember(queue.clone(), interface.into()))?;
        let (member_name, state_interface, iface) = {
            let q = self.queues.get_mut(&queue).ok_or_else(|| SimError::UnknownQueue(queue.clone()))?;
            q.rr_next = idx + 1;
            let m = &q.members[idx];
            (m.def.member_name().to_string(), m.def.state_interface().to_string(), m.def.interface.clone())
        };
        let caller_view = self.view(&call.caller).unwrap_or_else(|| unreachable_view(&call.caller));
        let leg = if let Some(target) = iface.strip_prefix("Local/") {
            let target = target.trim_end_matches("/n");
            let (one, two) = self.new_local_pair(now, target, &call.linkedid);
            self.set_caller(&one, &caller_view.caller_num, "");
            self.set_connected(&one, &caller_view.caller_num, &caller_view.caller_name);
            self.set_caller(&two, &caller_view.caller_num, &caller_view.caller_name);
            self.set_connected(&two, &caller_view.caller_num, "");
            self.chan_event("Newchannel", Class::Call, &one, &[]);
            self.chan_event("Newchannel", Class::Call, &two, &[]);
            if let (Some(v1), Some(v2)) = (self.view(&one), self.view(&two)) {
                let mut b = wire::event("LocalBridge", Class::Call);
                wire::push_channel(&mut b, ChannelPrefix::LocalOne, &v1);
                wire::push_channel(&mut b, ChannelPrefix::LocalTwo, &v2);
                let (exten, context) = target.split_once('@').unwrap_or((target, "default"));
                b.push("Context", context);
                b.push("Exten", exten);
                b.push("LocalOptimization", "No");
                self.emit(Class::Call, b.build());
            }
            AgentLeg {
                interface: iface.clone(),
                dest: one,
                local_two: Some(two),
                device: state_interface.clone(),
                rang_at: now,
            }
        } else {
            let ep = iface.strip_prefix("PJSIP/").unwrap_or(&iface).to_string();
            let (context, tenantid) = self
                .endpoints
                .get(&ep)
                .map(|e| (e.context.clone(), e.tenantid.clone()))
                .unwrap_or(("mayday-agents".into(), None));
            let agent =
                self.new_channel(now, &iface, ChannelState::Down, &context, "s", Some(&call.linkedid), tenantid);
            self.set_caller(&agent, &caller_view.caller_num, &caller_view.caller_name);
            self.set_connected(&agent, &caller_view.caller_num, &caller_view.caller_name);
            self.chan_event("Newchannel", Class::Call, &agent, &[]);
            AgentLeg {
                interface: iface.clone(),
                dest: agent,
                local_two: None,
                device: state_interface.clone(),
                rang_at: now,
            }
        };
        let dest_view = self.view(&leg.dest).unwrap_or_else(|| unreachable_view(&leg.dest));
        let caller_view = self.view(&call.caller).unwrap_or_else(|| unreachable_view(&call.caller));
        self.emit(
            Class::Agent,
            wire::two_channel_event(
                "AgentCalled",
                Class::Agent,
                Some(&caller_view),
                &dest_view,
                &[("Queue", &queue), ("Interface", &iface), ("MemberName", &member_name)],
            ),
        );
        // app_queue dials the member's whole interface (`Local/1002@agents/n`, `PJSIP/1001`).
        let dial_string = iface.clone();
        self.emit(
            Class::Call,
            wire::two_channel_event(
                "DialBegin",
                Class::Call,
                Some(&caller_view),
                &dest_view,
                &[("DialString", &dial_string)],
            ),
        );
        self.ringing_leg(now, &call.caller, &leg);
        let c = self.call_mut(id)?;
        if let Phase::Ringing(earlier) = std::mem::replace(&mut c.phase, Phase::Ringing(leg)) {
            c.also_ringing.push(earlier);
        }
        Ok(())
    }

    /// app_queue with `ringall`: every available member rings at once.
    pub fn ring_all(&mut self, now: SimTime, id: CallId) -> Result<(), SimError> {
        let queue = self.call(id)?.queue.clone().unwrap_or_default();
        let members = self.available_members(&queue, now);
        if members.is_empty() {
            return Err(SimError::NobodyAvailable(queue));
        }
        for iface in members {
            self.ring(now, id, &iface)?;
        }
        Ok(())
    }

    /// The other members rung with the one answering stop: app_queue's hangupcalls, each
    /// leg's DialEnd CANCEL and hangup (cause 26, answered elsewhere).
    fn cancel_other_legs(&mut self, now: SimTime, id: CallId, cause: u16) -> Result<(), SimError> {
        let legs = std::mem::take(&mut self.call_mut(id)?.also_ringing);
        let caller = self.call(id)?.caller.clone();
        for leg in legs {
            if let (Some(cv), Some(dv)) = (self.view(&caller), self.view(&leg.dest)) {
                self.emit(
                    Class::Call,
                    wire::two_channel_event("DialEnd", Class::Call, Some(&cv), &dv, &[("DialStatus", "CANCEL")]),
                );
            }
            self.drop_leg(now, &leg, cause);
        }
        Ok(())
    }

    /// The ringing member of a ringall call on `interface` answers.
    pub fn answer_by(&mut self, now: SimTime, id: CallId, interface: &str) -> Result<(), SimError> {
        let c = self.call_mut(id)?;
        if let Some(i) = c.also_ringing.iter().position(|l| l.interface.eq_ignore_ascii_case(interface)) {
            let chosen = c.also_ringing.remove(i);
            if let Phase::Ringing(primary) = std::mem::replace(&mut c.phase, Phase::Ringing(chosen)) {
                c.also_ringing.push(primary);
            }
        } else if !matches!(&c.phase, Phase::Ringing(l) if l.interface.eq_ignore_ascii_case(interface)) {
            return Err(SimError::WrongPhase(id, "ringing that member"));
        }
        self.answer(now, id)
    }

    /// The dialed leg starts ringing: Newstate Ringing, DialState, device RINGING.
    fn ringing_leg(&mut self, now: SimTime, caller: &str, leg: &AgentLeg) {
        let ring_chan = leg.local_two.clone().unwrap_or_else(|| leg.dest.clone());
        self.set_state(&ring_chan, ChannelState::Ringing, now);
        if let (Some(cv), Some(dv)) = (self.view(caller), self.view(&leg.dest)) {
            self.emit(
                Class::Call,
                wire::two_channel_event("DialState", Class::Call, Some(&cv), &dv, &[("DialStatus", "RINGING")]),
            );
        }
        // A Local state interface does not ring: app_queue's member stays Not in use while
        // the `;2` half runs its dialplan (the pjsip recording). A phone's device rings.
        if !leg.device.starts_with("Local/") {
            self.set_device(&leg.device.clone(), DeviceState::Ringing, now);
        }
    }

    /// The ringing member did not answer (ring timeout, reject).
    pub fn ring_no_answer(&mut self, now: SimTime, id: CallId) -> Result<(), SimError> {
        // With ringall the ring timeout ends every leg.
        for leg in std::mem::take(&mut self.call_mut(id)?.also_ringing) {
            self.leg_not_answered(now, id, leg)?;
        }
        let call = self.call(id)?.clone();
        let Phase::Ringing(leg) = call.phase.clone() else {
            return Err(SimError::WrongPhase(id, "ringing"));
        };
        self.leg_not_answered(now, id, leg)?;
        if call.kind == CallKind::Queue {
            self.call_mut(id)?.phase = Phase::Waiting;
        } else {
            self.hangup_caller(now, id, 19, "NO ANSWER", None)?;
        }
        Ok(())
    }

    /// One leg rang out: AgentRingNoAnswer (queue calls), DialEnd, the leg hangs up.
    fn leg_not_answered(&mut self, now: SimTime, id: CallId, leg: AgentLeg) -> Result<(), SimError> {
        let call = self.call(id)?.clone();
        let queue = call.queue.clone().unwrap_or_default();
        let member_name = self.member_name_of(&queue, &leg.interface);
        let ring_ms = (now.saturating_sub(leg.rang_at)).as_millis().to_string();
        if let (Some(cv), Some(dv)) = (self.view(&call.caller), self.view(&leg.dest)) {
            if call.kind == CallKind::Queue {
                self.emit(
                    Class::Agent,
                    wire::two_channel_event(
                        "AgentRingNoAnswer",
                        Class::Agent,
                        Some(&cv),
                        &dv,
                        &[
                            ("Queue", &queue),
                            ("Interface", &leg.interface),
                            ("MemberName", &member_name),
                            ("RingTime", &ring_ms),
                        ],
                    ),
                );
            }
            self.emit(
                Class::Call,
                wire::two_channel_event("DialEnd", Class::Call, Some(&cv), &dv, &[("DialStatus", "NOANSWER")]),
            );
            if call.kind == CallKind::Queue {
                // app_queue hangs the unanswered leg up as cancelled: a second DialEnd.
                self.emit(
                    Class::Call,
                    wire::two_channel_event("DialEnd", Class::Call, Some(&cv), &dv, &[("DialStatus", "CANCEL")]),
                );
            }
        }
        self.drop_leg(now, &leg, 19);
        Ok(())
    }

    /// Hangs up an unanswered leg and frees its device.
    fn drop_leg(&mut self, now: SimTime, leg: &AgentLeg, cause: u16) {
        if let Some(two) = &leg.local_two {
            self.hangup_channel(two, cause, false);
        }
        self.hangup_channel(&leg.dest, cause, false);
        self.set_device(&leg.device.clone(), DeviceState::NotInuse, now);
    }

    fn member_name_of(&self, queue: &str, interface: &str) -> String {
        self.member_index(queue, interface)
            .and_then(|i| self.queues.get(queue).and_then(|q| q.members.get(i)))
            .map(|m| m.def.member_name().to_string())
            .unwrap_or_else(|| interface.to_string())
    }

    /// The ringing party answers: the caller is connected (queue: QueueCallerLeave,
    /// AgentConnect, then the bridge, app_queue's try_calling order).
    pub fn answer(&mut self, now: SimTime, id: CallId) -> Result<(), SimError> {
        let call = self.call(id)?.clone();
        let Phase::Ringing(leg) = call.phase.clone() else {
            return Err(SimError::WrongPhase(id, "ringing"));
        };
        if let Some(two) = &leg.local_two {
            self.set_state(two, ChannelState::Up, now);
        }
        self.set_state(&leg.dest, ChannelState::Up, now);
        if let (Some(cv), Some(dv)) = (self.view(&call.caller), self.view(&leg.dest)) {
            self.emit(
                Class::Call,
                wire::two_channel_event("DialEnd", Class::Call, Some(&cv), &dv, &[("DialStatus", "ANSWER")]),
            );
        }
        self.cancel_other_legs(now, id, 26)?;
        let mut hold_secs = 0;
        let queue = call.queue.clone().filter(|_| call.kind == CallKind::Queue);
        if let Some(queue) = &queue {
            self.chan_event("MusicOnHoldStop", Class::Call, &call.caller, &[]);
            self.set_device(&leg.device.clone(), DeviceState::Inuse, now);
            let (pos, count) = self.leave_queue(id, queue);
            let (p, c) = (pos.to_string(), count.to_string());
            self.chan_event(
                "QueueCallerLeave",
                Class::Agent,
                &call.caller,
                &[("Queue", queue), ("Position", &p), ("Count", &c)],
            );
            hold_secs = secs(now.saturating_sub(call.joined_at));
            let ring_secs = secs(now.saturating_sub(leg.rang_at)).to_string();
            let member_name = self.member_name_of(queue, &leg.interface);
            if let (Some(cv), Some(dv)) = (self.view(&call.caller), self.view(&leg.dest)) {
                let hold = hold_secs.to_string();
                self.emit(
                    Class::Agent,
                    wire::two_channel_event(
                        "AgentConnect",
                        Class::Agent,
                        Some(&cv),
                        &dv,
                        &[
                            ("Queue", queue),
                            ("Interface", &leg.interface),
                            ("MemberName", &member_name),
                            ("HoldTime", &hold),
                            ("RingTime", &ring_secs),
                        ],
                    ),
                );
            }
            if let Some(q) = self.queues.get_mut(queue) {
                let sl = q.def.service_level_secs as u64;
                q.truth.counters.record_answered(hold_secs, sl);
                q.stats.holdtime = exp_avg(q.stats.holdtime, hold_secs, q.stats.completed + q.stats.abandoned == 0);
                if let Some(m) = q.members.iter_mut().find(|m| m.def.interface.eq_ignore_ascii_case(&leg.interface)) {
                    m.in_call = true;
                }
            }
        } else {
            self.set_device(&leg.device.clone(), DeviceState::Inuse, now);
        }
        let bridge = self.new_bridge_id();
        self.emit(Class::Call, wire::bridge_event("BridgeCreate", &bridge, 0));
        for (n, uid) in [leg.dest.clone(), call.caller.clone()].iter().enumerate() {
            if let Some(c) = self.channels.get_mut(uid) {
                c.bridge = Some(bridge.clone());
            }
            if let Some(v) = self.view(uid) {
                self.emit(Class::Call, wire::bridge_channel_event("BridgeEnter", &bridge, n + 1, &v));
            }
        }
        self.call_mut(id)?.phase = Phase::Talking { leg, bridge, since: now, hold_secs, queue };
        Ok(())
    }

    /// A connected call ends because the agent (`by_agent`) or the caller hung up.
    pub fn end_talk(&mut self, now: SimTime, id: CallId, by_agent: bool) -> Result<(), SimError> {
        let call = self.call(id)?.clone();
        let Phase::Talking { leg, bridge, since, hold_secs, queue } = call.phase.clone() else {
            return Err(SimError::WrongPhase(id, "talking"));
        };
        let talk = secs(now.saturating_sub(since));
        let agent_chan = leg.local_two.clone().unwrap_or_else(|| leg.dest.clone());
        let (first, reason) = if by_agent { (agent_chan.clone(), "agent") } else { (call.caller.clone(), "caller") };
        self.request_hangup(&first, 16);
        if by_agent {
            // The recorded order (testdata/pjsip.raw): the member's own leg goes first, then
            // AgentComplete, the member's new state, the bridge empties, the rest hang up.
            if let Some(two) = &leg.local_two {
                self.hangup_channel(two, 16, false);
            }
            if let Some(queue) = &queue {
                self.agent_complete(queue, &call.caller, &leg, hold_secs, talk, reason);
            }
            self.finish_member_call(now, queue.as_deref(), &leg);
            self.leave_bridge(&bridge, &leg.dest);
            self.leave_bridge(&bridge, &call.caller);
            self.emit(Class::Call, wire::bridge_event("BridgeDestroy", &bridge, 0));
            self.hangup_channel(&leg.dest, 16, false);
            self.hangup_caller(now, id, 16, "ANSWERED", Some(&leg))?;
        } else {
            if let Some(queue) = &queue {
                self.agent_complete(queue, &call.caller, &leg, hold_secs, talk, reason);
            }
            self.leave_bridge(&bridge, &call.caller);
            let caller_view = self.view(&call.caller);
            self.hangup_channel(&call.caller, 16, false);
            self.leave_bridge(&bridge, &leg.dest);
            self.emit(Class::Call, wire::bridge_event("BridgeDestroy", &bridge, 0));
            if let Some(two) = &leg.local_two {
                self.hangup_channel(two, 16, false);
            }
            self.hangup_channel(&leg.dest, 16, false);
            self.finish_member_call(now, queue.as_deref(), &leg);
            if let Some(v) = caller_view {
                self.cdr(now, &v, Some(&leg), "ANSWERED", call.joined_at);
            }
            self.call_mut(id)?.phase = Phase::Ended;
        }
        if let Some(queue) = &queue {
            self.record_completed(queue, hold_secs, talk, false);
        }
        Ok(())
    }

    fn agent_complete(&mut self, queue: &str, caller: &str, leg: &AgentLeg, hold: u64, talk: u64, reason: &str) {
        let member_name = self.member_name_of(queue, &leg.interface);
        let (Some(cv), Some(dv)) = (self.view(caller), self.view(&leg.dest)) else {
            return;
        };
        let (h, t) = (hold.to_string(), talk.to_string());
        self.emit(
            Class::Agent,
            wire::two_channel_event(
                "AgentComplete",
                Class::Agent,
                Some(&cv),
                &dv,
                &[
                    ("Queue", queue),
                    ("Interface", &leg.interface),
                    ("MemberName", &member_name),
                    ("HoldTime", &h),
                    ("TalkTime", &t),
                    ("Reason", reason),
                ],
            ),
        );
    }

    fn record_completed(&mut self, queue: &str, hold: u64, talk: u64, transferred: bool) {
        if let Some(q) = self.queues.get_mut(queue) {
            q.truth.counters.record_handled(talk, 0, transferred);
            q.stats.completed += 1;
            if hold <= q.def.service_level_secs as u64 {
                q.stats.completed_in_sl += 1;
            }
            q.stats.talktime = exp_avg(q.stats.talktime, talk, q.stats.completed == 1);
        }
    }

    /// app_queue's update_queue (calls taken, last call, wrap-up) then the device goes idle.
    fn finish_member_call(&mut self, now: SimTime, queue: Option<&str>, leg: &AgentLeg) {
        if let Some(queue) = queue {
            let epoch = self.epoch(now);
            if let Some(q) = self.queues.get_mut(queue) {
                let wrapup = q.def.wrapup_secs;
                if let Some(m) = q.members.iter_mut().find(|m| m.def.interface.eq_ignore_ascii_case(&leg.interface)) {
                    m.calls_taken += 1;
                    m.last_call = epoch;
                    m.in_call = false;
                    let w = m.wrapup_secs.filter(|w| *w > 0).unwrap_or(wrapup);
                    if w > 0 {
                        m.wrapup_until = Some(now + Duration::from_secs(w as u64));
                        q.truth.counters.record_wrapup(w as u64);
                    }
                }
            }
        }
        self.set_device(&leg.device.clone(), DeviceState::NotInuse, now);
    }

    fn leave_bridge(&mut self, bridge: &str, uid: &str) {
        let remaining = self.channels.values().filter(|c| c.bridge.as_deref() == Some(bridge)).count();
        if let Some(c) = self.channels.get_mut(uid) {
            c.bridge = None;
        }
        if let Some(v) = self.view(uid) {
            self.emit(Class::Call, wire::bridge_channel_event("BridgeLeave", bridge, remaining.saturating_sub(1), &v));
        }
    }

    /// Hangs the caller's channel up and writes its Cdr.
    fn hangup_caller(
        &mut self,
        now: SimTime,
        id: CallId,
        cause: u16,
        disposition: &str,
        leg: Option<&AgentLeg>,
    ) -> Result<(), SimError> {
        let call = self.call(id)?.clone();
        let view = self.view(&call.caller);
        self.hangup_channel(&call.caller, cause, false);
        if let Some(v) = view {
            self.cdr(now, &v, leg, disposition, call.joined_at);
        }
        self.call_mut(id)?.phase = Phase::Ended;
        Ok(())
    }

    /// The caller hangs up while waiting or ringing: a true abandon (HangupRequest first,
    /// then QueueCallerAbandon and QueueCallerLeave, asterisk.md gotcha 12).
    pub fn abandon(&mut self, now: SimTime, id: CallId) -> Result<(), SimError> {
        let call = self.call(id)?.clone();
        if !matches!(call.phase, Phase::Waiting | Phase::Ringing(_)) {
            return Err(SimError::WrongPhase(id, "waiting"));
        }
        self.request_hangup(&call.caller, 16);
        self.unqueue(now, id, true)?;
        self.hangup_caller(now, id, 16, "ANSWERED", None)
    }

    /// The Queue() timeout expires: the caller leaves unanswered but stays in the dialplan.
    pub fn timeout(&mut self, now: SimTime, id: CallId) -> Result<(), SimError> {
        let call = self.call(id)?.clone();
        if !matches!(call.phase, Phase::Waiting | Phase::Ringing(_)) {
            return Err(SimError::WrongPhase(id, "waiting"));
        }
        self.unqueue(now, id, false)?;
        if let Some(c) = self.channels.get_mut(&call.caller) {
            c.application = "Playback".into();
            c.application_data = "vm-goodbye".into();
            c.view.priority = 4;
        }
        self.call_mut(id)?.phase = Phase::AfterQueue;
        Ok(())
    }

    /// QueueCallerAbandon + QueueCallerLeave for a caller leaving unanswered.
    fn unqueue(&mut self, now: SimTime, id: CallId, hung_up: bool) -> Result<(), SimError> {
        let call = self.call(id)?.clone();
        let queue = call.queue.clone().unwrap_or_default();
        if let Phase::Ringing(leg) = &call.phase {
            if let (Some(cv), Some(dv)) = (self.view(&call.caller), self.view(&leg.dest)) {
                self.emit(
                    Class::Call,
                    wire::two_channel_event("DialEnd", Class::Call, Some(&cv), &dv, &[("DialStatus", "CANCEL")]),
                );
            }
            self.drop_leg(now, leg, 16);
        }
        self.cancel_other_legs(now, id, 16)?;
        let wait = secs(now.saturating_sub(call.joined_at));
        let (pos, count) = self.leave_queue(id, &queue);
        let (p, c, o, w) = (pos.to_string(), count.to_string(), call.original_position.to_string(), wait.to_string());
        self.chan_event(
            "QueueCallerAbandon",
            Class::Agent,
            &call.caller,
            &[("Queue", &queue), ("Position", &p), ("OriginalPosition", &o), ("HoldTime", &w)],
        );
        self.chan_event(
            "QueueCallerLeave",
            Class::Agent,
            &call.caller,
            &[("Queue", &queue), ("Position", &p), ("Count", &c)],
        );
        self.chan_event("MusicOnHoldStop", Class::Call, &call.caller, &[]);
        if let Some(q) = self.queues.get_mut(&queue) {
            let sl = q.def.service_level_secs as u64;
            q.stats.abandoned += 1;
            if wait <= sl {
                q.stats.abandoned_in_sl += 1;
            }
            if hung_up {
                q.truth.counters.record_abandoned(wait, sl);
            } else {
                q.truth.counters.record_timed_out();
            }
        }
        Ok(())
    }

    /// The agent blind-transfers a connected caller (AMI BlindTransfer: Unhold first,
    /// gotcha 33; then BlindTransfer and AgentComplete with reason `transfer`).
    pub fn transfer(&mut self, now: SimTime, id: CallId, target: &TransferTarget) -> Result<(), SimError> {
        let call = self.call(id)?.clone();
        let Phase::Talking { leg, bridge, since, hold_secs, queue } = call.phase.clone() else {
            return Err(SimError::WrongPhase(id, "talking"));
        };
        match target {
            TransferTarget::Queue(q) if !self.queues.contains_key(q) => return Err(SimError::UnknownQueue(q.clone())),
            TransferTarget::Endpoint(e) if !self.endpoints.contains_key(e) => {
                return Err(SimError::UnknownEndpoint(e.clone()))
            }
            _ => {}
        }
        let talk = secs(now.saturating_sub(since));
        let agent_chan = leg.local_two.clone().unwrap_or_else(|| leg.dest.clone());
        self.chan_event("Unhold", Class::Call, &agent_chan, &[]);
        let (context, exten) = match target {
            TransferTarget::Queue(q) => {
                (self.queues.get(q).map(|q| q.def.caller_context.clone()).unwrap_or_default(), q.clone())
            }
            TransferTarget::Endpoint(e) => ("mayday-agents".to_string(), e.clone()),
        };
        if let (Some(tv), Some(cv)) = (self.view(&agent_chan), self.view(&call.caller)) {
            let mut b = wire::event("BlindTransfer", Class::Call).field("Result", "Success");
            wire::push_channel(&mut b, ChannelPrefix::Transferer, &tv);
            wire::push_channel(&mut b, ChannelPrefix::Transferee, &cv);
            wire::push_bridge(&mut b, &bridge, 2);
            b.push("IsExternal", "No");
            b.push("Context", &context);
            b.push("Extension", &exten);
            self.emit(Class::Call, b.build());
        }
        if let Some(queue) = &queue {
            self.agent_complete(queue, &call.caller, &leg, hold_secs, talk, "transfer");
        }
        self.leave_bridge(&bridge, &call.caller);
        self.leave_bridge(&bridge, &leg.dest);
        self.emit(Class::Call, wire::bridge_event("BridgeDestroy", &bridge, 0));
        if let Some(two) = &leg.local_two {
            self.hangup_channel(two, 16, false);
        }
        self.hangup_channel(&leg.dest, 16, false);
        self.finish_member_call(now, queue.as_deref(), &leg);
        if let Some(queue) = &queue {
            self.record_completed(queue, hold_secs, talk, true);
        }
        if let Some(c) = self.channels.get_mut(&call.caller) {
            c.view.context = context;
            c.view.exten = exten;
            c.view.priority = 1;
        }
        match target {
            TransferTarget::Queue(q) => {
                self.call_mut(id)?.phase = Phase::Waiting;
                self.join_queue(now, id, q)
            }
            TransferTarget::Endpoint(e) => {
                let c = self.call_mut(id)?;
                c.kind = CallKind::Direct;
                c.queue = None;
                self.dial_endpoint(now, id, e)
            }
        }
    }

    /// The caller (or whoever `Hangup` names on the caller's side) hangs up, whatever the phase.
    pub fn hangup_call(&mut self, now: SimTime, id: CallId) -> Result<(), SimError> {
        let call = self.call(id)?.clone();
        match call.phase {
            Phase::Waiting | Phase::Ringing(_) if call.kind == CallKind::Queue => self.abandon(now, id),
            Phase::Ringing(leg) => {
                self.request_hangup(&call.caller, 16);
                if let (Some(cv), Some(dv)) = (self.view(&call.caller), self.view(&leg.dest)) {
                    self.emit(
                        Class::Call,
                        wire::two_channel_event("DialEnd", Class::Call, Some(&cv), &dv, &[("DialStatus", "CANCEL")]),
                    );
                }
                self.drop_leg(now, &leg, 16);
                self.hangup_caller(now, id, 16, "NO ANSWER", None)
            }
            Phase::Talking { .. } => self.end_talk(now, id, false),
            Phase::AfterQueue | Phase::Waiting => {
                self.request_hangup(&call.caller, 16);
                self.hangup_caller(now, id, 16, "ANSWERED", None)
            }
            Phase::Ended => Err(SimError::UnknownCall(id)),
        }
    }

    /// An inbound call for one agent, not through a queue: the trunk leg dials the endpoint.
    pub fn direct_call(
        &mut self,
        now: SimTime,
        endpoint: &str,
        caller_num: &str,
        context: &str,
    ) -> Result<CallId, SimError> {
        let tenantid =
            self.endpoints.get(endpoint).ok_or_else(|| SimError::UnknownEndpoint(endpoint.into()))?.tenantid.clone();
        let trunk = format!("PJSIP/{}", self.trunk);
        let uid = self.new_channel(now, &trunk, ChannelState::Ring, context, endpoint, None, tenantid);
        self.set_caller(&uid, caller_num, "");
        self.chan_event("Newchannel", Class::Call, &uid, &[]);
        let id = self.new_call_id();
        let linkedid = self.view(&uid).map(|v| v.linkedid).unwrap_or_default();
        self.calls.insert(
            id,
            Call {
                id,
                kind: CallKind::Direct,
                caller: uid,
                linkedid,
                queue: None,
                joined_at: now,
                original_position: 0,
                phase: Phase::Waiting,
                also_ringing: Vec::new(),
                patience: None,
            },
        );
        self.dial_endpoint(now, id, endpoint)?;
        Ok(id)
    }

    /// Dial(PJSIP/<endpoint>) from the call's caller channel.
    fn dial_endpoint(&mut self, now: SimTime, id: CallId, endpoint: &str) -> Result<(), SimError> {
        let call = self.call(id)?.clone();
        let ep = self.endpoints.get(endpoint).cloned().ok_or_else(|| SimError::UnknownEndpoint(endpoint.into()))?;
        let device = format!("PJSIP/{endpoint}");
        let agent = self.new_channel(
            now,
            &device,
            ChannelState::Down,
            &ep.context,
            "s",
            Some(&call.linkedid),
            ep.tenantid.clone(),
        );
        let cv = self.view(&call.caller).unwrap_or_else(|| unreachable_view(&call.caller));
        self.set_caller(&agent, &cv.caller_num, &cv.caller_name);
        self.set_connected(&agent, &cv.caller_num, &cv.caller_name);
        self.chan_event("Newchannel", Class::Call, &agent, &[]);
        if let Some(c) = self.channels.get_mut(&call.caller) {
            c.application = "Dial".into();
            c.application_data = device.clone();
        }
        let dv = self.view(&agent).unwrap_or_else(|| unreachable_view(&agent));
        self.emit(
            Class::Call,
            wire::two_channel_event("DialBegin", Class::Call, Some(&cv), &dv, &[("DialString", endpoint)]),
        );
        let leg = AgentLeg { interface: device.clone(), dest: agent, local_two: None, device, rang_at: now };
        self.ringing_leg(now, &call.caller, &leg);
        self.call_mut(id)?.phase = Phase::Ringing(leg);
        Ok(())
    }

    /// An agent dials out: their own channel dials the trunk; the far end rings.
    pub fn outbound_call(&mut self, now: SimTime, endpoint: &str, number: &str) -> Result<CallId, SimError> {
        let ep = self.endpoints.get(endpoint).cloned().ok_or_else(|| SimError::UnknownEndpoint(endpoint.into()))?;
        let device = format!("PJSIP/{endpoint}");
        let own = self.new_channel(now, &device, ChannelState::Ring, &ep.context, number, None, ep.tenantid.clone());
        self.set_caller(&own, endpoint, &ep.name);
        self.chan_event("Newchannel", Class::Call, &own, &[]);
        self.set_device(&device, DeviceState::Inuse, now);
        self.start_outbound_dial(now, own, endpoint, number, CallKind::Outbound)
    }

    fn start_outbound_dial(
        &mut self,
        now: SimTime,
        own: String,
        endpoint: &str,
        number: &str,
        kind: CallKind,
    ) -> Result<CallId, SimError> {
        let linkedid = self.view(&own).map(|v| v.linkedid).unwrap_or_default();
        let trunk = format!("PJSIP/{}", self.trunk);
        let far = self.new_channel(now, &trunk, ChannelState::Down, "from-trunk", number, Some(&linkedid), None);
        let ov = self.view(&own).unwrap_or_else(|| unreachable_view(&own));
        self.set_caller(&far, &ov.caller_num, &ov.caller_name);
        self.set_connected(&far, number, "");
        self.chan_event("Newchannel", Class::Call, &far, &[]);
        if let Some(c) = self.channels.get_mut(&own) {
            c.application = "Dial".into();
            c.application_data = format!("PJSIP/{number}@{}", self.trunk);
        }
        let fv = self.view(&far).unwrap_or_else(|| unreachable_view(&far));
        let dial = format!("{number}@{}", self.trunk);
        self.emit(
            Class::Call,
            wire::two_channel_event("DialBegin", Class::Call, Some(&ov), &fv, &[("DialString", &dial)]),
        );
        self.set_state(&far, ChannelState::Ringing, now);
        if let (Some(ov), Some(fv)) = (self.view(&own), self.view(&far)) {
            self.emit(
                Class::Call,
                wire::two_channel_event("DialState", Class::Call, Some(&ov), &fv, &[("DialStatus", "RINGING")]),
            );
        }
        let id = self.new_call_id();
        let device = format!("PJSIP/{endpoint}");
        // For outbound calls the "leg" is the far end; the agent's device is already in use.
        let leg = AgentLeg { interface: device.clone(), dest: far, local_two: None, device, rang_at: now };
        self.calls.insert(
            id,
            Call {
                id,
                kind,
                caller: own,
                linkedid,
                queue: None,
                joined_at: now,
                original_position: 0,
                phase: Phase::Ringing(leg),
                also_ringing: Vec::new(),
                patience: None,
            },
        );
        Ok(id)
    }

    /// Click-to-dial (AMI Originate to an agent's endpoint): the agent's phone rings, is
    /// answered, then dials `number`. Returns the call and the agent channel's Uniqueid.
    pub fn originate_to_number(
        &mut self,
        now: SimTime,
        endpoint: &str,
        number: &str,
        context: &str,
        channel_id: Option<&str>,
    ) -> Result<(CallId, String), SimError> {
        let ep = self.endpoints.get(endpoint).cloned().ok_or_else(|| SimError::UnknownEndpoint(endpoint.into()))?;
        if !ep.registered {
            return Err(SimError::UnknownEndpoint(endpoint.into()));
        }
        let device = format!("PJSIP/{endpoint}");
        let own = self.new_channel(now, &device, ChannelState::Down, context, number, None, ep.tenantid.clone());
        if let Some(id) = channel_id {
            // Originate's ChannelId becomes the Uniqueid (asterisk.md gotcha 3).
            if let Some(mut c) = self.channels.remove(&own) {
                c.view.uniqueid = id.to_string();
                c.view.linkedid = id.to_string();
                self.channels.insert(id.to_string(), c);
            }
        }
        let own = channel_id.map(str::to_string).unwrap_or(own);
        self.set_caller(&own, number, "");
        self.chan_event("Newchannel", Class::Call, &own, &[]);
        self.set_state(&own, ChannelState::Ringing, now);
        self.set_device(&device, DeviceState::Ringing, now);
        self.set_state(&own, ChannelState::Up, now);
        self.set_device(&device, DeviceState::Inuse, now);
        let id = self.start_outbound_dial(now, own.clone(), endpoint, number, CallKind::Outbound)?;
        Ok((id, own))
    }

    /// Writes a Cdr for the caller's channel (cdr_manager's keys and order).
    fn cdr(
        &mut self,
        now: SimTime,
        caller: &wire::ChannelView,
        leg: Option<&AgentLeg>,
        disposition: &str,
        start: SimTime,
    ) {
        let (dst_chan, answer) = match leg {
            Some(l) => (
                self.channels.get(&l.dest).map(|c| c.view.name.clone()).unwrap_or_else(|| l.interface.clone()),
                Some(l.rang_at),
            ),
            None => (String::new(), None),
        };
        let duration = secs(now.saturating_sub(start));
        let billsec = answer.map(|a| secs(now.saturating_sub(a))).unwrap_or(0);
        let msg = wire::event("Cdr", Class::Cdr)
            .field("AccountCode", "")
            .field("Source", &caller.caller_num)
            .field("Destination", &caller.exten)
            .field("DestinationContext", &caller.context)
            .field("CallerID", &format!("\"{}\" <{}>", caller.caller_name, caller.caller_num))
            .field("Channel", &caller.name)
            .field("DestinationChannel", &dst_chan)
            .field("LastApplication", "Queue")
            .field("LastData", "")
            .field("StartTime", &self.datetime(start))
            .field("AnswerTime", &answer.map(|a| self.datetime(a)).unwrap_or_default())
            .field("EndTime", &self.datetime(now))
            .field("Duration", &duration.to_string())
            .field("BillableSeconds", &billsec.to_string())
            .field("Disposition", disposition)
            .field("AMAFlags", "DOCUMENTATION")
            .field("UniqueID", &caller.uniqueid)
            .field("UserField", "")
            .build();
        self.emit(Class::Cdr, msg);
    }
}

/// Asterisk's exponential average for Holdtime/TalkTime: (3 * old + new) / 4, the first
/// sample seeding it (asterisk.md 5.2).
fn exp_avg(old: u64, sample: u64, first: bool) -> u64 {
    if first {
        sample
    } else {
        (3 * old + sample) / 4
    }
}

/// A placeholder view for a channel that must exist; only reached if state is corrupt.
fn unreachable_view(uid: &str) -> wire::ChannelView {
    wire::ChannelView {
        name: format!("Unknown/{uid}"),
        state: ChannelState::Unknown,
        caller_num: String::new(),
        caller_name: String::new(),
        connected_num: String::new(),
        connected_name: String::new(),
        context: String::new(),
        exten: String::new(),
        priority: 1,
        uniqueid: uid.into(),
        linkedid: uid.into(),
        tenantid: None,
    }
}
