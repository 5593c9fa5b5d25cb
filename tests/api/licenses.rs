//! Licensing: signed licences, the licence server (renewals, revocations, grace), the
//! fallbacks, and seats taken atomically in Redis.

use std::time::{Duration, Instant};

use mayday::domain::{Role, TenantId};
use serde_json::{json, Value};

use crate::helpers::licence::{licence, signed, vendor_key};
use crate::helpers::live::start_sim;
use crate::helpers::{spawn_app_with, suffix, Options, TestApp};

/// A licence server on a random port, serving `dir`.
struct LicenceServer {
    url: String,
    dir: std::path::PathBuf,
    handle: actix_web::dev::ServerHandle,
}

async fn licence_server() -> LicenceServer {
    let dir = std::env::temp_dir().join(format!("mayday-licence-server-{}", suffix()));
    std::fs::create_dir_all(&dir).expect("dir");
    let routes = mayday::cli::license::server_app(dir.clone(), vendor_key());
    let server = actix_web::HttpServer::new(move || actix_web::App::new().configure(routes.clone()))
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind");
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    LicenceServer { url: format!("http://127.0.0.1:{port}"), dir, handle }
}

/// A server with no licence installed at start (private database), with extra settings.
async fn unlicensed_app(extra: &[(&str, &str)]) -> TestApp {
    let mut env: Vec<(String, String)> = vec![("LICENSE_FILE".into(), "/nonexistent/none.lic".into())];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    spawn_app_with(Options { private_db: true, env, ..Default::default() }).await
}

async fn superadmin_token(app: &TestApp) -> String {
    let root = app.superadmin().await;
    app.login(&root).await
}

async fn current(app: &TestApp, token: &str) -> Value {
    let c = app.get("/api/licenses/current", Some(token)).await;
    assert_eq!(c.status, 200, "{}", c.body);
    c.body
}

async fn install(app: &TestApp, token: &str, text: &str) -> crate::helpers::Answer {
    app.send_raw(
        actix_web::http::Method::POST,
        "/api/licenses/install",
        Some(token),
        "text/plain",
        text.as_bytes().to_vec(),
    )
    .await
}

#[actix_web::test]
async fn a_valid_licence_verifies_and_a_changed_byte_does_not() {
    let app = unlicensed_app(&[]).await;
    let root = superadmin_token(&app).await;
    let before = current(&app, &root).await;
    assert_eq!((before["source"].as_str(), before["development"].as_bool()), (Some("development"), Some(true)));
    let installation = before["installation_id"].as_str().expect("installation id").to_string();
    let text = signed(&licence("L-valid", 12, 3, 30, Some(&installation)));
    // One changed byte of the payload: refused, nothing installed.
    let mut tampered = text.clone().into_bytes();
    let at = text.find("\"payload\": \"").expect("payload") + 20;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let bad = install(&app, &root, &String::from_utf8(tampered).expect("ascii")).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (422, Some("license")), "{}", bad.body);
    assert_eq!(current(&app, &root).await["source"], "development");
    // Bound to another installation: refused.
    let other = install(&app, &root, &signed(&licence("L-other", 5, 0, 30, Some("another-installation")))).await;
    assert_eq!(other.status, 422);
    let ok = install(&app, &root, &text).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let c = current(&app, &root).await;
    assert_eq!(
        (c["source"].as_str(), c["license_id"].as_str(), c["seats"].as_u64()),
        (Some("licensed"), Some("L-valid"), Some(12))
    );
    let features = app.get("/api/licenses/features", Some(&root)).await;
    assert!(features.body.as_array().expect("features").iter().any(|f| f["feature"] == "sms" && f["enabled"] == true));
    // Admins only; agents cannot read it.
    let t = app.tenant().await;
    let agent = app.user(TenantId(t.id), &t.slug, Role::Agent).await;
    let agent = app.login(&agent).await;
    assert_eq!(app.get("/api/licenses/current", Some(&agent)).await.status, 403);
}

#[actix_web::test]
async fn the_development_licence_exists_only_in_development() {
    let dev = unlicensed_app(&[]).await;
    let root = superadmin_token(&dev).await;
    let c = current(&dev, &root).await;
    assert_eq!(
        (c["source"].as_str(), c["seats"].as_u64(), c["webrtc_seats"].as_u64()),
        (Some("development"), Some(2), Some(0))
    );
    let prod =
        unlicensed_app(&[("MAYDAY_ENV", "production"), ("ARGON2_MEMORY_KIB", "19456"), ("ARGON2_ITERATIONS", "2")])
            .await;
    let root = superadmin_token(&prod).await;
    let c = current(&prod, &root).await;
    assert_eq!(
        (c["source"].as_str(), c["development"].as_bool(), c["seats"].as_u64()),
        (Some("unlicensed"), Some(false), Some(1))
    );
}

