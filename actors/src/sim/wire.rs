//! How the simulated PBX writes events and responses: the same keys, in the same order,
//! as Asterisk 22 (asterisk.md section 2, the recordings in `testdata/`).

use crate::ami::event::{ChannelPrefix, ChannelState};
use crate::ami::message::{Message, MessageBuilder};

/// Event classes (asterisk.md 1.7) as bits of a session's mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    System,
    Call,
    Agent,
    User,
    Cdr,
    Dialplan,
    Reporting,
    Security,
}

impl Class {
    pub fn bit(self) -> u32 {
        match self {
            Class::System => 1,
            Class::Call => 1 << 1,
            Class::Agent => 1 << 2,
            Class::User => 1 << 3,
            Class::Cdr => 1 << 4,
            Class::Dialplan => 1 << 5,
            Class::Reporting => 1 << 6,
            Class::Security => 1 << 7,
        }
    }

    pub fn privilege(self) -> &'static str {
        match self {
            Class::System => "system,all",
            Class::Call => "call,all",
            Class::Agent => "agent,all",
            Class::User => "user,all",
            Class::Cdr => "cdr,all",
            Class::Dialplan => "dialplan,all",
            Class::Reporting => "reporting,all",
            Class::Security => "security,all",
        }
    }

    /// All classes.
    pub const ALL: u32 = 0xff;

    /// Parses a Login `Events:` / `EventMask` value (asterisk.md 1.7). `None` = invalid.
    pub fn parse_mask(value: Option<&str>) -> Option<u32> {
        let v = match value.map(str::trim) {
            None | Some("") => return Some(Self::ALL),
            Some(v) => v,
        };
        match v.to_ascii_lowercase().as_str() {
            "on" | "yes" | "true" | "all" => return Some(Self::ALL),
            "off" | "no" | "false" | "none" => return Some(0),
            _ => {}
        }
        if let Ok(n) = v.parse::<u32>() {
            return Some(n);
        }
        let mut mask = 0;
        for part in v.split(',') {
            mask |= match part.trim().to_ascii_lowercase().as_str() {
                "system" => Class::System.bit(),
                "call" => Class::Call.bit(),
                "agent" => Class::Agent.bit(),
                "user" => Class::User.bit(),
                "cdr" => Class::Cdr.bit(),
                "dialplan" => Class::Dialplan.bit(),
                "reporting" => Class::Reporting.bit(),
                "security" => Class::Security.bit(),
                "all" => Self::ALL,
                _ => 0,
            };
        }
        Some(mask)
    }
}

/// A channel as events print it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelView {
    pub name: String,
    pub state: ChannelState,
    pub caller_num: String,
    pub caller_name: String,
    pub connected_num: String,
    pub connected_name: String,
    pub context: String,
    pub exten: String,
    pub priority: u32,
    pub uniqueid: String,
    pub linkedid: String,
    pub tenantid: Option<String>,
}

fn or_unknown(v: &str) -> &str {
    if v.is_empty() {
        "<unknown>"
    } else {
        v
    }
}

