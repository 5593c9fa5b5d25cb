//! What happened, in call-center terms: the facts the tenant derives from AMI events and
//! hands to its queue and agent actors. Owned data, so they cross actor (and thread) borders.

use serde::{Deserialize, Serialize};

use super::ids::{AgentId, Millis};

/// Asterisk device states (asterisk.md 2.7), from their number or their text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    #[default]
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
    pub fn from_code(code: u8) -> Self {
        match code {
            1 => DeviceState::NotInuse,
            2 => DeviceState::Inuse,
            3 => DeviceState::Busy,
            4 => DeviceState::Invalid,
            5 => DeviceState::Unavailable,
            6 => DeviceState::Ringing,
            7 => DeviceState::Ringinuse,
            8 => DeviceState::Onhold,
            _ => DeviceState::Unknown,
        }
    }

    /// `DeviceStateChange` spells states in capitals (`NOT_INUSE`).
    pub fn from_text(text: &str) -> Self {
        match text.trim().to_ascii_uppercase().as_str() {
            "NOT_INUSE" => DeviceState::NotInuse,
            "INUSE" => DeviceState::Inuse,
            "BUSY" => DeviceState::Busy,
            "INVALID" => DeviceState::Invalid,
            "UNAVAILABLE" => DeviceState::Unavailable,
            "RINGING" => DeviceState::Ringing,
            "RINGINUSE" => DeviceState::Ringinuse,
            "ONHOLD" => DeviceState::Onhold,
            _ => DeviceState::Unknown,
        }
    }

    /// Not registered (PJSIP) or unknown to Asterisk.
    pub fn is_offline(self) -> bool {
        matches!(self, DeviceState::Unavailable | DeviceState::Invalid)
    }
}

/// How a call reached (or left) the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// Through a queue.
    Queue,
    /// Inbound, straight to an agent's endpoint.
    Direct,
    /// Dialed by an agent.
    Outbound,
    /// Anything else (a caller in the dialplan, trunk to trunk).
    Other,
}

/// A caller waiting in a queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingCaller {
    pub uniqueid: String,
    pub linkedid: String,
    pub channel: String,
    pub caller_num: Option<String>,
    pub caller_name: Option<String>,
    pub joined_ms: Millis,
}

/// A queue member as Asterisk reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub interface: String,
    pub state_interface: String,
    pub member_name: String,
    pub membership: String,
    pub penalty: i32,
    pub calls_taken: u64,
    /// Epoch seconds of the member's last call (0 = never).
    pub last_call: u64,
    pub in_call: bool,
    pub status: DeviceState,
    pub paused: bool,
    pub paused_reason: String,
    /// The member's own wrap-up (0 = the queue's).
    pub wrapup_secs: u64,
    pub agent: Option<AgentId>,
}

/// Asterisk's queue parameters (QueueParams).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct QueueParamsInfo {
    pub strategy: String,
    pub service_level_secs: u64,
    pub max_len: u32,
    pub weight: i32,
}

/// Facts for one queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueFact {
    CallerJoined(WaitingCaller),
    /// QueueCallerLeave: off the waiting list (answered or not).
    CallerLeft {
        uniqueid: String,
    },
    /// Left unanswered: `hung_up` tells a true abandon from a Queue() timeout or exit
    /// (asterisk.md gotcha 12: the caller's hangup was requested before the event).
    CallerAbandoned {
        uniqueid: String,
        wait_secs: u64,
        hung_up: bool,
    },
    CallerConnected {
        uniqueid: String,
        wait_secs: u64,
        interface: String,
    },
    /// An answered call ended (AgentComplete); `wrapup_secs` is the wrap-up the member gets;
    /// `uniqueid` is the caller's (absent on some late events, gotcha 30).
    CallCompleted {
        uniqueid: Option<String>,
        interface: String,
        talk_secs: u64,
        transferred: bool,
        wrapup_secs: u64,
    },
    MemberRinging {
        interface: String,
        ringing: bool,
    },
    Member(MemberInfo),
    MemberRemoved {
        interface: String,
    },
    Params(QueueParamsInfo),
    /// Provisioning changed the queue's realtime members (Asterisk raises no event for
    /// them): its members and params as QueueStatus lists them now. Waiting callers and
    /// counters stay.
    Members {
        params: Option<QueueParamsInfo>,
        members: Vec<MemberInfo>,
    },
    /// After a (re)connect: what Asterisk says now.
    Resync {
        params: Option<QueueParamsInfo>,
        members: Vec<MemberInfo>,
        waiting: Vec<WaitingCaller>,
    },
}

/// An agent's current call or ringing call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentCall {
    pub linkedid: String,
    pub kind: CallKind,
    pub queue: Option<String>,
    /// The other party's number, when known.
    pub party: Option<String>,
    pub since_ms: Millis,
}

/// An agent's membership of one queue, as Asterisk reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub queue: String,
    pub interface: String,
    pub paused: bool,
    pub reason: String,
    pub status: DeviceState,
    pub in_call: bool,
}

/// Facts for one agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentFact {
    Device(DeviceState),
    Member(Membership),
    MemberRemoved {
        queue: String,
    },
    Ringing(AgentCall),
    /// The agent's phone stopped ringing. `missed`: it rang out or was refused (ring
    /// timeout, busy, rejected), not cancelled (another member answered, the caller left).
    RingEnded {
        linkedid: String,
        missed: bool,
    },
    CallStarted(AgentCall),
    /// A call ended; queue calls carry their talk time and the wrap-up that follows.
    CallEnded {
        linkedid: String,
        talk_secs: Option<u64>,
        wrapup_secs: u64,
    },
    /// After a (re)connect: what Asterisk says now.
    Resync {
        device: Option<DeviceState>,
        members: Vec<Membership>,
        ringing: Option<AgentCall>,
        call: Option<AgentCall>,
        wrapup_until_ms: Option<Millis>,
    },
}
