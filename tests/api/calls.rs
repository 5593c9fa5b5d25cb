//! Call control against the simulated PBX over real AMI: click-to-dial rings the agent's
//! phone and dials the number from the agent's dialplan; the call shows in /api/live/calls
//! under the id the API returned, and hanging it up ends it at the PBX. Roles and tenants
//! as everywhere else.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use mayday_actors::sim::SimHandle;

use crate::helpers::live::{directory, start_sim, LiveTenant};
use crate::helpers::{spawn_app_with, suffix, Options, TestApp};

async fn live_calls(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/api/live/calls", Some(token)).await.body.as_array().cloned().unwrap_or_default()
}

/// Waits until `/api/live/calls` satisfies `f`; panics naming `what` after 5 s.
async fn until_calls(app: &TestApp, token: &str, what: &str, f: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let calls = live_calls(app, token).await;
        if f(&calls) {
            return calls;
        }
        assert!(Instant::now() < deadline, "{what}: {calls:?}");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A simulated PBX with agents 1001 and 1002, and a tenant alone on it, in sync.
async fn setup() -> (SimHandle, TestApp, LiveTenant) {
    let sim = start_sim(directory("", None, 2)).await;
    let app = spawn_app_with(Options { live: true, ..Default::default() }).await;
    let pbx = app.pbx_for(&sim).await;
    let t = app.live_tenant(pbx, &format!("c{}", suffix()), "", 2).await;
    app.agrees(&sim, &t, "the first resync").await;
    (sim, app, t)
}

#[actix_web::test]
async fn click_to_dial_rings_the_agent_and_the_call_can_be_hung_up() {
    let (sim, app, t) = setup().await;
    let (agent, other) = (&t.agents[0], &t.agents[1]);
    let token = app.login(agent).await;

    let dialed = app.post("/api/calls/dial", Some(&token), &json!({"number": "0700123456"})).await;
    assert_eq!(dialed.status, 202, "{}", dialed.body);
    let linkedid = dialed.body["linkedid"].as_str().expect("linkedid").to_string();
    assert_eq!(dialed.body["agent_id"].as_u64(), Some(agent.id));
    let calls =
        until_calls(&app, &token, "the call shows under its id", |c| c.iter().any(|c| c["linkedid"] == linkedid)).await;
    let call = calls.iter().find(|c| c["linkedid"] == linkedid).expect("the call");
    assert_eq!((call["kind"].as_str(), call["agent"].as_u64()), (Some("outbound"), Some(agent.id)), "{call}");
    let sent = sim.received_actions().await.expect("actions");
    let originate = sent.iter().find(|a| a.action_name() == Some("Originate")).expect("an Originate");
    assert_eq!(
        (originate.get("Channel"), originate.get("Context"), originate.get("Exten"), originate.get("Async")),
        (Some("PJSIP/1001"), Some("mayday-launch"), Some("0700123456"), Some("true")),
        "the agent's phone rings first, then the number is dialed from its dialplan"
    );
    assert!(originate.get_all("Variable").any(|v| v == format!("MAYDAY_CONTEXT={}-agents", t.slug)), "{originate:?}");
    assert!(
        originate.get("CallerID").is_some_and(|c| c.ends_with("<1001>")),
        "the agent's own caller ID, as when it dials from the phone: {originate:?}"
    );
    app.agrees(&sim, &t, "the click-to-dial call").await;

    // Nobody else's phone, no other tenant's call, no garbage.
    let theirs =
        app.post("/api/calls/dial", Some(&token), &json!({"number": "0700123456", "agent_id": other.id})).await;
    assert_eq!(theirs.status, 403, "{}", theirs.body);
    let bad = app.post("/api/calls/dial", Some(&token), &json!({"number": "0700,123"})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (422, Some("number")), "{}", bad.body);
    let other_token = app.login(other).await;
    let hang_theirs = app.post(&format!("/api/calls/{linkedid}/hangup"), Some(&other_token), &json!({})).await;
    assert_eq!(hang_theirs.status, 404, "an agent ends only its own calls: {}", hang_theirs.body);
    // Another tenant, on a PBX of its own.
    let sim_b = start_sim(directory("x-", None, 1)).await;
    let b = app.live_tenant(app.pbx_for(&sim_b).await, &format!("d{}", suffix()), "x-", 1).await;
    let cross = app.post(&format!("/api/calls/{linkedid}/hangup"), Some(&b.manager_token), &json!({})).await;
    assert_eq!(cross.status, 404, "{}", cross.body);
    let cross_dial = app
        .post("/api/calls/dial", Some(&t.manager_token), &json!({"number": "0700123456", "agent_id": b.agents[0].id}))
        .await;
    assert_eq!((cross_dial.status, cross_dial.body["error"]["field"].as_str()), (422, Some("agent_id")));

    // The agent hangs up from the console: the call ends at the PBX.
    let hung = app.post(&format!("/api/calls/{linkedid}/hangup"), Some(&token), &json!({})).await;
    assert_eq!(hung.status, 204, "{}", hung.body);
    until_calls(&app, &token, "the call is gone", |c| c.iter().all(|c| c["linkedid"] != linkedid)).await;
    assert!(sim.truth().await.expect("truth").calls.is_empty(), "the PBX ended it");
    app.agrees(&sim, &t, "after the hangup").await;
    // A manager rings an agent's phone for it.
    let for_agent = app
        .post("/api/calls/dial", Some(&t.manager_token), &json!({"number": "0700999888", "agent_id": other.id}))
        .await;
    assert_eq!((for_agent.status, for_agent.body["agent_id"].as_u64()), (202, Some(other.id)), "{}", for_agent.body);
    sim.shutdown();
    sim_b.shutdown();
}

#[actix_web::test]
async fn a_talking_agent_transfers_its_caller_to_another_agent() {
    let (sim, app, t) = setup().await;
    let token = app.login(&t.agents[0]).await;
    let call = sim.place_call("sales", "0700555444").await.expect("a caller");
    sim.ring(call, Some("PJSIP/1001")).await.expect("1001 rings");
    let ringing = until_calls(&app, &token, "the call rings", |c| c.iter().any(|c| c["state"] == "ringing")).await;
    let linkedid = ringing[0]["linkedid"].as_str().expect("linkedid").to_string();
    // Only rung, the agent is not on the call yet; a manager sees it, but there is nothing
    // to transfer before an agent talks.
    let early = app.post(&format!("/api/calls/{linkedid}/transfer"), Some(&token), &json!({"to": "1002"})).await;
    assert_eq!(early.status, 404, "{}", early.body);
    let early = app.post(&format!("/api/calls/{linkedid}/hangup"), Some(&token), &json!({})).await;
    assert_eq!(early.status, 404, "a ringing agent cannot end the caller's call: {}", early.body);
    let early =
        app.post(&format!("/api/calls/{linkedid}/transfer"), Some(&t.manager_token), &json!({"to": "1002"})).await;
    assert_eq!(early.status, 409, "{}", early.body);
    sim.answer(call).await.expect("1001 answers");
    app.agrees(&sim, &t, "the agent talks").await;

    let bad = app.post(&format!("/api/calls/{linkedid}/transfer"), Some(&token), &json!({"to": "1002;x"})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (422, Some("to")), "{}", bad.body);
    let done = app.post(&format!("/api/calls/{linkedid}/transfer"), Some(&token), &json!({"to": "1002"})).await;
    assert_eq!(done.status, 204, "{}", done.body);
    let sent = sim.received_actions().await.expect("actions");
    let setvar = sent.iter().find(|a| a.action_name() == Some("Setvar")).expect("a Setvar");
    let talking = &ringing[0];
    assert_eq!(
        (setvar.get("Channel"), setvar.get("Variable"), setvar.get("Value")),
        (talking["caller_channel"].as_str(), Some("MAYDAY_CONTEXT"), Some(format!("{}-agents", t.slug).as_str())),
        "the caller runs the tenant's rows"
    );
    let blind = sent.iter().find(|a| a.action_name() == Some("BlindTransfer")).expect("a BlindTransfer");
    assert!(blind.get("Channel").is_some_and(|c| c.starts_with("PJSIP/1001-")), "the agent transfers: {blind:?}");
    assert_eq!((blind.get("Context"), blind.get("Exten")), (Some("mayday-launch"), Some("1002")));
    // The caller now rings 1002; 1001 is free (wrap-up or available, as the truth says).
    app.agrees(&sim, &t, "after the transfer").await;
    let agents = app.get("/api/live/agents", Some(&t.manager_token)).await;
    let of = |id: u64| agents.body.as_array().and_then(|a| a.iter().find(|x| x["id"] == id).cloned()).expect("agent");
    assert_eq!(of(t.agents[1].id)["status"], "ringing", "{}", agents.body);
    assert_ne!(of(t.agents[0].id)["status"], "on_call", "{}", agents.body);
    sim.shutdown();
}

#[actix_web::test]
async fn an_agent_on_an_outbound_call_transfers_the_far_end_not_itself() {
    let (sim, app, t) = setup().await;
    let token = app.login(&t.agents[0]).await;
    let call = sim.outbound_call("1001", "0700333222").await.expect("the agent dials out");
    sim.answer(call).await.expect("the far end answers");
    let calls = until_calls(&app, &token, "the call is up", |c| c.iter().any(|c| c["state"] == "talking")).await;
    let (linkedid, own, far) = (
        calls[0]["linkedid"].as_str().expect("linkedid").to_string(),
        calls[0]["caller_channel"].as_str().expect("the agent's channel").to_string(),
        calls[0]["agent_channel"].as_str().expect("the far end").to_string(),
    );
    assert!(own.starts_with("PJSIP/1001-"), "{own}");
    let r = app.post(&format!("/api/calls/{linkedid}/transfer"), Some(&token), &json!({"to": "1002"})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let sent = sim.received_actions().await.expect("actions");
    let setvar = sent.iter().find(|a| a.action_name() == Some("Setvar")).expect("a Setvar");
    let blind = sent.iter().find(|a| a.action_name() == Some("BlindTransfer")).expect("a BlindTransfer");
    assert_eq!(setvar.get("Channel"), Some(far.as_str()), "the far end runs the tenant's rows");
    assert_eq!(blind.get("Channel"), Some(own.as_str()), "the agent's own channel transfers");
    sim.shutdown();
}
