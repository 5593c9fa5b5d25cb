//! Call routing: DIDs and caller IDs, inbound and outbound routes, time conditions, IVR
//! menus and prompts, compiled into table `extensions`; checked row by row, and by an
//! evaluator that follows the rows the way Asterisk would for a dialed number.

use std::collections::HashMap;

use mayday::db::asterisk as rt;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, suffix, Answer, Options, TestApp, TestTenant};

fn rnd_did() -> String {
    // Unique across runs: the shared database keeps DIDs of earlier runs (DIDs are unique).
    let n: u64 = rand::random::<u64>() % 10_000_000_000;
    format!("03{n:010}")
}

async fn ok(a: Answer, what: &str) -> Value {
    assert!(a.status == 200 || a.status == 201, "{what}: {} {}", a.status, a.body);
    a.body
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let a = app.post(path, Some(token), &body).await;
    ok(a, path).await
}

fn id(v: &Value) -> u64 {
    v["id"].as_u64().expect("id")
}

async fn rows(app: &TestApp, context: &str) -> Vec<(String, i32, String, String)> {
    let mut conn = app.state.db.get().await.expect("db");
    rt::context_rows(&mut conn, context)
        .await
        .expect("rows")
        .into_iter()
        .map(|r| (r.exten, r.priority, r.app, r.appdata))
        .collect()
}

fn expect(list: &[(&str, i32, &str, &str)]) -> Vec<(String, i32, String, String)> {
    list.iter().map(|(e, p, a, d)| (e.to_string(), *p, a.to_string(), d.to_string())).collect()
}

/// How specific a pattern is at each position, as Asterisk orders patterns (ext_cmp: a
/// literal beats N beats Z beats X beats `.`/`!`); exact extensions beat every pattern.
fn specificity(p: &str) -> Vec<u32> {
    let Some(p) = p.strip_prefix('_') else { return vec![0] };
    let mut out = vec![1];
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let weight = match b[i] {
            b'X' => 10,
            b'Z' => 9,
            b'N' => 8,
            b'.' | b'!' => 1000,
            b'[' => {
                let end = b[i..].iter().position(|&c| c == b']').unwrap_or(0);
                i += end;
                5
            }
            _ => 1,
        };
        out.push(weight);
        i += 1;
    }
    out
}

