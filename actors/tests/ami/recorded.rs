//! Real Asterisk traffic through the whole live path. A small AMI server replays the
//! recording `pjsip.raw` (a SIP caller into queue `support`: Bob rings out, Carol answers,
//! talks, hangs up) to Mayday's link as if Mayday were connected to that Asterisk: from
//! before the call, and from the middle of it (answering the resync with what Asterisk
//! answered the recorder at that moment). What Mayday ends up believing must be what the
//! recording shows happened.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::StreamExt;
use mayday_actors::ami::codec::{AmiCodec, Frame, Limits};
use mayday_actors::ami::{AuthMode, Message, PbxId};
use mayday_actors::live::agent::state::{AgentSnapshot, AgentStatus};
use mayday_actors::live::registry::Registry;
use mayday_actors::live::spec::{AgentSpec, LiveSpec, PbxSpec, TenantSpec};
use mayday_actors::live::supervisor::{Apply, LiveSupervisor};
use mayday_actors::live::tenant::actor::{GetAgents, GetCalls, GetQueues, LiveTimings, Settle};
use mayday_actors::live::{AgentId, MemoryStore, TenantId};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_util::codec::FramedRead;

use crate::helpers::{link_config_on, SECRET};

/// One recorded message: its exact bytes (blank line included) and its fields.
struct Recorded {
    bytes: Vec<u8>,
    message: Message,
}

fn recording(name: &str) -> Vec<Recorded> {
    let path = format!("{}/testdata/asterisk-transcripts/{name}.raw", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&path).expect("the recording is in the repository");
    let body_start = raw.windows(2).position(|w| w == b"\r\n").expect("a banner line") + 2;
    let mut out = Vec::new();
    let mut rest = &raw[body_start..];
    while let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
        let (bytes, tail) = rest.split_at(end + 4);
        let text = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let pairs =
            text.split("\r\n").filter_map(|l| l.split_once(": ").or_else(|| l.strip_suffix(':').map(|k| (k, ""))));
        out.push(Recorded { bytes: bytes.to_vec(), message: Message::from_pairs(pairs) });
        rest = tail;
    }
    out
}

/// The answer the recorder got for `action_id`: the response and its list events.
fn answer_to<'a>(recorded: &'a [Recorded], action_id: &str) -> Vec<&'a Recorded> {
    recorded.iter().filter(|r| r.message.action_id() == Some(action_id)).collect()
}

/// Index just past the last message answering `action_id`.
fn after_answer(recorded: &[Recorded], action_id: &str) -> usize {
    recorded.iter().rposition(|r| r.message.action_id() == Some(action_id)).expect("the answer is recorded") + 1
}

fn with_action_id(bytes: &[u8], recorded_id: &str, id: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    text.replace(&format!("ActionID: {recorded_id}\r\n"), &format!("ActionID: {id}\r\n")).into_bytes()
}

/// What the recorder got for `recorded_id`, with the ActionID Mayday gave.
fn recorded_answer(recorded: Arc<Vec<Recorded>>, recorded_id: &'static str) -> AnswerFor {
    Box::new(move |id: &str| {
        answer_to(&recorded, recorded_id).iter().flat_map(|r| with_action_id(&r.bytes, recorded_id, id)).collect()
    })
}

/// A list answer built from its response, items and Complete event.
fn list(id: &str, message: &str, items: &[String], complete: &str) -> Vec<u8> {
    let mut out = format!("Response: Success\r\nActionID: {id}\r\nEventList: start\r\nMessage: {message}\r\n\r\n");
    for item in items {
        out.push_str(item);
    }
    out.push_str(&format!(
        "Event: {complete}\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: {}\r\n\r\n",
        items.len()
    ));
    out.into_bytes()
}

/// An action's answer for the ActionID Mayday gave it.
type AnswerFor = Box<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

/// What Asterisk knew at the cut, as answers to Mayday's resync actions.
struct Answers {
    queue_status: AnswerFor,
    core_show_channels: AnswerFor,
    /// `DeviceStateChange` items: each device's last state before the cut.
    devices: Vec<String>,
}

