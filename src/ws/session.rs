//! The WebSocket session actor: one per browser. It authenticates at the upgrade, follows
//! topics through its tenant actor, drains its bounded outbox as the socket allows, runs
//! the live commands (pause, unpause) with the REST API's role checks, heartbeats, times
//! out idle clients and closes when its login session ends.
//!
//! The token comes as the subprotocol pair `bearer, <token>` (what a browser can send), as
//! `Authorization: Bearer <token>`, or as `?access_token=` (never logged: request lines
//! are logged without their query).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use mayday_actors::live::tenant::actor::{Subscribe, Unsubscribe};
use mayday_actors::live::tenant::topics::{SubscribeError, Subscriber};
use mayday_actors::live::tenant::TenantActor;
use mayday_actors::live::AgentId;
use mayday_actors::push::{CloseReason, Outbox, PushMetrics, Resume};
use serde::Deserialize;

use super::protocol::{self, ClientOp, ServerFrame};
use super::registry::CloseSocket;
use crate::domain::{Caller, Role, UserId};
use crate::http::error::ApiError;
use crate::http::extract::{authenticate, bearer_token};
use crate::services;
use crate::state::AppState;

/// Frames written per wake-up before yielding (a big backlog does not hog the thread).
const DRAIN_BATCH: usize = 64;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The outbox has frames (sent by the outbox's wake callback).
#[derive(Message)]
#[rtype(result = "()")]
struct Wake;

pub struct WsSession {
    id: u64,
    state: web::Data<AppState>,
    caller: Caller,
    tenant: Option<Addr<TenantActor>>,
    outbox: Option<Arc<Outbox>>,
    topics: HashSet<String>,
    last_heard: Instant,
    metrics: Arc<PushMetrics>,
    span: tracing::Span,
    closing: bool,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    access_token: Option<String>,
}

/// `GET /ws`.
pub async fn connect(
    state: web::Data<AppState>,
    req: HttpRequest,
    stream: web::Payload,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, ApiError> {
    let offered: Vec<String> = req
        .headers()
        .get_all(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_string()))
        .collect();
    let from_protocol =
        offered.iter().position(|p| p.eq_ignore_ascii_case("bearer")).and_then(|i| offered.get(i + 1).cloned());
    let token = from_protocol.or_else(|| bearer_token(&req)).or_else(|| q.into_inner().access_token);
    let caller = authenticate(&state, token, Role::Agent).await?;
    let cfg = state.config.ws;
    let session = WsSession {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        tenant: state.live.registry.tenant(caller.tenant).map(|t| t.addr),
        metrics: state.push_metrics.clone(),
        span: tracing::info_span!("ws.session", tenant.id = caller.tenant.0, user.id = caller.user.0),
        state: state.clone(),
        caller,
        outbox: None,
        topics: HashSet::new(),
        last_heard: Instant::now(),
        closing: false,
    };
    ws::WsResponseBuilder::new(session, &req, stream)
        .protocols(&["bearer"])
        .frame_size(cfg.max_frame_bytes)
        .start()
        .map_err(|_| ApiError::bad_request("not a WebSocket upgrade request"))
}

impl WsSession {
    fn send(&self, frame: ServerFrame<'_>, ctx: &mut ws::WebsocketContext<Self>) {
        ctx.text(frame.to_text());
    }

    fn error(&self, id: Option<&str>, code: &str, message: &str, ctx: &mut ws::WebsocketContext<Self>) {
        self.send(ServerFrame::Error { id, code, message }, ctx);
    }

    fn close(&mut self, reason: CloseReason, ctx: &mut ws::WebsocketContext<Self>) {
        if self.closing {
            return;
        }
        self.closing = true;
        self.metrics.count_close(reason);
        tracing::debug!(parent: &self.span, reason = reason.text(), "closing the WebSocket");
        ctx.close(Some(ws::CloseReason {
            code: ws::CloseCode::Other(reason.code()),
            description: Some(reason.text().to_string()),
        }));
        ctx.stop();
    }

    fn drain(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let Some(outbox) = self.outbox.as_ref() else { return };
        let drained = outbox.drain_with(DRAIN_BATCH, |f| ctx.text(f.text));
        if let Some(reason) = drained.closed {
            self.close(reason, ctx);
            return;
        }
        PushMetrics::add(&self.metrics.delivered, drained.written as u64);
        if drained.more {
            ctx.notify(Wake);
        }
    }

    fn who(&self) -> Subscriber {
        Subscriber { sees_all: self.caller.role.at_least(Role::Manager), agent: AgentId(self.caller.user.0) }
    }

    fn handle_op(&mut self, op: ClientOp, ctx: &mut ws::WebsocketContext<Self>) {
        let id = op.id().map(str::to_string);
        match op {
            ClientOp::Ping { .. } => self.send(ServerFrame::Pong { id: id.as_deref() }, ctx),
            ClientOp::Subscribe { topic, since, .. } => {
                let (Some(tenant), Some(outbox)) = (self.tenant.clone(), self.outbox.clone()) else {
                    self.error(id.as_deref(), "unavailable", "live state is not running for your tenant", ctx);
                    return;
                };
                if topic.len() > 200 {
                    self.error(id.as_deref(), "invalid", "topic name too long", ctx);
                    return;
                }
                let msg =
                    Subscribe { topic: topic.clone(), since: since.map(|s| (s.epoch, s.seq)), outbox, who: self.who() };
                ctx.spawn(tenant.send(msg).into_actor(self).map(move |res, act, ctx| match res {
                    Ok(Ok(resume)) => {
                        act.topics.insert(topic.clone());
                        let (resumed, replayed) = match resume {
                            Resume::Snapshot => (false, 0),
                            Resume::Replayed(n) => (true, n),
                        };
                        act.send(ServerFrame::Subscribed { topic: &topic, resumed, replayed, id: id.as_deref() }, ctx);
                    }
                    Ok(Err(SubscribeError::Forbidden(m))) => act.error(id.as_deref(), "forbidden", &m, ctx),
                    Ok(Err(SubscribeError::NoSuchTopic(m))) => {
                        act.error(id.as_deref(), "not_found", &format!("no such topic: {m}"), ctx)
                    }
                    Err(_) => act.error(id.as_deref(), "unavailable", "live state is unavailable", ctx),
                }));
            }
            ClientOp::Unsubscribe { topic, .. } => {
                if let (Some(tenant), Some(outbox)) = (&self.tenant, &self.outbox) {
                    tenant.do_send(Unsubscribe { topic: Some(topic.clone()), outbox: outbox.clone() });
                }
                self.topics.remove(&topic);
                self.send(ServerFrame::Unsubscribed { topic: &topic, id: id.as_deref() }, ctx);
            }
            ClientOp::Pause { agent, reason, .. } => self.pause(agent, Some(reason.unwrap_or_default()), id, ctx),
            ClientOp::Unpause { agent, .. } => self.pause(agent, None, id, ctx),
        }
    }

    /// The REST pause, with the same rules (services::live).
    fn pause(
        &mut self,
        agent: Option<u64>,
        reason: Option<String>,
        id: Option<String>,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        let state = self.state.clone();
        let caller = self.caller.clone();
        let target = UserId(agent.unwrap_or(caller.user.0));
        let fut = async move { services::live::set_pause(&state, &caller, target, reason).await };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| match res {
            Ok(view) => {
                let result = serde_json::to_value(&view).unwrap_or_default();
                act.send(ServerFrame::Ack { id: id.as_deref(), result }, ctx);
            }
            Err(e) => {
                let api = ApiError::from(e);
                act.error(id.as_deref(), api.code, &api.message, ctx);
            }
        }));
    }

    fn heartbeat(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let cfg = self.state.config.ws;
        if self.last_heard.elapsed() > cfg.idle_timeout {
            self.close(CloseReason::IdleTimeout, ctx);
            return;
        }
        ctx.ping(b"");
        // The login session may have ended elsewhere (another node, expiry).
        let state = self.state.clone();
        let sid = self.caller.session.clone();
        ctx.spawn(async move { state.sessions.get(&sid).await }.into_actor(self).map(|res, act, ctx| {
            if let Ok(None) = res {
                act.close(CloseReason::SessionEnded, ctx);
            }
        }));
    }
}

