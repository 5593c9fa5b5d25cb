//! Call history from table `cdr`, as Asterisk's cdr_adaptive_odbc writes it: legs grouped
//! into calls, scoped to the tenant, an agent seeing only its own calls.

use diesel::sql_types::{Integer, Nullable, Text};
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, suffix, TestApp};

/// One leg as cdr_adaptive_odbc writes it (times in UTC, `usegmtime = yes`).
struct Leg<'a> {
    linkedid: &'a str,
    uniqueid: &'a str,
    channel: &'a str,
    dstchannel: &'a str,
    src: &'a str,
    dst: &'a str,
    lastapp: &'a str,
    start: &'a str,
    answer: Option<&'a str>,
    end: &'a str,
    billsec: i32,
    disposition: &'a str,
    tenantid: &'a str,
}

async fn insert(app: &TestApp, l: Leg<'_>) {
    let mut conn = app.state.db.get().await.expect("db");
    diesel::sql_query(
        "INSERT INTO cdr (linkedid, uniqueid, channel, dstchannel, src, dst, lastapp, `start`, answer, `end`, \
         duration, billsec, disposition, tenantid, peertenantid, `sequence`) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TIMESTAMPDIFF(SECOND, `start`, `end`), ?, ?, ?, ?, 1)",
    )
    .bind::<Text, _>(l.linkedid)
    .bind::<Text, _>(l.uniqueid)
    .bind::<Text, _>(l.channel)
    .bind::<Text, _>(l.dstchannel)
    .bind::<Text, _>(l.src)
    .bind::<Text, _>(l.dst)
    .bind::<Text, _>(l.lastapp)
    .bind::<Text, _>(l.start)
    .bind::<Nullable<Text>, _>(l.answer)
    .bind::<Text, _>(l.end)
    .bind::<Integer, _>(l.billsec)
    .bind::<Text, _>(l.disposition)
    .bind::<Text, _>(l.tenantid)
    .bind::<Text, _>(l.tenantid)
    .execute(&mut conn)
    .await
    .expect("cdr row");
}

