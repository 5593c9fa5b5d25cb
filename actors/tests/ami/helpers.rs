//! Test helpers: a raw AMI client, a collector actor, sims shaped like the recordings.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::{SinkExt, StreamExt};
use mayday_actors::ami::codec::{AmiCodec, Frame, Limits};
use mayday_actors::ami::{AmiConfig, AmiEvents, AuthMode, LinkEvent, Message, PbxId, Secret};
use mayday_actors::sim::{self, SimConfig, SimEndpoint, SimHandle, SimMember, SimQueue, StaticDirectory};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

pub const USER: &str = "mayday";
pub const SECRET: &str = "mayday-secret";

/// The recording's queue: `support`, rrmemory, members Local/1001..1003@agents/n.
pub fn recording_directory() -> StaticDirectory {
    let member = |n: u32, name: &str| SimMember {
        interface: format!("Local/{n}@agents/n"),
        membername: name.into(),
        state_interface: format!("Local/{n}@agents"),
        penalty: 0,
        paused: false,
        realtime: false,
    };
    StaticDirectory(sim::DirectorySnapshot {
        endpoints: vec![SimEndpoint {
            id: "2001".into(),
            name: "SIPp 2001".into(),
            tenantid: None,
            context: "incoming".into(),
            registered: true,
        }],
        queues: vec![SimQueue {
            name: "support".into(),
            strategy: "rrmemory".into(),
            ring_timeout_secs: 5,
            wrapup_secs: 0,
            service_level_secs: 0,
            max_len: 0,
            weight: 0,
            max_wait_secs: 30,
            tenantid: None,
            caller_context: "incoming".into(),
            members: vec![member(1001, "Alice"), member(1002, "Bob"), member(1003, "Carol")],
        }],
    })
}

/// A directory of PJSIP agents: endpoints `1001..` in queue `sales` and `support`.
pub fn pjsip_directory(agents: usize) -> StaticDirectory {
    let endpoints: Vec<SimEndpoint> = (0..agents)
        .map(|i| SimEndpoint {
            id: format!("{}", 1001 + i),
            name: format!("Agent {}", 1001 + i),
            tenantid: None,
            context: "mayday-agents".into(),
            registered: true,
        })
        .collect();
    let members: Vec<SimMember> = endpoints
        .iter()
        .map(|e| SimMember {
            interface: format!("PJSIP/{}", e.id),
            membername: e.name.clone(),
            state_interface: format!("PJSIP/{}", e.id),
            penalty: 0,
            paused: false,
            realtime: true,
        })
        .collect();
    let queue = |name: &str| SimQueue {
        name: name.into(),
        strategy: "leastrecent".into(),
        ring_timeout_secs: 15,
        wrapup_secs: 0,
        service_level_secs: 20,
        max_len: 0,
        weight: 0,
        max_wait_secs: 0,
        tenantid: None,
        caller_context: "mayday-inbound".into(),
        members: members.clone(),
    };
    StaticDirectory(sim::DirectorySnapshot { endpoints, queues: vec![queue("sales"), queue("support")] })
}

pub async fn start_sim(directory: StaticDirectory) -> SimHandle {
    start_sim_on(Arc::new(directory)).await
}

pub async fn start_sim_on(directory: Arc<dyn sim::directory::Directory>) -> SimHandle {
    let cfg = SimConfig {
        username: USER.into(),
        secret: SECRET.into(),
        failed_login_delay: Duration::from_millis(20),
        ..SimConfig::default()
    };
    sim::start(cfg, directory).await.expect("sim starts")
}

/// A directory a test changes behind Asterisk's back (a config file edited before a reload).
pub struct EditableDirectory(pub parking_lot::Mutex<sim::DirectorySnapshot>);

impl sim::directory::Directory for EditableDirectory {
    fn load(&self) -> sim::directory::DirectoryFuture {
        let snapshot = self.0.lock().clone();
        Box::pin(async move { Ok(snapshot) })
    }
}

/// A raw AMI client (what Asterisk's peer would see).
pub struct RawClient {
    framed: Framed<TcpStream, AmiCodec>,
    pub banner: String,
    next: u32,
}

impl RawClient {
    pub async fn connect(sim: &SimHandle) -> Self {
        let stream = TcpStream::connect(sim.addr()).await.expect("connect to sim");
        let mut framed = Framed::new(stream, AmiCodec::client(Limits::default()));
        let banner = match framed.next().await {
            Some(Ok(Frame::Banner(b))) => b,
            other => panic!("expected a banner, got {other:?}"),
        };
        RawClient { framed, banner, next: 1 }
    }

    pub async fn send(&mut self, pairs: &[(&str, &str)]) -> String {
        let id = format!("t-{}", self.next);
        self.next += 1;
        let mut b = Message::builder().field("Action", pairs[0].1).field("ActionID", &id);
        for (k, v) in &pairs[1..] {
            b.push(k, v);
        }
        self.framed.send(b.build()).await.expect("send action");
        id
    }

