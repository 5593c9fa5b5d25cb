//! The tenant actor: receives its PBX's events (routed by the PBX router), keeps the call
//! registry through [`TenantState`], feeds its queue and agent actors in batches, caches
//! their snapshots for the REST API and the push layer, and owns the pauses Mayday keeps
//! (stored, sent to Asterisk with `QueuePause`, re-applied after an Asterisk restart).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::state::{Effect, Snapshot, TenantState};
use crate::ami::{action, AmiError, AmiLink, ConnectKind, Message};
use crate::live::agent::actor::{AgentActor, AgentFacts, AgentRollDay, AgentUpdated, GetAgent, SetMaydayPause};
use crate::live::agent::state::{AgentSnapshot, AgentState};
use crate::live::calls::LiveCall;
use crate::live::facts::{AgentFact, QueueFact};
use crate::live::ids::{now_ms, AgentId, Millis, TenantId};
use crate::live::metrics::TenantMetrics;
use crate::live::queue::actor::{GetQueue, QueueActor, QueueFacts, QueueUpdated, RollDay, SetQueueSettings};
use crate::live::queue::state::{QueueSnapshot, QueueState};
use crate::live::spec::{PauseState, TenantSpec};
use crate::live::store::LiveStore;
use crate::push::{Outbox, Resume};

use super::topics::{SubscribeError, Subscriber, TenantTopics};

/// Timers of the live actors.
#[derive(Clone, Copy, Debug)]
pub struct LiveTimings {
    /// Counters are persisted this long after they change (changes in between coalesce).
    pub persist_after: Duration,
    /// How often the tenant checks for a new day in its time zone.
    pub day_check: Duration,
    /// How long a pause Mayday sent waits for Asterisk's confirming events.
    pub pause_confirm: Duration,
    /// Changes gather this long before they are pushed (one delta per topic per flush).
    pub push_interval: Duration,
    /// Deltas each topic keeps for clients that resume.
    pub push_history: usize,
    /// How often each PBX's queue members and parameters are read again (Asterisk changes
    /// realtime members, and reloads from its CLI, without a word); zero: never.
    pub queue_refresh: Duration,
}

impl Default for LiveTimings {
    fn default() -> Self {
        LiveTimings {
            persist_after: Duration::from_millis(500),
            day_check: Duration::from_secs(30),
            pause_confirm: Duration::from_secs(5),
            push_interval: Duration::from_millis(20),
            push_history: super::topics::DEFAULT_HISTORY,
            queue_refresh: Duration::from_secs(60),
        }
    }
}

/// Events of the tenant's PBX, in wire order.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TenantEvents {
    pub events: Vec<Message>,
    pub received: Instant,
}

/// The link is up after a (re)connect: rebuild from what Asterisk answered.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TenantResync {
    pub kind: ConnectKind,
    pub snapshot: Snapshot,
    pub link: AmiLink,
}

/// The link went down (calls stay as they were until the next resync).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TenantLinkDown;

#[derive(Message)]
#[rtype(result = "Vec<Arc<QueueSnapshot>>")]
pub struct GetQueues;

#[derive(Message)]
#[rtype(result = "Vec<Arc<AgentSnapshot>>")]
pub struct GetAgents;

#[derive(Message)]
#[rtype(result = "Vec<LiveCall>")]
pub struct GetCalls;

/// Pause (`Some`) or unpause (`None`) an agent, as Mayday.
#[derive(Message)]
#[rtype(result = "Result<PauseOutcome, PauseError>")]
pub struct SetPause {
    pub agent: AgentId,
    pub pause: Option<PauseState>,
}

