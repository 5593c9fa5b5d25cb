//! The AmiConnection actor against the in-process simulated PBX.

use std::time::Duration;

use futures_util::future::join_all;
use mayday_actors::ami::action::{self, Action};
use mayday_actors::ami::{AmiConnection, AmiError, AuthMode, ConnectKind, LinkEvent, LinkState};
use mayday_actors::sim::Fault;

use crate::helpers::{collector, eventually, link_config, next_link, pjsip_directory, start_sim, SECRET};

const WAIT: Duration = Duration::from_secs(5);

#[actix_rt::test]
async fn plain_and_md5_logins_connect_and_report_the_startup_time() {
    let sim = start_sim(pjsip_directory(3)).await;
    for auth in [AuthMode::Plain, AuthMode::Md5] {
        let mut c = collector();
        let link = AmiConnection::start(
            link_config(&sim, auth, SECRET),
            c.addr.clone().recipient(),
            c.addr.clone().recipient(),
        );
        let ev = next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::Connected { .. })).await;
        let LinkEvent::Connected { kind, startup, .. } = ev else { unreachable!() };
        assert_eq!(kind, ConnectKind::First);
        assert!(startup.len() >= 19, "startup date and time: {startup}");
        let status = link.status();
        assert_eq!(status.state, LinkState::Connected);
        assert_eq!(status.ami_version.as_deref(), Some("11.0.0"));
        let pong = link.send(action::ping()).await.expect("ping answered");
        assert_eq!(pong.response.get("Ping"), Some("Pong"));
        link.stop();
    }
}

#[actix_rt::test]
async fn a_wrong_secret_is_auth_failed_and_retried_slowly() {
    let sim = start_sim(pjsip_directory(1)).await;
    let mut c = collector();
    let link = AmiConnection::start(
        link_config(&sim, AuthMode::Plain, "wrong"),
        c.addr.clone().recipient(),
        c.addr.clone().recipient(),
    );
    let ev = next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::AuthFailed { .. })).await;
    let LinkEvent::AuthFailed { reason, .. } = ev else { unreachable!() };
    assert_eq!(reason, "Authentication failed");
    assert_eq!(link.status().state, LinkState::AuthFailed);
    // Over the next 600 ms a tight loop would make hundreds of attempts; the backoff
    // (100 ms doubling, with jitter) allows a handful.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let stats = sim.stats().await.expect("sim stats");
    assert!(stats.login_attempts >= 2, "it retries: {} attempts", stats.login_attempts);
    assert!(stats.login_attempts <= 6, "it backs off: {} attempts", stats.login_attempts);
    assert!(link.status().auth_failures >= 2);
    assert!(link.send(action::ping()).await.is_err(), "no actions while refused");
    link.stop();
}

#[actix_rt::test]
async fn ten_thousand_concurrent_actions_are_all_correlated() {
    let sim = start_sim(pjsip_directory(1)).await;
    let mut c = collector();
    let link = AmiConnection::start(
        link_config(&sim, AuthMode::Plain, SECRET),
        c.addr.clone().recipient(),
        c.addr.clone().recipient(),
    );
    next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::Connected { .. })).await;
    let n = 10_000;
    let answers = join_all((0..n).map(|i| {
        let link = link.clone();
        async move {
            let var = format!("V{i}");
            let r = link.send(action::getvar(None, &var)).await.expect("getvar answered");
            (var, r.response.get("Variable").map(str::to_string))
        }
    }))
    .await;
    assert_eq!(answers.len(), n);
    for (var, got) in answers {
        assert_eq!(got.as_deref(), Some(var.as_str()), "each answer belongs to its action");
    }
    link.stop();
}

#[actix_rt::test]
async fn a_list_action_returns_all_its_items() {
    let sim = start_sim(pjsip_directory(25)).await;
    let mut c = collector();
    let link = AmiConnection::start(
        link_config(&sim, AuthMode::Md5, SECRET),
        c.addr.clone().recipient(),
        c.addr.clone().recipient(),
    );
    next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::Connected { .. })).await;
    let r = link.send(action::queue_status(Some("sales"), None)).await.expect("queue status");
    assert_eq!(r.items.len(), 26, "QueueParams and 25 members");
    let complete = r.complete.expect("a closing event");
    assert_eq!(complete.get("ListItems"), Some("26"));
    assert_eq!(r.items.iter().filter(|m| m.event_name() == Some("QueueMember")).count(), 25);
    let empty = link.send(action::queue_status(Some("nosuchqueue"), None)).await.expect("empty list");
    assert!(empty.items.is_empty());
    link.stop();
}

