//! The simulated PBX's state: endpoints, device states, queues with members, channels,
//! bridges and calls, plus the ground truth a test compares Mayday with.
//!
//! Everything changes through methods that also write the events Asterisk would write, in
//! its order, into `out`; the engine sends `out` to the AMI clients. Time is a
//! [`SimTime`] passed in by the engine (real or virtual), never read here.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::directory::{DirectorySnapshot, SimEndpoint, SimMember, SimQueue};
use super::truth::QueueTruth;
use super::wire::{self, ChannelView, Class};
use crate::ami::event::ChannelState;
use crate::ami::message::Message;

/// Time since the simulated PBX started (real or virtual).
pub type SimTime = Duration;

/// A call the sim tracks (what a test scripts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CallId(pub u64);

/// Asterisk device states (asterisk.md 2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeviceState {
    Unknown,
    NotInuse,
    Inuse,
    Busy,
    Invalid,
    Unavailable,
    Ringing,
    Ringinuse,
    Onhold,
}

impl DeviceState {
    pub fn code(self) -> u8 {
        match self {
            DeviceState::Unknown => 0,
            DeviceState::NotInuse => 1,
            DeviceState::Inuse => 2,
            DeviceState::Busy => 3,
            DeviceState::Invalid => 4,
            DeviceState::Unavailable => 5,
            DeviceState::Ringing => 6,
            DeviceState::Ringinuse => 7,
            DeviceState::Onhold => 8,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            DeviceState::Unknown => "UNKNOWN",
            DeviceState::NotInuse => "NOT_INUSE",
            DeviceState::Inuse => "INUSE",
            DeviceState::Busy => "BUSY",
            DeviceState::Invalid => "INVALID",
            DeviceState::Unavailable => "UNAVAILABLE",
            DeviceState::Ringing => "RINGING",
            DeviceState::Ringinuse => "RINGINUSE",
            DeviceState::Onhold => "ONHOLD",
        }
    }

    /// PJSIPShowEndpoints' DeviceState spelling.
    pub fn pjsip_text(self) -> &'static str {
        match self {
            DeviceState::Unknown => "Unknown",
            DeviceState::NotInuse => "Not in use",
            DeviceState::Inuse => "In use",
            DeviceState::Busy => "Busy",
            DeviceState::Invalid => "Invalid",
            DeviceState::Unavailable => "Unavailable",
            DeviceState::Ringing => "Ringing",
            DeviceState::Ringinuse => "Ring+Inuse",
            DeviceState::Onhold => "On Hold",
        }
    }
}

/// A queue member as app_queue keeps it.
#[derive(Clone, Debug)]
pub struct Member {
    pub def: SimMember,
    pub dynamic: bool,
    pub paused: bool,
    pub reason: String,
    pub calls_taken: u64,
    pub last_call: i64,
    pub last_pause: i64,
    pub login_time: i64,
    pub in_call: bool,
    pub status: DeviceState,
    pub wrapup_until: Option<SimTime>,
    pub wrapup_secs: Option<u32>,
    pub ringinuse: bool,
}

impl Member {
    pub fn membership(&self) -> &'static str {
        if self.dynamic {
            "dynamic"
        } else if self.def.realtime {
            "realtime"
        } else {
            "static"
        }
    }
}

/// Asterisk's own queue statistics (QueueParams), since start or QueueReset.
#[derive(Clone, Debug, Default)]
pub struct AsteriskQueueStats {
    pub completed: u64,
    pub abandoned: u64,
    pub completed_in_sl: u64,
    pub abandoned_in_sl: u64,
    pub holdtime: u64,
    pub talktime: u64,
}

/// A queue with its members and waiting callers.
#[derive(Clone, Debug)]
pub struct Queue {
    pub def: SimQueue,
    pub members: Vec<Member>,
    /// Callers waiting, in position order.
    pub waiting: Vec<CallId>,
    pub stats: AsteriskQueueStats,
    pub truth: QueueTruth,
    pub rr_next: usize,
}

/// A live channel.
#[derive(Clone, Debug)]
pub struct Chan {
    pub view: ChannelView,
    pub created: SimTime,
    pub answered: Option<SimTime>,
    pub bridge: Option<String>,
    pub application: String,
    pub application_data: String,
    pub vars: HashMap<String, String>,
    pub hangup_requested: bool,
}

