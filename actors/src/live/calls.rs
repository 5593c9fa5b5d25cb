//! The call registry of a tenant: channels by Uniqueid, calls by Linkedid, bridges.
//!
//! A call is the set of channels sharing a Linkedid; its caller is the channel whose
//! Uniqueid is the Linkedid (the oldest, asterisk.md gotcha 5). A channel's Linkedid can
//! change mid-call (transfers, Local optimization): the registry re-keys. Hung-up channels
//! are remembered for a while so a late event never resurrects one (gotcha 30).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::facts::CallKind;
use super::ids::{AgentId, Millis};
use crate::ami::event::{channel_device, ChannelBlock, ChannelState};

/// How many hung-up Uniqueids are remembered (late events name recent channels only).
const DEAD_MEMORY: usize = 4096;

/// One live channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub uniqueid: String,
    pub name: String,
    pub device: String,
    pub linkedid: String,
    pub state: ChannelState,
    pub caller_num: Option<String>,
    pub caller_name: Option<String>,
    pub connected_num: Option<String>,
    pub context: String,
    pub exten: String,
    pub bridge: Option<String>,
    pub hangup_requested: bool,
    pub created_ms: Millis,
}

impl Channel {
    pub fn from_block(b: &ChannelBlock<'_>, now: Millis) -> Self {
        Channel {
            uniqueid: b.uniqueid.to_string(),
            name: b.channel.to_string(),
            device: channel_device(b.channel).to_string(),
            linkedid: b.linkedid.to_string(),
            state: b.state,
            caller_num: b.caller_id_num.map(str::to_string),
            caller_name: b.caller_id_name().map(|n| n.into_owned()),
            connected_num: b.connected_line_num.map(str::to_string),
            context: b.context.to_string(),
            exten: b.exten.to_string(),
            bridge: None,
            hangup_requested: false,
            created_ms: now,
        }
    }

    /// Refreshes what a channel event says about the channel now. Hot (every channel
    /// event): nothing is allocated unless a value changed.
    pub fn update(&mut self, b: &ChannelBlock<'_>) {
        fn set(field: &mut Option<String>, value: Option<&str>) {
            if field.as_deref() != value {
                *field = value.map(str::to_string);
            }
        }
        self.state = b.state;
        set(&mut self.caller_num, b.caller_id_num);
        set(&mut self.connected_num, b.connected_line_num);
        if let Some(n) = b.caller_id_name() {
            if self.caller_name.as_deref() != Some(n.as_ref()) {
                self.caller_name = Some(n.into_owned());
            }
        }
        if !b.context.is_empty() && (self.context != b.context || self.exten != b.exten) {
            self.context = b.context.to_string();
            self.exten = b.exten.to_string();
        }
    }
}

/// Where a call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// In the dialplan (IVR, before a queue, after a transfer).
    Dialplan,
    /// In a queue, nobody ringing.
    Waiting,
    /// A member or agent is ringing.
    Ringing,
    Talking,
    /// Left a queue unanswered (timeout, exit) and still in the dialplan.
    AfterQueue,
}

/// One live call, as the API and the calls topic show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCall {
    pub linkedid: String,
    pub kind: CallKind,
    pub state: CallState,
    /// The caller's channel (the trunk leg; the agent's own channel for outbound calls).
    pub caller_uniqueid: String,
    pub caller_channel: String,
    pub caller_num: Option<String>,
    pub caller_name: Option<String>,
    /// The number dialed or the DID called, when known.
    pub called_num: Option<String>,
    pub queue: Option<String>,
    /// Member interface (queue calls) or the agent's device (direct and outbound calls).
    pub agent_interface: Option<String>,
    /// The channel ringing or talking with the caller (the far end for outbound calls).
    pub agent_channel: Option<String>,
    pub agent: Option<AgentId>,
    pub started_ms: Millis,
    pub answered_ms: Option<Millis>,
    pub queue_joined_ms: Option<Millis>,
    /// Every channel of the call (Local halves included).
    pub channels: usize,
}

