//! Load scenario (not a criterion bench, and not part of `cargo test`): the simulated PBX at a
//! steady AMI event rate, the real server in its own process, and 1,000 WebSocket clients on
//! the wallboard topic. It reports delivered messages per second, the latency from the AMI
//! event to the client (p50/p99), the server's CPU per delivered message, and the server's
//! memory per idle agent session with 10,000 of them open.
//!
//! `cargo bench --bench ws_load` (MariaDB and Redis running). Knobs: WS_LOAD_CLIENTS (1000),
//! WS_LOAD_CALLS_PER_SEC (45), WS_LOAD_TALK_MS (3000: mean talk time; with 200 agents the
//! agents' capacity caps the event rate near 1,700/s, so 2,000 AMI events/s needs shorter
//! calls, e.g. 70 calls/s of 1.5 s), WS_LOAD_SECS (20), WS_LOAD_IDLE (10000).
//!
//! Latency probes: an agent in no queue (so traffic never reaches it) gets a direct call
//! every 250 ms and the call ends 125 ms later; each client notes when the wallboard shows
//! that agent ringing and available again.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use mayday::config::Config;
use mayday::domain::{Role, TenantId};
use mayday::services;
use mayday::state::AppState;
use mayday_actors::sim::{
    self, DirectorySnapshot, SimConfig, SimEndpoint, SimMember, SimQueue, StaticDirectory, Traffic,
};
use parking_lot::Mutex;
use serde_json::json;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const AGENTS: usize = 200;
const PROBE_EXT: &str = "1999";

fn directory() -> DirectorySnapshot {
    let mut endpoints: Vec<SimEndpoint> = (0..AGENTS)
        .map(|i| SimEndpoint {
            id: format!("{}", 1001 + i),
            name: format!("Agent {}", 1001 + i),
            tenantid: None,
            context: "mayday-agents".into(),
            registered: true,
        })
        .collect();
    let queues = (0..10)
        .map(|q| SimQueue {
            name: format!("queue-{q:02}"),
            strategy: "leastrecent".into(),
            ring_timeout_secs: 15,
            wrapup_secs: 0,
            service_level_secs: 20,
            max_len: 0,
            weight: 0,
            max_wait_secs: 60,
            tenantid: None,
            caller_context: "mayday-inbound".into(),
            members: endpoints
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 10 == q || (i + 1) % 10 == q)
                .map(|(_, e)| SimMember {
                    interface: format!("PJSIP/{}", e.id),
                    membername: e.name.clone(),
                    state_interface: format!("PJSIP/{}", e.id),
                    penalty: 0,
                    paused: false,
                    realtime: true,
                })
                .collect(),
        })
        .collect();
    endpoints.push(SimEndpoint {
        id: PROBE_EXT.into(),
        name: "Probe".into(),
        tenantid: None,
        context: "mayday-agents".into(),
        registered: true,
    });
    DirectorySnapshot { endpoints, queues }
}

fn env_for(db_url: &str, port: u16, prefix: &str) -> HashMap<String, String> {
    // A bench licence (throwaway key) so the development licence's limits stay out of it.
    let (public_key, licence) = mayday::license::throwaway("Mayday bench", 100_000, 1);
    let licence_file = std::env::temp_dir().join(format!("mayday-bench-{}.lic", std::process::id()));
    std::fs::write(&licence_file, licence).expect("bench licence written");
    HashMap::from([
        ("LICENSE_PUBLIC_KEY".into(), public_key),
        ("LICENSE_FILE".into(), licence_file.display().to_string()),
        ("DATABASE_URL".into(), db_url.to_string()),
        ("MAYDAY_LISTEN".into(), format!("127.0.0.1:{port}")),
        ("REDIS_PREFIX".into(), prefix.to_string()),
        ("JWT_SECRET".into(), "load-test-jwt-secret-0123456789abcdef".into()),
        ("MAYDAY_SECRET_KEY".into(), "ab".repeat(32)),
        ("ARGON2_MEMORY_KIB".into(), "8".into()),
        ("ARGON2_ITERATIONS".into(), "1".into()),
        ("LOGIN_RATE_LIMIT".into(), "100000".into()),
        ("LOGIN_IP_RATE_LIMIT".into(), "1000000".into()),
        ("RUST_LOG".into(), "warn".into()),
        ("WS_HEARTBEAT".into(), "60s".into()),
        ("WS_IDLE_TIMEOUT".into(), "600s".into()),
    ])
}

