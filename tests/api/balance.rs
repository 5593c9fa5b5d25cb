//! The trunk provider's balance against a real local provider: parsed and cached with its
//! age, a provider that fails gives a clear error with the last known value, and the
//! pre-call check decides at the boundary.

use serde_json::json;

use crate::helpers::provider::{self, Mode, Provider};
use crate::helpers::{spawn_app_with, suffix, Options, TestApp};

fn answering(body: serde_json::Value) -> Mode {
    Mode::Ok { body: body.to_string() }
}

async fn balance_app(provider: &Provider, password: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut env: Vec<(String, String)> = vec![
        ("TRUNK_BALANCE_URL".into(), format!("{}/validate", provider.url)),
        ("TRUNK_BALANCE_USERNAME".into(), "mayday".into()),
        ("TRUNK_BALANCE_PASSWORD".into(), password.into()),
        ("TRUNK_BALANCE_TIMEOUT".into(), "500ms".into()),
        ("TRUNK_RATES".into(), "256=150,2567=200,*=300".into()),
        ("TRUNK_MIN_BALANCE".into(), "100".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    spawn_app_with(Options { env, ..Default::default() }).await
}

/// A trunk of `tenant` (made by its admin) with the provider account a superadmin gave it;
/// its id.
pub async fn trunk(app: &TestApp, admin: &str, tenant: u64, account: Option<&str>) -> u64 {
    let body = json!({"name": format!("carrier{}", suffix()), "host": format!("sip-{}.carrier.example", suffix())});
    let r = app.post("/api/trunks", Some(admin), &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_u64().expect("id");
    if let Some(account) = account {
        let root = app.superadmin().await;
        let root = app.login(&root).await;
        let path = format!("/api/trunks/{id}?tenant_id={tenant}");
        let set = app.put(&path, Some(&root), &json!({"account_number": account})).await;
        assert_eq!(set.status, 200, "{}", set.body);
    }
    id
}

#[actix_web::test]
async fn the_balance_is_parsed_stored_and_served_from_cache_with_its_age() {
    let provider = provider::start(answering(json!({"status": "ok", "balance": "12,500.50", "currency": "UGX"}))).await;
    let password = format!("bal-pw-{}", suffix());
    let app = balance_app(&provider, &password, &[]).await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let id = trunk(&app, &admin, t.id, Some("ACC-778")).await;

    let none = app.get(&format!("/api/trunks/{id}/balance"), Some(&admin)).await;
    assert_eq!((none.status, none.body["amount"].is_null()), (200, true), "{}", none.body);
    let checked = app.post(&format!("/api/trunks/{id}/balance/check"), Some(&admin), &json!({})).await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    assert_eq!((checked.body["amount"].as_f64(), checked.body["currency"].as_str()), (Some(12500.5), Some("UGX")));
    let hits = provider.hits_to("/validate");
    assert_eq!(hits.len(), 1);
    assert_eq!((hits[0].method.as_str(), hits[0].body.as_str()), ("POST", "account=ACC-778&BALANCE=BALANCE"));
    use base64::Engine as _;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("mayday:{password}")));
    assert_eq!(hits[0].authorization.as_deref(), Some(basic.as_str()));

    // Served from what was stored: no new request, with its age.
    let cached = app.get(&format!("/api/trunks/{id}/balance"), Some(&admin)).await;
    assert_eq!(
        (cached.body["amount"].as_f64(), cached.body["account_number"].as_str()),
        (Some(12500.5), Some("ACC-778"))
    );
    assert!(cached.body["age_secs"].as_i64().is_some_and(|a| (0..60).contains(&a)), "{}", cached.body);
    assert!(cached.body["checked_at"].is_string());
    assert_eq!(provider.hits_to("/validate").len(), 1);

    // A text answer parses too.
    provider.set(Mode::Ok { body: "Balance: 980.25 UGX".into() });
    let text = app.post(&format!("/api/trunks/{id}/balance/check"), Some(&admin), &json!({})).await;
    assert_eq!(text.body["amount"].as_f64(), Some(980.25), "{}", text.body);

    // Tenant scoped: another tenant's admin gets 404; a manager 403.
    let other = app.tenant().await;
    let other_admin = app.login(&other.admin).await;
    assert_eq!(app.get(&format!("/api/trunks/{id}/balance"), Some(&other_admin)).await.status, 404);
    // A trunk with no account cannot be checked.
    let bare = trunk(&app, &admin, t.id, None).await;
    let r = app.post(&format!("/api/trunks/{bare}/balance/check"), Some(&admin), &json!({})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (422, Some("account_number")), "{}", r.body);
}

#[actix_web::test]
async fn a_provider_that_fails_gives_a_clear_error_with_the_last_known_value_and_its_age() {
    let provider = provider::start(answering(json!({"balance": 5000, "currency": "UGX"}))).await;
    let app = balance_app(&provider, "pw", &[]).await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let id = trunk(&app, &admin, t.id, Some("ACC-1")).await;
    let path = format!("/api/trunks/{id}/balance/check");

    // Nothing known yet and the provider failing.
    provider.set(Mode::Status(500));
    let first = app.post(&path, Some(&admin), &json!({})).await;
    assert_eq!((first.status, first.body["error"]["code"].as_str()), (502, Some("upstream")), "{}", first.body);
    assert!(
        first.body["error"]["message"].as_str().is_some_and(|m| m.contains("500") && m.contains("no balance known")),
        "{}",
        first.body
    );

    provider.set(answering(json!({"balance": 5000, "currency": "UGX"})));
    assert_eq!(app.post(&path, Some(&admin), &json!({})).await.status, 200);
    for (mode, reason) in [
        (Mode::Status(503), "503"),
        (Mode::Malformed, "no balance"),
        (Mode::Slow(std::time::Duration::from_secs(3), String::new()), "in time"),
    ] {
        provider.set(mode);
        let r = app.post(&path, Some(&admin), &json!({})).await;
        assert_eq!(r.status, 502, "{}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(reason) && message.contains("last known balance 5000 UGX") && message.contains("s ago"),
            "{message}"
        );
    }
    // The stored value stays, with the error beside it.
    let cached = app.get(&format!("/api/trunks/{id}/balance"), Some(&admin)).await;
    assert_eq!(cached.body["amount"].as_f64(), Some(5000.0));
    assert!(cached.body["last_error"].as_str().is_some_and(|e| e.contains("in time")), "{}", cached.body);
    assert!(cached.body["last_error_at"].is_string());
    // The provider gone altogether.
    provider.stop().await;
    let gone = app.post(&path, Some(&admin), &json!({})).await;
    assert_eq!(gone.status, 502);
    assert!(gone.body["error"]["message"].as_str().is_some_and(|m| m.contains("connect")), "{}", gone.body);
}

#[actix_web::test]
async fn verify_call_decides_at_the_boundary_with_per_prefix_rates_rounded_up_to_minutes() {
    // 400 UGX; minimum 100 must remain.
    let provider = provider::start(answering(json!({"balance": 400, "currency": "UGX"}))).await;
    let app = balance_app(&provider, "pw", &[]).await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let id = trunk(&app, &admin, t.id, Some("ACC-9")).await;
    let agent = app.user(mayday::domain::TenantId(t.id), &t.slug, mayday::domain::Role::Agent).await;
    let agent = app.login(&agent).await;

    let verify = |destination: &'static str, seconds: u32, path: &'static str| {
        let (app, agent) = (&app, &agent);
        async move {
            let r = app
                .post(path, Some(agent), &json!({"trunk": id, "destination": destination, "seconds": seconds}))
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body
        }
    };
    // 256: 150/min. 120 s = 2 min = 300, + 100 = 400: exactly enough (the first call asks
    // the provider, since nothing is known yet).
    // A national number is read in the default region (UG): 0414… is 256414….
    let v = verify("0414 123456", 120, "/api/balance/verify-call").await;
    assert_eq!(
        (v["allowed"].as_bool(), v["minutes"].as_u64(), v["estimated_cost"].as_f64()),
        (Some(true), Some(2), Some(300.0)),
        "{v}"
    );
    assert_eq!((v["rate_prefix"].as_str(), v["balance"].as_f64()), (Some("256"), Some(400.0)));
    // 121 s rounds up to 3 minutes: 450 + 100 > 400.
    let v = verify("+256414000000", 121, "/api/balance-verification/verify-call").await;
    assert_eq!((v["allowed"].as_bool(), v["minutes"].as_u64()), (Some(false), Some(3)), "{v}");
    assert!(v["reason"].as_str().is_some());
    // The longest prefix: 2567 at 200/min: 90 s = 2 min = 400 + 100 > 400.
    let v = verify("256772000000", 90, "/api/balance/verify-call").await;
    assert_eq!((v["allowed"].as_bool(), v["rate_prefix"].as_str()), (Some(false), Some("2567")), "{v}");
    // Anything else: the default rate, 300/min; 60 s = 300 + 100 = 400.
    let v = verify("441234567890", 60, "/api/balance/verify-call").await;
    assert_eq!((v["allowed"].as_bool(), v["rate_prefix"].as_str()), (Some(true), Some("*")), "{v}");
    assert_eq!(provider.hits_to("/validate").len(), 1, "later checks use the stored balance");

    // By name too; unknown trunks and bad input are refused clearly.
    let name = app.get(&format!("/api/trunks/{id}"), Some(&admin)).await.body["name"].clone();
    let by_name = app
        .post(
            "/api/balance/verify-call",
            Some(&agent),
            &json!({"trunk": name, "destination": "256414000000", "seconds": 60}),
        )
        .await;
    assert_eq!((by_name.status, by_name.body["allowed"].as_bool()), (200, Some(true)), "{}", by_name.body);
    let other = app.tenant().await;
    let other_admin = app.login(&other.admin).await;
    let foreign = app
        .post(
            "/api/balance/verify-call",
            Some(&other_admin),
            &json!({"trunk": id, "destination": "256414000000", "seconds": 60}),
        )
        .await;
    assert_eq!((foreign.status, foreign.body["error"]["field"].as_str()), (422, Some("trunk")), "{}", foreign.body);
    let garbage = app
        .post("/api/balance/verify-call", Some(&agent), &json!({"trunk": id, "destination": "256", "seconds": -5}))
        .await;
    assert_eq!((garbage.status, garbage.body["error"]["field"].as_str()), (422, Some("seconds")), "{}", garbage.body);
    assert_eq!(app.post("/api/balance/verify-call", None, &json!({})).await.status, 401);
}
