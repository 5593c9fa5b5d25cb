//! The tenant's push topics: `wallboard` (every queue's figures and every agent's state),
//! `queue:<name>` (one queue in full), `agent:<id>` (one agent), `calls` (live calls) and
//! `sms` (new messages and status changes). The wallboard also carries the tenant's alerts
//! (a trunk's low balance).
//! Changes gather between flushes (a short interval) and go out as one delta per topic,
//! serialised once for all subscribers.
//!
//! Who may follow what: managers and admins anything of their tenant; an agent their own
//! agent topic, the queues they are a member of, and `sms` (agents send and read the
//! tenant's messages, as `/api/sms` lets them).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::Serialize;

use crate::live::agent::state::{AgentSnapshot, AgentStatus};
use crate::live::calls::LiveCall;
use crate::live::facts::AgentCall;
use crate::live::figures::QueueFigures;
use crate::live::ids::{AgentId, Millis};
use crate::live::queue::state::QueueSnapshot;
use crate::push::{Frame, Outbox, Resume, Topic};

/// How many deltas each topic keeps for clients that resume.
pub const DEFAULT_HISTORY: usize = 512;

/// A queue in the wallboard.
#[derive(Serialize)]
struct QueueSummary<'a> {
    name: &'a str,
    asterisk_name: &'a str,
    waiting: usize,
    oldest_joined_ms: Option<Millis>,
    available: u32,
    logged_in: u32,
    service_level_secs: u64,
    figures: &'a QueueFigures,
}

impl<'a> QueueSummary<'a> {
    fn of(q: &'a QueueSnapshot) -> Self {
        QueueSummary {
            name: &q.name,
            asterisk_name: &q.asterisk_name,
            waiting: q.waiting.len(),
            oldest_joined_ms: q.oldest_joined_ms,
            available: q.available,
            logged_in: q.logged_in,
            service_level_secs: q.service_level_secs,
            figures: &q.figures,
        }
    }
}

/// An agent in the wallboard.
#[derive(Serialize)]
struct AgentSummary<'a> {
    id: AgentId,
    name: &'a str,
    extension: &'a str,
    status: AgentStatus,
    since_ms: Millis,
    reason: Option<&'a str>,
    call: Option<&'a AgentCall>,
    calls_today: u64,
}

impl<'a> AgentSummary<'a> {
    fn of(a: &'a AgentSnapshot) -> Self {
        AgentSummary {
            id: a.id,
            name: &a.name,
            extension: &a.extension,
            status: a.status,
            since_ms: a.since_ms,
            reason: a.reason.as_deref(),
            call: a.call.as_ref(),
            calls_today: a.today.calls,
        }
    }
}

/// Who subscribes.
#[derive(Clone, Copy, Debug)]
pub struct Subscriber {
    /// Managers and admins (and superadmins) see everything of the tenant.
    pub sees_all: bool,
    /// The subscriber's own agent id (their user id).
    pub agent: AgentId,
}

/// A refused subscription.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    #[error("no such topic: {0}")]
    NoSuchTopic(String),
    #[error("not allowed: {0}")]
    Forbidden(String),
}

/// The tenant's current state, as topics render it.
#[derive(Clone, Copy)]
pub struct Views<'a> {
    pub queues: &'a BTreeMap<String, Arc<QueueSnapshot>>,
    pub agents: &'a BTreeMap<AgentId, Arc<AgentSnapshot>>,
    pub calls: &'a [LiveCall],
}

