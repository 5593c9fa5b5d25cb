//! The simulated PBX: a TCP server that speaks AMI as Asterisk 22 does, with a call center
//! that lives (automatic traffic) or moves on command (scripted mode), fault injection, and
//! a ground truth to compare Mayday with. Used by tests, benches, `mayday sim` and the demo.

pub mod actions;
pub mod auto;
pub mod compare;
pub mod directory;
pub mod engine;
pub mod flows;
pub mod record;
pub mod truth;
pub mod wire;
pub mod world;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::FramedRead;

pub use auto::Traffic;
pub use directory::{Directory, DirectoryFuture, DirectorySnapshot, SimEndpoint, SimMember, SimQueue, StaticDirectory};
pub use engine::{Fault, SimStats};
pub use flows::{SimError, TransferTarget};
pub use truth::{Truth, TruthCall, TruthMember, TruthQueue};
pub use world::CallId;

use crate::ami::codec::{AmiCodec, Frame, Limits};
use crate::ami::message::Message;
use actions::AuthSettings;
use engine::{Cmd, Engine, Flags, Out, Script};

/// Settings of a simulated PBX.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub listen: SocketAddr,
    pub username: String,
    pub secret: String,
    /// Banner version (Asterisk 22 prints 11.0.0).
    pub ami_version: String,
    pub asterisk_version: String,
    /// Asterisk waits 1 s before refusing a login.
    pub failed_login_delay: Duration,
    pub seed: u64,
    /// `None`: scripted mode, nothing happens unless a test says so.
    pub traffic: Option<Traffic>,
    /// Messages buffered per client before the client is dropped as too slow.
    pub client_buffer: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            username: "mayday".into(),
            secret: "mayday".into(),
            ami_version: "11.0.0".into(),
            asterisk_version: "22.10.1".into(),
            failed_login_delay: Duration::from_secs(1),
            seed: 1,
            traffic: None,
            client_buffer: 262_144,
        }
    }
}

/// A running simulated PBX. Dropping the handle does not stop it; [`SimHandle::shutdown`]
/// does.
#[derive(Clone)]
pub struct SimHandle {
    addr: SocketAddr,
    tx: mpsc::Sender<Cmd>,
    shutdown: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle").field("addr", &self.addr).finish()
    }
}

/// Starts a simulated PBX on the current tokio runtime.
pub async fn start(cfg: SimConfig, directory: Arc<dyn Directory>) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = mpsc::channel(65_536);
    let flags = Arc::new(Flags::default());
    let world = world::World::new(chrono::Utc::now().timestamp(), cfg.seed);
    let auth = AuthSettings {
        username: cfg.username.clone(),
        secret: cfg.secret.clone(),
        refuse_logins: false,
        denied_actions: Vec::new(),
        failed_login_delay: cfg.failed_login_delay,
        ami_version: cfg.ami_version.clone(),
        asterisk_version: cfg.asterisk_version.clone(),
    };
    let engine = Engine::new(world, auto::Auto::new(cfg.traffic.clone()), directory, auth, flags.clone());
    let shutdown = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(engine.run(rx));
    tokio::spawn(accept_loop(listener, tx.clone(), flags, cfg, shutdown.clone()));
    Ok(SimHandle { addr, tx, shutdown })
}

async fn accept_loop(
    listener: TcpListener,
    tx: mpsc::Sender<Cmd>,
    flags: Arc<Flags>,
    cfg: SimConfig,
    shutdown: Arc<tokio::sync::Notify>,
) {
    static NEXT_CLIENT: AtomicU64 = AtomicU64::new(1);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.notified() => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        if flags.down.load(Ordering::SeqCst) {
            // A PBX that is down: the connection is refused outright.
            drop(stream);
            continue;
        }
        flags.connections.fetch_add(1, Ordering::Relaxed);
        let client = NEXT_CLIENT.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(serve_client(stream, client, tx.clone(), cfg.clone()));
    }
}

async fn serve_client(stream: TcpStream, client: u64, tx: mpsc::Sender<Cmd>, cfg: SimConfig) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let (out_tx, mut out_rx) = mpsc::channel::<Out>(cfg.client_buffer);
    if tx.send(Cmd::Connect { client, out: out_tx }).await.is_err() {
        return;
    }
    let banner = format!("Asterisk Call Manager/{}\r\n", cfg.ami_version);
    let writer = tokio::spawn(async move {
        if write.write_all(banner.as_bytes()).await.is_err() {
            return;
        }
        let mut buf = Vec::with_capacity(64 * 1024);
        while let Some(first) = out_rx.recv().await {
            // Coalesce what is queued into one write.
            let mut next = Some(first);
            while let Some(item) = next.take() {
                match item {
                    Out::Bytes(b) => buf.extend_from_slice(&b),
                    Out::Delay(d) => {
                        if !buf.is_empty() && write.write_all(&buf).await.is_err() {
                            return;
                        }
                        buf.clear();
                        tokio::time::sleep(d).await;
                    }
                    Out::Close => {
                        let _ = write.write_all(&buf).await;
                        let _ = write.shutdown().await;
                        return;
                    }
                    Out::CutMidMessage => {
                        let _ = write.write_all(&buf).await;
                        let _ = write.write_all(b"Event: Newstate\r\nPrivilege: call,all\r\nChannel: PJSIP/cut").await;
                        let _ = write.shutdown().await;
                        return;
                    }
                }
                if buf.len() < 256 * 1024 {
                    next = out_rx.try_recv().ok();
                }
            }
            if !buf.is_empty() {
                if write.write_all(&buf).await.is_err() {
                    return;
                }
                buf.clear();
            }
        }
    });
    let mut frames = FramedRead::new(read, AmiCodec::server(Limits::default()));
    let mut writer = writer;
    loop {
        tokio::select! {
            frame = frames.next() => match frame {
                Some(Ok(Frame::Message(msg))) => {
                    if tx.send(Cmd::Action { client, msg }).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Frame::Banner(_))) => {}
                Some(Err(_)) | None => break,
            },
            _ = &mut writer => break,
        }
    }
    writer.abort();
    let _ = tx.send(Cmd::Disconnect { client }).await;
}

