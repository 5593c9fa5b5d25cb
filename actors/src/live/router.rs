//! The PBX router: one per PBX. It owns the PBX's `AmiConnection`, sends each event to the
//! tenant it belongs to (`routing`), and after every (re)connect runs the resync: it asks
//! Asterisk for the truth (`QueueStatus`, `CoreShowChannels`, `DeviceStateList`), splits
//! the answers by tenant, and replays the events that arrived meanwhile (design.md, AMI).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::metrics::PbxMetrics;
use super::routing::{Route, Routing};
use super::tenant::actor::{QueuesReloaded, TenantEvents, TenantLinkDown, TenantResync};
use super::tenant::{Snapshot, TenantActor};
use crate::ami::{action, ActionResponse, AmiError, AmiEvents, AmiLink, ConnectKind, LinkEvent, Message, PbxId};

/// A tenant this PBX serves.
#[derive(Clone)]
pub struct TenantRoute {
    pub route: Route,
    pub addr: Addr<TenantActor>,
}

/// Replaces the tenants of this PBX.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetTenants(pub Vec<TenantRoute>);

/// Stops the router and its link.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopRouter;

/// Events held while a resync runs, with their link sequence numbers.
struct Held {
    first_seq: u64,
    events: Vec<Message>,
    received: Instant,
}

pub struct PbxRouter {
    pbx: PbxId,
    tenants: Vec<Addr<TenantActor>>,
    routing: Routing,
    link: AmiLink,
    metrics: Arc<PbxMetrics>,
    /// Some while a resync runs: the events that arrived meanwhile.
    holding: Option<Vec<Held>>,
    /// Which connection of the link the resync belongs to.
    resync_connection: u64,
    retry_delay: Duration,
    /// Why the running resync was started while the link stayed up (late boot, tenants
    /// changed); None after a (re)connect.
    resync_reason: Option<&'static str>,
    /// What to do once the running resync is done.
    after_resync: Option<After>,
    span: tracing::Span,
}

impl PbxRouter {
    pub fn new(pbx: PbxId, link: AmiLink, tenants: Vec<TenantRoute>, metrics: Arc<PbxMetrics>) -> Self {
        let routing = Routing::new(tenants.iter().map(|t| t.route.clone()).collect());
        PbxRouter {
            pbx,
            tenants: tenants.into_iter().map(|t| t.addr).collect(),
            routing,
            link,
            metrics,
            holding: None,
            resync_connection: 0,
            retry_delay: Duration::from_secs(1),
            resync_reason: None,
            after_resync: None,
            span: tracing::info_span!("pbx.router", pbx.id = %pbx),
        }
    }

    /// The link this router owns.
    pub fn link(&self) -> &AmiLink {
        &self.link
    }

    fn forward(&mut self, events: Vec<Message>, received: Instant) {
        if self.tenants.is_empty() {
            PbxMetrics::add(&self.metrics.events_unrouted, events.len() as u64);
            return;
        }
        let mut routed = Vec::with_capacity(events.len());
        let total = events.len() as u64;
        for m in events {
            self.routing.route(m, &mut routed);
        }
        PbxMetrics::add(&self.metrics.events_routed, routed.len() as u64);
        PbxMetrics::add(&self.metrics.events_unrouted, total.saturating_sub(routed.len() as u64));
        if self.tenants.len() == 1 {
            let events: Vec<Message> = routed.into_iter().map(|(_, m)| m).collect();
            if let Some(t) = self.tenants.first() {
                if !events.is_empty() {
                    t.do_send(TenantEvents { events, received });
                }
            }
            return;
        }
        let mut per: Vec<Vec<Message>> = vec![Vec::new(); self.tenants.len()];
        for (i, m) in routed {
            if let Some(list) = per.get_mut(i) {
                list.push(m);
            }
        }
        for (i, events) in per.into_iter().enumerate() {
            if let (false, Some(t)) = (events.is_empty(), self.tenants.get(i)) {
                t.do_send(TenantEvents { events, received });
            }
        }
    }

