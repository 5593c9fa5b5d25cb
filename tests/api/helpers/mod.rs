#![allow(dead_code)] // shared by every test module; not each uses every helper
//! `spawn_app()`: the real server on a random port, talking to real MariaDB and Redis, each
//! test with its own tenant(s) and Redis key prefix. See style.md, Tests.

pub mod cut;
pub mod db;
pub mod licence;
pub mod live;
pub mod provider;
pub mod ws;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::web;
use awc::Client;
use mayday::config::Config;
use mayday::domain::{Role, TenantId};
use mayday::services;
use mayday::startup::Application;
use mayday::state::AppState;
use mayday::telemetry::CaptureWriter;
use serde_json::{json, Value};

/// Everything the process logged (tests run one per process under nextest). With
/// `TEST_LOG` set, logs go to stderr instead.
pub fn log_capture() -> &'static CaptureWriter {
    static CAPTURE: OnceLock<CaptureWriter> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = CaptureWriter::default();
        if std::env::var_os("TEST_LOG").is_some() {
            mayday::telemetry::init(mayday::config::LogFormat::Pretty);
        } else {
            // Debug lines too: tests scan everything the server could log for secrets.
            mayday::telemetry::init_with_writer(
                mayday::config::LogFormat::Json,
                capture.clone(),
                "info,mayday=debug,mayday_actors=debug",
            );
        }
        capture
    })
}

/// Options of a test server.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// A private, freshly migrated database instead of the shared one.
    pub private_db: bool,
    /// Extra or overriding environment variables.
    pub env: Vec<(String, String)>,
    /// Run the live side (PBX links and actors), with millisecond timers. Live tests take a
    /// private database: the live side starts every PBX and tenant it finds.
    pub live: bool,
    /// Reuse this database (a restart test); implies a private one that is not dropped.
    pub db_name: Option<String>,
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: Client,
    pub state: web::Data<AppState>,
    pub db_name: String,
    pub redis_prefix: String,
    private_db: bool,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
        if self.private_db {
            let name = self.db_name.clone();
            // Best effort: a separate thread with its own runtime, since Drop cannot await.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    rt.block_on(db::drop_database(&name));
                }
            })
            .join();
        }
    }
}

/// A random lowercase suffix for names.
pub fn suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// The configuration every test server starts from.
pub fn test_env(db_name: &str, redis_prefix: &str) -> HashMap<String, String> {
    // One encryption key per database, so a server restarted on it reads what it stored.
    use sha2::Digest;
    let key: [u8; 32] = sha2::Sha256::digest(format!("mayday-test-key:{db_name}")).into();
    let jwt: [u8; 32] = rand::random();
    HashMap::from([
        ("MAYDAY_LISTEN".into(), "127.0.0.1:0".into()),
        ("DATABASE_URL".into(), db::database_url(db_name)),
        ("REDIS_PREFIX".into(), redis_prefix.to_string()),
        ("JWT_SECRET".into(), hex::encode(jwt)),
        ("MAYDAY_SECRET_KEY".into(), hex::encode(key)),
        ("ARGON2_MEMORY_KIB".into(), "8".into()),
        ("ARGON2_ITERATIONS".into(), "1".into()),
        ("HTTP_WORKERS".into(), "1".into()),
        ("MAYDAY_MIGRATE_ON_START".into(), "false".into()),
        ("MAYDAY_LIVE".into(), "false".into()),
        ("DATABASE_TIMEOUT".into(), "2s".into()),
        ("REDIS_TIMEOUT".into(), "2s".into()),
        ("LICENSE_PUBLIC_KEY".into(), licence::public_key()),
        ("LICENSE_FILE".into(), licence::default_file().display().to_string()),
    ])
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    log_capture();
    let reused = options.db_name.is_some();
    let private = options.private_db || options.live;
    let db_name = match options.db_name.clone() {
        Some(name) => name,
        None if private => db::private(true).await,
        None => db::shared().await,
    };
    let redis_prefix = format!("mayday_test:{}:", suffix());
    let mut env = test_env(&db_name, &redis_prefix);
    if options.live || reused {
        for (k, v) in live::LIVE_ENV {
            env.insert(k.to_string(), v.to_string());
        }
    }
    for (k, v) in options.env {
        env.insert(k, v);
    }
    let config = Config::from_source(&env).expect("test configuration");
    let app = Application::build(config).await.expect("server builds");
    let port = app.port();
    let state = app.state().clone();
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: Client::builder().timeout(Duration::from_secs(30)).finish(),
        state,
        db_name,
        redis_prefix,
        private_db: private && !reused,
        handle,
    }
}

/// A user the test created, with the password it knows.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: u64,
    pub tenant_id: u64,
    pub tenant_slug: String,
    pub username: String,
    pub password: String,
    pub role: Role,
}