/// utime + stime of a process, seconds.
fn cpu_secs(pid: u32) -> f64 {
    cpu_of(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// utime + stime from a `/proc/.../stat` line, seconds.
fn cpu_of(stat: &str) -> f64 {
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // After the ')' the state is field 0; utime and stime are fields 11 and 12 (clock ticks of 1/100 s).
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// utime + stime of the calling thread, seconds.
fn thread_cpu_secs() -> f64 {
    cpu_of(&std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default())
}

/// The floor under "server CPU per delivered message" on this machine: one plain `write()` of
/// a `frame_bytes` frame to each of `clients` loopback TCP sockets (readers waiting in epoll,
/// as the WebSocket clients are), from a thread doing nothing else, once per `interval` as
/// the wallboard is pushed. Returns the writer's CPU per write, in microseconds.
async fn loopback_floor(clients: usize, frame_bytes: usize, interval: Duration) -> f64 {
    use std::io::Write;
    use tokio::io::AsyncReadExt;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (mut writers, mut readers) = (Vec::with_capacity(clients), Vec::with_capacity(clients));
    for _ in 0..clients {
        let Ok(mut reader) = tokio::net::TcpStream::connect(addr).await else { break };
        let Ok((writer, _)) = listener.accept() else { break };
        let _ = writer.set_nodelay(true);
        writers.push(writer);
        readers.push(actix_web::rt::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            while matches!(reader.read(&mut buf).await, Ok(n) if n > 0) {}
        }));
    }
    let frame = vec![b'x'; frame_bytes.max(1)];
    let rounds = 100;
    let per_write = actix_web::rt::task::spawn_blocking(move || {
        let start = thread_cpu_secs();
        for _ in 0..rounds {
            for w in &mut writers {
                let _ = w.write_all(&frame);
            }
            std::thread::sleep(interval);
        }
        (thread_cpu_secs() - start) * 1e6 / (rounds * writers.len().max(1)) as f64
    })
    .await
    .unwrap_or(0.0);
    for r in readers {
        r.abort();
    }
    per_write
}

async fn metric(port: u16, name: &str) -> f64 {
    let mut res = match awc::Client::new().get(format!("http://127.0.0.1:{port}/metrics")).send().await {
        Ok(r) => r,
        Err(_) => return 0.0,
    };
    let body = res.body().limit(16 << 20).await.unwrap_or_default();
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

struct Probes {
    /// (sent at, expected status) of the current probe.
    current: Mutex<Option<(u64, Instant, &'static str)>>,
    samples: Mutex<Vec<Duration>>,
}

async fn login(port: u16, tenant: &str, user: &str, password: &str) -> String {
    let mut res = awc::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/auth/login"))
        .send_json(&json!({"tenant": tenant, "username": user, "password": password}))
        .await
        .expect("login");
    let v: serde_json::Value = res.json().await.expect("login json");
    v["token"].as_str().expect("token").to_string()
}

type Framed = actix_codec::Framed<awc::BoxedSocket, ws::Codec>;

async fn open(port: u16, token: &str) -> Option<Framed> {
    let (_, framed) = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish()
        .ws(format!("ws://127.0.0.1:{port}/ws"))
        .protocols(["bearer", token])
        .connect()
        .await
        .ok()?;
    Some(framed)
}

fn main() {
    actix_web::rt::System::new().block_on(run());
}

async fn run() {
    let clients = knob("WS_LOAD_CLIENTS", 1000) as usize;
    let cps = knob("WS_LOAD_CALLS_PER_SEC", 45) as f64;
    let secs = knob("WS_LOAD_SECS", 20);
    let idle = knob("WS_LOAD_IDLE", 10_000) as usize;
    let stamp = chrono::Utc::now().timestamp();
    let db_url = format!("mysql://root@127.0.0.1:3306/mayday_bench_{stamp}");
    mayday::db::pool::run_migrations(&db_url).await.expect("migrations");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let env = env_for(&db_url, port, &format!("mayday_bench:{stamp}:"));

    // The simulated PBX lives in this process: its CPU is not the server's.
    let traffic = Traffic {
        calls_per_second: cps,
        mean_talk: Duration::from_millis(knob("WS_LOAD_TALK_MS", 3000)),
        mean_patience: Duration::from_secs(20),
        min_ring: Duration::from_millis(300),
        max_ring: Duration::from_secs(2),
        no_answer_rate: 0.05,
        transfer_rate: 0.02,
        after_queue: Duration::from_secs(1),
    };
    let sim = sim::start(
        SimConfig { secret: "bench".into(), traffic: Some(traffic), ..SimConfig::default() },
        Arc::new(StaticDirectory(directory())),
    )
    .await
    .expect("sim");

    // Seed the database through the library, as the CLI would.
    let config = Config::from_source(&env).expect("config");
    let state = AppState::new(config).expect("state");
    let pbx = services::pbxes::create(
        &state,
        None,
        serde_json::from_value(json!({"name": "load", "ami_host": "127.0.0.1", "ami_port": sim.addr().port(), "ami_username": "mayday", "ami_secret": "bench", "ami_auth": "md5"})).expect("pbx"),
    )
    .await
    .expect("pbx created");
    let t = services::tenants::create(
        &state,
        None,
        services::tenants::CreateTenant {
            slug: "load".into(),
            name: "Load".into(),
            timezone: None,
            enabled: Some(true),
            pbx_id: Some(pbx.id),
            name_prefix: Some(String::new()),
            domains: None,
        },
    )
    .await
    .expect("tenant");
    let manager = services::users::CreateUser {
        username: "manager".into(),
        password: "load-test-password".into(),
        role: Role::Manager,
        display_name: None,
        email: None,
        extension: None,
        callerid: None,
        enabled: Some(true),
    };
    services::users::create(&state, None, TenantId(t.id), manager).await.expect("manager");
    let mut probe_id = 0;
    for ext in (0..AGENTS).map(|i| format!("{}", 1001 + i)).chain(std::iter::once(PROBE_EXT.to_string())) {
        let agent = services::agents::CreateAgent {
            username: format!("a{ext}"),
            password: "load-test-password".into(),
            extension: ext.clone(),
            display_name: Some(format!("Agent {ext}")),
            email: None,
            callerid: None,
            profile: None,
            codecs: None,
            sip_password: None,
            enabled: Some(true),
        };
        let u = services::agents::create(&state, None, TenantId(t.id), agent).await.expect("agent").user;
        if ext == PROBE_EXT {
            probe_id = u.id;
        }
    }

    let mut server: Child = Command::new(env!("CARGO_BIN_EXE_mayday"))
        .arg("serve")
        .envs(&env)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("server starts");
    let pid = server.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    while awc::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/health/ready"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .ok()
        != Some(200)
    {
        assert!(Instant::now() < deadline, "the server did not come up");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let token = login(port, "load", "manager", "load-test-password").await;

    // 1,000 wallboard clients.
    let received = Arc::new(AtomicU64::new(0));
    let received_bytes = Arc::new(AtomicU64::new(0));
    let probes = Arc::new(Probes { current: Mutex::new(None), samples: Mutex::new(Vec::new()) });
    let probe_key = format!("\"id\":{probe_id},");
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let Some(mut framed) = open(port, &token).await else { panic!("a client could not connect") };
        let _ =
            framed.send(ws::Message::Text(json!({"op": "subscribe", "topic": "wallboard"}).to_string().into())).await;
        let (received, received_bytes, probes, key) =
            (received.clone(), received_bytes.clone(), probes.clone(), probe_key.clone());
        tasks.push(actix_web::rt::spawn(async move {
            let mut seen_probe = 0u64;
            while let Some(Ok(frame)) = framed.next().await {
                if let ws::Frame::Text(b) = frame {
                    received.fetch_add(1, Ordering::Relaxed);
                    received_bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                    let text = String::from_utf8_lossy(&b);
                    if let Some(at) = text.find(&key) {
                        let tail = &text[at..text.len().min(at + 400)];
                        let current = *probes.current.lock();
                        if let Some((n, sent, want)) = current {
                            if n != seen_probe && tail.contains(&format!("\"status\":\"{want}\"")) {
                                seen_probe = n;
                                probes.samples.lock().push(sent.elapsed());
                            }
                        }
                    }
                } else if let ws::Frame::Ping(p) = frame {
                    let _ = framed.send(ws::Message::Pong(p)).await;
                }
            }
        }));
    }
    // Warm up, then measure.
    actix_web::rt::time::sleep(Duration::from_secs(3)).await;
    let (cpu0, delivered0, recv0, events0) = (
        cpu_secs(pid),
        metric(port, "mayday_ws_messages_delivered_total").await,
        received.load(Ordering::Relaxed),
        sim.stats().await.map(|s| s.events_sent).unwrap_or(0),
    );
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        n += 1;
        *probes.current.lock() = Some((n, Instant::now(), "ringing"));
        let call = sim.direct_call(PROBE_EXT, "+254799999999").await.expect("probe call");
        actix_web::rt::time::sleep(Duration::from_millis(125)).await;
        n += 1;
        *probes.current.lock() = Some((n, Instant::now(), "available"));
        let _ = sim.caller_hangup(call).await;
        actix_web::rt::time::sleep(Duration::from_millis(125)).await;
    }
    let window = start.elapsed().as_secs_f64();
    let (cpu1, delivered1, recv1, events1) = (
        cpu_secs(pid),
        metric(port, "mayday_ws_messages_delivered_total").await,
        received.load(Ordering::Relaxed),
        sim.stats().await.map(|s| s.events_sent).unwrap_or(0),
    );
    let mut samples = probes.samples.lock().clone();
    samples.sort();
    let pct = |p: f64| samples.get(((samples.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default();
    let delivered = delivered1 - delivered0;
    let cpu = cpu1 - cpu0;
    println!(
        "ws_load: {clients} wallboard clients, {:.0} AMI events/s for {window:.1} s (load average {})",
        (events1 - events0) as f64 / window,
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().next().unwrap_or("?")
    );
    println!(
        "  delivered: {:.0} messages/s to clients (server counted {:.0}/s)",
        (recv1 - recv0) as f64 / window,
        delivered / window
    );
    println!(
        "  latency AMI event -> client: p50 {:.1} ms, p99 {:.1} ms ({} samples)",
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        samples.len()
    );
    println!(
        "  server CPU: {:.2} s over the window = {:.2} us per delivered message",
        cpu,
        if delivered > 0.0 { cpu * 1e6 / delivered } else { 0.0 }
    );
    for t in tasks {
        t.abort();
    }
    let frame_bytes = received_bytes.load(Ordering::Relaxed) / received.load(Ordering::Relaxed).max(1);
    let floor = loopback_floor(clients, frame_bytes as usize, Duration::from_millis(20)).await;
    println!(
        "  floor: a bare write() of a {frame_bytes}-byte frame to each of {clients} loopback sockets costs {floor:.2} us of CPU here"
    );

    // Idle agent sessions.
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    let agent_token = login(port, "load", "a1001", "load-test-password").await;
    let agent_topic =
        json!({"op": "subscribe", "topic": format!("agent:{}", probe_id.saturating_sub(AGENTS as u64))}).to_string();
    let rss0 = rss_kib(pid);
    let mut sockets = Vec::with_capacity(idle);
    for i in 0..idle {
        match open(port, &agent_token).await {
            Some(mut f) => {
                let _ = f.send(ws::Message::Text(agent_topic.clone().into())).await;
                sockets.push(f);
            }
            None => {
                println!("  idle sessions: stopped at {i} (connect failed)");
                break;
            }
        }
    }
    actix_web::rt::time::sleep(Duration::from_secs(3)).await;
    let rss1 = rss_kib(pid);
    let open_now = metric(port, "mayday_ws_sessions").await;
    println!("  idle: {} agent sessions open (server says {open_now}), server RSS {rss0} KiB -> {rss1} KiB = {:.2} KiB per session", sockets.len(), (rss1.saturating_sub(rss0)) as f64 / sockets.len().max(1) as f64);
    drop(sockets);
    let _ = server.kill();
    let _ = server.wait();
    sim.shutdown();
    use diesel_async::{AsyncConnection, SimpleAsyncConnection};
    if let Ok(mut c) = diesel_async::AsyncMysqlConnection::establish("mysql://root@127.0.0.1:3306/").await {
        let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS mayday_bench_{stamp}")).await;
    }
}
