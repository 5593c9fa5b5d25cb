//! AMI actions as the simulated PBX answers them: the same responses, list shapes and
//! side-effect events as Asterisk 22 (asterisk.md sections 1 and 3, the recordings).

use std::time::Duration;

use super::flows::TransferTarget;
use super::wire::{self, Class};
use super::world::{CallKind, DeviceState, Member, Phase, SimTime, World};
use crate::ami::action::md5_key;
use crate::ami::event::ChannelPrefix;
use crate::ami::message::Message;

/// One client's AMI session.
#[derive(Clone, Debug, Default)]
pub struct Session {
    pub authenticated: bool,
    pub username: String,
    pub challenge: Option<String>,
    /// Event classes this session receives.
    pub mask: u32,
    pub filters: Vec<Filter>,
}

/// A session event filter (asterisk.md 1.7), legacy or advanced.
#[derive(Clone, Debug)]
pub struct Filter {
    pub include: bool,
    pub name: Option<String>,
    pub header: Option<String>,
    pub method: String,
    pub expr: String,
}

impl Filter {
    fn matches(&self, msg: &Message, text: &str) -> bool {
        if let Some(name) = &self.name {
            if !msg.event_name().is_some_and(|n| n.eq_ignore_ascii_case(name)) {
                return false;
            }
        }
        let subject: String = match &self.header {
            Some(h) => msg.get(h).unwrap_or_default().to_string(),
            None if self.name.is_some() && self.method == "none" => return true,
            None => text.to_string(),
        };
        match self.method.as_str() {
            "none" => true,
            "exact" => subject == self.expr,
            "starts_with" => subject.starts_with(&self.expr),
            "ends_with" => subject.ends_with(&self.expr),
            // Legacy filters are regular expressions; the sim supports literal ones.
            _ => subject.contains(&self.expr),
        }
    }
}

impl Session {
    /// Whether this session receives an event (class mask, then filters).
    pub fn wants(&self, class: Class, msg: &Message, text: &str) -> bool {
        if !self.authenticated || self.mask & class.bit() == 0 {
            return false;
        }
        if self.filters.is_empty() {
            return true;
        }
        let includes: Vec<&Filter> = self.filters.iter().filter(|f| f.include).collect();
        if !includes.is_empty() && !includes.iter().any(|f| f.matches(msg, text)) {
            return false;
        }
        !self.filters.iter().filter(|f| !f.include).any(|f| f.matches(msg, text))
    }
}

/// Credentials and knobs the action handlers need.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub username: String,
    pub secret: String,
    pub refuse_logins: bool,
    /// Actions this AMI user may not run (its `write` classes lack theirs).
    pub denied_actions: Vec<String>,
    pub failed_login_delay: Duration,
    pub ami_version: String,
    pub asterisk_version: String,
}

/// What answering one action produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Messages for this session only, written before any broadcast event.
    pub replies: Vec<Message>,
    /// Wait this long before writing the replies (failed login).
    pub delay: Option<Duration>,
    /// Close the session after the replies.
    pub close: bool,
}

impl Outcome {
    fn one(m: Message) -> Self {
        Outcome { replies: vec![m], ..Default::default() }
    }
}