/// What the agent leg of a call is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentLeg {
    /// Member interface (queue calls) or `PJSIP/<endpoint>` (direct and outbound calls).
    pub interface: String,
    /// Uniqueid of the channel the caller dials (`Dest*`): the PJSIP channel, or Local ;1.
    pub dest: String,
    /// Local ;2 half when the member is a Local channel.
    pub local_two: Option<String>,
    /// The device whose state changes (state interface).
    pub device: String,
    pub rang_at: SimTime,
}

/// Where a call is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// In a queue, no member ringing.
    Waiting,
    /// In a queue, a member ringing.
    Ringing(AgentLeg),
    /// Talking to an agent.
    Talking { leg: AgentLeg, bridge: String, since: SimTime, hold_secs: u64, queue: Option<String> },
    /// Left the queue without being answered (Queue() timeout) and still in the dialplan.
    AfterQueue,
    /// Hung up.
    Ended,
}

/// How a call reached the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Queue,
    Direct,
    Outbound,
}

/// One call: the caller's channel and whatever it is connected to.
#[derive(Clone, Debug)]
pub struct Call {
    pub id: CallId,
    pub kind: CallKind,
    /// Uniqueid of the caller's channel (the trunk leg; the agent's own channel for
    /// outbound calls).
    pub caller: String,
    pub linkedid: String,
    pub queue: Option<String>,
    pub joined_at: SimTime,
    pub original_position: u32,
    pub phase: Phase,
    /// With `ringall`, the members rung together with the one `Phase::Ringing` holds (the
    /// latest rung).
    pub also_ringing: Vec<AgentLeg>,
    /// Auto mode: how long this caller is willing to wait.
    pub patience: Option<Duration>,
}

/// The whole simulated PBX.
pub struct World {
    pub startup_epoch: i64,
    pub startup_at: SimTime,
    pub endpoints: BTreeMap<String, SimEndpoint>,
    pub devices: HashMap<String, DeviceState>,
    pub queues: BTreeMap<String, Queue>,
    pub channels: HashMap<String, Chan>,
    pub calls: BTreeMap<CallId, Call>,
    pub globals: HashMap<String, String>,
    pub out: Vec<(Class, Message)>,
    pub rng: StdRng,
    pub trunk: String,
    next_call: u64,
    uid_seq: u64,
    chan_seq: u32,
    bridge_seq: u64,
    /// The sim's "now" as last seen, for helpers that print wall times.
    pub now: SimTime,
}

impl World {
    pub fn new(startup_epoch: i64, seed: u64) -> Self {
        World {
            startup_epoch,
            startup_at: Duration::ZERO,
            endpoints: BTreeMap::new(),
            devices: HashMap::new(),
            queues: BTreeMap::new(),
            channels: HashMap::new(),
            calls: BTreeMap::new(),
            globals: HashMap::new(),
            out: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            trunk: "trunk".into(),
            next_call: 1,
            uid_seq: 0,
            chan_seq: 0,
            bridge_seq: 0,
            now: Duration::ZERO,
        }
    }

    /// Epoch seconds at sim time `t`.
    pub fn epoch(&self, t: SimTime) -> i64 {
        self.startup_epoch + (t.saturating_sub(self.startup_at)).as_secs() as i64
    }

    /// `YYYY-MM-DD HH:MM:SS` (UTC) at sim time `t`, as Cdr prints times.
    pub fn datetime(&self, t: SimTime) -> String {
        chrono::DateTime::from_timestamp(self.epoch(t), 0)
            .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default()
    }

    pub fn emit(&mut self, class: Class, msg: Message) {
        self.out.push((class, msg));
    }

