//! A subscriber's bounded outbox. Publishers push into it without ever waiting; the
//! session drains it as its socket allows. When it is over its limits, the queued deltas of
//! the topic being pushed are replaced by one fresh snapshot of that topic (coalescing); a
//! subscriber still over the limits after that, or over them for too long, is closed as a
//! slow consumer. It never slows the publisher or the other subscribers.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::frame::{Frame, FrameKind};
use super::metrics::PushMetrics;

/// Why a session is (to be) closed; the WebSocket close code and text come from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    SlowConsumer,
    IdleTimeout,
    SessionEnded,
    Protocol,
    Normal,
    Shutdown,
}

impl CloseReason {
    /// WebSocket close code (4000-4999 are the application's).
    pub fn code(self) -> u16 {
        match self {
            CloseReason::Normal => 1000,
            CloseReason::Shutdown => 1001,
            CloseReason::Protocol => 1008,
            CloseReason::IdleTimeout => 4000,
            CloseReason::SessionEnded => 4001,
            CloseReason::SlowConsumer => 4008,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            CloseReason::Normal => "bye",
            CloseReason::Shutdown => "server shutting down",
            CloseReason::Protocol => "protocol error",
            CloseReason::IdleTimeout => "idle timeout",
            CloseReason::SessionEnded => "session ended (logged out, disabled or expired)",
            CloseReason::SlowConsumer => "too slow: the client did not keep up",
        }
    }
}

/// Limits of one outbox.
#[derive(Clone, Copy, Debug)]
pub struct OutboxLimits {
    pub max_frames: usize,
    pub max_bytes: usize,
    /// Over the limits for this long (even after coalescing) closes the subscriber.
    pub stuck_after: Duration,
}

impl Default for OutboxLimits {
    fn default() -> Self {
        OutboxLimits { max_frames: 256, max_bytes: 1024 * 1024, stuck_after: Duration::from_secs(10) }
    }
}

struct Inner {
    queue: VecDeque<Frame>,
    bytes: usize,
    closed: Option<CloseReason>,
    over_since: Option<Instant>,
}

/// What one drain step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drained {
    /// The outbox is closed (nothing was written): close the socket with this reason.
    pub closed: Option<CloseReason>,
    pub written: usize,
    /// Frames are still waiting (drain again).
    pub more: bool,
}

/// The outbox; shared (`Arc`) by the session and the publishers.
pub struct Outbox {
    inner: Mutex<Inner>,
    limits: OutboxLimits,
    metrics: Arc<PushMetrics>,
    /// Called when the outbox goes from empty to not empty (wakes the session).
    wake: Box<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl Outbox {
    pub fn new(limits: OutboxLimits, metrics: Arc<PushMetrics>, wake: impl Fn() + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Outbox {
            inner: Mutex::new(Inner { queue: VecDeque::new(), bytes: 0, closed: None, over_since: None }),
            limits,
            metrics,
            wake: Box::new(wake),
        })
    }

    fn over(&self, inner: &Inner) -> bool {
        inner.queue.len() > self.limits.max_frames || inner.bytes > self.limits.max_bytes
    }

    /// Queues a frame. `snapshot` gives the topic's current snapshot frame, used only if
    /// the outbox must coalesce. Returns false when the subscriber is closed.
    pub fn push(&self, frame: Frame, snapshot: impl FnOnce() -> Option<Frame>) -> bool {
        let mut inner = self.inner.lock();
        if inner.closed.is_some() {
            return false;
        }
        let was_empty = inner.queue.is_empty();
        inner.bytes += frame.len();
        let topic = frame.topic.clone();
        let kind = frame.kind;
        inner.queue.push_back(frame);
        PushMetrics::add(&self.metrics.pushed, 1);
        if self.over(&inner) && kind != FrameKind::Control {
            // Coalesce this topic: its queued frames go, one fresh snapshot replaces them.
            let before = inner.queue.len();
            inner.queue.retain(|f| f.topic != topic || f.kind == FrameKind::Control);
            let dropped = before - inner.queue.len();
            if let Some(s) = snapshot() {
                inner.queue.push_back(s);
            }
            inner.bytes = inner.queue.iter().map(Frame::len).sum();
            PushMetrics::add(&self.metrics.coalesced, 1);
            PushMetrics::add(&self.metrics.dropped, dropped as u64);
            let now = Instant::now();
            if self.over(&inner) {
                let since = *inner.over_since.get_or_insert(now);
                if now.duration_since(since) >= self.limits.stuck_after
                    || inner.queue.len() > self.limits.max_frames * 2
                {
                    inner.closed = Some(CloseReason::SlowConsumer);
                    inner.queue.clear();
                    inner.bytes = 0;
                    drop(inner);
                    self.metrics.count_close(CloseReason::SlowConsumer);
                    (self.wake)();
                    return false;
                }
            } else {
                inner.over_since = None;
            }
        }
        drop(inner);
        if was_empty {
            (self.wake)();
        }
        true
    }