impl Actor for WsSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(64);
        let addr = ctx.address();
        let cfg = self.state.config.ws;
        let limits = mayday_actors::push::OutboxLimits {
            max_frames: cfg.outbox_frames,
            max_bytes: cfg.outbox_bytes,
            stuck_after: cfg.stuck_after,
        };
        self.outbox = Some(Outbox::new(limits, self.metrics.clone(), move || addr.do_send(Wake)));
        self.state.ws.add(&self.caller.session, self.id, ctx.address().recipient());
        PushMetrics::add(&self.metrics.sessions, 1);
        let role = self.caller.role.as_str();
        let hello = ServerFrame::Hello {
            user: self.caller.user.0,
            tenant: self.caller.tenant.0,
            role,
            heartbeat_ms: u64::try_from(cfg.heartbeat.as_millis()).unwrap_or(u64::MAX),
            idle_timeout_ms: u64::try_from(cfg.idle_timeout.as_millis()).unwrap_or(u64::MAX),
            licence: self.state.licenses.effective(&self.state).source,
        };
        self.send(hello, ctx);
        ctx.run_interval(cfg.heartbeat, |act, ctx| act.heartbeat(ctx));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.metrics.sessions.fetch_sub(1, Ordering::Relaxed);
        self.state.ws.remove(&self.caller.session, self.id);
        if let (Some(tenant), Some(outbox)) = (&self.tenant, &self.outbox) {
            outbox.close(CloseReason::Normal);
            tenant.do_send(Unsubscribe { topic: None, outbox: outbox.clone() });
        }
    }
}

impl Handler<Wake> for WsSession {
    type Result = ();

    fn handle(&mut self, _: Wake, ctx: &mut Self::Context) {
        self.drain(ctx);
    }
}

impl Handler<CloseSocket> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: CloseSocket, ctx: &mut Self::Context) {
        self.close(msg.0, ctx);
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        match msg {
            Ok(ws::Message::Text(text)) => match protocol::parse(&text) {
                Ok(op) => self.handle_op(op, ctx),
                Err(m) => self.error(None, "bad_request", &m, ctx),
            },
            Ok(ws::Message::Binary(_)) => {
                self.error(None, "bad_request", "binary frames are not supported; send JSON text", ctx)
            }
            Ok(ws::Message::Ping(b)) => ctx.pong(&b),
            Ok(ws::Message::Pong(_)) | Ok(ws::Message::Nop) => {}
            Ok(ws::Message::Continuation(_)) => {
                self.error(None, "bad_request", "fragmented frames are not supported", ctx)
            }
            Ok(ws::Message::Close(_)) => {
                self.metrics.count_close(CloseReason::Normal);
                self.closing = true;
                ctx.close(None);
                ctx.stop();
            }
            Err(e) => {
                tracing::debug!(parent: &self.span, error = %e, "WebSocket protocol error");
                self.close(CloseReason::Protocol, ctx);
            }
        }
    }
}