/// Internal call record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub linkedid: String,
    pub caller: String,
    pub kind: CallKind,
    pub state: CallState,
    pub queue: Option<String>,
    pub agent_interface: Option<String>,
    /// Uniqueid of the agent-side channel.
    pub agent_channel: Option<String>,
    pub agent: Option<AgentId>,
    pub started_ms: Millis,
    pub answered_ms: Option<Millis>,
    pub queue_joined_ms: Option<Millis>,
    pub channels: BTreeSet<String>,
    /// Queue members ringing for this call now: one at a time with most strategies, every
    /// free member at once with `ringall`. `agent` above is the latest of them.
    pub rings: Vec<RingLeg>,
    /// A member answered (DialEnd ANSWER): the caller leaves the queue to talk, not to exit.
    pub queue_answered: bool,
}

/// One member app_queue is ringing for a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingLeg {
    pub queue: String,
    pub interface: String,
    pub agent: Option<AgentId>,
    /// Uniqueid of the channel the queue dialed (what `DialEnd`'s Dest names).
    pub channel: Option<String>,
}

impl Call {
    pub fn new(linkedid: &str, caller: &str, now: Millis) -> Self {
        Call {
            linkedid: linkedid.to_string(),
            caller: caller.to_string(),
            kind: CallKind::Other,
            state: CallState::Dialplan,
            queue: None,
            agent_interface: None,
            agent_channel: None,
            agent: None,
            started_ms: now,
            answered_ms: None,
            queue_joined_ms: None,
            channels: BTreeSet::new(),
            rings: Vec::new(),
            queue_answered: false,
        }
    }

    /// Forgets the agent side (ring ended, transfer).
    pub fn clear_agent(&mut self) {
        self.agent = None;
        self.agent_interface = None;
        self.agent_channel = None;
    }

    /// Takes the ringing legs out, all of them or all but the member on `keep`.
    pub fn take_rings(&mut self, keep: Option<&str>) -> Vec<RingLeg> {
        let (kept, gone) = std::mem::take(&mut self.rings)
            .into_iter()
            .partition(|r| keep.is_some_and(|k| r.interface.eq_ignore_ascii_case(k)));
        self.rings = kept;
        gone
    }

    /// Shows the latest member still ringing as the call's agent; false when none rings.
    pub fn show_ringing(&mut self) -> bool {
        let Some(leg) = self.rings.last().cloned() else { return false };
        self.state = CallState::Ringing;
        self.agent = leg.agent;
        self.agent_interface = Some(leg.interface);
        self.agent_channel = leg.channel;
        true
    }

    /// After a leg stopped ringing: the call shows another member still ringing, or waits.
    pub fn ring_ended(&mut self) {
        if !self.show_ringing() {
            self.clear_agent();
            self.state = CallState::Waiting;
        }
    }
}

/// Channels and calls of one tenant.
#[derive(Clone, Debug, Default)]
pub struct CallRegistry {
    pub channels: HashMap<String, Channel>,
    pub calls: BTreeMap<String, Call>,
    dead: VecDeque<String>,
    dead_set: std::collections::HashSet<String>,
}

impl CallRegistry {
    /// True for a channel that hung up recently: its late events are ignored.
    pub fn is_dead(&self, uniqueid: &str) -> bool {
        self.dead_set.contains(uniqueid)
    }

    fn remember_dead(&mut self, uniqueid: &str) {
        if self.dead_set.insert(uniqueid.to_string()) {
            self.dead.push_back(uniqueid.to_string());
        }
        while self.dead.len() > DEAD_MEMORY {
            if let Some(old) = self.dead.pop_front() {
                self.dead_set.remove(&old);
            }
        }
    }