    /// Takes up to `max` frames, oldest first.
    pub fn take(&self, max: usize) -> Vec<Frame> {
        let mut out = Vec::new();
        self.drain_with(max, |f| out.push(f));
        out
    }

    /// Hands up to `max` frames, oldest first, to `write`, under one lock and with no
    /// allocation (the session's drain step). `write` must not touch this outbox.
    pub fn drain_with(&self, max: usize, mut write: impl FnMut(Frame)) -> Drained {
        let mut inner = self.inner.lock();
        if let Some(reason) = inner.closed {
            return Drained { closed: Some(reason), written: 0, more: false };
        }
        let mut written = 0;
        while written < max {
            let Some(frame) = inner.queue.pop_front() else { break };
            inner.bytes -= frame.len();
            write(frame);
            written += 1;
        }
        if !self.over(&inner) {
            inner.over_since = None;
        }
        Drained { closed: None, written, more: !inner.queue.is_empty() }
    }

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.inner.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the outbox (the session reads the reason and closes the socket).
    pub fn close(&self, reason: CloseReason) {
        let mut inner = self.inner.lock();
        if inner.closed.is_none() {
            inner.closed = Some(reason);
            inner.queue.clear();
            inner.bytes = 0;
            drop(inner);
            (self.wake)();
        }
    }

    pub fn closed(&self) -> Option<CloseReason> {
        self.inner.lock().closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn frame(topic: &str, kind: FrameKind, seq: u64) -> Frame {
        Frame::build(&Arc::from(topic), kind, 1, seq, "{}")
    }

    #[test]
    fn wakes_once_when_it_fills_and_drains_in_order() {
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        let o = Outbox::new(OutboxLimits::default(), Arc::new(PushMetrics::default()), move || {
            w.fetch_add(1, Ordering::Relaxed);
        });
        for seq in 1..=3 {
            assert!(o.push(frame("wallboard", FrameKind::Delta, seq), || None));
        }
        assert_eq!(wakes.load(Ordering::Relaxed), 1);
        let seqs: Vec<u64> = o.take(10).iter().map(|f| f.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert!(o.is_empty());
    }

    #[test]
    fn a_drain_step_writes_at_most_its_batch_and_says_what_is_left() {
        let o = Outbox::new(OutboxLimits::default(), Arc::new(PushMetrics::default()), || {});
        for seq in 1..=3 {
            o.push(frame("wallboard", FrameKind::Delta, seq), || None);
        }
        let mut seqs = Vec::new();
        let d = o.drain_with(2, |f| seqs.push(f.seq));
        assert_eq!((seqs.as_slice(), d.written, d.more, d.closed), (&[1, 2][..], 2, true, None));
        let d = o.drain_with(2, |f| seqs.push(f.seq));
        assert_eq!((seqs.as_slice(), d.more), (&[1, 2, 3][..], false));
        o.close(CloseReason::IdleTimeout);
        assert_eq!(o.drain_with(2, |_| {}).closed, Some(CloseReason::IdleTimeout));
    }

    #[test]
    fn a_full_outbox_coalesces_the_topic_into_one_snapshot_and_keeps_others() {
        let metrics = Arc::new(PushMetrics::default());
        let limits = OutboxLimits { max_frames: 5, max_bytes: usize::MAX, stuck_after: Duration::from_secs(60) };
        let o = Outbox::new(limits, metrics.clone(), || {});
        o.push(frame("calls", FrameKind::Delta, 1), || None);
        for seq in 1..=4 {
            o.push(frame("wallboard", FrameKind::Delta, seq), || None);
        }
        // The fifth frame overflows: wallboard's deltas become one snapshot at seq 5.
        o.push(frame("wallboard", FrameKind::Delta, 5), || Some(frame("wallboard", FrameKind::Snapshot, 5)));
        let frames = o.take(10);
        let shape: Vec<(&str, FrameKind, u64)> = frames.iter().map(|f| (&*f.topic, f.kind, f.seq)).collect();
        assert_eq!(shape, [("calls", FrameKind::Delta, 1), ("wallboard", FrameKind::Snapshot, 5)]);
        assert_eq!(metrics.coalesced.load(Ordering::Relaxed), 1);
        assert_eq!(metrics.dropped.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn a_subscriber_that_stays_over_its_limits_is_closed_as_slow() {
        let metrics = Arc::new(PushMetrics::default());
        let limits = OutboxLimits { max_frames: 2, max_bytes: usize::MAX, stuck_after: Duration::ZERO };
        let o = Outbox::new(limits, metrics.clone(), || {});
        // Three topics' snapshots do not fit in two frames: coalescing cannot help.
        for t in ["a", "b", "c"] {
            o.push(frame(t, FrameKind::Delta, 1), || Some(frame(t, FrameKind::Snapshot, 1)));
        }
        assert_eq!(o.closed(), Some(CloseReason::SlowConsumer));
        assert!(!o.push(frame("a", FrameKind::Delta, 2), || None), "a closed outbox takes nothing");
        assert_eq!(metrics.closed_slow.load(Ordering::Relaxed), 1);
    }
}
