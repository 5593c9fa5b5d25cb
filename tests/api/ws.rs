//! Simulated PBX (scripted) -> Mayday -> WebSocket clients: the wallboard topic equals the
//! truth; a client that comes back with its sequence numbers gets exactly what it missed;
//! roles decide topics; a revoked token closes the socket; a slow client is coalesced
//! without slowing the others; bad input never breaks the server.

use std::time::Duration;

use awc::ws;
use mayday_actors::sim::TransferTarget;
use serde_json::json;

use crate::helpers::live::{directory, start_sim, LiveTenant};
use crate::helpers::ws::{RawWs, WallboardModel};
use crate::helpers::{spawn_app_with, suffix, Options, TestApp};

fn live(extra: &[(&str, &str)]) -> Options {
    Options {
        live: true,
        env: extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    }
}

async fn setup(extra: &[(&str, &str)], agents: usize) -> (TestApp, mayday_actors::sim::SimHandle, LiveTenant) {
    let sim = start_sim(directory("", None, agents)).await;
    let app = spawn_app_with(live(extra)).await;
    let pbx = app.pbx_for(&sim).await;
    let t = app.live_tenant(pbx, &format!("w{}", suffix()), "", agents).await;
    app.agrees(&sim, &t, "the first resync").await;
    (app, sim, t)
}

/// Applies what a wallboard subscription brought so far, in order: the snapshot (waiting
/// for it if it has not come) and any deltas that arrived before the `subscribed` answer.
async fn take_wallboard(c: &mut crate::helpers::ws::WsClient, model: &mut WallboardModel) {
    let mut got_snapshot = false;
    for f in std::mem::take(&mut c.seen) {
        if f["topic"] == "wallboard" {
            got_snapshot |= f["type"] == "snapshot";
            model.apply(&f);
        }
    }
    while !got_snapshot {
        let f = c.next().await.expect("the wallboard snapshot");
        if f["topic"] == "wallboard" {
            got_snapshot = f["type"] == "snapshot";
            model.apply(&f);
        }
    }
}

/// Reads wallboard frames into the model until it equals the truth.
async fn follow(
    c: &mut crate::helpers::ws::WsClient,
    model: &mut WallboardModel,
    sim: &mayday_actors::sim::SimHandle,
    step: &str,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let truth = sim.truth().await.expect("truth");
        let d = model.differences(&truth);
        if d.is_empty() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "after {step} the wallboard differs:\n{}", d.join("\n"));
        if let Some(f) = c.next_within(Duration::from_millis(200)).await {
            if f["topic"] == "wallboard" {
                model.apply(&f);
            }
        }
    }
}