/// What a pause request did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PauseOutcome {
    pub agent: AgentId,
    pub paused: bool,
    pub reason: Option<String>,
    /// Member interfaces Asterisk acknowledged (`QueuePause`).
    pub applied_to: Vec<String>,
    /// False while the PBX link is down: it is sent when the link is back.
    pub applied: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PauseError {
    #[error("no such agent")]
    UnknownAgent,
    #[error(transparent)]
    Ami(#[from] AmiError),
}

/// The tenant's configuration changed (agents, queue settings).
#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateSpec(pub Arc<TenantSpec>);

/// Provisioning changed these queues' realtime members or settings (Asterisk names): ask
/// Asterisk with `QueueStatus` (which also makes it load the queue's members from the
/// table) and show what it answers. Nothing happens while the link is down: the next
/// resync reads everything anyway.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RefreshQueues(pub Vec<String>);

/// app_queue reloaded: this tenant's part of a fresh `QueueStatus` (members and parameters
/// of every queue; calls and waiting callers stay as they are).
#[derive(Message)]
#[rtype(result = "()")]
pub struct QueuesReloaded(pub Vec<Message>);

/// Sets (`Some`) or clears an alert on the tenant's wallboard (a trunk's low balance).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetAlert {
    pub key: String,
    pub alert: Option<serde_json::Value>,
}

/// An SMS event for the tenant's `sms` topic.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PushSms(pub serde_json::Value);

/// Resolves once every fact sent so far has been applied by the queue and agent actors
/// (benches and tests wait on it; mailboxes are in order).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Settle;

/// Follow a topic (the session's outbox receives a snapshot or the missed deltas, then
/// every delta).
#[derive(Message)]
#[rtype(result = "Result<Resume, SubscribeError>")]
pub struct Subscribe {
    pub topic: String,
    /// The (epoch, seq) the client last saw, to resume.
    pub since: Option<(u64, u64)>,
    pub outbox: Arc<Outbox>,
    pub who: Subscriber,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    /// `None`: every topic (the session ended).
    pub topic: Option<String>,
    pub outbox: Arc<Outbox>,
}

/// Subscriber counts per topic (metrics).
#[derive(Message)]
#[rtype(result = "Vec<(String, usize)>")]
pub struct GetSubscriberCounts;

/// Stop the tenant and its actors.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopTenant;

pub struct TenantActor {
    state: TenantState,
    store: Arc<dyn LiveStore>,
    timings: LiveTimings,
    metrics: Arc<TenantMetrics>,
    queues: BTreeMap<String, Addr<QueueActor>>,
    agents: HashMap<AgentId, Addr<AgentActor>>,
    queue_snaps: BTreeMap<String, Arc<QueueSnapshot>>,
    agent_snaps: BTreeMap<AgentId, Arc<AgentSnapshot>>,
    link: Option<AmiLink>,
    /// Mayday's pauses (what is re-applied).
    desired: HashMap<AgentId, PauseState>,
    /// Queues each agent is paused in, as Asterisk last said.
    paused_in: HashMap<AgentId, BTreeMap<String, String>>,
    /// Pauses Mayday sent and is waiting to see confirmed: (paused, until).
    expecting: HashMap<AgentId, (bool, Millis)>,
    /// Pauses changed while the link was down: pushed at the next resync.
    unapplied: HashSet<AgentId>,
    today: chrono::NaiveDate,
    topics: TenantTopics,
    flush: Option<SpawnHandle>,
    last_flush: Instant,
    span: tracing::Span,
}

fn today_in(tz: chrono_tz::Tz) -> chrono::NaiveDate {
    chrono::Utc::now().with_timezone(&tz).date_naive()
}

impl TenantActor {
    pub fn new(
        spec: Arc<TenantSpec>,
        store: Arc<dyn LiveStore>,
        timings: LiveTimings,
        metrics: Arc<TenantMetrics>,
    ) -> Self {
        let desired = spec.agents.iter().filter_map(|a| Some((a.id, a.pause.clone()?))).collect();
        let span = tracing::info_span!("tenant", tenant.id = spec.id.0, tenant.slug = %spec.slug);
        let spec_prefix = spec.name_prefix.clone();
        TenantActor {
            today: today_in(spec.timezone),
            state: TenantState::new(spec),
            store,
            timings,
            metrics,
            queues: BTreeMap::new(),
            agents: HashMap::new(),
            queue_snaps: BTreeMap::new(),
            agent_snaps: BTreeMap::new(),
            link: None,
            desired,
            paused_in: HashMap::new(),
            expecting: HashMap::new(),
            unapplied: HashSet::new(),
            topics: TenantTopics::new(&spec_prefix, timings.push_history),
            flush: None,
            last_flush: Instant::now(),
            span,
        }
    }

