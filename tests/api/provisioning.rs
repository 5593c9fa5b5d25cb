//! Provisioning: agents as PJSIP realtime endpoints, queues and members, trunks, softphone
//! login, and the Asterisk side (schema, wiring files), checked in the tables Asterisk reads.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use mayday::db::asterisk as rt;
use mayday::domain::{Role, TenantId};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, suffix, Options, TestApp, TestTenant};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `SELECT COUNT(*) ... WHERE <column> = ?` on a table of the app's database.
async fn count(app: &TestApp, table: &str, column: &str, value: &str) -> i64 {
    let mut conn = app.state.db.get().await.expect("db");
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM `{table}` WHERE `{column}` = ?"))
        .bind::<Text, _>(value)
        .get_result::<Count>(&mut conn)
        .await
        .expect("count")
        .n
}

async fn create_agent(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post("/api/agents", Some(token), &body).await;
    assert_eq!(r.status, 201, "agent created: {}", r.body);
    r.body
}

fn agent_body(username: &str, extension: &str) -> Value {
    json!({"username": username, "password": "agent password 1", "extension": extension, "display_name": "Amani Otieno"})
}

async fn softphone_login(app: &TestApp, t: &TestTenant, username: &str, password: &str) -> crate::helpers::Answer {
    app.post(
        "/api/agents/softphone-login",
        None,
        &json!({"tenant": t.slug, "username": username, "password": password}),
    )
    .await
}