    pub fn new_call_id(&mut self) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        id
    }

    /// A new Uniqueid (`<epoch>.<seq>`; the counter restarts with Asterisk, gotcha 4).
    pub fn new_uniqueid(&mut self, now: SimTime) -> String {
        let uid = format!("{}.{}", self.epoch(now), self.uid_seq);
        self.uid_seq += 1;
        uid
    }

    fn next_chan_suffix(&mut self) -> String {
        let s = format!("{:08x}", self.chan_seq);
        self.chan_seq += 1;
        s
    }

    pub fn new_bridge_id(&mut self) -> String {
        self.bridge_seq += 1;
        let n = self.bridge_seq;
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            self.startup_epoch as u32,
            n & 0xffff,
            n & 0xfff,
            (n >> 12) & 0xfff,
            n
        )
    }

    /// Creates a channel for `device` (`PJSIP/acme-1001`), with a fresh name and Uniqueid.
    #[allow(clippy::too_many_arguments)]
    pub fn new_channel(
        &mut self,
        now: SimTime,
        device: &str,
        state: ChannelState,
        context: &str,
        exten: &str,
        linkedid: Option<&str>,
        tenantid: Option<String>,
    ) -> String {
        let suffix = self.next_chan_suffix();
        let uid = self.new_uniqueid(now);
        let view = ChannelView {
            name: format!("{device}-{suffix}"),
            state,
            caller_num: String::new(),
            caller_name: String::new(),
            connected_num: String::new(),
            connected_name: String::new(),
            context: context.into(),
            exten: exten.into(),
            priority: 1,
            linkedid: linkedid.unwrap_or(&uid).to_string(),
            uniqueid: uid.clone(),
            tenantid,
        };
        self.channels.insert(
            uid.clone(),
            Chan {
                view,
                created: now,
                answered: None,
                bridge: None,
                application: String::new(),
                application_data: String::new(),
                vars: HashMap::new(),
                hangup_requested: false,
            },
        );
        uid
    }

    /// Creates both halves of a Local channel; returns (;1, ;2).
    pub fn new_local_pair(&mut self, now: SimTime, target: &str, linkedid: &str) -> (String, String) {
        let suffix = self.next_chan_suffix();
        let (exten, context) = target.split_once('@').unwrap_or((target, "default"));
        let make = |half: &str, state: ChannelState, w: &mut World| {
            let uid = w.new_uniqueid(now);
            let view = ChannelView {
                name: format!("Local/{target}-{suffix};{half}"),
                state,
                caller_num: String::new(),
                caller_name: String::new(),
                connected_num: String::new(),
                connected_name: String::new(),
                context: context.into(),
                exten: exten.into(),
                priority: 1,
                uniqueid: uid.clone(),
                linkedid: linkedid.into(),
                tenantid: None,
            };
            w.channels.insert(
                uid.clone(),
                Chan {
                    view,
                    created: now,
                    answered: None,
                    bridge: None,
                    application: String::new(),
                    application_data: String::new(),
                    vars: HashMap::new(),
                    hangup_requested: false,
                },
            );
            uid
        };
        let one = make("1", ChannelState::Down, self);
        let two = make("2", ChannelState::Ring, self);
        (one, two)
    }

    pub fn view(&self, uid: &str) -> Option<ChannelView> {
        self.channels.get(uid).map(|c| c.view.clone())
    }

    /// Emits a channel event for a live channel.
    pub fn chan_event(&mut self, name: &str, class: Class, uid: &str, extra: &[(&str, &str)]) {
        if let Some(view) = self.view(uid) {
            let msg = wire::channel_event(name, class, &view, extra);
            self.emit(class, msg);
        }
    }

    /// Changes a channel's state and emits Newstate.
    pub fn set_state(&mut self, uid: &str, state: ChannelState, now: SimTime) {
        if let Some(c) = self.channels.get_mut(uid) {
            if c.view.state == state {
                return;
            }
            c.view.state = state;
            if state == ChannelState::Up && c.answered.is_none() {
                c.answered = Some(now);
            }
        }
        self.chan_event("Newstate", Class::Call, uid, &[]);
    }

    /// Hangs a channel up: HangupRequest (when `requested`), Hangup, and removes it.
    pub fn hangup_channel(&mut self, uid: &str, cause: u16, requested: bool) {
        if !self.channels.contains_key(uid) {
            return;
        }
        let cause_s = cause.to_string();
        if requested {
            self.request_hangup(uid, cause);
        }
        self.chan_event("Hangup", Class::Call, uid, &[("Cause", &cause_s), ("Cause-txt", cause_text(cause))]);
        self.channels.remove(uid);
    }

    /// HangupRequest (the far end hung up), once.
    pub fn request_hangup(&mut self, uid: &str, cause: u16) {
        let Some(c) = self.channels.get_mut(uid) else {
            return;
        };
        if c.hangup_requested {
            return;
        }
        c.hangup_requested = true;
        let cause_s = cause.to_string();
        self.chan_event("HangupRequest", Class::Call, uid, &[("Cause", &cause_s)]);
    }

    /// Sets caller id on a channel (and connected line on its peer).
    pub fn set_caller(&mut self, uid: &str, num: &str, name: &str) {
        if let Some(c) = self.channels.get_mut(uid) {
            c.view.caller_num = num.into();
            c.view.caller_name = name.into();
        }
    }

    pub fn set_connected(&mut self, uid: &str, num: &str, name: &str) {
        if let Some(c) = self.channels.get_mut(uid) {
            c.view.connected_num = num.into();
            c.view.connected_name = name.into();
        }
    }

    // ---- devices and members ------------------------------------------------------------

    /// The device state of a device; PJSIP endpoints default to their registration.
    pub fn device_state(&self, device: &str) -> DeviceState {
        if let Some(s) = self.devices.get(device) {
            return *s;
        }
        if let Some(ep) = device.strip_prefix("PJSIP/") {
            return match self.endpoints.get(ep) {
                Some(e) if e.registered => DeviceState::NotInuse,
                Some(_) => DeviceState::Unavailable,
                None => DeviceState::Invalid,
            };
        }
        DeviceState::NotInuse
    }

    /// Changes a device's state: DeviceStateChange, then QueueMemberStatus for every member
    /// whose state interface it is (only on change, like app_queue's update_status).
    pub fn set_device(&mut self, device: &str, state: DeviceState, now: SimTime) {
        if self.device_state(device) == state && self.devices.contains_key(device) {
            return;
        }
        self.devices.insert(device.to_string(), state);
        let msg =
            wire::event("DeviceStateChange", Class::Call).field("Device", device).field("State", state.text()).build();
        self.emit(Class::Call, msg);
        self.refresh_members(device, now);
    }

    /// Re-reads a device's state into the members using it, emitting QueueMemberStatus.
    pub fn refresh_members(&mut self, device: &str, now: SimTime) {
        let state = self.device_state(device);
        let names: Vec<String> = self.queues.keys().cloned().collect();
        for q in names {
            let Some(queue) = self.queues.get_mut(&q) else {
                continue;
            };
            let mut changed = Vec::new();
            for (i, m) in queue.members.iter_mut().enumerate() {
                if m.def.state_interface() == device && m.status != state {
                    m.status = state;
                    if state == DeviceState::NotInuse && m.in_call {
                        // update_queue: the call is over for app_queue.
                        m.in_call = false;
                    }
                    changed.push(i);
                }
            }
            for i in changed {
                self.emit_member("QueueMemberStatus", &q, i, now);
            }
        }
    }

    /// The member event body (`queue_member_blob_create` order).
    pub fn member_event(&self, name: &str, queue: &str, idx: usize) -> Option<Message> {
        let m = self.queues.get(queue)?.members.get(idx)?;
        Some(
            wire::event(name, Class::Agent)
                .field("Queue", queue)
                .field("MemberName", m.def.member_name())
                .field("Interface", &m.def.interface)
                .field("StateInterface", m.def.state_interface())
                .field("Membership", m.membership())
                .field("Penalty", &m.def.penalty.to_string())
                .field("CallsTaken", &m.calls_taken.to_string())
                .field("LastCall", &m.last_call.to_string())
                .field("LastPause", &m.last_pause.to_string())
                .field("LoginTime", &m.login_time.to_string())
                .field("InCall", if m.in_call { "1" } else { "0" })
                .field("Status", &m.status.code().to_string())
                .field("Paused", if m.paused { "1" } else { "0" })
                .field("PausedReason", &m.reason)
                .field("Ringinuse", if m.ringinuse { "1" } else { "0" })
                .field("Wrapuptime", &m.wrapup_secs.unwrap_or(0).to_string())
                .build(),
        )
    }

    pub fn emit_member(&mut self, name: &str, queue: &str, idx: usize, _now: SimTime) {
        if let Some(msg) = self.member_event(name, queue, idx) {
            self.emit(Class::Agent, msg);
        }
    }

    pub fn member_index(&self, queue: &str, interface: &str) -> Option<usize> {
        self.queues.get(queue)?.members.iter().position(|m| m.def.interface.eq_ignore_ascii_case(interface))
    }

    /// Whether app_queue would ring this member now.
    pub fn member_available(&self, m: &Member, now: SimTime) -> bool {
        !m.paused
            && matches!(m.status, DeviceState::NotInuse | DeviceState::Unknown)
            && m.wrapup_until.is_none_or(|t| t <= now)
            && !self.member_busy_elsewhere(&m.def.interface)
    }

    /// True when the member's interface is ringing or talking for any call.
    pub fn member_busy_elsewhere(&self, interface: &str) -> bool {
        self.calls.values().any(|c| {
            let primary = match &c.phase {
                Phase::Ringing(leg) | Phase::Talking { leg, .. } => leg.interface.eq_ignore_ascii_case(interface),
                _ => false,
            };
            primary || c.also_ringing.iter().any(|l| l.interface.eq_ignore_ascii_case(interface))
        })
    }

    // ---- directory ----------------------------------------------------------------------

    /// Applies a directory snapshot the way app_queue reloads realtime queues: new members
    /// appear and vanished ones go without QueueMemberAdded/Removed (asterisk.md gotcha 13);
    /// dynamic members and runtime state (pauses, counters) are kept.
    pub fn apply_directory(&mut self, snapshot: DirectorySnapshot, now: SimTime) {
        self.endpoints = snapshot.endpoints.into_iter().map(|e| (e.id.clone(), e)).collect();
        let login = self.epoch(now);
        let mut seen = Vec::new();
        for def in snapshot.queues {
            seen.push(def.name.clone());
            let wrapup = def.wrapup_secs;
            let members_def = def.members.clone();
            let queue = self.queues.entry(def.name.clone()).or_insert_with(|| Queue {
                def: def.clone(),
                members: Vec::new(),
                waiting: Vec::new(),
                stats: AsteriskQueueStats::default(),
                truth: QueueTruth::new(def.service_level_secs),
                rr_next: 0,
            });
            let mut queue_def = def;
            queue_def.members = Vec::new();
            queue.truth.service_level_secs = queue_def.service_level_secs;
            queue.def = queue_def;
            queue.members.retain(|m| {
                m.dynamic || members_def.iter().any(|d| d.interface.eq_ignore_ascii_case(&m.def.interface))
            });
            for d in members_def {
                if let Some(m) = queue.members.iter_mut().find(|m| m.def.interface.eq_ignore_ascii_case(&d.interface)) {
                    let keep_paused = m.paused;
                    m.def = d;
                    m.paused = keep_paused;
                    continue;
                }
                queue.members.push(Member {
                    paused: d.paused,
                    def: d,
                    dynamic: false,
                    reason: String::new(),
                    calls_taken: 0,
                    last_call: 0,
                    last_pause: 0,
                    login_time: login,
                    in_call: false,
                    status: DeviceState::Unknown,
                    wrapup_until: None,
                    wrapup_secs: Some(wrapup),
                    ringinuse: false,
                });
            }
        }
        self.queues.retain(|name, q| seen.contains(name) || !q.waiting.is_empty());
        // Members take their device's state silently on (re)load.
        let devices: Vec<(String, String, usize)> = self
            .queues
            .iter()
            .flat_map(|(qn, q)| {
                q.members.iter().enumerate().map(move |(i, m)| (qn.clone(), m.def.state_interface().to_string(), i))
            })
            .collect();
        for (qn, device, i) in devices {
            let state = self.device_state(&device);
            if let Some(m) = self.queues.get_mut(&qn).and_then(|q| q.members.get_mut(i)) {
                if m.status == DeviceState::Unknown {
                    m.status = state;
                }
            }
        }
    }

    /// Forgets every call, channel, statistic and runtime member state: what an Asterisk
    /// restart does (no Hangup events are sent: the sockets simply close).
    pub fn restart(&mut self, startup_epoch: i64, now: SimTime) {
        self.startup_epoch = startup_epoch;
        self.startup_at = now;
        self.channels.clear();
        self.calls.clear();
        self.devices.clear();
        self.globals.clear();
        self.uid_seq = 0;
        self.chan_seq = 0;
        self.out.clear();
        for q in self.queues.values_mut() {
            q.waiting.clear();
            q.stats = AsteriskQueueStats::default();
            q.truth = QueueTruth::new(q.def.service_level_secs);
            q.members.retain(|m| !m.dynamic);
            for m in &mut q.members {
                m.paused = m.def.paused;
                m.reason.clear();
                m.calls_taken = 0;
                m.last_call = 0;
                m.last_pause = 0;
                m.in_call = false;
                m.status = DeviceState::Unknown;
                m.wrapup_until = None;
            }
        }
    }
}

/// Q.850 cause text (asterisk.md 2.2).
pub fn cause_text(cause: u16) -> &'static str {
    match cause {
        0 => "Unknown",
        1 => "Unallocated (unassigned) number",
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "User alerting, no answer",
        20 => "Subscriber absent",
        21 => "Call Rejected",
        26 => "Answered elsewhere",
        27 => "Destination out of order",
        31 => "Normal, unspecified",
        34 => "Circuit/channel congestion",
        _ => "Unknown",
    }
}