async fn seat(app: &TestApp, token: &str, feature: &str) -> crate::helpers::Answer {
    app.post("/api/licenses/seats", Some(token), &json!({"feature": feature, "client": "console"})).await
}

#[actix_web::test]
async fn fifty_concurrent_logins_for_ten_seats_get_exactly_ten_and_expired_seats_free_up() {
    let app = unlicensed_app(&[("LICENSE_SEAT_TTL", "1s")]).await;
    let root = superadmin_token(&app).await;
    assert_eq!(install(&app, &root, &signed(&licence("L-ten", 10, 2, 30, None))).await.status, 200);
    let t = app.tenant().await;
    let agent = app.user(TenantId(t.id), &t.slug, Role::Agent).await;
    let mut tokens = Vec::new();
    for _ in 0..50 {
        tokens.push(app.login(&agent).await);
    }
    let answers = futures_util::future::join_all(tokens.iter().map(|tk| seat(&app, tk, "agent"))).await;
    let granted = answers.iter().filter(|a| a.status == 201).count();
    let refused: Vec<&crate::helpers::Answer> = answers.iter().filter(|a| a.status == 403).collect();
    assert_eq!((granted, refused.len()), (10, 40));
    let message = refused[0].body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("licence limit") && message.contains("10 agent seats") && message.contains("L-ten"),
        "{message}"
    );
    // The admin sees the tenant's ten seat sessions.
    let admin = app.login(&t.admin).await;
    let sessions = app.get("/api/licenses/sessions", Some(&admin)).await;
    assert_eq!(sessions.body.as_array().map(Vec::len), Some(10), "{}", sessions.body);
    // A heartbeat keeps a seat; the others expire and free up.
    let holder = tokens.iter().zip(&answers).find(|(_, a)| a.status == 201).map(|(t, _)| t.clone()).expect("a holder");
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        assert_eq!(app.put("/api/licenses/seats/agent", Some(&holder), &json!({})).await.status, 200);
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    }
    let later = futures_util::future::join_all(tokens.iter().map(|tk| seat(&app, tk, "agent"))).await;
    assert_eq!(
        later.iter().filter(|a| a.status == 201).count(),
        10,
        "the expired seats were free again (the holder renewed)"
    );
    // Logout frees the seat at once; an admin can end one.
    assert_eq!(app.post("/api/auth/logout", Some(&holder), &json!({})).await.status, 204);
    let sessions = app.get("/api/licenses/sessions", Some(&admin)).await;
    let list = sessions.body.as_array().expect("sessions").clone();
    assert_eq!(list.len(), 9);
    let one = list[0]["session"].as_str().expect("session");
    assert_eq!(app.delete(&format!("/api/licenses/sessions/agent/{one}"), Some(&admin)).await.status, 204);
    assert_eq!(app.get("/api/licenses/sessions", Some(&admin)).await.body.as_array().map(Vec::len), Some(8));
    // WebRTC seats have their own limit; a superadmin may cap a tenant.
    // (A webrtc seat goes with the session's agent seat: five sessions that hold one ask.)
    let mut holding = Vec::new();
    for tk in &tokens {
        if app.put("/api/licenses/seats/agent", Some(tk), &json!({})).await.status == 200 {
            holding.push(tk.clone());
        }
    }
    assert_eq!(holding.len(), 8);
    let webrtc: Vec<_> = futures_util::future::join_all(holding[..5].iter().map(|tk| seat(&app, tk, "webrtc"))).await;
    assert_eq!(webrtc.iter().filter(|a| a.status == 201).count(), 2);
    let no_agent_seat = seat(&app, &admin, "webrtc").await;
    assert_eq!(no_agent_seat.status, 403, "a webrtc seat needs an agent seat: {}", no_agent_seat.body);
    let cap = app
        .put("/api/licenses/allocations", Some(&root), &json!({"tenant_id": t.id, "feature": "agent", "seats": 8}))
        .await;
    assert_eq!(cap.status, 200, "{}", cap.body);
    let other_tenant = app.tenant().await;
    let over = app
        .put(
            "/api/licenses/allocations",
            Some(&root),
            &json!({"tenant_id": other_tenant.id, "feature": "agent", "seats": 11}),
        )
        .await;
    assert_eq!((over.status, over.body["error"]["field"].as_str()), (422, Some("seats")));
    assert_eq!(
        app.put("/api/licenses/allocations", Some(&admin), &json!({"tenant_id": t.id, "feature": "agent", "seats": 9}))
            .await
            .status,
        403
    );
}