    fn tenant(&self) -> TenantId {
        self.state.spec().id
    }

    fn queue_actor(&mut self, name: &str, ctx: &mut Context<Self>) -> Addr<QueueActor> {
        if let Some(a) = self.queues.get(name) {
            return a.clone();
        }
        let spec = self.state.spec().clone();
        let settings = spec.queue_settings.get(name).cloned().unwrap_or_default();
        let mut qs = QueueState::new(name, &spec.name_prefix, settings, self.today);
        if let Some((day, counters)) = spec.queue_counters.get(name) {
            qs.restore(*day, counters.clone());
        }
        self.queue_snaps.insert(name.to_string(), Arc::new(qs.snapshot()));
        let actor =
            QueueActor::new(spec.id, qs, ctx.address().recipient(), self.store.clone(), self.timings.persist_after);
        let addr = actor.start();
        self.queues.insert(name.to_string(), addr.clone());
        addr
    }

    /// Starts the actors of agents that have none; an agent added while the link is up
    /// starts from what the tenant already knows of its phone, queues and calls.
    fn start_agents(&mut self, ctx: &mut Context<Self>) {
        let spec = self.state.spec().clone();
        let now = now_ms();
        for a in &spec.agents {
            if self.agents.contains_key(&a.id) {
                continue;
            }
            let mut st = AgentState::new(a, spec.device_of(&a.extension), self.today, now);
            if self.link.is_some() {
                st.apply(self.state.agent_resync(a.id, now), now);
            }
            self.agent_snaps.insert(a.id, Arc::new(st.snapshot()));
            let actor =
                AgentActor::new(spec.id, st, ctx.address().recipient(), self.store.clone(), self.timings.persist_after);
            self.agents.insert(a.id, actor.start());
        }
    }

    /// Sends each actor its facts in one message.
    fn dispatch(&mut self, effects: Vec<Effect>, now: Millis, ctx: &mut Context<Self>) {
        let mut per_queue: BTreeMap<String, Vec<QueueFact>> = BTreeMap::new();
        let mut per_agent: HashMap<AgentId, Vec<AgentFact>> = HashMap::new();
        for e in effects {
            match e {
                Effect::Queue(q, f) => per_queue.entry(q).or_default().push(f),
                Effect::Agent(a, f) => {
                    self.observe_pause(a, &f, now);
                    per_agent.entry(a).or_default().push(f);
                }
            }
        }
        for (q, facts) in per_queue {
            self.queue_actor(&q, ctx).do_send(QueueFacts(facts));
        }
        for (a, facts) in per_agent {
            if let Some(addr) = self.agents.get(&a) {
                addr.do_send(AgentFacts(facts, now));
            }
        }
    }