    pub async fn login(&mut self, events: &str) {
        let id = self.send(&[("Action", "Login"), ("Username", USER), ("Secret", SECRET), ("Events", events)]).await;
        let r = self.until(|m| m.action_id() == Some(id.as_str())).await;
        assert_eq!(r.response(), Some("Success"), "login: {r:?}");
    }

    pub async fn recv(&mut self) -> Option<Message> {
        match tokio::time::timeout(Duration::from_secs(5), self.framed.next()).await {
            Ok(Some(Ok(Frame::Message(m)))) => Some(m),
            _ => None,
        }
    }

    /// Reads until `f` matches; returns the match.
    pub async fn until(&mut self, f: impl Fn(&Message) -> bool) -> Message {
        loop {
            let m = self.recv().await.expect("a message before the deadline");
            if f(&m) {
                return m;
            }
        }
    }

    /// Reads everything that arrives within `quiet` of the previous message.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Message> {
        let mut out = Vec::new();
        while let Ok(Some(Ok(Frame::Message(m)))) = tokio::time::timeout(quiet, self.framed.next()).await {
            out.push(m);
        }
        out
    }

    /// Sends an action and collects its response (and list items up to Complete).
    pub async fn action(&mut self, pairs: &[(&str, &str)]) -> Vec<Message> {
        let id = self.send(pairs).await;
        let first = self.until(|m| m.action_id() == Some(id.as_str()) && m.response().is_some()).await;
        let list = first.get("EventList").is_some_and(|v| v.eq_ignore_ascii_case("start"));
        let mut out = vec![first];
        if list {
            loop {
                let m = self.until(|m| m.action_id() == Some(id.as_str())).await;
                let done = m.get("EventList").is_some_and(|v| v.eq_ignore_ascii_case("Complete"));
                out.push(m);
                if done {
                    break;
                }
            }
        }
        out
    }
}

/// Link settings for tests: millisecond timers.
pub fn link_config(sim: &SimHandle, auth: AuthMode, secret: &str) -> AmiConfig {
    link_config_on(sim.addr().port(), auth, secret)
}

/// Link settings for an AMI server on `port` of this machine.
pub fn link_config_on(port: u16, auth: AuthMode, secret: &str) -> AmiConfig {
    let mut cfg = AmiConfig::new(PbxId(1), "127.0.0.1", port, USER, Secret::new(secret));
    cfg.auth = auth;
    cfg.connect_timeout = Duration::from_millis(500);
    cfg.login_timeout = Duration::from_millis(1_000);
    cfg.boot_wait = Duration::from_millis(200);
    cfg.action_timeout = Duration::from_secs(5);
    cfg.ping_interval = Duration::from_secs(60);
    cfg.ping_timeout = Duration::from_secs(60);
    cfg.backoff_initial = Duration::from_millis(20);
    cfg.backoff_max = Duration::from_millis(200);
    cfg.auth_retry = Duration::from_millis(100);
    cfg
}

/// Forwards link events and event batches into channels a test can await.
pub struct Collector {
    pub links: mpsc::UnboundedSender<LinkEvent>,
    pub events: mpsc::UnboundedSender<AmiEvents>,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<LinkEvent> for Collector {
    type Result = ();
    fn handle(&mut self, msg: LinkEvent, _: &mut Context<Self>) {
        let _ = self.links.send(msg);
    }
}

impl Handler<AmiEvents> for Collector {
    type Result = ();
    fn handle(&mut self, msg: AmiEvents, _: &mut Context<Self>) {
        let _ = self.events.send(msg);
    }
}

pub struct Collected {
    pub addr: Addr<Collector>,
    pub links: mpsc::UnboundedReceiver<LinkEvent>,
    pub events: mpsc::UnboundedReceiver<AmiEvents>,
}

pub fn collector() -> Collected {
    let (ltx, lrx) = mpsc::unbounded_channel();
    let (etx, erx) = mpsc::unbounded_channel();
    let addr = Collector { links: ltx, events: etx }.start();
    Collected { addr, links: lrx, events: erx }
}

/// Waits for the next link event matching `f`.
pub async fn next_link(
    rx: &mut mpsc::UnboundedReceiver<LinkEvent>,
    within: Duration,
    f: impl Fn(&LinkEvent) -> bool,
) -> LinkEvent {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(e)) if f(&e) => return e,
            Ok(Some(_)) => continue,
            _ => panic!("no matching link event within {within:?}"),
        }
    }
}

/// Polls `f` until it returns true or the deadline passes.
pub async fn eventually<F, Fut>(within: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if f().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Keys of a message without the ones a comparison should ignore.
pub fn keys(m: &Message) -> Vec<String> {
    m.keys().filter(|k| !k.eq_ignore_ascii_case("ActionID")).map(str::to_string).collect()
}