#[actix_web::test]
async fn revocation_and_expiry_stop_new_seats_but_not_the_live_wallboard() {
    let server = licence_server().await;
    let sim = start_sim(crate::helpers::live::directory("", None, 2)).await;
    let app = spawn_app_with(Options {
        live: true,
        env: vec![
            ("LICENSE_FILE".into(), "/nonexistent/none.lic".into()),
            ("LICENSE_SERVER_URL".into(), server.url.clone()),
            ("LICENSE_SYNC_INTERVAL".into(), "1h".into()),
        ],
        ..Default::default()
    })
    .await;
    let root = superadmin_token(&app).await;
    let installation = current(&app, &root).await["installation_id"].as_str().expect("id").to_string();
    std::fs::write(server.dir.join("a.lic"), signed(&licence("L-live", 5, 0, 30, Some(&installation))))
        .expect("licence file");
    let synced = app.post("/api/licenses/sync", Some(&root), &json!({})).await;
    assert_eq!((synced.status, synced.body["license_id"].as_str()), (200, Some("L-live")), "{}", synced.body);
    let pbx = app.pbx_for(&sim).await;
    let t = app.live_tenant(pbx, &format!("lic{}", suffix()), "", 2).await;
    let agent_token = app.login(&t.agents[0]).await;
    assert_eq!(seat(&app, &agent_token, "agent").await.status, 201);
    let mut ws = app.ws(&t.manager_token).await;
    assert_eq!(ws.hello["licence"], "licensed", "the UI data says where the limits come from");
    let sub = ws.request(json!({"op": "subscribe", "topic": "wallboard"}), "w1").await;
    assert_eq!(sub["type"], "subscribed", "{sub}");
    // Revoked: the next sync says so; new seats stop, the held one and the wallboard go on.
    std::fs::write(server.dir.join("revoked.txt"), "L-live\n").expect("revocation");
    assert_eq!(app.post("/api/licenses/sync", Some(&root), &json!({})).await.status, 200);
    let c = current(&app, &root).await;
    assert_eq!((c["revoked"].as_bool(), c["source"].as_str()), (Some(true), Some("development")), "{c}");
    let second = app.login(&t.agents[1]).await;
    let refused = seat(&app, &second, "agent").await;
    assert_eq!(refused.status, 201, "the development fallback has 2 seats: {}", refused.body);
    let third = app.login(&t.agents[1]).await;
    let refused = seat(&app, &third, "agent").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body["error"]["message"].as_str().unwrap_or_default().contains("revoked"), "{}", refused.body);
    sim.place_call("sales", "0700000001").await.expect("a caller joins");
    let mut updated = false;
    while let Some(frame) = ws.next_within(Duration::from_secs(5)).await {
        if frame["topic"] == "wallboard" && frame["type"] == "delta" {
            updated = true;
            break;
        }
    }
    assert!(updated, "the wallboard keeps updating after the revocation");
    assert_eq!(app.ws(&t.manager_token).await.hello["licence"], "development", "a new socket says so");
    server.handle.stop(false).await;
    sim.shutdown();
}

#[actix_web::test]
async fn a_server_away_within_the_grace_keeps_the_licence_and_after_it_the_fallback_applies() {
    let server = licence_server().await;
    let app = unlicensed_app(&[
        ("LICENSE_SERVER_URL", &server.url),
        ("LICENSE_GRACE", "2s"),
        ("LICENSE_SYNC_INTERVAL", "1h"),
        ("MAYDAY_ENV", "production"),
        ("ARGON2_MEMORY_KIB", "19456"),
        ("ARGON2_ITERATIONS", "2"),
    ])
    .await;
    let root = superadmin_token(&app).await;
    let installation = current(&app, &root).await["installation_id"].as_str().expect("id").to_string();
    std::fs::write(server.dir.join("a.lic"), signed(&licence("L-grace", 7, 0, 30, Some(&installation)))).expect("file");
    assert_eq!(app.post("/api/licenses/sync", Some(&root), &json!({})).await.status, 200);
    let synced_at = Instant::now();
    assert_eq!(current(&app, &root).await["source"], "licensed");
    server.handle.stop(false).await;
    let down = app.post("/api/licenses/sync", Some(&root), &json!({})).await;
    assert_eq!(down.status, 503, "{}", down.body);
    let c = current(&app, &root).await;
    assert_eq!(
        (c["source"].as_str(), c["license_id"].as_str()),
        (Some("licensed"), Some("L-grace")),
        "within the grace: {c}"
    );
    assert!(c["last_sync_error"].is_string());
    let wait = Duration::from_millis(2200).saturating_sub(synced_at.elapsed());
    actix_web::rt::time::sleep(wait).await;
    let c = current(&app, &root).await;
    assert_eq!(c["source"], "unlicensed", "after the grace, production falls back to the unlicensed limits: {c}");
    assert!(c["problem"].as_str().unwrap_or_default().contains("grace"));
}
