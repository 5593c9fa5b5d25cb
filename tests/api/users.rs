use mayday::domain::{Role, TenantId};
use serde_json::json;

use crate::helpers::{error_code, spawn_app};

#[actix_web::test]
async fn an_admin_manages_the_users_of_their_tenant() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let token = app.login(&t.admin).await;
    let created = app
        .post(
            "/api/users",
            Some(&token),
            &json!({"username": "alice", "password": "alice's secret", "role": "manager", "display_name": "Alice", "extension": "1001", "callerid": "0323300245"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["extension"], "1001");
    let id = created.body["id"].as_u64().expect("id");
    let got = app.get(&format!("/api/users/{id}"), Some(&token)).await;
    assert_eq!((got.status, got.body["username"].as_str()), (200, Some("alice")));
    let dup = app
        .post(
            "/api/users",
            Some(&token),
            &json!({"username": "alice", "password": "another secret", "role": "manager"}),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert!(dup.body["error"]["message"].as_str().unwrap_or_default().contains("username"));
    let updated = app
        .put(
            &format!("/api/users/{id}"),
            Some(&token),
            &json!({"display_name": "Alice B", "email": null, "role": "manager"}),
        )
        .await;
    assert_eq!(
        (updated.status, updated.body["display_name"].as_str(), updated.body["role"].as_str()),
        (200, Some("Alice B"), Some("manager"))
    );
    // Agents have phones: /api/users neither creates them nor turns anyone into one.
    let agent = app
        .post(
            "/api/users",
            Some(&token),
            &json!({"username": "bob", "password": "bob's secret", "role": "agent", "extension": "1002"}),
        )
        .await;
    assert_eq!((agent.status, agent.body["error"]["field"].as_str()), (422, Some("role")), "{}", agent.body);
    let promote = app.put(&format!("/api/users/{id}"), Some(&token), &json!({"role": "agent"})).await;
    assert_eq!((promote.status, promote.body["error"]["field"].as_str()), (422, Some("role")));
    let list = app.get("/api/users?role=manager&per_page=10", Some(&token)).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["items"][0]["id"], id);
    let q = app.get("/api/users?q=alice", Some(&token)).await;
    assert_eq!(q.body["total"], 1);
    assert_eq!(app.delete(&format!("/api/users/{id}"), Some(&token)).await.status, 204);
    assert_eq!(app.get(&format!("/api/users/{id}"), Some(&token)).await.status, 404);
}

#[actix_web::test]
async fn an_admin_of_tenant_a_never_sees_or_touches_tenant_b_users() {
    let app = spawn_app().await;
    let a = app.tenant().await;
    let b = app.tenant().await;
    let a_token = app.login(&a.admin).await;
    let b_agent = app.user(TenantId(b.id), &b.slug, Role::Agent).await;
    let path = format!("/api/users/{}", b_agent.id);
    let get = app.get(&path, Some(&a_token)).await;
    let put = app.put(&path, Some(&a_token), &json!({"display_name": "hijacked", "enabled": false})).await;
    let del = app.delete(&path, Some(&a_token)).await;
    let missing = app.get("/api/users/999999999", Some(&a_token)).await;
    assert_eq!((get.status, put.status, del.status), (404, 404, 404));
    assert_eq!(get.body, missing.body, "another tenant's user looks exactly like a missing one");
    let list = app.get("/api/users?per_page=200", Some(&a_token)).await;
    let ids: Vec<u64> = list.body["items"].as_array().expect("items").iter().filter_map(|u| u["id"].as_u64()).collect();
    assert!(ids.contains(&a.admin.id));
    assert!(!ids.contains(&b_agent.id) && !ids.contains(&b.admin.id));
    assert!(list.body["items"].as_array().expect("items").iter().all(|u| u["tenant_id"] == a.id));
    // An admin cannot reach into B by naming it either.
    assert_eq!(app.get(&format!("/api/users?tenant_id={}", b.id), Some(&a_token)).await.status, 403);
    // B's user is untouched.
    let b_token = app.login(&b.admin).await;
    let still = app.get(&path, Some(&b_token)).await;
    assert_eq!((still.status, still.body["enabled"].as_bool()), (200, Some(true)));
}

#[actix_web::test]
async fn roles_limit_what_each_user_may_do() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let agent = app.user(TenantId(t.id), &t.slug, Role::Agent).await;
    let manager = app.user(TenantId(t.id), &t.slug, Role::Manager).await;
    let agent_token = app.login(&agent).await;
    let manager_token = app.login(&manager).await;

    let by_agent = app
        .post("/api/users", Some(&agent_token), &json!({"username": "x1", "password": "long enough", "role": "agent"}))
        .await;
    assert_eq!(by_agent.status, 403);
    assert_eq!(error_code(&by_agent), "forbidden");
    assert_eq!(
        app.post(
            "/api/users",
            Some(&manager_token),
            &json!({"username": "x2", "password": "long enough", "role": "agent"})
        )
        .await
        .status,
        403
    );
    let super_by_admin = app
        .post("/api/users", Some(&admin), &json!({"username": "x3", "password": "long enough", "role": "superadmin"}))
        .await;
    assert_eq!(super_by_admin.status, 403, "{}", super_by_admin.body);
    // Reads: managers list, agents read only themselves.
    assert_eq!(app.get("/api/users", Some(&manager_token)).await.status, 200);
    assert_eq!(app.get("/api/users", Some(&agent_token)).await.status, 403);
    assert_eq!(app.get(&format!("/api/users/{}", agent.id), Some(&agent_token)).await.status, 200);
    assert_eq!(app.get(&format!("/api/users/{}", t.admin.id), Some(&agent_token)).await.status, 403);
    // Nobody raises their own role.
    let raise = app.put(&format!("/api/users/{}", agent.id), Some(&agent_token), &json!({"role": "admin"})).await;
    assert_eq!(raise.status, 403);
    let raise = app.put(&format!("/api/users/{}", t.admin.id), Some(&admin), &json!({"role": "superadmin"})).await;
    assert_eq!(raise.status, 403);
    // An agent's name belongs to its phone too: it changes through /api/agents only.
    let own = app.put(&format!("/api/users/{}", agent.id), Some(&agent_token), &json!({"display_name": "Me"})).await;
    assert_eq!(own.status, 422, "{}", own.body);
    let by_admin = app.delete(&format!("/api/users/{}", agent.id), Some(&admin)).await;
    assert_eq!(by_admin.status, 409, "agents are deleted through /api/agents: {}", by_admin.body);
    // An agent may change their own password (which ends their sessions).
    let own = app
        .put(&format!("/api/users/{}", agent.id), Some(&agent_token), &json!({"password": "a new long password"}))
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    // Admins cannot delete themselves.
    assert_eq!(app.delete(&format!("/api/users/{}", t.admin.id), Some(&admin)).await.status, 403);
    // Nothing was written by the refused requests.
    let list = app.get("/api/users?per_page=200", Some(&admin)).await;
    assert_eq!(list.body["total"], 3);
}

#[actix_web::test]
async fn changes_are_audited_without_secrets() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let admin = app.login(&t.admin).await;
    let created = app
        .post(
            "/api/users",
            Some(&admin),
            &json!({"username": "audited", "password": "audit secret 123", "role": "manager"}),
        )
        .await;
    let id = created.body["id"].as_u64().expect("id");
    app.put(&format!("/api/users/{id}"), Some(&admin), &json!({"password": "another secret 456"})).await;
    let mut conn = app.state.db.get().await.expect("db");
    let entries = mayday::db::repos::audit::recent(&mut conn, TenantId(t.id), 10).await.expect("audit");
    let mine: Vec<_> = entries.iter().filter(|e| e.entity_id.as_deref() == Some(&id.to_string())).collect();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|e| e.actor_user_id == Some(t.admin.id)));
    let details: String = mine.iter().filter_map(|e| e.detail.clone()).collect();
    assert!(details.contains("password_changed"));
    assert!(!details.contains("secret 123") && !details.contains("secret 456"));
}