/// Every topic of a tenant, and the changes waiting for the next flush.
pub struct TenantTopics {
    epoch: u64,
    history: usize,
    prefix: String,
    wallboard: Topic,
    calls: Topic,
    queues: BTreeMap<String, Topic>,
    agents: BTreeMap<AgentId, Topic>,
    dirty_queues: BTreeSet<String>,
    dirty_agents: BTreeSet<AgentId>,
    removed_queues: BTreeSet<String>,
    removed_agents: BTreeSet<AgentId>,
    calls_dirty: bool,
    published_calls: BTreeMap<String, LiveCall>,
    /// Alerts by key (`trunk:<id>:balance`), shown on the wallboard.
    alerts: BTreeMap<String, serde_json::Value>,
    sms: Topic,
    /// The latest SMS events: the `sms` topic's snapshot.
    sms_recent: VecDeque<serde_json::Value>,
    /// Queue topics agents follow as members `(Asterisk queue, agent, outbox)`: checked
    /// again whenever the queue changes, so an agent taken out of a queue stops seeing it.
    member_only: Vec<(String, AgentId, Arc<Outbox>)>,
}

/// How many SMS events the `sms` topic's snapshot holds.
const SMS_RECENT: usize = 50;

fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

impl TenantTopics {
    pub fn new(prefix: &str, history: usize) -> Self {
        let epoch = rand::random::<u32>() as u64;
        TenantTopics {
            epoch,
            history,
            prefix: prefix.to_string(),
            wallboard: Topic::new(Arc::from("wallboard"), epoch, history),
            calls: Topic::new(Arc::from("calls"), epoch, history),
            queues: BTreeMap::new(),
            agents: BTreeMap::new(),
            dirty_queues: BTreeSet::new(),
            dirty_agents: BTreeSet::new(),
            removed_queues: BTreeSet::new(),
            removed_agents: BTreeSet::new(),
            calls_dirty: false,
            published_calls: BTreeMap::new(),
            alerts: BTreeMap::new(),
            sms: Topic::new(Arc::from("sms"), epoch, history),
            sms_recent: VecDeque::new(),
            member_only: Vec::new(),
        }
    }

    /// Ends the queue topics of agents no longer members of the queue (or of a queue that
    /// is gone), telling each session why.
    fn drop_former_members(&mut self, queues: &BTreeMap<String, Arc<QueueSnapshot>>) {
        let (dirty, removed) = (&self.dirty_queues, &self.removed_queues);
        let mut ended = Vec::new();
        self.member_only.retain(|(queue, agent, outbox)| {
            if outbox.closed().is_some() {
                return false;
            }
            if !dirty.contains(queue) && !removed.contains(queue) {
                return true;
            }
            let still = queues.get(queue).is_some_and(|q| q.members.iter().any(|m| m.agent == Some(*agent)));
            if !still {
                ended.push((queue.clone(), outbox.clone()));
            }
            still
        });
        for (queue, outbox) in ended {
            let name = queue.strip_prefix(self.prefix.as_str()).unwrap_or(&queue).to_string();
            if let Some(t) = self.queues.get_mut(&queue) {
                t.unsubscribe(&outbox);
            }
            let text = json(&serde_json::json!({
                "type": "unsubscribed",
                "topic": format!("queue:{name}"),
                "reason": format!("you are no longer a member of queue {name}"),
            }));
            outbox.push(Frame::control(text), || None);
        }
    }

    /// Sets or clears an alert; the wallboard gets the whole list at once.
    pub fn set_alert(
        &mut self,
        key: &str,
        alert: Option<serde_json::Value>,
        queues: &BTreeMap<String, Arc<QueueSnapshot>>,
        agents: &BTreeMap<AgentId, Arc<AgentSnapshot>>,
    ) -> usize {
        let changed = match alert {
            Some(a) => self.alerts.insert(key.to_string(), a.clone()).as_ref() != Some(&a),
            None => self.alerts.remove(key).is_some(),
        };
        if !changed {
            return 0;
        }
        let alerts = &self.alerts;
        let data = json(&serde_json::json!({ "alerts": alerts.values().collect::<Vec<_>>() }));
        self.wallboard.publish(&data, &|| Self::wallboard_json(queues, agents, alerts))
    }