#[actix_web::test]
async fn an_agent_is_one_endpoint_auth_and_aor_with_its_profile_and_deleting_removes_everything() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let agent = create_agent(&app, &admin, agent_body("amani", "1001")).await;
    let id = agent["id"].as_u64().expect("id");
    let endpoint = format!("{}-1001", t.slug);
    assert_eq!(agent["sip_username"], endpoint.as_str(), "the tenant's prefix names the Asterisk objects");
    assert_eq!((agent["profile"].as_str(), agent["role"].as_str()), (Some("webrtc"), Some("agent")));
    for table in ["ps_endpoints", "ps_auths", "ps_aors"] {
        assert_eq!(count(&app, table, "id", &endpoint).await, 1, "one {table} row");
    }
    let mut conn = app.state.db.get().await.expect("db");
    let e = rt::endpoint(&mut conn, &endpoint).await.expect("read").expect("endpoint");
    assert_eq!(e.transport.as_deref(), Some("transport-wss"));
    assert_eq!(
        (e.webrtc.as_deref(), e.media_encryption.as_deref(), e.dtls_auto_generate_cert.as_deref()),
        (Some("yes"), Some("dtls"), Some("yes"))
    );
    assert_eq!(
        (e.ice_support.as_deref(), e.use_avpf.as_deref(), e.rtcp_mux.as_deref(), e.bundle.as_deref()),
        (Some("yes"), Some("yes"), Some("yes"), Some("yes"))
    );
    assert_eq!((e.context.as_deref(), e.overlap_context.as_deref()), (Some("mayday-agents"), Some("mayday-accept")));
    assert_eq!(e.set_var, Some(format!("MAYDAY_CONTEXT={}-agents", t.slug)));
    assert_eq!(e.tenantid.as_deref(), Some(t.slug.as_str()));
    assert_eq!((e.disallow.as_deref(), e.allow.as_deref()), (Some("all"), Some("opus,ulaw")));
    assert_eq!(e.callerid.as_deref(), Some("\"Amani Otieno\" <1001>"));
    let aor = rt::aor(&mut conn, &endpoint).await.expect("read").expect("aor");
    assert_eq!((aor.max_contacts, aor.remove_existing.as_deref()), (Some(1), Some("yes")));
    let auth = rt::auth(&mut conn, &endpoint).await.expect("read").expect("auth");
    drop(conn);

    // The SIP password: only the agent's own softphone login shows it.
    let login = softphone_login(&app, &t, "amani", "agent password 1").await;
    assert_eq!(login.status, 200, "{}", login.body);
    let password = login.body["sip"]["password"].as_str().expect("sip password").to_string();
    assert!(password.len() >= 16);
    let realm = auth.realm.clone().expect("realm set explicitly");
    assert_eq!(realm, "asterisk");
    let ha1 = hex::encode(<md5::Md5 as md5::Digest>::digest(format!("{endpoint}:{realm}:{password}").as_bytes()));
    assert_eq!(auth.md5_cred.as_deref(), Some(ha1.as_str()), "md5_cred = md5(user:realm:password)");
    assert_eq!(
        (auth.auth_type.as_deref(), auth.password.as_deref(), auth.username.as_deref()),
        (Some("md5"), None, Some(endpoint.as_str()))
    );
    // Never in the API, never in Mayday's table in clear, never in the log.
    let got = app.get(&format!("/api/agents/{id}"), Some(&admin)).await;
    assert_eq!(got.status, 200);
    assert!(!got.body.to_string().contains(&password), "GET /api/agents/{{id}} shows no SIP password");
    let list = app.get("/api/agents", Some(&admin)).await;
    assert!(!list.body.to_string().contains(&password));
    assert_eq!(count(&app, "ps_auths", "password", &password).await, 0);
    assert!(!crate::helpers::log_capture().contents().contains(&password), "the SIP password is never logged");

    // A queue membership is a realtime queue_members row.
    let q = app.post("/api/queues", Some(&admin), &json!({"name": "support", "strategy": "leastrecent"})).await;
    assert_eq!(q.status, 201, "{}", q.body);
    let qid = q.body["id"].as_u64().expect("queue id");
    let queue = format!("{}-support", t.slug);
    assert_eq!(q.body["asterisk_name"], queue.as_str());
    let m = app.put(&format!("/api/queues/{qid}/members/{id}"), Some(&admin), &json!({"penalty": 2})).await;
    assert_eq!(m.status, 201, "{}", m.body);
    let mut conn = app.state.db.get().await.expect("db");
    let members = rt::members(&mut conn, &queue).await.expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(
        (members[0].interface.as_str(), members[0].state_interface.as_deref()),
        (format!("PJSIP/{endpoint}").as_str(), Some(format!("PJSIP/{endpoint}").as_str()))
    );
    assert_eq!(
        (members[0].membername.as_deref(), members[0].penalty, members[0].paused),
        (Some("Amani Otieno"), Some(2), Some(0))
    );
    let aq = rt::asterisk_queue(&mut conn, &queue).await.expect("read").expect("queues row");
    assert_eq!(
        (aq.strategy.as_deref(), aq.servicelevel, aq.ringinuse.as_deref()),
        (Some("leastrecent"), Some(20), Some("no"))
    );
    drop(conn);

    // Profile change rewrites the rows.
    let up = app.put(&format!("/api/agents/{id}"), Some(&admin), &json!({"profile": "deskphone"})).await;
    assert_eq!(up.status, 200, "{}", up.body);
    let mut conn = app.state.db.get().await.expect("db");
    let e = rt::endpoint(&mut conn, &endpoint).await.expect("read").expect("endpoint");
    assert_eq!(
        (e.transport.as_deref(), e.webrtc, e.allow.as_deref()),
        (Some("transport-udp"), None, Some("ulaw,alaw,g722"))
    );
    let again = rt::auth(&mut conn, &endpoint).await.expect("read").expect("auth");
    assert_eq!(again.md5_cred, auth.md5_cred, "the SIP password stays unless rotated");
    drop(conn);

    // Disabling removes the phone and the member rows; enabling brings them back.
    let off = app.put(&format!("/api/agents/{id}"), Some(&admin), &json!({"enabled": false})).await;
    assert_eq!((off.status, off.body["enabled"].as_bool()), (200, Some(false)));
    for table in ["ps_endpoints", "ps_auths", "ps_aors"] {
        assert_eq!(count(&app, table, "id", &endpoint).await, 0, "a disabled agent has no {table} row");
    }
    assert_eq!(count(&app, "queue_members", "queue_name", &queue).await, 0);
    assert_eq!(
        softphone_login(&app, &t, "amani", "agent password 1").await.status,
        401,
        "a disabled agent cannot log in"
    );
    let on = app.put(&format!("/api/agents/{id}"), Some(&admin), &json!({"enabled": true})).await;
    assert_eq!(on.status, 200);
    assert_eq!(count(&app, "ps_endpoints", "id", &endpoint).await, 1);
    assert_eq!(count(&app, "queue_members", "queue_name", &queue).await, 1, "memberships survive a disable");

    // Deleting removes Asterisk's rows and the memberships.
    assert_eq!(app.delete(&format!("/api/agents/{id}"), Some(&admin)).await.status, 204);
    for table in ["ps_endpoints", "ps_auths", "ps_aors"] {
        assert_eq!(count(&app, table, "id", &endpoint).await, 0, "no {table} row left");
    }
    assert_eq!(count(&app, "queue_members", "queue_name", &queue).await, 0);
    assert_eq!(count(&app, "queue_memberships", "user_id", &id.to_string()).await, 0);
    assert_eq!(count(&app, "users", "id", &id.to_string()).await, 0);
    assert_eq!(app.get(&format!("/api/agents/{id}"), Some(&admin)).await.status, 404);
}