async fn agent(app: &TestApp, admin: &str, username: &str, extension: &str) -> (u64, String, String) {
    let password = "agent password 1";
    let r = app
        .post(
            "/api/agents",
            Some(admin),
            &json!({"username": username, "password": password, "extension": extension, "display_name": username}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (
        r.body["id"].as_u64().expect("id"),
        r.body["sip_username"].as_str().expect("endpoint").to_string(),
        password.into(),
    )
}

fn linkedids(v: &Value) -> Vec<&str> {
    v["items"].as_array().map(|a| a.iter().filter_map(|c| c["linkedid"].as_str()).collect()).unwrap_or_default()
}

#[actix_web::test]
async fn calls_come_from_cdr_grouped_by_call_and_scoped_to_the_tenant_and_the_agent() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let (amani, amani_ep, pw) = agent(&app, &admin, "amani", "1001").await;
    let (bob, bob_ep, _) = agent(&app, &admin, "bob", "1002").await;
    let trunk = format!("PJSIP/{}-carrier", t.slug);
    let (inbound, outbound) = (format!("in-{}", suffix()), format!("out-{}", suffix()));
    // A caller into a queue: Bob rings out, Amani answers (one leg per member tried, as
    // app_queue's CDRs are).
    for (i, (agent_ep, answer, billsec, disposition)) in
        [(&bob_ep, None, 0, "NO ANSWER"), (&amani_ep, Some("2026-11-30 09:00:07"), 50, "ANSWERED")]
            .into_iter()
            .enumerate()
    {
        insert(
            &app,
            Leg {
                linkedid: &inbound,
                uniqueid: &format!("{inbound}.{i}"),
                channel: &format!("{trunk}-0000000{i}"),
                dstchannel: &format!("PJSIP/{agent_ep}-0000001{i}"),
                src: "0700111222",
                dst: "0323300245",
                lastapp: "Queue",
                start: if i == 0 { "2026-11-30 09:00:00" } else { "2026-11-30 09:00:05" },
                answer,
                end: if i == 0 { "2026-11-30 09:00:05" } else { "2026-11-30 09:00:57" },
                billsec,
                disposition,
                tenantid: &t.slug,
            },
        )
        .await;
    }
    // Amani calls out through the trunk.
    insert(
        &app,
        Leg {
            linkedid: &outbound,
            uniqueid: &format!("{outbound}.0"),
            channel: &format!("PJSIP/{amani_ep}-00000020"),
            dstchannel: &format!("{trunk}-00000021"),
            src: "1001",
            dst: "0700123456",
            lastapp: "Dial",
            start: "2026-11-30 11:00:00",
            answer: Some("2026-11-30 11:00:04"),
            end: "2026-11-30 11:00:34",
            billsec: 30,
            disposition: "ANSWERED",
            tenantid: &t.slug,
        },
    )
    .await;
    // Another tenant's call, at the same time.
    let other = app.tenant().await;
    let other_call = format!("other-{}", suffix());
    insert(
        &app,
        Leg {
            linkedid: &other_call,
            uniqueid: &format!("{other_call}.0"),
            channel: &format!("PJSIP/{}-carrier-00000001", other.slug),
            dstchannel: &format!("PJSIP/{}-1001-00000002", other.slug),
            src: "0700999999",
            dst: "0323300999",
            lastapp: "Queue",
            start: "2026-11-30 10:00:00",
            answer: Some("2026-11-30 10:00:01"),
            end: "2026-11-30 10:01:00",
            billsec: 59,
            disposition: "ANSWERED",
            tenantid: &other.slug,
        },
    )
    .await;

    let all = app.get("/api/calls/history", Some(&admin)).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(
        (all.body["total"].as_i64(), linkedids(&all.body)),
        (Some(2), vec![outbound.as_str(), inbound.as_str()])
    );
    let call = &all.body["items"][1];
    assert_eq!(
        (call["direction"].as_str(), call["caller"].as_str(), call["called"].as_str(), call["disposition"].as_str()),
        (Some("inbound"), Some("0700111222"), Some("0323300245"), Some("answered"))
    );
    assert_eq!((call["duration_secs"].as_i64(), call["talk_secs"].as_i64()), (Some(57), Some(50)));
    let names: Vec<&str> =
        call["agents"].as_array().expect("agents").iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, ["bob", "amani"], "in the order their phones joined");
    assert_eq!(call["legs"].as_array().map(Vec::len), Some(2));
    assert_eq!(call["started_at"], "2026-11-30T09:00:00Z");
    let out = &all.body["items"][0];
    assert_eq!((out["direction"].as_str(), out["called"].as_str()), (Some("outbound"), Some("0700123456")));
    assert_eq!(out["agents"][0]["id"].as_u64(), Some(amani));

    // Filters, pages.
    let by_number = app.get("/api/calls/history?number=0700123", Some(&admin)).await;
    assert_eq!(linkedids(&by_number.body), [outbound.as_str()]);
    let since = app.get("/api/calls/history?from=2026-11-30T10:00:00Z", Some(&admin)).await;
    assert_eq!(linkedids(&since.body), [outbound.as_str()]);
    let page2 = app.get("/api/calls/history?per_page=1&page=2", Some(&admin)).await;
    assert_eq!((page2.body["total"].as_i64(), linkedids(&page2.body)), (Some(2), vec![inbound.as_str()]));
    let bob_only = app.get(&format!("/api/calls/history?agent_id={}", bob), Some(&admin)).await;
    assert_eq!(linkedids(&bob_only.body), [inbound.as_str()]);
    for (query, field) in [
        ("from=2026-11-30T10:00:00Z&to=2026-11-30T09:00:00Z", "to"),
        ("number=abc", "number"),
        ("agent_id=999999999", "agent_id"),
    ] {
        let r = app.get(&format!("/api/calls/history?{query}"), Some(&admin)).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (422, Some(field)), "{query}: {}", r.body);
    }
    assert_eq!(app.get("/api/calls/history?from=yesterday", Some(&admin)).await.status, 400);

    // An agent sees the calls its phone was on, whatever it asks for.
    let login = app.post("/api/auth/login", None, &json!({"tenant": t.slug, "username": "bob", "password": pw})).await;
    let bob_token = login.body["token"].as_str().expect("token").to_string();
    let mine = app.get(&format!("/api/calls/history?agent_id={amani}"), Some(&bob_token)).await;
    assert_eq!((mine.body["total"].as_i64(), linkedids(&mine.body)), (Some(1), vec![inbound.as_str()]));
    // The other tenant sees its own call only.
    let theirs = app.get("/api/calls/history", Some(&app.login(&other.admin).await)).await;
    assert_eq!(linkedids(&theirs.body), [other_call.as_str()]);
    assert_eq!(app.get("/api/calls/history", None).await.status, 401);

    // A deleted tenant's slug keeps its call records: nobody new takes it over.
    let ghost = format!("ghost{}", suffix());
    let ghost_call = format!("ghost-{}", suffix());
    insert(
        &app,
        Leg {
            linkedid: &ghost_call,
            uniqueid: &ghost_call,
            channel: "PJSIP/x-1-1",
            dstchannel: "",
            src: "1",
            dst: "2",
            lastapp: "Dial",
            start: "2026-11-01 10:00:00",
            answer: None,
            end: "2026-11-01 10:00:01",
            billsec: 0,
            disposition: "NO ANSWER",
            tenantid: &ghost,
        },
    )
    .await;
    let root = app.login(&app.superadmin().await).await;
    let taken = app.post("/api/tenants", Some(&root), &json!({"slug": ghost, "name": "Ghost"})).await;
    assert_eq!((taken.status, taken.body["error"]["field"].as_str()), (422, Some("slug")), "{}", taken.body);
}
