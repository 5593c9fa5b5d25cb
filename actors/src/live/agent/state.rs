//! One agent's state machine, driven by facts (and the clock, for wrap-up):
//! logged out, available, ringing, on call (queue, direct or outbound), wrap-up, paused.
//!
//! The shown status is derived, highest first: on call > ringing > logged out (device
//! unregistered or unknown) > paused (in any queue, with its reason) > wrap-up > available.
//! Calls that do not come through a queue change the status too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::live::facts::{AgentCall, AgentFact, CallKind, DeviceState, Membership};
use crate::live::ids::{AgentId, Millis};
use crate::live::spec::{AgentSpec, PauseState};

/// What a wallboard shows for an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    LoggedOut,
    Available,
    Ringing,
    OnCall,
    Wrapup,
    Paused,
}

/// Today's figures of an agent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentCounters {
    /// Answered calls that ended (any kind).
    pub calls: u64,
    pub queue_calls: u64,
    pub direct_calls: u64,
    pub outbound_calls: u64,
    pub talk_secs: u64,
    pub pause_secs: u64,
    /// Rings that were not answered.
    pub missed: u64,
}

/// An agent as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSnapshot {
    pub id: AgentId,
    pub extension: String,
    pub name: String,
    pub device: String,
    pub status: AgentStatus,
    pub since_ms: Millis,
    /// The pause reason while paused.
    pub reason: Option<String>,
    pub call: Option<AgentCall>,
    pub wrapup_until_ms: Option<Millis>,
    pub device_state: DeviceState,
    pub queues: Vec<String>,
    /// The pause Mayday owns (what is re-applied after an Asterisk restart).
    pub mayday_pause: Option<PauseState>,
    pub day: chrono::NaiveDate,
    pub today: AgentCounters,
}

/// The state of one agent.
#[derive(Clone, Debug)]
pub struct AgentState {
    id: AgentId,
    extension: String,
    name: String,
    device: String,
    device_state: DeviceState,
    members: BTreeMap<String, Membership>,
    ringing: Option<AgentCall>,
    call: Option<AgentCall>,
    wrapup_until: Option<Millis>,
    mayday_pause: Option<PauseState>,
    status: AgentStatus,
    since: Millis,
    day: chrono::NaiveDate,
    counters: AgentCounters,
}

impl AgentState {
    pub fn new(spec: &AgentSpec, device: String, day: chrono::NaiveDate, now: Millis) -> Self {
        let mut s = AgentState {
            id: spec.id,
            extension: spec.extension.clone(),
            name: spec.name.clone(),
            device,
            device_state: DeviceState::Unknown,
            members: BTreeMap::new(),
            ringing: None,
            call: None,
            wrapup_until: None,
            mayday_pause: spec.pause.clone(),
            status: AgentStatus::LoggedOut,
            since: now,
            day,
            counters: AgentCounters::default(),
        };
        if let Some((d, c)) = &spec.today {
            if *d == day {
                s.counters = c.clone();
            }
        }
        s.status = s.derive(now);
        s
    }

    pub fn id(&self) -> AgentId {
        self.id
    }

    pub fn device(&self) -> &str {
        &self.device
    }

    pub fn status(&self) -> AgentStatus {
        self.status
    }

    pub fn counters(&self) -> &AgentCounters {
        &self.counters
    }

    pub fn day(&self) -> chrono::NaiveDate {
        self.day
    }

    pub fn mayday_pause(&self) -> Option<&PauseState> {
        self.mayday_pause.as_ref()
    }

    /// Interfaces this agent is a member through, by queue.
    pub fn memberships(&self) -> impl Iterator<Item = &Membership> {
        self.members.values()
    }

    /// When wrap-up ends (to set a timer).
    pub fn wrapup_until(&self) -> Option<Millis> {
        self.wrapup_until
    }

    /// Paused in Asterisk: in any queue; an agent in no queue shows Mayday's pause.
    fn paused_reason(&self) -> Option<String> {
        if self.members.is_empty() {
            return self.mayday_pause.as_ref().map(|p| p.reason.clone());
        }
        self.members.values().find(|m| m.paused).map(|m| m.reason.clone())
    }

    fn derive(&self, now: Millis) -> AgentStatus {
        if self.call.is_some() {
            AgentStatus::OnCall
        } else if self.ringing.is_some() {
            AgentStatus::Ringing
        } else if self.device_state.is_offline() {
            AgentStatus::LoggedOut
        } else if self.paused_reason().is_some() {
            AgentStatus::Paused
        } else if self.wrapup_until.is_some_and(|t| t > now) {
            AgentStatus::Wrapup
        } else if self.device_state == DeviceState::Unknown && self.members.is_empty() {
            // Nothing known about the phone at all: not logged in.
            AgentStatus::LoggedOut
        } else {
            AgentStatus::Available
        }
    }