#[actix_web::test]
async fn two_tenants_each_have_agent_1001_and_queue_support_without_seeing_each_other() {
    let app = spawn_app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    let (ta, tb) = (app.login(&a.admin).await, app.login(&b.admin).await);
    let agent_a = create_agent(&app, &ta, agent_body("amani", "1001")).await;
    let agent_b = create_agent(&app, &tb, agent_body("amani", "1001")).await;
    assert_ne!(agent_a["sip_username"], agent_b["sip_username"], "Asterisk object names differ");
    let qa = app.post("/api/queues", Some(&ta), &json!({"name": "support"})).await;
    let qb = app.post("/api/queues", Some(&tb), &json!({"name": "support"})).await;
    assert_eq!((qa.status, qb.status), (201, 201), "{} {}", qa.body, qb.body);
    assert_ne!(qa.body["asterisk_name"], qb.body["asterisk_name"]);
    for (table, column, a_name, b_name) in [
        ("ps_endpoints", "id", format!("{}-1001", a.slug), format!("{}-1001", b.slug)),
        ("queues", "name", format!("{}-support", a.slug), format!("{}-support", b.slug)),
    ] {
        assert_eq!((count(&app, table, column, &a_name).await, count(&app, table, column, &b_name).await), (1, 1));
    }
    // A's admin sees only A's, and B's ids look like missing ones.
    let (b_agent, b_queue) = (agent_b["id"].as_u64().expect("id"), qb.body["id"].as_u64().expect("id"));
    for path in [format!("/api/agents/{b_agent}"), format!("/api/queues/{b_queue}")] {
        let get = app.get(&path, Some(&ta)).await;
        let put = app.put(&path, Some(&ta), &json!({"display_name": "x"})).await;
        let put = if path.contains("queues") { app.put(&path, Some(&ta), &json!({"weight": 5})).await } else { put };
        let del = app.delete(&path, Some(&ta)).await;
        assert_eq!((get.status, put.status, del.status), (404, 404, 404), "{path}");
    }
    let members = app.get(&format!("/api/queues/{b_queue}/members"), Some(&ta)).await;
    assert_eq!(members.status, 404);
    let join = app.put(&format!("/api/queues/{}/members/{b_agent}", qa.body["id"]), Some(&ta), &json!({})).await;
    assert_eq!(
        (join.status, join.body["error"]["field"].as_str()),
        (422, Some("agent_id")),
        "B's agent cannot join A's queue"
    );
    let list = app.get("/api/agents", Some(&ta)).await;
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["items"][0]["id"], agent_a["id"]);
    let queues = app.get("/api/queues", Some(&ta)).await;
    assert_eq!(
        (queues.body["total"].as_i64(), queues.body["items"][0]["id"].as_u64()),
        (Some(1), qa.body["id"].as_u64())
    );
    // B's rows are untouched.
    assert_eq!(app.get(&format!("/api/agents/{b_agent}"), Some(&tb)).await.body["display_name"], "Amani Otieno");
    assert_eq!(count(&app, "ps_endpoints", "id", &format!("{}-1001", b.slug)).await, 1);
}

#[actix_web::test]
async fn a_database_failure_in_the_middle_of_creating_an_agent_leaves_no_partial_rows() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    // An AOR of that name already exists (made outside Mayday): the insert of Mayday's
    // third Asterisk row fails after the user, the agent, the endpoint and the auth rows.
    let endpoint = format!("{}-1001", t.slug);
    let mut conn = app.state.db.get().await.expect("db");
    diesel::insert_into(rt::schema::ps_aors::table)
        .values(&rt::Aor { id: endpoint.clone(), contact: Some("sip:10.0.0.9:5060".into()), ..rt::Aor::default() })
        .execute(&mut conn)
        .await
        .expect("foreign aor");
    drop(conn);
    let r = app.post("/api/agents", Some(&admin), &agent_body("amani", "1001")).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (409, Some("extension")), "{}", r.body);
    let users = app.get("/api/users?q=amani", Some(&admin)).await;
    assert_eq!(users.body["total"], 0, "no user row: {}", users.body);
    assert_eq!(count(&app, "agents", "endpoint", &endpoint).await, 0, "no agent row");
    assert_eq!(count(&app, "ps_endpoints", "id", &endpoint).await, 0, "no endpoint row");
    assert_eq!(count(&app, "ps_auths", "id", &endpoint).await, 0, "no auth row");
    let mut conn = app.state.db.get().await.expect("db");
    let aor = rt::aor(&mut conn, &endpoint).await.expect("read").expect("the foreign aor is still there");
    assert_eq!(aor.contact.as_deref(), Some("sip:10.0.0.9:5060"), "and unchanged");
    drop(conn);
    // The same agent on a free extension works.
    create_agent(&app, &admin, agent_body("amani", "1002")).await;
}

fn turn_env() -> Options {
    let env = [
        ("TURN_SECRET", "turn-shared-secret"),
        ("TURN_URLS", "turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349"),
        ("STUN_URLS", "stun:stun.example.com:3478"),
        ("TURN_TTL", "10m"),
        ("SIP_WSS_URL", "wss://pbx.example.com:8089/ws"),
        ("SIP_DOMAIN", "pbx.example.com"),
    ];
    Options { env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), ..Default::default() }
}

