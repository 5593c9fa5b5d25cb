//! The PBX router: one per PBX. It owns the PBX's `AmiConnection`, sends each event to the
//! tenant it belongs to (`routing`), and after every (re)connect runs the resync: it asks
//! Asterisk for the truth (`QueueStatus`, `CoreShowChannels`, `DeviceStateList`), splits
//! the answers by tenant, and replays the events that arrived meanwhile (design.md, AMI).
//! A late `FullyBooted` resyncs again; an app_queue `Reload` re-reads only the queues. One
//! resync or refresh runs at a time, the next waits for it.

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
    /// Some while a resync or a queue refresh runs: the events that arrived meanwhile.
    holding: Option<Vec<Held>>,
    /// Bumped by every resync or refresh started and by every connect and disconnect: an
    /// answer for an older one is void.
    generation: u64,
    /// How the current connection came up (a late FullyBooted resyncs the same way).
    connection_kind: ConnectKind,
    retry_delay: Duration,
    /// How often the queues are read again while the link is up (zero: never).
    queue_refresh: Duration,
    /// What to do once the running resync or refresh is done.
    pending: Option<After>,
    span: tracing::Span,
}

impl PbxRouter {
    pub fn new(
        pbx: PbxId,
        link: AmiLink,
        tenants: Vec<TenantRoute>,
        metrics: Arc<PbxMetrics>,
        queue_refresh: Duration,
    ) -> Self {
        let routing = Routing::new(tenants.iter().map(|t| t.route.clone()).collect());
        PbxRouter {
            pbx,
            tenants: tenants.into_iter().map(|t| t.addr).collect(),
            routing,
            link,
            metrics,
            holding: None,
            generation: 0,
            connection_kind: ConnectKind::First,
            retry_delay: Duration::from_secs(1),
            queue_refresh,
            pending: None,
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

    /// Runs a resync or a queue refresh now, or when one runs already, once it is done
    /// (two at once would let the older answer overwrite what newer events said).
    fn request(&mut self, after: After, ctx: &mut Context<Self>) {
        if self.holding.is_some() {
            self.pending = Some(After::merge(self.pending.take(), after));
            return;
        }
        self.holding = Some(Vec::new());
        match after {
            After::Resync { kind, why } => self.run_resync(kind, why, ctx),
            After::RefreshQueues => self.run_refresh(ctx),
        }
    }

    fn run_resync(&mut self, kind: ConnectKind, why: Option<&'static str>, ctx: &mut Context<Self>) {
        self.generation += 1;
        let generation = self.generation;
        let link = self.link.clone();
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
            if act.generation != generation {
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
                    act.finish_resync(kind, why, link, answers, replay_from, ctx);
                }
                Err(AmiError::Disconnected) | Err(AmiError::NotConnected) => {
                    // The link dropped; the next Connected starts over.
                    act.holding = None;
                    act.pending = None;
                }
                Err(e) => {
                    PbxMetrics::add(&act.metrics.resync_failures, 1);
                    tracing::warn!(parent: &act.span, error = %e, "resync failed; retrying");
                    let delay = act.retry_delay;
                    ctx.run_later(delay, move |act, ctx| {
                        if act.generation == generation && act.holding.is_some() {
                            act.run_resync(kind, why, ctx);
                        }
                    });
                }
            }
        }));
    }

    /// Reads the queues again (members and parameters) after app_queue reloaded; calls,
    /// waiting callers and counters stay. Events are held meanwhile so the answer lands
    /// exactly between the events before it and those after it.
    fn run_refresh(&mut self, ctx: &mut Context<Self>) {
        self.generation += 1;
        let generation = self.generation;
        let link = self.link.clone();
        let fut = async move { link.send(action::queue_status(None, None)).await };
        ctx.spawn(fut.into_actor(self).map(move |result, act, ctx| {
            if act.generation != generation {
                return;
            }
            let held = act.holding.take().unwrap_or_default();
            match result {
                Ok(answer) => {
                    let at = answer.event_seq;
                    let mut per: Vec<Vec<Message>> = vec![Vec::new(); act.tenants.len()];
                    for m in answer.items {
                        if let Some(list) = act.routing.claim_item(&m).and_then(|i| per.get_mut(i)) {
                            list.push(m);
                        }
                    }
                    let (before, after): (Vec<Held>, Vec<Held>) = split_held(held, at);
                    act.release(before);
                    for (t, items) in act.tenants.iter().zip(per) {
                        t.do_send(QueuesReloaded(items));
                    }
                    act.release(after);
                }
                Err(e) => {
                    tracing::warn!(parent: &act.span, error = %e, "could not read the queues after a reload");
                    act.release(held);
                }
            }
            if let Some(next) = act.pending.take() {
                act.request(next, ctx);
            }
        }));
    }

    /// Forwards held events, in order.
    fn release(&mut self, held: Vec<Held>) {
        for h in held {
            if !h.events.is_empty() {
                self.forward(h.events, h.received);
            }
        }
    }

    fn finish_resync(
        &mut self,
        kind: ConnectKind,
        why: Option<&'static str>,
        link: AmiLink,
        answers: Snapshot,
        replay_from: u64,
        ctx: &mut Context<Self>,
    ) {
        // The whole PBX's answers, split into one snapshot per tenant below.
        let Snapshot { queue_status: queue_items, channels, devices } = answers;
        let (channels_known, devices_known) = (channels.is_some(), devices.is_some());
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
        match (why, kind) {
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
        // snapshots already, except for a part Asterisk refused: its state was kept as it
        // was when holding began, so its events all replay.
        let (before, after) = split_held(self.holding.take().unwrap_or_default(), replay_from);
        let refused = |m: &Message| match EventPart::of(m) {
            EventPart::Queues => false,
            EventPart::Channels => !channels_known,
            EventPart::Devices => !devices_known,
        };
        let before = before
            .into_iter()
            .map(|h| Held { events: h.events.into_iter().filter(|m| refused(m)).collect(), ..h })
            .collect();
        self.release(before);
        self.release(after);
        if let Some(next) = self.pending.take() {
            self.request(next, ctx);
        }
    }
}

