//! Automatic traffic: callers arriving at a rate, ringing, talk times, patience, transfers.
//!
//! Driven by timers in sim time, so the same code runs in real time (`mayday sim`) and in
//! virtual time (recording a stream for the benches). Every random draw comes from the
//! world's seeded RNG: a seed gives the same traffic.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use rand::Rng;

use super::flows::TransferTarget;
use super::world::{CallId, CallKind, Phase, SimTime, World};

/// Traffic settings; every duration may be as short as a millisecond.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Traffic {
    pub calls_per_second: f64,
    pub mean_talk: Duration,
    pub mean_patience: Duration,
    pub min_ring: Duration,
    pub max_ring: Duration,
    /// Share of ring attempts that are not answered.
    pub no_answer_rate: f64,
    /// Share of answered calls that the agent transfers to another queue.
    pub transfer_rate: f64,
    /// How long a caller whose Queue() timed out stays in the dialplan before hanging up.
    pub after_queue: Duration,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            calls_per_second: 1.0,
            mean_talk: Duration::from_secs(90),
            mean_patience: Duration::from_secs(120),
            min_ring: Duration::from_secs(1),
            max_ring: Duration::from_secs(6),
            no_answer_rate: 0.1,
            transfer_rate: 0.05,
            after_queue: Duration::from_secs(3),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Arrival,
    /// Answer or give up ringing; the SimTime is the ring start it belongs to.
    RingEnd(CallId, SimTime, bool),
    TalkEnd(CallId, SimTime, bool),
    Transfer(CallId, SimTime),
    Patience(CallId, SimTime),
    QueueTimeout(CallId, SimTime),
    AfterQueueHangup(CallId),
    Dispatch,
}

/// The timer wheel of automatic traffic.
#[derive(Default)]
pub struct Auto {
    traffic: Option<Traffic>,
    timers: BinaryHeap<Reverse<(SimTime, u64, Timer)>>,
    seq: u64,
    callers: u64,
}

fn exp_sample(rng: &mut impl Rng, mean: Duration) -> Duration {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    Duration::from_secs_f64((-u.ln() * mean.as_secs_f64()).min(86_400.0))
}

impl Auto {
    pub fn new(traffic: Option<Traffic>) -> Self {
        let mut a = Auto { traffic, ..Default::default() };
        if a.traffic.is_some() {
            a.schedule(Duration::ZERO, Timer::Arrival);
        }
        a
    }

    pub fn enabled(&self) -> bool {
        self.traffic.is_some()
    }

    fn schedule(&mut self, at: SimTime, t: Timer) {
        self.seq += 1;
        self.timers.push(Reverse((at, self.seq, t)));
    }

    /// When the next timer is due.
    pub fn next_due(&self) -> Option<SimTime> {
        self.timers.peek().map(|Reverse((at, _, _))| *at)
    }

    /// After a restart: forget scheduled work, keep generating arrivals.
    pub fn reset(&mut self, now: SimTime) {
        self.timers.clear();
        if self.traffic.is_some() {
            self.schedule(now, Timer::Arrival);
        }
    }

