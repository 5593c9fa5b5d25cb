//! Typed AMI actions (asterisk.md section 3).
//!
//! An [`Action`] is a name plus ordered headers; the connection adds the `ActionID`. Each
//! typed builder turns into an `Action`. Values can never carry CR or LF: there is no
//! escaping in AMI and a line break would inject a header (asterisk.md 1.2), so
//! [`Action::validate`] refuses them before anything is written.

use std::borrow::Cow;
use std::fmt;

use md5::{Digest, Md5};

use super::message::Message;

/// An action ready to be sent (without its ActionID).
#[derive(Clone, PartialEq, Eq)]
pub struct Action {
    name: Cow<'static, str>,
    headers: Vec<(Cow<'static, str>, String)>,
    /// Headers whose values must never be logged (secrets, keys).
    sensitive: bool,
}

/// Why an action was refused before sending.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("AMI header {header} contains a line break")]
pub struct InvalidAction {
    pub header: String,
}

impl Action {
    /// An action with no headers.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Action { name: name.into(), headers: Vec::new(), sensitive: false }
    }

    /// Adds a header.
    pub fn header(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// Adds a header when the value is present.
    pub fn header_opt(self, key: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.header(key, v),
            None => self,
        }
    }

    fn mark_sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// The action's name (`Originate`, `QueueStatus`...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The first value of a header.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    /// Headers in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// True when the action carries a secret (Login, Challenge answers).
    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    /// Refuses CR and LF anywhere in the name, keys or values.
    pub fn validate(&self) -> Result<(), InvalidAction> {
        let bad = |s: &str| s.bytes().any(|b| b == b'\r' || b == b'\n');
        if bad(&self.name) {
            return Err(InvalidAction { header: "Action".into() });
        }
        for (k, v) in &self.headers {
            if bad(k) || bad(v) {
                return Err(InvalidAction { header: k.to_string() });
            }
        }
        Ok(())
    }

    /// The wire message with the given ActionID.
    pub fn to_message(&self, action_id: &str) -> Message {
        let mut b = Message::builder();
        b.push("Action", &self.name);
        b.push("ActionID", action_id);
        for (k, v) in &self.headers {
            b.push(k, v);
        }
        b.build()
    }
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Action");
        d.field("name", &self.name);
        if self.sensitive {
            d.field("headers", &"<redacted>");
        } else {
            d.field("headers", &self.headers);
        }
        d.finish()
    }
}

/// `Login` with a plain secret.
pub fn login(username: &str, secret: &str, events: Option<&str>) -> Action {
    Action::new("Login")
        .header("Username", username)
        .header("Secret", secret)
        .header_opt("Events", events)
        .mark_sensitive()
}

/// `Challenge` with `AuthType: MD5` (first step of an MD5 login).
pub fn challenge() -> Action {
    Action::new("Challenge").header("AuthType", "MD5")
}

/// The MD5 login key: lowercase hex of MD5(challenge ++ secret) (asterisk.md 1.6).
pub fn md5_key(challenge: &str, secret: &str) -> String {
    let mut h = Md5::new();
    h.update(challenge.as_bytes());
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

/// `Login` with `AuthType: MD5` and the key answering a challenge.
pub fn login_md5(username: &str, challenge: &str, secret: &str, events: Option<&str>) -> Action {
    Action::new("Login")
        .header("AuthType", "MD5")
        .header("Username", username)
        .header("Key", md5_key(challenge, secret))
        .header_opt("Events", events)
        .mark_sensitive()
}

/// `Logoff`.
pub fn logoff() -> Action {
    Action::new("Logoff")
}

/// `Ping`.
pub fn ping() -> Action {
    Action::new("Ping")
}

/// `Events` with an event mask (`on`, `off`, or a class list).
pub fn events(mask: &str) -> Action {
    Action::new("Events").header("EventMask", mask)
}

/// `Filter`, legacy form (a regex; `!` prefix excludes).
pub fn filter(expr: &str) -> Action {
    Action::new("Filter").header("Operation", "Add").header("Filter", expr)
}

/// `Filter`, advanced form (18.26/20.11/21.6/22.1+), e.g.
/// `action(exclude),name(VarSet),method(none)`.
pub fn filter_advanced(match_criteria: &str, expr: &str) -> Action {
    Action::new("Filter").header("Operation", "Add").header("MatchCriteria", match_criteria).header("Filter", expr)
}

/// `CoreStatus` (startup date/time tells a restart from a dropped link).
pub fn core_status() -> Action {
    Action::new("CoreStatus")
}

/// `CoreSettings` (AsteriskVersion, AMIversion).
pub fn core_settings() -> Action {
    Action::new("CoreSettings")
}

/// Where an originated channel goes once answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OriginateTarget {
    Exten { context: String, exten: String, priority: String },
    Application { application: String, data: String },
}