/// Splits held events at a link sequence number: those before it, those from it on.
fn split_held(held: Vec<Held>, at: u64) -> (Vec<Held>, Vec<Held>) {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for h in held {
        let (first_seq, received) = (h.first_seq, h.received);
        let n = usize::try_from(at.saturating_sub(first_seq)).unwrap_or(usize::MAX).min(h.events.len());
        let mut events = h.events;
        let later = events.split_off(n);
        if !events.is_empty() {
            before.push(Held { first_seq, events, received });
        }
        if !later.is_empty() {
            after.push(Held { first_seq: first_seq + n as u64, events: later, received });
        }
    }
    (before, after)
}

/// Which resync answer covers an event's effects.
enum EventPart {
    /// QueueStatus: queue callers, members, agents.
    Queues,
    /// DeviceStateList.
    Devices,
    /// CoreShowChannels: channels, dials, bridges, transfers.
    Channels,
}

impl EventPart {
    fn of(m: &Message) -> EventPart {
        match m.event_name().unwrap_or_default() {
            n if n.starts_with("Queue") || n.starts_with("Agent") => EventPart::Queues,
            "DeviceStateChange" => EventPart::Devices,
            _ => EventPart::Channels,
        }
    }
}

impl Actor for PbxRouter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(usize::MAX >> 4);
        if !self.queue_refresh.is_zero() {
            ctx.run_interval(self.queue_refresh, |act, ctx| {
                // Not while a resync or refresh runs (that reads the queues anyway).
                if act.holding.is_none() && act.link.status().state == crate::ami::LinkState::Connected {
                    act.request(After::RefreshQueues, ctx);
                }
            });
        }
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
        let kind = if self.connection_kind == ConnectKind::Restarted {
            // A slow restart: Mayday's pauses go to the app_queue that has now loaded.
            ConnectKind::Restarted
        } else {
            ConnectKind::Reconnected
        };
        let stale =
            batch.events.iter().filter_map(|m| state_went_stale(m, kind)).reduce(|a, b| After::merge(Some(a), b));
        if let Some(held) = self.holding.as_mut() {
            held.push(Held { first_seq: batch.first_seq, events: batch.events, received });
        } else {
            self.forward(batch.events, received);
        }
        if let Some(after) = stale {
            self.request(after, ctx);
        }
    }
}

/// Events after which what Asterisk tells in deltas no longer adds up: app_queue reloaded
/// (members of static queues come and go without QueueMemberAdded/Removed, parameters
/// change silently), or Asterisk finished booting after the resync ran on a half-loaded
/// PBX (asterisk.md gotchas 18 and 19).
fn state_went_stale(m: &Message, kind: ConnectKind) -> Option<After> {
    match m.event_name()? {
        "FullyBooted" => Some(After::Resync { kind, why: Some("Asterisk finished booting after the link came up") }),
        "Reload" if m.get("Status") == Some("0") => {
            let module = m.get("Module").unwrap_or("All");
            let module = module.strip_suffix(".so").unwrap_or(module);
            (module.eq_ignore_ascii_case("All") || module.eq_ignore_ascii_case("app_queue"))
                .then_some(After::RefreshQueues)
        }
        _ => None,
    }
}

/// A resync or a refresh to run (or queued behind the running one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// Everything again: a (re)connect, a late FullyBooted, the tenants changed. `why` is
    /// logged for those while the link stayed up.
    Resync { kind: ConnectKind, why: Option<&'static str> },
    /// Queue members and parameters again (app_queue reloaded).
    RefreshQueues,
}