    /// Starts a resync, or when one runs already, asks for another once it is done (two
    /// at once would let the older snapshot overwrite what the newer events said).
    fn start_resync(&mut self, kind: ConnectKind, link: AmiLink, ctx: &mut Context<Self>) {
        if self.holding.is_some() {
            self.after_resync = Some(After::Resync);
            return;
        }
        self.holding = Some(Vec::new());
        self.run_resync(kind, link, ctx);
    }

    fn run_resync(&mut self, kind: ConnectKind, link: AmiLink, ctx: &mut Context<Self>) {
        let connection = link.status().connection;
        self.resync_connection = connection;
        let l = link.clone();
        let span = self.span.clone();
        let fut = async move {
            // An action Asterisk refuses (module not loaded, AMI user without the class)
            // is refused the next time too: resync without that part rather than never.
            let refused_is_unknown = |answer: Result<ActionResponse, AmiError>, what: &str| match answer {
                Ok(a) => Ok(Some(a)),
                Err(AmiError::ActionFailed { message }) => {
                    tracing::warn!(parent: &span, action = what, error = %message, "Asterisk refused a resync action; that part of live state stays as it was");
                    Ok(None)
                }
                Err(e) => Err(e),
            };
            // QueueStatus first: its answer marks the earliest point replayed (see below).
            let queues = refused_is_unknown(l.send(action::queue_status(None, None)).await, "QueueStatus")?;
            let channels = refused_is_unknown(l.send(action::core_show_channels()).await, "CoreShowChannels")?;
            let devices = refused_is_unknown(l.send(action::device_state_list()).await, "DeviceStateList")?;
            Ok::<_, AmiError>((queues, channels, devices))
        };
        ctx.spawn(fut.into_actor(self).map(move |result, act, ctx| {
            if act.resync_connection != connection {
                return;
            }
            match result {
                Ok((queues, channels, devices)) => {
                    let replay_from = [&queues, &channels, &devices]
                        .iter()
                        .find_map(|a| a.as_ref().map(|a| a.event_seq))
                        .unwrap_or(0);
                    let items = |a: Option<ActionResponse>| a.map(|a| a.items);
                    let answers =
                        Snapshot { queue_status: items(queues), channels: items(channels), devices: items(devices) };
                    act.finish_resync(kind, link, answers, replay_from, ctx);
                }
                Err(AmiError::Disconnected) | Err(AmiError::NotConnected) => {
                    // The link dropped; the next Connected starts over.
                    act.holding = None;
                    act.after_resync = None;
                }
                Err(e) => {
                    PbxMetrics::add(&act.metrics.resync_failures, 1);
                    tracing::warn!(parent: &act.span, error = %e, "resync failed; retrying");
                    let delay = act.retry_delay;
                    ctx.run_later(delay, move |act, ctx| {
                        // Still holding for this connection: a newer one started over.
                        if act.resync_connection == connection && act.holding.is_some() {
                            act.run_resync(kind, link, ctx);
                        }
                    });
                }
            }
        }));
    }

    /// Reads the queues again (members and parameters) after app_queue reloaded: calls,
    /// waiting callers and the events meanwhile stay as they are.
    fn refresh_queues(&mut self, ctx: &mut Context<Self>) {
        let link = self.link.clone();
        let fut = async move { link.send(action::queue_status(None, None)).await };
        ctx.spawn(fut.into_actor(self).map(|result, act, _| match result {
            Ok(answer) => {
                let mut per: Vec<Vec<Message>> = vec![Vec::new(); act.tenants.len()];
                for m in answer.items {
                    if let Some(list) = act.routing.claim_item(&m).and_then(|i| per.get_mut(i)) {
                        list.push(m);
                    }
                }
                for (t, items) in act.tenants.iter().zip(per) {
                    t.do_send(QueuesReloaded(items));
                }
            }
            Err(e) => tracing::warn!(parent: &act.span, error = %e, "could not read the queues after a reload"),
        }));
    }