impl SimHandle {
    /// Where the simulated PBX listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    async fn script(&self, step: Script) -> Result<CallId, SimError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Cmd::Script { step, reply }).await.map_err(|_| SimError::Stopped)?;
        rx.await.map_err(|_| SimError::Stopped)?
    }

    /// A caller arrives on the trunk and enters `queue`.
    pub async fn place_call(&self, queue: &str, caller: &str) -> Result<CallId, SimError> {
        self.script(Script::PlaceCall { queue: queue.into(), caller: caller.into() }).await
    }

    /// Rings a member (`None`: the first available one, in the queue's strategy order).
    pub async fn ring(&self, call: CallId, interface: Option<&str>) -> Result<(), SimError> {
        self.script(Script::Ring { call, interface: interface.map(str::to_string) }).await.map(|_| ())
    }

    /// With `ringall`: the member on `interface`, one of those ringing, answers; the others
    /// stop ringing.
    pub async fn answer_by(&self, call: CallId, interface: &str) -> Result<(), SimError> {
        self.script(Script::AnswerBy { call, interface: interface.to_string() }).await.map(|_| ())
    }

    /// The ringing member answers (a waiting caller is first offered to the first available member).
    pub async fn answer(&self, call: CallId) -> Result<(), SimError> {
        self.script(Script::Answer { call }).await.map(|_| ())
    }

    /// The ringing member does not answer.
    pub async fn ring_no_answer(&self, call: CallId) -> Result<(), SimError> {
        self.script(Script::RingNoAnswer { call }).await.map(|_| ())
    }

    /// The agent hangs up a connected call.
    pub async fn agent_hangup(&self, call: CallId) -> Result<(), SimError> {
        self.script(Script::AgentHangup { call }).await.map(|_| ())
    }

    /// The caller hangs up, whatever the call's phase.
    pub async fn caller_hangup(&self, call: CallId) -> Result<(), SimError> {
        self.script(Script::CallerHangup { call }).await.map(|_| ())
    }

    /// The caller hangs up while waiting: a true abandon.
    pub async fn abandon(&self, call: CallId) -> Result<(), SimError> {
        self.script(Script::Abandon { call }).await.map(|_| ())
    }

    /// The Queue() timeout expires: the caller leaves unanswered without hanging up.
    pub async fn timeout(&self, call: CallId) -> Result<(), SimError> {
        self.script(Script::Timeout { call }).await.map(|_| ())
    }

    /// The agent blind-transfers a connected caller.
    pub async fn transfer(&self, call: CallId, target: TransferTarget) -> Result<(), SimError> {
        self.script(Script::Transfer { call, target }).await.map(|_| ())
    }

    /// An inbound call straight to an agent's endpoint (it rings).
    pub async fn direct_call(&self, endpoint: &str, caller: &str) -> Result<CallId, SimError> {
        self.script(Script::DirectCall { endpoint: endpoint.into(), caller: caller.into() }).await
    }

    /// An agent dials out (the far end rings; `answer` connects it).
    pub async fn outbound_call(&self, endpoint: &str, number: &str) -> Result<CallId, SimError> {
        self.script(Script::OutboundCall { endpoint: endpoint.into(), number: number.into() }).await
    }

    /// Pauses or unpauses a member as QueuePause would (`queue: None` = every queue).
    pub async fn pause(
        &self,
        interface: &str,
        queue: Option<&str>,
        paused: bool,
        reason: &str,
    ) -> Result<(), SimError> {
        self.script(Script::Pause {
            interface: interface.into(),
            queue: queue.map(str::to_string),
            paused,
            reason: reason.into(),
        })
        .await
        .map(|_| ())
    }

    /// What really is, right now.
    pub async fn truth(&self) -> Result<Truth, SimError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Cmd::Truth { reply }).await.map_err(|_| SimError::Stopped)?;
        rx.await.map_err(|_| SimError::Stopped)
    }

    /// Injects a fault.
    pub async fn fault(&self, fault: Fault) -> Result<(), SimError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Cmd::Fault { fault, reply }).await.map_err(|_| SimError::Stopped)?;
        rx.await.map_err(|_| SimError::Stopped)
    }

    /// Counters: clients, logins, events sent.
    pub async fn stats(&self) -> Result<SimStats, SimError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Cmd::Stats { reply }).await.map_err(|_| SimError::Stopped)?;
        rx.await.map_err(|_| SimError::Stopped)
    }

    /// The last actions the PBX received (up to 10,000), oldest first.
    pub async fn received_actions(&self) -> Result<Vec<Message>, SimError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Cmd::Received { reply }).await.map_err(|_| SimError::Stopped)?;
        rx.await.map_err(|_| SimError::Stopped)
    }

    /// Stops accepting connections (the engine ends when every handle is gone).
    pub fn shutdown(&self) {
        self.shutdown.notify_waiters();
    }
}
