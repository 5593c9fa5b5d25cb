//! The simulated PBX's engine: one task owns the world, answers AMI actions in arrival
//! order, runs automatic traffic and scripted steps, and writes events to every logged-in
//! client (each event encoded once, shared by all).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::actions::{self, AuthSettings, Session};
use super::auto::Auto;
use super::directory::Directory;
use super::flows::{SimError, TransferTarget};
use super::truth::Truth;
use super::wire::Class;
use super::world::{CallId, SimTime, World};
use crate::ami::message::Message;

/// What a client's writer does next.
#[derive(Debug)]
pub enum Out {
    Bytes(Bytes),
    /// Wait before the next write (Asterisk's 1 s after a failed login).
    Delay(Duration),
    /// Close the connection after what was written.
    Close,
    /// Write half a message, then close: a link cut mid-message.
    CutMidMessage,
}

/// A scripted step.
#[derive(Debug)]
pub enum Script {
    PlaceCall {
        queue: String,
        caller: String,
    },
    Ring {
        call: CallId,
        interface: Option<String>,
    },
    Answer {
        call: CallId,
    },
    /// A ringall call's member on `interface` answers.
    AnswerBy {
        call: CallId,
        interface: String,
    },
    RingNoAnswer {
        call: CallId,
    },
    AgentHangup {
        call: CallId,
    },
    CallerHangup {
        call: CallId,
    },
    Abandon {
        call: CallId,
    },
    Timeout {
        call: CallId,
    },
    Transfer {
        call: CallId,
        target: TransferTarget,
    },
    DirectCall {
        endpoint: String,
        caller: String,
    },
    OutboundCall {
        endpoint: String,
        number: String,
    },
    Pause {
        interface: String,
        queue: Option<String>,
        paused: bool,
        reason: String,
    },
}

/// Faults a test can inject.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Cut every client mid-message and refuse connections until `Up`.
    Down,
    Up,
    /// Keep sockets open but answer nothing and send nothing (a hung Asterisk).
    Silent(bool),
    /// Refuse every login (as with a wrong secret).
    RefuseLogins(bool),
    /// Answer `Permission denied` to this action from now on (an AMI user without its class).
    DenyAction(String),
    /// Restart: calls gone without events, statistics and pauses reset, a new startup time.
    Restart,
    /// Cut every client mid-message, accepting new connections at once.
    DropClients,
}

pub(crate) enum Cmd {
    Connect { client: u64, out: mpsc::Sender<Out> },
    Disconnect { client: u64 },
    Action { client: u64, msg: Message },
    Script { step: Script, reply: oneshot::Sender<Result<CallId, SimError>> },
    Truth { reply: oneshot::Sender<Truth> },
    Fault { fault: Fault, reply: oneshot::Sender<()> },
    Stats { reply: oneshot::Sender<SimStats> },
    Received { reply: oneshot::Sender<Vec<Message>> },
}

/// Counters of the simulated PBX.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SimStats {
    pub clients: usize,
    pub logged_in: usize,
    pub login_attempts: u64,
    pub failed_logins: u64,
    pub connections: u64,
    pub events_sent: u64,
    pub actions_received: u64,
    pub startup_epoch: i64,
}

/// Shared flags the TCP acceptor reads without asking the engine.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    pub down: std::sync::atomic::AtomicBool,
    pub connections: std::sync::atomic::AtomicU64,
}

struct Client {
    out: mpsc::Sender<Out>,
    session: Session,
}

pub(crate) struct Engine {
    pub world: World,
    pub auto: Auto,
    pub directory: Arc<dyn Directory>,
    pub auth: AuthSettings,
    pub flags: Arc<Flags>,
    clients: HashMap<u64, Client>,
    started: Instant,
    silent: bool,
    stats: SimStats,
    received: VecDeque<Message>,
    last_auto_reload: Option<u64>,
}

const RECEIVED_LOG: usize = 10_000;

impl Engine {
    pub fn new(world: World, auto: Auto, directory: Arc<dyn Directory>, auth: AuthSettings, flags: Arc<Flags>) -> Self {
        Engine {
            world,
            auto,
            directory,
            auth,
            flags,
            clients: HashMap::new(),
            started: Instant::now(),
            silent: false,
            stats: SimStats::default(),
            received: VecDeque::new(),
            last_auto_reload: None,
        }
    }

    fn now(&self) -> SimTime {
        self.started.elapsed()
    }

