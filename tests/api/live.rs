//! Simulated PBX (scripted) -> Mayday -> `/api/live/*`: the figures and agent states equal
//! the simulated PBX's ground truth; tenants sharing a PBX see only their own; pauses are
//! Mayday's and survive an Asterisk restart; today's figures survive a Mayday restart; a
//! dropped link is resynced without ghosts.

use std::time::Duration;

use mayday_actors::sim::{Fault, TransferTarget};
use serde_json::json;

use crate::helpers::live::{directory, start_sim};
use crate::helpers::{spawn_app_with, suffix, Options};

fn live() -> Options {
    Options { live: true, ..Default::default() }
}

#[actix_web::test]
async fn a_scenario_through_the_api_equals_the_ground_truth() {
    let sim = start_sim(directory("", None, 3)).await;
    let app = spawn_app_with(live()).await;
    let pbx = app.pbx_for(&sim).await;
    let t = app.live_tenant(pbx, &format!("solo{}", suffix()), "", 3).await;
    app.agrees(&sim, &t, "the first resync").await;

    let a = sim.place_call("sales", "+254700000001").await.expect("call");
    sim.ring(a, Some("PJSIP/1001")).await.expect("ring");
    sim.answer(a).await.expect("answer");
    app.agrees(&sim, &t, "an answered call").await;
    sim.agent_hangup(a).await.expect("hangup");
    let b = sim.place_call("sales", "+254700000002").await.expect("call");
    sim.abandon(b).await.expect("abandon");
    let c = sim.place_call("support", "+254700000003").await.expect("call");
    sim.timeout(c).await.expect("timeout");
    let d = sim.place_call("sales", "+254700000004").await.expect("call");
    sim.ring(d, Some("PJSIP/1002")).await.expect("ring");
    sim.answer(d).await.expect("answer");
    sim.transfer(d, TransferTarget::Queue("support".into())).await.expect("transfer");
    app.agrees(&sim, &t, "abandon, timeout and transfer").await;

    // The agent pauses themself through the old softphone path.
    let agent = &t.agents[2];
    let token = app.login(agent).await;
    let p = app.post("/api/users/pause", Some(&token), &json!({"reason": "lunch"})).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(
        (p.body["paused"].as_bool(), p.body["reason"].as_str(), p.body["applied"].as_bool()),
        (Some(true), Some("lunch"), Some(true))
    );
    app.agrees(&sim, &t, "a pause through the API").await;
    let status = app.get("/api/users/pause-status", Some(&token)).await;
    assert_eq!((status.body["paused"].as_bool(), status.body["reason"].as_str()), (Some(true), Some("lunch")));
    let truth = sim.truth().await.expect("truth");
    assert_eq!(
        (truth.agents["1003"].status.as_str(), truth.agents["1003"].reason.as_deref()),
        ("paused", Some("lunch"))
    );

    // The figures as the API shows them, computed by hand: sales offered 3 (a, b, d),
    // answered 2, abandoned 1; support offered 2 (c, d), timed out 1.
    let (queues, _, _) = app.live_views(&t.manager_token).await;
    let sales = queues.iter().find(|q| q.name == "sales").expect("sales");
    assert_eq!(
        (sales.figures.offered, sales.figures.answered, sales.figures.abandoned, sales.figures.timed_out),
        (3, 2, 1, 0)
    );
    assert_eq!(sales.figures.abandon_rate_pct, Some(33.3));
    let support = queues.iter().find(|q| q.name == "support").expect("support");
    assert_eq!((support.figures.offered, support.figures.timed_out, support.waiting.len()), (2, 1, 1));

    // An agent sees only themself; the PBX link is up; metrics count the traffic.
    let mine = app.get("/api/live/agents", Some(&token)).await;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1));
    let links = app.get("/api/pbx", Some(&t.manager_token)).await;
    assert_eq!(links.body[0]["state"], "connected", "{}", links.body);
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("metrics").body().await.expect("body");
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(metrics.contains(&format!("mayday_ami_link_up{{pbx=\"{pbx}\"}} 1")), "{metrics}");
    assert!(metrics.contains(&format!("mayday_tenant_events_total{{tenant=\"{}\"}}", t.id)));
}

