//! Simulated PBX (scripted) -> PBX router -> tenant, queue and agent actors: after each
//! step Mayday's queues, agents and calls equal the simulated PBX's ground truth exactly.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use mayday_actors::ami::PbxId;
use mayday_actors::live::registry::Registry;
use mayday_actors::live::spec::{AgentSpec, LiveSpec, PauseState, PbxSpec, TenantSpec};
use mayday_actors::live::supervisor::{Apply, LiveSupervisor};
use mayday_actors::live::tenant::actor::{GetAgents, GetCalls, GetQueues, LiveTimings, SetPause};
use mayday_actors::live::{AgentId, MemoryStore, TenantId};
use mayday_actors::sim::{compare, Fault, SimHandle, TransferTarget};

use crate::helpers::{link_config, pjsip_directory, start_sim, start_sim_on, EditableDirectory, SECRET};

struct Live {
    registry: Arc<Registry>,
    store: Arc<MemoryStore>,
    tenant: TenantId,
    _supervisor: Addr<LiveSupervisor>,
}

fn spec(tenant: TenantId, agents: usize, prefix: &str, pbx: PbxId) -> TenantSpec {
    let mut t = TenantSpec::new(tenant, "acme", prefix, Some(pbx));
    t.agents = (0..agents)
        .map(|i| AgentSpec {
            id: AgentId(100 + i as u64),
            extension: format!("{}", 1001 + i),
            name: format!("Agent {}", 1001 + i),
            pause: None,
            today: None,
        })
        .collect();
    t
}

async fn start_live(sim: &SimHandle, agents: usize) -> Live {
    start_live_with(sim, agents, Duration::ZERO).await
}

/// With the queues read again every `queue_refresh` (zero: never).
async fn start_live_with(sim: &SimHandle, agents: usize, queue_refresh: Duration) -> Live {
    let registry = Arc::new(Registry::default());
    let store = Arc::new(MemoryStore::default());
    let timings = LiveTimings {
        persist_after: Duration::from_millis(10),
        day_check: Duration::from_secs(60),
        pause_confirm: Duration::from_secs(2),
        queue_refresh,
        ..LiveTimings::default()
    };
    let supervisor = LiveSupervisor::new(registry.clone(), store.clone(), timings, 0).start();
    let pbx = PbxId(1);
    let ami = link_config(sim, mayday_actors::ami::AuthMode::Md5, SECRET);
    let tenant = TenantId(7);
    supervisor
        .send(Apply(LiveSpec {
            pbxes: vec![PbxSpec { id: pbx, ami }],
            tenants: vec![Arc::new(spec(tenant, agents, "", pbx))],
        }))
        .await
        .expect("applied");
    Live { registry, store, tenant, _supervisor: supervisor }
}

