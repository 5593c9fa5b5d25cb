use crate::helpers::{spawn_app, spawn_app_with, Options};

/// A local port with nothing listening.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[actix_web::test]
async fn liveness_and_readiness_answer_with_round_trip_times() {
    let app = spawn_app().await;
    let live = app.get("/api/health", None).await;
    assert_eq!((live.status, live.body["status"].as_str()), (200, Some("ok")));
    for path in ["/api/health/ready", "/api/status", "/api/users/system/health"] {
        let ready = app.get(path, None).await;
        assert_eq!(ready.status, 200, "{path}: {}", ready.body);
        let checks = ready.body["checks"].as_array().expect("checks");
        let names: Vec<&str> = checks.iter().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(names, ["database", "redis"]);
        assert!(checks.iter().all(|c| c["ok"] == true && c["rtt_ms"].as_f64().is_some()));
    }
}

#[actix_web::test]
async fn readiness_is_503_naming_a_database_that_is_down() {
    let port = closed_port();
    let app = spawn_app_with(Options {
        env: vec![
            ("DATABASE_URL".into(), format!("mysql://root@127.0.0.1:{port}/mayday")),
            ("DATABASE_TIMEOUT".into(), "300ms".into()),
        ],
        ..Default::default()
    })
    .await;
    let ready = app.get("/api/health/ready", None).await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert_eq!(ready.body["error"]["code"], "not_ready");
    assert!(ready.body["error"]["message"].as_str().unwrap_or_default().contains("database"));
    let db = ready.body["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "database")
        .expect("database check")
        .clone();
    assert_eq!(db["ok"], false);
    // Liveness is unaffected, and a request that needs the database is a 503, not a 500.
    assert_eq!(app.get("/api/health", None).await.status, 200);
    let login =
        app.post("/api/auth/login", None, &serde_json::json!({"tenant": "a", "username": "b", "password": "c"})).await;
    assert_eq!((login.status, login.body["error"]["code"].as_str()), (503, Some("unavailable")));
}

#[actix_web::test]
async fn readiness_is_503_naming_a_redis_that_is_down() {
    let port = closed_port();
    let app = spawn_app_with(Options {
        env: vec![("REDIS_URL".into(), format!("redis://127.0.0.1:{port}")), ("REDIS_TIMEOUT".into(), "300ms".into())],
        ..Default::default()
    })
    .await;
    let ready = app.get("/api/health/ready", None).await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(ready.body["error"]["message"].as_str().unwrap_or_default().contains("redis"));
    let t = app.tenant().await;
    let login = app
        .post(
            "/api/auth/login",
            None,
            &serde_json::json!({"tenant": t.slug, "username": t.admin.username, "password": t.admin.password}),
        )
        .await;
    assert_eq!(login.status, 503, "{}", login.body);
}

#[actix_web::test]
async fn a_database_and_a_redis_that_go_away_mid_run_give_503s_and_are_used_again_when_back() {
    use crate::helpers::cut::Forwarder;
    let db = Forwarder::to("127.0.0.1:3306".parse().expect("addr")).await;
    let redis = Forwarder::to("127.0.0.1:6379".parse().expect("addr")).await;
    let name = crate::helpers::db::shared().await;
    let app = spawn_app_with(Options {
        env: vec![
            // Through TCP only: by default the client moves to MariaDB's Unix socket.
            ("DATABASE_URL".into(), format!("mysql://root@{}/{name}?prefer_socket=false", db.addr)),
            ("DATABASE_TIMEOUT".into(), "500ms".into()),
            ("REDIS_URL".into(), format!("redis://{}", redis.addr)),
            ("REDIS_TIMEOUT".into(), "500ms".into()),
        ],
        ..Default::default()
    })
    .await;
    let t = app.tenant().await;
    let token = app.login(&t.admin).await;
    assert_eq!(app.get("/api/users", Some(&token)).await.status, 200);

    assert!(
        db.connections() > 0 && redis.connections() > 0,
        "the server talks through the forwarders: {} {}",
        db.connections(),
        redis.connections()
    );
    // MariaDB goes away: what needs it is a 503 naming it, the session still works.
    db.cut().await;
    let users = app.get("/api/users", Some(&token)).await;
    assert_eq!((users.status, users.body["error"]["code"].as_str()), (503, Some("unavailable")), "{}", users.body);
    assert_eq!(app.get("/api/health/ready", None).await.status, 503);
    db.restore();
    let back = wait_for_200(&app, "/api/users", &token).await;
    assert!(back, "the pool connects again once MariaDB is back");

    // Redis goes away: a signed-in caller gets 503, never a 401 that would look like a logout.
    redis.cut().await;
    let me = app.get("/api/auth/me", Some(&token)).await;
    assert_eq!((me.status, me.body["error"]["code"].as_str()), (503, Some("unavailable")), "{}", me.body);
    redis.restore();
    assert!(wait_for_200(&app, "/api/auth/me", &token).await, "the session is still there once Redis is back");
}

/// Polls `path` until it answers 200 (at most 10 s).
async fn wait_for_200(app: &crate::helpers::TestApp, path: &str, token: &str) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if app.get(path, Some(token)).await.status == 200 {
            return true;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}