    /// Adds a channel (Newchannel) to its call, creating the call when the channel is the
    /// first of its Linkedid. Returns false for a channel that already hung up.
    pub fn add_channel(&mut self, ch: Channel) -> bool {
        if self.is_dead(&ch.uniqueid) {
            return false;
        }
        let call = self
            .calls
            .entry(ch.linkedid.clone())
            .or_insert_with(|| Call::new(&ch.linkedid, &ch.uniqueid, ch.created_ms));
        call.channels.insert(ch.uniqueid.clone());
        // The channel whose Uniqueid is the Linkedid is the caller, even if seen second.
        if ch.uniqueid == ch.linkedid {
            call.caller = ch.uniqueid.clone();
        }
        self.channels.insert(ch.uniqueid.clone(), ch);
        true
    }

    /// The live channel an event names; `None` for an unknown or dead one.
    pub fn channel_mut(&mut self, uniqueid: &str) -> Option<&mut Channel> {
        self.channels.get_mut(uniqueid)
    }

    /// Moves a channel to another Linkedid (asterisk.md gotcha 5). The old call keeps its
    /// other channels; a call left empty is re-keyed under the new Linkedid when that call
    /// does not exist yet, else merged into it.
    pub fn relink(&mut self, uniqueid: &str, new_linkedid: &str) {
        let Some(old_linkedid) = self.channels.get(uniqueid).map(|c| c.linkedid.clone()) else { return };
        if old_linkedid == new_linkedid {
            return;
        }
        if let Some(c) = self.channels.get_mut(uniqueid) {
            c.linkedid = new_linkedid.to_string();
        }
        let mut moved = None;
        if let Some(old) = self.calls.get_mut(&old_linkedid) {
            old.channels.remove(uniqueid);
            if old.channels.is_empty() || old.caller == uniqueid {
                moved = self.calls.remove(&old_linkedid);
            }
        }
        match (self.calls.get_mut(new_linkedid), moved) {
            (Some(existing), Some(old)) => {
                existing.channels.extend(old.channels);
                existing.channels.insert(uniqueid.to_string());
            }
            (Some(existing), None) => {
                existing.channels.insert(uniqueid.to_string());
            }
            (None, Some(mut old)) => {
                old.linkedid = new_linkedid.to_string();
                old.channels.insert(uniqueid.to_string());
                self.calls.insert(new_linkedid.to_string(), old);
            }
            (None, None) => {
                let created = self.channels.get(uniqueid).map(|c| c.created_ms).unwrap_or_default();
                let mut call = Call::new(new_linkedid, uniqueid, created);
                call.channels.insert(uniqueid.to_string());
                self.calls.insert(new_linkedid.to_string(), call);
            }
        }
    }

    /// Removes a hung-up channel; returns it and, when it was the caller (or the last
    /// channel), the call that ended with it.
    pub fn remove_channel(&mut self, uniqueid: &str) -> (Option<Channel>, Option<Call>) {
        self.remember_dead(uniqueid);
        let Some(ch) = self.channels.remove(uniqueid) else { return (None, None) };
        let mut ended = None;
        if let Some(call) = self.calls.get_mut(&ch.linkedid) {
            call.channels.remove(uniqueid);
            if call.caller == uniqueid || call.channels.is_empty() {
                ended = self.calls.remove(&ch.linkedid);
            }
        }
        (Some(ch), ended)
    }

    /// The call a channel belongs to.
    pub fn call_of_channel_mut(&mut self, uniqueid: &str) -> Option<&mut Call> {
        let linkedid = self.channels.get(uniqueid)?.linkedid.clone();
        self.calls.get_mut(&linkedid)
    }

    /// Whether two channels of this call share a bridge.
    pub fn is_bridged(&self, call: &Call) -> bool {
        let mut bridges = BTreeSet::new();
        for uid in &call.channels {
            if let Some(b) = self.channels.get(uid).and_then(|c| c.bridge.as_ref()) {
                if !bridges.insert(b) {
                    return true;
                }
            }
        }
        false
    }