impl Live {
    /// Drops the PBX's clients and waits until the link came back and the resync landed.
    async fn drop_link_and_resync(&self, sim: &SimHandle) {
        let t = self.registry.tenant(self.tenant).expect("tenant");
        let before = t.metrics.resyncs_reconnected.load(std::sync::atomic::Ordering::Relaxed);
        sim.fault(Fault::DropClients).await.expect("drop");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while t.metrics.resyncs_reconnected.load(std::sync::atomic::Ordering::Relaxed) == before {
            assert!(std::time::Instant::now() < deadline, "no resync after the link dropped");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until Mayday shows `n` members in `queue`; panics with `why` after 5 s.
    async fn wait_for_members(&self, queue: &str, n: usize, why: &str) {
        let t = self.registry.tenant(self.tenant).expect("tenant");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let queues = t.addr.send(GetQueues).await.expect("queues");
            if queues.iter().any(|q| q.asterisk_name == queue && q.members.len() == n) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{why}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn diffs(&self, sim: &SimHandle, counters: bool) -> Vec<String> {
        let Some(t) = self.registry.tenant(self.tenant) else { return vec!["no tenant".into()] };
        let truth = sim.truth().await.expect("truth");
        let queues: Vec<_> = t.addr.send(GetQueues).await.expect("queues").iter().map(|q| (**q).clone()).collect();
        let agents: Vec<_> = t.addr.send(GetAgents).await.expect("agents").iter().map(|a| (**a).clone()).collect();
        let calls = t.addr.send(GetCalls).await.expect("calls");
        if counters {
            compare::differences(&truth, &queues, &agents, &calls)
        } else {
            compare::live_differences(&truth, &queues, &agents, &calls)
        }
    }

    /// Waits until Mayday agrees with the truth; panics naming the differences.
    async fn agrees(&self, sim: &SimHandle, step: &str) {
        self.agrees_on(sim, step, true).await;
    }

    async fn agrees_on(&self, sim: &SimHandle, step: &str, counters: bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let d = self.diffs(sim, counters).await;
            if d.is_empty() {
                return;
            }
            if std::time::Instant::now() > deadline {
                panic!("after {step}, Mayday differs from the truth:\n{}", d.join("\n"));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[actix_rt::test]
async fn after_an_app_queue_reload_the_members_asterisk_now_has_are_shown() {
    let directory = Arc::new(EditableDirectory(parking_lot::Mutex::new(pjsip_directory(3).0)));
    let sim = start_sim_on(directory.clone()).await;
    let live = start_live(&sim, 3).await;
    live.agrees(&sim, "the first resync").await;
    let tenant = live.registry.tenant(live.tenant).expect("tenant");
    let link = live.registry.pbx(PbxId(1)).expect("pbx").link;
    let call = sim.place_call("sales", "+254700000001").await.expect("call");
    sim.ring(call, Some("PJSIP/1001")).await.expect("ring");
    live.agrees(&sim, "a member rings").await;

    // queues.conf edited: 1003 leaves sales, which app_queue's reload does without an event.
    directory.0.lock().queues[0].members.retain(|m| m.interface != "PJSIP/1003");
    let queue_statuses = || async {
        let actions = sim.received_actions().await.expect("actions");
        actions.iter().filter(|m| m.action_name() == Some("QueueStatus")).count()
    };
    let before = queue_statuses().await;
    link.send(mayday_actors::ami::action::reload(Some("res_pjsip_outbound_registration.so"))).await.expect("reload");
    link.send(mayday_actors::ami::action::reload(Some("app_queue.so"))).await.expect("reload");
    live.wait_for_members("sales", 2, "the members were not read again after app_queue reloaded").await;
    // Events are handled in order: the first reload's would have come first.
    assert_eq!(queue_statuses().await, before + 1, "one QueueStatus, for app_queue's reload only");
    live.agrees(&sim, "the reload (a member still ringing)").await;
    assert_eq!(tenant.metrics.resyncs_reconnected.load(std::sync::atomic::Ordering::Relaxed), 0, "no full resync");
    sim.answer(call).await.expect("answer");
    live.agrees(&sim, "the member answers after the reload").await;
}

#[actix_rt::test]
async fn members_changed_without_any_event_are_seen_at_the_next_periodic_refresh() {
    let directory = Arc::new(EditableDirectory(parking_lot::Mutex::new(pjsip_directory(3).0)));
    let sim = start_sim_on(directory.clone()).await;
    let live = start_live_with(&sim, 3, Duration::from_millis(50)).await;
    live.agrees(&sim, "the first resync").await;
    let call = sim.place_call("sales", "+254700000001").await.expect("call");
    sim.ring(call, Some("PJSIP/1001")).await.expect("ring");
    // A realtime member removed in the database: Asterisk says nothing.
    directory.0.lock().queues[0].members.retain(|m| m.interface != "PJSIP/1003");
    live.wait_for_members("sales", 2, "the periodic refresh did not read the members again").await;
    live.agrees(&sim, "the refresh (a member ringing meanwhile)").await;
    sim.answer(call).await.expect("answer");
    live.agrees(&sim, "the answer after the refresh").await;
}

#[actix_rt::test]
async fn a_resync_action_asterisk_refuses_is_left_out_and_live_state_goes_on() {
    let sim = start_sim(pjsip_directory(2)).await;
    // An AMI user without the `call` write class: DeviceStateList is refused, for ever.
    sim.fault(Fault::DenyAction("DeviceStateList".into())).await.expect("fault");
    let live = start_live(&sim, 2).await;
    live.agrees(&sim, "a resync without device states").await;
    let call = sim.place_call("sales", "+254700000001").await.expect("call");
    sim.ring(call, Some("PJSIP/1002")).await.expect("ring");
    sim.answer(call).await.expect("answer");
    live.agrees(&sim, "events after that resync").await;

    // CoreShowChannels refused too: a resync keeps the calls Mayday knows.
    sim.fault(Fault::DenyAction("CoreShowChannels".into())).await.expect("fault");
    live.drop_link_and_resync(&sim).await;
    live.agrees(&sim, "a resync without the channel list (the call goes on)").await;
    sim.agent_hangup(call).await.expect("hangup");
    live.agrees(&sim, "the call ends after that resync").await;
}

#[actix_rt::test]
async fn a_ringall_queue_rings_every_member_and_the_others_stop_when_one_answers() {
    let mut directory = pjsip_directory(3);
    directory.0.queues[0].strategy = "ringall".into();
    let sim = start_sim(directory).await;
    let live = start_live(&sim, 3).await;
    live.agrees(&sim, "the first resync").await;

    let a = sim.place_call("sales", "+254700000001").await.expect("call a");
    sim.ring(a, None).await.expect("ring all");
    live.agrees(&sim, "three members ring at once").await;
    sim.answer_by(a, "PJSIP/1002").await.expect("1002 answers");
    live.agrees(&sim, "one answers, the other two stop ringing").await;
    sim.agent_hangup(a).await.expect("hangup");
    live.agrees(&sim, "the agent hangs up").await;

    let b = sim.place_call("sales", "+254700000002").await.expect("call b");
    sim.ring(b, None).await.expect("ring all");
    sim.abandon(b).await.expect("abandon");
    live.agrees(&sim, "the caller gives up while all ring").await;

    let c = sim.place_call("sales", "+254700000003").await.expect("call c");
    sim.ring(c, None).await.expect("ring all");
    sim.ring_no_answer(c).await.expect("nobody answers");
    live.agrees(&sim, "every member rang out").await;
    sim.ring(c, None).await.expect("ring all again");
    sim.answer_by(c, "PJSIP/1001").await.expect("1001 answers");
    live.agrees(&sim, "the second round is answered").await;

    // A resync while members ring shows all of them ringing.
    let d = sim.place_call("sales", "+254700000004").await.expect("call d");
    sim.ring(d, None).await.expect("ring all");
    live.drop_link_and_resync(&sim).await;
    live.agrees(&sim, "a resync while three members ring").await;

    let t = live.registry.tenant(live.tenant).expect("tenant");
    let agents = t.addr.send(GetAgents).await.expect("agents");
    let missed: u64 = agents.iter().map(|a| a.today.missed).sum();
    assert_eq!(missed, 3, "only call c's ring timeout is a missed call for each member: {agents:?}");
}

#[actix_rt::test]
async fn queue_calls_abandons_timeouts_transfers_and_direct_calls_match_the_truth() {
    let sim = start_sim(pjsip_directory(3)).await;
    let live = start_live(&sim, 3).await;
    live.agrees(&sim, "the first resync").await;

    let a = sim.place_call("sales", "+254700000001").await.expect("call a");
    live.agrees(&sim, "a caller joins").await;
    sim.ring(a, Some("PJSIP/1001")).await.expect("ring");
    live.agrees(&sim, "a member rings").await;
    sim.answer(a).await.expect("answer");
    live.agrees(&sim, "the member answers").await;
    sim.agent_hangup(a).await.expect("hangup");
    live.agrees(&sim, "the agent hangs up").await;

    let b = sim.place_call("sales", "+254700000002").await.expect("call b");
    sim.abandon(b).await.expect("abandon");
    live.agrees(&sim, "a true abandon").await;
    let c = sim.place_call("support", "+254700000003").await.expect("call c");
    sim.timeout(c).await.expect("timeout");
    live.agrees(&sim, "a queue timeout").await;
    sim.caller_hangup(c).await.expect("after-queue hangup");

    let d = sim.place_call("sales", "+254700000004").await.expect("call d");
    sim.ring(d, Some("PJSIP/1002")).await.expect("ring");
    sim.ring_no_answer(d).await.expect("no answer");
    live.agrees(&sim, "a ring with no answer").await;
    sim.ring(d, Some("PJSIP/1003")).await.expect("ring again");
    sim.answer(d).await.expect("answer");
    sim.transfer(d, TransferTarget::Queue("support".into())).await.expect("transfer");
    live.agrees(&sim, "a transfer into another queue").await;
    sim.ring(d, Some("PJSIP/1001")).await.expect("ring in support");
    sim.answer(d).await.expect("answer in support");
    sim.caller_hangup(d).await.expect("caller hangs up");
    live.agrees(&sim, "the caller hangs up after a transfer").await;

    let e = sim.direct_call("1002", "+254700000005").await.expect("direct");
    live.agrees(&sim, "a direct call rings").await;
    sim.answer(e).await.expect("answer direct");
    live.agrees(&sim, "a direct call is answered").await;
    let f = sim.outbound_call("1003", "0711000000").await.expect("outbound");
    live.agrees(&sim, "an agent dials out").await;
    sim.answer(f).await.expect("far end answers");
    live.agrees(&sim, "the far end answers").await;
    sim.caller_hangup(e).await.expect("direct ends");
    sim.caller_hangup(f).await.expect("outbound ends");
    live.agrees(&sim, "everything hung up").await;
    // An agent gives up on a number that never answers.
    let g = sim.outbound_call("1003", "0711000001").await.expect("outbound");
    live.agrees(&sim, "an agent dials out again").await;
    sim.caller_hangup(g).await.expect("the agent gives up while it rings");
    live.agrees(&sim, "the unanswered outbound call is over").await;

    let t = live.registry.tenant(live.tenant).expect("tenant");
    let queues = t.addr.send(GetQueues).await.expect("queues");
    let sales = queues.iter().find(|q| q.asterisk_name == "sales").expect("sales");
    assert_eq!((sales.figures.offered, sales.figures.answered, sales.figures.abandoned), (3, 2, 1));
    // Counters are persisted shortly after they change.
    let persisted = crate::helpers::eventually(Duration::from_secs(5), || async {
        live.store.queues.lock().get(&(live.tenant, "sales".to_string())).map(|(_, c)| c.clone())
            == Some(sales.counters.clone())
    })
    .await;
    assert!(persisted, "today's counters reached the store");
}

#[actix_rt::test]
async fn pauses_are_mayday_s_and_come_back_after_an_asterisk_restart() {
    let sim = start_sim(pjsip_directory(2)).await;
    let live = start_live(&sim, 2).await;
    live.agrees(&sim, "the first resync").await;
    let t = live.registry.tenant(live.tenant).expect("tenant");
    let out = t
        .addr
        .send(SetPause { agent: AgentId(100), pause: Some(PauseState { reason: "lunch".into(), since_ms: 0 }) })
        .await
        .expect("sent")
        .expect("paused");
    assert!(out.applied);
    assert_eq!(out.applied_to, ["PJSIP/1001"]);
    live.agrees(&sim, "a pause through Mayday").await;
    let truth = sim.truth().await.expect("truth");
    assert_eq!(truth.agents["1001"].reason.as_deref(), Some("lunch"));
    assert_eq!(
        live.store.pauses.lock().get(&(live.tenant, AgentId(100))).map(|p| p.reason.clone()),
        Some("lunch".into())
    );

    sim.fault(Fault::Restart).await.expect("restart");
    // Asterisk forgot the pause; Mayday puts it back, with its reason.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let truth = sim.truth().await.expect("truth");
        if truth.agents["1001"].status == "paused" && truth.agents["1001"].reason.as_deref() == Some("lunch") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the pause was not re-applied: {:?}", truth.agents["1001"]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    live.agrees(&sim, "the restart").await;
    let metrics = live.registry.pbx(PbxId(1)).expect("pbx").metrics;
    assert_eq!(metrics.resyncs_restarted.load(std::sync::atomic::Ordering::Relaxed), 1);

    t.addr.send(SetPause { agent: AgentId(100), pause: None }).await.expect("sent").expect("unpaused");
    live.agrees(&sim, "an unpause").await;
}

#[actix_rt::test]
async fn a_dropped_link_is_resynced_without_ghosts_or_missing_calls() {
    let sim = start_sim(pjsip_directory(4)).await;
    let live = start_live(&sim, 4).await;
    live.agrees(&sim, "the first resync").await;
    let mut calls = Vec::new();
    for i in 0..6 {
        calls.push(
            sim.place_call(if i % 2 == 0 { "sales" } else { "support" }, &format!("+2547000001{i:02}"))
                .await
                .expect("call"),
        );
    }
    sim.ring(calls[0], Some("PJSIP/1001")).await.expect("ring");
    sim.answer(calls[0]).await.expect("answer");
    sim.ring(calls[1], Some("PJSIP/1002")).await.expect("ring");
    live.agrees(&sim, "six calls").await;
    let t = live.registry.tenant(live.tenant).expect("tenant");
    let before: Vec<_> = t
        .addr
        .send(GetQueues)
        .await
        .expect("queues")
        .iter()
        .map(|q| (q.asterisk_name.clone(), q.counters.clone()))
        .collect();
    sim.fault(Fault::Down).await.expect("down");
    // While the link is down: two calls end, one is answered, two new ones start.
    sim.caller_hangup(calls[2]).await.expect("end");
    sim.agent_hangup(calls[0]).await.expect("end");
    sim.answer(calls[1]).await.expect("answer");
    sim.place_call("sales", "+254700000201").await.expect("new");
    let n = sim.place_call("support", "+254700000202").await.expect("new");
    sim.ring(n, Some("PJSIP/1003")).await.expect("ring");
    sim.fault(Fault::Up).await.expect("up");
    // What is live is exact again; today's counters keep what Mayday saw (events that
    // happened entirely during the outage cannot be replayed over AMI).
    live.agrees_on(&sim, "the link came back", false).await;
    let after = t.addr.send(GetQueues).await.expect("queues");
    for (name, counters) in before {
        let now = after.iter().find(|q| q.asterisk_name == name).expect("queue kept");
        assert!(
            now.counters.offered >= counters.offered && now.counters.answered >= counters.answered,
            "{name}: counters survive a dropped link"
        );
    }
    let metrics = live.registry.pbx(PbxId(1)).expect("pbx").metrics;
    assert_eq!(metrics.resyncs_reconnected.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(metrics.resyncs_restarted.load(std::sync::atomic::Ordering::Relaxed), 0);
}