    /// Re-derives the status; returns true when it changed. Pause time is counted here.
    fn settle(&mut self, now: Millis) -> bool {
        if self.wrapup_until.is_some_and(|t| t <= now) {
            self.wrapup_until = None;
        }
        let next = self.derive(now);
        if next == self.status {
            return false;
        }
        if self.status == AgentStatus::Paused {
            self.counters.pause_secs += u64::try_from((now - self.since).max(0) / 1000).unwrap_or(0);
        }
        self.status = next;
        self.since = now;
        true
    }

    /// A new day: today's counters start from zero (pause time is split at midnight).
    pub fn roll_day(&mut self, today: chrono::NaiveDate, now: Millis) -> bool {
        if today == self.day {
            return false;
        }
        self.day = today;
        self.counters = AgentCounters::default();
        if self.status == AgentStatus::Paused {
            self.since = now;
        }
        true
    }

    /// Mayday's own pause changed (API): kept to re-apply after an Asterisk restart.
    pub fn set_mayday_pause(&mut self, pause: Option<PauseState>, now: Millis) -> bool {
        self.mayday_pause = pause;
        self.settle(now);
        true
    }

    /// Applies a fact; returns true when anything shown changed.
    pub fn apply(&mut self, fact: AgentFact, now: Millis) -> bool {
        match fact {
            AgentFact::Device(state) => self.device_state = state,
            AgentFact::Member(m) => {
                self.members.insert(m.queue.clone(), m);
            }
            AgentFact::MemberRemoved { queue } => {
                self.members.remove(&queue);
            }
            AgentFact::Ringing(call) => {
                if self.call.as_ref().is_none_or(|c| c.linkedid != call.linkedid) {
                    self.ringing = Some(call);
                }
            }
            AgentFact::RingEnded { linkedid, missed } => {
                if self.ringing.as_ref().is_some_and(|r| r.linkedid == linkedid) {
                    self.ringing = None;
                    if missed {
                        self.counters.missed += 1;
                    }
                }
            }
            AgentFact::CallStarted(call) => {
                if self.ringing.as_ref().is_some_and(|r| r.linkedid == call.linkedid) {
                    self.ringing = None;
                }
                self.call = Some(call);
                self.wrapup_until = None;
            }
            AgentFact::CallEnded { linkedid, talk_secs, wrapup_secs } => {
                if self.ringing.as_ref().is_some_and(|r| r.linkedid == linkedid) {
                    self.ringing = None;
                }
                if let Some(call) = self.call.take_if(|c| c.linkedid == linkedid) {
                    let talk =
                        talk_secs.unwrap_or_else(|| u64::try_from((now - call.since_ms).max(0) / 1000).unwrap_or(0));
                    self.counters.calls += 1;
                    self.counters.talk_secs += talk;
                    match call.kind {
                        CallKind::Queue => self.counters.queue_calls += 1,
                        CallKind::Direct => self.counters.direct_calls += 1,
                        CallKind::Outbound => self.counters.outbound_calls += 1,
                        CallKind::Other => {}
                    }
                    if wrapup_secs > 0 {
                        let until = now + i64::try_from(wrapup_secs).unwrap_or(0) * 1000;
                        self.wrapup_until = Some(self.wrapup_until.map_or(until, |w| w.max(until)));
                    }
                }
            }
            AgentFact::Resync { device, members, ringing, call, wrapup_until_ms } => {
                if let Some(d) = device {
                    self.device_state = d;
                }
                self.members = members.into_iter().map(|m| (m.queue.clone(), m)).collect();
                self.ringing = ringing;
                // Keep the start time of a call we already knew.
                self.call = match (call, self.call.take()) {
                    (Some(new), Some(old)) if old.linkedid == new.linkedid => Some(old),
                    (new, _) => new,
                };
                if self.call.is_none() {
                    self.wrapup_until = wrapup_until_ms.filter(|t| *t > now).or(self.wrapup_until.filter(|t| *t > now));
                }
            }
        }
        self.settle(now);
        true
    }

    /// Lets time pass (wrap-up ends); returns true when the status changed.
    pub fn tick(&mut self, now: Millis) -> bool {
        self.settle(now)
    }

