//! The simulated PBX's scripted calls, faults and ground truth.

use std::sync::Arc;
use std::time::Duration;

use mayday_actors::sim::{self, Fault, SimConfig, Traffic, TransferTarget};

use crate::helpers::{eventually, pjsip_directory, start_sim, RawClient};

#[actix_rt::test]
async fn scripted_calls_keep_an_exact_ground_truth() {
    let sim = start_sim(pjsip_directory(3)).await;
    let answered = sim.place_call("sales", "0701000001").await.expect("call 1");
    let abandoned = sim.place_call("sales", "0701000002").await.expect("call 2");
    let timed_out = sim.place_call("sales", "0701000003").await.expect("call 3");
    let waiting = sim.place_call("sales", "0701000004").await.expect("call 4");
    sim.answer(answered).await.expect("answer");
    sim.abandon(abandoned).await.expect("abandon");
    sim.timeout(timed_out).await.expect("timeout");
    let truth = sim.truth().await.expect("truth");
    let sales = &truth.queues["sales"];
    assert_eq!(sales.counters.offered, 4);
    assert_eq!(sales.counters.answered, 1);
    assert_eq!(sales.counters.abandoned, 1);
    assert_eq!(sales.counters.timed_out, 1);
    assert_eq!(sales.waiting.len(), 1);
    let states: Vec<&str> = truth.calls.iter().map(|c| c.state.as_str()).collect();
    assert_eq!(states, vec!["talking", "after_queue", "waiting"]);
    sim.agent_hangup(answered).await.expect("hang up");
    sim.caller_hangup(timed_out).await.expect("timed-out caller hangs up");
    sim.abandon(waiting).await.expect("last caller gives up");
    let truth = sim.truth().await.expect("truth");
    assert!(truth.calls.is_empty());
    let c = &truth.queues["sales"].counters;
    assert_eq!((c.handled, c.abandoned, c.timed_out), (1, 2, 1), "a timeout is never an abandon");
    let busy: u64 = truth.queues["sales"].members.iter().map(|m| m.calls_taken).sum();
    assert_eq!(busy, 1);
}

#[actix_rt::test]
async fn a_true_abandon_hangs_up_before_queue_caller_abandon_and_a_timeout_does_not() {
    let sim = start_sim(pjsip_directory(1)).await;
    let mut client = RawClient::connect(&sim).await;
    client.login("call,agent").await;
    let a = sim.place_call("sales", "1").await.expect("call");
    sim.abandon(a).await.expect("abandon");
    let events = client.drain(Duration::from_millis(50)).await;
    let names: Vec<&str> = events.iter().filter_map(|m| m.event_name()).collect();
    let req = names.iter().position(|n| *n == "HangupRequest").expect("hangup request");
    let ab = names.iter().position(|n| *n == "QueueCallerAbandon").expect("abandon event");
    let leave = names.iter().position(|n| *n == "QueueCallerLeave").expect("leave event");
    assert!(req < ab && ab < leave, "{names:?}");

    let t = sim.place_call("sales", "2").await.expect("call");
    sim.timeout(t).await.expect("timeout");
    let events = client.drain(Duration::from_millis(50)).await;
    let names: Vec<&str> = events.iter().filter_map(|m| m.event_name()).collect();
    assert!(names.contains(&"QueueCallerAbandon"));
    assert!(!names.contains(&"HangupRequest") && !names.contains(&"Hangup"), "{names:?}");
}

#[actix_rt::test]
async fn pause_actions_change_the_truth_and_a_restart_forgets_them() {
    let sim = start_sim(pjsip_directory(2)).await;
    let mut client = RawClient::connect(&sim).await;
    client.login("off").await;
    let r = client
        .action(&[("Action", "QueuePause"), ("Interface", "PJSIP/1001"), ("Paused", "true"), ("Reason", "lunch")])
        .await;
    assert_eq!(r[0].message_text(), Some("Interface paused successfully"));
    let truth = sim.truth().await.expect("truth");
    for q in truth.queues.values() {
        let m = q.members.iter().find(|m| m.interface == "PJSIP/1001").expect("member");
        assert!(m.paused);
        assert_eq!(m.reason, "lunch");
    }
    let call = sim.place_call("sales", "1").await.expect("call");
    sim.answer(call).await.expect("answered by the unpaused agent");
    let truth = sim.truth().await.expect("truth");
    assert_eq!(truth.calls[0].agent_interface.as_deref(), Some("PJSIP/1002"));

    let before = sim.stats().await.expect("stats").startup_epoch;
    sim.fault(Fault::Restart).await.expect("restart");
    assert!(client.recv().await.is_none(), "a restart closes the session");
    let truth = sim.truth().await.expect("truth");
    assert!(truth.calls.is_empty(), "calls are gone");
    assert!(truth.startup_epoch > before, "a new startup time");
    assert!(truth.queues.values().all(|q| q.members.iter().all(|m| !m.paused)), "pauses are lost");
    assert_eq!(truth.queues["sales"].counters.answered, 0, "statistics reset");
}

#[actix_rt::test]
async fn a_transfer_into_another_queue_counts_there_as_offered() {
    let sim = start_sim(pjsip_directory(2)).await;
    let call = sim.place_call("sales", "1").await.expect("call");
    sim.answer(call).await.expect("answer");
    sim.transfer(call, TransferTarget::Queue("support".into())).await.expect("transfer");
    let truth = sim.truth().await.expect("truth");
    assert_eq!(truth.queues["sales"].counters.transferred, 1);
    assert_eq!(truth.queues["support"].counters.offered, 1);
    assert_eq!(truth.calls[0].state, "waiting");
    assert_eq!(truth.calls[0].queue.as_deref(), Some("support"));
}

#[actix_rt::test]
async fn automatic_traffic_produces_calls_and_serves_several_clients() {
    let traffic = Traffic {
        calls_per_second: 200.0,
        mean_talk: Duration::from_millis(50),
        mean_patience: Duration::from_millis(200),
        min_ring: Duration::from_millis(1),
        max_ring: Duration::from_millis(5),
        after_queue: Duration::from_millis(5),
        ..Traffic::default()
    };
    let cfg = SimConfig {
        username: "mayday".into(),
        secret: "mayday-secret".into(),
        traffic: Some(traffic),
        seed: 3,
        ..SimConfig::default()
    };
    let sim = sim::start(cfg, Arc::new(pjsip_directory(10))).await.expect("sim");
    let mut a = RawClient::connect(&sim).await;
    let mut b = RawClient::connect(&sim).await;
    a.login("agent").await;
    b.login("agent").await;
    let joined_a = a.until(|m| m.event_name() == Some("AgentConnect")).await;
    let joined_b = b.until(|m| m.event_name() == Some("AgentConnect")).await;
    assert_eq!(joined_a.event_name(), joined_b.event_name());
    assert!(
        eventually(Duration::from_secs(5), || async {
            sim.truth().await.map(|t| t.queues.values().map(|q| q.counters.handled).sum::<u64>() >= 5).unwrap_or(false)
        })
        .await
    );
}