    /// A new SMS or a status change, for the `sms` topic.
    pub fn sms_event(&mut self, event: serde_json::Value) -> usize {
        self.sms_recent.push_back(event.clone());
        while self.sms_recent.len() > SMS_RECENT {
            self.sms_recent.pop_front();
        }
        let data = json(&serde_json::json!({ "sms": event }));
        let recent = &self.sms_recent;
        self.sms.publish(&data, &|| json(&serde_json::json!({ "recent": recent })))
    }

    fn display(&self, asterisk_name: &str) -> String {
        asterisk_name.strip_prefix(self.prefix.as_str()).unwrap_or(asterisk_name).to_string()
    }

    pub fn queue_changed(&mut self, asterisk_name: &str) {
        self.removed_queues.remove(asterisk_name);
        self.dirty_queues.insert(asterisk_name.to_string());
    }

    pub fn queue_removed(&mut self, asterisk_name: &str) {
        self.dirty_queues.remove(asterisk_name);
        self.removed_queues.insert(asterisk_name.to_string());
    }

    pub fn agent_changed(&mut self, agent: AgentId) {
        self.removed_agents.remove(&agent);
        self.dirty_agents.insert(agent);
    }

    pub fn agent_removed(&mut self, agent: AgentId) {
        self.dirty_agents.remove(&agent);
        self.removed_agents.insert(agent);
    }

    pub fn calls_changed(&mut self) {
        self.calls_dirty = true;
    }

    pub fn pending(&self) -> bool {
        self.calls_dirty
            || !self.dirty_queues.is_empty()
            || !self.dirty_agents.is_empty()
            || !self.removed_queues.is_empty()
            || !self.removed_agents.is_empty()
    }