#[actix_web::test]
async fn the_wallboard_equals_the_truth_and_a_reconnect_gets_exactly_what_it_missed() {
    let (app, sim, t) = setup(&[], 3).await;
    let mut c = app.ws(&t.manager_token).await;
    let sub = c.request(json!({"op": "subscribe", "topic": "wallboard"}), "s1").await;
    assert_eq!((sub["type"].as_str(), sub["resumed"].as_bool()), (Some("subscribed"), Some(false)), "{sub}");
    let mut model = WallboardModel::default();
    take_wallboard(&mut c, &mut model).await;
    assert_eq!(model.agents.len(), 3);

    let a = sim.place_call("sales", "+254700000001").await.expect("call");
    sim.ring(a, Some("PJSIP/1001")).await.expect("ring");
    sim.answer(a).await.expect("answer");
    follow(&mut c, &mut model, &sim, "an answered call").await;
    let b = sim.place_call("support", "+254700000002").await.expect("call");
    sim.abandon(b).await.expect("abandon");
    follow(&mut c, &mut model, &sim, "an abandon").await;

    // The client goes away; things happen; it comes back with where it left off. A
    // witness that stays tells when what happened has been published.
    let (epoch, seq) = (model.epoch, model.seq);
    let mut witness = app.ws(&t.manager_token).await;
    witness.request(json!({"op": "subscribe", "topic": "wallboard", "since": {"epoch": epoch, "seq": seq}}), "w").await;
    let mut witness_model =
        WallboardModel { epoch, seq, queues: model.queues.clone(), agents: model.agents.clone(), applied: Vec::new() };
    for f in std::mem::take(&mut witness.seen) {
        if f["topic"] == "wallboard" {
            witness_model.apply(&f);
        }
    }
    drop(c);
    sim.agent_hangup(a).await.expect("hangup");
    let d = sim.place_call("sales", "+254700000003").await.expect("call");
    sim.ring(d, Some("PJSIP/1002")).await.expect("ring");
    sim.answer(d).await.expect("answer");
    sim.transfer(d, TransferTarget::Queue("support".into())).await.expect("transfer");
    app.agrees(&sim, &t, "while the client was away").await;
    follow(&mut witness, &mut witness_model, &sim, "while the client was away").await;
    let mut c = app.ws(&t.manager_token).await;
    let sub =
        c.request(json!({"op": "subscribe", "topic": "wallboard", "since": {"epoch": epoch, "seq": seq}}), "s2").await;
    assert_eq!(sub["resumed"], true, "{sub}");
    let replayed = sub["replayed"].as_u64().expect("replayed count");
    assert!(replayed > 0, "things changed while away");
    let mut frames: Vec<serde_json::Value> = c.seen.drain(..).filter(|f| f["topic"] == "wallboard").collect();
    while (frames.len() as u64) < replayed {
        frames.push(c.next().await.expect("replayed delta"));
    }
    let seqs: Vec<u64> = frames.iter().map(|f| f["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, ((seq + 1)..=(seq + replayed)).collect::<Vec<_>>(), "exactly the missed deltas, in order");
    assert!(frames.iter().all(|f| f["type"] == "delta"));
    for f in &frames {
        model.apply(f);
    }
    follow(&mut c, &mut model, &sim, "resuming").await;

    // From an unknown epoch (a restarted server) the client gets a snapshot.
    let sub = c
        .request(json!({"op": "subscribe", "topic": "wallboard", "since": {"epoch": epoch + 1, "seq": 1}}), "s3")
        .await;
    assert_eq!(sub["resumed"], false);
}

#[actix_web::test]
async fn a_client_too_far_behind_gets_a_snapshot() {
    let (app, sim, t) = setup(&[("LIVE_PUSH_HISTORY", "2")], 2).await;
    // A witness stays connected: when it has seen a delta, the delta was published.
    let mut witness = app.ws(&t.manager_token).await;
    witness.request(json!({"op": "subscribe", "topic": "calls"}), "w").await;
    let mut c = app.ws(&t.manager_token).await;
    c.request(json!({"op": "subscribe", "topic": "calls"}), "s1").await;
    let snap = match c.seen.iter().find(|f| f["type"] == "snapshot").cloned() {
        Some(s) => s,
        None => c.next().await.expect("snapshot"),
    };
    let (epoch, seq) = (snap["epoch"].as_u64().expect("epoch"), snap["seq"].as_u64().expect("seq"));
    drop(c);
    // Four calls that stay: four deltas at least, more than the history of 2 holds.
    let mut last_seen = seq;
    for i in 0..4 {
        sim.place_call("sales", &format!("+25470000001{i}")).await.expect("call");
        loop {
            let f = witness.next().await.expect("a calls delta");
            if f["topic"] == "calls"
                && f["type"] == "delta"
                && f["data"]["calls"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["caller_num"] == format!("+25470000001{i}")))
            {
                last_seen = f["seq"].as_u64().expect("seq");
                break;
            }
        }
    }
    assert!(last_seen >= seq + 4);
    let mut c = app.ws(&t.manager_token).await;
    let sub =
        c.request(json!({"op": "subscribe", "topic": "calls", "since": {"epoch": epoch, "seq": seq}}), "s2").await;
    assert_eq!(sub["resumed"], false, "the history of 2 no longer holds what it missed: {sub}");
    let snap = match c.seen.iter().find(|f| f["type"] == "snapshot").cloned() {
        Some(s) => s,
        None => c.next().await.expect("snapshot"),
    };
    assert_eq!(snap["data"]["calls"].as_array().map(Vec::len), Some(4));
    assert_eq!(snap["seq"].as_u64(), Some(last_seen));
}

#[actix_web::test]
async fn roles_decide_topics_and_a_logout_closes_the_socket() {
    let (app, sim, t) = setup(&[], 2).await;
    let agent = &t.agents[0];
    let other = &t.agents[1];
    let token = app.login(agent).await;
    let mut c = app.ws(&token).await;
    let own = c.request(json!({"op": "subscribe", "topic": format!("agent:{}", agent.id)}), "own").await;
    assert_eq!(own["type"], "subscribed", "{own}");
    let theirs = c.request(json!({"op": "subscribe", "topic": format!("agent:{}", other.id)}), "theirs").await;
    assert_eq!((theirs["type"].as_str(), theirs["code"].as_str()), (Some("error"), Some("forbidden")), "{theirs}");
    assert!(theirs["message"].as_str().unwrap_or_default().contains("own agent topic"));
    let wallboard = c.request(json!({"op": "subscribe", "topic": "wallboard"}), "wb").await;
    assert_eq!(wallboard["code"], "forbidden");
    let queue = c.request(json!({"op": "subscribe", "topic": "queue:sales"}), "q").await;
    assert_eq!(queue["type"], "subscribed", "an agent follows their queues: {queue}");
    // Another tenant's agent does not exist here.
    let b = app.live_tenant(app.pbx_for(&sim).await, &format!("x{}", suffix()), "x-", 1).await;
    let cross = c.request(json!({"op": "subscribe", "topic": format!("agent:{}", b.agents[0].id)}), "cross").await;
    assert_eq!(cross["type"], "error", "{cross}");
    // Commands: the same rules as REST.
    let p = c.request(json!({"op": "pause", "reason": "coffee"}), "p1").await;
    assert_eq!((p["type"].as_str(), p["result"]["paused"].as_bool()), (Some("ack"), Some(true)), "{p}");
    let p = c.request(json!({"op": "pause", "agent": other.id, "reason": "x"}), "p2").await;
    assert_eq!((p["type"].as_str(), p["code"].as_str()), (Some("error"), Some("forbidden")), "{p}");
    let u = c.request(json!({"op": "unpause"}), "p3").await;
    assert_eq!(u["result"]["paused"], false);
    // Without a valid token there is no socket; after logout the open one closes.
    assert_eq!(app.ws_refused(None).await, 401);
    assert_eq!(app.ws_refused(Some("not-a-token")).await, 401);
    assert_eq!(app.post("/api/auth/logout", Some(&token), &json!({})).await.status, 204);
    let closed = c.closed().await.expect("the server closed the socket");
    assert_eq!(closed.code, 4001, "{closed:?}");
    assert!(closed.reason.contains("session ended"));
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("metrics").body().await.expect("body");
    assert!(String::from_utf8_lossy(&metrics).contains("mayday_ws_closes_total{reason=\"session_ended\"} 1"));
}

#[actix_web::test]
async fn bad_input_on_the_socket_gets_errors_or_a_close_never_a_crash() {
    let (app, _sim, t) = setup(&[("WS_MAX_FRAME_BYTES", "4096")], 1).await;
    let mut c = app.ws(&t.manager_token).await;
    c.send_raw(ws::Message::Text("}{ not json".into())).await;
    let e = c.next().await.expect("an error frame");
    assert_eq!((e["type"].as_str(), e["code"].as_str()), (Some("error"), Some("bad_request")), "{e}");
    c.send(json!({"op": "rm_rf"})).await;
    assert_eq!(c.next().await.expect("error")["code"], "bad_request");
    c.send(json!({"op": "subscribe", "topic": "no-such-topic"})).await;
    assert_eq!(c.next().await.expect("error")["code"], "not_found");
    c.send_raw(ws::Message::Binary(bytes::Bytes::from_static(b"\x00\x01\x02"))).await;
    assert!(c.next().await.expect("error")["message"].as_str().unwrap_or_default().contains("binary"));
    let pong = c.request(json!({"op": "ping"}), "still-alive").await;
    assert_eq!(pong["type"], "pong");
    // A frame over the limit closes the socket with a protocol error.
    c.send_raw(ws::Message::Text("x".repeat(10_000).into())).await;
    let closed = c.closed().await.expect("closed");
    assert_eq!(closed.code, 1008, "{closed:?}");
    // The server is fine.
    let mut again = app.ws(&t.manager_token).await;
    assert_eq!(again.request(json!({"op": "ping"}), "ok").await["type"], "pong");
}

#[actix_web::test]
async fn a_slow_client_is_coalesced_and_the_others_miss_nothing() {
    let (app, sim, t) = setup(&[("WS_OUTBOX_FRAMES", "8"), ("WS_STUCK_AFTER", "60s")], 12).await;
    let mut good = app.ws(&t.manager_token).await;
    good.request(json!({"op": "subscribe", "topic": "wallboard"}), "g").await;
    let mut model = WallboardModel::default();
    take_wallboard(&mut good, &mut model).await;
    // The slow client subscribes, floods its own pipe with snapshots, then never reads.
    let mut slow = RawWs::connect(app.port, &t.manager_token).await;
    let sub = json!({"op": "subscribe", "topic": "wallboard"}).to_string();
    for _ in 0..2000 {
        slow.send_text(&sub).await;
    }
    let queues = ["sales", "support"];
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut i = 0;
    loop {
        let call = sim.place_call(queues[i % 2], &format!("+2547009{i:05}")).await.expect("call");
        sim.abandon(call).await.expect("abandon");
        i += 1;
        // The well-behaved client reads everything, in order, with no gap.
        while let Some(f) = good.next_within(Duration::from_millis(30)).await {
            if f["topic"] == "wallboard" {
                model.apply(&f);
            }
        }
        let coalesced = app.state.push_metrics.coalesced.load(std::sync::atomic::Ordering::Relaxed);
        if coalesced > 0 && i > 20 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the slow client was never coalesced");
    }
    follow(&mut good, &mut model, &sim, "the traffic").await;
    assert!(model.applied.len() > 20, "the good client got every delta: {:?}", model.applied.len());
    let m = &app.state.push_metrics;
    assert!(m.dropped.load(std::sync::atomic::Ordering::Relaxed) > 0);
    drop(slow);
}