/// `Originate`, always with `Async: true` (a synchronous Originate blocks the whole AMI
/// session, asterisk.md 1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Originate {
    pub channel: String,
    pub target: OriginateTarget,
    pub timeout_ms: Option<u64>,
    pub caller_id: Option<String>,
    pub variables: Vec<(String, String)>,
    pub account: Option<String>,
    pub channel_id: Option<String>,
    pub other_channel_id: Option<String>,
    pub codecs: Option<String>,
    pub early_media: bool,
}

impl Originate {
    /// Originate `channel` into `context,exten,priority`.
    pub fn to_exten(channel: &str, context: &str, exten: &str, priority: &str) -> Self {
        Self::new(
            channel,
            OriginateTarget::Exten { context: context.into(), exten: exten.into(), priority: priority.into() },
        )
    }

    /// Originate `channel` into an application (ChanSpy for listening, Wait...).
    pub fn to_application(channel: &str, application: &str, data: &str) -> Self {
        Self::new(channel, OriginateTarget::Application { application: application.into(), data: data.into() })
    }

    fn new(channel: &str, target: OriginateTarget) -> Self {
        Originate {
            channel: channel.into(),
            target,
            timeout_ms: None,
            caller_id: None,
            variables: Vec::new(),
            account: None,
            channel_id: None,
            other_channel_id: None,
            codecs: None,
            early_media: false,
        }
    }

    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }

    /// `"Name" <num>` form.
    pub fn caller_id(mut self, caller_id: impl Into<String>) -> Self {
        self.caller_id = Some(caller_id.into());
        self
    }

    /// One `Variable: name=value` header per variable (no comma splitting surprises).
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.push((name.into(), value.into()));
        self
    }

    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// Uniqueid of the new channel (for Local, the ;1 half), known before Newchannel.
    pub fn channel_id(mut self, id: impl Into<String>) -> Self {
        self.channel_id = Some(id.into());
        self
    }

    pub fn other_channel_id(mut self, id: impl Into<String>) -> Self {
        self.other_channel_id = Some(id.into());
        self
    }

    pub fn codecs(mut self, codecs: impl Into<String>) -> Self {
        self.codecs = Some(codecs.into());
        self
    }

    pub fn early_media(mut self, on: bool) -> Self {
        self.early_media = on;
        self
    }
}

impl From<Originate> for Action {
    fn from(o: Originate) -> Action {
        let mut a = Action::new("Originate").header("Channel", o.channel);
        a = match o.target {
            OriginateTarget::Exten { context, exten, priority } => {
                a.header("Context", context).header("Exten", exten).header("Priority", priority)
            }
            OriginateTarget::Application { application, data } => {
                a.header("Application", application).header("Data", data)
            }
        };
        a = a
            .header_opt("Timeout", o.timeout_ms.map(|t| t.to_string()))
            .header_opt("CallerID", o.caller_id)
            .header_opt("Account", o.account)
            .header_opt("ChannelId", o.channel_id)
            .header_opt("OtherChannelId", o.other_channel_id)
            .header_opt("Codecs", o.codecs);
        if o.early_media {
            a = a.header("EarlyMedia", "true");
        }
        for (k, v) in o.variables {
            a = a.header("Variable", format!("{k}={v}"));
        }
        a.header("Async", "true")
    }
}