impl After {
    /// Two requests as one: a resync covers a refresh; a restart's resync (pauses
    /// re-applied) wins over another.
    fn merge(a: Option<After>, b: After) -> After {
        match (a, b) {
            (None, b) => b,
            (Some(After::RefreshQueues), b) => b,
            (Some(a), After::RefreshQueues) => a,
            (Some(After::Resync { kind: ConnectKind::Restarted, why }), After::Resync { .. })
            | (Some(After::Resync { .. }), After::Resync { kind: ConnectKind::Restarted, why }) => {
                After::Resync { kind: ConnectKind::Restarted, why }
            }
            (Some(_), b) => b,
        }
    }
}

impl Handler<LinkEvent> for PbxRouter {
    type Result = ();

    fn handle(&mut self, ev: LinkEvent, ctx: &mut Context<Self>) {
        match ev {
            LinkEvent::Connected { kind, startup, link, .. } => {
                // Whatever ran for the previous connection is void.
                self.generation += 1;
                self.holding = None;
                self.pending = None;
                self.link = link;
                self.connection_kind = kind;
                tracing::info!(parent: &self.span, kind = ?kind, startup = %startup, "PBX link connected; resyncing");
                self.request(After::Resync { kind, why: None }, ctx);
            }
            LinkEvent::Disconnected { reason, .. } => {
                tracing::warn!(parent: &self.span, reason = %reason, "PBX link down");
                self.generation += 1;
                self.holding = None;
                self.pending = None;
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
            let why = Some("the tenants of the PBX changed");
            self.request(After::Resync { kind: ConnectKind::Reconnected, why }, ctx);
        }
    }
}

impl Handler<StopRouter> for PbxRouter {
    type Result = ();

    fn handle(&mut self, _: StopRouter, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(first_seq: u64, names: &[&str]) -> Held {
        let events = names.iter().map(|n| Message::from_pairs([("Event", *n)])).collect();
        Held { first_seq, events, received: Instant::now() }
    }

    fn names(held: &[Held]) -> Vec<(u64, String)> {
        held.iter()
            .flat_map(|h| {
                h.events.iter().enumerate().map(|(i, m)| (h.first_seq + i as u64, m.event_name().unwrap_or("").into()))
            })
            .collect()
    }

    #[test]
    fn held_events_split_at_a_sequence_number_keep_their_numbers_and_order() {
        let all = vec![held(10, &["Newchannel", "QueueCallerJoin"]), held(12, &["Hangup", "DeviceStateChange"])];
        let (before, after) = split_held(all, 11);
        assert_eq!(names(&before), [(10, "Newchannel".to_string())]);
        assert_eq!(
            names(&after),
            [(11, "QueueCallerJoin".into()), (12, "Hangup".into()), (13, "DeviceStateChange".into())]
        );
        let (before, after) = split_held(vec![held(5, &["Hangup"])], 0);
        assert!(before.is_empty() && names(&after).len() == 1);
    }

    #[test]
    fn reloads_and_a_late_boot_ask_for_the_right_work() {
        let reload = |module: &str, status: &str| {
            Message::from_pairs([("Event", "Reload"), ("Module", module), ("Status", status)])
        };
        let kind = ConnectKind::Reconnected;
        assert_eq!(state_went_stale(&reload("app_queue.so", "0"), kind), Some(After::RefreshQueues));
        assert_eq!(state_went_stale(&reload("All", "0"), kind), Some(After::RefreshQueues));
        assert_eq!(state_went_stale(&reload("app_queue", "3"), kind), None, "a failed reload changed nothing");
        assert_eq!(state_went_stale(&reload("res_pjsip.so", "0"), kind), None);
        let booted = Message::from_pairs([("Event", "FullyBooted"), ("Status", "Fully Booted")]);
        let restart = state_went_stale(&booted, ConnectKind::Restarted);
        assert!(matches!(restart, Some(After::Resync { kind: ConnectKind::Restarted, .. })));
        let merged = After::merge(restart, After::Resync { kind, why: None });
        assert!(matches!(merged, After::Resync { kind: ConnectKind::Restarted, .. }), "a restart's resync wins");
        assert_eq!(After::merge(Some(After::RefreshQueues), After::RefreshQueues), After::RefreshQueues);
        assert!(matches!(
            After::merge(Some(After::RefreshQueues), After::Resync { kind, why: None }),
            After::Resync { .. }
        ));
        assert!(matches!(EventPart::of(&reload("x", "0")), EventPart::Channels));
        assert!(matches!(EventPart::of(&Message::from_pairs([("Event", "AgentCalled")])), EventPart::Queues));
    }
}