    fn wallboard_json(
        queues: &BTreeMap<String, Arc<QueueSnapshot>>,
        agents: &BTreeMap<AgentId, Arc<AgentSnapshot>>,
        alerts: &BTreeMap<String, serde_json::Value>,
    ) -> String {
        #[derive(Serialize)]
        struct Wallboard<'a> {
            queues: Vec<QueueSummary<'a>>,
            agents: Vec<AgentSummary<'a>>,
            alerts: Vec<&'a serde_json::Value>,
        }
        json(&Wallboard {
            queues: queues.values().map(|q| QueueSummary::of(q)).collect(),
            agents: agents.values().map(|a| AgentSummary::of(a)).collect(),
            alerts: alerts.values().collect(),
        })
    }

    fn calls_json(calls: &[LiveCall]) -> String {
        #[derive(Serialize)]
        struct Calls<'a> {
            calls: &'a [LiveCall],
        }
        json(&Calls { calls })
    }

    /// Publishes what changed since the last flush; returns the frames queued.
    pub fn flush(
        &mut self,
        queues: &BTreeMap<String, Arc<QueueSnapshot>>,
        agents: &BTreeMap<AgentId, Arc<AgentSnapshot>>,
        calls: &[LiveCall],
    ) -> usize {
        let mut sent = 0;
        let epoch = self.epoch;
        let history = self.history;
        // Before the queues' deltas: a former member does not get the one that removed it.
        self.drop_former_members(queues);
        // queue:<name> and agent:<id>: the whole object is the delta.
        for name in &self.dirty_queues {
            let Some(q) = queues.get(name) else { continue };
            let topic_name = format!("queue:{}", q.name);
            let t = self
                .queues
                .entry(name.clone())
                .or_insert_with(|| Topic::new(Arc::from(topic_name.as_str()), epoch, history));
            let data = json(&**q);
            sent += t.publish(&data, &|| data.clone());
        }
        for name in &self.removed_queues {
            if let Some(t) = self.queues.get_mut(name) {
                sent += t.publish(r#"{"removed":true}"#, &|| r#"{"removed":true}"#.into());
            }
        }
        for id in &self.dirty_agents {
            let Some(a) = agents.get(id) else { continue };
            let t = self
                .agents
                .entry(*id)
                .or_insert_with(|| Topic::new(Arc::from(format!("agent:{}", id.0).as_str()), epoch, history));
            let data = json(&**a);
            sent += t.publish(&data, &|| data.clone());
        }
        for id in &self.removed_agents {
            if let Some(t) = self.agents.get_mut(id) {
                sent += t.publish(r#"{"removed":true}"#, &|| r#"{"removed":true}"#.into());
            }
        }
        // wallboard: the changed queues and agents.
        if !(self.dirty_queues.is_empty()
            && self.dirty_agents.is_empty()
            && self.removed_queues.is_empty()
            && self.removed_agents.is_empty())
        {
            #[derive(Serialize)]
            struct WallboardDelta<'a> {
                queues: Vec<QueueSummary<'a>>,
                agents: Vec<AgentSummary<'a>>,
                removed_queues: Vec<String>,
                removed_agents: Vec<AgentId>,
            }
            let delta = WallboardDelta {
                queues: self.dirty_queues.iter().filter_map(|n| queues.get(n)).map(|q| QueueSummary::of(q)).collect(),
                agents: self.dirty_agents.iter().filter_map(|a| agents.get(a)).map(|a| AgentSummary::of(a)).collect(),
                removed_queues: self.removed_queues.iter().map(|n| self.display(n)).collect(),
                removed_agents: self.removed_agents.iter().copied().collect(),
            };
            let data = json(&delta);
            let alerts = &self.alerts;
            sent += self.wallboard.publish(&data, &|| Self::wallboard_json(queues, agents, alerts));
        }
        // calls: the calls that changed or started, and those that ended.

        if self.calls_dirty {
            let now: BTreeMap<&str, &LiveCall> = calls.iter().map(|c| (c.linkedid.as_str(), c)).collect();
            let changed: Vec<&LiveCall> =
                calls.iter().filter(|c| self.published_calls.get(&c.linkedid) != Some(*c)).collect();
            let ended: Vec<&str> =
                self.published_calls.keys().map(String::as_str).filter(|l| !now.contains_key(l)).collect();
            if !changed.is_empty() || !ended.is_empty() {
                #[derive(Serialize)]
                struct CallsDelta<'a> {
                    calls: Vec<&'a LiveCall>,
                    ended: Vec<&'a str>,
                }
                let data = json(&CallsDelta { calls: changed, ended });
                sent += self.calls.publish(&data, &|| Self::calls_json(calls));
            }
            self.published_calls = calls.iter().map(|c| (c.linkedid.clone(), c.clone())).collect();
        }
        self.dirty_queues.clear();
        self.dirty_agents.clear();
        self.removed_queues.clear();
        self.removed_agents.clear();
        self.calls_dirty = false;
        sent
    }

    /// Subscribes an outbox to a topic (after checking who may), sending a snapshot or the
    /// missed deltas.
    pub fn subscribe(
        &mut self,
        topic: &str,
        since: Option<(u64, u64)>,
        outbox: Arc<Outbox>,
        who: Subscriber,
        views: Views<'_>,
    ) -> Result<Resume, SubscribeError> {
        let Views { queues, agents, calls } = views;
        let (epoch, history) = (self.epoch, self.history);
        match topic {
            "wallboard" | "calls" if !who.sees_all => {
                Err(SubscribeError::Forbidden(format!("agents may not follow {topic}")))
            }
            "wallboard" => {
                let alerts = &self.alerts;
                Ok(self.wallboard.subscribe(outbox, since, &|| Self::wallboard_json(queues, agents, alerts)))
            }
            "sms" => {
                let recent = &self.sms_recent;
                Ok(self.sms.subscribe(outbox, since, &|| json(&serde_json::json!({ "recent": recent }))))
            }
            "calls" => {
                // A new subscriber starts from what was last published.
                let published: Vec<LiveCall> = if self.published_calls.is_empty() {
                    calls.to_vec()
                } else {
                    self.published_calls.values().cloned().collect()
                };
                Ok(self.calls.subscribe(outbox, since, &|| Self::calls_json(&published)))
            }
            t => {
                if let Some(name) = t.strip_prefix("queue:") {
                    let asterisk = format!("{}{name}", self.prefix);
                    let q = queues.get(&asterisk).ok_or_else(|| SubscribeError::NoSuchTopic(t.to_string()))?;
                    if !who.sees_all && !q.members.iter().any(|m| m.agent == Some(who.agent)) {
                        return Err(SubscribeError::Forbidden(format!("you are not a member of queue {name}")));
                    }
                    if !who.sees_all {
                        self.member_only.retain(|(q, _, o)| !(q == &asterisk && Arc::ptr_eq(o, &outbox)));
                        self.member_only.push((asterisk.clone(), who.agent, outbox.clone()));
                    }
                    let topic = self.queues.entry(asterisk).or_insert_with(|| Topic::new(Arc::from(t), epoch, history));
                    let data = json(&**q);
                    return Ok(topic.subscribe(outbox, since, &|| data.clone()));
                }
                if let Some(id) = t.strip_prefix("agent:") {
                    let id = id.parse::<u64>().map(AgentId).map_err(|_| SubscribeError::NoSuchTopic(t.to_string()))?;
                    if !who.sees_all && id != who.agent {
                        return Err(SubscribeError::Forbidden("agents may follow only their own agent topic".into()));
                    }
                    let a = agents.get(&id).ok_or_else(|| SubscribeError::NoSuchTopic(t.to_string()))?;
                    let topic = self.agents.entry(id).or_insert_with(|| Topic::new(Arc::from(t), epoch, history));
                    let data = json(&**a);
                    return Ok(topic.subscribe(outbox, since, &|| data.clone()));
                }
                Err(SubscribeError::NoSuchTopic(t.to_string()))
            }
        }
    }

    fn find(&mut self, topic: &str) -> Option<&mut Topic> {
        match topic {
            "wallboard" => Some(&mut self.wallboard),
            "calls" => Some(&mut self.calls),
            "sms" => Some(&mut self.sms),
            t => {
                if let Some(name) = t.strip_prefix("queue:") {
                    let asterisk = format!("{}{name}", self.prefix);
                    return self.queues.get_mut(&asterisk);
                }
                let id = t.strip_prefix("agent:")?.parse::<u64>().ok()?;
                self.agents.get_mut(&AgentId(id))
            }
        }
    }

    pub fn unsubscribe(&mut self, topic: &str, outbox: &Arc<Outbox>) {
        if let Some(name) = topic.strip_prefix("queue:") {
            let asterisk = format!("{}{name}", self.prefix);
            self.member_only.retain(|(q, _, o)| !(q == &asterisk && Arc::ptr_eq(o, outbox)));
        }
        if let Some(t) = self.find(topic) {
            t.unsubscribe(outbox);
        }
    }

    /// Removes an outbox from every topic (its session ended).
    pub fn unsubscribe_all(&mut self, outbox: &Arc<Outbox>) {
        self.member_only.retain(|(_, _, o)| !Arc::ptr_eq(o, outbox));
        self.wallboard.unsubscribe(outbox);
        self.calls.unsubscribe(outbox);
        self.sms.unsubscribe(outbox);
        for t in self.queues.values_mut() {
            t.unsubscribe(outbox);
        }
        for t in self.agents.values_mut() {
            t.unsubscribe(outbox);
        }
    }

    /// Subscriber count of every topic with subscribers.
    pub fn subscriber_counts(&self) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        for t in [&self.wallboard, &self.calls, &self.sms]
            .into_iter()
            .chain(self.queues.values())
            .chain(self.agents.values())
        {
            if t.subscriber_count() > 0 {
                out.push((t.name().to_string(), t.subscriber_count()));
            }
        }
        out
    }
}
