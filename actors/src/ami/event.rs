//! Typed views of the AMI events a call center uses (asterisk.md section 2).
//!
//! Every view borrows from its [`Message`]: parsing allocates nothing except where a
//! C-escaped value (caller names, asterisk.md 1.2) has to be unescaped. Parsing is on
//! demand: the connection hands out raw messages with an [`EventKind`], and consumers
//! build the view they need. An event we do not know, or one missing a key we rely on,
//! is not an error: [`TypedEvent::parse`] yields [`TypedEvent::Other`].

use std::borrow::Cow;

use super::message::Message;

/// Event names Mayday reacts to; everything else is [`EventKind::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Newchannel,
    Newstate,
    NewCallerid,
    NewConnectedLine,
    Hangup,
    HangupRequest,
    SoftHangupRequest,
    DialBegin,
    DialState,
    DialEnd,
    BridgeCreate,
    BridgeDestroy,
    BridgeEnter,
    BridgeLeave,
    BridgeMerge,
    BlindTransfer,
    AttendedTransfer,
    Hold,
    Unhold,
    MusicOnHoldStart,
    MusicOnHoldStop,
    LocalBridge,
    LocalOptimizationBegin,
    LocalOptimizationEnd,
    QueueCallerJoin,
    QueueCallerLeave,
    QueueCallerAbandon,
    AgentCalled,
    AgentRingNoAnswer,
    AgentConnect,
    AgentComplete,
    AgentDump,
    QueueMemberStatus,
    QueueMemberAdded,
    QueueMemberRemoved,
    QueueMemberPause,
    QueueMemberPenalty,
    QueueMemberRinginuse,
    QueueParams,
    QueueMember,
    QueueEntry,
    QueueStatusComplete,
    QueueSummary,
    DeviceStateChange,
    ExtensionStatus,
    PeerStatus,
    ContactStatus,
    Registry,
    FullyBooted,
    Shutdown,
    Reload,
    CoreShowChannel,
    Status,
    Cdr,
    Cel,
    UserEvent,
    OriginateResponse,
    ChanSpyStart,
    ChanSpyStop,
    MixMonitorStart,
    MixMonitorStop,
    Newexten,
    VarSet,
    Other,
}

impl EventKind {
    /// Classifies an event name. Asterisk spells names with fixed case; a differently cased
    /// name still matches.
    pub fn of(name: &str) -> EventKind {
        let kind = Self::exact(name);
        if kind != EventKind::Other || name.bytes().all(|b| !b.is_ascii_alphabetic() || b.is_ascii_uppercase()) {
            return kind;
        }
        ALL.iter().copied().find(|k| k.name().eq_ignore_ascii_case(name)).unwrap_or(EventKind::Other)
    }

    fn exact(name: &str) -> EventKind {
        use EventKind::*;
        match name {
            "Newchannel" => Newchannel,
            "Newstate" => Newstate,
            "NewCallerid" => NewCallerid,
            "NewConnectedLine" => NewConnectedLine,
            "Hangup" => Hangup,
            "HangupRequest" => HangupRequest,
            "SoftHangupRequest" => SoftHangupRequest,
            "DialBegin" => DialBegin,
            "DialState" => DialState,
            "DialEnd" => DialEnd,
            "BridgeCreate" => BridgeCreate,
            "BridgeDestroy" => BridgeDestroy,
            "BridgeEnter" => BridgeEnter,
            "BridgeLeave" => BridgeLeave,
            "BridgeMerge" => BridgeMerge,
            "BlindTransfer" => BlindTransfer,
            "AttendedTransfer" => AttendedTransfer,
            "Hold" => Hold,
            "Unhold" => Unhold,
            "MusicOnHoldStart" => MusicOnHoldStart,
            "MusicOnHoldStop" => MusicOnHoldStop,
            "LocalBridge" => LocalBridge,
            "LocalOptimizationBegin" => LocalOptimizationBegin,
            "LocalOptimizationEnd" => LocalOptimizationEnd,
            "QueueCallerJoin" => QueueCallerJoin,
            "QueueCallerLeave" => QueueCallerLeave,
            "QueueCallerAbandon" => QueueCallerAbandon,
            "AgentCalled" => AgentCalled,
            "AgentRingNoAnswer" => AgentRingNoAnswer,
            "AgentConnect" => AgentConnect,
            "AgentComplete" => AgentComplete,
            "AgentDump" => AgentDump,
            "QueueMemberStatus" => QueueMemberStatus,
            "QueueMemberAdded" => QueueMemberAdded,
            "QueueMemberRemoved" => QueueMemberRemoved,
            "QueueMemberPause" => QueueMemberPause,
            "QueueMemberPenalty" => QueueMemberPenalty,
            "QueueMemberRinginuse" => QueueMemberRinginuse,
            "QueueParams" => QueueParams,
            "QueueMember" => QueueMember,
            "QueueEntry" => QueueEntry,
            "QueueStatusComplete" => QueueStatusComplete,
            "QueueSummary" => QueueSummary,
            "DeviceStateChange" => DeviceStateChange,
            "ExtensionStatus" => ExtensionStatus,
            "PeerStatus" => PeerStatus,
            "ContactStatus" => ContactStatus,
            "Registry" => Registry,
            "FullyBooted" => FullyBooted,
            "Shutdown" => Shutdown,
            "Reload" => Reload,
            "CoreShowChannel" => CoreShowChannel,
            "Status" => Status,
            "Cdr" => Cdr,
            "CEL" => Cel,
            "UserEvent" => UserEvent,
            "OriginateResponse" => OriginateResponse,
            "ChanSpyStart" => ChanSpyStart,
            "ChanSpyStop" => ChanSpyStop,
            "MixMonitorStart" => MixMonitorStart,
            "MixMonitorStop" => MixMonitorStop,
            "Newexten" | "NewExten" => Newexten,
            "VarSet" => VarSet,
            _ => Other,
        }
    }

