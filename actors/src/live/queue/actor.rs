//! The queue actor: owns a [`QueueState`], applies its tenant's facts in batches, reports
//! each changed snapshot back to the tenant (which publishes it), and persists today's
//! counters shortly after they change.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::state::{QueueSnapshot, QueueState};
use crate::live::facts::QueueFact;
use crate::live::ids::TenantId;
use crate::live::spec::QueueSettings;
use crate::live::store::LiveStore;

/// Facts for this queue, in event order.
#[derive(Message)]
#[rtype(result = "()")]
pub struct QueueFacts(pub Vec<QueueFact>);

/// Mayday's settings of the queue changed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetQueueSettings(pub QueueSettings);

/// A new day began in the tenant's time zone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RollDay(pub chrono::NaiveDate);

/// The current snapshot.
#[derive(Message)]
#[rtype(result = "Arc<QueueSnapshot>")]
pub struct GetQueue;

/// A queue's snapshot changed (sent to the tenant).
#[derive(Message)]
#[rtype(result = "()")]
pub struct QueueUpdated(pub Arc<QueueSnapshot>);

pub struct QueueActor {
    tenant: TenantId,
    state: QueueState,
    last: Arc<QueueSnapshot>,
    report_to: Recipient<QueueUpdated>,
    store: Arc<dyn LiveStore>,
    persist_after: Duration,
    dirty: bool,
    flush: Option<SpawnHandle>,
}

impl QueueActor {
    pub fn new(
        tenant: TenantId,
        state: QueueState,
        report_to: Recipient<QueueUpdated>,
        store: Arc<dyn LiveStore>,
        persist_after: Duration,
    ) -> Self {
        let last = Arc::new(state.snapshot());
        QueueActor { tenant, state, last, report_to, store, persist_after, dirty: false, flush: None }
    }

    fn publish(&mut self) {
        if !self.state.take_dirty() {
            return;
        }
        let snap = self.state.snapshot();
        if *self.last != snap {
            self.last = Arc::new(snap);
            self.report_to.do_send(QueueUpdated(self.last.clone()));
        }
    }

    fn counters_changed(&mut self, ctx: &mut Context<Self>) {
        self.dirty = true;
        if self.flush.is_none() {
            self.flush = Some(ctx.run_later(self.persist_after, |act, _| act.persist()));
        }
    }

    fn persist(&mut self) {
        self.flush = None;
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let fut = self.store.save_queue_counters(
            self.tenant,
            &self.last.asterisk_name,
            self.state.day(),
            self.state.counters(),
        );
        let queue = self.last.asterisk_name.clone();
        actix::spawn(async move {
            if let Err(e) = fut.await {
                tracing::warn!(queue = %queue, error = %e, "could not persist queue counters");
            }
        });
    }
}

impl Actor for QueueActor {
    type Context = Context<Self>;

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.persist();
        Running::Stop
    }
}

impl Handler<QueueFacts> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: QueueFacts, ctx: &mut Context<Self>) {
        let mut counters = false;
        for fact in msg.0 {
            counters |= self.state.apply(fact);
        }
        if counters {
            self.counters_changed(ctx);
        }
        self.publish();
    }
}

impl Handler<SetQueueSettings> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: SetQueueSettings, _: &mut Context<Self>) {
        self.state.set_settings(msg.0);
        self.publish();
    }
}

impl Handler<RollDay> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: RollDay, ctx: &mut Context<Self>) {
        if self.state.roll_day(msg.0) {
            self.counters_changed(ctx);
            self.publish();
        }
    }
}

impl Handler<GetQueue> for QueueActor {
    type Result = MessageResult<GetQueue>;

    fn handle(&mut self, _: GetQueue, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.last.clone())
    }
}