    /// Tracks where Asterisk says an agent is paused, and adopts a pause changed outside
    /// Mayday (a phone feature code) unless it is the one Mayday is waiting for.
    fn observe_pause(&mut self, agent: AgentId, fact: &AgentFact, now: Millis) {
        let paused_in = self.paused_in.entry(agent).or_default();
        match fact {
            AgentFact::Member(m) => {
                if m.paused {
                    paused_in.insert(m.queue.clone(), m.reason.clone());
                } else {
                    paused_in.remove(&m.queue);
                }
            }
            AgentFact::MemberRemoved { queue } => {
                paused_in.remove(queue);
            }
            AgentFact::Resync { members, .. } => {
                *paused_in = members.iter().filter(|m| m.paused).map(|m| (m.queue.clone(), m.reason.clone())).collect();
                return;
            }
            _ => return,
        }
        let asterisk_paused = paused_in.values().next().cloned();
        if let Some((expected, until)) = self.expecting.get(&agent).copied() {
            if until > now {
                if asterisk_paused.is_some() == expected {
                    self.expecting.remove(&agent);
                }
                return;
            }
            self.expecting.remove(&agent);
        }
        let wanted = self.desired.contains_key(&agent);
        if asterisk_paused.is_some() != wanted {
            let pause = asterisk_paused.map(|reason| PauseState { reason, since_ms: now });
            tracing::info!(parent: &self.span, agent.id = agent.0, paused = pause.is_some(), "pause changed on the PBX; Mayday adopts it");
            self.remember_pause(agent, pause);
        }
    }

    fn remember_pause(&mut self, agent: AgentId, pause: Option<PauseState>) {
        match &pause {
            Some(p) => {
                self.desired.insert(agent, p.clone());
            }
            None => {
                self.desired.remove(&agent);
            }
        }
        let fut = self.store.save_pause(self.tenant(), agent, pause.as_ref());
        actix::spawn(async move {
            if let Err(e) = fut.await {
                tracing::warn!(agent.id = agent.0, error = %e, "could not store the pause");
            }
        });
        if let Some(addr) = self.agents.get(&agent) {
            addr.do_send(SetMaydayPause(pause));
        }
    }

    /// Sends Mayday's pause of `agent` to Asterisk, one `QueuePause` per member interface.
    fn push_pause(
        &mut self,
        agent: AgentId,
    ) -> Option<impl std::future::Future<Output = Result<Vec<String>, AmiError>> + 'static> {
        let link = self.link.clone()?;
        let interfaces = self.state.interfaces_of(agent);
        let pause = self.desired.get(&agent).cloned();
        let until = now_ms() + i64::try_from(self.timings.pause_confirm.as_millis()).unwrap_or(5_000);
        if !interfaces.is_empty() {
            self.expecting.insert(agent, (pause.is_some(), until));
        }
        Some(async move {
            let mut applied = Vec::new();
            for iface in interfaces {
                let reason = pause.as_ref().map(|p| p.reason.as_str());
                link.send(action::queue_pause(&iface, pause.is_some(), None, reason)).await?;
                applied.push(iface);
            }
            Ok(applied)
        })
    }

    /// Pushes what changed: at once after a quiet spell (once the messages already waiting
    /// are handled, so a burst goes out as one delta), else at most once per push interval.
    fn schedule_flush(&mut self, ctx: &mut Context<Self>) {
        if self.flush.is_none() {
            let due = self.last_flush + self.timings.push_interval;
            let wait = due.saturating_duration_since(Instant::now());
            self.flush = Some(ctx.run_later(wait, |act, _| {
                act.flush = None;
                act.last_flush = Instant::now();
                let calls = act.state.calls.views();
                act.topics.flush(&act.queue_snaps, &act.agent_snaps, &calls);
            }));
        }
    }

    fn roll_day_if_needed(&mut self) {
        let today = today_in(self.state.spec().timezone);
        if today == self.today {
            return;
        }
        self.today = today;
        tracing::info!(parent: &self.span, day = %today, "a new day: today's counters start again");
        for q in self.queues.values() {
            q.do_send(RollDay(today));
        }
        for a in self.agents.values() {
            a.do_send(AgentRollDay(today));
        }
    }
}

impl Actor for TenantActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(usize::MAX >> 4);
        self.start_agents(ctx);
        let names: Vec<String> =
            self.state.spec().queue_settings.keys().chain(self.state.spec().queue_counters.keys()).cloned().collect();
        for q in names {
            self.queue_actor(&q, ctx);
        }
        ctx.run_interval(self.timings.day_check, |act, _| act.roll_day_if_needed());
        tracing::info!(parent: &self.span, agents = self.agents.len(), "tenant live state started");
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        for q in self.queues.values() {
            q.do_send(StopActor);
        }
        for a in self.agents.values() {
            a.do_send(StopActor);
        }
        Running::Stop
    }
}