#[actix_web::test]
async fn softphone_login_gives_the_agent_its_own_credentials_and_short_lived_turn() {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let app = spawn_app_with(turn_env()).await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    create_agent(&app, &admin, agent_body("amani", "1001")).await;
    create_agent(&app, &admin, agent_body("baraka", "1002")).await;
    let before = chrono::Utc::now().timestamp();
    let login = softphone_login(&app, &t, "amani", "agent password 1").await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let sip = &login.body["sip"];
    let endpoint = format!("{}-1001", t.slug);
    assert_eq!(sip["uri"], format!("sip:{endpoint}@pbx.example.com").as_str());
    assert_eq!((sip["auth_username"].as_str(), sip["extension"].as_str()), (Some(endpoint.as_str()), Some("1001")));
    assert_eq!(sip["wss_url"], "wss://pbx.example.com:8089/ws");
    assert!(login.body["token"].is_string(), "a session comes with it");
    let ice = sip["ice_servers"].as_array().expect("ice servers");
    assert_eq!(ice[0]["urls"][0], "stun:stun.example.com:3478");
    let turn = &ice[1];
    let username = turn["username"].as_str().expect("turn username");
    let (expiry, user) = username.split_once(':').expect("expiry:user");
    assert_eq!(user, endpoint);
    let expiry: i64 = expiry.parse().expect("expiry");
    assert!(expiry > before && expiry <= chrono::Utc::now().timestamp() + 600, "expires within TURN_TTL");
    assert_eq!(turn["expires_at"].as_i64(), Some(expiry));
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(b"turn-shared-secret").expect("key");
    mac.update(username.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(turn["credential"].as_str(), Some(expected.as_str()), "verifies with the shared secret");
    // Its own SIP password, not another agent's.
    let other = softphone_login(&app, &t, "baraka", "agent password 1").await;
    assert_ne!(other.body["sip"]["password"], sip["password"]);
    assert_eq!(other.body["sip"]["auth_username"], format!("{}-1002", t.slug).as_str());
    // A signed-in agent asks again with its token.
    let token = login.body["token"].as_str().expect("token");
    let again = app.get("/api/agents/me/softphone", Some(token)).await;
    assert_eq!((again.status, &again.body["password"]), (200, &sip["password"]));
    // Wrong password: 401. The old path works the same.
    assert_eq!(softphone_login(&app, &t, "amani", "wrong password").await.status, 401);
    let legacy = app
        .post(
            "/api/users/agent-login",
            None,
            &json!({"tenant": t.slug, "username": "amani", "password": "agent password 1"}),
        )
        .await;
    assert_eq!((legacy.status, &legacy.body["sip"]["password"]), (200, &sip["password"]));
    // An admin gets no SIP password: not with its credentials, not with its token.
    let as_admin = softphone_login(&app, &t, &t.admin.username, &t.admin.password).await;
    assert_eq!(as_admin.status, 403, "{}", as_admin.body);
    let by_token = app.get("/api/agents/me/softphone", Some(&admin)).await;
    assert_eq!(by_token.status, 403);
    assert!(!by_token.body.to_string().contains(sip["password"].as_str().unwrap_or("-")));
    // client-config: the endpoints for the caller's tenant.
    let cfg = app.get("/api/client-config", Some(token)).await;
    assert_eq!(cfg.status, 200, "{}", cfg.body);
    assert_eq!(
        (cfg.body["tenant"].as_str(), cfg.body["sip_wss_url"].as_str()),
        (Some(t.slug.as_str()), Some("wss://pbx.example.com:8089/ws"))
    );
    assert!(cfg.body["websocket_url"].as_str().is_some_and(|u| u.starts_with("ws://") && u.ends_with("/ws")));
    assert!(cfg.body["tenant_name"].is_string(), "a signed-in caller gets its tenant's name");
    let by_slug = app.get(&format!("/api/client-config?tenant={}", t.slug), None).await;
    assert_eq!(by_slug.body["tenant"], t.slug.as_str());
    assert!(by_slug.body.get("tenant_name").is_none(), "nobody learns the organisation from a slug: {}", by_slug.body);
    assert_eq!(app.get("/api/client-config?tenant=no-such-tenant", None).await.status, 404);
}

#[actix_web::test]
async fn bad_input_gets_a_4xx_naming_the_field_and_writes_nothing() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    create_agent(&app, &admin, agent_body("amani", "1001")).await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"username": "b1", "password": "agent password 1", "extension": "1002", "codecs": ["opus", "bogus"]}),
            422,
            "codecs",
        ),
        (json!({"username": "b2", "password": "agent password 1", "extension": "12"}), 422, "extension"),
        (json!({"username": "b3", "password": "agent password 1", "extension": "10a2"}), 422, "extension"),
        (json!({"username": "b4", "password": "agent password 1", "extension": "1234567"}), 422, "extension"),
        (json!({"username": "b5", "password": "agent password 1", "extension": "1001"}), 409, "extension"),
        (
            json!({"username": "b6", "password": "agent password 1", "extension": "1003", "display_name": "x".repeat(300)}),
            422,
            "display_name",
        ),
        (
            json!({"username": "b7", "password": "agent password 1", "extension": "1004", "sip_password": "weak"}),
            422,
            "sip_password",
        ),
        (
            json!({"username": "b8", "password": "agent password 1", "extension": "1005", "profile": "fax"}),
            422,
            "profile",
        ),
        (json!({"username": "u".repeat(100), "password": "agent password 1", "extension": "1006"}), 422, "username"),
    ];
    for (body, status, field) in cases {
        let r = app.post("/api/agents", Some(&admin), &body).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (status, Some(field)), "{body}: {}", r.body);
    }
    let queue_cases: Vec<(Value, &str)> = vec![
        (json!({"name": "support", "strategy": "roundrobin"}), "strategy"),
        (json!({"name": "q".repeat(41)}), "name"),
        (json!({"name": "Support Desk"}), "name"),
        (json!({"name": "support", "join_empty": "sometimes"}), "join_empty"),
        (json!({"name": "support", "timeout_secs": 100000}), "timeout_secs"),
        (json!({"name": "support", "music_class": "a;b"}), "music_class"),
    ];
    for (body, field) in queue_cases {
        let r = app.post("/api/queues", Some(&admin), &body).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (422, Some(field)), "{body}: {}", r.body);
    }
    let garbage = app
        .send_raw(
            actix_web::http::Method::POST,
            "/api/queues",
            Some(&admin),
            "application/json",
            b"{\"name\": ".to_vec(),
        )
        .await;
    assert_eq!(garbage.status, 400);
    // Nothing was written.
    assert_eq!(app.get("/api/agents", Some(&admin)).await.body["total"], 1);
    assert_eq!(app.get("/api/queues", Some(&admin)).await.body["total"], 0);
    assert_eq!(count(&app, "queues", "name", &format!("{}-support", t.slug)).await, 0);
    for ext in ["1002", "1003", "1004", "1005", "1006"] {
        assert_eq!(count(&app, "ps_endpoints", "id", &format!("{}-{ext}", t.slug)).await, 0);
    }
    // Managers read, agents do not write.
    let manager = app.user(TenantId(t.id), &t.slug, Role::Manager).await;
    let manager = app.login(&manager).await;
    assert_eq!(app.get("/api/agents", Some(&manager)).await.status, 200);
    assert_eq!(app.post("/api/agents", Some(&manager), &agent_body("m1", "1010")).await.status, 403);
    assert_eq!(app.post("/api/queues", Some(&manager), &json!({"name": "x"})).await.status, 403);
    assert_eq!(app.get("/api/trunks", Some(&manager)).await.status, 403);
}

