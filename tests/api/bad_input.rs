use actix_web::http::Method;
use serde_json::json;

use crate::helpers::{error_code, spawn_app, Answer, TestApp};

async fn user_count(app: &TestApp, token: &str) -> u64 {
    app.get("/api/users?per_page=1", Some(token)).await.body["total"].as_u64().expect("total")
}

#[track_caller]
fn assert_4xx_json(a: &Answer, status: u16) {
    assert_eq!(a.status, status, "{}", a.body);
    error_code(a);
}

#[actix_web::test]
async fn bad_bodies_get_4xx_json_errors_and_write_nothing() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let token = app.login(&t.admin).await;
    let before = user_count(&app, &token).await;

    let malformed =
        app.send_raw(Method::POST, "/api/users", Some(&token), "application/json", b"{\"username\": ".to_vec()).await;
    assert_4xx_json(&malformed, 400);
    let missing = app.post("/api/users", Some(&token), &json!({"username": "bob", "role": "manager"})).await;
    assert_4xx_json(&missing, 422);
    assert_eq!(missing.body["error"]["field"], "password");
    let mistyped =
        app.post("/api/users", Some(&token), &json!({"username": "bob", "password": "long enough", "role": 7})).await;
    assert_4xx_json(&mistyped, 422);
    assert_eq!(mistyped.body["error"]["field"], "role");
    let bad_role = app
        .post("/api/users", Some(&token), &json!({"username": "bob", "password": "long enough", "role": "root"}))
        .await;
    assert_4xx_json(&bad_role, 422);
    let short_pw =
        app.post("/api/users", Some(&token), &json!({"username": "bob", "password": "short", "role": "manager"})).await;
    assert_4xx_json(&short_pw, 422);
    assert_eq!(short_pw.body["error"]["field"], "password");
    assert!(!short_pw.body.to_string().contains("\"short\""), "the password is not echoed");
    let long_name = app
        .post(
            "/api/users",
            Some(&token),
            &json!({"username": "u".repeat(300), "password": "long enough", "role": "manager"}),
        )
        .await;
    assert_4xx_json(&long_name, 422);
    assert_eq!(long_name.body["error"]["field"], "username");
    let mut non_utf8 = b"{\"username\": \"".to_vec();
    non_utf8.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    non_utf8.extend_from_slice(b"\", \"password\": \"long enough\", \"role\": \"manager\"}");
    assert_4xx_json(&app.send_raw(Method::POST, "/api/users", Some(&token), "application/json", non_utf8).await, 400);
    let wrong_type = app
        .send_raw(
            Method::POST,
            "/api/users",
            Some(&token),
            "text/plain",
            br#"{"username":"bob","password":"long enough","role":"manager"}"#.to_vec(),
        )
        .await;
    assert_4xx_json(&wrong_type, 415);
    let mut huge = br#"{"username":"bob","password":"long enough","role":"manager","display_name":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    huge.extend_from_slice(b"\"}");
    assert_4xx_json(&app.send_raw(Method::POST, "/api/users", Some(&token), "application/json", huge).await, 413);
    let unknown_field = app
        .post(
            "/api/users",
            Some(&token),
            &json!({"username": "bob", "password": "long enough", "role": "manager", "is_root": true}),
        )
        .await;
    assert_4xx_json(&unknown_field, 422);

    assert_eq!(user_count(&app, &token).await, before, "nothing was written");
}

#[actix_web::test]
async fn bad_logins_are_4xx_never_500() {
    let app = spawn_app().await;
    let long = app
        .post("/api/auth/login", None, &json!({"tenant": "x", "username": "u".repeat(10_000), "password": "p"}))
        .await;
    assert_4xx_json(&long, 422);
    let mut non_utf8 = b"{\"tenant\": \"x\", \"username\": \"".to_vec();
    non_utf8.extend_from_slice(&[0xc3, 0x28]);
    non_utf8.extend_from_slice(b"\", \"password\": \"p\"}");
    assert_4xx_json(&app.send_raw(Method::POST, "/api/auth/login", None, "application/json", non_utf8).await, 400);
    assert_4xx_json(
        &app.send_raw(Method::POST, "/api/auth/login", None, "application/json", b"[1,2,3]".to_vec()).await,
        422,
    );
    assert_4xx_json(
        &app.send_raw(
            Method::POST,
            "/api/auth/login",
            None,
            "application/x-www-form-urlencoded",
            b"username=a".to_vec(),
        )
        .await,
        415,
    );
}

#[actix_web::test]
async fn unknown_routes_wrong_methods_and_bad_queries_use_the_json_shape() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let token = app.login(&t.admin).await;
    let unknown = app.get("/api/no-such-thing", None).await;
    assert_4xx_json(&unknown, 404);
    let wrong_method = app.delete("/api/auth/login", None).await;
    assert_4xx_json(&wrong_method, 405);
    let bad_query = app.get("/api/users?page=minus-one", Some(&token)).await;
    assert_4xx_json(&bad_query, 400);
    let bad_path = app.get("/api/users/abc", Some(&token)).await;
    assert_4xx_json(&bad_path, 404);
}

#[actix_web::test]
async fn the_request_id_is_honoured_and_echoed() {
    let app = spawn_app().await;
    let res =
        app.client.get(app.url("/api/health")).insert_header(("x-request-id", "abc-123")).send().await.expect("sent");
    assert_eq!(res.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("abc-123"));
    let res = app
        .client
        .get(app.url("/api/health"))
        .insert_header(("x-request-id", "bad id with spaces"))
        .send()
        .await
        .expect("sent");
    let generated = res.headers().get("x-request-id").and_then(|v| v.to_str().ok()).expect("an id").to_string();
    assert_ne!(generated, "bad id with spaces");
    assert_eq!(generated.len(), 36, "a uuid");
}
