//! The `AmiConnection` actor: one per PBX, owns the TCP link.
//!
//! It connects (with a timeout), reads the banner, logs in (plain or MD5 challenge), waits
//! until Asterisk is fully booted, then reports `Connected` with Asterisk's startup time so
//! the owner can tell a restart from a dropped link (asterisk.md gotcha 19). Actions are
//! matched to responses by ActionID, never by order (gotcha 1); list actions collect their
//! items until `EventList: Complete`. A keepalive Ping detects a silent PBX. Any failure
//! fails the pending actions with `Disconnected` and reconnects after a capped, jittered
//! backoff; a refused login is reported apart and retried slowly. It runs under an actix
//! `Supervisor`; it knows nothing about queues or agents.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::io::{FramedWrite, WriteHandler};
use actix::prelude::*;
use futures_util::StreamExt;
use tokio::io::WriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio_util::codec::FramedRead;
use tracing::{debug, info, warn, Instrument};

use super::action::{self, Action};
use super::codec::{AmiCodec, BatchCodec, CodecError, Frame};
use super::config::{backoff_delay, AmiConfig, AuthMode};
use super::event::{EventKind, TypedEvent};
use super::link::{
    now_ms, ActionResponse, AmiError, AmiEvents, AmiLink, ConnectKind, DropConnection, LinkEvent, LinkMetrics,
    LinkState, LinkStatus, StopLink, Submit,
};
use super::message::{Message, MessageKind};

/// ActionIDs we send are `<prefix><n>`; anything else is not ours.
const ID_PREFIX: &str = "mayday-";
/// Socket read buffer: a busy Asterisk writes big bursts (gotcha 21).
const READ_CAPACITY: usize = 64 * 1024;

/// What a pending ActionID is waiting for.
enum Waiter {
    External(oneshot::Sender<Result<ActionResponse, AmiError>>),
    Internal(Internal),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Internal {
    Challenge,
    Login,
    CoreStatus,
    Ping,
}

struct Pending {
    waiter: Waiter,
    /// Set once the response said `EventList: start`.
    list: Option<(Message, Vec<Message>)>,
}

#[derive(Clone, Debug, Default)]
struct Boot {
    fully_booted: bool,
    waited_enough: bool,
    startup: Option<String>,
}

enum Phase {
    Idle,
    Connecting,
    AwaitBanner,
    LoggingIn,
    Booting(Boot),
    Connected,
}

struct Socket {
    writer: FramedWrite<Message, WriteHalf<TcpStream>, AmiCodec>,
    reader: SpawnHandle,
}

/// One item of the socket reader: a batch, or the end of the stream.
enum ReadItem {
    Frames(Vec<Frame>),
    Error(CodecError),
    Closed,
}

pub struct AmiConnection {
    cfg: Arc<AmiConfig>,
    events_to: Recipient<AmiEvents>,
    link_to: Recipient<LinkEvent>,
    status: watch::Sender<LinkStatus>,
    metrics: Arc<LinkMetrics>,
    span: tracing::Span,
    phase: Phase,
    socket: Option<Socket>,
    pending: HashMap<u64, Pending>,
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
    next_id: u64,
    /// Events handed to `events_to` on this connection.
    event_seq: u64,
    /// Increments per TCP connection; callbacks of an older one are ignored.
    connection: u64,
    last_startup: Option<String>,
    timers: Vec<SpawnHandle>,
    stopped: bool,
}

impl AmiConnection {
    /// Starts a supervised connection actor on the current arbiter and returns its link.
    pub fn start(cfg: AmiConfig, events_to: Recipient<AmiEvents>, link_to: Recipient<LinkEvent>) -> AmiLink {
        let pbx = cfg.pbx;
        let default_timeout = cfg.action_timeout;
        let (status_tx, status_rx) = watch::channel(LinkStatus::new(pbx));
        let metrics = Arc::new(LinkMetrics::default());
        let m = metrics.clone();
        let span = tracing::info_span!("ami", pbx.id = %pbx, ami.host = %cfg.host, ami.port = cfg.port);
        let cfg = Arc::new(cfg);
        let addr = Supervisor::start(move |_| AmiConnection {
            cfg,
            events_to,
            link_to,
            status: status_tx,
            metrics: m,
            span,
            phase: Phase::Idle,
            socket: None,
            pending: HashMap::new(),
            deadlines: BinaryHeap::new(),
            next_id: 1,
            event_seq: 0,
            connection: 0,
            last_startup: None,
            timers: Vec::new(),
            stopped: false,
        });
        AmiLink { addr, pbx, default_timeout, status: status_rx, metrics }
    }