    /// The API's view of a call.
    pub fn view(&self, call: &Call) -> LiveCall {
        let caller = self.channels.get(&call.caller);
        LiveCall {
            linkedid: call.linkedid.clone(),
            kind: call.kind,
            state: call.state,
            caller_uniqueid: call.caller.clone(),
            caller_channel: caller.map(|c| c.name.clone()).unwrap_or_default(),
            caller_num: caller.and_then(|c| c.caller_num.clone()),
            caller_name: caller.and_then(|c| c.caller_name.clone()),
            called_num: caller.map(|c| c.exten.clone()).filter(|e| !e.is_empty() && e != "s"),
            queue: call.queue.clone(),
            agent_interface: call.agent_interface.clone(),
            agent_channel: call.agent_channel.as_ref().and_then(|u| self.channels.get(u)).map(|c| c.name.clone()),
            agent: call.agent,
            started_ms: call.started_ms,
            answered_ms: call.answered_ms,
            queue_joined_ms: call.queue_joined_ms,
            channels: call.channels.len(),
        }
    }

    /// Every live call.
    pub fn views(&self) -> Vec<LiveCall> {
        self.calls.values().map(|c| self.view(c)).collect()
    }

    /// Forgets everything (before a resync rebuilds it); hung-up memory is kept.
    pub fn clear(&mut self) {
        self.channels.clear();
        self.calls.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(uid: &str, lid: &str, name: &str) -> Channel {
        Channel {
            uniqueid: uid.into(),
            name: name.into(),
            device: channel_device(name).into(),
            linkedid: lid.into(),
            state: ChannelState::Up,
            caller_num: None,
            caller_name: None,
            connected_num: None,
            context: String::new(),
            exten: String::new(),
            bridge: None,
            hangup_requested: false,
            created_ms: 0,
        }
    }

    #[test]
    fn channels_group_into_calls_by_linkedid_and_the_linkedid_channel_is_the_caller() {
        let mut r = CallRegistry::default();
        r.add_channel(ch("1.2", "1.1", "PJSIP/1001-00000002"));
        r.add_channel(ch("1.1", "1.1", "PJSIP/trunk-00000001"));
        assert_eq!(r.calls.len(), 1);
        let call = &r.calls["1.1"];
        assert_eq!(call.caller, "1.1");
        assert_eq!(call.channels.len(), 2);
    }

    #[test]
    fn a_hung_up_channel_is_never_resurrected() {
        let mut r = CallRegistry::default();
        r.add_channel(ch("1.1", "1.1", "PJSIP/trunk-00000001"));
        let (gone, ended) = r.remove_channel("1.1");
        assert!(gone.is_some() && ended.is_some());
        assert!(!r.add_channel(ch("1.1", "1.1", "PJSIP/trunk-00000001")), "a late Newchannel-like event is refused");
        assert!(r.calls.is_empty());
    }

    #[test]
    fn a_changed_linkedid_rekeys_or_merges_the_call() {
        let mut r = CallRegistry::default();
        r.add_channel(ch("2.1", "2.1", "PJSIP/trunk-00000001"));
        r.add_channel(ch("2.2", "2.1", "Local/1001@agents-00000001;1"));
        r.add_channel(ch("3.1", "3.1", "PJSIP/1001-00000003"));
        // The agent channel joins the caller's call (transfer): merged.
        r.relink("3.1", "2.1");
        assert_eq!(r.calls.len(), 1);
        assert_eq!(r.calls["2.1"].channels.len(), 3);
        // The caller moves to a new linkedid: the whole call is re-keyed under it.
        r.relink("2.1", "9.9");
        assert!(r.calls.contains_key("9.9"));
        assert_eq!(r.channels["2.1"].linkedid, "9.9");
    }

    #[test]
    fn two_channels_in_one_bridge_are_bridged() {
        let mut r = CallRegistry::default();
        r.add_channel(ch("1.1", "1.1", "PJSIP/trunk-00000001"));
        r.add_channel(ch("1.2", "1.1", "PJSIP/1001-00000002"));
        r.channel_mut("1.1").expect("ch").bridge = Some("b1".into());
        assert!(!r.is_bridged(&r.calls["1.1"]));
        r.channel_mut("1.2").expect("ch").bridge = Some("b1".into());
        assert!(r.is_bridged(&r.calls["1.1"]));
    }
}
