//! The typed layer on the real recordings (`testdata/asterisk-transcripts`): every event of
//! a kind Mayday decodes has the keys it relies on in real traffic (none falls back to a
//! raw message), and the values read are what the recording says.

use mayday_actors::ami::codec::{AmiCodec, Frame, Limits};
use mayday_actors::ami::{EventKind, Message, TypedEvent};
use tokio_util::codec::Decoder;

const RECORDINGS: &[&str] = &["actions", "pjsip", "md5-login", "login-failed", "login-events-off"];

fn events(name: &str) -> Vec<Message> {
    let path = format!("{}/testdata/asterisk-transcripts/{name}.raw", env!("CARGO_MANIFEST_DIR"));
    let mut buf = bytes::BytesMut::from(&std::fs::read(&path).expect("the recording is in the repository")[..]);
    let mut codec = AmiCodec::client(Limits::default());
    let mut out = Vec::new();
    while let Some(frame) = codec.decode_eof(&mut buf).expect("decodes") {
        if let Frame::Message(m) = frame {
            if m.event_name().is_some() {
                out.push(m);
            }
        }
    }
    out
}

/// Kinds Mayday names (for routing and counting) but reads no fields of.
const CLASSIFIED_ONLY: &[EventKind] = &[
    EventKind::BridgeMerge,
    EventKind::QueueStatusComplete,
    EventKind::QueueSummary,
    EventKind::Registry,
    EventKind::Reload,
    EventKind::Status,
    EventKind::Cel,
    EventKind::UserEvent,
    EventKind::ChanSpyStart,
    EventKind::ChanSpyStop,
    EventKind::MixMonitorStart,
    EventKind::MixMonitorStop,
    EventKind::Newexten,
    EventKind::VarSet,
    EventKind::Other,
];

#[test]
fn every_event_of_a_decoded_kind_decodes_from_real_traffic() {
    let mut decoded = 0;
    for name in RECORDINGS {
        for m in events(name) {
            let kind = EventKind::of(m.event_name().unwrap_or_default());
            if CLASSIFIED_ONLY.contains(&kind) {
                continue;
            }
            assert!(!matches!(TypedEvent::parse(&m), TypedEvent::Other(_)), "{name}: {kind:?} fell back to raw: {m:?}");
            decoded += 1;
        }
    }
    assert!(decoded > 100, "the recordings hold call-center events: {decoded}");
}

