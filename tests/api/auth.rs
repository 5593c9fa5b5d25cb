use mayday::domain::{Role, TenantId};
use serde_json::json;

use crate::helpers::{error_code, spawn_app, spawn_app_with, Options};

#[actix_web::test]
async fn login_returns_a_token_that_works_on_me() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let a = app
        .post(
            "/api/auth/login",
            None,
            &json!({"tenant": t.slug, "username": t.admin.username, "password": t.admin.password}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body["expires_at"].is_string());
    assert_eq!(a.body["user"]["username"], t.admin.username.as_str());
    assert!(a.body["user"].get("password_hash").is_none(), "never the hash");
    let token = a.body["token"].as_str().expect("token");
    let me = app.get("/api/auth/me", Some(token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["id"], t.admin.id);
    assert_eq!(me.body["role"], "admin");
    assert_eq!(app.get("/api/auth/me", None).await.status, 401);
    assert_eq!(app.get("/api/auth/me", Some("not-a-jwt")).await.status, 401);
}

#[actix_web::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let wrong = app
        .post(
            "/api/auth/login",
            None,
            &json!({"tenant": t.slug, "username": t.admin.username, "password": "wrong password"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/auth/login",
            None,
            &json!({"tenant": t.slug, "username": "nobody-here", "password": "wrong password"}),
        )
        .await;
    let no_tenant =
        app.post("/api/auth/login", None, &json!({"tenant": "no-such-tenant", "username": "x", "password": "y"})).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(error_code(&wrong), "unauthorized");
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body, no_tenant.body);
    assert_eq!((unknown.status, no_tenant.status), (401, 401));
}

#[actix_web::test]
async fn the_eleventh_failure_in_the_window_gets_429_with_retry_after() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let bad = json!({"tenant": t.slug, "username": t.admin.username, "password": "wrong password"});
    for attempt in 1..=10 {
        let a = app.post("/api/auth/login", None, &bad).await;
        assert_eq!(a.status, 401, "attempt {attempt}");
    }
    let eleventh = app.post("/api/auth/login", None, &bad).await;
    assert_eq!(eleventh.status, 429);
    assert_eq!(error_code(&eleventh), "rate_limited");
    let retry: u64 = eleventh
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=15 * 60).contains(&retry), "retry after {retry}");
    // The right password is refused too while the limit holds.
    let right = app
        .post(
            "/api/auth/login",
            None,
            &json!({"tenant": t.slug, "username": t.admin.username, "password": t.admin.password}),
        )
        .await;
    assert_eq!(right.status, 429);
}

#[actix_web::test]
async fn a_short_window_expires_and_logins_work_again() {
    let app = spawn_app_with(Options {
        env: vec![("LOGIN_RATE_WINDOW".into(), "300ms".into()), ("LOGIN_RATE_LIMIT".into(), "2".into())],
        ..Default::default()
    })
    .await;
    let t = app.tenant().await;
    let bad = json!({"tenant": t.slug, "username": t.admin.username, "password": "wrong password"});
    app.post("/api/auth/login", None, &bad).await;
    app.post("/api/auth/login", None, &bad).await;
    assert_eq!(app.post("/api/auth/login", None, &bad).await.status, 429);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let a = app
            .post(
                "/api/auth/login",
                None,
                &json!({"tenant": t.slug, "username": t.admin.username, "password": t.admin.password}),
            )
            .await;
        if a.status == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the window never ended: {}", a.status);
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn a_bcrypt_user_from_the_old_system_logs_in_and_is_rehashed_to_argon2id() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use mayday::db::schema::users;

    let app = spawn_app().await;
    let t = app.tenant().await;
    let legacy = app.user(TenantId(t.id), &t.slug, Role::Agent).await;
    let bcrypt_hash = bcrypt::hash(&legacy.password, 4).expect("bcrypt");
    let mut conn = app.state.db.get().await.expect("db");
    diesel::update(users::table.find(legacy.id))
        .set(users::password_hash.eq(&bcrypt_hash))
        .execute(&mut conn)
        .await
        .expect("set bcrypt hash");
    app.login(&legacy).await;
    let stored: String =
        users::table.find(legacy.id).select(users::password_hash).first(&mut conn).await.expect("hash");
    assert!(stored.starts_with("$argon2id$"), "rehashed: {stored}");
    app.login(&legacy).await;
}

#[actix_web::test]
async fn the_old_login_path_finds_the_tenant_by_host_name() {
    let app = spawn_app().await;
    let su = app.superadmin().await;
    let su_token = app.login(&su).await;
    let t = app.tenant().await;
    let host = format!("{}.callcenter.test", t.slug);
    let a = app.put(&format!("/api/tenants/{}", t.id), Some(&su_token), &json!({"domains": [host]})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let res = app
        .client
        .post(app.url("/api/users/login"))
        .insert_header(("host", format!("{host}:8004")))
        .send_json(&json!({"username": t.admin.username, "password": t.admin.password}))
        .await
        .expect("sent");
    assert_eq!(res.status().as_u16(), 200);
    // Another host name knows no such user.
    let res = app
        .client
        .post(app.url("/api/users/login"))
        .insert_header(("host", "elsewhere.test"))
        .send_json(&json!({"username": t.admin.username, "password": t.admin.password}))
        .await
        .expect("sent");
    assert_eq!(res.status().as_u16(), 401);
}

#[actix_web::test]
async fn after_logout_the_same_token_is_refused() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let token = app.login(&t.admin).await;
    let other = app.login(&t.admin).await;
    assert_eq!(app.post("/api/auth/logout", Some(&token), &json!({})).await.status, 204);
    assert_eq!(app.get("/api/auth/me", Some(&token)).await.status, 401);
    assert_eq!(app.get("/api/auth/me", Some(&other)).await.status, 200, "only that session ended");
}