#[actix_web::test]
async fn two_tenants_on_one_pbx_see_only_their_own() {
    let (acme, beta) = (format!("acme{}", suffix()), format!("beta{}", suffix()));
    let (pa, pb) = (format!("{acme}-"), format!("{beta}-"));
    let mut dir = directory(&pa, Some(&acme), 2);
    let other = directory(&pb, Some(&beta), 2);
    dir.endpoints.extend(other.endpoints);
    dir.queues.extend(other.queues);
    let sim = start_sim(dir).await;
    let app = spawn_app_with(live()).await;
    let pbx = app.pbx_for(&sim).await;
    let a = app.live_tenant(pbx, &acme, &pa, 2).await;
    let b = app.live_tenant(pbx, &beta, &pb, 2).await;
    app.agrees(&sim, &a, "the first resync").await;
    app.agrees(&sim, &b, "the first resync").await;

    let ca = sim.place_call(&format!("{pa}sales"), "+254700000010").await.expect("call");
    sim.ring(ca, Some(&format!("PJSIP/{pa}1001"))).await.expect("ring");
    sim.answer(ca).await.expect("answer");
    sim.place_call(&format!("{pb}support"), "+254700000020").await.expect("call");
    app.agrees(&sim, &a, "a call in each tenant").await;
    app.agrees(&sim, &b, "a call in each tenant").await;

    let (qa, aa, calls_a) = app.live_views(&a.manager_token).await;
    assert!(qa.iter().all(|q| q.asterisk_name.starts_with(&pa)) && qa.len() == 2);
    assert!(aa.iter().all(|x| x.device.starts_with(&format!("PJSIP/{pa}"))) && aa.len() == 2);
    assert_eq!(calls_a.len(), 1);
    let (_, _, calls_b) = app.live_views(&b.manager_token).await;
    assert_eq!(calls_b.len(), 1);
    assert_ne!(calls_a[0].linkedid, calls_b[0].linkedid);
    // Nobody pauses another tenant's agent.
    let cross = app
        .post(&format!("/api/agents/{}/pause", b.agents[0].id), Some(&a.manager_token), &json!({"reason": "x"}))
        .await;
    assert_eq!(cross.status, 404);
}

#[actix_web::test]
async fn pause_rules_and_an_asterisk_restart_re_applies_pauses_with_their_reasons() {
    let sim = start_sim(directory("", None, 2)).await;
    let app = spawn_app_with(live()).await;
    let pbx = app.pbx_for(&sim).await;
    let t = app.live_tenant(pbx, &format!("p{}", suffix()), "", 2).await;
    app.agrees(&sim, &t, "the first resync").await;
    let agent_token = app.login(&t.agents[0]).await;
    let other = t.agents[1].id;
    assert_eq!(
        app.post(&format!("/api/agents/{other}/pause"), Some(&agent_token), &json!({"reason": "x"})).await.status,
        403
    );
    let by_manager =
        app.post(&format!("/api/agents/{other}/pause"), Some(&t.manager_token), &json!({"reason": "training"})).await;
    assert_eq!(by_manager.status, 200, "{}", by_manager.body);
    assert_eq!(by_manager.body["applied_to"], json!(["PJSIP/1002"]));
    let own =
        app.post(&format!("/api/agents/{}/pause", t.agents[0].id), Some(&agent_token), &serde_json::Value::Null).await;
    assert_eq!(own.status, 200, "a pause without a body works: {}", own.body);
    let bad = app.post(&format!("/api/agents/{other}/pause"), Some(&t.manager_token), &json!({"reason": "a\nb"})).await;
    assert_eq!(bad.status, 422);
    app.agrees(&sim, &t, "two pauses").await;

    sim.fault(Fault::Restart).await.expect("restart");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let truth = sim.truth().await.expect("truth");
        let a2 = &truth.agents["1002"];
        if a2.status == "paused" && a2.reason.as_deref() == Some("training") && truth.agents["1001"].status == "paused"
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pauses were not re-applied after the restart: {:?}",
            truth.agents
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    app.agrees(&sim, &t, "the Asterisk restart").await;
    let un = app.post(&format!("/api/agents/{other}/unpause"), Some(&t.manager_token), &json!({})).await;
    assert_eq!((un.status, un.body["paused"].as_bool()), (200, Some(false)));
    app.agrees(&sim, &t, "an unpause").await;
}