    pub fn snapshot(&self) -> AgentSnapshot {
        AgentSnapshot {
            id: self.id,
            extension: self.extension.clone(),
            name: self.name.clone(),
            device: self.device.clone(),
            status: self.status,
            since_ms: self.since,
            reason: if self.status == AgentStatus::Paused { self.paused_reason() } else { None },
            call: self.call.clone().or_else(|| self.ringing.clone()),
            wrapup_until_ms: self.wrapup_until,
            device_state: self.device_state,
            queues: self.members.keys().cloned().collect(),
            mayday_pause: self.mayday_pause.clone(),
            day: self.day,
            today: self.counters.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> AgentState {
        let spec =
            AgentSpec { id: AgentId(7), extension: "1001".into(), name: "Alice".into(), pause: None, today: None };
        AgentState::new(&spec, "PJSIP/acme-1001".into(), chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"), 0)
    }

    fn membership(queue: &str, paused: bool, reason: &str) -> Membership {
        Membership {
            queue: queue.into(),
            interface: "PJSIP/acme-1001".into(),
            paused,
            reason: reason.into(),
            status: DeviceState::NotInuse,
            in_call: false,
        }
    }

    fn call(kind: CallKind, at: Millis) -> AgentCall {
        AgentCall {
            linkedid: "1.1".into(),
            kind,
            queue: Some("acme-sales".into()),
            party: Some("0700".into()),
            since_ms: at,
        }
    }

    #[test]
    fn a_queue_call_goes_ringing_on_call_wrapup_available() {
        let mut a = agent();
        assert_eq!(a.status(), AgentStatus::LoggedOut);
        a.apply(AgentFact::Device(DeviceState::NotInuse), 0);
        a.apply(AgentFact::Member(membership("acme-sales", false, "")), 0);
        assert_eq!(a.status(), AgentStatus::Available);
        a.apply(AgentFact::Ringing(call(CallKind::Queue, 1_000)), 1_000);
        assert_eq!(a.status(), AgentStatus::Ringing);
        a.apply(AgentFact::CallStarted(call(CallKind::Queue, 3_000)), 3_000);
        assert_eq!(a.status(), AgentStatus::OnCall);
        a.apply(AgentFact::CallEnded { linkedid: "1.1".into(), talk_secs: Some(60), wrapup_secs: 10 }, 63_000);
        assert_eq!(a.status(), AgentStatus::Wrapup);
        assert_eq!(a.wrapup_until(), Some(73_000));
        assert!(!a.tick(72_999));
        assert!(a.tick(73_000));
        assert_eq!(a.status(), AgentStatus::Available);
        assert_eq!(
            (a.counters().calls, a.counters().queue_calls, a.counters().talk_secs, a.counters().missed),
            (1, 1, 60, 0)
        );
    }

    #[test]
    fn a_cancelled_ring_is_not_a_missed_call() {
        let mut a = agent();
        a.apply(AgentFact::Device(DeviceState::NotInuse), 0);
        a.apply(AgentFact::Ringing(call(CallKind::Queue, 1_000)), 1_000);
        a.apply(AgentFact::RingEnded { linkedid: "1.1".into(), missed: false }, 2_000);
        assert_eq!((a.status(), a.counters().missed), (AgentStatus::Available, 0));
    }

    #[test]
    fn calls_outside_queues_change_the_status_and_are_counted() {
        let mut a = agent();
        a.apply(AgentFact::Device(DeviceState::NotInuse), 0);
        a.apply(AgentFact::CallStarted(call(CallKind::Outbound, 1_000)), 1_000);
        assert_eq!(a.status(), AgentStatus::OnCall);
        a.apply(AgentFact::CallEnded { linkedid: "1.1".into(), talk_secs: None, wrapup_secs: 0 }, 46_000);
        assert_eq!(a.status(), AgentStatus::Available);
        assert_eq!((a.counters().outbound_calls, a.counters().talk_secs), (1, 45));
        a.apply(AgentFact::Ringing(call(CallKind::Direct, 50_000)), 50_000);
        a.apply(AgentFact::RingEnded { linkedid: "1.1".into(), missed: true }, 60_000);
        assert_eq!(a.counters().missed, 1);
    }

    #[test]
    fn pause_shows_its_reason_and_its_time_is_counted() {
        let mut a = agent();
        a.apply(AgentFact::Device(DeviceState::NotInuse), 0);
        a.apply(AgentFact::Member(membership("acme-sales", true, "lunch")), 10_000);
        let s = a.snapshot();
        assert_eq!((s.status, s.reason.as_deref()), (AgentStatus::Paused, Some("lunch")));
        a.apply(AgentFact::Member(membership("acme-sales", false, "")), 70_000);
        assert_eq!(a.status(), AgentStatus::Available);
        assert_eq!(a.counters().pause_secs, 60);
        // An agent on a call stays on call while paused.
        a.apply(AgentFact::Member(membership("acme-sales", true, "break")), 80_000);
        a.apply(AgentFact::CallStarted(call(CallKind::Direct, 81_000)), 81_000);
        assert_eq!(a.status(), AgentStatus::OnCall);
    }

    #[test]
    fn an_unregistered_phone_is_logged_out_and_resync_keeps_a_known_call() {
        let mut a = agent();
        a.apply(AgentFact::Device(DeviceState::Unavailable), 0);
        assert_eq!(a.status(), AgentStatus::LoggedOut);
        a.apply(AgentFact::Device(DeviceState::Inuse), 0);
        a.apply(AgentFact::CallStarted(call(CallKind::Queue, 5_000)), 5_000);
        let resynced = AgentFact::Resync {
            device: Some(DeviceState::Inuse),
            members: vec![membership("acme-sales", false, "")],
            ringing: None,
            call: Some(call(CallKind::Queue, 9_000)),
            wrapup_until_ms: None,
        };
        a.apply(resynced, 9_000);
        assert_eq!(a.snapshot().call.map(|c| c.since_ms), Some(5_000), "the known start time is kept");
        a.apply(
            AgentFact::Resync { device: None, members: vec![], ringing: None, call: None, wrapup_until_ms: None },
            10_000,
        );
        assert_eq!(a.status(), AgentStatus::Available, "the call ended while the link was down");
    }
}