    /// The wire name.
    pub fn name(self) -> &'static str {
        use EventKind::*;
        match self {
            Newchannel => "Newchannel",
            Newstate => "Newstate",
            NewCallerid => "NewCallerid",
            NewConnectedLine => "NewConnectedLine",
            Hangup => "Hangup",
            HangupRequest => "HangupRequest",
            SoftHangupRequest => "SoftHangupRequest",
            DialBegin => "DialBegin",
            DialState => "DialState",
            DialEnd => "DialEnd",
            BridgeCreate => "BridgeCreate",
            BridgeDestroy => "BridgeDestroy",
            BridgeEnter => "BridgeEnter",
            BridgeLeave => "BridgeLeave",
            BridgeMerge => "BridgeMerge",
            BlindTransfer => "BlindTransfer",
            AttendedTransfer => "AttendedTransfer",
            Hold => "Hold",
            Unhold => "Unhold",
            MusicOnHoldStart => "MusicOnHoldStart",
            MusicOnHoldStop => "MusicOnHoldStop",
            LocalBridge => "LocalBridge",
            LocalOptimizationBegin => "LocalOptimizationBegin",
            LocalOptimizationEnd => "LocalOptimizationEnd",
            QueueCallerJoin => "QueueCallerJoin",
            QueueCallerLeave => "QueueCallerLeave",
            QueueCallerAbandon => "QueueCallerAbandon",
            AgentCalled => "AgentCalled",
            AgentRingNoAnswer => "AgentRingNoAnswer",
            AgentConnect => "AgentConnect",
            AgentComplete => "AgentComplete",
            AgentDump => "AgentDump",
            QueueMemberStatus => "QueueMemberStatus",
            QueueMemberAdded => "QueueMemberAdded",
            QueueMemberRemoved => "QueueMemberRemoved",
            QueueMemberPause => "QueueMemberPause",
            QueueMemberPenalty => "QueueMemberPenalty",
            QueueMemberRinginuse => "QueueMemberRinginuse",
            QueueParams => "QueueParams",
            QueueMember => "QueueMember",
            QueueEntry => "QueueEntry",
            QueueStatusComplete => "QueueStatusComplete",
            QueueSummary => "QueueSummary",
            DeviceStateChange => "DeviceStateChange",
            ExtensionStatus => "ExtensionStatus",
            PeerStatus => "PeerStatus",
            ContactStatus => "ContactStatus",
            Registry => "Registry",
            FullyBooted => "FullyBooted",
            Shutdown => "Shutdown",
            Reload => "Reload",
            CoreShowChannel => "CoreShowChannel",
            Status => "Status",
            Cdr => "Cdr",
            Cel => "CEL",
            UserEvent => "UserEvent",
            OriginateResponse => "OriginateResponse",
            ChanSpyStart => "ChanSpyStart",
            ChanSpyStop => "ChanSpyStop",
            MixMonitorStart => "MixMonitorStart",
            MixMonitorStop => "MixMonitorStop",
            Newexten => "Newexten",
            VarSet => "VarSet",
            Other => "Other",
        }
    }
}

const ALL: &[EventKind] = {
    use EventKind::*;
    &[
        Newchannel,
        Newstate,
        NewCallerid,
        NewConnectedLine,
        Hangup,
        HangupRequest,
        SoftHangupRequest,
        DialBegin,
        DialState,
        DialEnd,
        BridgeCreate,
        BridgeDestroy,
        BridgeEnter,
        BridgeLeave,
        BridgeMerge,
        BlindTransfer,
        AttendedTransfer,
        Hold,
        Unhold,
        MusicOnHoldStart,
        MusicOnHoldStop,
        LocalBridge,
        LocalOptimizationBegin,
        LocalOptimizationEnd,
        QueueCallerJoin,
        QueueCallerLeave,
        QueueCallerAbandon,
        AgentCalled,
        AgentRingNoAnswer,
        AgentConnect,
        AgentComplete,
        AgentDump,
        QueueMemberStatus,
        QueueMemberAdded,
        QueueMemberRemoved,
        QueueMemberPause,
        QueueMemberPenalty,
        QueueMemberRinginuse,
        QueueParams,
        QueueMember,
        QueueEntry,
        QueueStatusComplete,
        QueueSummary,
        DeviceStateChange,
        ExtensionStatus,
        PeerStatus,
        ContactStatus,
        Registry,
        FullyBooted,
        Shutdown,
        Reload,
        CoreShowChannel,
        Status,
        Cdr,
        Cel,
        UserEvent,
        OriginateResponse,
        ChanSpyStart,
        ChanSpyStop,
        MixMonitorStart,
        MixMonitorStop,
        Newexten,
        VarSet,
    ]
};

/// Reverses Asterisk's `ast_escape_c` (`\\`, `\'`, `\"`, `\?`, `\n`, `\r`, `\t`, `\a`,
/// `\b`, `\f`, `\v`). Unknown escapes keep their backslash. Borrows when nothing is escaped.
pub fn unescape_c(value: &str) -> Cow<'_, str> {
    if !value.contains('\\') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('"') => out.push('"'),
            Some('?') => out.push('?'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// Asterisk prints empty caller ids as `<unknown>` (and `unknown` in QueueEntry).
pub fn known(value: &str) -> Option<&str> {
    match value {
        "" | "<unknown>" | "unknown" => None,
        v => Some(v),
    }
}

fn num<T: std::str::FromStr>(v: Option<&str>) -> Option<T> {
    v.and_then(|s| s.trim().parse().ok())
}

fn flag(v: Option<&str>) -> bool {
    matches!(v.map(str::trim), Some("1" | "yes" | "Yes" | "true" | "True"))
}

/// Looks up several keys in one pass over the fields. Keys are compared without case.
fn scan<'a, const N: usize>(msg: &'a Message, keys: &[&str; N]) -> [Option<&'a str>; N] {
    msg.get_many(keys)
}

/// Which key prefix a channel block uses (asterisk.md 2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelPrefix {
    None,
    Dest,
    Transferer,
    Transferee,
    TransferTarget,
    OrigTransferer,
    SecondTransferer,
    LocalOne,
    LocalTwo,
    Source,
    Spyer,
    Spyee,
}