/// Stops a child actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopActor;

impl Handler<StopActor> for QueueActor {
    type Result = ();
    fn handle(&mut self, _: StopActor, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<StopActor> for AgentActor {
    type Result = ();
    fn handle(&mut self, _: StopActor, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<TenantEvents> for TenantActor {
    type Result = ();

    fn handle(&mut self, msg: TenantEvents, ctx: &mut Context<Self>) {
        self.metrics.observe_lag(msg.received.elapsed());
        self.metrics.add_events(msg.events.len());
        let now = now_ms();
        let mut effects = Vec::new();
        let mut calls_changed = false;
        for m in &msg.events {
            calls_changed |= self.state.apply(m, now, &mut effects);
        }

        if calls_changed {
            self.metrics.bump_calls_version();
            self.topics.calls_changed();
            self.schedule_flush(ctx);
        }
        self.dispatch(effects, now, ctx);
    }
}

impl Handler<TenantResync> for TenantActor {
    type Result = ();

    fn handle(&mut self, msg: TenantResync, ctx: &mut Context<Self>) {
        let _enter = self.span.clone().entered();
        let now = now_ms();
        let before = self.state.calls.calls.len();
        let queues: Vec<String> = self.queues.keys().cloned().collect();
        let agents: Vec<AgentId> = self.agents.keys().copied().collect();
        let (effects, gone) = self.state.resync(&msg.snapshot, &queues, &agents, now);
        for q in gone {
            tracing::info!(queue = %q, "the queue is gone from the PBX");
            if let Some(addr) = self.queues.remove(&q) {
                addr.do_send(StopActor);
            }
            self.queue_snaps.remove(&q);
            self.topics.queue_removed(&q);
        }
        let after = self.state.calls.calls.len();
        self.link = Some(msg.link);
        self.metrics.bump_calls_version();
        self.topics.calls_changed();
        self.schedule_flush(ctx);
        self.metrics.count_resync(msg.kind);
        tracing::info!(kind = ?msg.kind, calls_before = before, calls_after = after, "resynced from the PBX");
        self.dispatch(effects, now, ctx);
        // Pauses: after an Asterisk restart (or for changes made while the link was down)
        // Mayday's pause is pushed; otherwise what Asterisk says was adopted above.
        let push: Vec<AgentId> = if msg.kind == ConnectKind::Restarted {
            self.agents
                .keys()
                .copied()
                .filter(|a| self.desired.contains_key(a) || self.paused_in.get(a).is_some_and(|p| !p.is_empty()))
                .collect()
        } else {
            self.unapplied.drain().collect()
        };
        for agent in push {
            let desired_paused = self.desired.contains_key(&agent);
            let asterisk_paused = self.paused_in.get(&agent).is_some_and(|p| !p.is_empty());
            if desired_paused == asterisk_paused && msg.kind != ConnectKind::Restarted {
                continue;
            }
            if let Some(fut) = self.push_pause(agent) {
                let span = self.span.clone();
                actix::spawn(async move {
                    match fut.await {
                        Ok(ifaces) if !ifaces.is_empty() => {
                            tracing::info!(parent: &span, agent.id = agent.0, interfaces = ifaces.len(), paused = desired_paused, "re-applied Mayday's pause")
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(parent: &span, agent.id = agent.0, error = %e, "could not re-apply the pause")
                        }
                    }
                });
            }
        }
    }
}

impl Handler<TenantLinkDown> for TenantActor {
    type Result = ();

    fn handle(&mut self, _: TenantLinkDown, _: &mut Context<Self>) {
        self.link = None;
    }
}

impl Handler<QueueUpdated> for TenantActor {
    type Result = ();

    fn handle(&mut self, msg: QueueUpdated, ctx: &mut Context<Self>) {
        self.topics.queue_changed(&msg.0.asterisk_name);
        self.queue_snaps.insert(msg.0.asterisk_name.clone(), msg.0);
        self.schedule_flush(ctx);
    }
}

impl Handler<AgentUpdated> for TenantActor {
    type Result = ();

    fn handle(&mut self, msg: AgentUpdated, ctx: &mut Context<Self>) {
        self.topics.agent_changed(msg.0.id);
        self.agent_snaps.insert(msg.0.id, msg.0);
        self.schedule_flush(ctx);
    }
}

impl Handler<GetQueues> for TenantActor {
    type Result = MessageResult<GetQueues>;

    fn handle(&mut self, _: GetQueues, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.queue_snaps.values().cloned().collect())
    }
}

impl Handler<GetAgents> for TenantActor {
    type Result = MessageResult<GetAgents>;

    fn handle(&mut self, _: GetAgents, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.agent_snaps.values().cloned().collect())
    }
}

impl Handler<GetCalls> for TenantActor {
    type Result = MessageResult<GetCalls>;

    fn handle(&mut self, _: GetCalls, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.state.calls.views())
    }
}

impl Handler<SetPause> for TenantActor {
    type Result = ResponseFuture<Result<PauseOutcome, PauseError>>;