/// Asterisk's substitution of `${...}` in application data (nested, innermost first) for
/// what the generated rows use: `${EXTEN}`, `${EXTEN:n}`, `${FILTER(chars,value)}` and
/// channel variables.
fn expand(s: &str, number: &str, local: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let mut depth = 0;
        let mut end = rest.len();
        for (i, c) in rest[start..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 1 => {
                    end = start + i;
                    break;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        let expr = expand(&rest[start + 2..end], number, local);
        let value = if let Some(args) = expr.strip_prefix("FILTER(").and_then(|a| a.strip_suffix(')')) {
            let (allowed, value) = args.split_once(',').unwrap_or((args, ""));
            let ranges: Vec<(char, char)> = {
                let chars: Vec<char> = allowed.chars().collect();
                let mut r = Vec::new();
                let mut i = 0;
                while i < chars.len() {
                    if i + 2 < chars.len() && chars[i + 1] == '-' {
                        r.push((chars[i], chars[i + 2]));
                        i += 3;
                    } else {
                        r.push((chars[i], chars[i]));
                        i += 1;
                    }
                }
                r
            };
            value.chars().filter(|c| ranges.iter().any(|(lo, hi)| (lo..=hi).contains(&c))).collect()
        } else {
            match expr.split_once(':') {
                Some(("EXTEN", n)) => number.get(n.parse::<usize>().unwrap_or(0)..).unwrap_or("").to_string(),
                _ if expr == "EXTEN" => number.to_string(),
                _ => local.get(&expr).cloned().unwrap_or_default(),
            }
        };
        out.push_str(&value);
        rest = &rest[(end + 1).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

/// Follows the rows of `context` for `number` with the channel's variables until a
/// `Gosub` (returned expanded) or a `Hangup`, as Asterisk's realtime switch would.
fn evaluate(rows: &[(String, i32, String, String)], number: &str, vars: &HashMap<&str, &str>) -> Option<String> {
    let mut candidates: Vec<&str> =
        rows.iter().map(|r| r.0.as_str()).filter(|e| mayday::dialplan::pattern::matches(e, number)).collect();
    candidates.sort_by_key(|e| specificity(e));
    candidates.dedup();
    let exten = candidates.first()?;
    let mut local: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let expand = |s: &str, local: &HashMap<String, String>| expand(s, number, local);
    let mut steps: Vec<&(String, i32, String, String)> = rows.iter().filter(|r| r.0 == *exten).collect();
    steps.sort_by_key(|r| r.1);
    for (_, _, app, data) in steps {
        match app.as_str() {
            "Set" => {
                let (k, v) = data.split_once('=').expect("Set(name=value)");
                let v = expand(v, &local);
                local.insert(k.trim_start_matches('_').to_string(), v);
            }
            "Gosub" => return Some(format!("Gosub({})", expand(data, &local))),
            _ => return None,
        }
    }
    None
}

struct Fixture {
    t: TestTenant,
    admin: String,
    trunk: Value,
    did45: String,
    default_did: String,
    queue: Value,
    agent: Value,
    ivr: Value,
    tc: Value,
    inbound: Value,
}

async fn fixture(app: &TestApp) -> Fixture {
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let trunk = post(
        app,
        &admin,
        "/api/trunks",
        // Its own host: a trunk that does not register is identified by it, and no two
        // tenants' trunks may be.
        json!({"name": "carrier", "host": format!("sip-{}.carrier.example", suffix()), "is_default": true, "register": false}),
    )
    .await;
    let default_did = rnd_did();
    post(app, &admin, "/api/dids", json!({"did": default_did, "label": "Main", "trunk_id": id(&trunk)})).await;
    // Prefixes 43..49, each tied to one DID; 45 is the example's.
    let mut did45 = String::new();
    for prefix in 43..=49 {
        let did = rnd_did();
        let label = if prefix == 45 { "LaCueva".to_string() } else { format!("Outlet {prefix}") };
        post(
            app,
            &admin,
            "/api/dids",
            json!({"did": did, "label": label, "trunk_id": id(&trunk), "dial_prefix": prefix}),
        )
        .await;
        if prefix == 45 {
            did45 = did;
        }
    }
    let queue = post(app, &admin, "/api/queues", json!({"name": "support"})).await;
    let agent = post(
        app,
        &admin,
        "/api/agents",
        json!({"username": "amani", "password": "agent password 1", "extension": "1001", "display_name": "Amani", "callerid": default_did}),
    )
    .await;
    let ivr = post(
        app,
        &admin,
        "/api/ivr",
        json!({"name": "Welcome", "timeout_secs": 4, "retries": 1, "options": {
            "1": {"type": "queue", "id": id(&queue)},
            "2": {"type": "agent", "id": id(&agent)},
            "0": {"type": "hangup"},
        }}),
    )
    .await;
    let tc = post(
        app,
        &admin,
        "/api/time-conditions",
        json!({"name": "Business hours",
               "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "17:00"},
                          {"days": ["sat"], "from": "09:00", "to": "13:00"}],
               "closed_dates": [{"date": "2026-12-25", "name": "Christmas"}]}),
    )
    .await;
    let inbound = post(
        app,
        &admin,
        "/api/routes/inbound",
        json!({"name": "Main line", "pattern": default_did, "destination": {"type": "ivr", "id": id(&ivr)},
               "time_condition_id": id(&tc), "fallback": {"type": "queue", "id": id(&queue)}}),
    )
    .await;
    post(app, &admin, "/api/routes/outbound", json!({"name": "Local", "position": 1, "patterns": ["_0X."]})).await;
    post(
        app,
        &admin,
        "/api/routes/outbound",
        json!({"name": "International", "position": 2, "patterns": ["_00X."], "strip_digits": 2, "prepend": "+", "callerid_policy": "agent"}),
    )
    .await;
    Fixture { t, admin, trunk, did45, default_did, queue, agent, ivr, tc, inbound }
}

#[actix_web::test]
async fn the_generated_dialplan_equals_the_hand_written_rows_and_dials_as_the_old_system() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let slug = &f.t.slug;
    let (trunk, ivr, inbound) = (format!("{slug}-carrier"), id(&f.ivr), id(&f.inbound));
    let agents_ctx = format!("{slug}-agents");
    let got = rows(&app, &agents_ctx).await;
    let set_trunk = format!("MAYDAY_TRUNK={trunk}");
    let mut want: Vec<(String, i32, String, String)> = expect(&[
        ("1001", 1, "Dial", &format!("PJSIP/{slug}-1001,30")),
        ("1001", 2, "Hangup", ""),
        ("_00X.", 1, "Set", &set_trunk),
        ("_00X.", 2, "Gosub", "outbound-dial,s,1(+${FILTER(0-9*#+,${EXTEN:2})},${MAYDAY_DID})"),
        ("_00X.", 3, "Hangup", ""),
        ("_0X.", 1, "Set", &set_trunk),
        ("_0X.", 2, "Gosub", "outbound-dial,s,1(${FILTER(0-9*#+,${EXTEN})},${MAYDAY_DID})"),
        ("_0X.", 3, "Hangup", ""),
    ]);
    // `_<NN>0X.` for each prefix, presenting its DID (the international route keeps the
    // agent's DID, so no prefixed rows for it).
    let mut conn = app.state.db.get().await.expect("db");
    let dids =
        mayday::db::repos::routing::did::all_of(&mut conn, mayday::domain::TenantId(f.t.id)).await.expect("dids");
    drop(conn);
    for d in dids.iter().filter(|d| d.dial_prefix.is_some()) {
        let p = d.dial_prefix.expect("prefix");
        let exten = format!("_{p}0X.");
        want.extend(expect(&[
            (&exten, 1, "Set", &set_trunk),
            (&exten, 2, "Gosub", &format!("outbound-dial,s,1(${{FILTER(0-9*#+,${{EXTEN:2}})}},{})", d.did)),
            (&exten, 3, "Hangup", ""),
        ]));
    }
    want.sort();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    assert_eq!(got_sorted, want, "rows of {agents_ctx}");

    // The two dialing examples of the old system, and the prepend route.
    let vars = HashMap::from([("MAYDAY_DID", f.default_did.as_str())]);
    assert_eq!(
        evaluate(&got, "0700123456", &vars),
        Some(format!("Gosub(outbound-dial,s,1(0700123456,{}))", f.default_did))
    );
    assert_eq!(
        evaluate(&got, "450700123456", &vars),
        Some(format!("Gosub(outbound-dial,s,1(0700123456,{}))", f.did45))
    );
    assert_eq!(
        evaluate(&got, "00256700123456", &vars),
        Some(format!("Gosub(outbound-dial,s,1(+256700123456,{}))", f.default_did))
    );
    // A SIP user part may hold commas: they never shift outbound-dial's DID or trunk.
    assert_eq!(
        evaluate(&got, "0700123456,+15550000,other-trunk", &vars),
        Some(format!("Gosub(outbound-dial,s,1(0700123456+15550000,{}))", f.default_did))
    );
    // The agent's phone carries its default DID.
    let mut conn = app.state.db.get().await.expect("db");
    let e = rt::endpoint(&mut conn, &format!("{slug}-1001")).await.expect("read").expect("endpoint");
    assert_eq!(e.set_var, Some(format!("MAYDAY_CONTEXT={slug}-agents;MAYDAY_DID={}", f.default_did)));
    drop(conn);

    // Inbound: the DID row in mayday-inbound, then hours -> IVR, else the queue.
    let rt_ctx = format!("{slug}-rt");
    let inbound_rows: Vec<_> =
        rows(&app, "mayday-inbound").await.into_iter().filter(|r| r.0 == f.default_did).collect();
    let did = f.default_did.as_str();
    assert_eq!(
        inbound_rows,
        expect(&[
            (did, 1, "Set", &format!("__MAYDAY_TENANT={slug}")),
            (did, 2, "Set", "__MAYDAY_INBOUND_DID=${FILTER(0-9*#+,${EXTEN})}"),
            (did, 3, "Set", &format!("MAYDAY_RT={rt_ctx}")),
            (did, 4, "Goto", &format!("mayday-rt,in-{inbound},1")),
        ])
    );
    let tz = "Africa/Nairobi";
    let (i, o, c) = (format!("in-{inbound}"), format!("in-{inbound}-o"), format!("in-{inbound}-c"));
    let (m, q) = (format!("ivr-{ivr}"), format!("{slug}-support"));
    let read = "MAYDAY_DIGIT,silence/1,1,,1,4".to_string();
    let mut want = expect(&[
        (&i, 1, "GotoIf", &format!("$[\"${{STRFTIME(${{EPOCH}},{tz},%Y-%m-%d)}}\" = \"2026-12-25\"]?{c},1")),
        (&i, 2, "GotoIfTime", &format!("08:00-17:00,mon&tue&wed&thu&fri,*,*,{tz}?{o},1")),
        (&i, 3, "GotoIfTime", &format!("09:00-13:00,sat,*,*,{tz}?{o},1")),
        (&i, 4, "Goto", &format!("{c},1")),
        (&o, 1, "Goto", &format!("{m},1")),
        (&c, 1, "Queue", &q),
        (&c, 2, "Hangup", ""),
        (&m, 1, "Answer", ""),
        (&m, 2, "Set", "MAYDAY_IVR_TRY=0"),
        (&m, 3, "Set", "MAYDAY_IVR_TRY=$[${MAYDAY_IVR_TRY} + 1]"),
        (&m, 4, "Read", &read),
        (&m, 5, "GotoIf", &format!("$[\"${{MAYDAY_DIGIT}}\" = \"0\"]?{m}-0,1")),
        (&m, 6, "GotoIf", &format!("$[\"${{MAYDAY_DIGIT}}\" = \"1\"]?{m}-1,1")),
        (&m, 7, "GotoIf", &format!("$[\"${{MAYDAY_DIGIT}}\" = \"2\"]?{m}-2,1")),
        (&m, 8, "GotoIf", &format!("$[\"${{MAYDAY_DIGIT}}\" = \"\"]?{m}-t,1")),
        (&m, 9, "Goto", &format!("{m}-i,1")),
        (&format!("{m}-0"), 1, "Hangup", ""),
        (&format!("{m}-1"), 1, "Queue", &q),
        (&format!("{m}-1"), 2, "Hangup", ""),
        (&format!("{m}-2"), 1, "Dial", &format!("PJSIP/{slug}-1001,30")),
        (&format!("{m}-2"), 2, "Hangup", ""),
        (&format!("{m}-t"), 1, "GotoIf", &format!("$[${{MAYDAY_IVR_TRY}} < 2]?{m},3")),
        (&format!("{m}-t"), 2, "Goto", &format!("{m}-t-x,1")),
        (&format!("{m}-t-x"), 1, "Hangup", ""),
        (&format!("{m}-i"), 1, "Playback", "option-is-invalid"),
        (&format!("{m}-i"), 2, "GotoIf", &format!("$[${{MAYDAY_IVR_TRY}} < 2]?{m},3")),
        (&format!("{m}-i"), 3, "Goto", &format!("{m}-i-x,1")),
        (&format!("{m}-i-x"), 1, "Hangup", ""),
    ]);
    want.sort();
    let mut got = rows(&app, &rt_ctx).await;
    got.sort();
    assert_eq!(got, want, "rows of {rt_ctx}");

    // The same, as support sees it.
    let text = app.get("/api/dialplan/agents", Some(&f.admin)).await;
    assert_eq!(text.status, 200);
    let text = text.body.as_str().expect("text").to_string();
    assert!(text.starts_with(&format!("[{agents_ctx}]\n")), "{text}");
    assert!(
        text.contains("exten => _0X.,2,Gosub(outbound-dial,s,1(${FILTER(0-9*#+,${EXTEN})},${MAYDAY_DID}))\n"),
        "{text}"
    );
    let inbound_text =
        app.get("/api/dialplan/inbound", Some(&f.admin)).await.body.as_str().unwrap_or_default().to_string();
    assert!(inbound_text.contains(&format!("exten => {did},1,Set(__MAYDAY_TENANT={slug})")));
    assert_eq!(app.get("/api/dialplan/other-tenant-agents", Some(&f.admin)).await.status, 404);
    let _ = (&f.trunk, &f.tc, &f.queue, &f.agent);
}

#[actix_web::test]
async fn the_did_dropdown_keeps_the_old_shape_and_order_and_stays_in_its_tenant() {
    let app = spawn_app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    let (ta, tb) = (app.login(&a.admin).await, app.login(&b.admin).await);
    let (d1, d2, d3, d4) = (rnd_did(), rnd_did(), rnd_did(), rnd_did());
    post(&app, &ta, "/api/dids", json!({"did": d1, "label": "Zanzibar"})).await;
    post(&app, &ta, "/api/dids", json!({"did": d2, "label": "LaCueva"})).await;
    post(&app, &ta, "/api/dids", json!({"did": d3, "label": "Inbound only", "allow_outbound": false})).await;
    post(&app, &ta, "/api/dids", json!({"did": d4, "label": "Old", "active": false})).await;
    post(&app, &tb, "/api/dids", json!({"did": rnd_did(), "label": "B's"})).await;
    let agent = app.user(mayday::domain::TenantId(a.id), &a.slug, mayday::domain::Role::Agent).await;
    let agent_token = app.login(&agent).await;
    let list = app.get("/api/users/inbound_route/dids", Some(&agent_token)).await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.body,
        json!([{"did": d2, "label": format!("LaCueva ({d2})")}, {"did": d1, "label": format!("Zanzibar ({d1})")}])
    );
    assert_eq!(app.get("/api/users/inbound_route/dids", None).await.status, 401);
    // No outbound inventory: the DIDs of enabled inbound routes.
    let c = app.tenant().await;
    let tc = app.login(&c.admin).await;
    let d5 = rnd_did();
    post(&app, &tc, "/api/dids", json!({"did": d5, "label": "Reception", "allow_outbound": false})).await;
    let q = post(&app, &tc, "/api/queues", json!({"name": "front"})).await;
    post(
        &app,
        &tc,
        "/api/routes/inbound",
        json!({"name": "Front desk", "pattern": d5, "destination": {"type": "queue", "id": id(&q)}}),
    )
    .await;
    let list = app.get("/api/users/inbound_route/dids", Some(&tc)).await;
    assert_eq!(list.body, json!([{"did": d5, "label": format!("Front desk ({d5})")}]));
}

#[actix_web::test]
async fn a_disabled_tenant_has_no_dialplan_until_it_is_enabled_again() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let slug = f.t.slug.clone();
    let contexts = [format!("{slug}-agents"), format!("{slug}-rt")];
    let mut before = Vec::new();
    for c in &contexts {
        before.push(rows(&app, c).await);
    }
    let inbound_before = rows(&app, "mayday-inbound").await;
    assert!(inbound_before.iter().any(|r| r.0 == f.default_did), "the DID is routed");
    assert!(before.iter().all(|r| !r.is_empty()));
    // The agent's phone and the trunk, as Asterisk reads them.
    let (phone, trunk) = (format!("{slug}-1001"), format!("{slug}-carrier"));
    let pjsip = async |app: &TestApp| {
        let mut conn = app.state.db.get().await.expect("db");
        let mut out = Vec::new();
        for id in [&phone, &trunk] {
            out.push((
                rt::endpoint(&mut conn, id).await.expect("endpoint"),
                rt::aor(&mut conn, id).await.expect("aor"),
            ));
        }
        out
    };
    let pjsip_before = pjsip(&app).await;
    assert!(pjsip_before.iter().all(|(e, a)| e.is_some() && a.is_some()), "provisioned");
    let root = app.superadmin().await;
    let root = app.login(&root).await;
    let path = format!("/api/tenants/{}", f.t.id);
    assert_eq!(app.put(&path, Some(&root), &json!({"enabled": false})).await.status, 200);
    for c in &contexts {
        assert!(rows(&app, c).await.is_empty(), "{c} is empty while the tenant is disabled");
    }
    assert!(!rows(&app, "mayday-inbound").await.iter().any(|r| r.0 == f.default_did), "the DID is not answered");
    assert!(
        pjsip(&app).await.iter().all(|(e, a)| e.is_none() && a.is_none()),
        "a disabled tenant's phones and trunks neither register nor call"
    );
    assert_eq!(app.put(&path, Some(&root), &json!({"enabled": true})).await.status, 200);
    for (c, b) in contexts.iter().zip(&before) {
        assert_eq!(&rows(&app, c).await, b, "{c} is back");
    }
    assert!(rows(&app, "mayday-inbound").await.iter().any(|r| r.0 == f.default_did));
    assert_eq!(pjsip(&app).await, pjsip_before, "the phone and the trunk are back as they were");
}