macro_rules! channel_keys {
    ($p:literal) => {
        [
            concat!($p, "Channel"),
            concat!($p, "ChannelState"),
            concat!($p, "ChannelStateDesc"),
            concat!($p, "CallerIDNum"),
            concat!($p, "CallerIDName"),
            concat!($p, "ConnectedLineNum"),
            concat!($p, "ConnectedLineName"),
            concat!($p, "Language"),
            concat!($p, "AccountCode"),
            concat!($p, "Context"),
            concat!($p, "Exten"),
            concat!($p, "Priority"),
            concat!($p, "Uniqueid"),
            concat!($p, "Linkedid"),
            concat!($p, "Tenantid"),
        ]
    };
}

/// Key names of a channel block, in Asterisk's order.
pub const CHANNEL_KEYS: [&str; 15] = channel_keys!("");

impl ChannelPrefix {
    /// The block's key names, in Asterisk's order.
    pub fn keys(self) -> &'static [&'static str; 15] {
        const NONE: [&str; 15] = channel_keys!("");
        const DEST: [&str; 15] = channel_keys!("Dest");
        const TRANSFERER: [&str; 15] = channel_keys!("Transferer");
        const TRANSFEREE: [&str; 15] = channel_keys!("Transferee");
        const TRANSFER_TARGET: [&str; 15] = channel_keys!("TransferTarget");
        const ORIG_TRANSFERER: [&str; 15] = channel_keys!("OrigTransferer");
        const SECOND_TRANSFERER: [&str; 15] = channel_keys!("SecondTransferer");
        const LOCAL_ONE: [&str; 15] = channel_keys!("LocalOne");
        const LOCAL_TWO: [&str; 15] = channel_keys!("LocalTwo");
        const SOURCE: [&str; 15] = channel_keys!("Source");
        const SPYER: [&str; 15] = channel_keys!("Spyer");
        const SPYEE: [&str; 15] = channel_keys!("Spyee");
        match self {
            ChannelPrefix::None => &NONE,
            ChannelPrefix::Dest => &DEST,
            ChannelPrefix::Transferer => &TRANSFERER,
            ChannelPrefix::Transferee => &TRANSFEREE,
            ChannelPrefix::TransferTarget => &TRANSFER_TARGET,
            ChannelPrefix::OrigTransferer => &ORIG_TRANSFERER,
            ChannelPrefix::SecondTransferer => &SECOND_TRANSFERER,
            ChannelPrefix::LocalOne => &LOCAL_ONE,
            ChannelPrefix::LocalTwo => &LOCAL_TWO,
            ChannelPrefix::Source => &SOURCE,
            ChannelPrefix::Spyer => &SPYER,
            ChannelPrefix::Spyee => &SPYEE,
        }
    }
}

/// A channel's state as Asterisk reports it (asterisk.md 2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelState {
    Down,
    Reserved,
    OffHook,
    Dialing,
    Ring,
    Ringing,
    Up,
    Busy,
    DialingOffhook,
    PreRing,
    Unknown,
}

impl ChannelState {
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => ChannelState::Down,
            1 => ChannelState::Reserved,
            2 => ChannelState::OffHook,
            3 => ChannelState::Dialing,
            4 => ChannelState::Ring,
            5 => ChannelState::Ringing,
            6 => ChannelState::Up,
            7 => ChannelState::Busy,
            8 => ChannelState::DialingOffhook,
            9 => ChannelState::PreRing,
            _ => ChannelState::Unknown,
        }
    }

    pub fn code(self) -> u8 {
        match self {
            ChannelState::Down => 0,
            ChannelState::Reserved => 1,
            ChannelState::OffHook => 2,
            ChannelState::Dialing => 3,
            ChannelState::Ring => 4,
            ChannelState::Ringing => 5,
            ChannelState::Up => 6,
            ChannelState::Busy => 7,
            ChannelState::DialingOffhook => 8,
            ChannelState::PreRing => 9,
            ChannelState::Unknown => 255,
        }
    }

    /// `ChannelStateDesc` as Asterisk prints it.
    pub fn desc(self) -> &'static str {
        match self {
            ChannelState::Down => "Down",
            ChannelState::Reserved => "Rsrvd",
            ChannelState::OffHook => "OffHook",
            ChannelState::Dialing => "Dialing",
            ChannelState::Ring => "Ring",
            ChannelState::Ringing => "Ringing",
            ChannelState::Up => "Up",
            ChannelState::Busy => "Busy",
            ChannelState::DialingOffhook => "Dialing Offhook",
            ChannelState::PreRing => "Pre-ring",
            ChannelState::Unknown => "Unknown",
        }
    }
}

/// The channel block common to channel events, with any prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelBlock<'a> {
    pub channel: &'a str,
    pub state: ChannelState,
    pub caller_id_num: Option<&'a str>,
    caller_id_name_raw: Option<&'a str>,
    pub connected_line_num: Option<&'a str>,
    connected_line_name_raw: Option<&'a str>,
    pub language: &'a str,
    pub account_code: &'a str,
    pub context: &'a str,
    pub exten: &'a str,
    pub priority: &'a str,
    pub uniqueid: &'a str,
    pub linkedid: &'a str,
    /// Only on Asterisk 18.25/20.10/21.5/22+ and only when set on the endpoint.
    pub tenantid: Option<&'a str>,
}

impl<'a> ChannelBlock<'a> {
    /// Reads the block with the given prefix; `None` without its Channel or Uniqueid.
    pub fn parse(msg: &'a Message, prefix: ChannelPrefix) -> Option<Self> {
        // Asterisk writes the block in one run and in this order: read it positionally,
        // and scan for each key only when the block is irregular.
        let [channel, state, _desc, cid_num, cid_name, cl_num, cl_name, lang, acct, ctx, exten, prio, uid, lid, tenant] =
            msg.get_run(prefix.keys()).unwrap_or_else(|| scan(msg, prefix.keys()));
        let uniqueid = uid?;
        Some(ChannelBlock {
            channel: channel?,
            state: ChannelState::from_code(num(state).unwrap_or(255)),
            caller_id_num: cid_num.and_then(known),
            caller_id_name_raw: cid_name.and_then(known),
            connected_line_num: cl_num.and_then(known),
            connected_line_name_raw: cl_name.and_then(known),
            language: lang.unwrap_or_default(),
            account_code: acct.unwrap_or_default(),
            context: ctx.unwrap_or_default(),
            exten: exten.unwrap_or_default(),
            priority: prio.unwrap_or_default(),
            uniqueid,
            // Linkedid is absent only on very old Asterisk; the channel is its own call then.
            linkedid: lid.unwrap_or(uniqueid),
            tenantid: tenant.filter(|t| !t.is_empty()),
        })
    }

