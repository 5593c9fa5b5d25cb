//! The wallboard page in headless Chromium against `mayday demo`: it signs in, follows the
//! wallboard over WebSocket, and its figures change within seconds. Driven through
//! chromedriver (WebDriver over HTTP); a screenshot is kept in `target/wallboard.png`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{db, suffix};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn find(binary: &str) -> std::path::PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"] {
        let p = std::path::Path::new(dir).join(binary);
        if p.exists() {
            return p;
        }
    }
    panic!("{binary} is not installed: .ci/run installs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)");
}

struct WebDriver {
    base: String,
    session: String,
    client: awc::Client,
}

impl WebDriver {
    async fn call(&self, method: awc::http::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = self.client.request(method, url);
        let mut res = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        }
        .expect("webdriver answers");
        let v: Value = res.json().limit(32 * 1024 * 1024).await.expect("webdriver json");
        v["value"].clone()
    }

    async fn element(&self, css: &str) -> String {
        let v =
            self.call(awc::http::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.element(css).await;
        self.call(awc::http::Method::POST, &format!("/element/{el}/value"), Some(json!({"text": text}))).await;
    }

    async fn script(&self, js: &str) -> Value {
        self.call(awc::http::Method::POST, "/execute/sync", Some(json!({"script": js, "args": []}))).await
    }
}

const READ_BOARD: &str = r#"
    const rows = [...document.querySelectorAll('#queues tbody tr')].map(tr => ({
        queue: tr.dataset.queue,
        offered: Number(tr.querySelector('.offered').textContent),
        answered: Number(tr.querySelector('.answered').textContent),
        waiting: Number(tr.querySelector('.waiting').textContent),
    }));
    const agents = [...document.querySelectorAll('#agents .agent')].map(a => a.dataset.status);
    const error = document.querySelector('#login-error').textContent;
    const login = !document.querySelector('#login').hidden;
    return { rows, agents, error, login, conn: document.querySelector('#conn-state').dataset.state, updates: Number(document.querySelector('#updates').textContent) };
"#;

#[actix_web::test]
async fn the_wallboard_page_shows_live_figures_that_change_within_seconds() {
    let chromium = find("chromium");
    let chromedriver = find("chromedriver");
    // The demo, as a newcomer runs it (with a private database and fast traffic).
    let name = db::private(false).await;
    let port = free_port();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_mayday"));
    demo.args(["demo", "--agents", "6", "--calls-per-second", "2", "--mean-talk", "2s"])
        .env("DATABASE_URL", db::database_url(&name))
        .env("MAYDAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("REDIS_PREFIX", format!("mayday_test:{}:", suffix()))
        .env("JWT_SECRET", "x".repeat(48))
        .env("MAYDAY_SECRET_KEY", "cd".repeat(32))
        .env("ARGON2_MEMORY_KIB", "8")
        .env("ARGON2_ITERATIONS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = demo.spawn().expect("mayday demo starts");
    let stdout = child.stdout.take().expect("stdout");
    let demo = Killed(child);
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut url, mut password) = (None, None);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(u) = line.trim().strip_prefix("Wallboard: ") {
                url = Some(u.to_string());
            }
            if let Some(p) = line.trim().strip_prefix("Manager:   manager / ") {
                password = Some(p.to_string());
            }
            if let (Some(u), Some(p)) = (&url, &password) {
                let _ = url_tx.send((u.clone(), p.clone()));
                url = None;
            }
        }
    });
    let (url, password) =
        url_rx.recv_timeout(Duration::from_secs(60)).expect("the demo printed its URL and the manager's password");
    assert!(url.contains(&format!(":{port}/wallboard.html")), "{url}");

    let wd_port = free_port();
    let driver = Killed(
        Command::new(chromedriver)
            .arg(format!("--port={wd_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let client = awc::Client::builder().timeout(Duration::from_secs(60)).finish();
    let base = format!("http://127.0.0.1:{wd_port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{base}/status")).send().await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not come up");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = std::env::temp_dir().join(format!("mayday-chromium-{}", suffix()));
    let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": chromium,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                 format!("--user-data-dir={}", profile.display())]
    }}}});
    let mut res = client.post(format!("{base}/session")).send_json(&caps).await.expect("session created");
    let created: Value = res.json().await.expect("session json");
    let session = created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_string();
    let wd = WebDriver { base: base.clone(), session, client: client.clone() };

    wd.call(awc::http::Method::POST, "/url", Some(json!({"url": url}))).await;
    wd.type_into("#login-username", "manager").await;
    wd.type_into("#login-password", &password).await;
    let submit = wd.element("#login-submit").await;
    let clicked = wd.call(awc::http::Method::POST, &format!("/element/{submit}/click"), Some(json!({}))).await;
    assert!(clicked.is_null(), "the click went through: {clicked}");

    // The board fills in: three queues, six agents, a live socket.
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        let b = wd.script(READ_BOARD).await;
        if b["conn"] == "live"
            && b["rows"].as_array().map(Vec::len) == Some(3)
            && b["agents"].as_array().map(Vec::len) == Some(6)
        {
            break b;
        }
        assert!(Instant::now() < deadline, "the wallboard never filled in: {b}");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    };
    // And it changes on its own within a few seconds, pushed over the socket.
    let total = |b: &Value| -> i64 {
        b["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["offered"].as_i64().unwrap_or(0) + r["answered"].as_i64().unwrap_or(0))
            .sum()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let later = loop {
        let b = wd.script(READ_BOARD).await;
        if total(&b) > total(&first) && b["updates"].as_i64() > first["updates"].as_i64() {
            break b;
        }
        assert!(Instant::now() < deadline, "the figures did not change: {first} then {b}");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(later["login"], false, "the sign-in form is gone once signed in");
    assert!(later["agents"].as_array().into_iter().flatten().all(|s| [
        "available",
        "ringing",
        "on_call",
        "wrapup",
        "paused",
        "logged_out"
    ]
    .contains(&s.as_str().unwrap_or(""))));

    let shot = wd.call(awc::http::Method::GET, "/screenshot", None).await;
    let png =
        base64::engine::general_purpose::STANDARD.decode(shot.as_str().expect("base64 screenshot")).expect("png bytes");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot ({} bytes)", png.len());
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("wallboard.png");
    let _ = std::fs::write(&out, &png);

    wd.call(awc::http::Method::DELETE, "", None).await;
    drop(driver);
    drop(demo);
    let _ = std::fs::remove_dir_all(profile);
    db::drop_database(&name).await;
}
