//! Counters of the push layer, for `GET /metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

use super::outbox::CloseReason;

#[derive(Debug, Default)]
pub struct PushMetrics {
    /// Frames handed to subscribers' outboxes.
    pub pushed: AtomicU64,
    /// Frames a session actually wrote to its socket.
    pub delivered: AtomicU64,
    /// Times a slow subscriber's queued deltas were replaced by one snapshot.
    pub coalesced: AtomicU64,
    /// Deltas dropped by coalescing.
    pub dropped: AtomicU64,
    pub sessions: AtomicU64,
    pub closed_slow: AtomicU64,
    pub closed_idle: AtomicU64,
    pub closed_revoked: AtomicU64,
    pub closed_protocol: AtomicU64,
    pub closed_normal: AtomicU64,
    pub closed_shutdown: AtomicU64,
}

impl PushMetrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn count_close(&self, reason: CloseReason) {
        let c = match reason {
            CloseReason::SlowConsumer => &self.closed_slow,
            CloseReason::IdleTimeout => &self.closed_idle,
            CloseReason::SessionEnded => &self.closed_revoked,
            CloseReason::Protocol => &self.closed_protocol,
            CloseReason::Normal => &self.closed_normal,
            CloseReason::Shutdown => &self.closed_shutdown,
        };
        Self::add(c, 1);
    }
}