    /// Runs every timer due at `now`. Returns true when the world may need a directory
    /// reload first (a caller is about to enter a queue).
    pub fn run_due(&mut self, world: &mut World, now: SimTime) {
        let Some(traffic) = self.traffic.clone() else {
            return;
        };
        while let Some(Reverse((at, _, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, _, timer))) = self.timers.pop() else {
                break;
            };
            self.run(world, &traffic, at, timer);
        }
    }

    fn run(&mut self, world: &mut World, traffic: &Traffic, now: SimTime, timer: Timer) {
        let phase_since = |world: &World, id: CallId| -> Option<(Phase, SimTime)> {
            let c = world.calls.get(&id)?;
            let since = match &c.phase {
                Phase::Ringing(leg) => leg.rang_at,
                Phase::Talking { since, .. } => *since,
                _ => c.joined_at,
            };
            Some((c.phase.clone(), since))
        };
        match timer {
            Timer::Arrival => {
                let gap = if traffic.calls_per_second > 0.0 {
                    exp_sample(&mut world.rng, Duration::from_secs_f64(1.0 / traffic.calls_per_second))
                } else {
                    Duration::from_secs(3600)
                };
                self.schedule(now + gap.max(Duration::from_micros(100)), Timer::Arrival);
                let queues: Vec<String> = world.queues.keys().cloned().collect();
                if queues.is_empty() {
                    return;
                }
                let q = queues[world.rng.random_range(0..queues.len())].clone();
                self.callers += 1;
                let num = format!("+2567{:08}", 10_000_000 + (self.callers % 90_000_000));
                if let Ok(id) = world.place_call(now, &q, &num, "") {
                    self.after_join(world, traffic, now, id);
                }
            }
            Timer::RingEnd(id, rang_at, answer) => {
                if let Some((Phase::Ringing(_), since)) = phase_since(world, id) {
                    if since == rang_at {
                        if answer {
                            if world.answer(now, id).is_ok() {
                                self.after_answer(world, traffic, now, id);
                            }
                        } else {
                            let _ = world.ring_no_answer(now, id);
                        }
                    }
                }
            }
            Timer::TalkEnd(id, since, by_agent) => {
                if let Some((Phase::Talking { .. }, s)) = phase_since(world, id) {
                    if s == since {
                        let kind = world.calls.get(&id).map(|c| c.kind);
                        let _ = world.end_talk(now, id, by_agent && kind != Some(CallKind::Outbound));
                    }
                }
            }
            Timer::Transfer(id, since) => {
                if let Some((Phase::Talking { queue: Some(from), .. }, s)) = phase_since(world, id) {
                    if s == since {
                        let others: Vec<String> = world.queues.keys().filter(|q| **q != from).cloned().collect();
                        if others.is_empty() {
                            let _ = world.end_talk(now, id, true);
                        } else {
                            let to = others[world.rng.random_range(0..others.len())].clone();
                            if world.transfer(now, id, &TransferTarget::Queue(to)).is_ok() {
                                self.after_join(world, traffic, now, id);
                            }
                        }
                    }
                }
            }
            Timer::Patience(id, joined) => {
                if let Some(c) = world.calls.get(&id) {
                    if c.joined_at == joined && matches!(c.phase, Phase::Waiting | Phase::Ringing(_)) {
                        let _ = world.abandon(now, id);
                    }
                }
            }
            Timer::QueueTimeout(id, joined) => {
                if let Some(c) = world.calls.get(&id) {
                    if c.joined_at == joined
                        && matches!(c.phase, Phase::Waiting | Phase::Ringing(_))
                        && world.timeout(now, id).is_ok()
                    {
                        self.schedule(now + traffic.after_queue, Timer::AfterQueueHangup(id));
                    }
                }
            }
            Timer::AfterQueueHangup(id) => {
                if world.calls.get(&id).is_some_and(|c| c.phase == Phase::AfterQueue) {
                    let _ = world.hangup_call(now, id);
                }
            }
            Timer::Dispatch => {}
        }
        self.dispatch(world, traffic, now);
        world.calls.retain(|_, c| c.phase != Phase::Ended);
    }

    fn after_join(&mut self, world: &mut World, traffic: &Traffic, now: SimTime, id: CallId) {
        let patience = exp_sample(&mut world.rng, traffic.mean_patience);
        self.schedule(now + patience, Timer::Patience(id, now));
        let max_wait = world
            .calls
            .get(&id)
            .and_then(|c| c.queue.as_ref())
            .and_then(|q| world.queues.get(q))
            .map(|q| q.def.max_wait_secs);
        if let Some(w) = max_wait.filter(|w| *w > 0) {
            self.schedule(now + Duration::from_secs(w as u64), Timer::QueueTimeout(id, now));
        }
    }

    fn after_answer(&mut self, world: &mut World, traffic: &Traffic, now: SimTime, id: CallId) {
        let talk = exp_sample(&mut world.rng, traffic.mean_talk).max(Duration::from_millis(1));
        if world.rng.random_bool(traffic.transfer_rate.clamp(0.0, 1.0)) {
            self.schedule(now + talk / 2, Timer::Transfer(id, now));
        } else {
            let by_agent = world.rng.random_bool(0.5);
            self.schedule(now + talk, Timer::TalkEnd(id, now, by_agent));
        }
    }

    /// Rings available members for waiting callers, longest waiting first.
    fn dispatch(&mut self, world: &mut World, traffic: &Traffic, now: SimTime) {
        let queues: Vec<String> = world.queues.keys().cloned().collect();
        for q in queues {
            let waiting: Vec<CallId> = world.queues.get(&q).map(|q| q.waiting.clone()).unwrap_or_default();
            for id in waiting {
                if !world.calls.get(&id).is_some_and(|c| c.phase == Phase::Waiting) {
                    continue;
                }
                let Some(member) = world.available_members(&q, now).into_iter().next() else {
                    break;
                };
                if world.ring(now, id, &member).is_err() {
                    continue;
                }
                let span = traffic.max_ring.saturating_sub(traffic.min_ring);
                let ring = traffic.min_ring + span.mul_f64(world.rng.random_range(0.0..=1.0));
                let answer = !world.rng.random_bool(traffic.no_answer_rate.clamp(0.0, 1.0));
                let ring_timeout =
                    Duration::from_secs(world.queues.get(&q).map(|q| q.def.ring_timeout_secs as u64).unwrap_or(15));
                let end = if answer { ring.min(ring_timeout) } else { ring_timeout };
                self.schedule(now + end, Timer::RingEnd(id, now, answer));
            }
        }
        // Members leave wrap-up without an event: look again when the next one does.
        let next_free = world
            .queues
            .values()
            .flat_map(|q| q.members.iter())
            .filter_map(|m| m.wrapup_until)
            .filter(|t| *t > now)
            .min();
        if let Some(t) = next_free {
            if !self.timers.iter().any(|Reverse((at, _, timer))| *timer == Timer::Dispatch && *at == t) {
                self.schedule(t, Timer::Dispatch);
            }
        }
    }
}
