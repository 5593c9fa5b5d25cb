//! The simulated PBX against the real recordings (`testdata/asterisk-transcripts`): same
//! answers, keys, list shapes and per-call event order as Asterisk 22.10.1.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use bytes::BytesMut;
use mayday_actors::ami::codec::{AmiCodec, Frame, Limits};
use mayday_actors::ami::Message;
use tokio_util::codec::Decoder;

use crate::helpers::{keys, recording_directory, start_sim, RawClient};

fn transcript(name: &str) -> Vec<Message> {
    let path = format!("{}/testdata/asterisk-transcripts/{name}.raw", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&path).expect("transcript");
    let mut codec = AmiCodec::client(Limits::default());
    let mut buf = BytesMut::from(&raw[..]);
    let mut out = Vec::new();
    while let Some(f) = codec.decode_eof(&mut buf).expect("decode") {
        if let Frame::Message(m) = f {
            out.push(m);
        }
    }
    out
}

/// The actions of a `.sent` file, in order.
fn sent_actions(name: &str) -> Vec<Vec<(String, String)>> {
    let path = format!("{}/testdata/asterisk-transcripts/{name}.sent", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).expect("sent file").replace("\r\n", "\n");
    text.split("\n\n")
        .map(|block| {
            block
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .filter_map(|l| l.split_once(": ").map(|(k, v)| (k.to_string(), v.to_string())))
                .collect::<Vec<_>>()
        })
        .filter(|a| !a.is_empty())
        .collect()
}

/// Everything the transcript answered to one ActionID: the response and its list events.
fn answer_of<'a>(messages: &'a [Message], id: &str) -> Vec<&'a Message> {
    messages
        .iter()
        .filter(|m| {
            m.action_id() == Some(id) && (m.response().is_some() || m.get("EventList").is_some() || is_list_item(m))
        })
        .collect()
}

fn is_list_item(m: &Message) -> bool {
    m.get("Privilege").is_none() || m.event_name() == Some("Status")
}

/// Key lists seen per event name (several shapes can be legitimate).
fn shapes(messages: &[Message]) -> HashMap<String, Vec<Vec<String>>> {
    let mut out: HashMap<String, Vec<Vec<String>>> = HashMap::new();
    for m in messages {
        if let Some(name) = m.event_name() {
            let k = keys(m);
            let entry = out.entry(name.to_string()).or_default();
            if !entry.contains(&k) {
                entry.push(k);
            }
        }
    }
    out
}

#[actix_rt::test]
async fn replaying_the_recorded_actions_gives_the_recorded_answers() {
    let recorded = transcript("actions");
    let sim = start_sim(recording_directory()).await;
    let mut client = RawClient::connect(&sim).await;
    assert_eq!(client.banner, "Asterisk Call Manager/11.0.0");
    client.login("on").await;
    // Actions on the recording rig's Local/hold@park channel are not modelled by the sim.
    let skipped = ["Login", "Originate", "Status", "Getvar", "Hangup"];
    let mut compared = 0;
    let mut broadcast = Vec::new();
    for action in sent_actions("actions") {
        let name = action.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.clone()).expect("Action header");
        if skipped.contains(&name.as_str()) {
            continue;
        }
        let recorded_id = action.iter().find(|(k, _)| k == "ActionID").map(|(_, v)| v.clone()).expect("ActionID");
        if recorded_id == "actions-21" {
            // Listed the originated Local/hold@park halves, which the sim does not create.
            continue;
        }
        let pairs: Vec<(&str, &str)> =
            action.iter().filter(|(k, _)| k != "ActionID").map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let expected = answer_of(&recorded, &recorded_id);
        assert!(!expected.is_empty(), "the recording answered {recorded_id}");
        let got = client.action(&pairs).await;
        let (want, have) = (expected[0], &got[0]);
        assert_eq!(have.response(), want.response(), "{name} ({recorded_id}) response");
        if name != "Command" {
            assert_eq!(have.message_text(), want.message_text(), "{name} ({recorded_id}) message");
        }
        assert_eq!(keys(have), keys(want), "{name} ({recorded_id}) response keys");
        // List answers: same item kinds with the same keys, same counts, same closing event.
        let item_names = |ms: &mut dyn Iterator<Item = &Message>| -> Vec<String> {
            let mut v: Vec<String> = ms.filter_map(|m| m.event_name().map(str::to_string)).collect();
            v.sort();
            v
        };
        assert_eq!(
            item_names(&mut got.iter().skip(1)),
            item_names(&mut expected.iter().skip(1).copied()),
            "{name} ({recorded_id}) list items"
        );
        for item in got.iter().skip(1) {
            let twin = expected.iter().skip(1).find(|m| m.event_name() == item.event_name()).expect("same item kind");
            assert_eq!(keys(item), keys(twin), "{name} ({recorded_id}) {:?} keys", item.event_name());
        }
        compared += 1;
        broadcast.extend(client.drain(Duration::from_millis(30)).await);
    }
    assert!(compared >= 20, "compared {compared} actions");
    // Events the actions caused carry the recorded keys.
    let recorded_shapes = shapes(&recorded);
    let mut checked = BTreeSet::new();
    for m in &broadcast {
        let Some(name) = m.event_name() else { continue };
        if let Some(options) = recorded_shapes.get(name) {
            assert!(options.contains(&keys(m)), "{name} keys {:?} not among recorded {:?}", keys(m), options);
            checked.insert(name.to_string());
        }
    }
    for name in [
        "QueueMemberAdded",
        "QueueMemberPause",
        "QueueMemberPenalty",
        "QueueMemberRemoved",
        "DeviceStateChange",
        "UserEvent",
    ] {
        assert!(checked.contains(name), "{name} was compared");
    }
}