    fn handle(&mut self, msg: SetPause, _: &mut Context<Self>) -> Self::Result {
        if !self.agents.contains_key(&msg.agent) {
            return Box::pin(async { Err(PauseError::UnknownAgent) });
        }
        let agent = msg.agent;
        let paused = msg.pause.is_some();
        let reason = msg.pause.as_ref().map(|p| p.reason.clone());
        self.remember_pause(agent, msg.pause);
        match self.push_pause(agent) {
            Some(fut) => Box::pin(async move {
                let applied_to = fut.await?;
                Ok(PauseOutcome { agent, paused, reason, applied_to, applied: true })
            }),
            None => {
                self.unapplied.insert(agent);
                Box::pin(
                    async move { Ok(PauseOutcome { agent, paused, reason, applied_to: Vec::new(), applied: false }) },
                )
            }
        }
    }
}

impl Handler<UpdateSpec> for TenantActor {
    type Result = ();

    fn handle(&mut self, msg: UpdateSpec, ctx: &mut Context<Self>) {
        let spec = msg.0;
        let gone: Vec<AgentId> =
            self.agents.keys().copied().filter(|a| !spec.agents.iter().any(|s| s.id == *a)).collect();
        for a in gone {
            if let Some(addr) = self.agents.remove(&a) {
                addr.do_send(StopActor);
            }
            self.agent_snaps.remove(&a);
            self.topics.agent_removed(a);
            self.schedule_flush(ctx);
        }
        for (q, s) in &spec.queue_settings {
            if let Some(addr) = self.queues.get(q) {
                addr.do_send(SetQueueSettings(s.clone()));
            }
        }
        tracing::debug!(parent: &self.span, agents = spec.agents.len(), link_up = self.link.is_some(), "tenant spec updated");
        let effects = self.state.set_spec(spec);
        self.start_agents(ctx);
        self.dispatch(effects, now_ms(), ctx);
    }
}

impl Handler<RefreshQueues> for TenantActor {
    type Result = ();

    fn handle(&mut self, msg: RefreshQueues, ctx: &mut Context<Self>) {
        let Some(link) = self.link.clone() else { return };
        for queue in msg.0 {
            let l = link.clone();
            let q = queue.clone();
            let fut = async move { l.send(action::queue_status(Some(&q), None)).await };
            ctx.spawn(fut.into_actor(self).map(move |result, act, ctx| match result {
                Ok(answer) => act.queue_listed(&queue, &answer.items, ctx),
                Err(e) => tracing::warn!(parent: &act.span, queue = %queue, error = %e, "could not refresh the queue"),
            }));
        }
    }
}

impl Handler<QueuesReloaded> for TenantActor {
    type Result = ();