/// `Hangup` of a channel (name or Uniqueid) with an optional Q.850 cause.
pub fn hangup(channel: &str, cause: Option<u8>) -> Action {
    Action::new("Hangup").header("Channel", channel).header_opt("Cause", cause.map(|c| c.to_string()))
}

/// `Redirect` of a channel, optionally with a second channel (move both sides of a bridge).
pub fn redirect(channel: &str, context: &str, exten: &str, priority: &str, extra_channel: Option<&str>) -> Action {
    let a = Action::new("Redirect")
        .header("Channel", channel)
        .header("Context", context)
        .header("Exten", exten)
        .header("Priority", priority);
    match extra_channel {
        Some(extra) => a
            .header("ExtraChannel", extra)
            .header("ExtraContext", context)
            .header("ExtraExten", exten)
            .header("ExtraPriority", priority),
        None => a,
    }
}

/// `BlindTransfer` of the bridge `channel` is in.
pub fn blind_transfer(channel: &str, context: Option<&str>, exten: &str) -> Action {
    Action::new("BlindTransfer").header("Channel", channel).header("Exten", exten).header_opt("Context", context)
}

/// `Atxfer` (needs a features.conf `atxfer` code, asterisk.md gotcha 27).
pub fn atxfer(channel: &str, context: Option<&str>, exten: &str) -> Action {
    Action::new("Atxfer").header("Channel", channel).header("Exten", exten).header_opt("Context", context)
}

/// `QueueAdd` (a dynamic member; never for interfaces kept in `queue_members`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueAdd {
    pub queue: String,
    pub interface: String,
    pub member_name: Option<String>,
    pub state_interface: Option<String>,
    pub penalty: Option<i32>,
    pub paused: Option<bool>,
    pub reason: Option<String>,
    pub wrapup_time_secs: Option<u32>,
}

impl From<QueueAdd> for Action {
    fn from(q: QueueAdd) -> Action {
        Action::new("QueueAdd")
            .header("Queue", q.queue)
            .header("Interface", q.interface)
            .header_opt("MemberName", q.member_name)
            .header_opt("StateInterface", q.state_interface)
            .header_opt("Penalty", q.penalty.map(|p| p.to_string()))
            .header_opt("Paused", q.paused.map(|p| if p { "true" } else { "false" }))
            .header_opt("Reason", q.reason)
            .header_opt("Wrapuptime", q.wrapup_time_secs.map(|w| w.to_string()))
    }
}

/// `QueueRemove`.
pub fn queue_remove(queue: &str, interface: &str) -> Action {
    Action::new("QueueRemove").header("Queue", queue).header("Interface", interface)
}

/// `QueuePause`; `queue: None` pauses in every queue; the reason is kept by Asterisk as
/// `PausedReason` (and in `queue_members.reason_paused` for realtime members).
pub fn queue_pause(interface: &str, paused: bool, queue: Option<&str>, reason: Option<&str>) -> Action {
    Action::new("QueuePause")
        .header("Interface", interface)
        .header("Paused", if paused { "true" } else { "false" })
        .header_opt("Queue", queue)
        .header_opt("Reason", reason)
}

/// `QueuePenalty`.
pub fn queue_penalty(interface: &str, penalty: i32, queue: Option<&str>) -> Action {
    Action::new("QueuePenalty")
        .header("Interface", interface)
        .header("Penalty", penalty.to_string())
        .header_opt("Queue", queue)
}

/// `Reload` of one module (e.g. `res_pjsip_outbound_registration.so`), or all.
pub fn reload(module: Option<&str>) -> Action {
    Action::new("Reload").header_opt("Module", module)
}