#[actix_web::test]
async fn a_trunk_is_endpoint_aor_auth_registration_and_identify_and_its_secret_never_shows() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let secret = format!("Trunk-secret-{}", suffix());
    // Addresses of this test only: the shared database keeps other tests' trunks.
    let (a, b): (u8, u8) = (rand::random(), rand::random());
    let (ip, net) = (format!("10.{a}.{b}.10"), format!("10.{b}.{a}.0/24"));
    let body = json!({
        "name": "carrier", "host": "sip.carrier.example", "port": 5060, "transport": "udp",
        "username": "0323300245", "secret": secret, "from_user": "0323300245", "from_domain": "sip.carrier.example",
        "send_pai": true, "codecs": ["alaw", "ulaw"], "register": true, "match_ips": [ip, net],
    });
    let r = app.post("/api/trunks", Some(&admin), &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(!r.body.to_string().contains(&secret), "no secret in the response");
    assert_eq!(r.body["has_secret"].as_bool(), Some(true));
    // The provider account (whose balance the platform reads) is the superadmin's to set.
    let trunk_id = r.body["id"].as_u64().expect("id");
    let own = app.put(&format!("/api/trunks/{trunk_id}"), Some(&admin), &json!({"account_number": "ACC-778"})).await;
    assert_eq!(own.status, 403, "{}", own.body);
    let root = app.superadmin().await;
    let root = app.login(&root).await;
    let set = app
        .put(&format!("/api/trunks/{trunk_id}?tenant_id={}", t.id), Some(&root), &json!({"account_number": "ACC-778"}))
        .await;
    assert_eq!((set.status, set.body["account_number"].as_str()), (200, Some("ACC-778")), "{}", set.body);
    let endpoint = format!("{}-carrier", t.slug);
    for table in ["ps_endpoints", "ps_aors", "ps_auths", "ps_registrations"] {
        assert_eq!(count(&app, table, "id", &endpoint).await, 1, "{table}");
    }
    assert_eq!(count(&app, "ps_endpoint_id_ips", "endpoint", &endpoint).await, 2, "one identify row per address");
    let mut conn = app.state.db.get().await.expect("db");
    let e = rt::endpoint(&mut conn, &endpoint).await.expect("read").expect("endpoint");
    assert_eq!(
        (e.outbound_auth.as_deref(), e.send_pai.as_deref(), e.send_rpid.as_deref()),
        (Some(endpoint.as_str()), Some("yes"), Some("no"))
    );
    assert_eq!(
        (e.context.as_deref(), e.identify_by.as_deref(), e.allow.as_deref()),
        (Some("mayday-inbound"), Some("ip"), Some("alaw,ulaw"))
    );
    assert_eq!(e.auth, None, "a trunk does not authenticate inbound calls by digest");
    let aor = rt::aor(&mut conn, &endpoint).await.expect("read").expect("aor");
    assert_eq!(aor.contact.as_deref(), Some("sip:sip.carrier.example:5060"));
    let ips: Vec<Option<String>> = rt::schema::ps_endpoint_id_ips::table
        .filter(rt::schema::ps_endpoint_id_ips::endpoint.eq(&endpoint))
        .order(rt::schema::ps_endpoint_id_ips::id.asc())
        .select(rt::schema::ps_endpoint_id_ips::match_)
        .load(&mut conn)
        .await
        .expect("identify");
    assert_eq!(ips, [Some(ip.clone()), Some(net.clone())]);
    drop(conn);
    let id = r.body["id"].as_u64().expect("id");
    let list = app.get("/api/trunks", Some(&admin)).await;
    assert!(!list.body.to_string().contains(&secret));
    // Updating without a secret keeps it; disabling removes Asterisk's rows.
    let up = app.put(&format!("/api/trunks/{id}"), Some(&admin), &json!({"send_rpid": true})).await;
    assert_eq!((up.status, up.body["has_secret"].as_bool()), (200, Some(true)), "{}", up.body);
    let off = app.put(&format!("/api/trunks/{id}"), Some(&admin), &json!({"enabled": false})).await;
    assert_eq!(off.status, 200);
    assert_eq!(count(&app, "ps_endpoints", "id", &endpoint).await, 0);
    assert_eq!(count(&app, "ps_registrations", "id", &endpoint).await, 0);
    let bad = app
        .post("/api/trunks", Some(&admin), &json!({"name": "x", "host": "h.example", "match_ips": ["10.0.0.300"]}))
        .await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (422, Some("match_ips")));
    let broad = app
        .post("/api/trunks", Some(&admin), &json!({"name": "z", "host": "h.example", "match_ips": ["0.0.0.0/0"]}))
        .await;
    assert_eq!(
        (broad.status, broad.body["error"]["field"].as_str()),
        (422, Some("match_ips")),
        "calls are taken unchallenged from these"
    );
    let other = app.tenant().await;
    let other_admin = app.login(&other.admin).await;
    let steal = app
        .post(
            "/api/trunks",
            Some(&other_admin),
            &json!({"name": "carrier", "host": "h.example", "match_ips": [format!("10.{b}.{a}.7")]}),
        )
        .await;
    assert_eq!(
        (steal.status, steal.body["error"]["field"].as_str()),
        (422, Some("match_ips")),
        "another tenant's provider addresses"
    );
    // A trunk that does not register is identified by its host: not another tenant's, not
    // this machine.
    let host = format!("sip-{}.carrier.example", suffix());
    let theirs = app.post("/api/trunks", Some(&other_admin), &json!({"name": "carrier", "host": host})).await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    let same_host = app.post("/api/trunks", Some(&admin), &json!({"name": "same", "host": host.to_uppercase()})).await;
    assert_eq!(
        (same_host.status, same_host.body["error"]["field"].as_str()),
        (422, Some("host")),
        "{}",
        same_host.body
    );
    for own in ["127.0.0.1", "localhost", "::1"] {
        let r = app.post("/api/trunks", Some(&admin), &json!({"name": "own", "host": own})).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (422, Some("host")), "{own}: {}", r.body);
    }
    let bad = app.post("/api/trunks", Some(&admin), &json!({"name": "y", "host": "h.example", "register": true})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (422, Some("register")));
    assert_eq!(app.delete(&format!("/api/trunks/{id}"), Some(&admin)).await.status, 204);
    assert_eq!(count(&app, "trunks", "id", &id.to_string()).await, 0);
    assert!(!crate::helpers::log_capture().contents().contains(&secret), "the trunk secret is never logged");
}