#[actix_rt::test]
async fn a_queue_call_has_the_recorded_keys_and_event_order() {
    let recorded = transcript("pjsip");
    let sim = start_sim(recording_directory()).await;
    let mut client = RawClient::connect(&sim).await;
    client.login("on").await;
    let call = sim.place_call("support", "5550777").await.expect("call placed");
    sim.ring(call, Some("Local/1002@agents/n")).await.expect("ring Bob");
    sim.ring_no_answer(call).await.expect("Bob does not answer");
    sim.ring(call, Some("Local/1003@agents/n")).await.expect("ring Carol");
    sim.answer(call).await.expect("Carol answers");
    sim.agent_hangup(call).await.expect("Carol hangs up");
    let got = client.drain(Duration::from_millis(100)).await;

    // Keys: every event the sim wrote has a shape the recording has.
    let recorded_shapes = shapes(&recorded);
    let mut compared = BTreeSet::new();
    for m in &got {
        let name = m.event_name().expect("only events");
        if let Some(options) = recorded_shapes.get(name) {
            assert!(options.contains(&keys(m)), "{name} keys {:?} not among recorded {:?}", keys(m), options);
            compared.insert(name);
        }
    }
    for name in [
        "Newchannel",
        "Newstate",
        "QueueCallerJoin",
        "QueueCallerLeave",
        "AgentCalled",
        "AgentRingNoAnswer",
        "AgentConnect",
        "AgentComplete",
        "DialBegin",
        "DialEnd",
        "LocalBridge",
        "BridgeCreate",
        "BridgeEnter",
        "BridgeLeave",
        "BridgeDestroy",
        "Hangup",
        "QueueMemberStatus",
        "DeviceStateChange",
        "MusicOnHoldStart",
        "MusicOnHoldStop",
        "Cdr",
    ] {
        assert!(compared.contains(name), "{name} compared with the recording");
    }

    // Order: the queue and bridge events of the call, as recorded.
    let projection = [
        "QueueCallerJoin",
        "AgentCalled",
        "AgentRingNoAnswer",
        "QueueCallerLeave",
        "AgentConnect",
        "AgentComplete",
        "BridgeCreate",
        "BridgeEnter",
        "BridgeLeave",
        "BridgeDestroy",
    ];
    let project = |ms: &[Message]| -> Vec<String> {
        ms.iter().filter_map(|m| m.event_name()).filter(|n| projection.contains(n)).map(str::to_string).collect()
    };
    assert_eq!(project(&got), project(&recorded));
    // The member legs' dial events: whole interface dialed, NOANSWER then CANCEL for Bob.
    let dials = |ms: &[Message]| -> Vec<String> {
        ms.iter()
            .filter_map(|m| match m.event_name()? {
                "DialBegin" => Some(format!("DialBegin {}", m.get("DialString").unwrap_or_default())),
                "DialEnd" => Some(format!("DialEnd {}", m.get("DialStatus").unwrap_or_default())),
                _ => None,
            })
            .collect()
    };
    assert_eq!(dials(&got), dials(&recorded));
    // A Local member's StateInterface (Local/...) does not ring: no Ringing status.
    let ringing_status =
        got.iter().filter(|m| m.event_name() == Some("QueueMemberStatus") && m.get("Status") == Some("6")).count();
    assert_eq!(ringing_status, 0, "Local members stay Not in use while they ring");

    // One call: every channel event carries the caller's Linkedid.
    let linked: BTreeSet<&str> = got.iter().filter_map(|m| m.get("Linkedid")).collect();
    assert_eq!(linked.len(), 1, "one Linkedid for the whole call: {linked:?}");
    let hangups = got.iter().filter(|m| m.event_name() == Some("Hangup")).count();
    let channels = got.iter().filter(|m| m.event_name() == Some("Newchannel")).count();
    assert_eq!(hangups, channels, "every channel created was hung up");
}

