//! The agent actor: owns an [`AgentState`], applies its tenant's facts, ends wrap-up on
//! time, reports each changed snapshot to the tenant and persists today's counters.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::state::{AgentSnapshot, AgentState};
use crate::live::facts::AgentFact;
use crate::live::ids::{now_ms, TenantId};
use crate::live::spec::PauseState;
use crate::live::store::LiveStore;

/// Facts for this agent, in event order, at `now`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentFacts(pub Vec<AgentFact>, pub crate::live::Millis);

/// Mayday's own pause of the agent (`None`: not paused).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetMaydayPause(pub Option<PauseState>);

/// A new day began in the tenant's time zone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentRollDay(pub chrono::NaiveDate);

/// The current snapshot.
#[derive(Message)]
#[rtype(result = "Arc<AgentSnapshot>")]
pub struct GetAgent;

/// An agent's snapshot changed (sent to the tenant).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentUpdated(pub Arc<AgentSnapshot>);

pub struct AgentActor {
    tenant: TenantId,
    state: AgentState,
    last: Arc<AgentSnapshot>,
    report_to: Recipient<AgentUpdated>,
    store: Arc<dyn LiveStore>,
    persist_after: Duration,
    wrapup_timer: Option<SpawnHandle>,
    flush: Option<SpawnHandle>,
    dirty: bool,
}

impl AgentActor {
    pub fn new(
        tenant: TenantId,
        state: AgentState,
        report_to: Recipient<AgentUpdated>,
        store: Arc<dyn LiveStore>,
        persist_after: Duration,
    ) -> Self {
        let last = Arc::new(state.snapshot());
        AgentActor {
            tenant,
            state,
            last,
            report_to,
            store,
            persist_after,
            wrapup_timer: None,
            flush: None,
            dirty: false,
        }
    }

    fn publish(&mut self, ctx: &mut Context<Self>) {
        let snap = self.state.snapshot();
        if snap.today != self.last.today {
            self.dirty = true;
            if self.flush.is_none() {
                self.flush = Some(ctx.run_later(self.persist_after, |act, _| act.persist()));
            }
        }
        if *self.last != snap {
            self.last = Arc::new(snap);
            self.report_to.do_send(AgentUpdated(self.last.clone()));
        }
        self.arm_wrapup(ctx);
    }

    /// Wakes the actor when wrap-up ends.
    fn arm_wrapup(&mut self, ctx: &mut Context<Self>) {
        if let Some(h) = self.wrapup_timer.take() {
            ctx.cancel_future(h);
        }
        if let Some(until) = self.state.wrapup_until() {
            let wait = Duration::from_millis(u64::try_from((until - now_ms()).max(0)).unwrap_or(0));
            self.wrapup_timer = Some(ctx.run_later(wait, |act, ctx| {
                act.wrapup_timer = None;
                if act.state.tick(now_ms()) {
                    act.publish(ctx);
                } else if act.state.wrapup_until().is_some() {
                    act.arm_wrapup(ctx);
                }
            }));
        }
    }

    fn persist(&mut self) {
        self.flush = None;
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let fut = self.store.save_agent_counters(self.tenant, self.state.id(), self.state.day(), self.state.counters());
        actix::spawn(async move {
            if let Err(e) = fut.await {
                tracing::warn!(error = %e, "could not persist agent counters");
            }
        });
    }
}

impl Actor for AgentActor {
    type Context = Context<Self>;

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.persist();
        Running::Stop
    }
}

impl Handler<AgentFacts> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: AgentFacts, ctx: &mut Context<Self>) {
        for fact in msg.0 {
            self.state.apply(fact, msg.1);
        }
        self.publish(ctx);
    }
}

impl Handler<SetMaydayPause> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: SetMaydayPause, ctx: &mut Context<Self>) {
        self.state.set_mayday_pause(msg.0, now_ms());
        self.publish(ctx);
    }
}

impl Handler<AgentRollDay> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: AgentRollDay, ctx: &mut Context<Self>) {
        if self.state.roll_day(msg.0, now_ms()) {
            self.dirty = true;
            self.publish(ctx);
        }
    }
}

impl Handler<GetAgent> for AgentActor {
    type Result = MessageResult<GetAgent>;

    fn handle(&mut self, _: GetAgent, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.last.clone())
    }
}