#[actix_web::test]
async fn the_simulated_pbx_reads_realtime_and_serves_what_the_api_provisions_with_no_restart() {
    let app = spawn_app_with(Options { live: true, ..Default::default() }).await;
    let sim = crate::helpers::live::start_sim_with(std::sync::Arc::new(mayday::sim_directory::RealtimeDirectory::new(
        app.state.db.clone(),
    )))
    .await;
    let pbx = app.pbx_for(&sim).await;
    let tenant = app.live_tenant(pbx, &format!("rt{}", suffix()), "", 0).await;
    let admin = app.user(TenantId(tenant.id), &tenant.slug, Role::Admin).await;
    let admin = app.login(&admin).await;
    // Wait for the link, so what follows is provisioned while Mayday and the PBX run.
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.get("/api/pbx", Some(&tenant.manager_token)).await.body[0]["state"] != "connected" {
        assert!(Instant::now() < deadline, "the PBX link comes up");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let agent = create_agent(&app, &admin, agent_body("amani", "1001")).await;
    let q = app.post("/api/queues", Some(&admin), &json!({"name": "support", "service_level_secs": 30})).await;
    assert_eq!(q.status, 201);
    let qid = q.body["id"].as_u64().expect("id");
    let m = app.post(&format!("/api/queues/{qid}/members"), Some(&admin), &json!({"agent_id": agent["id"]})).await;
    assert_eq!(m.status, 201, "{}", m.body);

    // Mayday's live view shows the member, from the PBX's QueueStatus answer.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let live = app.get("/api/live/queues", Some(&tenant.manager_token)).await;
        let queue = live.body.as_array().and_then(|qs| qs.iter().find(|q| q["name"] == "support").cloned());
        if let Some(q) = queue.filter(|q| q["members"].as_array().is_some_and(|m| m.len() == 1)) {
            assert_eq!(q["members"][0]["interface"], "PJSIP/1001");
            assert_eq!(q["members"][0]["agent"], agent["id"]);
            assert_eq!(q["service_level_secs"], 30, "the live queue uses Mayday's threshold");
            break;
        }
        assert!(Instant::now() < deadline, "the member shows in /api/live/queues: {}", live.body);
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    // The PBX itself lists it in QueueStatus (its truth) and routes a call to it.
    let truth = sim.truth().await.expect("truth");
    let members: Vec<&str> =
        truth.queues.get("support").into_iter().flat_map(|q| q.members.iter().map(|m| m.interface.as_str())).collect();
    assert_eq!(members, ["PJSIP/1001"]);
    let call = sim.place_call("support", "0700111222").await.expect("caller enters the queue");
    sim.ring(call, None).await.expect("the member rings");
    sim.answer(call).await.expect("the member answers");
    app.agrees_with(&sim, &tenant, "a call to the provisioned queue", true, Duration::from_secs(10)).await;
    let agents = app.get("/api/live/agents", Some(&tenant.manager_token)).await;
    assert_eq!(agents.body[0]["status"], "on_call", "{}", agents.body);

    // The agent follows the queue on the socket, as its member.
    let login = app
        .post(
            "/api/auth/login",
            None,
            &json!({"tenant": tenant.slug, "username": "amani", "password": "agent password 1"}),
        )
        .await;
    let mut socket = app.ws(login.body["token"].as_str().expect("agent token")).await;
    let followed = socket.request(json!({"op": "subscribe", "topic": "queue:support"}), "q").await;
    assert_eq!(followed["type"], "subscribed", "{followed}");

    // Removing the member takes it out of the PBX's queue, still with no restart.
    sim.agent_hangup(call).await.expect("hang up");
    assert_eq!(app.delete(&format!("/api/queues/{qid}/members/{}", agent["id"]), Some(&admin)).await.status, 204);
    // ... and out of the queue's topic: a former member no longer sees its callers.
    let ended = loop {
        let f = socket.next().await.expect("the socket stays open");
        if f["type"] == "unsubscribed" {
            break f;
        }
    };
    assert_eq!(ended["topic"], "queue:support", "{ended}");
    assert!(ended["reason"].as_str().unwrap_or_default().contains("no longer a member"), "{ended}");
    let again = socket.request(json!({"op": "subscribe", "topic": "queue:support"}), "q2").await;
    assert_eq!(again["code"], "forbidden", "{again}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let live = app.get("/api/live/queues", Some(&tenant.manager_token)).await;
        let empty = live
            .body
            .as_array()
            .and_then(|qs| qs.iter().find(|q| q["name"] == "support"))
            .is_some_and(|q| q["members"].as_array().is_some_and(|m| m.is_empty()));
        if empty {
            break;
        }
        assert!(Instant::now() < deadline, "the member is gone from /api/live/queues: {}", live.body);
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let truth = sim.truth().await.expect("truth");
    assert!(truth.queues.get("support").is_none_or(|q| q.members.is_empty()));
    sim.shutdown();
}

/// `table: col1,col2,...` lines of asterisk/schema/columns.txt.
fn recorded_columns() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/asterisk/schema/columns.txt"))
        .expect("columns.txt");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(t, cols)| (t.trim().to_string(), cols.split(',').map(|c| c.trim().to_string()).collect()))
        .collect()
}