#[actix_rt::test]
async fn an_action_without_an_answer_times_out_and_an_error_is_typed() {
    let sim = start_sim(pjsip_directory(1)).await;
    let mut c = collector();
    let link = AmiConnection::start(
        link_config(&sim, AuthMode::Plain, SECRET),
        c.addr.clone().recipient(),
        c.addr.clone().recipient(),
    );
    next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::Connected { .. })).await;
    let refused = link.send(action::queue_pause("PJSIP/nobody", true, None, None)).await;
    assert_eq!(refused.err(), Some(AmiError::ActionFailed { message: "Interface not found".into() }));
    let bad = link.send(Action::new("Ping").header("X", "a\r\nAction: Logoff")).await;
    assert!(matches!(bad, Err(AmiError::Invalid(_))), "header injection refused before sending");
    sim.fault(Fault::Silent(true)).await.expect("silence");
    let r = link.send_with_timeout(action::ping(), Duration::from_millis(100)).await;
    assert_eq!(r.err(), Some(AmiError::Timeout));
    link.stop();
}

#[actix_rt::test]
async fn a_link_cut_mid_message_reconnects_when_the_pbx_is_back_and_calls_the_resync_hook() {
    let sim = start_sim(pjsip_directory(2)).await;
    let mut c = collector();
    let link = AmiConnection::start(
        link_config(&sim, AuthMode::Plain, SECRET),
        c.addr.clone().recipient(),
        c.addr.clone().recipient(),
    );
    next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::Connected { .. })).await;
    sim.fault(Fault::Down).await.expect("down");
    next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::Disconnected { .. })).await;
    assert!(eventually(WAIT, || async { link.status().attempts >= 2 }).await, "it keeps trying while the PBX is down");
    assert_ne!(link.status().state, LinkState::Connected);
    sim.fault(Fault::Up).await.expect("up");
    let ev = next_link(&mut c.links, Duration::from_secs(2), |e| matches!(e, LinkEvent::Connected { .. })).await;
    let LinkEvent::Connected { kind, link: hook_link, .. } = ev else { unreachable!() };
    assert_eq!(kind, ConnectKind::Reconnected, "a dropped link is not a restart");
    // The hook gets a working link to resync with.
    let channels = hook_link.send(action::core_show_channels()).await.expect("resync query");
    assert!(channels.items.is_empty());
    assert_eq!(link.status().reconnects, 1);
    link.stop();
}

#[actix_rt::test]
async fn a_silent_pbx_is_caught_by_the_keepalive_and_the_link_comes_back() {
    let sim = start_sim(pjsip_directory(1)).await;
    let mut c = collector();
    let mut cfg = link_config(&sim, AuthMode::Plain, SECRET);
    cfg.ping_interval = Duration::from_millis(50);
    cfg.ping_timeout = Duration::from_millis(150);
    cfg.login_timeout = Duration::from_millis(300);
    let link = AmiConnection::start(cfg, c.addr.clone().recipient(), c.addr.clone().recipient());
    next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::Connected { .. })).await;
    sim.fault(Fault::Silent(true)).await.expect("silent");
    let ev = next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::Disconnected { .. })).await;
    let LinkEvent::Disconnected { reason, .. } = ev else { unreachable!() };
    assert!(reason.contains("keepalive"), "declared dead by the keepalive: {reason}");
    sim.fault(Fault::Silent(false)).await.expect("speaks again");
    let ev = next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::Connected { .. })).await;
    assert!(matches!(ev, LinkEvent::Connected { kind: ConnectKind::Reconnected, .. }));
    link.stop();
}

#[actix_rt::test]
async fn a_restart_is_reported_as_a_restart() {
    let sim = start_sim(pjsip_directory(1)).await;
    let mut c = collector();
    let link = AmiConnection::start(
        link_config(&sim, AuthMode::Plain, SECRET),
        c.addr.clone().recipient(),
        c.addr.clone().recipient(),
    );
    let first = next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::Connected { .. })).await;
    let LinkEvent::Connected { startup: before, .. } = first else { unreachable!() };
    sim.fault(Fault::Restart).await.expect("restart");
    let ev = next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::Connected { .. })).await;
    let LinkEvent::Connected { kind, startup, .. } = ev else { unreachable!() };
    assert_eq!(kind, ConnectKind::Restarted);
    assert_ne!(startup, before);
    link.stop();
}

#[actix_rt::test]
async fn events_arrive_in_order_with_consecutive_sequence_numbers() {
    let sim = start_sim(pjsip_directory(2)).await;
    let mut c = collector();
    let link = AmiConnection::start(
        link_config(&sim, AuthMode::Plain, SECRET),
        c.addr.clone().recipient(),
        c.addr.clone().recipient(),
    );
    next_link(&mut c.links, WAIT, |e| matches!(e, LinkEvent::Connected { .. })).await;
    for _ in 0..20 {
        let call = sim.place_call("sales", "0700000001").await.expect("call");
        sim.answer(call).await.expect("answer");
        sim.agent_hangup(call).await.expect("hangup");
    }
    let mut next = 0;
    let mut completes = 0;
    while completes < 20 {
        let batch = tokio::time::timeout(WAIT, c.events.recv()).await.expect("events in time").expect("batch");
        assert_eq!(batch.first_seq, next, "no gap, no overlap");
        next += batch.events.len() as u64;
        completes += batch.events.iter().filter(|m| m.event_name() == Some("AgentComplete")).count();
    }
    link.stop();
}
