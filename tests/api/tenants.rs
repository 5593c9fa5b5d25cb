use serde_json::json;

use crate::helpers::{spawn_app, suffix};

#[actix_web::test]
async fn a_superadmin_manages_tenants_and_others_cannot() {
    let app = spawn_app().await;
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
    let app = spawn_app().await;
    let su = app.superadmin().await;
    let token = app.login(&su).await;
    let pbx = app
        .post("/api/pbxes", Some(&token), &json!({"name": format!("pbx-{}", suffix()), "ami_host": "127.0.0.1", "ami_username": "mayday", "ami_secret": "s3cret", "enabled": false}))
        .await;
    let pbx_id = pbx.body["id"].as_u64().expect("pbx id");
    let a = app
        .post(
            "/api/tenants",
            Some(&token),
            &json!({"slug": format!("a{}", suffix()), "name": "A", "pbx_id": pbx_id, "name_prefix": "acme-"}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let same = app
        .post(
            "/api/tenants",
            Some(&token),
            &json!({"slug": format!("b{}", suffix()), "name": "B", "pbx_id": pbx_id, "name_prefix": "acme-"}),
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
            &json!({"slug": format!("d{}", suffix()), "name": "D", "pbx_id": pbx_id, "name_prefix": "beta-"}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
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