#[derive(QueryableByName)]
struct ColumnName {
    #[diesel(sql_type = Text)]
    name: String,
}

async fn columns_of(app: &TestApp, table: &str) -> Vec<String> {
    let mut conn = app.state.db.get().await.expect("db");
    diesel::sql_query(
        "SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    )
    .bind::<Text, _>(&app.db_name)
    .bind::<Text, _>(table)
    .load::<ColumnName>(&mut conn)
    .await
    .expect("columns")
    .into_iter()
    .map(|c| c.name)
    .collect()
}

#[actix_web::test]
async fn asterisk_tables_have_exactly_the_columns_recorded_from_asterisk_22_alembic_scripts() {
    let app = spawn_app().await;
    let recorded = recorded_columns();
    let names: Vec<&str> = recorded.iter().map(|(t, _)| t.as_str()).collect();
    for required in [
        "ps_endpoints",
        "ps_auths",
        "ps_aors",
        "ps_contacts",
        "ps_endpoint_id_ips",
        "ps_registrations",
        "ps_domain_aliases",
        "queues",
        "queue_members",
        "queue_rules",
        "extensions",
        "cdr",
        "cel",
        "queue_log",
    ] {
        assert!(names.contains(&required), "columns.txt records {required}");
    }
    for (table, columns) in &recorded {
        assert_eq!(&columns_of(&app, table).await, columns, "columns of {table}");
    }
    // The reason_paused probe row is there (asterisk.md 4.5).
    assert_eq!(count(&app, "queue_members", "reason_paused", "probe").await, 1);
}

/// `key => value` / `key = value` lines of one section of an Asterisk config file.
fn section(file: &str, name: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!("{}/asterisk/{file}", env!("CARGO_MANIFEST_DIR"))).expect("config file");
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split(';').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            inside = line.trim_start_matches('[').split(']').next() == Some(name);
            continue;
        }
        if let (true, Some((k, v))) = (inside, line.split_once('=')) {
            out.push((k.trim().to_string(), v.trim_start_matches('>').trim().to_string()));
        }
    }
    out
}