#[actix_rt::test]
async fn list_answers_have_the_recorded_shapes() {
    let recorded = transcript("pjsip");
    let shapes = shapes(&recorded);
    let sim = start_sim(recording_directory()).await;
    let mut client = RawClient::connect(&sim).await;
    client.login("off").await;
    sim.place_call("support", "5550777").await.expect("a waiting caller");

    let endpoints = client.action(&[("Action", "PJSIPShowEndpoints")]).await;
    assert_eq!(endpoints[0].message_text(), Some("A listing of Endpoints follows, presented as EndpointList events"));
    assert!(shapes["EndpointList"].contains(&keys(&endpoints[1])));
    assert!(shapes["EndpointListComplete"].contains(&keys(endpoints.last().expect("complete"))));

    let contacts = client.action(&[("Action", "PJSIPShowContacts")]).await;
    let as_set = |k: Vec<String>| k.into_iter().collect::<BTreeSet<_>>();
    // ContactList keys come from a JSON object: compare as a set.
    assert_eq!(as_set(keys(&contacts[1])), as_set(shapes["ContactList"][0].clone()));

    let status = client.action(&[("Action", "QueueStatus"), ("Queue", "support")]).await;
    for m in &status[1..] {
        let name = m.event_name().expect("list item");
        assert!(shapes[name].contains(&keys(m)), "{name}: {:?}", keys(m));
    }
    assert!(status.iter().any(|m| m.event_name() == Some("QueueEntry")), "the waiting caller is listed");
    assert_eq!(status.last().and_then(|m| m.get("ListItems")), Some((status.len() - 2).to_string().as_str()));

    let chans = client.action(&[("Action", "CoreShowChannels")]).await;
    assert!(shapes["CoreShowChannel"].contains(&keys(&chans[1])), "{:?}", keys(&chans[1]));
}

#[actix_rt::test]
async fn md5_login_and_refused_login_behave_like_asterisk() {
    let sim = start_sim(recording_directory()).await;
    let mut client = RawClient::connect(&sim).await;
    let challenge = client.action(&[("Action", "Challenge"), ("AuthType", "MD5")]).await;
    let c = challenge[0].get("Challenge").expect("a challenge").to_string();
    let key = mayday_actors::ami::action::md5_key(&c, crate::helpers::SECRET);
    let ok = client
        .action(&[
            ("Action", "Login"),
            ("AuthType", "MD5"),
            ("Username", crate::helpers::USER),
            ("Key", &key),
            ("Events", "off"),
        ])
        .await;
    assert_eq!(ok[0].message_text(), Some("Authentication accepted"));

    let mut bad = RawClient::connect(&sim).await;
    let denied = bad.action(&[("Action", "Ping")]).await;
    assert_eq!(denied[0].message_text(), Some("Permission denied"), "nothing but Login before login");
    let refused = bad.action(&[("Action", "Login"), ("Username", "mayday"), ("Secret", "wrong")]).await;
    let recorded = transcript("login-failed");
    assert_eq!(keys(&refused[0]), keys(&recorded[0]));
    assert_eq!(refused[0].message_text(), recorded[0].message_text());
    assert!(bad.recv().await.is_none(), "the PBX closes the session after a refused login");
}