    fn link(&self, ctx: &Context<Self>) -> AmiLink {
        AmiLink {
            addr: ctx.address(),
            pbx: self.cfg.pbx,
            default_timeout: self.cfg.action_timeout,
            status: self.status.subscribe(),
            metrics: self.metrics.clone(),
        }
    }

    fn set_status(&self, f: impl FnOnce(&mut LinkStatus)) {
        self.status.send_modify(|s| f(s));
    }

    fn set_state(&self, state: LinkState) {
        self.set_status(|s| {
            if s.state != state {
                s.state = state;
                s.since_ms = now_ms();
            }
            if state != LinkState::Backoff && state != LinkState::AuthFailed {
                s.retry_at_ms = None;
            }
        });
    }

    // ---- connecting -------------------------------------------------------------------

    fn connect(&mut self, ctx: &mut Context<Self>) {
        if self.stopped {
            return;
        }
        self.connection += 1;
        let connection = self.connection;
        self.phase = Phase::Connecting;
        self.set_status(|s| {
            s.attempts += 1;
            s.connection = connection;
        });
        self.set_state(LinkState::Connecting);
        let host = self.cfg.host.clone();
        let port = self.cfg.port;
        let timeout = self.cfg.connect_timeout;
        let span = self.span.clone();
        let fut = async move { tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port))).await }
            .instrument(span)
            .into_actor(self)
            .map(move |res, act, ctx| {
                if act.connection != connection || act.stopped {
                    return;
                }
                match res {
                    Ok(Ok(stream)) => act.on_socket(stream, ctx),
                    Ok(Err(e)) => act.link_down(format!("connect failed: {e}"), ctx),
                    Err(_) => act.link_down("connect timed out".into(), ctx),
                }
            });
        ctx.spawn(fut);
    }

    fn on_socket(&mut self, stream: TcpStream, ctx: &mut Context<Self>) {
        let _ = stream.set_nodelay(true);
        let (read, write) = tokio::io::split(stream);
        let connection = self.connection;
        let codec = BatchCodec::new(AmiCodec::client(self.cfg.limits));
        let frames = FramedRead::with_capacity(read, codec, READ_CAPACITY)
            .map(|r| match r {
                Ok(frames) => ReadItem::Frames(frames),
                Err(e) => ReadItem::Error(e),
            })
            .chain(futures_util::stream::once(async { ReadItem::Closed }))
            .map(move |item| (connection, item));
        let reader = ctx.add_stream(frames);
        let writer = FramedWrite::new(write, AmiCodec::client(self.cfg.limits), ctx);
        self.socket = Some(Socket { writer, reader });
        self.event_seq = 0;
        self.phase = Phase::AwaitBanner;
        self.set_state(LinkState::LoggingIn);
        let login_timeout = self.cfg.login_timeout;
        let handle = ctx.run_later(login_timeout, move |act, ctx| {
            if act.connection == connection && !matches!(act.phase, Phase::Connected) && act.socket.is_some() {
                act.link_down("login did not complete in time".into(), ctx);
            }
        });
        self.timers.push(handle);
    }

    fn on_banner(&mut self, banner: &str, ctx: &mut Context<Self>) {
        let version = banner.rsplit('/').next().unwrap_or_default().trim().to_string();
        self.set_status(|s| s.ami_version = Some(version));
        self.phase = Phase::LoggingIn;
        match self.cfg.auth {
            AuthMode::Md5 => self.send_internal(action::challenge(), Internal::Challenge, self.cfg.login_timeout, ctx),
            AuthMode::Plain => {
                let login = action::login(&self.cfg.username, self.cfg.secret.expose(), Some(&self.cfg.events));
                self.send_internal(login, Internal::Login, self.cfg.login_timeout, ctx);
            }
        }
    }

    fn on_internal(&mut self, kind: Internal, response: Message, ctx: &mut Context<Self>) {
        let ok = response.response().is_some_and(|r| r.eq_ignore_ascii_case("Success"));
        match kind {
            Internal::Challenge => match response.get("Challenge").filter(|_| ok) {
                Some(challenge) => {
                    let login = action::login_md5(
                        &self.cfg.username,
                        challenge,
                        self.cfg.secret.expose(),
                        Some(&self.cfg.events),
                    );
                    self.send_internal(login, Internal::Login, self.cfg.login_timeout, ctx);
                }
                None => {
                    let reason = response.message_text().unwrap_or("challenge refused").to_string();
                    self.auth_failed(reason, ctx);
                }
            },
            Internal::Login => {
                if !ok {
                    let reason = response.message_text().unwrap_or("Authentication failed").to_string();
                    self.auth_failed(reason, ctx);
                    return;
                }
                self.set_status(|s| s.auth_failures = 0);
                self.phase = Phase::Booting(Boot::default());
                self.set_state(LinkState::Booting);
                self.send_internal(action::core_status(), Internal::CoreStatus, self.cfg.login_timeout, ctx);
                let connection = self.connection;
                let handle = ctx.run_later(self.cfg.boot_wait, move |act, ctx| {
                    if act.connection != connection {
                        return;
                    }
                    if let Phase::Booting(boot) = &mut act.phase {
                        boot.waited_enough = true;
                        act.maybe_connected(ctx);
                    }
                });
                self.timers.push(handle);
            }
            Internal::CoreStatus => {
                let date = response.get("CoreStartupDate").unwrap_or_default();
                let time = response.get("CoreStartupTime").unwrap_or_default();
                let startup = format!("{date} {time}").trim().to_string();
                if let Phase::Booting(boot) = &mut self.phase {
                    boot.startup = Some(startup);
                    self.maybe_connected(ctx);
                }
            }
            Internal::Ping => {}
        }
    }

    fn maybe_connected(&mut self, ctx: &mut Context<Self>) {
        let Phase::Booting(boot) = &self.phase else {
            return;
        };
        let Some(startup) = boot.startup.clone() else {
            return;
        };
        if !(boot.fully_booted || boot.waited_enough) {
            return;
        }
        let kind = match &self.last_startup {
            None => ConnectKind::First,
            Some(prev) if *prev != startup => ConnectKind::Restarted,
            Some(_) => ConnectKind::Reconnected,
        };
        if kind != ConnectKind::First {
            LinkMetrics::add(&self.metrics.reconnects, 1);
        }
        self.last_startup = Some(startup.clone());
        self.phase = Phase::Connected;
        self.set_status(|s| {
            s.startup = Some(startup.clone());
            s.attempts = 0;
            s.last_error = None;
            if kind != ConnectKind::First {
                s.reconnects += 1;
            }
        });
        self.set_state(LinkState::Connected);
        let _enter = self.span.enter();
        match kind {
            ConnectKind::Restarted => {
                warn!(startup = %startup, "Asterisk restarted: its startup time changed")
            }
            ConnectKind::Reconnected => info!("AMI link re-established (Asterisk kept running)"),
            ConnectKind::First => info!(startup = %startup, "AMI link connected"),
        }
        let connection = self.connection;
        let ping = ctx.run_interval(self.cfg.ping_interval, move |act, ctx| {
            if act.connection == connection && matches!(act.phase, Phase::Connected) {
                act.send_internal(action::ping(), Internal::Ping, act.cfg.ping_timeout, ctx);
            }
        });
        self.timers.push(ping);
        let link = self.link(ctx);
        self.link_to.do_send(LinkEvent::Connected { pbx: self.cfg.pbx, kind, startup, link });
    }

    fn auth_failed(&mut self, reason: String, ctx: &mut Context<Self>) {
        {
            let _enter = self.span.enter();
            warn!(reason = %reason, user = %self.cfg.username, "AMI login rejected by PBX {}", self.cfg.host);
        }
        let failures = self.status.borrow().auth_failures + 1;
        // Slow on purpose, and slower with each refusal: a wrong secret must never hammer
        // the PBX (Asterisk itself sleeps 1 s per failed login).
        let delay = backoff_delay(
            self.cfg.auth_retry,
            self.cfg.backoff_max.max(self.cfg.auth_retry) * 4,
            (failures - 1) as u32,
        );
        self.close_socket(ctx, AmiError::LoginRejected(reason.clone()));
        self.set_status(|s| {
            s.auth_failures = failures;
            s.last_error = Some(format!("login rejected: {reason}"));
            s.retry_at_ms = Some(now_ms() + delay.as_millis() as i64);
        });
        self.set_state(LinkState::AuthFailed);
        self.link_to.do_send(LinkEvent::AuthFailed { pbx: self.cfg.pbx, reason });
        self.schedule_connect(delay, ctx);
    }

    /// The link is gone: fail what waits, tell the owner, reconnect after a backoff.
    fn link_down(&mut self, reason: String, ctx: &mut Context<Self>) {
        let was_connected = matches!(self.phase, Phase::Connected);
        self.close_socket(ctx, AmiError::Disconnected);
        if self.stopped {
            return;
        }
        let attempts = self.status.borrow().attempts;
        let delay = backoff_delay(self.cfg.backoff_initial, self.cfg.backoff_max, attempts.saturating_sub(1) as u32);
        {
            let _enter = self.span.enter();
            if was_connected {
                warn!(reason = %reason, retry_in_ms = delay.as_millis() as u64, "AMI link down");
            } else {
                debug!(reason = %reason, retry_in_ms = delay.as_millis() as u64, "AMI connect attempt failed");
            }
        }
        self.set_status(|s| {
            s.last_error = Some(reason.clone());
            s.retry_at_ms = Some(now_ms() + delay.as_millis() as i64);
        });
        self.set_state(LinkState::Backoff);
        if was_connected {
            self.link_to.do_send(LinkEvent::Disconnected { pbx: self.cfg.pbx, reason });
        }
        self.schedule_connect(delay, ctx);
    }

    fn schedule_connect(&mut self, delay: Duration, ctx: &mut Context<Self>) {
        let connection = self.connection;
        let handle = ctx.run_later(delay, move |act, ctx| {
            if act.connection == connection && act.socket.is_none() {
                act.connect(ctx);
            }
        });
        self.timers.push(handle);
    }

    fn close_socket(&mut self, ctx: &mut Context<Self>, error: AmiError) {
        for handle in self.timers.drain(..) {
            ctx.cancel_future(handle);
        }
        if let Some(mut socket) = self.socket.take() {
            ctx.cancel_future(socket.reader);
            socket.writer.close();
        }
        self.phase = Phase::Idle;
        self.fail_all(error);
    }

    fn fail_all(&mut self, error: AmiError) {
        self.deadlines.clear();
        for (_, p) in self.pending.drain() {
            if let Waiter::External(tx) = p.waiter {
                let _ = tx.send(Err(error.clone()));
            }
        }
    }

    // ---- actions ----------------------------------------------------------------------

    fn write(&mut self, action: &Action, timeout: Duration, waiter: Waiter) {
        let id = self.next_id;
        self.next_id += 1;
        let action_id = format!("{ID_PREFIX}{id}");
        let Some(socket) = self.socket.as_mut() else {
            if let Waiter::External(tx) = waiter {
                let _ = tx.send(Err(AmiError::NotConnected));
            }
            return;
        };
        socket.writer.write(action.to_message(&action_id));
        LinkMetrics::add(&self.metrics.actions_sent, 1);
        let deadline = Instant::now() + timeout;
        self.pending.insert(id, Pending { waiter, list: None });
        self.deadlines.push(Reverse((deadline, id)));
    }

    fn send_internal(&mut self, action: Action, kind: Internal, timeout: Duration, _ctx: &mut Context<Self>) {
        self.write(&action, timeout, Waiter::Internal(kind));
    }

    fn sweep_deadlines(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let mut dead_link = None;
        while let Some(Reverse((deadline, id))) = self.deadlines.peek().copied() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            let Some(p) = self.pending.remove(&id) else {
                continue;
            };
            LinkMetrics::add(&self.metrics.action_timeouts, 1);
            match p.waiter {
                Waiter::External(tx) => {
                    let _ = tx.send(Err(AmiError::Timeout));
                }
                Waiter::Internal(Internal::Ping) => dead_link = Some("keepalive Ping not answered".to_string()),
                Waiter::Internal(kind) => dead_link = Some(format!("{kind:?} not answered")),
            }
        }
        if let Some(reason) = dead_link {
            self.link_down(reason, ctx);
        }
    }

    fn our_id(message: &Message) -> Option<u64> {
        message.action_id()?.strip_prefix(ID_PREFIX)?.parse().ok()
    }

    fn complete(
        &mut self,
        id: u64,
        response: Message,
        items: Vec<Message>,
        complete: Option<Message>,
        ctx: &mut Context<Self>,
    ) {
        let Some(p) = self.pending.remove(&id) else {
            return;
        };
        LinkMetrics::add(&self.metrics.responses, 1);
        match p.waiter {
            Waiter::External(tx) => {
                let _ = tx.send(Ok(ActionResponse { response, items, complete, event_seq: self.event_seq }));
            }
            Waiter::Internal(kind) => self.on_internal(kind, response, ctx),
        }
    }

    // ---- reading ----------------------------------------------------------------------

    fn on_frames(&mut self, frames: Vec<Frame>, ctx: &mut Context<Self>) {
        let mut out: Vec<Message> = Vec::new();
        for frame in frames {
            let message = match frame {
                Frame::Banner(banner) => {
                    if matches!(self.phase, Phase::AwaitBanner) {
                        self.on_banner(&banner, ctx);
                    }
                    continue;
                }
                Frame::Message(m) => m,
            };
            match message.kind() {
                MessageKind::Response => {
                    let Some(id) = Self::our_id(&message) else {
                        debug!(response = ?message.response(), "AMI response with an ActionID that is not ours");
                        continue;
                    };
                    let starts_list = message.get("EventList").is_some_and(|v| v.eq_ignore_ascii_case("start"));
                    match self.pending.get_mut(&id) {
                        Some(p) if starts_list => p.list = Some((message, Vec::new())),
                        Some(_) => {
                            // Flush events first: the owner must see them before the answer.
                            self.flush_events(&mut out);
                            self.complete(id, message, Vec::new(), None, ctx);
                        }
                        None => debug!("AMI response for an action no longer pending"),
                    }
                }
                MessageKind::Event => {
                    if let Some(id) = Self::our_id(&message) {
                        if let Some(p) = self.pending.get_mut(&id) {
                            if let Some((_, items)) = p.list.as_mut() {
                                let done = message.get("EventList").is_some_and(|v| v.eq_ignore_ascii_case("Complete"));
                                if !done {
                                    items.push(message);
                                    continue;
                                }
                                let Some((response, items)) = p.list.take() else {
                                    continue;
                                };
                                self.flush_events(&mut out);
                                self.complete(id, response, items, Some(message), ctx);
                                continue;
                            }
                        }
                    }
                    LinkMetrics::add(&self.metrics.events_received, 1);
                    if let Some(EventKind::Shutdown) = message.event_name().map(EventKind::of) {
                        if let TypedEvent::Shutdown(s) = TypedEvent::parse(&message) {
                            let _enter = self.span.enter();
                            warn!(shutdown = s.shutdown, restart = s.restart, "Asterisk is shutting down");
                        }
                    }
                    match &mut self.phase {
                        Phase::Connected => out.push(message),
                        Phase::Booting(boot)
                            if message.event_name().map(EventKind::of) == Some(EventKind::FullyBooted) =>
                        {
                            boot.fully_booted = true;
                            self.maybe_connected(ctx);
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        self.flush_events(&mut out);
    }

    fn flush_events(&mut self, out: &mut Vec<Message>) {
        if out.is_empty() {
            return;
        }
        let events = std::mem::take(out);
        let first_seq = self.event_seq;
        self.event_seq += events.len() as u64;
        self.events_to.do_send(AmiEvents { pbx: self.cfg.pbx, first_seq, connection: self.connection, events });
    }
}

impl Actor for AmiConnection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // One sweep timer for every pending action, however many are in flight.
        let every = (self.cfg.action_timeout / 8).clamp(Duration::from_millis(5), Duration::from_millis(250));
        let every = every.min(self.cfg.ping_timeout / 4).max(Duration::from_millis(5));
        ctx.run_interval(every, |act, ctx| act.sweep_deadlines(ctx));
        if !self.stopped {
            self.connect(ctx);
        }
    }
}

impl Supervised for AmiConnection {
    fn restarting(&mut self, ctx: &mut Context<Self>) {
        self.span.in_scope(|| warn!("AMI connection actor restarting"));
        self.close_socket(ctx, AmiError::Disconnected);
        self.phase = Phase::Idle;
    }
}

impl StreamHandler<(u64, ReadItem)> for AmiConnection {
    fn handle(&mut self, (connection, item): (u64, ReadItem), ctx: &mut Context<Self>) {
        if connection != self.connection || self.socket.is_none() {
            return;
        }
        match item {
            ReadItem::Frames(frames) => self.on_frames(frames, ctx),
            ReadItem::Error(e) => self.link_down(format!("read error: {e}"), ctx),
            ReadItem::Closed => {
                if matches!(self.phase, Phase::LoggingIn) {
                    // Asterisk closes the socket after a failed login; the error response
                    // normally came first and was handled as AuthFailed.
                    self.link_down("PBX closed the connection during login".into(), ctx);
                } else {
                    self.link_down("PBX closed the connection".into(), ctx);
                }
            }
        }
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {
        // The end of a stream is delivered as ReadItem::Closed; do not stop the actor.
    }
}

impl WriteHandler<CodecError> for AmiConnection {
    fn error(&mut self, err: CodecError, ctx: &mut Context<Self>) -> Running {
        self.link_down(format!("write error: {err}"), ctx);
        Running::Continue
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl Handler<Submit> for AmiConnection {
    type Result = ();

    fn handle(&mut self, msg: Submit, _ctx: &mut Context<Self>) {
        if !matches!(self.phase, Phase::Connected) {
            let _ = msg.reply.send(Err(AmiError::NotConnected));
            return;
        }
        self.write(&msg.action, msg.timeout, Waiter::External(msg.reply));
    }
}

impl Handler<StopLink> for AmiConnection {
    type Result = ();

    fn handle(&mut self, _: StopLink, ctx: &mut Context<Self>) {
        self.stopped = true;
        if let Some(socket) = self.socket.as_mut() {
            socket.writer.write(action::logoff().to_message("mayday-logoff"));
        }
        self.close_socket(ctx, AmiError::Disconnected);
        self.set_state(LinkState::Stopped);
        // The actor stays idle rather than stopping: under a Supervisor a stopped actor is
        // restarted while any address is alive. It ends once every AmiLink is dropped.
    }
}

impl Handler<DropConnection> for AmiConnection {
    type Result = ();

    fn handle(&mut self, _: DropConnection, ctx: &mut Context<Self>) {
        if self.socket.is_some() {
            self.link_down("connection dropped on request".into(), ctx);
        }
    }
}