    /// What a batch of events asks for beyond routing them.
    fn react(&mut self, after: After, ctx: &mut Context<Self>) {
        if self.holding.is_some() {
            // After the running resync; a full one covers a queue refresh.
            self.after_resync = Some(match (self.after_resync.take(), after) {
                (Some(After::Resync), _) | (_, After::Resync) => After::Resync,
                _ => After::RefreshQueues,
            });
            return;
        }
        match after {
            After::Resync => {
                self.resync_reason.get_or_insert("Asterisk finished booting after the link came up");
                let link = self.link.clone();
                self.start_resync(ConnectKind::Reconnected, link, ctx);
            }
            After::RefreshQueues => self.refresh_queues(ctx),
        }
    }

    fn finish_resync(
        &mut self,
        kind: ConnectKind,
        link: AmiLink,
        answers: Snapshot,
        replay_from: u64,
        ctx: &mut Context<Self>,
    ) {
        // The whole PBX's answers, split into one snapshot per tenant below.
        let Snapshot { queue_status: queue_items, channels, devices } = answers;
        let n = self.tenants.len().max(1);
        let part = |answered: bool| answered.then(Vec::new);
        let mut snaps: Vec<Snapshot> = (0..n)
            .map(|_| Snapshot {
                queue_status: part(queue_items.is_some()),
                channels: part(channels.is_some()),
                devices: part(devices.is_some()),
            })
            .collect();
        self.routing.reset();
        for m in queue_items.into_iter().flatten() {
            if let Some(i) = self.routing.claim_item(&m) {
                // A caller waiting in a tenant's queue claims its channel for that tenant.
                if let Some(uid) = m.get("Uniqueid") {
                    self.routing.claim_channel(uid, None, i);
                }
                if let Some(list) = snaps.get_mut(i).and_then(|s| s.queue_status.as_mut()) {
                    list.push(m);
                }
            }
        }
        // Channels of one call go together: claim by any channel of the call.
        let mut unclaimed = Vec::new();
        for m in channels.into_iter().flatten() {
            match self.routing.claim_item(&m) {
                Some(i) => {
                    if let (Some(u), l) = (m.get("Uniqueid"), m.get("Linkedid")) {
                        self.routing.claim_channel(u, l, i);
                    }
                    if let Some(list) = snaps.get_mut(i).and_then(|s| s.channels.as_mut()) {
                        list.push(m);
                    }
                }
                None => unclaimed.push(m),
            }
        }
        for m in unclaimed {
            if let Some(i) = self.routing.claim_item(&m) {
                if let Some(list) = snaps.get_mut(i).and_then(|s| s.channels.as_mut()) {
                    list.push(m);
                }
            }
        }
        for m in devices.into_iter().flatten() {
            if let Some(i) = self.routing.claim_item(&m) {
                if let Some(list) = snaps.get_mut(i).and_then(|s| s.devices.as_mut()) {
                    list.push(m);
                }
            }
        }
        match (self.resync_reason.take(), kind) {
            (Some(why), _) => tracing::info!(parent: &self.span, why, "state rebuilt from the PBX"),
            (None, ConnectKind::Restarted) => {
                PbxMetrics::add(&self.metrics.resyncs_restarted, 1);
                tracing::warn!(parent: &self.span, "Asterisk restarted (its startup time changed): state rebuilt, Mayday's pauses re-applied");
            }
            (None, ConnectKind::Reconnected) => {
                PbxMetrics::add(&self.metrics.resyncs_reconnected, 1);
                tracing::info!(parent: &self.span, "link came back (same Asterisk): state rebuilt from the PBX");
            }
            (None, ConnectKind::First) => tracing::info!(parent: &self.span, "link up: state loaded from the PBX"),
        }
        for (t, snapshot) in self.tenants.iter().zip(snaps) {
            t.do_send(TenantResync { kind, snapshot, link: link.clone() });
        }
        // Events from the first answer on happened after (or while) Asterisk answered:
        // replaying them over the snapshots gives the present. Earlier ones are in the
        // snapshots already.
        let held = self.holding.take().unwrap_or_default();
        for h in held {
            let events: Vec<Message> = h
                .events
                .into_iter()
                .enumerate()
                .filter(|(i, _)| h.first_seq + *i as u64 >= replay_from)
                .map(|(_, m)| m)
                .collect();
            if !events.is_empty() {
                self.forward(events, h.received);
            }
        }
        if let Some(after) = self.after_resync.take() {
            self.react(after, ctx);
        }
    }
}