    fn handle(&mut self, msg: QueuesReloaded, ctx: &mut Context<Self>) {
        let mut names: Vec<String> = self.queues.keys().cloned().collect();
        for m in &msg.0 {
            if let (Some("QueueParams" | "QueueMember"), Some(q)) = (m.event_name(), m.get("Queue")) {
                if !names.iter().any(|n| n == q) {
                    names.push(q.to_string());
                }
            }
        }
        for queue in names {
            self.queue_listed(&queue, &msg.0, ctx);
        }
    }
}

impl TenantActor {
    /// Applies what `QueueStatus` listed for one queue: its members and parameters, or its
    /// absence (gone, or shown empty when Mayday configures it).
    fn queue_listed(&mut self, queue: &str, items: &[Message], ctx: &mut Context<Self>) {
        let now = now_ms();
        let (found, mut effects) = self.state.refresh_queue(queue, items, now);
        let configured = self.state.spec().queue_settings.contains_key(queue);
        if !found && configured {
            // Configured but not (yet) known to Asterisk: shown empty.
            effects.push(Effect::Queue(queue.to_string(), QueueFact::Members { params: None, members: Vec::new() }));
        }
        // The agents lose (or gain) the membership either way.
        self.dispatch(effects, now, ctx);
        if !found && !configured {
            if let Some(addr) = self.queues.remove(queue) {
                tracing::info!(parent: &self.span, queue = %queue, "the queue is gone from the PBX");
                addr.do_send(StopActor);
                self.queue_snaps.remove(queue);
                self.topics.queue_removed(queue);
                self.schedule_flush(ctx);
            }
        }
    }
}

impl Handler<SetAlert> for TenantActor {
    type Result = ();

    fn handle(&mut self, msg: SetAlert, _: &mut Context<Self>) {
        self.topics.set_alert(&msg.key, msg.alert, &self.queue_snaps, &self.agent_snaps);
    }
}

impl Handler<PushSms> for TenantActor {
    type Result = ();

    fn handle(&mut self, msg: PushSms, _: &mut Context<Self>) {
        self.topics.sms_event(msg.0);
    }
}

impl Handler<StopTenant> for TenantActor {
    type Result = ();

    fn handle(&mut self, _: StopTenant, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<Settle> for TenantActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Settle, _: &mut Context<Self>) -> Self::Result {
        let queues: Vec<Addr<QueueActor>> = self.queues.values().cloned().collect();
        let agents: Vec<Addr<AgentActor>> = self.agents.values().cloned().collect();
        Box::pin(async move {
            for q in queues {
                let _ = q.send(GetQueue).await;
            }
            for a in agents {
                let _ = a.send(GetAgent).await;
            }
        })
    }
}

impl Handler<Subscribe> for TenantActor {
    type Result = Result<Resume, SubscribeError>;

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) -> Self::Result {
        // Changes waiting for the flush are in the cached snapshots already: a new subscriber
        // starts from them, and the next delta repeats them (harmless: deltas carry states).
        let calls = self.state.calls.views();
        let views = super::topics::Views { queues: &self.queue_snaps, agents: &self.agent_snaps, calls: &calls };
        self.topics.subscribe(&msg.topic, msg.since, msg.outbox, msg.who, views)
    }
}

impl Handler<Unsubscribe> for TenantActor {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, _: &mut Context<Self>) {
        match msg.topic {
            Some(t) => self.topics.unsubscribe(&t, &msg.outbox),
            None => self.topics.unsubscribe_all(&msg.outbox),
        }
    }
}

impl Handler<GetSubscriberCounts> for TenantActor {
    type Result = MessageResult<GetSubscriberCounts>;

    fn handle(&mut self, _: GetSubscriberCounts, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.topics.subscriber_counts())
    }
}