/// Serves one Asterisk session: login, boot, the resync answers, then the recorded events
/// after the cut (answers to the recorder's own actions left out: Mayday never asked them).
async fn replay(listener: TcpListener, answers: Answers, events: Vec<u8>) {
    let (socket, _) = listener.accept().await.expect("Mayday connects");
    let (read, mut write) = socket.into_split();
    let mut actions = FramedRead::new(read, AmiCodec::server(Limits::default()));
    write.write_all(b"Asterisk Call Manager/11.0.0\r\n").await.expect("banner");
    let mut events = Some(events);
    while let Some(Ok(Frame::Message(action))) = actions.next().await {
        let id = action.action_id().unwrap_or_default().to_string();
        let name = action.action_name().unwrap_or_default().to_ascii_lowercase();
        let answer = match name.as_str() {
            "login" => format!(
                "Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\n\
                 Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 100\r\nLastReload: 100\r\nStatus: Fully Booted\r\n\r\n"
            )
            .into_bytes(),
            "corestatus" => format!(
                "Response: Success\r\nActionID: {id}\r\nCoreStartupDate: 2026-11-24\r\nCoreStartupTime: 14:05:50\r\n\
                 CoreReloadDate: 2026-11-24\r\nCoreReloadTime: 14:05:50\r\nCoreCurrentCalls: 0\r\nCoreProcessedCalls: 0\r\n\r\n"
            )
            .into_bytes(),
            "ping" => format!("Response: Success\r\nActionID: {id}\r\nPing: Pong\r\nTimestamp: 1795529155.985481\r\n\r\n").into_bytes(),
            "queuestatus" => (answers.queue_status)(&id),
            "coreshowchannels" => (answers.core_show_channels)(&id),
            "devicestatelist" => list(&id, "Device State Changes will follow", &answers.devices, "DeviceStateListComplete"),
            _ => format!(
                "Response: Error\r\nActionID: {id}\r\nMessage: Invalid/unknown command: {name}. Use Action: ListCommands to show available commands.\r\n\r\n"
            )
            .into_bytes(),
        };
        write.write_all(&answer).await.expect("answer");
        // The resync ends with DeviceStateList: from then on Asterisk's events flow, in
        // reads of a few KiB as a socket delivers them.
        if name == "devicestatelist" {
            if let Some(events) = events.take() {
                for chunk in events.chunks(1500) {
                    write.write_all(chunk).await.expect("events");
                }
            }
        }
    }
}

/// Each device's last `DeviceStateChange` in `recorded`, as list items.
fn device_states(recorded: &[Recorded]) -> Vec<String> {
    let mut last: Vec<(String, String)> = Vec::new();
    for r in recorded.iter().filter(|r| r.message.event_name() == Some("DeviceStateChange")) {
        let (Some(device), Some(state)) = (r.message.get("Device"), r.message.get("State")) else { continue };
        match last.iter_mut().find(|(d, _)| d == device) {
            Some(entry) => entry.1 = state.to_string(),
            None => last.push((device.to_string(), state.to_string())),
        }
    }
    last.into_iter().map(|(d, s)| format!("Event: DeviceStateChange\r\nDevice: {d}\r\nState: {s}\r\n\r\n")).collect()
}

/// The events after `cut` that Asterisk sent everyone (answers to actions left out).
fn events_after(recorded: &[Recorded], cut: usize) -> (Vec<u8>, usize) {
    let events: Vec<&Recorded> = recorded[cut..]
        .iter()
        .filter(|r| r.message.event_name().is_some() && r.message.action_id().is_none())
        .collect();
    (events.iter().flat_map(|r| r.bytes.iter().copied()).collect(), events.len())
}

struct Replayed {
    agents: Vec<AgentSnapshot>,
    queues: Vec<mayday_actors::live::queue::state::QueueSnapshot>,
    calls: usize,
}

impl Replayed {
    fn agent(&self, name: &str) -> &AgentSnapshot {
        self.agents.iter().find(|a| a.name == name).expect("the agent is known")
    }
}