#[actix_web::test]
async fn every_realtime_family_of_the_asterisk_files_maps_to_a_table_the_migrations_create() {
    let app = spawn_app().await;
    let families = section("extconfig.conf", "settings");
    assert!(families.len() >= 12, "extconfig.conf maps the realtime families: {families:?}");
    let mut tables = Vec::new();
    for (family, value) in &families {
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        let [driver, class, rest @ ..] = parts.as_slice() else { panic!("{family} => {value}: driver,class[,table]") };
        assert_eq!(*driver, "odbc", "{family} uses res_config_odbc");
        assert_eq!(*class, "asterisk", "{family} uses the [asterisk] class of res_odbc.conf");
        let table = rest.iter().next().copied().unwrap_or(family.as_str());
        assert!(
            !columns_of(&app, table).await.is_empty(),
            "family {family} maps to table {table}, which the migrations create"
        );
        tables.push(family.clone());
    }
    for needed in [
        "ps_endpoints",
        "ps_auths",
        "ps_aors",
        "ps_contacts",
        "ps_endpoint_id_ips",
        "ps_registrations",
        "queues",
        "queue_members",
        "extensions",
        "queue_log",
    ] {
        assert!(tables.iter().any(|t| t == needed), "extconfig.conf maps {needed}");
    }
    // sorcery.conf: every realtime wizard names a family of extconfig.conf, and every object
    // type read from realtime is also read from pjsip.conf (asterisk.md 4.8).
    let mut realtime_objects = Vec::new();
    for module in ["res_pjsip", "res_pjsip_endpoint_identifier_ip", "res_pjsip_outbound_registration"] {
        let lines = section("sorcery.conf", module);
        assert!(!lines.is_empty(), "sorcery.conf has [{module}]");
        for (object, wizard) in &lines {
            if let Some(family) = wizard.strip_prefix("realtime,") {
                assert!(
                    tables.iter().any(|t| t == family.trim()),
                    "sorcery {object} reads family {family}, mapped in extconfig.conf"
                );
                realtime_objects.push((module, object.clone()));
            }
        }
        for (m, object) in realtime_objects.iter().filter(|(m, o)| *m == module && o != "contact") {
            assert!(
                lines.iter().any(|(o, w)| o == object && w.starts_with("config,pjsip.conf")),
                "[{m}] {object} is also read from pjsip.conf"
            );
        }
    }
    assert_eq!(
        realtime_objects.len(),
        7,
        "endpoint, auth, aor, domain_alias, contact, identify, registration: {realtime_objects:?}"
    );
    // The transports the provisioned rows name exist in pjsip.conf.
    let pjsip =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/asterisk/pjsip.conf")).expect("pjsip.conf");
    for transport in ["[transport-udp]", "[transport-tcp]", "[transport-wss]"] {
        assert!(pjsip.contains(&transport.replace(']', "](")), "pjsip.conf defines {transport}");
    }
    // The static contexts the rows name exist.
    let dialplan = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/asterisk/extensions_mayday.conf"))
        .expect("dialplan");
    for context in ["[mayday-agents]", "[mayday-accept]", "[mayday-inbound]", "[mayday-launch]"] {
        assert!(dialplan.contains(context), "extensions_mayday.conf has {context}");
    }
}