/// A fresh tenant and its admin.
#[derive(Clone, Debug)]
pub struct TestTenant {
    pub id: u64,
    pub slug: String,
    pub admin: TestUser,
}

/// A JSON answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: awc::http::header::HeaderMap,
}

impl TestApp {
    /// Stops the server now (a restart test starts another on the same database).
    pub async fn stop(&self) {
        self.handle.stop(true).await;
        self.state.live.shutdown().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Creates a tenant (through the service, as the CLI does) with an admin.
    pub async fn tenant(&self) -> TestTenant {
        let slug = format!("t{}", suffix());
        let input = services::tenants::CreateTenant {
            slug: slug.clone(),
            name: format!("Tenant {slug}"),
            timezone: Some("Africa/Nairobi".into()),
            enabled: Some(true),
            pbx_id: None,
            name_prefix: None,
            domains: None,
        };
        let t = services::tenants::create(&self.state, None, input).await.expect("tenant created");
        let admin = self.user(TenantId(t.id), &slug, Role::Admin).await;
        TestTenant { id: t.id, slug, admin }
    }

    /// Creates a user with a random username and password.
    pub async fn user(&self, tenant: TenantId, slug: &str, role: Role) -> TestUser {
        let username = format!("{}-{}", role.as_str(), suffix());
        let password = format!("pw-{}-{}", suffix(), suffix());
        let id = if role == Role::Agent {
            // Agents have phones: they come from the agents service, with a fresh extension.
            static NEXT_EXTENSION: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(2001);
            let extension = NEXT_EXTENSION.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_string();
            let input = services::agents::CreateAgent {
                username: username.clone(),
                password: password.clone(),
                extension,
                display_name: Some("agent user".into()),
                email: None,
                callerid: None,
                profile: None,
                codecs: None,
                sip_password: None,
                enabled: Some(true),
            };
            services::agents::create(&self.state, None, tenant, input).await.expect("agent created").user.id
        } else {
            let input = services::users::CreateUser {
                username: username.clone(),
                password: password.clone(),
                role,
                display_name: Some(format!("{role} user")),
                email: None,
                extension: None,
                callerid: None,
                enabled: Some(true),
            };
            services::users::create(&self.state, None, tenant, input).await.expect("user created").id
        };
        TestUser { id, tenant_id: tenant.0, tenant_slug: slug.to_string(), username, password, role }
    }

    /// A superadmin in the platform tenant.
    pub async fn superadmin(&self) -> TestUser {
        let platform = services::tenants::find_by_slug(&self.state, "platform").await.expect("platform tenant exists");
        self.user(TenantId(platform.id), "platform", Role::Superadmin).await
    }

    /// Logs in and returns the token.
    pub async fn login(&self, user: &TestUser) -> String {
        let a = self
            .post(
                "/api/auth/login",
                None,
                &json!({"tenant": user.tenant_slug, "username": user.username, "password": user.password}),
            )
            .await;
        assert_eq!(a.status, 200, "login of {} failed: {}", user.username, a.body);
        a.body["token"].as_str().expect("token in the login answer").to_string()
    }

    async fn answer(
        mut res: awc::ClientResponse<
            impl futures_util::Stream<Item = Result<bytes::Bytes, awc::error::PayloadError>> + Unpin,
        >,
    ) -> Answer {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.body().limit(16 * 1024 * 1024).await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Answer { status, body, headers }
    }

    fn request(&self, method: awc::http::Method, path: &str, token: Option<&str>) -> awc::ClientRequest {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        Self::answer(self.request(awc::http::Method::GET, path, token).send().await.expect("GET sent")).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        Self::answer(self.request(awc::http::Method::DELETE, path, token).send().await.expect("DELETE sent")).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        Self::answer(self.request(awc::http::Method::POST, path, token).send_json(body).await.expect("POST sent")).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        Self::answer(self.request(awc::http::Method::PUT, path, token).send_json(body).await.expect("PUT sent")).await
    }

    /// Sends raw bytes with a content type.
    /// A JSON POST with extra headers (`Idempotency-Key`).
    pub async fn post_with_headers(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self.request(awc::http::Method::POST, path, token);
        for (k, v) in headers {
            req = req.insert_header((k.to_string(), v.to_string()));
        }
        Self::answer(req.send_json(body).await.expect("POST sent")).await
    }

    pub async fn send_raw(
        &self,
        method: awc::http::Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let req = self.request(method, path, token).insert_header(("content-type", content_type.to_string()));
        Self::answer(req.send_body(body).await.expect("request sent")).await
    }
}

/// Asserts the error shape and returns its code.
pub fn error_code(a: &Answer) -> &str {
    let code = a.body["error"]["code"].as_str();
    assert!(
        code.is_some() && a.body["error"]["message"].is_string(),
        "expected the JSON error shape, got {} {}",
        a.status,
        a.body
    );
    code.unwrap_or_default()
}