/// Asterisk's `ast_escape_c` for caller names.
pub fn escape_c(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '?' => out.push_str("\\?"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// Appends a channel block (asterisk.md 2.1: `Tenantid` after `Linkedid`, only when set).
pub fn push_channel(b: &mut MessageBuilder, prefix: ChannelPrefix, c: &ChannelView) {
    let k = prefix.keys();
    b.push(k[0], &c.name);
    b.push(k[1], &c.state.code().to_string());
    b.push(k[2], c.state.desc());
    b.push(k[3], or_unknown(&c.caller_num));
    b.push(k[4], &escape_c(or_unknown(&c.caller_name)));
    b.push(k[5], or_unknown(&c.connected_num));
    b.push(k[6], &escape_c(or_unknown(&c.connected_name)));
    b.push(k[7], "en");
    b.push(k[8], "");
    b.push(k[9], &c.context);
    b.push(k[10], &c.exten);
    b.push(k[11], &c.priority.to_string());
    b.push(k[12], &c.uniqueid);
    b.push(k[13], &c.linkedid);
    if let Some(t) = c.tenantid.as_deref().filter(|t| !t.is_empty()) {
        b.push(k[14], t);
    }
}

/// Starts an event: `Event`, `Privilege`.
pub fn event(name: &str, class: Class) -> MessageBuilder {
    Message::builder().field("Event", name).field("Privilege", class.privilege())
}

/// A channel event with extra keys after the block.
pub fn channel_event(name: &str, class: Class, c: &ChannelView, extra: &[(&str, &str)]) -> Message {
    let mut b = event(name, class);
    push_channel(&mut b, ChannelPrefix::None, c);
    for (k, v) in extra {
        b.push(k, v);
    }
    b.build()
}

/// An event with a caller block (optional) and a `Dest` block, then extra keys
/// (DialBegin/End, Agent* events).
pub fn two_channel_event(
    name: &str,
    class: Class,
    caller: Option<&ChannelView>,
    dest: &ChannelView,
    extra: &[(&str, &str)],
) -> Message {
    let mut b = event(name, class);
    if let Some(c) = caller {
        push_channel(&mut b, ChannelPrefix::None, c);
    }
    push_channel(&mut b, ChannelPrefix::Dest, dest);
    for (k, v) in extra {
        b.push(k, v);
    }
    b.build()
}

/// The bridge block (asterisk.md 2.4).
pub fn push_bridge(b: &mut MessageBuilder, id: &str, num_channels: usize) {
    b.push("BridgeUniqueid", id);
    b.push("BridgeType", "basic");
    b.push("BridgeTechnology", "simple_bridge");
    b.push("BridgeCreator", "<unknown>");
    b.push("BridgeName", "<unknown>");
    b.push("BridgeNumChannels", &num_channels.to_string());
    b.push("BridgeVideoSourceMode", "none");
}

/// BridgeCreate / BridgeDestroy.
pub fn bridge_event(name: &str, id: &str, num_channels: usize) -> Message {
    let mut b = event(name, Class::Call);
    push_bridge(&mut b, id, num_channels);
    b.build()
}

/// BridgeEnter / BridgeLeave: bridge block first, then the channel block.
pub fn bridge_channel_event(name: &str, id: &str, num_channels: usize, c: &ChannelView) -> Message {
    let mut b = event(name, Class::Call);
    push_bridge(&mut b, id, num_channels);
    push_channel(&mut b, ChannelPrefix::None, c);
    b.build()
}

/// A response: `Response`, `ActionID` (when given), then the rest.
pub fn response(kind: &str, action_id: Option<&str>, rest: &[(&str, &str)]) -> Message {
    let mut b = Message::builder().field("Response", kind);
    if let Some(id) = action_id {
        b.push("ActionID", id);
    }
    for (k, v) in rest {
        b.push(k, v);
    }
    b.build()
}

/// `Response: Success` with a `Message`.
pub fn success(action_id: Option<&str>, message: &str) -> Message {
    response("Success", action_id, &[("Message", message)])
}

/// `Response: Error` with a `Message`.
pub fn error(action_id: Option<&str>, message: &str) -> Message {
    response("Error", action_id, &[("Message", message)])
}

/// The start of a list answer.
pub fn list_start(action_id: Option<&str>, message: &str) -> Message {
    response("Success", action_id, &[("EventList", "start"), ("Message", message)])
}

/// The closing event of a list answer.
pub fn list_complete(name: &str, action_id: Option<&str>, items: usize, extra: &[(&str, &str)]) -> Message {
    let mut b = Message::builder().field("Event", name);
    if let Some(id) = action_id {
        b.push("ActionID", id);
    }
    b.push("EventList", "Complete");
    b.push("ListItems", &items.to_string());
    for (k, v) in extra {
        b.push(k, v);
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_parse_like_asterisk() {
        assert_eq!(Class::parse_mask(Some("off")), Some(0));
        assert_eq!(Class::parse_mask(None), Some(Class::ALL));
        assert_eq!(Class::parse_mask(Some("system,call")), Some(Class::System.bit() | Class::Call.bit()));
    }

    #[test]
    fn channel_block_prints_unknown_and_escapes_names() {
        let c = ChannelView {
            name: "PJSIP/1001-00000001".into(),
            state: ChannelState::Ring,
            caller_num: String::new(),
            caller_name: "O'Brien".into(),
            connected_num: String::new(),
            connected_name: String::new(),
            context: "ctx".into(),
            exten: "s".into(),
            priority: 1,
            uniqueid: "1.1".into(),
            linkedid: "1.1".into(),
            tenantid: Some("acme".into()),
        };
        let m = channel_event("Newchannel", Class::Call, &c, &[]);
        assert_eq!(m.get("CallerIDNum"), Some("<unknown>"));
        assert_eq!(m.get("CallerIDName"), Some("O\\'Brien"));
        let keys: Vec<_> = m.keys().collect();
        assert_eq!(keys[keys.len() - 2..], ["Linkedid", "Tenantid"]);
    }
}
