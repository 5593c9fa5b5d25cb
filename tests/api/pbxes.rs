use serde_json::json;

use crate::helpers::{log_capture, spawn_app, suffix};

#[actix_web::test]
async fn a_pbx_secret_is_write_only_encrypted_and_never_logged() {
    let app = spawn_app().await;
    let su = app.superadmin().await;
    let token = app.login(&su).await;
    let secret = format!("ami-secret-{}", suffix());
    let name = format!("pbx-{}", suffix());
    tracing::info!(marker = "pbx-secret-test-start", "log capture marker");
    let created = app.post("/api/pbxes", Some(&token), &json!({"name": name, "ami_host": "pbx.example.com", "ami_port": 5038, "ami_username": "mayday", "ami_secret": secret, "ami_auth": "md5"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["has_secret"], true);
    let id = created.body["id"].as_u64().expect("id");
    let got = app.get(&format!("/api/pbxes/{id}"), Some(&token)).await;
    let listed = app.get("/api/pbxes?per_page=200", Some(&token)).await;
    let updated = app
        .put(&format!("/api/pbxes/{id}"), Some(&token), &json!({"ami_secret": format!("{secret}-2"), "enabled": false}))
        .await;
    assert_eq!(updated.status, 200);
    for body in [&created.body, &got.body, &listed.body, &updated.body] {
        assert!(!body.to_string().contains(&secret), "secret leaked in {body}");
    }
    // Stored encrypted, and readable with the key.
    let mut conn = app.state.db.get().await.expect("db");
    let row = mayday::db::repos::pbxes::find(&mut conn, mayday::domain::PbxId(id)).await.expect("row");
    assert!(!row.ami_secret_enc.windows(secret.len()).any(|w| w == secret.as_bytes()));
    assert_eq!(app.state.secrets.open(&row.ami_secret_enc).expect("opens"), format!("{secret}-2"));
    // Never in a log line (after checking the capture works at all).
    let logs = log_capture().contents();
    assert!(logs.contains("pbx-secret-test-start"), "the log capture is live");
    assert!(logs.contains("request answered"), "request lines were captured");
    assert!(!logs.contains(&secret), "the secret reached the log");
    // Only superadmins.
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    assert_eq!(app.get("/api/pbxes", Some(&admin)).await.status, 403);
    let bad = app
        .post(
            "/api/pbxes",
            Some(&token),
            &json!({"name": "x", "ami_host": "bad host", "ami_username": "u", "ami_secret": "s"}),
        )
        .await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (422, Some("ami_host")));
}
