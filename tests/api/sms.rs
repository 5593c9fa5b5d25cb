//! SMS against a real local provider (slow, failing and malformed ones too): stored before
//! the provider is called, idempotent sends, delivery reports that never go backwards,
//! webhooks authenticated by the tenant's secret, tenant isolation, the runtime override,
//! and secrets kept out of answers and logs.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::provider::{self, Mode, Provider};
use crate::helpers::{log_capture, spawn_app_with, suffix, Options, TestApp};

const TO: &str = "0772 123456";
const TO_E164: &str = "+256772123456";

fn ok() -> Mode {
    Mode::Ok { body: json!({"balance": "4,250.75", "currency": "UGX"}).to_string() }
}

async fn sms_app(provider: &Provider, password: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut env: Vec<(String, String)> = vec![
        ("SMS_BASE_URL".into(), provider.url.clone()),
        ("SMS_USERNAME".into(), "mayday-sms".into()),
        ("SMS_PASSWORD".into(), password.into()),
        ("SMS_SENDER".into(), "MAYDAY".into()),
        ("SMS_TIMEOUT".into(), "5s".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    spawn_app_with(Options { env, ..Default::default() }).await
}

async fn send(app: &TestApp, token: &str, to: &str, text: &str, key: Option<&str>) -> crate::helpers::Answer {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    app.post_with_headers("/api/sms/send", Some(token), &json!({"to": to, "content": text}), &headers).await
}

/// The path and query of the DLR URL the provider was given.
fn dlr_path(hit: &provider::Hit) -> String {
    let url = hit.json()["dlr-url"].as_str().expect("a dlr-url").to_string();
    let at = url.find("/api/sms/dlr").expect("the DLR path");
    url[at..].to_string()
}

async fn report(app: &TestApp, path: &str, id: &str, status: &str) -> u16 {
    app.post(path, None, &json!({"message_id": id, "status": status})).await.status
}

async fn status_of(app: &TestApp, token: &str, id: u64) -> String {
    let list = app.get(&format!("/api/sms/conversations/{TO_E164}"), Some(token)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let items = list.body["items"].as_array().expect("items");
    let m = items.iter().find(|m| m["id"] == id).unwrap_or_else(|| panic!("message {id} in {}", list.body));
    m["status"].as_str().expect("status").to_string()
}

#[actix_web::test]
async fn a_send_is_stored_queued_before_the_provider_answers_and_ends_sent() {
    let provider = provider::start(Mode::Slow(Duration::from_millis(700), String::new())).await;
    let password = format!("sms-pw-{}", suffix());
    let app = sms_app(&provider, &password, &[]).await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;

    let (sent, (queued, early)) = tokio::join!(send(&app, &admin, TO, "Your table is ready", None), async {
        let hit = provider.wait_for("/send", 1).await.remove(0);
        // The provider holds the request: the message is already stored, queued.
        let queued = app.get(&format!("/api/sms/conversations/{TO_E164}"), Some(&admin)).await;
        // A fast provider's delivery report overtakes its own answer: it is kept, not lost.
        let early = report(&app, &dlr_path(&hit), "msg-1", "DELIVRD").await;
        (queued, early)
    });
    assert_eq!(queued.status, 200, "{}", queued.body);
    assert_eq!(queued.body["items"][0]["status"], "queued", "{}", queued.body);
    assert_eq!(early, 200);
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(
        (sent.body["status"].as_str(), sent.body["provider_id"].as_str()),
        (Some("delivered"), Some("msg-1")),
        "the early report applied once the provider answered: {}",
        sent.body
    );
    assert_eq!(sent.body["partner"], TO_E164, "normalised to E.164");

    let hit = &provider.hits_to("/send")[0];
    let body = hit.json();
    assert_eq!(
        (body["to"].as_str(), body["from"].as_str(), body["content"].as_str()),
        (Some(TO_E164), Some("MAYDAY"), Some("Your table is ready"))
    );
    assert_eq!((body["dlr"].as_str(), body["dlr-level"].as_i64()), (Some("yes"), Some(3)));
    assert!(dlr_path(hit).contains(&format!("tenant={}", t.slug)), "{body}");
    use base64::Engine as _;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("mayday-sms:{password}")));
    assert_eq!(hit.authorization.as_deref(), Some(basic.as_str()), "Basic auth from the environment");

    // A number that is not one is refused before anything is stored or sent.
    let bad = send(&app, &admin, "12", "x", None).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (422, Some("to")), "{}", bad.body);
    assert_eq!(provider.hits_to("/send").len(), 1);

    // Sent as the configured sender or one of the tenant's own outbound DIDs, never as anyone.
    let did = format!("03{:08}", rand::random::<u32>() % 100_000_000);
    let r = app.post("/api/dids", Some(&admin), &json!({"did": did, "label": "Main"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    for (from, status) in [("EquityBank", 422), ("0700999888", 422), (did.as_str(), 201)] {
        let r = app.post("/api/sms/send", Some(&admin), &json!({"to": TO, "content": "hello", "from": from})).await;
        assert_eq!(r.status, status, "from {from}: {}", r.body);
        if status == 422 {
            assert_eq!(r.body["error"]["field"], "from");
        }
    }
    assert_eq!(provider.hits_to("/send").len(), 2, "the refused ones never reached the provider");
    assert_eq!(provider.hits_to("/send")[1].json()["from"], did.as_str());
}

#[actix_web::test]
async fn a_provider_that_fails_times_out_or_answers_garbage_leaves_the_message_failed_with_the_reason() {
    let provider = provider::start(Mode::Status(500)).await;
    let app = sms_app(&provider, "pw", &[("SMS_TIMEOUT", "300ms")]).await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let cases = [
        (Mode::Status(500), "500"),
        (Mode::Slow(Duration::from_secs(3), String::new()), "time"),
        (Mode::Malformed, "not JSON"),
    ];
    for (mode, reason) in cases {
        provider.set(mode);
        let r = send(&app, &admin, TO, "hello", None).await;
        assert_eq!((r.status, r.body["status"].as_str()), (201, Some("failed")), "{}", r.body);
        let error = r.body["error"].as_str().unwrap_or_default();
        assert!(error.contains(reason), "{reason:?} in {error:?}");
        assert_eq!(status_of(&app, &admin, r.body["id"].as_u64().expect("id")).await, "failed");
    }
    // No provider at all: the message is still kept, failed.
    provider.stop().await;
    let r = send(&app, &admin, TO, "hello", None).await;
    assert_eq!((r.status, r.body["status"].as_str()), (201, Some("failed")), "{}", r.body);
}

#[actix_web::test]
async fn the_same_idempotency_key_sends_once_even_concurrently() {
    let provider = provider::start(Mode::Slow(Duration::from_millis(200), String::new())).await;
    let app = sms_app(&provider, "pw", &[]).await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let key = format!("order-{}", suffix());
    let (a, b) = tokio::join!(
        send(&app, &admin, TO, "Booking confirmed", Some(&key)),
        send(&app, &admin, TO, "Booking confirmed", Some(&key))
    );
    let again = send(&app, &admin, TO, "Booking confirmed", Some(&key)).await;
    assert_eq!(provider.hits_to("/send").len(), 1, "one send for one key");
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!((statuses, again.status), ([200, 201], 200), "{} {}", a.body, b.body);
    assert_eq!((a.body["id"].clone(), again.body["id"].clone()), (b.body["id"].clone(), a.body["id"].clone()));
    // Another key is another message.
    let other = send(&app, &admin, TO, "Booking confirmed", Some(&format!("order-{}", suffix()))).await;
    assert_eq!(other.status, 201);
    assert_eq!(provider.hits_to("/send").len(), 2);
    // The rate limit is per tenant and per minute.
    let limited = sms_app(&provider, "pw", &[("SMS_RATE_LIMIT", "1")]).await;
    let t2 = limited.tenant().await;
    let admin2 = limited.login(&t2.admin).await;
    assert_eq!(send(&limited, &admin2, TO, "one", None).await.status, 201);
    let over = send(&limited, &admin2, TO, "two", None).await;
    assert_eq!(over.status, 429, "{}", over.body);
    assert!(over.headers.get("retry-after").is_some());
}

#[actix_web::test]
async fn delivery_reports_duplicated_or_reordered_end_in_the_right_state_and_need_the_tenant_secret() {
    let provider = provider::start(ok()).await;
    let app = sms_app(&provider, "pw", &[]).await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let first = send(&app, &admin, TO, "one", None).await;
    let second = send(&app, &admin, TO, "two", None).await;
    let (id1, id2) = (first.body["id"].as_u64().expect("id"), second.body["id"].as_u64().expect("id"));
    let hits = provider.hits_to("/send");
    let path = dlr_path(&hits[0]);

    // In order, then repeated: delivered stays delivered.
    for status in ["ACCEPTD", "DELIVRD", "DELIVRD", "ACCEPTD"] {
        assert_eq!(report(&app, &path, "msg-1", status).await, 200);
    }
    assert_eq!(status_of(&app, &admin, id1).await, "delivered");
    // Out of order: the final report first, the intermediate one late.
    for status in ["UNDELIV", "ACCEPTD", "UNDELIV"] {
        assert_eq!(report(&app, &path, "msg-2", status).await, 200);
    }
    assert_eq!(status_of(&app, &admin, id2).await, "undelivered");
    // Reports racing each other: whatever the order, the final state wins.
    let third = send(&app, &admin, TO, "three", None).await;
    let id3 = third.body["id"].as_u64().expect("id");
    let racing = ["ACCEPTD", "DELIVRD", "ACCEPTD", "ACCEPTD", "DELIVRD", "ACCEPTD", "ACCEPTD", "ACCEPTD"];
    let answers = futures_util::future::join_all(racing.iter().map(|s| report(&app, &path, "msg-3", s))).await;
    assert!(answers.iter().all(|s| *s == 200));
    assert_eq!(status_of(&app, &admin, id3).await, "delivered");
    // A form-encoded report works the same; an unknown id is answered 200 and changes nothing.
    let form = app
        .send_raw(
            actix_web::http::Method::POST,
            &path,
            None,
            "application/x-www-form-urlencoded",
            b"message_id=msg-1&status=UNDELIV".to_vec(),
        )
        .await;
    assert_eq!(form.status, 200);
    assert_eq!(status_of(&app, &admin, id1).await, "delivered");
    assert_eq!(report(&app, &path, "msg-unknown", "DELIVRD").await, 200);

    // Without the secret, with a wrong one, or with another tenant's: refused.
    let other = app.tenant().await;
    let other_admin = app.login(&other.admin).await;
    send(&app, &other_admin, TO, "other", None).await;
    let other_path = dlr_path(&provider.hits_to("/send")[3]);
    let other_secret = other_path.split("secret=").nth(1).expect("secret");
    let fresh = send(&app, &admin, TO, "four", None).await;
    let id4 = fresh.body["id"].as_u64().expect("id");
    for bad in [
        format!("/api/sms/dlr?tenant={}", t.slug),
        format!("/api/sms/dlr?tenant={}&secret=not-the-secret", t.slug),
        format!("/api/sms/dlr?tenant={}&secret={other_secret}", t.slug),
        "/api/sms/dlr".to_string(),
    ] {
        assert_eq!(report(&app, &bad, "msg-5", "DELIVRD").await, 401, "{bad}");
    }
    assert_eq!(status_of(&app, &admin, id4).await, "sent");
}

#[actix_web::test]
async fn inbound_messages_are_received_and_tenants_never_see_each_others_conversations() {
    let provider = provider::start(ok()).await;
    let app = sms_app(&provider, "pw", &[]).await;
    let (a, b) = (app.tenant().await, app.tenant().await);
    let (ta, tb) = (app.login(&a.admin).await, app.login(&b.admin).await);
    send(&app, &ta, TO, "to the first guest", None).await;
    send(&app, &ta, "0701 234567", "to the second guest", None).await;
    let path = dlr_path(&provider.hits_to("/send")[0]).replace("/api/sms/dlr", "/api/sms/inbound");
    let mo =
        app.post(&path, None, &json!({"from": "0772123456", "to": "MAYDAY", "content": "Thanks!", "id": "mo-1"})).await;
    assert_eq!(
        (mo.status, mo.body["status"].as_str(), mo.body["direction"].as_str()),
        (200, Some("received"), Some("in")),
        "{}",
        mo.body
    );
    // The provider repeating its webhook stores nothing new.
    let again =
        app.post(&path, None, &json!({"from": "0772123456", "to": "MAYDAY", "content": "Thanks!", "id": "mo-1"})).await;
    assert_eq!(again.body["id"], mo.body["id"]);
    // A delivery report naming the inbound message's id changes nothing.
    let dlr = path.replace("/api/sms/inbound", "/api/sms/dlr");
    assert_eq!(report(&app, &dlr, "in:mo-1", "DELIVRD").await, 200);
    // An alphanumeric sender id is a partner too.
    let bank = app.post(&path, None, &json!({"from": "EquityBank", "content": "Your OTP is 1234", "id": "mo-2"})).await;
    assert_eq!((bank.status, bank.body["partner"].as_str()), (200, Some("EquityBank")), "{}", bank.body);

    let conversations = app.get("/api/sms/conversations", Some(&ta)).await;
    assert_eq!(conversations.status, 200, "{}", conversations.body);
    let items = conversations.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "one per partner: {}", conversations.body);
    let paged = app.get("/api/sms/conversations?per_page=2&page=2", Some(&ta)).await;
    assert_eq!(
        (paged.body["total"].as_i64(), paged.body["items"].as_array().map(Vec::len)),
        (Some(3), Some(1)),
        "{}",
        paged.body
    );
    let latest = items.iter().find(|m| m["partner"] == TO_E164).expect("the first guest");
    assert_eq!(
        (latest["content"].as_str(), latest["status"].as_str()),
        (Some("Thanks!"), Some("received")),
        "the latest message of the conversation"
    );
    let thread = app.get(&format!("/api/sms/conversations/{TO_E164}"), Some(&ta)).await;
    assert_eq!(thread.body["items"].as_array().map(Vec::len), Some(2), "{}", thread.body);

    // Tenant B sees none of it, by list or by number.
    let b_list = app.get("/api/sms/conversations", Some(&tb)).await;
    assert_eq!(b_list.body["items"].as_array().map(Vec::len), Some(0), "{}", b_list.body);
    let b_thread = app.get(&format!("/api/sms/conversations/{TO_E164}"), Some(&tb)).await;
    assert_eq!(b_thread.body["items"].as_array().map(Vec::len), Some(0), "{}", b_thread.body);
    // B's own secret does not post into A.
    send(&app, &tb, TO, "from b", None).await;
    let b_path = dlr_path(provider.hits_to("/send").last().expect("b's send"));
    let b_secret = b_path.split("secret=").nth(1).expect("secret");
    let forged = format!("/api/sms/inbound?tenant={}&secret={b_secret}", a.slug);
    assert_eq!(app.post(&forged, None, &json!({"from": "0772123456", "content": "forged"})).await.status, 401);
    assert_eq!(app.get("/api/sms/conversations", None).await.status, 401);
}

#[actix_web::test]
async fn the_runtime_override_takes_over_and_its_removal_falls_back_with_secrets_masked_and_never_logged() {
    let env_provider = provider::start(ok()).await;
    let tenant_provider = provider::start(ok()).await;
    let env_password = format!("env-sms-pw-{}", suffix());
    let app = sms_app(&env_provider, &env_password, &[]).await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;

    let before = app.get("/api/sms/config", Some(&admin)).await;
    assert_eq!(before.status, 200, "{}", before.body);
    assert_eq!(
        (before.body["source"].as_str(), before.body["password"].as_str()),
        (Some("environment"), Some("********"))
    );
    let override_password = format!("override-pw-{}", suffix());
    let header = format!("Bearer tok-{}", suffix());
    let put = app
        .put(
            "/api/sms/config",
            Some(&admin),
            &json!({"base_url": tenant_provider.url, "username": "tenant-user", "password": override_password,
                    "auth_header": header, "sender": "LACUEVA"}),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    for answer in [&put.body, &app.get("/api/sms/config", Some(&admin)).await.body] {
        assert_eq!(
            (answer["source"].as_str(), answer["password"].as_str(), answer["auth_header"].as_str()),
            (Some("override"), Some("********"), Some("********")),
            "{answer}"
        );
        assert!(!answer.to_string().contains(&override_password) && !answer.to_string().contains(&header));
    }
    // The override is this tenant's only.
    let other = app.tenant().await;
    let other_admin = app.login(&other.admin).await;
    assert_eq!(app.get("/api/sms/config", Some(&other_admin)).await.body["source"], "environment");

    let r = send(&app, &admin, TO, "via the override", None).await;
    assert_eq!(r.body["status"], "sent", "{}", r.body);
    let hit = &tenant_provider.hits_to("/send")[0];
    assert_eq!(hit.authorization.as_deref(), Some(header.as_str()), "a ready header wins over Basic");
    assert_eq!(hit.json()["from"], "LACUEVA");
    let balance = app.get("/api/sms/balance", Some(&admin)).await;
    assert_eq!(
        (balance.status, balance.body["amount"].as_f64(), balance.body["currency"].as_str()),
        (200, Some(4250.75), Some("UGX")),
        "{}",
        balance.body
    );
    let providers = app.get("/api/sms/providers", Some(&admin)).await;
    assert_eq!(
        (providers.body[0]["configured"].as_bool(), providers.body[0]["source"].as_str()),
        (Some(true), Some("override"))
    );
    assert!(env_provider.hits_to("/send").is_empty());

    assert_eq!(app.delete("/api/sms/config", Some(&admin)).await.status, 204);
    assert_eq!(app.get("/api/sms/config", Some(&admin)).await.body["source"], "environment");
    send(&app, &admin, TO, "via the environment", None).await;
    assert_eq!((env_provider.hits_to("/send").len(), tenant_provider.hits_to("/send").len()), (1, 1));

    // Only admins see or change the provider.
    let manager = app.user(mayday::domain::TenantId(t.id), &t.slug, mayday::domain::Role::Manager).await;
    let manager = app.login(&manager).await;
    assert_eq!(app.get("/api/sms/config", Some(&manager)).await.status, 403);
    assert_eq!(app.get("/api/sms/balance", Some(&manager)).await.status, 403);
    assert_eq!(app.put("/api/sms/config", Some(&manager), &json!({"base_url": "http://x.example"})).await.status, 403);
    let bad = app.put("/api/sms/config", Some(&admin), &json!({"base_url": "ftp://x.example"})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (422, Some("base_url")));

    // The whole process's log: the marker is there, no secret is.
    let marker = format!("sms-log-marker-{}", suffix());
    tracing::info!(marker = %marker, "end of the SMS secrets test");
    let logs = log_capture().contents();
    assert!(logs.contains(&marker), "the log capture works");
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("mayday-sms:{env_password}"));
    for secret in [&env_password, &override_password, &header, &basic] {
        assert!(!logs.contains(secret.as_str()), "a secret in the logs");
    }
}

#[actix_web::test]
async fn an_override_ip_connects_there_while_keeping_the_host_name() {
    let provider = provider::start(ok()).await;
    // A name that resolves nowhere: only the override IP can reach the provider.
    let url = format!("http://sms.provider.invalid:{}", provider.port);
    let app = spawn_app_with(Options {
        env: vec![("SMS_BASE_URL".into(), url), ("SMS_OVERRIDE_IP".into(), "127.0.0.1".into())],
        ..Default::default()
    })
    .await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let r = send(&app, &admin, TO, "through the override IP", None).await;
    assert_eq!(r.body["status"], "sent", "{}", r.body);
    let hit = &provider.hits_to("/send")[0];
    assert_eq!(hit.host.as_deref(), Some(format!("sms.provider.invalid:{}", provider.port).as_str()));
    assert_eq!(hit.authorization, None, "no credential configured, none sent");
    let config: Value = app.get("/api/sms/config", Some(&admin)).await.body;
    assert_eq!(config["override_ip"], "127.0.0.1");
}

/// Reads frames until one on `topic` satisfies `pred`.
async fn frame_on(c: &mut crate::helpers::ws::WsClient, topic: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    for f in std::mem::take(&mut c.seen) {
        if f["topic"] == topic && pred(&f) {
            return f;
        }
    }
    loop {
        assert!(std::time::Instant::now() < deadline, "no frame on {topic} as expected");
        if let Some(f) = c.next_within(Duration::from_millis(200)).await {
            if f["topic"] == topic && pred(&f) {
                return f;
            }
        }
    }
}

#[actix_web::test]
async fn new_messages_status_changes_and_low_balance_alerts_reach_the_tenants_subscribers() {
    use crate::helpers::live::{directory, start_sim};
    let sms = provider::start(ok()).await;
    let trunk_provider =
        provider::start(Mode::Ok { body: json!({"balance": 250, "currency": "UGX"}).to_string() }).await;
    let sim = start_sim(directory("", None, 1)).await;
    let env = [
        ("SMS_BASE_URL", sms.url.clone()),
        ("TRUNK_BALANCE_URL", format!("{}/validate", trunk_provider.url)),
        ("TRUNK_LOW_BALANCE", "1000".into()),
    ];
    let app = spawn_app_with(Options {
        live: true,
        env: env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        ..Default::default()
    })
    .await;
    let pbx = app.pbx_for(&sim).await;
    let t = app.live_tenant(pbx, &format!("s{}", suffix()), "", 1).await;
    app.agrees(&sim, &t, "the first resync").await;
    let mut c = app.ws(&t.manager_token).await;
    let sub = c.request(json!({"op": "subscribe", "topic": "sms"}), "sms").await;
    assert_eq!(sub["type"], "subscribed", "{sub}");
    let snapshot = frame_on(&mut c, "sms", |f| f["type"] == "snapshot").await;
    assert_eq!(snapshot["data"]["recent"].as_array().map(Vec::len), Some(0), "{snapshot}");
    c.request(json!({"op": "subscribe", "topic": "wallboard"}), "wb").await;
    let wallboard = frame_on(&mut c, "wallboard", |f| f["type"] == "snapshot").await;
    assert_eq!(wallboard["data"]["alerts"], json!([]));

    let r = send(&app, &t.manager_token, TO, "pushed", None).await;
    let id = r.body["id"].clone();
    let queued = frame_on(&mut c, "sms", |f| f["type"] == "delta" && f["data"]["sms"]["status"] == "queued").await;
    assert_eq!(queued["data"]["sms"]["id"], id);
    frame_on(&mut c, "sms", |f| f["data"]["sms"]["status"] == "sent" && f["data"]["sms"]["id"] == id).await;
    let path = dlr_path(&sms.hits_to("/send")[0]);
    assert_eq!(report(&app, &path, "msg-1", "DELIVRD").await, 200);
    frame_on(&mut c, "sms", |f| f["data"]["sms"]["status"] == "delivered").await;

    // A trunk below the threshold raises an alert on the wallboard.
    let admin = app.user(mayday::domain::TenantId(t.id), &t.slug, mayday::domain::Role::Admin).await;
    let admin = app.login(&admin).await;
    let trunk_id = crate::balance::trunk(&app, &admin, t.id, Some("ACC-5")).await;
    assert_eq!(
        app.post(&format!("/api/trunks/{trunk_id}/balance/check"), Some(&admin), &json!({})).await.body["low"],
        true
    );
    let alert = frame_on(&mut c, "wallboard", |f| f["data"]["alerts"].as_array().is_some_and(|a| !a.is_empty())).await;
    let a = &alert["data"]["alerts"][0];
    assert_eq!(
        (a["kind"].as_str(), a["trunk_id"].as_u64(), a["amount"].as_f64(), a["threshold"].as_f64()),
        (Some("low_balance"), Some(trunk_id), Some(250.0), Some(1000.0)),
        "{alert}"
    );
    // Topped up: the alert goes.
    trunk_provider.set(Mode::Ok { body: json!({"balance": 5000}).to_string() });
    app.post(&format!("/api/trunks/{trunk_id}/balance/check"), Some(&admin), &json!({})).await;
    frame_on(&mut c, "wallboard", |f| f["data"]["alerts"] == json!([])).await;
}

#[actix_web::test]
async fn over_tls_the_override_ip_keeps_the_host_name_the_certificate_is_checked_against() {
    let pki = provider::TestPki::new(&["sms.provider.test"]);
    let provider = provider::start_tls(ok(), pki.server_config()).await;
    let ca = pki.ca_file();
    let base = |name: &str| format!("https://{name}:{}", provider.port);
    let app = spawn_app_with(Options {
        env: vec![
            ("SMS_BASE_URL".into(), base("sms.provider.test")),
            ("SMS_OVERRIDE_IP".into(), "127.0.0.1".into()),
            ("OUTBOUND_CA_FILE".into(), ca.display().to_string()),
        ],
        ..Default::default()
    })
    .await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let r = send(&app, &admin, TO, "over TLS", None).await;
    assert_eq!(r.body["status"], "sent", "{}", r.body);
    assert_eq!(
        provider.hits_to("/send")[0].host.as_deref(),
        Some(format!("sms.provider.test:{}", provider.port).as_str())
    );

    // The same server and address under a name its certificate does not carry: refused.
    let put = app
        .put(
            "/api/sms/config",
            Some(&admin),
            &json!({"base_url": base("other.provider.test"), "override_ip": "127.0.0.1"}),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let wrong_name = send(&app, &admin, TO, "to the wrong name", None).await;
    assert_eq!(wrong_name.body["status"], "failed", "{}", wrong_name.body);
    assert!(wrong_name.body["error"].as_str().is_some_and(|e| e.contains("certificate")), "{}", wrong_name.body);
    assert_eq!(provider.hits_to("/send").len(), 1, "nothing reached the provider");

    // Without the private CA (public roots only) the certificate is not trusted either.
    let untrusting = spawn_app_with(Options {
        env: vec![("SMS_BASE_URL".into(), base("sms.provider.test")), ("SMS_OVERRIDE_IP".into(), "127.0.0.1".into())],
        ..Default::default()
    })
    .await;
    let t2 = untrusting.tenant().await;
    let admin2 = untrusting.login(&t2.admin).await;
    let untrusted = send(&untrusting, &admin2, TO, "untrusted", None).await;
    assert_eq!(untrusted.body["status"], "failed", "{}", untrusted.body);
    assert!(untrusted.body["error"].as_str().is_some_and(|e| e.contains("certificate")), "{}", untrusted.body);
    assert_eq!(provider.hits_to("/send").len(), 1);
    let _ = std::fs::remove_file(ca);
}

#[actix_web::test]
async fn in_production_a_tenant_admin_cannot_point_the_provider_at_internal_addresses_or_embed_credentials() {
    let app = spawn_app_with(Options {
        env: vec![("MAYDAY_ENV".into(), "production".into()), ("ARGON2_MEMORY_KIB".into(), "19456".into())],
        ..Default::default()
    })
    .await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let refused = [
        (json!({"base_url": "http://sms.example.com"}), "base_url"),
        (json!({"base_url": "https://10.1.2.3/api"}), "base_url"),
        (json!({"base_url": "https://127.0.0.1:8004"}), "base_url"),
        (json!({"base_url": "https://[::1]/"}), "base_url"),
        (json!({"base_url": "https://sms.example.com", "override_ip": "169.254.169.254"}), "override_ip"),
        (json!({"base_url": "https://sms.example.com", "override_ip": "192.168.0.10"}), "override_ip"),
        (json!({"base_url": "https://user:pw@sms.example.com"}), "base_url"),
    ];
    for (body, field) in refused {
        let r = app.put("/api/sms/config", Some(&admin), &body).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (422, Some(field)), "{body}: {}", r.body);
    }
    let ok = app
        .put(
            "/api/sms/config",
            Some(&admin),
            &json!({"base_url": "https://sms.example.com", "override_ip": "203.0.113.7"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    // A host name that resolves to an internal address is refused when Mayday connects.
    let local = app.put("/api/sms/config", Some(&admin), &json!({"base_url": "https://localhost:9"})).await;
    assert_eq!(local.status, 200, "{}", local.body);
    let r = send(&app, &admin, TO, "to localhost", None).await;
    assert_eq!(r.body["status"], "failed", "{}", r.body);
    assert!(r.body["error"].as_str().is_some_and(|e| e.contains("public address")), "{}", r.body);
    // The platform's superadmin may use an internal provider.
    let root = app.superadmin().await;
    let root = app.login(&root).await;
    let internal = app
        .put(&format!("/api/sms/config?tenant_id={}", t.id), Some(&root), &json!({"base_url": "http://10.1.2.3"}))
        .await;
    assert_eq!(internal.status, 200, "{}", internal.body);
}

#[actix_web::test]
async fn a_message_left_queued_by_a_stopped_server_is_marked_failed_at_the_next_start() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use mayday::db::schema::sms_messages;
    let first = spawn_app_with(Options { private_db: true, ..Default::default() }).await;
    let t = first.tenant().await;
    // What a server that stopped mid-call leaves behind: a message queued long ago.
    let mut conn = first.state.db.get().await.expect("db");
    let new = mayday::db::models::NewSms {
        tenant_id: t.id,
        direction: "out".into(),
        partner: TO_E164.into(),
        our_number: None,
        content: "lost in flight".into(),
        status: "queued".into(),
        provider_id: None,
        idempotency_key: None,
        created_by: None,
    };
    let id = mayday::db::repos::sms::insert(&mut conn, &new).await.expect("insert");
    diesel::update(sms_messages::table.find(id))
        .set(sms_messages::created_at.eq(chrono::Utc::now().naive_utc() - chrono::Duration::minutes(30)))
        .execute(&mut conn)
        .await
        .expect("age it");
    drop(conn);
    let second = spawn_app_with(Options { db_name: Some(first.db_name.clone()), ..Default::default() }).await;
    let admin = second.login(&t.admin).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = status_of(&second, &admin, id).await;
        if status == "failed" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {status}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}