    /// Caller name, unescaped.
    pub fn caller_id_name(&self) -> Option<Cow<'a, str>> {
        self.caller_id_name_raw.map(unescape_c)
    }

    /// Connected line name, unescaped.
    pub fn connected_line_name(&self) -> Option<Cow<'a, str>> {
        self.connected_line_name_raw.map(unescape_c)
    }

    /// The technology and resource of the channel: `PJSIP/1001-0000002a` -> `PJSIP/1001`,
    /// `Local/1001@agents-00000012;1` -> `Local/1001@agents`.
    pub fn device(&self) -> &'a str {
        channel_device(self.channel)
    }

    /// True for either half of a Local channel.
    pub fn is_local(&self) -> bool {
        self.channel.starts_with("Local/")
    }
}

/// `PJSIP/1001-0000002a` -> `PJSIP/1001`; `Local/1001@agents-00000012;1` -> `Local/1001@agents`.
/// A name without a sequence suffix is returned as is.
pub fn channel_device(channel: &str) -> &str {
    let base = channel.split(';').next().unwrap_or(channel);
    match base.rfind('-') {
        Some(i)
            if i > base.find('/').unwrap_or(0)
                && base[i + 1..].bytes().all(|b| b.is_ascii_hexdigit())
                && i + 1 < base.len() =>
        {
            &base[..i]
        }
        _ => base,
    }
}

/// The endpoint or resource of a device: `PJSIP/acme-1001` -> `acme-1001`;
/// `Local/1001@agents` -> `1001`.
pub fn device_resource(device: &str) -> &str {
    let rest = device.split_once('/').map(|(_, r)| r).unwrap_or(device);
    let rest = rest.split('/').next().unwrap_or(rest);
    rest.split('@').next().unwrap_or(rest)
}

/// Bridge fields shared by bridge events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeBlock<'a> {
    pub uniqueid: &'a str,
    pub bridge_type: &'a str,
    pub technology: &'a str,
    pub num_channels: u32,
}

impl<'a> BridgeBlock<'a> {
    pub fn parse(msg: &'a Message) -> Option<Self> {
        let [uid, ty, tech, n] = scan(msg, &["BridgeUniqueid", "BridgeType", "BridgeTechnology", "BridgeNumChannels"]);
        Some(BridgeBlock {
            uniqueid: uid?,
            bridge_type: ty.unwrap_or_default(),
            technology: tech.unwrap_or_default(),
            num_channels: num(n).unwrap_or(0),
        })
    }
}

/// Channel lifecycle events carrying just the channel block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelEvent<'a> {
    pub channel: ChannelBlock<'a>,
}

/// `Hangup`, `HangupRequest`, `SoftHangupRequest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HangupEvent<'a> {
    pub channel: ChannelBlock<'a>,
    pub cause: Option<u16>,
    pub cause_txt: Option<&'a str>,
}

/// `DialBegin`, `DialState`, `DialEnd`. The caller block is absent for Originate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialEvent<'a> {
    pub caller: Option<ChannelBlock<'a>>,
    pub dest: ChannelBlock<'a>,
    pub dial_status: Option<&'a str>,
    pub dial_string: Option<&'a str>,
}

/// `BridgeEnter`, `BridgeLeave`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeChannelEvent<'a> {
    pub bridge: BridgeBlock<'a>,
    pub channel: ChannelBlock<'a>,
    pub swap_uniqueid: Option<&'a str>,
}

/// `QueueCallerJoin`, `QueueCallerLeave`, `QueueCallerAbandon`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueCallerEvent<'a> {
    pub channel: ChannelBlock<'a>,
    pub queue: &'a str,
    pub position: u32,
    pub count: Option<u32>,
    pub original_position: Option<u32>,
    /// Seconds waited (QueueCallerAbandon only).
    pub hold_time_secs: Option<u64>,
}

/// `AgentCalled`, `AgentRingNoAnswer`, `AgentConnect`, `AgentComplete`, `AgentDump`.
/// The unprefixed block is the CALLER, the member leg is `Dest*` (asterisk.md gotcha 8);
/// either may be missing on late events (gotcha 30).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentEvent<'a> {
    pub caller: Option<ChannelBlock<'a>>,
    pub member: Option<ChannelBlock<'a>>,
    pub queue: &'a str,
    pub member_name: Option<&'a str>,
    pub interface: &'a str,
    /// Seconds the caller waited (Connect, Complete).
    pub hold_time_secs: Option<u64>,
    /// AgentRingNoAnswer: milliseconds; AgentConnect: seconds (gotcha 9). Raw here.
    pub ring_time: Option<u64>,
    pub talk_time_secs: Option<u64>,
    /// `caller`, `agent` or `transfer` (AgentComplete).
    pub reason: Option<&'a str>,
}

/// Queue member state: QueueMember* events (`MemberName`/`Interface`) and QueueStatus
/// `QueueMember` items (`Name`/`Location`), gotcha 10. Key order is not fixed (gotcha 11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueMemberEvent<'a> {
    pub queue: &'a str,
    pub member_name: &'a str,
    pub interface: &'a str,
    pub state_interface: &'a str,
    pub membership: &'a str,
    pub penalty: i32,
    pub calls_taken: u64,
    pub last_call: u64,
    pub last_pause: u64,
    pub login_time: u64,
    pub in_call: bool,
    pub status: u8,
    pub paused: bool,
    pub paused_reason: &'a str,
    pub ringinuse: Option<bool>,
    pub wrapup_time_secs: u64,
}