    async fn reload_directory(&mut self) {
        match self.directory.load().await {
            Ok(snapshot) => {
                let now = self.now();
                self.world.apply_directory(snapshot, now);
            }
            Err(e) => tracing::warn!(error = %e, "simulated PBX could not reload its directory"),
        }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        self.reload_directory().await;
        loop {
            let due = self.auto.next_due().map(|t| self.started + t);
            let cmd = match due {
                Some(at) => tokio::select! {
                    cmd = rx.recv() => cmd,
                    _ = tokio::time::sleep_until(at.into()) => {
                        let now = self.now();
                        if self.auto.enabled() {
                            self.reload_if_stale(now).await;
                        }
                        self.auto.run_due(&mut self.world, now);
                        self.flush();
                        continue;
                    }
                },
                None => rx.recv().await,
            };
            let Some(cmd) = cmd else { break };
            self.handle(cmd).await;
            self.flush();
        }
    }

    /// Automatic traffic reloads the directory at most once a second (a queue load).
    async fn reload_if_stale(&mut self, now: SimTime) {
        let secs = now.as_secs();
        if self.last_auto_reload != Some(secs) {
            self.last_auto_reload = Some(secs);
            self.reload_directory().await;
        }
    }

    async fn handle(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Connect { client, out } => {
                self.stats.connections += 1;
                self.clients.insert(client, Client { out, session: Session::default() });
            }
            Cmd::Disconnect { client } => {
                self.clients.remove(&client);
            }
            Cmd::Action { client, msg } => self.action(client, msg).await,
            Cmd::Script { step, reply } => {
                let now = self.now();
                if matches!(step, Script::PlaceCall { .. }) {
                    self.reload_directory().await;
                }
                let result = self.script(step, now);
                let _ = reply.send(result);
            }
            Cmd::Truth { reply } => {
                self.world.now = self.now();
                let _ = reply.send(Truth::of(&self.world));
            }
            Cmd::Fault { fault, reply } => {
                self.fault(fault);
                let _ = reply.send(());
            }
            Cmd::Stats { reply } => {
                let mut s = self.stats.clone();
                s.clients = self.clients.len();
                s.logged_in = self.clients.values().filter(|c| c.session.authenticated).count();
                s.startup_epoch = self.world.startup_epoch;
                let _ = reply.send(s);
            }
            Cmd::Received { reply } => {
                let _ = reply.send(self.received.iter().cloned().collect());
            }
        }
    }

    async fn action(&mut self, client: u64, msg: Message) {
        if self.silent {
            return;
        }
        self.stats.actions_received += 1;
        if msg.action_name().is_some_and(|n| n.eq_ignore_ascii_case("Login")) {
            self.stats.login_attempts += 1;
        }
        if self.received.len() == RECEIVED_LOG {
            self.received.pop_front();
        }
        self.received.push_back(msg.clone());
        if actions::loads_queues(&msg) {
            self.reload_directory().await;
        }
        let now = self.now();
        let Some(c) = self.clients.get_mut(&client) else {
            return;
        };
        let outcome = actions::handle(&mut self.world, now, &mut c.session, &self.auth, &msg);
        if outcome.close && outcome.delay.is_some() {
            self.stats.failed_logins += 1;
        }
        let Some(c) = self.clients.get(&client) else {
            return;
        };
        if let Some(d) = outcome.delay {
            let _ = c.out.try_send(Out::Delay(d));
        }
        for reply in outcome.replies {
            if c.out.try_send(Out::Bytes(reply.to_bytes())).is_err() {
                break;
            }
        }
        if outcome.close {
            let _ = c.out.try_send(Out::Close);
            self.clients.remove(&client);
        }
        // Auto traffic reacts to actions too (a pause frees or blocks members).
        self.auto.run_due(&mut self.world, now);
    }

    fn script(&mut self, step: Script, now: SimTime) -> Result<CallId, SimError> {
        let w = &mut self.world;
        w.now = now;
        let none = CallId(0);
        let r = match step {
            Script::PlaceCall { queue, caller } => w.place_call(now, &queue, &caller, ""),
            Script::Ring { call, interface } => match interface {
                Some(iface) => w.ring(now, call, &iface).map(|_| call),
                None => {
                    let queue = w.calls.get(&call).and_then(|c| c.queue.clone()).ok_or(SimError::UnknownCall(call))?;
                    if w.queues.get(&queue).is_some_and(|q| q.def.strategy == "ringall") {
                        w.ring_all(now, call).map(|_| call)
                    } else {
                        let iface = w
                            .available_members(&queue, now)
                            .into_iter()
                            .next()
                            .ok_or(SimError::NobodyAvailable(queue))?;
                        w.ring(now, call, &iface).map(|_| call)
                    }
                }
            },
            Script::AnswerBy { call, interface } => w.answer_by(now, call, &interface).map(|_| call),
            Script::Answer { call } => {
                if w.calls.get(&call).is_some_and(|c| c.phase == super::world::Phase::Waiting) {
                    let queue = w.calls.get(&call).and_then(|c| c.queue.clone()).unwrap_or_default();
                    let iface =
                        w.available_members(&queue, now).into_iter().next().ok_or(SimError::NobodyAvailable(queue))?;
                    w.ring(now, call, &iface)?;
                }
                w.answer(now, call).map(|_| call)
            }
            Script::RingNoAnswer { call } => w.ring_no_answer(now, call).map(|_| call),
            Script::AgentHangup { call } => w.end_talk(now, call, true).map(|_| call),
            Script::CallerHangup { call } => w.hangup_call(now, call).map(|_| call),
            Script::Abandon { call } => w.abandon(now, call).map(|_| call),
            Script::Timeout { call } => w.timeout(now, call).map(|_| call),
            Script::Transfer { call, target } => w.transfer(now, call, &target).map(|_| call),
            Script::DirectCall { endpoint, caller } => w.direct_call(now, &endpoint, &caller, "mayday-inbound"),
            Script::OutboundCall { endpoint, number } => w.outbound_call(now, &endpoint, &number),
            Script::Pause { interface, queue, paused, reason } => {
                let mut b = Message::builder()
                    .field("Action", "QueuePause")
                    .field("Interface", &interface)
                    .field("Paused", if paused { "true" } else { "false" })
                    .field("Reason", &reason);
                if let Some(q) = &queue {
                    b.push("Queue", q);
                }
                let out = actions::handle(w, now, &mut authenticated(), &self.auth, &b.build());
                match out.replies.first().and_then(|r| r.response()) {
                    Some("Success") => Ok(none),
                    _ => Err(SimError::UnknownMember(queue.unwrap_or_default(), interface)),
                }
            }
        };
        self.world.calls.retain(|_, c| c.phase != super::world::Phase::Ended);
        r
    }

    fn fault(&mut self, fault: Fault) {
        use std::sync::atomic::Ordering;
        match fault {
            Fault::Down => {
                self.flags.down.store(true, Ordering::SeqCst);
                self.cut_all();
            }
            Fault::Up => self.flags.down.store(false, Ordering::SeqCst),
            Fault::DropClients => self.cut_all(),
            Fault::Silent(on) => self.silent = on,
            Fault::RefuseLogins(on) => self.auth.refuse_logins = on,
            Fault::DenyAction(name) => self.auth.denied_actions.push(name),
            Fault::Restart => {
                for (_, c) in self.clients.drain() {
                    let _ = c.out.try_send(Out::Close);
                }
                let now = self.now();
                let wall = chrono::Utc::now().timestamp();
                let epoch = wall.max(self.world.startup_epoch + 1);
                self.world.restart(epoch, now);
                self.auto.reset(now);
            }
        }
    }

    fn cut_all(&mut self) {
        for (_, c) in self.clients.drain() {
            let _ = c.out.try_send(Out::CutMidMessage);
        }
    }

    /// Sends the world's new events to every session that wants them.
    fn flush(&mut self) {
        if self.world.out.is_empty() {
            return;
        }
        let out = std::mem::take(&mut self.world.out);
        if self.silent {
            return;
        }
        let mut dead = Vec::new();
        for (class, msg) in out {
            let bytes = msg.to_bytes();
            let text = std::str::from_utf8(&bytes).unwrap_or_default();
            for (id, c) in &self.clients {
                if !c.session.wants(class, &msg, text) {
                    continue;
                }
                self.stats.events_sent += 1;
                // A client that does not read is closed, as Asterisk does after its
                // write timeout (asterisk.md 1.1).
                if c.out.try_send(Out::Bytes(bytes.clone())).is_err() {
                    dead.push(*id);
                }
            }
        }
        for id in dead {
            if let Some(c) = self.clients.remove(&id) {
                let _ = c.out.try_send(Out::Close);
            }
        }
    }
}

fn authenticated() -> Session {
    Session { authenticated: true, mask: Class::ALL, ..Default::default() }
}