impl Actor for PbxRouter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(usize::MAX >> 4);
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.link.stop();
        Running::Stop
    }
}

impl Handler<AmiEvents> for PbxRouter {
    type Result = ();

    fn handle(&mut self, batch: AmiEvents, ctx: &mut Context<Self>) {
        let received = Instant::now();
        // A reload or late boot seen while a resync runs is acted on once it is done.
        let stale = batch.events.iter().find_map(state_went_stale);
        if let Some(held) = self.holding.as_mut() {
            held.push(Held { first_seq: batch.first_seq, events: batch.events, received });
        } else {
            self.forward(batch.events, received);
        }
        if let Some(after) = stale {
            self.react(after, ctx);
        }
    }
}

/// Events after which what Asterisk tells in deltas no longer adds up: app_queue reloaded
/// (members of static queues come and go without QueueMemberAdded/Removed, parameters
/// change silently), or Asterisk finished booting after the resync ran on a half-loaded
/// PBX (asterisk.md gotchas 18 and 19).
fn state_went_stale(m: &Message) -> Option<After> {
    match m.event_name()? {
        "FullyBooted" => Some(After::Resync),
        "Reload" if m.get("Status") == Some("0") => {
            let module = m.get("Module").unwrap_or("All");
            let module = module.strip_suffix(".so").unwrap_or(module);
            (module.eq_ignore_ascii_case("All") || module.eq_ignore_ascii_case("app_queue"))
                .then_some(After::RefreshQueues)
        }
        _ => None,
    }
}

/// Work queued behind the running resync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// Everything again (a late FullyBooted, the tenants changed).
    Resync,
    /// Queue members and parameters again (app_queue reloaded).
    RefreshQueues,
}

impl Handler<LinkEvent> for PbxRouter {
    type Result = ();

    fn handle(&mut self, ev: LinkEvent, ctx: &mut Context<Self>) {
        match ev {
            LinkEvent::Connected { kind, startup, link, .. } => {
                // Whatever ran for the previous connection is void.
                self.resync_reason = None;
                self.holding = None;
                self.after_resync = None;
                tracing::info!(parent: &self.span, kind = ?kind, startup = %startup, "PBX link connected; resyncing");
                self.start_resync(kind, link, ctx);
            }
            LinkEvent::Disconnected { reason, .. } => {
                tracing::warn!(parent: &self.span, reason = %reason, "PBX link down");
                self.holding = None;
                self.after_resync = None;
                self.resync_connection = 0;
                for t in &self.tenants {
                    t.do_send(TenantLinkDown);
                }
            }
            LinkEvent::AuthFailed { reason, .. } => {
                tracing::error!(parent: &self.span, reason = %reason, "the PBX refused Mayday's AMI login; check the PBX's AMI user and secret");
            }
        }
    }
}

impl Handler<SetTenants> for PbxRouter {
    type Result = ();

    fn handle(&mut self, msg: SetTenants, ctx: &mut Context<Self>) {
        let routes: Vec<Route> = msg.0.iter().map(|t| t.route.clone()).collect();
        let changed = routes != self.routing.routes() || msg.0.iter().map(|t| &t.addr).ne(self.tenants.iter());
        if !changed {
            return;
        }
        self.routing = Routing::new(routes);
        self.tenants = msg.0.into_iter().map(|t| t.addr).collect();
        // New tenants start empty: a resync gives every tenant of the PBX the truth again.
        if self.link.status().state == crate::ami::LinkState::Connected {
            tracing::info!(parent: &self.span, pbx.id = %self.pbx, "tenants of the PBX changed; resyncing");
            self.resync_reason = Some("the tenants of the PBX changed");
            let link = self.link.clone();
            self.start_resync(ConnectKind::Reconnected, link, ctx);
        }
    }
}

impl Handler<StopRouter> for PbxRouter {
    type Result = ();

    fn handle(&mut self, _: StopRouter, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