#[actix_web::test]
async fn disabling_a_user_ends_their_live_sessions_at_once() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let agent = app.user(TenantId(t.id), &t.slug, Role::Agent).await;
    let agent_token = app.login(&agent).await;
    assert_eq!(app.get("/api/auth/me", Some(&agent_token)).await.status, 200);
    let a = app.put(&format!("/api/agents/{}", agent.id), Some(&admin), &json!({"enabled": false})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(app.get("/api/auth/me", Some(&agent_token)).await.status, 401);
    let again = app
        .post(
            "/api/auth/login",
            None,
            &json!({"tenant": t.slug, "username": agent.username, "password": agent.password}),
        )
        .await;
    assert_eq!(again.status, 401, "a disabled user cannot log in");
}

#[actix_web::test]
async fn a_password_change_ends_the_sessions_and_the_new_password_works() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let mut agent = app.user(TenantId(t.id), &t.slug, Role::Agent).await;
    let agent_token = app.login(&agent).await;
    let a =
        app.put(&format!("/api/users/{}", agent.id), Some(&admin), &json!({"password": "a brand new secret"})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(app.get("/api/auth/me", Some(&agent_token)).await.status, 401);
    agent.password = "a brand new secret".into();
    app.login(&agent).await;
}

#[actix_web::test]
async fn with_redis_gone_a_user_is_not_disabled_while_their_sessions_live_on() {
    let redis = crate::helpers::cut::Forwarder::to("127.0.0.1:6379".parse().expect("addr")).await;
    let app = spawn_app_with(Options {
        env: vec![("REDIS_URL".into(), format!("redis://{}", redis.addr)), ("REDIS_TIMEOUT".into(), "300ms".into())],
        ..Default::default()
    })
    .await;
    let t = app.tenant().await;
    let agent = app.user(TenantId(t.id), &t.slug, Role::Agent).await;
    let agent_token = app.login(&agent).await;
    let admin = mayday::domain::Caller {
        user: mayday::domain::UserId(t.admin.id),
        tenant: TenantId(t.id),
        role: Role::Admin,
        session: "test".into(),
    };
    let disable = || mayday::services::agents::UpdateAgent { enabled: Some(false), ..Default::default() };
    let id = mayday::domain::UserId(agent.id);

    // Redis goes away after the admin was let in: the change is refused, not half made.
    redis.cut().await;
    let refused = mayday::services::agents::update(&app.state, &admin, TenantId(t.id), id, disable()).await;
    assert!(matches!(refused, Err(mayday::services::ServiceError::Unavailable(_))), "{:?}", refused.err());
    redis.restore();
    let agent_view = app.get(&format!("/api/agents/{}", agent.id), Some(&app.login(&t.admin).await)).await;
    assert_eq!(agent_view.body["enabled"], true, "{}", agent_view.body);
    assert_eq!(app.get("/api/auth/me", Some(&agent_token)).await.status, 200, "nothing changed");

    mayday::services::agents::update(&app.state, &admin, TenantId(t.id), id, disable()).await.expect("disabled");
    assert_eq!(app.get("/api/auth/me", Some(&agent_token)).await.status, 401);
}

#[actix_web::test]
async fn behind_a_trusted_proxy_the_ip_limit_counts_each_client_not_the_proxy() {
    let app = spawn_app_with(Options {
        env: vec![
            ("TRUSTED_PROXIES".into(), "127.0.0.1/32".into()),
            ("LOGIN_IP_RATE_LIMIT".into(), "3".into()),
            ("LOGIN_RATE_LIMIT".into(), "100".into()),
        ],
        ..Default::default()
    })
    .await;
    let t = app.tenant().await;
    let bad = json!({"tenant": t.slug, "username": t.admin.username, "password": "wrong password"});
    let good = json!({"tenant": t.slug, "username": t.admin.username, "password": t.admin.password});
    let from = |ip: &'static str| [("X-Forwarded-For", ip)];
    for _ in 0..3 {
        assert_eq!(app.post_with_headers("/api/auth/login", None, &bad, &from("203.0.113.5")).await.status, 401);
    }
    assert_eq!(app.post_with_headers("/api/auth/login", None, &bad, &from("203.0.113.5")).await.status, 429);
    // A client further left in the header is the client's own claim: still 203.0.113.5.
    let spoofed = app.post_with_headers("/api/auth/login", None, &good, &from("198.51.100.7, 203.0.113.5")).await;
    assert_eq!(spoofed.status, 429);
    // An entry the proxy did not write as an address ends the walk: the claim left of it
    // is not believed (the request counts as the proxy's).
    for _ in 0..3 {
        let r = app.post_with_headers("/api/auth/login", None, &bad, &from("198.51.100.99, garbage")).await;
        assert_eq!(r.status, 401);
    }
    let proxy = app.post_with_headers("/api/auth/login", None, &good, &from("198.51.100.99, garbage")).await;
    assert_eq!(proxy.status, 429, "counted as the proxy, not as 198.51.100.99");
    // Another client behind the same proxy is not locked out by the first one.
    assert_eq!(app.post_with_headers("/api/auth/login", None, &good, &from("198.51.100.7")).await.status, 200);
}