/// `QueueStatus` (a list: QueueParams, QueueMember, QueueEntry, QueueStatusComplete).
pub fn queue_status(queue: Option<&str>, member: Option<&str>) -> Action {
    Action::new("QueueStatus").header_opt("Queue", queue).header_opt("Member", member)
}

/// `QueueSummary` (a list).
pub fn queue_summary(queue: Option<&str>) -> Action {
    Action::new("QueueSummary").header_opt("Queue", queue)
}

/// `CoreShowChannels` (a list).
pub fn core_show_channels() -> Action {
    Action::new("CoreShowChannels")
}

/// `Status` of one channel or all (a list), with extra variables.
pub fn status(channel: Option<&str>, variables: &[&str]) -> Action {
    let a = Action::new("Status").header_opt("Channel", channel);
    if variables.is_empty() {
        a
    } else {
        a.header("Variables", variables.join(","))
    }
}

/// `Getvar` (channel variable or global when `channel` is None).
pub fn getvar(channel: Option<&str>, variable: &str) -> Action {
    Action::new("Getvar").header_opt("Channel", channel).header("Variable", variable)
}

/// `Setvar`.
pub fn setvar(channel: Option<&str>, variable: &str, value: &str) -> Action {
    Action::new("Setvar").header_opt("Channel", channel).header("Variable", variable).header("Value", value)
}

/// `Command` (CLI). Prefer structured actions; output is buffered whole by Asterisk.
pub fn command(cli: &str) -> Action {
    Action::new("Command").header("Command", cli)
}

/// `PJSIPShowEndpoints` (a list; `Error / No endpoints found` means empty).
pub fn pjsip_show_endpoints() -> Action {
    Action::new("PJSIPShowEndpoints")
}

/// `PJSIPShowContacts` (a list; `No Contacts found` means empty).
pub fn pjsip_show_contacts() -> Action {
    Action::new("PJSIPShowContacts")
}

/// `DeviceStateList` (a list of DeviceStateChange items).
pub fn device_state_list() -> Action {
    Action::new("DeviceStateList")
}

/// `ExtensionStateList` (a list of ExtensionStatus items).
pub fn extension_state_list() -> Action {
    Action::new("ExtensionStateList")
}

/// Errors from list actions that Asterisk uses to say "nothing to list" (gotcha 14).
pub fn is_empty_list_error(message: &str) -> bool {
    let m = message.trim();
    m.eq_ignore_ascii_case("No endpoints found")
        || m.eq_ignore_ascii_case("No Contacts found")
        || m.eq_ignore_ascii_case("No AORs found")
        || m.eq_ignore_ascii_case("No Auths found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_key_matches_the_recorded_login() {
        // ../shared/asterisk-transcripts/md5-login: challenge 131131513, secret mayday-secret.
        assert_eq!(md5_key("131131513", "mayday-secret"), "aa015ce3a6d9620b15595354699ee34f");
    }

    #[test]
    fn originate_is_always_async_with_one_variable_header_each() {
        let a: Action = Originate::to_application("PJSIP/sup200", "ChanSpy", "PJSIP/1001-,qE")
            .caller_id("\"Listen 1001\" <200>")
            .variable("A", "1,2")
            .variable("B", "x")
            .into();
        let m = a.to_message("spy-42");
        assert_eq!(m.get("Async"), Some("true"));
        assert_eq!(m.get_all("Variable").collect::<Vec<_>>(), vec!["A=1,2", "B=x"]);
        assert_eq!(m.action_id(), Some("spy-42"));
    }

    #[test]
    fn line_breaks_in_values_are_refused() {
        let a = hangup("PJSIP/1001-01\r\nAction: Command", None);
        assert_eq!(a.validate(), Err(InvalidAction { header: "Channel".into() }));
        assert!(queue_pause("PJSIP/1001", true, Some("support"), Some("lunch")).validate().is_ok());
    }

    #[test]
    fn login_debug_output_hides_the_secret() {
        let a = login("mayday", "s3cret", None);
        assert!(!format!("{a:?}").contains("s3cret"));
    }
}