impl<'a> QueueMemberEvent<'a> {
    pub fn parse(msg: &'a Message) -> Option<Self> {
        let [queue, member_name, name, interface, location, state_interface, membership, penalty, calls_taken, last_call, last_pause, login_time, in_call, status, paused, paused_reason, ringinuse, wrapup] =
            scan(
                msg,
                &[
                    "Queue",
                    "MemberName",
                    "Name",
                    "Interface",
                    "Location",
                    "StateInterface",
                    "Membership",
                    "Penalty",
                    "CallsTaken",
                    "LastCall",
                    "LastPause",
                    "LoginTime",
                    "InCall",
                    "Status",
                    "Paused",
                    "PausedReason",
                    "Ringinuse",
                    "Wrapuptime",
                ],
            );
        let interface = interface.or(location)?;
        Some(QueueMemberEvent {
            queue: queue?,
            member_name: member_name.or(name).unwrap_or(interface),
            interface,
            state_interface: state_interface.filter(|s| !s.is_empty()).unwrap_or(interface),
            membership: membership.unwrap_or_default(),
            penalty: num(penalty).unwrap_or(0),
            calls_taken: num(calls_taken).unwrap_or(0),
            last_call: num(last_call).unwrap_or(0),
            last_pause: num(last_pause).unwrap_or(0),
            login_time: num(login_time).unwrap_or(0),
            in_call: flag(in_call),
            status: num(status).unwrap_or(0),
            paused: flag(paused),
            paused_reason: paused_reason.unwrap_or_default(),
            ringinuse: ringinuse.map(|v| flag(Some(v))),
            wrapup_time_secs: num(wrapup).unwrap_or(0),
        })
    }
}

/// QueueStatus `QueueParams` item (spelled `Holdtime`, `ServicelevelPerf`: gotcha 10).
#[derive(Clone, Debug, PartialEq)]
pub struct QueueParamsEvent<'a> {
    pub queue: &'a str,
    pub max: u32,
    pub strategy: &'a str,
    pub calls: u32,
    pub hold_time_secs: u64,
    pub talk_time_secs: u64,
    pub completed: u64,
    pub abandoned: u64,
    pub service_level_secs: u64,
    pub service_level_perf: f64,
    pub service_level_perf2: f64,
    pub weight: i32,
}

/// QueueStatus `QueueEntry` item: a caller waiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueEntryEvent<'a> {
    pub queue: &'a str,
    pub position: u32,
    pub channel: &'a str,
    pub uniqueid: &'a str,
    pub caller_id_num: Option<&'a str>,
    pub caller_id_name: Option<&'a str>,
    pub wait_secs: u64,
    pub priority: i32,
}

/// `DeviceStateChange` (also the DeviceStateList items).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceStateEvent<'a> {
    pub device: &'a str,
    pub state: &'a str,
}

/// `CoreShowChannel` list item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreShowChannelEvent<'a> {
    pub channel: ChannelBlock<'a>,
    pub application: &'a str,
    pub application_data: &'a str,
    /// `HH:MM:SS` converted to seconds.
    pub duration_secs: u64,
    pub bridge_id: Option<&'a str>,
}

/// `FullyBooted`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullyBootedEvent {
    pub uptime_secs: u64,
    pub last_reload_secs: u64,
}

/// `Shutdown`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShutdownEvent<'a> {
    pub shutdown: &'a str,
    pub restart: bool,
}

/// `BlindTransfer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlindTransferEvent<'a> {
    pub result: &'a str,
    pub transferer: Option<ChannelBlock<'a>>,
    pub transferee: Option<ChannelBlock<'a>>,
    pub bridge_uniqueid: Option<&'a str>,
    pub is_external: bool,
    pub context: &'a str,
    pub extension: &'a str,
}

/// `AttendedTransfer` (the parts a switchboard needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttendedTransferEvent<'a> {
    pub result: &'a str,
    pub orig_transferer: Option<ChannelBlock<'a>>,
    pub second_transferer: Option<ChannelBlock<'a>>,
    pub transferee: Option<ChannelBlock<'a>>,
    pub transfer_target: Option<ChannelBlock<'a>>,
    pub dest_type: &'a str,
}

/// `LocalBridge`, `LocalOptimizationBegin`, `LocalOptimizationEnd`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalEvent<'a> {
    pub one: ChannelBlock<'a>,
    pub two: ChannelBlock<'a>,
}

/// `OriginateResponse` (carries our ActionID).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginateResponseEvent<'a> {
    pub action_id: Option<&'a str>,
    pub success: bool,
    pub channel: &'a str,
    pub reason: u8,
    pub uniqueid: Option<&'a str>,
}

/// `PeerStatus` (PJSIP: Reachable / Unreachable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStatusEvent<'a> {
    pub peer: &'a str,
    pub status: &'a str,
}

/// `ContactStatus`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactStatusEvent<'a> {
    pub uri: &'a str,
    pub status: &'a str,
    pub aor: &'a str,
    pub endpoint: &'a str,
}

/// `ExtensionStatus`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionStatusEvent<'a> {
    pub exten: &'a str,
    pub context: &'a str,
    pub hint: &'a str,
    pub status: i32,
    pub status_text: &'a str,
}

/// `Cdr` (cdr_manager).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdrEvent<'a> {
    pub source: &'a str,
    pub destination: &'a str,
    pub channel: &'a str,
    pub destination_channel: &'a str,
    pub disposition: &'a str,
    pub duration_secs: u64,
    pub billable_secs: u64,
    pub uniqueid: &'a str,
    pub linkedid: Option<&'a str>,
}