fn hms(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

fn truthy(v: Option<&str>) -> bool {
    matches!(v.map(|s| s.trim().to_ascii_lowercase()).as_deref(), Some("true" | "yes" | "1" | "on"))
}

/// Answers one action. The caller reloads the directory first for actions that load
/// queues (see [`loads_queues`]).
pub fn handle(world: &mut World, now: SimTime, session: &mut Session, auth: &AuthSettings, msg: &Message) -> Outcome {
    world.now = now;
    let id = msg.action_id();
    let Some(name) = msg.action_name() else {
        return Outcome::one(wire::error(id, "Missing action in request"));
    };
    let lname = name.to_ascii_lowercase();
    if !session.authenticated && !matches!(lname.as_str(), "login" | "logoff" | "challenge") {
        return Outcome::one(wire::error(id, "Permission denied"));
    }
    if auth.denied_actions.iter().any(|a| a.eq_ignore_ascii_case(name)) {
        // manager.c: an action whose class the user cannot write.
        return Outcome::one(wire::error(id, "Permission denied"));
    }
    match lname.as_str() {
        "login" => login(world, now, session, auth, msg),
        "challenge" => {
            if !msg.get("AuthType").is_some_and(|t| t.eq_ignore_ascii_case("MD5")) {
                return Outcome::one(wire::error(id, "Must specify AuthType"));
            }
            let challenge = format!("{}", rand::random::<u32>() % 900_000_000 + 100_000_000);
            session.challenge = Some(challenge.clone());
            Outcome::one(wire::response("Success", id, &[("Challenge", &challenge)]))
        }
        "logoff" => Outcome {
            replies: vec![wire::response("Goodbye", id, &[("Message", "Thanks for all the fish.")])],
            close: true,
            delay: None,
        },
        "ping" => {
            let ts = format!("{}.{:06}", world.epoch(now), now.subsec_micros());
            Outcome::one(wire::response("Success", id, &[("Ping", "Pong"), ("Timestamp", &ts)]))
        }
        "events" => match wire::Class::parse_mask(msg.get("EventMask"))
            .filter(|_| msg.get("EventMask").is_some_and(|v| !v.trim().is_empty()))
        {
            Some(mask) => {
                session.mask = mask;
                Outcome::one(wire::response("Success", id, &[("Events", if mask == 0 { "Off" } else { "On" })]))
            }
            None => Outcome::one(wire::error(id, "Invalid event mask")),
        },
        "filter" => filter(session, msg),
        "corestatus" => {
            let start = chrono::DateTime::from_timestamp(world.startup_epoch, 0).unwrap_or_default();
            let date = start.format("%Y-%m-%d").to_string();
            let time = start.format("%H:%M:%S").to_string();
            let calls = world.calls.values().filter(|c| c.phase != Phase::Ended).count().to_string();
            Outcome::one(wire::response(
                "Success",
                id,
                &[
                    ("CoreStartupDate", &date),
                    ("CoreStartupTime", &time),
                    ("CoreReloadDate", &date),
                    ("CoreReloadTime", &time),
                    ("CoreCurrentCalls", &calls),
                    ("CoreProcessedCalls", &calls),
                ],
            ))
        }
        "coresettings" => Outcome::one(wire::response(
            "Success",
            id,
            &[
                ("AMIversion", &auth.ami_version),
                ("AsteriskVersion", &auth.asterisk_version),
                ("SystemName", ""),
                ("CoreMaxCalls", "0"),
                ("CoreMaxLoadAvg", "0.000000"),
                ("CoreRunUser", "asterisk"),
                ("CoreRunGroup", "asterisk"),
                ("CoreMaxFilehandles", "0"),
                ("CoreRealTimeEnabled", "Yes"),
                ("CoreCDRenabled", "Yes"),
                ("CoreHTTPenabled", "No"),
                ("SoundsSearchCustomDir", "No"),
            ],
        )),
        "command" => command(msg, auth),
        // Asterisk answers once the module reloaded; the realtime objects it re-reads are
        // the sim's directory, reloaded at each queue load anyway.
        "reload" => {
            // loader.c publishes `Reload` (Module as asked, `All` without one; Status 0 is
            // success) to every session with the system class.
            let module = msg.get("Module").filter(|m| !m.is_empty()).unwrap_or("All");
            let mut event = wire::event("Reload", Class::System);
            event.push("Module", module);
            event.push("Status", "0");
            world.emit(Class::System, event.build());
            Outcome::one(wire::success(id, "Module Reloaded"))
        }
        "queuestatus" => queue_status(world, now, msg),
        "queuesummary" => queue_summary(world, now, msg),
        "queuepause" => queue_pause(world, now, msg),
        "queueadd" => queue_add(world, now, msg),
        "queueremove" => queue_remove(world, now, msg),
        "queuepenalty" => queue_penalty(world, now, msg),
        "coreshowchannels" => core_show_channels(world, now, id),
        "status" => status(world, now, msg),
        "originate" => originate(world, now, msg),
        "hangup" => hangup(world, now, msg),
        "blindtransfer" => blind_transfer(world, now, msg),
        "atxfer" => Outcome::one(wire::error(id, "No attended transfer feature code found")),
        "redirect" => redirect(world, msg),
        "getvar" => getvar(world, msg),
        "setvar" => setvar(world, msg),
        "pjsipshowendpoints" => pjsip_endpoints(world, now, id),
        "pjsipshowcontacts" => pjsip_contacts(world, now, id),
        "devicestatelist" => device_state_list(world, id),
        "extensionstatelist" => Outcome {
            replies: vec![
                wire::list_start(id, "Extension Statuses will follow"),
                wire::list_complete("ExtensionStateListComplete", id, 0, &[]),
            ],
            ..Default::default()
        },
        "userevent" => {
            let mut b = wire::event("UserEvent", Class::User);
            b.push("UserEvent", msg.get("UserEvent").unwrap_or_default());
            for (k, v) in msg.iter() {
                if !k.eq_ignore_ascii_case("Action") && !k.eq_ignore_ascii_case("UserEvent") {
                    b.push(k, v);
                }
            }
            world.emit(Class::User, b.build());
            Outcome::one(wire::success(id, "Event Sent"))
        }
        _ => {
            let text = format!("Invalid/unknown command: {name}. Use Action: ListCommands to show available commands.");
            let tv = chrono::DateTime::from_timestamp(world.epoch(now), 0)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
                .unwrap_or_default();
            let security = wire::event("RequestBadFormat", Class::Security)
                .field("EventTV", &tv)
                .field("Severity", "Error")
                .field("Service", "AMI")
                .field("EventVersion", "1")
                .field("SessionID", "0x0")
                .field("LocalAddress", "IPV4/TCP/127.0.0.1/5038")
                .field("RemoteAddress", "IPV4/TCP/127.0.0.1/0")
                .field("RequestType", &format!("Action: {name}"))
                .field("SessionTV", &tv)
                .field("AccountID", &session.username)
                .build();
            world.emit(Class::Security, security);
            Outcome::one(wire::error(id, &text))
        }
    }
}

/// Actions that make app_queue load realtime queues (and so reread the directory).
pub fn loads_queues(msg: &Message) -> bool {
    msg.action_name().is_some_and(|n| n.eq_ignore_ascii_case("QueueStatus") || n.eq_ignore_ascii_case("QueueSummary"))
}

fn login(world: &mut World, now: SimTime, session: &mut Session, auth: &AuthSettings, msg: &Message) -> Outcome {
    let id = msg.action_id();
    if session.authenticated {
        return Outcome::one(wire::success(id, "Already authenticated"));
    }
    let user_ok = msg.get("Username").is_some_and(|u| u == auth.username);
    let secret_ok = if msg.get("AuthType").is_some_and(|t| t.eq_ignore_ascii_case("MD5")) {
        match (&session.challenge, msg.get("Key")) {
            (Some(challenge), Some(key)) => key.eq_ignore_ascii_case(&md5_key(challenge, &auth.secret)),
            _ => false,
        }
    } else {
        msg.get("Secret").is_some_and(|s| s == auth.secret)
    };
    if !user_ok || !secret_ok || auth.refuse_logins {
        // Asterisk sleeps 1 s, answers, then closes the session.
        return Outcome {
            replies: vec![wire::error(id, "Authentication failed")],
            delay: Some(auth.failed_login_delay),
            close: true,
        };
    }
    session.authenticated = true;
    session.username = auth.username.clone();
    session.mask = wire::Class::parse_mask(msg.get("Events")).unwrap_or(wire::Class::ALL);
    let mut replies = vec![wire::success(id, "Authentication accepted")];
    if session.mask & Class::System.bit() != 0 {
        let uptime = now.saturating_sub(world.startup_at).as_secs().to_string();
        replies.push(
            wire::event("FullyBooted", Class::System)
                .field("Uptime", &uptime)
                .field("LastReload", &uptime)
                .field("Status", "Fully Booted")
                .build(),
        );
    }
    Outcome { replies, ..Default::default() }
}

fn filter(session: &mut Session, msg: &Message) -> Outcome {
    let id = msg.action_id();
    if !msg.get("Operation").is_some_and(|o| o.eq_ignore_ascii_case("Add")) {
        return Outcome::one(wire::error(id, "Unknown operation"));
    }
    let expr = msg.get("Filter").unwrap_or_default();
    let filter = match msg.get("MatchCriteria") {
        Some(criteria) => {
            let mut f =
                Filter { include: true, name: None, header: None, method: "regex".into(), expr: expr.to_string() };
            for part in criteria.split("),") {
                let part = part.trim().trim_end_matches(')');
                let Some((key, value)) = part.split_once('(') else {
                    continue;
                };
                match key.trim() {
                    "action" => f.include = value != "exclude",
                    "name" => f.name = Some(value.to_string()),
                    "header" => f.header = Some(value.to_string()),
                    "method" => f.method = value.to_string(),
                    _ => {}
                }
            }
            f
        }
        None => {
            let (include, expr) = match expr.strip_prefix('!') {
                Some(rest) => (false, rest),
                None => (true, expr),
            };
            if expr.is_empty() {
                return Outcome::one(wire::error(
                    id,
                    "Filter was formatted incorrectly.  Check the syntax of the filter given.",
                ));
            }
            Filter { include, name: None, header: None, method: "regex".into(), expr: expr.to_string() }
        }
    };
    session.filters.push(filter);
    Outcome::one(wire::success(id, "Success"))
}

fn command(msg: &Message, auth: &AuthSettings) -> Outcome {
    let id = msg.action_id();
    let cmd = msg.get("Command").unwrap_or_default().trim().to_string();
    let output = match cmd.as_str() {
        "core show version" => Some(format!("Asterisk {} (Mayday simulated PBX)", auth.asterisk_version)),
        "core show uptime" => Some("System uptime: simulated".to_string()),
        _ => None,
    };
    match output {
        Some(line) => {
            Outcome::one(wire::response("Success", id, &[("Message", "Command output follows"), ("Output", &line)]))
        }
        None => Outcome::one(wire::response(
            "Error",
            id,
            &[
                ("Message", "Command output follows"),
                (
                    "Output",
                    &format!("No such command '{cmd}' (type 'core show help {cmd}' for other possible commands)"),
                ),
            ],
        )),
    }
}

fn member_item(queue: &str, m: &Member, id: Option<&str>) -> Message {
    let mut b = Message::builder()
        .field("Event", "QueueMember")
        .field("Queue", queue)
        .field("Name", m.def.member_name())
        .field("Location", &m.def.interface)
        .field("StateInterface", m.def.state_interface())
        .field("Membership", if m.dynamic { "dynamic" } else { "static" })
        .field("Penalty", &m.def.penalty.to_string())
        .field("CallsTaken", &m.calls_taken.to_string())
        .field("LastCall", &m.last_call.to_string())
        .field("LastPause", &m.last_pause.to_string())
        .field("LoginTime", &m.login_time.to_string())
        .field("InCall", if m.in_call { "1" } else { "0" })
        .field("Status", &m.status.code().to_string())
        .field("Paused", if m.paused { "1" } else { "0" })
        .field("PausedReason", &m.reason)
        .field("Wrapuptime", &m.wrapup_secs.unwrap_or(0).to_string());
    if let Some(id) = id {
        b.push("ActionID", id);
    }
    b.build()
}

fn unknown_plain(v: &str) -> &str {
    if v.is_empty() {
        "unknown"
    } else {
        v
    }
}

fn queue_status(world: &mut World, now: SimTime, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let only_queue = msg.get("Queue").filter(|q| !q.is_empty());
    let only_member = msg.get("Member").filter(|m| !m.is_empty());
    let mut replies = vec![wire::list_start(id, "Queue status will follow")];
    for (name, q) in &world.queues {
        if only_queue.is_some_and(|oq| oq != name) {
            continue;
        }
        let perf = |num: u64, den: u64| {
            if den == 0 {
                0.0
            } else {
                100.0 * num as f64 / den as f64
            }
        };
        let s = &q.stats;
        let mut b = Message::builder()
            .field("Event", "QueueParams")
            .field("Queue", name)
            .field("Max", &q.def.max_len.to_string())
            .field("Strategy", &q.def.strategy)
            .field("Calls", &q.waiting.len().to_string())
            .field("Holdtime", &s.holdtime.to_string())
            .field("TalkTime", &s.talktime.to_string())
            .field("Completed", &s.completed.to_string())
            .field("Abandoned", &s.abandoned.to_string())
            .field("ServiceLevel", &q.def.service_level_secs.to_string())
            .field("ServicelevelPerf", &format!("{:.1}", perf(s.completed_in_sl, s.completed)))
            .field(
                "ServicelevelPerf2",
                &format!("{:.1}", perf(s.completed_in_sl + s.abandoned_in_sl, s.completed + s.abandoned)),
            )
            .field("Weight", &q.def.weight.to_string());
        if let Some(id) = id {
            b.push("ActionID", id);
        }
        replies.push(b.build());
        for m in &q.members {
            if only_member.is_some_and(|om| !om.eq_ignore_ascii_case(&m.def.interface) && om != m.def.member_name()) {
                continue;
            }
            replies.push(member_item(name, m, id));
        }
        if only_member.is_some() {
            continue;
        }
        for (pos, call_id) in q.waiting.iter().enumerate() {
            let Some(call) = world.calls.get(call_id) else {
                continue;
            };
            let Some(ch) = world.channels.get(&call.caller) else {
                continue;
            };
            let wait = now.saturating_sub(call.joined_at).as_secs().to_string();
            let mut b = Message::builder()
                .field("Event", "QueueEntry")
                .field("Queue", name)
                .field("Position", &(pos + 1).to_string())
                .field("Channel", &ch.view.name)
                .field("Uniqueid", &ch.view.uniqueid)
                .field("CallerIDNum", unknown_plain(&ch.view.caller_num))
                .field("CallerIDName", unknown_plain(&ch.view.caller_name))
                .field("ConnectedLineNum", unknown_plain(&ch.view.connected_num))
                .field("ConnectedLineName", unknown_plain(&ch.view.connected_name))
                .field("Wait", &wait)
                .field("Priority", "0");
            if let Some(id) = id {
                b.push("ActionID", id);
            }
            replies.push(b.build());
        }
    }
    let items = replies.len() - 1;
    replies.push(wire::list_complete("QueueStatusComplete", id, items, &[]));
    Outcome { replies, ..Default::default() }
}

fn queue_summary(world: &mut World, now: SimTime, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let only_queue = msg.get("Queue").filter(|q| !q.is_empty());
    let mut replies = vec![wire::list_start(id, "Queue summary will follow")];
    for (name, q) in &world.queues {
        if only_queue.is_some_and(|oq| oq != name) {
            continue;
        }
        let logged_in =
            q.members.iter().filter(|m| !matches!(m.status, DeviceState::Unavailable | DeviceState::Invalid)).count();
        let available = q
            .members
            .iter()
            .filter(|m| matches!(m.status, DeviceState::NotInuse | DeviceState::Unknown) && !m.paused)
            .count();
        let longest = q
            .waiting
            .iter()
            .filter_map(|c| world.calls.get(c))
            .map(|c| now.saturating_sub(c.joined_at).as_secs())
            .max()
            .unwrap_or(0);
        let mut b = Message::builder()
            .field("Event", "QueueSummary")
            .field("Queue", name)
            .field("LoggedIn", &logged_in.to_string())
            .field("Available", &available.to_string())
            .field("Callers", &q.waiting.len().to_string())
            .field("HoldTime", &q.stats.holdtime.to_string())
            .field("TalkTime", &q.stats.talktime.to_string())
            .field("LongestHoldTime", &longest.to_string());
        if let Some(id) = id {
            b.push("ActionID", id);
        }
        replies.push(b.build());
    }
    let items = replies.len() - 1;
    replies.push(wire::list_complete("QueueSummaryComplete", id, items, &[]));
    Outcome { replies, ..Default::default() }
}

fn pause_device_event(world: &mut World, queue: &str, interface: &str, paused: bool) {
    let device = format!("Queue:{queue}_pause_{interface}");
    let msg = wire::event("DeviceStateChange", Class::Call)
        .field("Device", &device)
        .field("State", if paused { "INUSE" } else { "NOT_INUSE" })
        .build();
    world.emit(Class::Call, msg);
}

fn queue_pause(world: &mut World, now: SimTime, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let (Some(interface), Some(paused_v)) = (msg.get("Interface"), msg.get("Paused")) else {
        return Outcome::one(wire::error(id, "Need 'Interface' and 'Paused' parameters."));
    };
    let paused = truthy(Some(paused_v));
    let reason = msg.get("Reason").unwrap_or_default().to_string();
    let only_queue = msg.get("Queue").filter(|q| !q.is_empty());
    let epoch = world.epoch(now);
    let targets: Vec<(String, usize)> = world
        .queues
        .iter()
        .filter(|(name, _)| only_queue.is_none_or(|q| q == name.as_str()))
        .filter_map(|(name, q)| {
            q.members.iter().position(|m| m.def.interface.eq_ignore_ascii_case(interface)).map(|i| (name.clone(), i))
        })
        .collect();
    if targets.is_empty() {
        return Outcome::one(wire::error(id, "Interface not found"));
    }
    for (queue, idx) in &targets {
        if let Some(m) = world.queues.get_mut(queue).and_then(|q| q.members.get_mut(*idx)) {
            m.paused = paused;
            m.reason = if paused { reason.clone() } else { String::new() };
            if paused {
                m.last_pause = epoch;
            }
        }
        pause_device_event(world, queue, interface, paused);
        world.emit_member("QueueMemberPause", queue, *idx, now);
    }
    Outcome::one(wire::success(
        id,
        if paused { "Interface paused successfully" } else { "Interface unpaused successfully" },
    ))
}

fn queue_add(world: &mut World, now: SimTime, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let (Some(queue), Some(interface)) = (msg.get("Queue"), msg.get("Interface")) else {
        return Outcome::one(wire::error(id, "'Queue' and 'Interface' not specified."));
    };
    if !world.queues.contains_key(queue) {
        return Outcome::one(wire::error(id, "Unable to add interface to queue: No such queue"));
    }
    if world.member_index(queue, interface).is_some() {
        return Outcome::one(wire::error(id, "Unable to add interface: Already there"));
    }
    let state_interface = msg.get("StateInterface").filter(|s| !s.is_empty()).unwrap_or(interface).to_string();
    let status = world.device_state(&state_interface);
    let paused = truthy(msg.get("Paused"));
    let login = world.epoch(now);
    let member = Member {
        def: super::directory::SimMember {
            interface: interface.to_string(),
            membername: msg.get("MemberName").unwrap_or(interface).to_string(),
            state_interface,
            penalty: msg.get("Penalty").and_then(|p| p.trim().parse().ok()).unwrap_or(0),
            paused,
            realtime: false,
        },
        dynamic: true,
        paused,
        reason: if paused { msg.get("Reason").unwrap_or_default().to_string() } else { String::new() },
        calls_taken: 0,
        last_call: 0,
        last_pause: 0,
        login_time: login,
        in_call: false,
        status,
        wrapup_until: None,
        wrapup_secs: msg.get("Wrapuptime").and_then(|w| w.trim().parse().ok()),
        ringinuse: false,
    };
    let Some(q) = world.queues.get_mut(queue) else {
        return Outcome::one(wire::error(id, "Unable to add interface to queue: No such queue"));
    };
    q.members.push(member);
    let idx = q.members.len() - 1;
    let queue = queue.to_string();
    pause_device_event(world, &queue, interface, paused);
    world.emit_member("QueueMemberAdded", &queue, idx, now);
    let avail = wire::event("DeviceStateChange", Class::Call)
        .field("Device", &format!("Queue:{queue}_avail"))
        .field("State", "NOT_INUSE")
        .build();
    world.emit(Class::Call, avail);
    Outcome::one(wire::success(id, "Added interface to queue"))
}

fn queue_remove(world: &mut World, now: SimTime, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let (Some(queue), Some(interface)) = (msg.get("Queue"), msg.get("Interface")) else {
        return Outcome::one(wire::error(id, "Need 'Queue' and 'Interface' parameters."));
    };
    if !world.queues.contains_key(queue) {
        return Outcome::one(wire::error(id, "Unable to remove interface from queue: No such queue"));
    }
    let Some(idx) = world.member_index(queue, interface) else {
        return Outcome::one(wire::error(id, "Unable to remove interface: Not there"));
    };
    if !world.queues.get(queue).is_some_and(|q| q.members[idx].dynamic) {
        return Outcome::one(wire::error(id, "Member not dynamic"));
    }
    let event = world.member_event("QueueMemberRemoved", queue, idx);
    if let Some(q) = world.queues.get_mut(queue) {
        q.members.remove(idx);
    }
    if let Some(e) = event {
        world.emit(Class::Agent, e);
    }
    let _ = now;
    Outcome::one(wire::success(id, "Removed interface from queue"))
}

fn queue_penalty(world: &mut World, now: SimTime, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let bad = || Outcome::one(wire::error(id, "Invalid interface, queuename or penalty"));
    let (Some(interface), Some(penalty)) =
        (msg.get("Interface"), msg.get("Penalty").and_then(|p| p.trim().parse::<i32>().ok()))
    else {
        return bad();
    };
    if penalty < 0 {
        return bad();
    }
    let only_queue = msg.get("Queue").filter(|q| !q.is_empty());
    let targets: Vec<(String, usize)> = world
        .queues
        .iter()
        .filter(|(name, _)| only_queue.is_none_or(|q| q == name.as_str()))
        .filter_map(|(name, q)| {
            q.members.iter().position(|m| m.def.interface.eq_ignore_ascii_case(interface)).map(|i| (name.clone(), i))
        })
        .collect();
    if targets.is_empty() {
        return bad();
    }
    for (queue, idx) in targets {
        if let Some(m) = world.queues.get_mut(&queue).and_then(|q| q.members.get_mut(idx)) {
            m.def.penalty = penalty;
        }
        world.emit_member("QueueMemberPenalty", &queue, idx, now);
    }
    Outcome::one(wire::success(id, "Interface penalty set successfully"))
}

fn core_show_channels(world: &mut World, now: SimTime, id: Option<&str>) -> Outcome {
    let mut replies = vec![wire::list_start(id, "Channels will follow")];
    let mut chans: Vec<_> = world.channels.values().collect();
    chans.sort_by_key(|c| std::cmp::Reverse(c.created));
    for c in chans {
        let mut b = Message::builder().field("Event", "CoreShowChannel");
        if let Some(id) = id {
            b.push("ActionID", id);
        }
        wire::push_channel(&mut b, ChannelPrefix::None, &c.view);
        b.push("Application", &c.application);
        b.push("ApplicationData", &c.application_data);
        b.push("Duration", &hms(now.saturating_sub(c.created)));
        b.push("BridgeId", c.bridge.as_deref().unwrap_or_default());
        replies.push(b.build());
    }
    let items = replies.len() - 1;
    replies.push(wire::list_complete("CoreShowChannelsComplete", id, items, &[]));
    Outcome { replies, ..Default::default() }
}

fn status(world: &mut World, now: SimTime, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let only = msg.get("Channel").filter(|c| !c.is_empty());
    let chans: Vec<_> = world
        .channels
        .values()
        .filter(|c| only.is_none_or(|o| o == c.view.name || o == c.view.uniqueid))
        .cloned()
        .collect();
    if only.is_some() && chans.is_empty() {
        return Outcome::one(wire::error(id, "No such channel"));
    }
    let mut replies = vec![wire::list_start(id, "Channel status will follow")];
    let wanted: Vec<String> =
        msg.get("Variables").map(|v| v.split(',').map(|s| s.trim().to_string()).collect()).unwrap_or_default();
    for c in &chans {
        let mut b = Message::builder().field("Event", "Status").field("Privilege", "Call");
        wire::push_channel(&mut b, ChannelPrefix::None, &c.view);
        b.push("Type", c.view.name.split('/').next().unwrap_or_default());
        b.push("DNID", "");
        b.push(
            "EffectiveConnectedLineNum",
            if c.view.connected_num.is_empty() { "<unknown>" } else { &c.view.connected_num },
        );
        b.push(
            "EffectiveConnectedLineName",
            if c.view.connected_name.is_empty() { "<unknown>" } else { &c.view.connected_name },
        );
        b.push("TimeToHangup", "0");
        b.push("BridgeID", c.bridge.as_deref().unwrap_or_default());
        b.push("Application", &c.application);
        b.push("Data", &c.application_data);
        b.push("Nativeformats", "(ulaw)");
        b.push("Readformat", "ulaw");
        b.push("Readtrans", "");
        b.push("Writeformat", "ulaw");
        b.push("Writetrans", "");
        b.push("Callgroup", "0");
        b.push("Pickupgroup", "0");
        b.push("Seconds", &now.saturating_sub(c.created).as_secs().to_string());
        for v in &wanted {
            b.push("Variable", &format!("{v}={}", c.vars.get(v).cloned().unwrap_or_default()));
        }
        if let Some(id) = id {
            b.push("ActionID", id);
        }
        replies.push(b.build());
    }
    let n = chans.len().to_string();
    replies.push(wire::list_complete("StatusComplete", id, chans.len(), &[("Items", &n)]));
    Outcome { replies, ..Default::default() }
}

fn originate(world: &mut World, now: SimTime, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let Some(channel) = msg.get("Channel").filter(|c| !c.is_empty()) else {
        return Outcome::one(wire::error(id, "Channel not specified"));
    };
    let asynchronous = truthy(msg.get("Async"));
    let endpoint = channel.strip_prefix("PJSIP/").map(|e| e.split('@').next().unwrap_or(e));
    let (exten, context) = (msg.get("Exten"), msg.get("Context"));
    if exten.is_some() && (context.is_none() || msg.get("Priority").is_none()) {
        return Outcome::one(wire::error(id, "Originate with 'Exten' requires 'Context' and 'Priority'"));
    }
    let target = exten.map(str::to_string).unwrap_or_else(|| msg.get("Data").unwrap_or_default().to_string());
    let result = match endpoint {
        Some(ep) => world.originate_to_number(now, ep, &target, context.unwrap_or("default"), msg.get("ChannelId")),
        None => Err(super::flows::SimError::UnknownEndpoint(channel.to_string())),
    };
    let ack_then_event = |world: &mut World, response: &str, chan_name: &str, reason: &str, uid: &str| {
        let mut b = wire::event("OriginateResponse", Class::Call);
        if let Some(id) = id {
            b.push("ActionID", id);
        }
        b.push("Response", response);
        b.push("Channel", chan_name);
        match (context, exten) {
            (Some(c), Some(e)) => {
                b.push("Context", c);
                b.push("Exten", e);
            }
            _ => {
                b.push("Application", msg.get("Application").unwrap_or_default());
                b.push("Data", msg.get("Data").unwrap_or_default());
            }
        }
        b.push("Reason", reason);
        b.push("Uniqueid", uid);
        b.push("CallerIDNum", "<unknown>");
        b.push("CallerIDName", "<unknown>");
        world.emit(Class::Call, b.build());
    };
    match result {
        Ok((_call, uid)) => {
            let name = world.view(&uid).map(|v| v.name).unwrap_or_else(|| channel.to_string());
            ack_then_event(world, "Success", &name, "4", &uid);
            Outcome::one(wire::success(id, "Originate successfully queued"))
        }
        Err(_) if asynchronous => {
            let uid = msg.get("ChannelId").unwrap_or("<unknown>").to_string();
            ack_then_event(world, "Failure", channel, "0", &uid);
            Outcome::one(wire::success(id, "Originate successfully queued"))
        }
        Err(_) => Outcome::one(wire::error(id, "Originate failed")),
    }
}

/// Finds the call a channel (name or Uniqueid) belongs to, and whether it is the agent side.
fn call_of_channel(world: &World, channel: &str) -> Option<(super::world::CallId, bool)> {
    let uid = world
        .channels
        .values()
        .find(|c| c.view.name == channel || c.view.uniqueid == channel)
        .map(|c| c.view.uniqueid.clone())?;
    world.calls.values().filter(|c| c.phase != Phase::Ended).find_map(|c| {
        if c.caller == uid {
            return Some((c.id, false));
        }
        match &c.phase {
            Phase::Ringing(leg) | Phase::Talking { leg, .. }
                if leg.dest == uid || leg.local_two.as_deref() == Some(uid.as_str()) =>
            {
                Some((c.id, true))
            }
            _ => None,
        }
    })
}

fn hangup(world: &mut World, now: SimTime, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let Some(channel) = msg.get("Channel") else {
        return Outcome::one(wire::error(id, "No channel specified"));
    };
    let Some((call, agent_side)) = call_of_channel(world, channel) else {
        return Outcome::one(wire::error(id, "No such channel"));
    };
    let kind = world.calls.get(&call).map(|c| c.kind);
    let phase = world.calls.get(&call).map(|c| c.phase.clone());
    let result = match (agent_side, phase) {
        (true, Some(Phase::Talking { .. })) => world.end_talk(now, call, kind != Some(CallKind::Outbound)),
        (true, Some(Phase::Ringing(_))) => world.ring_no_answer(now, call),
        _ => world.hangup_call(now, call),
    };
    match result {
        Ok(()) => Outcome::one(wire::success(id, "Channel Hungup")),
        Err(_) => Outcome::one(wire::error(id, "No such channel")),
    }
}

fn blind_transfer(world: &mut World, now: SimTime, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let (Some(channel), Some(exten)) = (msg.get("Channel"), msg.get("Exten")) else {
        return Outcome::one(wire::error(id, "No channel specified"));
    };
    let Some((call, _)) = call_of_channel(world, channel) else {
        return Outcome::one(wire::error(id, "Channel specified does not exist"));
    };
    let target = if world.queues.contains_key(exten) {
        TransferTarget::Queue(exten.to_string())
    } else if world.endpoints.contains_key(exten) {
        TransferTarget::Endpoint(exten.to_string())
    } else {
        return Outcome::one(wire::error(id, "Transfer failed"));
    };
    match world.transfer(now, call, &target) {
        Ok(()) => Outcome::one(wire::success(id, "Transfer succeeded")),
        Err(_) => Outcome::one(wire::error(id, "Transfer not permitted")),
    }
}

fn redirect(world: &mut World, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let channel = msg.get("Channel").unwrap_or_default();
    let (Some(context), Some(exten)) = (msg.get("Context"), msg.get("Exten")) else {
        return Outcome::one(wire::error(id, "Context and Exten are required"));
    };
    let Some(c) = world.channels.values_mut().find(|c| c.view.name == channel || c.view.uniqueid == channel) else {
        return Outcome::one(wire::error(id, &format!("Channel does not exist: {channel}")));
    };
    c.view.context = context.to_string();
    c.view.exten = exten.to_string();
    c.view.priority = msg.get("Priority").and_then(|p| p.parse().ok()).unwrap_or(1);
    Outcome::one(wire::success(id, "Redirect successful"))
}

fn getvar(world: &mut World, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let Some(var) = msg.get("Variable") else {
        return Outcome::one(wire::error(id, "No variable specified"));
    };
    let value = match msg.get("Channel").filter(|c| !c.is_empty()) {
        Some(channel) => {
            let Some(c) = world.channels.values().find(|c| c.view.name == channel || c.view.uniqueid == channel) else {
                return Outcome::one(wire::error(id, "No such channel"));
            };
            if var.eq_ignore_ascii_case("CHANNEL(state)") {
                c.view.state.desc().to_string()
            } else {
                c.vars.get(var).cloned().unwrap_or_default()
            }
        }
        None => world.globals.get(var).cloned().unwrap_or_default(),
    };
    Outcome::one(wire::response("Success", id, &[("Variable", var), ("Value", &value)]))
}

fn setvar(world: &mut World, msg: &Message) -> Outcome {
    let id = msg.action_id();
    let (Some(var), Some(value)) = (msg.get("Variable"), msg.get("Value")) else {
        return Outcome::one(wire::error(id, "No variable specified"));
    };
    match msg.get("Channel").filter(|c| !c.is_empty()) {
        Some(channel) => {
            let Some(c) = world.channels.values_mut().find(|c| c.view.name == channel || c.view.uniqueid == channel)
            else {
                return Outcome::one(wire::error(id, "No such channel"));
            };
            c.vars.insert(var.to_string(), value.to_string());
        }
        None => {
            world.globals.insert(var.to_string(), value.to_string());
        }
    }
    Outcome::one(wire::success(id, "Variable Set"))
}

fn pjsip_endpoints(world: &mut World, now: SimTime, id: Option<&str>) -> Outcome {
    if world.endpoints.is_empty() {
        return Outcome::one(wire::error(id, "No endpoints found"));
    }
    let mut replies = vec![wire::list_start(id, "A listing of Endpoints follows, presented as EndpointList events")];
    for ep in world.endpoints.values() {
        let device = format!("PJSIP/{}", ep.id);
        let active = world.channels.values().filter(|c| c.view.name.starts_with(&format!("{device}-"))).count();
        let mut b = Message::builder().field("Event", "EndpointList");
        if let Some(id) = id {
            b.push("ActionID", id);
        }
        b.push("ObjectType", "endpoint");
        b.push("ObjectName", &ep.id);
        b.push("Transport", "");
        b.push("Aor", &ep.id);
        b.push("Auths", &ep.id);
        b.push("OutboundAuths", "");
        b.push("Contacts", &if ep.registered { format!("{};@sim,", ep.id) } else { String::new() });
        b.push("DeviceState", world.device_state(&device).pjsip_text());
        b.push("ActiveChannels", &active.to_string());
        replies.push(b.build());
    }
    let _ = now;
    let items = replies.len() - 1;
    replies.push(wire::list_complete("EndpointListComplete", id, items, &[]));
    Outcome { replies, ..Default::default() }
}

fn pjsip_contacts(world: &mut World, now: SimTime, id: Option<&str>) -> Outcome {
    let registered: Vec<_> = world.endpoints.values().filter(|e| e.registered).cloned().collect();
    if registered.is_empty() {
        return Outcome::one(wire::error(id, "No Contacts found"));
    }
    let mut replies = vec![wire::list_start(id, "A listing of Contacts follows, presented as ContactList events")];
    let expires = (world.epoch(now) + 3600).to_string();
    for ep in &registered {
        let mut b = Message::builder().field("Event", "ContactList");
        if let Some(id) = id {
            b.push("ActionID", id);
        }
        let uri = format!("sip:{}@127.0.0.1:5070", ep.id);
        for (k, v) in [
            ("ObjectType", "contact"),
            ("ObjectName", &format!("{};@sim", ep.id)),
            ("ViaAddr", "127.0.0.1"),
            ("QualifyTimeout", "3.000000"),
            ("Qualify2xxOnly", "false"),
            ("CallId", "sim"),
            ("RegServer", ""),
            ("PruneOnBoot", "no"),
            ("Path", ""),
            ("Endpoint", &ep.id),
            ("ViaPort", "5070"),
            ("AuthenticateQualify", "no"),
            ("Uri", &uri),
            ("QualifyFrequency", "0"),
            ("UserAgent", "mayday-sim"),
            ("ExpirationTime", &expires),
            ("OutboundProxy", ""),
            ("Status", "NonQualified"),
            ("RoundtripUsec", "N/A"),
        ] {
            b.push(k, v);
        }
        replies.push(b.build());
    }
    let items = replies.len() - 1;
    replies.push(wire::list_complete("ContactListComplete", id, items, &[]));
    Outcome { replies, ..Default::default() }
}

fn device_state_list(world: &mut World, id: Option<&str>) -> Outcome {
    let mut replies = vec![wire::list_start(id, "Device State Changes will follow")];
    let mut devices: Vec<String> = world.endpoints.keys().map(|e| format!("PJSIP/{e}")).collect();
    for d in world.devices.keys() {
        if !devices.contains(d) {
            devices.push(d.clone());
        }
    }
    devices.sort();
    for d in devices {
        let state = world.device_state(&d);
        let mut b = Message::builder().field("Event", "DeviceStateChange");
        if let Some(id) = id {
            b.push("ActionID", id);
        }
        b.push("Device", &d);
        b.push("State", state.text());
        replies.push(b.build());
    }
    let items = replies.len() - 1;
    replies.push(wire::list_complete("DeviceStateListComplete", id, items, &[]));
    Outcome { replies, ..Default::default() }
}
