//! One topic: a sequence number, a bounded history of its recent deltas (for resuming), a
//! cached snapshot frame, and its subscribers' outboxes. Every payload is serialised once
//! and the same frame is queued for every subscriber.

use std::collections::VecDeque;
use std::sync::Arc;

use super::frame::{Frame, FrameKind, TopicName};
use super::outbox::Outbox;

/// What a subscriber receives when it (re)subscribes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// A fresh snapshot (first subscription, or the missed deltas are gone).
    Snapshot,
    /// The missed deltas were replayed (possibly none).
    Replayed(usize),
}

pub struct Topic {
    name: TopicName,
    /// Changes whenever the publisher starts again: sequence numbers of another epoch mean
    /// nothing, so a client resuming from one gets a snapshot.
    epoch: u64,
    seq: u64,
    history: VecDeque<Frame>,
    history_cap: usize,
    snapshot: Option<Frame>,
    subscribers: Vec<Arc<Outbox>>,
}

impl Topic {
    pub fn new(name: TopicName, epoch: u64, history_cap: usize) -> Self {
        Topic { name, epoch, seq: 0, history: VecDeque::new(), history_cap, snapshot: None, subscribers: Vec::new() }
    }

    pub fn name(&self) -> &TopicName {
        &self.name
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn subscriber_count(&self) -> usize {
        self.subscribers.len()
    }

    fn snapshot_frame(&mut self, snapshot_json: &dyn Fn() -> String) -> Frame {
        if let Some(s) = self.snapshot.as_ref().filter(|s| s.seq == self.seq) {
            return s.clone();
        }
        let s = Frame::build(&self.name, FrameKind::Snapshot, self.epoch, self.seq, &snapshot_json());
        self.snapshot = Some(s.clone());
        s
    }

    /// Publishes a delta (already JSON) to every subscriber. `snapshot_json` renders the
    /// topic's state now; it is called at most once, and only if a subscriber coalesces.
    /// Returns the subscribers it reached.
    pub fn publish(&mut self, delta_json: &str, snapshot_json: &dyn Fn() -> String) -> usize {
        self.seq += 1;
        self.snapshot = None;
        let frame = Frame::build(&self.name, FrameKind::Delta, self.epoch, self.seq, delta_json);
        self.history.push_back(frame.clone());
        while self.history.len() > self.history_cap {
            self.history.pop_front();
        }
        if self.subscribers.is_empty() {
            return 0;
        }
        let mut snap: Option<Frame> = None;
        let (name, epoch, seq) = (self.name.clone(), self.epoch, self.seq);
        self.subscribers.retain(|o| {
            o.push(frame.clone(), || {
                Some(
                    snap.get_or_insert_with(|| Frame::build(&name, FrameKind::Snapshot, epoch, seq, &snapshot_json()))
                        .clone(),
                )
            })
        });
        if let Some(s) = snap {
            self.snapshot = Some(s);
        }
        self.subscribers.len()
    }

    /// Adds a subscriber. With `since` = the (epoch, seq) it last saw, it gets exactly the
    /// deltas it missed when the history still holds them, else a snapshot.
    pub fn subscribe(
        &mut self,
        outbox: Arc<Outbox>,
        since: Option<(u64, u64)>,
        snapshot_json: &dyn Fn() -> String,
    ) -> Resume {
        self.unsubscribe(&outbox);
        let oldest = self.history.front().map(|f| f.seq).unwrap_or(self.seq + 1);
        let resume = match since {
            Some((epoch, seq)) if epoch == self.epoch && seq <= self.seq && seq + 1 >= oldest => {
                let missed: Vec<Frame> = self.history.iter().filter(|f| f.seq > seq).cloned().collect();
                let n = missed.len();
                for f in missed {
                    outbox.push(f, || None);
                }
                Resume::Replayed(n)
            }
            _ => {
                let s = self.snapshot_frame(snapshot_json);
                outbox.push(s, || None);
                Resume::Snapshot
            }
        };
        self.subscribers.push(outbox);
        resume
    }

    pub fn unsubscribe(&mut self, outbox: &Arc<Outbox>) {
        self.subscribers.retain(|o| !Arc::ptr_eq(o, outbox));
    }

    /// Drops subscribers whose outbox is closed.
    pub fn prune(&mut self) {
        self.subscribers.retain(|o| o.closed().is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::metrics::PushMetrics;
    use crate::push::outbox::OutboxLimits;

    fn outbox() -> Arc<Outbox> {
        Outbox::new(OutboxLimits::default(), Arc::new(PushMetrics::default()), || {})
    }

    fn seqs(o: &Outbox) -> Vec<(FrameKind, u64)> {
        o.take(100).iter().map(|f| (f.kind, f.seq)).collect()
    }

    #[test]
    fn a_subscriber_gets_a_snapshot_then_numbered_deltas() {
        let mut t = Topic::new(Arc::from("wallboard"), 9, 8);
        t.publish("{}", &|| "{}".into());
        let o = outbox();
        assert_eq!(t.subscribe(o.clone(), None, &|| "{\"n\":1}".into()), Resume::Snapshot);
        t.publish("{}", &|| "{}".into());
        t.publish("{}", &|| "{}".into());
        assert_eq!(seqs(&o), [(FrameKind::Snapshot, 1), (FrameKind::Delta, 2), (FrameKind::Delta, 3)]);
    }

    #[test]
    fn resuming_replays_exactly_the_missed_deltas_or_sends_a_snapshot() {
        let mut t = Topic::new(Arc::from("calls"), 9, 4);
        for _ in 0..6 {
            t.publish("{}", &|| "{}".into());
        }
        let o = outbox();
        assert_eq!(t.subscribe(o.clone(), Some((9, 4)), &|| "{}".into()), Resume::Replayed(2));
        assert_eq!(seqs(&o), [(FrameKind::Delta, 5), (FrameKind::Delta, 6)]);
        assert_eq!(t.subscribe(o.clone(), Some((9, 6)), &|| "{}".into()), Resume::Replayed(0), "nothing missed");
        assert_eq!(t.subscribe(o.clone(), Some((9, 1)), &|| "{}".into()), Resume::Snapshot, "delta 2 is gone");
        assert_eq!(t.subscribe(o.clone(), Some((8, 5)), &|| "{}".into()), Resume::Snapshot, "another epoch");
        assert_eq!(t.subscribe(o.clone(), Some((9, 99)), &|| "{}".into()), Resume::Snapshot, "ahead of the topic");
        assert_eq!(t.subscriber_count(), 1);
    }
}