#[actix_web::test]
async fn rows_an_older_mayday_wrote_are_rewritten_when_the_server_starts() {
    use diesel::sql_types::{BigInt, Text, Unsigned};
    use diesel_async::RunQueryDsl;
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let agents_ctx = format!("{}-agents", f.t.slug);
    let current = rows(&app, &agents_ctx).await;
    // What generation 1 wrote: the dialed number unfiltered.
    let mut conn = app.state.db.get().await.expect("db");
    diesel::sql_query("UPDATE extensions SET appdata = 'outbound-dial,s,1(${EXTEN},${MAYDAY_DID})' WHERE context = ? AND exten = '_0X.' AND priority = 2")
        .bind::<Text, _>(&agents_ctx)
        .execute(&mut conn)
        .await
        .expect("old row");
    diesel::sql_query("UPDATE tenants SET dialplan_generation = 1 WHERE id = ?")
        .bind::<Unsigned<BigInt>, _>(f.t.id)
        .execute(&mut conn)
        .await
        .expect("old generation");
    drop(conn);
    assert_ne!(rows(&app, &agents_ctx).await, current);

    let again = spawn_app_with(Options { db_name: Some(app.db_name.clone()), ..Default::default() }).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while rows(&again, &agents_ctx).await != current {
        assert!(std::time::Instant::now() < deadline, "the old rows were never rewritten");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn a_failure_in_the_middle_of_regenerating_leaves_the_previous_dialplan_intact() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let slug = f.t.slug.clone();
    let before = (rows(&app, &format!("{slug}-agents")).await, rows(&app, &format!("{slug}-rt")).await);
    // A row for a new DID already exists in mayday-inbound and is not this tenant's: the
    // insert of the new rows fails after the old ones were deleted.
    let did = rnd_did();
    post(&app, &f.admin, "/api/dids", json!({"did": did, "label": "Second"})).await;
    let before = (before.0.clone(), before.1.clone(), rows(&app, "mayday-inbound").await);
    let mut conn = app.state.db.get().await.expect("db");
    let foreign = rt::ExtensionRow {
        context: "mayday-inbound".into(),
        exten: did.clone(),
        priority: 1,
        app: "NoOp".into(),
        appdata: "not Mayday's".into(),
    };
    rt::insert_rows(&mut conn, std::slice::from_ref(&foreign)).await.expect("foreign row");
    drop(conn);
    let r = app
        .post(
            "/api/routes/inbound",
            Some(&f.admin),
            &json!({"name": "Second line", "pattern": did, "destination": {"type": "queue", "id": id(&f.queue)}}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(rows(&app, &format!("{slug}-agents")).await, before.0, "the agents context is intact");
    assert_eq!(rows(&app, &format!("{slug}-rt")).await, before.1, "the rt context is intact");
    // This tenant's rows only: other tests change other tenants' rows meanwhile.
    let marker = format!("__MAYDAY_TENANT={slug}");
    let mine = |all: &[(String, i32, String, String)]| -> Vec<(String, i32, String, String)> {
        let extens: Vec<&String> = all.iter().filter(|r| r.3.contains(&marker)).map(|r| &r.0).collect();
        all.iter().filter(|r| r.0 != did && extens.contains(&&r.0)).cloned().collect()
    };
    let inbound_now = mine(&rows(&app, "mayday-inbound").await);
    let inbound_before = mine(&before.2);
    assert!(!inbound_before.is_empty());
    assert!(inbound_before.iter().all(|r| inbound_now.contains(r)), "this tenant's DID rows are intact");
    let routes = app.get("/api/routes/inbound", Some(&f.admin)).await;
    assert_eq!(routes.body.as_array().map(Vec::len), Some(1), "the route was not written");
    let mut conn = app.state.db.get().await.expect("db");
    rt::remove_extens(&mut conn, "mayday-inbound", std::slice::from_ref(&did)).await.expect("clean up");
}

#[actix_web::test]
async fn bad_routing_input_names_the_field_and_writes_nothing() {
    let app = spawn_app_with(Options {
        env: vec![
            ("PROMPT_MAX_BYTES".into(), "4000".into()),
            ("PROMPT_DIR".into(), std::env::temp_dir().join(format!("prompts-{}", suffix())).display().to_string()),
        ],
        ..Default::default()
    })
    .await;
    let f = fixture(&app).await;
    let other = app.tenant().await;
    let other_admin = app.login(&other.admin).await;
    let other_did = rnd_did();
    post(&app, &other_admin, "/api/dids", json!({"did": other_did, "label": "Theirs"})).await;
    let inbound_only = rnd_did();
    post(&app, &f.admin, "/api/dids", json!({"did": inbound_only, "label": "In", "allow_outbound": false})).await;
    let before = rows(&app, &format!("{}-agents", f.t.slug)).await;
    let agent_path = format!("/api/agents/{}", id(&f.agent));
    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        ("POST", "/api/dids", json!({"did": rnd_did(), "label": "x", "dial_prefix": 42}), 422, "dial_prefix"),
        ("POST", "/api/dids", json!({"did": rnd_did(), "label": "x", "dial_prefix": 50}), 422, "dial_prefix"),
        ("POST", "/api/dids", json!({"did": rnd_did(), "label": "x", "dial_prefix": 45}), 409, "dial_prefix"),
        ("POST", "/api/dids", json!({"did": "12ab", "label": "x"}), 422, "did"),
        ("PUT", &agent_path, json!({"callerid": inbound_only}), 422, "callerid"),
        ("PUT", &agent_path, json!({"callerid": other_did}), 422, "callerid"),
        (
            "POST",
            "/api/time-conditions",
            json!({"name": "Overlap", "weekly": [{"days": ["mon"], "from": "08:00", "to": "12:00"}, {"days": ["mon"], "from": "11:00", "to": "14:00"}]}),
            422,
            "weekly",
        ),
        (
            "POST",
            "/api/ivr",
            json!({"name": "Broken", "options": {"1": {"type": "queue", "id": 999999999}}}),
            422,
            "options.1",
        ),
        ("POST", "/api/ivr", json!({"name": "Broken", "options": {"12": {"type": "hangup"}}}), 422, "options"),
        (
            "POST",
            "/api/routes/inbound",
            json!({"name": "Theirs", "pattern": other_did, "destination": {"type": "hangup"}}),
            422,
            "pattern",
        ),
        (
            "POST",
            "/api/routes/inbound",
            json!({"name": "Broad", "pattern": "_X.", "destination": {"type": "hangup"}}),
            422,
            "pattern",
        ),
        (
            "POST",
            "/api/routes/inbound",
            json!({"name": "Shell", "pattern": inbound_only, "destination": {"type": "external", "number": "${SHELL(id)}"}}),
            422,
            "destination",
        ),
        (
            "POST",
            "/api/ivr",
            json!({"name": "Shift", "options": {"1": {"type": "external", "number": "1,+15550000,other"}}}),
            422,
            "options.1",
        ),
        ("POST", "/api/routes/outbound", json!({"name": "Bad", "patterns": ["_0X.;Hangup"]}), 422, "patterns"),
        (
            "POST",
            "/api/routes/outbound",
            json!({"name": "Bad", "patterns": ["_0X."], "callerid_policy": "fixed"}),
            422,
            "fixed_did_id",
        ),
    ];
    for (method, path, body, status, field) in cases {
        let r = if method == "POST" {
            app.post(path, Some(&f.admin), &body).await
        } else {
            app.put(path, Some(&f.admin), &body).await
        };
        assert_eq!(
            (r.status, r.body["error"]["field"].as_str()),
            (status, Some(field)),
            "{method} {path} {body}: {}",
            r.body
        );
    }
    // A DID inside another tenant's inbound pattern would take its calls (exact beats pattern).
    let theirs = format!("07{:06}", rand::random::<u32>() % 1_000_000);
    let r = app
        .post(
            "/api/routes/inbound",
            Some(&other_admin),
            &json!({"name": "Range", "pattern": format!("_{theirs}X."), "destination": {"type": "hangup"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let inside = app.post("/api/dids", Some(&f.admin), &json!({"did": format!("{theirs}55"), "label": "x"})).await;
    assert_eq!((inside.status, inside.body["error"]["field"].as_str()), (422, Some("did")), "{}", inside.body);
    // Prompts: not audio, too large.
    let not_audio = app
        .send_raw(
            actix_web::http::Method::POST,
            "/api/prompts?name=x",
            Some(&f.admin),
            "audio/wav",
            b"<html>not a wave</html>".to_vec(),
        )
        .await;
    assert_eq!(
        (not_audio.status, not_audio.body["error"]["field"].as_str()),
        (422, Some("file")),
        "{}",
        not_audio.body
    );
    let big = app
        .send_raw(actix_web::http::Method::POST, "/api/prompts?name=y", Some(&f.admin), "audio/wav", vec![0u8; 5000])
        .await;
    assert_eq!((big.status, big.body["error"]["field"].as_str()), (413, Some("file")), "{}", big.body);
    let text = app
        .send_raw(actix_web::http::Method::POST, "/api/prompts?name=z", Some(&f.admin), "text/plain", b"hello".to_vec())
        .await;
    assert_eq!(text.status, 415);
    // Nothing written.
    assert_eq!(rows(&app, &format!("{}-agents", f.t.slug)).await, before);
    assert_eq!(app.get("/api/dids", Some(&f.admin)).await.body.as_array().map(Vec::len), Some(9));
    assert_eq!(app.get("/api/time-conditions", Some(&f.admin)).await.body.as_array().map(Vec::len), Some(1));
    assert_eq!(app.get("/api/ivr", Some(&f.admin)).await.body.as_array().map(Vec::len), Some(1));
    assert_eq!(app.get("/api/routes/outbound", Some(&f.admin)).await.body.as_array().map(Vec::len), Some(2));
    assert_eq!(app.get("/api/prompts", Some(&f.admin)).await.body.as_array().map(Vec::len), Some(0));
    let agent = app.get(&agent_path, Some(&f.admin)).await;
    assert_eq!(agent.body["callerid"], f.default_did.as_str());
}

#[actix_web::test]
async fn deleting_what_a_route_uses_is_refused_naming_the_routes() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let checks = [
        (format!("/api/queues/{}", id(&f.queue)), vec!["Main line", "Welcome"]),
        (format!("/api/ivr/{}", id(&f.ivr)), vec!["Main line"]),
        (format!("/api/time-conditions/{}", id(&f.tc)), vec!["Main line"]),
        (format!("/api/agents/{}", id(&f.agent)), vec!["Welcome"]),
    ];
    for (path, names) in checks {
        let r = app.delete(&path, Some(&f.admin)).await;
        assert_eq!(r.status, 409, "{path}: {}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        for n in names {
            assert!(message.contains(n), "{path}: {message} names {n}");
        }
    }
    let route = post(
        &app,
        &f.admin,
        "/api/routes/outbound",
        json!({"name": "Via carrier", "patterns": ["_7X."], "trunk_ids": [id(&f.trunk)]}),
    )
    .await;
    let r = app.delete(&format!("/api/trunks/{}", id(&f.trunk)), Some(&f.admin)).await;
    assert_eq!(r.status, 409);
    assert!(r.body["error"]["message"].as_str().unwrap_or_default().contains("Via carrier"));
    // Once unused, they go.
    assert_eq!(app.delete(&format!("/api/routes/outbound/{}", id(&route)), Some(&f.admin)).await.status, 204);
    assert_eq!(app.delete(&format!("/api/routes/inbound/{}", id(&f.inbound)), Some(&f.admin)).await.status, 204);
    assert_eq!(app.delete(&format!("/api/time-conditions/{}", id(&f.tc)), Some(&f.admin)).await.status, 204);
    let r = app.delete(&format!("/api/ivr/{}", id(&f.ivr)), Some(&f.admin)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.delete(&format!("/api/queues/{}", id(&f.queue)), Some(&f.admin)).await.status, 204);
    let rt_rows = rows(&app, &format!("{}-rt", f.t.slug)).await;
    assert!(rt_rows.is_empty(), "no route, no menu: {rt_rows:?}");
}

fn wav_8k(seconds: usize) -> Vec<u8> {
    let pcm = vec![0u8; 16_000 * seconds];
    mayday::audio::wav_8k_mono(&pcm)
}

#[actix_web::test]
async fn prompts_reach_asterisk_by_signed_expiring_urls_in_http_mode() {
    let app = spawn_app_with(Options {
        env: vec![
            ("PROMPT_MODE".into(), "http".into()),
            ("PUBLIC_API_URL".into(), "https://mayday.example.com".into()),
        ],
        ..Default::default()
    })
    .await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let up = app
        .send_raw(actix_web::http::Method::POST, "/api/prompts?name=welcome", Some(&admin), "audio/wav", wav_8k(1))
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    assert_eq!(up.body["duration_ms"], 1000);
    let prompt = id(&up.body);
    let menu = post(
        &app,
        &admin,
        "/api/ivr",
        json!({"name": "Menu", "prompt_id": prompt, "options": {"1": {"type": "hangup"}}}),
    )
    .await;
    let rt_rows = rows(&app, &format!("{}-rt", t.slug)).await;
    let read = rt_rows.iter().find(|r| r.2 == "Read" && r.0 == format!("ivr-{}", id(&menu))).expect("Read row");
    let url = read.3.split(',').nth(1).expect("the prompt argument").to_string();
    assert!(url.starts_with(&format!("https://mayday.example.com/api/prompts/{prompt}/media/")), "{url}");
    assert!(url.ends_with(".wav") && url.len() > 100, "long enough for Asterisk's cache path: {url}");
    let path = url.trim_start_matches("https://mayday.example.com");
    let media = app.get(path, None).await;
    assert_eq!(media.status, 200, "Asterisk fetches it without a session");
    assert_eq!(media.headers.get("content-type").and_then(|v| v.to_str().ok()), Some("audio/wav"));
    let last = path.len() - 5;
    let flipped = if &path[last..last + 1] == "0" { "1" } else { "0" };
    let tampered = format!("{}{flipped}{}", &path[..last], &path[last + 1..]);
    assert_eq!(app.get(&tampered, None).await.status, 404);
    let parts: Vec<&str> = path.split('/').collect();
    let expired = format!("/api/prompts/{prompt}/media/{}/{}", 1_000_000, parts[parts.len() - 1]);
    assert_eq!(app.get(&expired, None).await.status, 404);
    // A prompt in use cannot go.
    assert_eq!(app.delete(&format!("/api/prompts/{prompt}"), Some(&admin)).await.status, 409);
}

#[actix_web::test]
async fn prompts_land_in_the_shared_directory_in_directory_mode() {
    let dir = std::env::temp_dir().join(format!("mayday-prompts-{}", suffix()));
    let app = spawn_app_with(Options {
        env: vec![
            ("PROMPT_DIR".into(), dir.display().to_string()),
            ("PROMPT_ASTERISK_DIR".into(), "/srv/mayday/prompts".into()),
        ],
        ..Default::default()
    })
    .await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    // A 44.1 kHz stereo upload is converted.
    let mut stereo = Vec::new();
    let frames = 44_100usize;
    stereo.extend_from_slice(b"RIFF");
    stereo.extend_from_slice(&(36 + frames as u32 * 4).to_le_bytes());
    stereo.extend_from_slice(b"WAVEfmt ");
    for v in [
        16u32.to_le_bytes().to_vec(),
        1u16.to_le_bytes().to_vec(),
        2u16.to_le_bytes().to_vec(),
        44_100u32.to_le_bytes().to_vec(),
        (44_100u32 * 4).to_le_bytes().to_vec(),
        4u16.to_le_bytes().to_vec(),
        16u16.to_le_bytes().to_vec(),
    ] {
        stereo.extend_from_slice(&v);
    }
    stereo.extend_from_slice(b"data");
    stereo.extend_from_slice(&(frames as u32 * 4).to_le_bytes());
    stereo.resize(44 + frames * 4, 0);
    let up = app
        .send_raw(actix_web::http::Method::POST, "/api/prompts?name=greeting", Some(&admin), "audio/wav", stereo)
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let prompt = id(&up.body);
    let file = dir.join(&t.slug).join(format!("prompt-{prompt}.wav"));
    let written = std::fs::read(&file).expect("the prompt file");
    assert_eq!(&written[24..28], &8_000u32.to_le_bytes(), "8 kHz");
    assert_eq!(&written[22..24], &1u16.to_le_bytes(), "mono");
    let menu = post(
        &app,
        &admin,
        "/api/ivr",
        json!({"name": "Menu", "prompt_id": prompt, "options": {"9": {"type": "hangup"}}}),
    )
    .await;
    let rt_rows = rows(&app, &format!("{}-rt", t.slug)).await;
    let read = rt_rows.iter().find(|r| r.2 == "Read" && r.0 == format!("ivr-{}", id(&menu))).expect("Read row");
    assert_eq!(read.3, format!("MAYDAY_DIGIT,/srv/mayday/prompts/{}/prompt-{prompt},1,,1,5", t.slug));
    let audio = app.get(&format!("/api/prompts/{prompt}/audio"), Some(&admin)).await;
    assert_eq!(audio.status, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_web::test]
async fn concurrent_changes_of_one_tenant_s_dialplan_all_go_through() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let agents_ctx = format!("{}-agents", f.t.slug);
    // Each request regenerates the tenant's dialplan; they queue up on the tenant's lock.
    let route = format!("/api/routes/inbound/{}", id(&f.inbound));
    let requests = (0..8).map(|i| {
        let (app, admin, route) = (&app, f.admin.clone(), route.clone());
        async move {
            if i % 2 == 0 {
                app.post("/api/dids", Some(&admin), &json!({"did": rnd_did(), "label": format!("Line {i}")})).await
            } else {
                app.put(&route, Some(&admin), &json!({"name": format!("Main {i}")})).await
            }
        }
    });
    for r in futures_util::future::join_all(requests).await {
        assert!(r.status == 200 || r.status == 201, "{}: {}", r.status, r.body);
    }
    assert!(!rows(&app, &agents_ctx).await.is_empty());
}