#[actix_web::test]
async fn a_mayday_restart_keeps_today_s_figures() {
    let sim = start_sim(directory("", None, 2)).await;
    let app = spawn_app_with(live()).await;
    let pbx = app.pbx_for(&sim).await;
    let slug = format!("r{}", suffix());
    let t = app.live_tenant(pbx, &slug, "", 2).await;
    app.agrees(&sim, &t, "the first resync").await;
    for i in 0..3 {
        let c = sim.place_call("sales", &format!("+25470000010{i}")).await.expect("call");
        sim.ring(c, None).await.expect("ring");
        sim.answer(c).await.expect("answer");
        sim.agent_hangup(c).await.expect("hangup");
    }
    let gone = sim.place_call("support", "+254700000199").await.expect("call");
    sim.abandon(gone).await.expect("abandon");
    app.agrees(&sim, &t, "a morning of calls").await;
    let (before, _, _) = app.live_views(&t.manager_token).await;
    // Counters reach the database shortly after they change.
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Africa::Nairobi).date_naive();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut conn = app.state.db.get().await.expect("db");
        let rows = mayday::db::repos::live::counters_of_day(&mut conn, mayday::domain::TenantId(t.id), today)
            .await
            .expect("rows");
        let stored = before.iter().all(|q| {
            rows.iter().any(|r| {
                r.name == q.asterisk_name
                    && serde_json::from_str::<mayday_actors::live::figures::QueueCounters>(&r.counters).ok().as_ref()
                        == Some(&q.counters)
            })
        });
        if stored {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "today's counters never reached the database");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    let db = app.db_name.clone();
    app.stop().await;

    let again = spawn_app_with(Options { db_name: Some(db), ..Default::default() }).await;
    let token = again.login(&t.manager).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let q = again.get("/api/live/queues", Some(&token)).await;
        let after: Vec<mayday_actors::live::queue::state::QueueSnapshot> =
            serde_json::from_value(q.body).expect("queues");
        let same =
            before.iter().all(|b| after.iter().any(|a| a.asterisk_name == b.asterisk_name && a.counters == b.counters));
        if same {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "today's figures were lost: {:?} vs {:?}",
            before.iter().map(|q| &q.counters).collect::<Vec<_>>(),
            after.iter().map(|q| &q.counters).collect::<Vec<_>>()
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    // And the new server keeps counting from there.
    let c = sim.place_call("sales", "+254700000300").await.expect("call");
    sim.abandon(c).await.expect("abandon");
    let t2 = crate::helpers::live::LiveTenant { manager_token: token, ..t };
    again.agrees(&sim, &t2, "a call after the restart").await;
}

#[actix_web::test]
async fn thirty_live_calls_survive_a_cut_link_with_no_ghost_and_none_missing() {
    let sim = start_sim(directory("", None, 12)).await;
    let app = spawn_app_with(live()).await;
    let pbx = app.pbx_for(&sim).await;
    let t = app.live_tenant(pbx, &format!("c{}", suffix()), "", 12).await;
    app.agrees(&sim, &t, "the first resync").await;
    let mut calls = Vec::new();
    for i in 0..30 {
        let q = if i % 2 == 0 { "sales" } else { "support" };
        calls.push(sim.place_call(q, &format!("+2547001{i:05}")).await.expect("call"));
    }
    for (i, c) in calls.iter().take(10).enumerate() {
        sim.ring(*c, Some(&format!("PJSIP/{}", 1001 + i))).await.expect("ring");
        sim.answer(*c).await.expect("answer");
    }
    app.agrees(&sim, &t, "thirty live calls").await;
    sim.fault(Fault::Down).await.expect("cut");
    for c in calls.iter().take(5) {
        sim.agent_hangup(*c).await.expect("talking call ends");
    }
    for c in calls.iter().skip(20).take(5) {
        sim.abandon(*c).await.expect("waiting caller hangs up");
    }
    for i in 0..5 {
        sim.place_call("sales", &format!("+2547002{i:05}")).await.expect("new call");
    }
    sim.fault(Fault::Up).await.expect("back");
    // Within 2 s of the link coming back, what is live equals the truth again.
    app.agrees_with(&sim, &t, "the link came back", false, Duration::from_secs(2)).await;
    let (_, _, live_calls) = app.live_views(&t.manager_token).await;
    assert_eq!(live_calls.len(), 25);
    let truth = sim.truth().await.expect("truth");
    assert_eq!(truth.calls.len(), 25);
}