/// An event decoded to its typed view.
// Views are built on the stack and matched at once, never stored: boxing the big ones
// would cost an allocation per event for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum TypedEvent<'a> {
    Newchannel(ChannelEvent<'a>),
    Newstate(ChannelEvent<'a>),
    NewCallerid(ChannelEvent<'a>),
    NewConnectedLine(ChannelEvent<'a>),
    Hangup(HangupEvent<'a>),
    HangupRequest(HangupEvent<'a>),
    SoftHangupRequest(HangupEvent<'a>),
    DialBegin(DialEvent<'a>),
    DialState(DialEvent<'a>),
    DialEnd(DialEvent<'a>),
    BridgeCreate(BridgeBlock<'a>),
    BridgeDestroy(BridgeBlock<'a>),
    BridgeEnter(BridgeChannelEvent<'a>),
    BridgeLeave(BridgeChannelEvent<'a>),
    BlindTransfer(BlindTransferEvent<'a>),
    AttendedTransfer(AttendedTransferEvent<'a>),
    Hold(ChannelEvent<'a>),
    Unhold(ChannelEvent<'a>),
    MusicOnHoldStart(ChannelEvent<'a>),
    MusicOnHoldStop(ChannelEvent<'a>),
    LocalBridge(LocalEvent<'a>),
    LocalOptimizationBegin(LocalEvent<'a>),
    LocalOptimizationEnd(LocalEvent<'a>),
    QueueCallerJoin(QueueCallerEvent<'a>),
    QueueCallerLeave(QueueCallerEvent<'a>),
    QueueCallerAbandon(QueueCallerEvent<'a>),
    AgentCalled(AgentEvent<'a>),
    AgentRingNoAnswer(AgentEvent<'a>),
    AgentConnect(AgentEvent<'a>),
    AgentComplete(AgentEvent<'a>),
    AgentDump(AgentEvent<'a>),
    QueueMemberStatus(QueueMemberEvent<'a>),
    QueueMemberAdded(QueueMemberEvent<'a>),
    QueueMemberRemoved(QueueMemberEvent<'a>),
    QueueMemberPause(QueueMemberEvent<'a>),
    QueueMemberPenalty(QueueMemberEvent<'a>),
    QueueMemberRinginuse(QueueMemberEvent<'a>),
    QueueParams(QueueParamsEvent<'a>),
    QueueMember(QueueMemberEvent<'a>),
    QueueEntry(QueueEntryEvent<'a>),
    DeviceStateChange(DeviceStateEvent<'a>),
    ExtensionStatus(ExtensionStatusEvent<'a>),
    PeerStatus(PeerStatusEvent<'a>),
    ContactStatus(ContactStatusEvent<'a>),
    FullyBooted(FullyBootedEvent),
    Shutdown(ShutdownEvent<'a>),
    CoreShowChannel(CoreShowChannelEvent<'a>),
    Cdr(CdrEvent<'a>),
    OriginateResponse(OriginateResponseEvent<'a>),
    /// Any other event, or a known one missing a key we rely on: passed through untouched.
    Other(&'a Message),
}

fn hms_secs(v: &str) -> u64 {
    let mut total = 0u64;
    for part in v.split(':') {
        total = total.saturating_mul(60).saturating_add(part.trim().parse::<u64>().unwrap_or(0));
    }
    total
}

impl<'a> TypedEvent<'a> {
    /// Decodes an event message; never fails.
    pub fn parse(msg: &'a Message) -> TypedEvent<'a> {
        let kind = msg.event_name().map(EventKind::of).unwrap_or(EventKind::Other);
        Self::parse_kind(kind, msg).unwrap_or(TypedEvent::Other(msg))
    }

    /// Decodes with an already known kind.
    pub fn parse_kind(kind: EventKind, msg: &'a Message) -> Option<TypedEvent<'a>> {
        use EventKind as K;
        let chan = || ChannelBlock::parse(msg, ChannelPrefix::None);
        let chan_event = || Some(ChannelEvent { channel: chan()? });
        let hangup = || {
            let [cause, txt] = scan(msg, &["Cause", "Cause-txt"]);
            Some(HangupEvent { channel: chan()?, cause: num(cause), cause_txt: txt })
        };
        let dial = || {
            let [status, dial_string] = scan(msg, &["DialStatus", "DialString"]);
            Some(DialEvent {
                caller: chan(),
                dest: ChannelBlock::parse(msg, ChannelPrefix::Dest)?,
                dial_status: status,
                dial_string,
            })
        };
        let bridge_chan = || {
            Some(BridgeChannelEvent {
                bridge: BridgeBlock::parse(msg)?,
                channel: chan()?,
                swap_uniqueid: msg.get("SwapUniqueid").filter(|s| !s.is_empty()),
            })
        };
        let queue_caller = || {
            let [queue, pos, count, orig, hold] =
                scan(msg, &["Queue", "Position", "Count", "OriginalPosition", "HoldTime"]);
            Some(QueueCallerEvent {
                channel: chan()?,
                queue: queue?,
                position: num(pos).unwrap_or(0),
                count: num(count),
                original_position: num(orig),
                hold_time_secs: num(hold),
            })
        };
        let agent = || {
            let [queue, member_name, interface, hold, ring, talk, reason] =
                scan(msg, &["Queue", "MemberName", "Interface", "HoldTime", "RingTime", "TalkTime", "Reason"]);
            Some(AgentEvent {
                caller: chan(),
                member: ChannelBlock::parse(msg, ChannelPrefix::Dest),
                queue: queue?,
                member_name,
                interface: interface?,
                hold_time_secs: num(hold),
                ring_time: num(ring),
                talk_time_secs: num(talk),
                reason,
            })
        };
        let local = || {
            Some(LocalEvent {
                one: ChannelBlock::parse(msg, ChannelPrefix::LocalOne)?,
                two: ChannelBlock::parse(msg, ChannelPrefix::LocalTwo)?,
            })
        };
        let member = || QueueMemberEvent::parse(msg);
        Some(match kind {
            K::Newchannel => TypedEvent::Newchannel(chan_event()?),
            K::Newstate => TypedEvent::Newstate(chan_event()?),
            K::NewCallerid => TypedEvent::NewCallerid(chan_event()?),
            K::NewConnectedLine => TypedEvent::NewConnectedLine(chan_event()?),
            K::Hangup => TypedEvent::Hangup(hangup()?),
            K::HangupRequest => TypedEvent::HangupRequest(hangup()?),
            K::SoftHangupRequest => TypedEvent::SoftHangupRequest(hangup()?),
            K::DialBegin => TypedEvent::DialBegin(dial()?),
            K::DialState => TypedEvent::DialState(dial()?),
            K::DialEnd => TypedEvent::DialEnd(dial()?),
            K::BridgeCreate => TypedEvent::BridgeCreate(BridgeBlock::parse(msg)?),
            K::BridgeDestroy => TypedEvent::BridgeDestroy(BridgeBlock::parse(msg)?),
            K::BridgeEnter => TypedEvent::BridgeEnter(bridge_chan()?),
            K::BridgeLeave => TypedEvent::BridgeLeave(bridge_chan()?),
            K::BlindTransfer => {
                let [result, external, context, extension, bridge] =
                    scan(msg, &["Result", "IsExternal", "Context", "Extension", "BridgeUniqueid"]);
                TypedEvent::BlindTransfer(BlindTransferEvent {
                    result: result?,
                    transferer: ChannelBlock::parse(msg, ChannelPrefix::Transferer),
                    transferee: ChannelBlock::parse(msg, ChannelPrefix::Transferee),
                    bridge_uniqueid: bridge,
                    is_external: flag(external),
                    context: context.unwrap_or_default(),
                    extension: extension.unwrap_or_default(),
                })
            }
            K::AttendedTransfer => {
                let [result, dest_type] = scan(msg, &["Result", "DestType"]);
                TypedEvent::AttendedTransfer(AttendedTransferEvent {
                    result: result?,
                    orig_transferer: ChannelBlock::parse(msg, ChannelPrefix::OrigTransferer),
                    second_transferer: ChannelBlock::parse(msg, ChannelPrefix::SecondTransferer),
                    transferee: ChannelBlock::parse(msg, ChannelPrefix::Transferee),
                    transfer_target: ChannelBlock::parse(msg, ChannelPrefix::TransferTarget),
                    dest_type: dest_type.unwrap_or_default(),
                })
            }
            K::Hold => TypedEvent::Hold(chan_event()?),
            K::Unhold => TypedEvent::Unhold(chan_event()?),
            K::MusicOnHoldStart => TypedEvent::MusicOnHoldStart(chan_event()?),
            K::MusicOnHoldStop => TypedEvent::MusicOnHoldStop(chan_event()?),
            K::LocalBridge => TypedEvent::LocalBridge(local()?),
            K::LocalOptimizationBegin => TypedEvent::LocalOptimizationBegin(local()?),
            K::LocalOptimizationEnd => TypedEvent::LocalOptimizationEnd(local()?),
            K::QueueCallerJoin => TypedEvent::QueueCallerJoin(queue_caller()?),
            K::QueueCallerLeave => TypedEvent::QueueCallerLeave(queue_caller()?),
            K::QueueCallerAbandon => TypedEvent::QueueCallerAbandon(queue_caller()?),
            K::AgentCalled => TypedEvent::AgentCalled(agent()?),
            K::AgentRingNoAnswer => TypedEvent::AgentRingNoAnswer(agent()?),
            K::AgentConnect => TypedEvent::AgentConnect(agent()?),
            K::AgentComplete => TypedEvent::AgentComplete(agent()?),
            K::AgentDump => TypedEvent::AgentDump(agent()?),
            K::QueueMemberStatus => TypedEvent::QueueMemberStatus(member()?),
            K::QueueMemberAdded => TypedEvent::QueueMemberAdded(member()?),
            K::QueueMemberRemoved => TypedEvent::QueueMemberRemoved(member()?),
            K::QueueMemberPause => TypedEvent::QueueMemberPause(member()?),
            K::QueueMemberPenalty => TypedEvent::QueueMemberPenalty(member()?),
            K::QueueMemberRinginuse => TypedEvent::QueueMemberRinginuse(member()?),
            K::QueueMember => TypedEvent::QueueMember(member()?),
            K::QueueParams => {
                let [queue, max, strategy, calls, hold, talk, completed, abandoned, sl, perf, perf2, weight] = scan(
                    msg,
                    &[
                        "Queue",
                        "Max",
                        "Strategy",
                        "Calls",
                        "Holdtime",
                        "TalkTime",
                        "Completed",
                        "Abandoned",
                        "ServiceLevel",
                        "ServicelevelPerf",
                        "ServicelevelPerf2",
                        "Weight",
                    ],
                );
                TypedEvent::QueueParams(QueueParamsEvent {
                    queue: queue?,
                    max: num(max).unwrap_or(0),
                    strategy: strategy.unwrap_or_default(),
                    calls: num(calls).unwrap_or(0),
                    hold_time_secs: num(hold).unwrap_or(0),
                    talk_time_secs: num(talk).unwrap_or(0),
                    completed: num(completed).unwrap_or(0),
                    abandoned: num(abandoned).unwrap_or(0),
                    service_level_secs: num(sl).unwrap_or(0),
                    service_level_perf: num(perf).unwrap_or(0.0),
                    service_level_perf2: num(perf2).unwrap_or(0.0),
                    weight: num(weight).unwrap_or(0),
                })
            }
            K::QueueEntry => {
                let [queue, pos, channel, uid, cid_num, cid_name, wait, prio] = scan(
                    msg,
                    &["Queue", "Position", "Channel", "Uniqueid", "CallerIDNum", "CallerIDName", "Wait", "Priority"],
                );
                TypedEvent::QueueEntry(QueueEntryEvent {
                    queue: queue?,
                    position: num(pos).unwrap_or(0),
                    channel: channel?,
                    uniqueid: uid?,
                    caller_id_num: cid_num.and_then(known),
                    caller_id_name: cid_name.and_then(known),
                    wait_secs: num(wait).unwrap_or(0),
                    priority: num(prio).unwrap_or(0),
                })
            }
            K::DeviceStateChange => {
                let [device, state] = scan(msg, &["Device", "State"]);
                TypedEvent::DeviceStateChange(DeviceStateEvent { device: device?, state: state? })
            }
            K::ExtensionStatus => {
                let [exten, context, hint, status, text] =
                    scan(msg, &["Exten", "Context", "Hint", "Status", "StatusText"]);
                TypedEvent::ExtensionStatus(ExtensionStatusEvent {
                    exten: exten?,
                    context: context.unwrap_or_default(),
                    hint: hint.unwrap_or_default(),
                    status: num(status).unwrap_or(-1),
                    status_text: text.unwrap_or_default(),
                })
            }
            K::PeerStatus => {
                let [peer, status] = scan(msg, &["Peer", "PeerStatus"]);
                TypedEvent::PeerStatus(PeerStatusEvent { peer: peer?, status: status? })
            }
            K::ContactStatus => {
                let [uri, status, aor, endpoint] = scan(msg, &["URI", "ContactStatus", "AOR", "EndpointName"]);
                TypedEvent::ContactStatus(ContactStatusEvent {
                    uri: uri?,
                    status: status?,
                    aor: aor.unwrap_or_default(),
                    endpoint: endpoint.unwrap_or_default(),
                })
            }
            K::FullyBooted => {
                let [uptime, reload] = scan(msg, &["Uptime", "LastReload"]);
                TypedEvent::FullyBooted(FullyBootedEvent {
                    uptime_secs: num(uptime).unwrap_or(0),
                    last_reload_secs: num(reload).unwrap_or(0),
                })
            }
            K::Shutdown => {
                let [shutdown, restart] = scan(msg, &["Shutdown", "Restart"]);
                TypedEvent::Shutdown(ShutdownEvent { shutdown: shutdown.unwrap_or_default(), restart: flag(restart) })
            }
            K::CoreShowChannel => {
                let [app, data, duration, bridge] =
                    scan(msg, &["Application", "ApplicationData", "Duration", "BridgeId"]);
                TypedEvent::CoreShowChannel(CoreShowChannelEvent {
                    channel: chan()?,
                    application: app.unwrap_or_default(),
                    application_data: data.unwrap_or_default(),
                    duration_secs: duration.map(hms_secs).unwrap_or(0),
                    bridge_id: bridge.filter(|b| !b.is_empty()),
                })
            }
            K::Cdr => {
                let [src, dst, channel, dst_channel, disposition, duration, billsec, uid, lid] = scan(
                    msg,
                    &[
                        "Source",
                        "Destination",
                        "Channel",
                        "DestinationChannel",
                        "Disposition",
                        "Duration",
                        "BillableSeconds",
                        "UniqueID",
                        "LinkedID",
                    ],
                );
                TypedEvent::Cdr(CdrEvent {
                    source: src.unwrap_or_default(),
                    destination: dst.unwrap_or_default(),
                    channel: channel.unwrap_or_default(),
                    destination_channel: dst_channel.unwrap_or_default(),
                    disposition: disposition.unwrap_or_default(),
                    duration_secs: num(duration).unwrap_or(0),
                    billable_secs: num(billsec).unwrap_or(0),
                    uniqueid: uid?,
                    linkedid: lid,
                })
            }
            K::OriginateResponse => {
                let [aid, response, channel, reason, uid] =
                    scan(msg, &["ActionID", "Response", "Channel", "Reason", "Uniqueid"]);
                TypedEvent::OriginateResponse(OriginateResponseEvent {
                    action_id: aid,
                    success: response.is_some_and(|r| r.eq_ignore_ascii_case("Success")),
                    channel: channel.unwrap_or_default(),
                    reason: num(reason).unwrap_or(0),
                    uniqueid: uid.and_then(known),
                })
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_c_reverses_asterisk_escapes() {
        assert_eq!(unescape_c(r#"O\'Brien \"Jr\" \\ x\n"#), "O'Brien \"Jr\" \\ x\n");
        assert!(matches!(unescape_c("plain"), Cow::Borrowed("plain")));
        assert_eq!(unescape_c(r"trailing\"), r"trailing\");
    }

    #[test]
    fn channel_device_strips_the_sequence_suffix() {
        assert_eq!(channel_device("PJSIP/1001-0000002a"), "PJSIP/1001");
        assert_eq!(channel_device("PJSIP/acme-1001-0000002a"), "PJSIP/acme-1001");
        assert_eq!(channel_device("Local/1001@agents-00000012;1"), "Local/1001@agents");
        assert_eq!(channel_device("PJSIP/1001"), "PJSIP/1001");
        assert_eq!(device_resource("PJSIP/acme-1001"), "acme-1001");
        assert_eq!(device_resource("Local/1001@agents/n"), "1001");
    }

    #[test]
    fn event_kind_is_case_insensitive_and_unknown_is_other() {
        assert_eq!(EventKind::of("QueueCallerJoin"), EventKind::QueueCallerJoin);
        assert_eq!(EventKind::of("queuecallerjoin"), EventKind::QueueCallerJoin);
        assert_eq!(EventKind::of("NewExten"), EventKind::Newexten);
        assert_eq!(EventKind::of("RTCPSent"), EventKind::Other);
    }

    #[test]
    fn queue_member_reads_both_event_and_status_spellings() {
        let ev = Message::from_pairs([
            ("Event", "QueueMemberStatus"),
            ("Queue", "support"),
            ("MemberName", "Bob"),
            ("Interface", "Local/1002@agents/n"),
            ("StateInterface", "Local/1002@agents"),
            ("Status", "2"),
            ("Paused", "1"),
            ("PausedReason", "lunch"),
        ]);
        let item = Message::from_pairs([
            ("Event", "QueueMember"),
            ("Queue", "support"),
            ("Name", "Bob"),
            ("Location", "Local/1002@agents/n"),
            ("Status", "2"),
        ]);
        let TypedEvent::QueueMemberStatus(a) = TypedEvent::parse(&ev) else { panic!("typed member event") };
        let TypedEvent::QueueMember(b) = TypedEvent::parse(&item) else { panic!("typed member item") };
        assert_eq!((a.member_name, a.interface, a.status, a.paused), ("Bob", "Local/1002@agents/n", 2, true));
        assert_eq!(
            (b.member_name, b.interface, b.state_interface),
            ("Bob", "Local/1002@agents/n", "Local/1002@agents/n")
        );
    }

    #[test]
    fn an_event_missing_required_keys_passes_through_as_other() {
        let m = Message::from_pairs([("Event", "Hangup"), ("Cause", "16")]);
        assert!(matches!(TypedEvent::parse(&m), TypedEvent::Other(_)));
    }
}