/// The recordings' agents: 1001 Alice, 1002 Bob, 1003 Carol (members of `support`) and
/// 1005 Eve (added and removed by the `actions` recording).
const AGENTS: &[(u64, &str)] = &[(1001, "Alice"), (1002, "Bob"), (1003, "Carol"), (1005, "Eve")];

/// Mayday (one tenant alone on the PBX, with [`AGENTS`]) connected to the replaying
/// server; returns what it believes once every event was applied.
async fn run(answers: Answers, events: Vec<u8>, event_count: usize) -> Replayed {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(replay(listener, answers, events));

    let registry = Arc::new(Registry::default());
    let timings = LiveTimings { queue_refresh: Duration::ZERO, ..LiveTimings::default() };
    let supervisor = LiveSupervisor::new(registry.clone(), Arc::new(MemoryStore::default()), timings, 0).start();
    let mut tenant = TenantSpec::new(TenantId(1), "lacueva", "", Some(PbxId(1)));
    tenant.agents = AGENTS
        .iter()
        .map(|&(ext, name)| AgentSpec {
            id: AgentId(ext),
            extension: ext.to_string(),
            name: name.into(),
            pause: None,
            today: None,
        })
        .collect();
    let ami = link_config_on(port, AuthMode::Plain, SECRET);
    supervisor
        .send(Apply(LiveSpec { pbxes: vec![PbxSpec { id: PbxId(1), ami }], tenants: vec![Arc::new(tenant)] }))
        .await
        .expect("applied");
    let t = registry.tenant(TenantId(1)).expect("tenant");
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.metrics.events.load(Ordering::Relaxed) < event_count as u64 {
        assert!(
            Instant::now() < deadline,
            "Mayday got {} of {event_count} events",
            t.metrics.events.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    t.addr.send(Settle).await.expect("settled");
    let replayed = Replayed {
        agents: t.addr.send(GetAgents).await.expect("agents").iter().map(|a| (**a).clone()).collect(),
        queues: t.addr.send(GetQueues).await.expect("queues").iter().map(|q| (**q).clone()).collect(),
        calls: t.addr.send(GetCalls).await.expect("calls").len(),
    };
    server.abort();
    replayed
}

/// What the pjsip recording shows at its end: one caller into `support`, answered by Carol
/// after a 7 s wait, 6 s of talk, every channel gone.
fn the_recorded_call_is_over(live: &Replayed) {
    assert_eq!(live.calls, 0, "every channel hung up");
    let support = live.queues.iter().find(|q| q.asterisk_name == "support").expect("queue support");
    let c = &support.counters;
    assert_eq!((c.offered, c.answered, c.abandoned, c.timed_out), (1, 1, 0, 0), "{c:?}");
    // AgentConnect: HoldTime 7 (within the default 20 s); AgentComplete: TalkTime 6.
    assert_eq!((c.answered_within_sl, c.wait_answered_secs, c.handled, c.talk_secs), (1, 7, 1, 6), "{c:?}");
    assert!(support.waiting.is_empty());
    let carol = live.agent("Carol");
    assert_eq!((carol.today.calls, carol.today.queue_calls, carol.today.talk_secs), (1, 1, 6), "{carol:?}");
}

#[actix_rt::test]
async fn mayday_connected_before_the_call_sees_it_ring_out_answered_and_ended() {
    let recorded = recording("pjsip");
    // The cut: after the recorder's last action before the call (PJSIPShowEndpoint).
    let cut = after_answer(&recorded, "pjsip-4");
    assert!(recorded[..cut].iter().all(|r| r.message.event_name() != Some("Newchannel")), "no call before the cut");
    // QueueStatus before the call: the members as the recorder later saw them, nobody
    // waiting, no call counted yet.
    let members: Vec<Vec<u8>> = answer_to(&recorded, "pjsip-6")
        .into_iter()
        .filter(|r| matches!(r.message.event_name(), Some("QueueParams" | "QueueMember")))
        .map(|r| r.bytes.clone())
        .collect();
    let queue_status = move |id: &str| {
        let items: Vec<String> = members
            .iter()
            .map(|b| String::from_utf8_lossy(&with_action_id(b, "pjsip-6", id)).replace("Calls: 1\r\n", "Calls: 0\r\n"))
            .collect();
        list(id, "Queue status will follow", &items, "QueueStatusComplete")
    };
    let answers = Answers {
        queue_status: Box::new(queue_status),
        core_show_channels: Box::new(|id| list(id, "Channels will follow", &[], "CoreShowChannelsComplete")),
        devices: device_states(&recorded[..cut]),
    };
    let (events, count) = events_after(&recorded, cut);
    let live = run(answers, events, count).await;

    the_recorded_call_is_over(&live);
    assert_eq!(live.queues.iter().find(|q| q.asterisk_name == "support").map(|q| q.members.len()), Some(3));
    let carol = live.agent("Carol");
    // The queue's wrapuptime (2 s) is not on AMI and the member has none of its own.
    assert_eq!((carol.status, carol.call.is_none()), (AgentStatus::Available, true), "{carol:?}");
    let bob = live.agent("Bob");
    assert_eq!((bob.today.calls, bob.today.missed), (0, 1), "Bob rang out: {bob:?}");
    assert_eq!(bob.status, AgentStatus::Available, "{bob:?}");
    let alice = live.agent("Alice");
    assert_eq!((alice.today.calls, alice.today.missed, alice.status), (0, 0, AgentStatus::Available), "{alice:?}");
}

#[actix_rt::test]
async fn mayday_connecting_mid_call_picks_the_waiting_caller_up_and_follows_it_to_the_end() {
    let recorded = Arc::new(recording("pjsip"));
    // The recorder asked CoreShowChannels and QueueStatus while Bob's phone rang: Mayday
    // connects right then, and Asterisk answers its resync with what it answered the recorder.
    let cut = after_answer(&recorded, "pjsip-6");
    let answers = Answers {
        queue_status: recorded_answer(recorded.clone(), "pjsip-6"),
        core_show_channels: recorded_answer(recorded.clone(), "pjsip-5"),
        devices: device_states(&recorded[..cut]),
    };
    let (events, count) = events_after(&recorded, cut);
    let live = run(answers, events, count).await;

    the_recorded_call_is_over(&live);
    let bob = live.agent("Bob");
    assert_eq!(
        (bob.today.calls, bob.today.missed, bob.status),
        (0, 1, AgentStatus::Available),
        "Bob rang out: {bob:?}"
    );
}

#[actix_rt::test]
async fn a_member_added_paused_penalised_and_removed_over_ami_ends_where_asterisk_left_it() {
    let recorded = Arc::new(recording("actions"));
    // Mayday connects right after the recorder's first QueueStatus (nobody waiting, no
    // channels yet); then the recorder adds Eve, pauses and unpauses her, changes her
    // penalty, removes her, and originates a Local channel that is hung up.
    let cut = after_answer(&recorded, "actions-7");
    assert!(recorded[..cut].iter().all(|r| r.message.event_name() != Some("Newchannel")), "no channel before the cut");
    let answers = Answers {
        queue_status: recorded_answer(recorded.clone(), "actions-7"),
        core_show_channels: Box::new(|id| list(id, "Channels will follow", &[], "CoreShowChannelsComplete")),
        devices: device_states(&recorded[..cut]),
    };
    let (events, count) = events_after(&recorded, cut);
    let live = run(answers, events, count).await;

    assert_eq!(live.calls, 0, "the originated Local channel was hung up");
    let support = live.queues.iter().find(|q| q.asterisk_name == "support").expect("queue support");
    let mut members: Vec<&str> = support.members.iter().map(|m| m.interface.as_str()).collect();
    members.sort();
    assert_eq!(members, ["Local/1001@agents/n", "Local/1002@agents/n", "Local/1003@agents/n"], "Eve was removed");
    let eve = live.agent("Eve");
    assert!(eve.queues.is_empty(), "{eve:?}");
    assert_ne!(eve.status, AgentStatus::Paused, "unpaused before she left: {eve:?}");
    for name in ["Alice", "Bob", "Carol"] {
        let a = live.agent(name);
        assert_eq!((a.status, a.queues.as_slice()), (AgentStatus::Available, &["support".to_string()][..]), "{a:?}");
    }
}
