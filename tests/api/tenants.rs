use serde_json::json;

use crate::helpers::{spawn_app_with, suffix, Options};

#[actix_web::test]
async fn a_superadmin_manages_tenants_and_others_cannot() {
    // Its own database: tenants without a prefix are one per installation.
    let app = spawn_app_with(Options { private_db: true, ..Default::default() }).await;
    let su = app.superadmin().await;
    let su_token = app.login(&su).await;
    let slug = format!("acme{}", suffix());
    let created = app
        .post("/api/tenants", Some(&su_token), &json!({"slug": slug, "name": "Acme", "timezone": "Africa/Nairobi"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["name_prefix"], format!("{slug}-"), "the default prefix is <slug>-");
    let id = created.body["id"].as_u64().expect("id");
    let bad_tz = app
        .post(
            "/api/tenants",
            Some(&su_token),
            &json!({"slug": format!("b{}", suffix()), "name": "B", "timezone": "Mars/Base"}),
        )
        .await;
    assert_eq!((bad_tz.status, bad_tz.body["error"]["field"].as_str()), (422, Some("timezone")));
    let reserved = app.post("/api/tenants", Some(&su_token), &json!({"slug": "platform", "name": "P"})).await;
    assert_eq!(reserved.status, 422);
    let updated =
        app.put(&format!("/api/tenants/{id}"), Some(&su_token), &json!({"name": "Acme Ltd", "name_prefix": ""})).await;
    assert_eq!((updated.status, updated.body["name_prefix"].as_str()), (200, Some("")));
    let list = app.get(&format!("/api/tenants?q={slug}"), Some(&su_token)).await;
    assert_eq!(list.body["total"], 1);

    let other = app.tenant().await;
    let admin = app.login(&other.admin).await;
    assert_eq!(app.get("/api/tenants", Some(&admin)).await.status, 403);
    assert_eq!(app.post("/api/tenants", Some(&admin), &json!({"slug": "x", "name": "x"})).await.status, 403);
    assert_eq!(app.get(&format!("/api/tenants/{id}"), Some(&admin)).await.status, 404);
    assert_eq!(
        app.get(&format!("/api/tenants/{}", other.id), Some(&admin)).await.status,
        200,
        "an admin reads their own tenant"
    );
    // A tenant with users cannot be deleted; an empty one can.
    assert_eq!(app.delete(&format!("/api/tenants/{}", other.id), Some(&su_token)).await.status, 409);
    assert_eq!(app.delete(&format!("/api/tenants/{id}"), Some(&su_token)).await.status, 204);
}

#[actix_web::test]
async fn tenants_sharing_a_pbx_need_distinct_non_empty_prefixes() {
    // Its own database: tenants without a prefix are one per installation.
    let app = spawn_app_with(Options { private_db: true, ..Default::default() }).await;
    let su = app.superadmin().await;
    let token = app.login(&su).await;
    let pbx = app
        .post("/api/pbxes", Some(&token), &json!({"name": format!("pbx-{}", suffix()), "ami_host": "127.0.0.1", "ami_username": "mayday", "ami_secret": "s3cret", "enabled": false}))
        .await;
    let pbx_id = pbx.body["id"].as_u64().expect("pbx id");
    // Prefixes of this test only: the shared database keeps other tests' tenants.
    let (acme, beta) = (format!("acme{}-", suffix()), format!("beta{}-", suffix()));
    let a = app
        .post(
            "/api/tenants",
            Some(&token),
            &json!({"slug": format!("a{}", suffix()), "name": "A", "pbx_id": pbx_id, "name_prefix": acme}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let same = app
        .post(
            "/api/tenants",
            Some(&token),
            &json!({"slug": format!("b{}", suffix()), "name": "B", "pbx_id": pbx_id, "name_prefix": acme}),
        )
        .await;
    assert_eq!(same.status, 409);
    let empty = app
        .post(
            "/api/tenants",
            Some(&token),
            &json!({"slug": format!("c{}", suffix()), "name": "C", "pbx_id": pbx_id, "name_prefix": ""}),
        )
        .await;
    assert_eq!(empty.status, 409);
    let ok = app
        .post(
            "/api/tenants",
            Some(&token),
            &json!({"slug": format!("d{}", suffix()), "name": "D", "pbx_id": pbx_id, "name_prefix": beta}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    // Every PBX reads the same realtime tables: prefixes never overlap, on any PBX, and a
    // prefix ends with - or _ so that no prefixed name is another tenant's plain extension.
    for (prefix, status, why) in [
        (format!("{acme}eu-"), 409, "inside another tenant's prefix, on no PBX"),
        ("10".to_string(), 422, "digits: 10 + 01 would be extension 1001"),
        ("acme".to_string(), 422, "no separator at the end"),
        ("mayday-".to_string(), 422, "the static dialplan's contexts"),
    ] {
        let r = app
            .post(
                "/api/tenants",
                Some(&token),
                &json!({"slug": format!("e{}", suffix()), "name": "E", "name_prefix": prefix}),
            )
            .await;
        assert_eq!(r.status, status, "{prefix}: {why}: {}", r.body);
    }
    // A tenant alone on its PBX names its objects plainly, never into another's prefix.
    let alone_slug = format!("f{}", suffix());
    let alone =
        app.post("/api/tenants", Some(&token), &json!({"slug": alone_slug, "name": "F", "name_prefix": ""})).await;
    assert_eq!(alone.status, 201, "{}", alone.body);
    let second = app
        .post("/api/tenants", Some(&token), &json!({"slug": format!("h{}", suffix()), "name": "H", "name_prefix": ""}))
        .await;
    assert_eq!(second.status, 409, "plain names are one tenant's: {}", second.body);
    let alone_id = alone.body["id"].as_u64().expect("id");
    let admin = app.user(mayday::domain::TenantId(alone_id), &alone_slug, mayday::domain::Role::Admin).await;
    let admin = app.login(&admin).await;
    let squat = app.post("/api/queues", Some(&admin), &json!({"name": format!("{beta}support")})).await;
    assert_eq!((squat.status, squat.body["error"]["field"].as_str()), (422, Some("name")), "{}", squat.body);
    let plain_prefix = format!("z{}_", suffix());
    let plain = app.post("/api/queues", Some(&admin), &json!({"name": format!("{plain_prefix}support")})).await;
    assert_eq!(plain.status, 201, "{}", plain.body);
    // A new prefix that Asterisk objects already carry is someone else's.
    let r = app
        .post(
            "/api/tenants",
            Some(&token),
            &json!({"slug": format!("g{}", suffix()), "name": "G", "name_prefix": plain_prefix}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let no_pbx = app
        .post(
            "/api/tenants",
            Some(&token),
            &json!({"slug": format!("e{}", suffix()), "name": "E", "pbx_id": 987654321}),
        )
        .await;
    assert_eq!((no_pbx.status, no_pbx.body["error"]["field"].as_str()), (422, Some("pbx_id")));
    // The PBX cannot go while tenants live on it.
    assert_eq!(app.delete(&format!("/api/pbxes/{pbx_id}"), Some(&token)).await.status, 409);
}