#[test]
fn a_real_queue_call_reads_as_the_recording_says() {
    let events = events("pjsip");
    let typed: Vec<TypedEvent<'_>> = events.iter().map(TypedEvent::parse).collect();
    let agent = |want: &str| -> Vec<_> {
        typed
            .iter()
            .filter_map(|e| match e {
                TypedEvent::AgentCalled(a) if want == "called" => Some(a.clone()),
                TypedEvent::AgentRingNoAnswer(a) if want == "noanswer" => Some(a.clone()),
                TypedEvent::AgentConnect(a) if want == "connect" => Some(a.clone()),
                TypedEvent::AgentComplete(a) if want == "complete" => Some(a.clone()),
                _ => None,
            })
            .collect()
    };
    let called: Vec<&str> = agent("called").iter().map(|a| a.interface).collect();
    assert_eq!(called, ["Local/1002@agents/n", "Local/1003@agents/n"]);
    let [no_answer] = &agent("noanswer")[..] else { panic!("one ring-out") };
    // RingTime is milliseconds here, seconds in AgentConnect (asterisk.md gotcha 9).
    assert_eq!((no_answer.member_name, no_answer.ring_time), (Some("Bob"), Some(5000)));
    assert_eq!(no_answer.member.as_ref().map(|m| m.channel), Some("Local/1002@agents-00000038;1"));
    let [connect] = &agent("connect")[..] else { panic!("one answer") };
    assert_eq!(
        (connect.interface, connect.hold_time_secs, connect.ring_time),
        ("Local/1003@agents/n", Some(7), Some(1))
    );
    assert_eq!(connect.caller.as_ref().map(|c| c.uniqueid), Some("1795529255.112"));
    let [complete] = &agent("complete")[..] else { panic!("one completion") };
    assert_eq!((complete.hold_time_secs, complete.talk_time_secs, complete.reason), (Some(7), Some(6), Some("agent")));

    let dial_ends: Vec<Option<&str>> = typed
        .iter()
        .filter_map(|e| match e {
            TypedEvent::DialEnd(d) => Some(d.dial_status),
            _ => None,
        })
        .collect();
    assert_eq!(dial_ends, [Some("NOANSWER"), Some("CANCEL"), Some("ANSWER")], "a rung-out member leg ends twice");

    let members: Vec<(&str, &str, &str, &str)> = typed
        .iter()
        .filter_map(|e| match e {
            TypedEvent::QueueMember(m) => Some((m.member_name, m.interface, m.state_interface, m.membership)),
            _ => None,
        })
        .collect();
    assert_eq!(
        members,
        [
            ("Alice", "Local/1001@agents/n", "Local/1001@agents", "static"),
            ("Bob", "Local/1002@agents/n", "Local/1002@agents", "static"),
            ("Carol", "Local/1003@agents/n", "Local/1003@agents", "static"),
        ],
        "QueueStatus items say Name/Location (gotcha 10)"
    );
    let entry = typed.iter().find_map(|e| match e {
        TypedEvent::QueueEntry(q) => Some(q.clone()),
        _ => None,
    });
    let entry = entry.expect("the waiting caller");
    assert_eq!((entry.queue, entry.position, entry.uniqueid, entry.wait_secs), ("support", 1, "1795529255.112", 3));
    let params = typed.iter().find_map(|e| match e {
        TypedEvent::QueueParams(p) => Some(p.clone()),
        _ => None,
    });
    let params = params.expect("the queue's parameters");
    assert_eq!((params.strategy, params.calls, params.completed, params.abandoned), ("rrmemory", 1, 16, 8));
    let channels: Vec<(&str, &str)> = typed
        .iter()
        .filter_map(|e| match e {
            TypedEvent::CoreShowChannel(c) => Some((c.channel.channel, c.application)),
            _ => None,
        })
        .collect();
    assert_eq!(channels.len(), 3, "{channels:?}");
    assert!(channels.contains(&("PJSIP/2001-00000000", "Queue")), "{channels:?}");
    let hangups: Vec<(&str, Option<u16>)> = typed
        .iter()
        .filter_map(|e| match e {
            TypedEvent::Hangup(h) => Some((h.channel.channel, h.cause)),
            _ => None,
        })
        .collect();
    assert_eq!(hangups.len(), 5, "{hangups:?}");
    assert!(hangups.iter().all(|(_, cause)| cause.is_some()), "{hangups:?}");
}

#[test]
fn member_changes_and_an_originate_read_as_the_recording_says() {
    let events = events("actions");
    let typed: Vec<TypedEvent<'_>> = events.iter().map(TypedEvent::parse).collect();
    let pauses: Vec<(bool, &str)> = typed
        .iter()
        .filter_map(|e| match e {
            TypedEvent::QueueMemberPause(m) => Some((m.paused, m.paused_reason)),
            _ => None,
        })
        .collect();
    assert_eq!(pauses, [(true, "break"), (false, "")]);
    let added = typed.iter().find_map(|e| match e {
        TypedEvent::QueueMemberAdded(m) => Some(m.clone()),
        _ => None,
    });
    let added = added.expect("QueueMemberAdded");
    assert_eq!(
        (added.member_name, added.interface, added.membership, added.penalty, added.ringinuse),
        ("Eve", "Local/1005@agents/n", "dynamic", 1, Some(false))
    );
    let penalty = typed.iter().find_map(|e| match e {
        TypedEvent::QueueMemberPenalty(m) => Some(m.penalty),
        _ => None,
    });
    assert_eq!(penalty, Some(2));
    let originate = typed.iter().find_map(|e| match e {
        TypedEvent::OriginateResponse(o) => Some(o.clone()),
        _ => None,
    });
    let originate = originate.expect("OriginateResponse");
    // Reason 4: answered (asterisk.md: the reason codes of OriginateResponse).
    assert_eq!(
        (originate.action_id, originate.success, originate.channel, originate.reason),
        (Some("actions-20"), true, "Local/hold@park-00000000;1", 4)
    );
}
