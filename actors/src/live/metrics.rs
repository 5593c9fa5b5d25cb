//! Counters of the live side for `GET /metrics` (the server renders them).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::ami::ConnectKind;

/// One tenant's counters.
#[derive(Debug, Default)]
pub struct TenantMetrics {
    pub events: AtomicU64,
    /// Time from the socket read to the tenant handling the batch: last and maximum, in
    /// microseconds.
    pub lag_last_us: AtomicU64,
    pub lag_max_us: AtomicU64,
    pub resyncs_first: AtomicU64,
    pub resyncs_reconnected: AtomicU64,
    pub resyncs_restarted: AtomicU64,
    /// Changes whenever the call list changes.
    pub calls_version: AtomicU64,
}

impl TenantMetrics {
    pub fn add_events(&self, n: usize) {
        self.events.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn observe_lag(&self, lag: Duration) {
        let us = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
        self.lag_last_us.store(us, Ordering::Relaxed);
        self.lag_max_us.fetch_max(us, Ordering::Relaxed);
    }

    pub fn count_resync(&self, kind: ConnectKind) {
        let c = match kind {
            ConnectKind::First => &self.resyncs_first,
            ConnectKind::Reconnected => &self.resyncs_reconnected,
            ConnectKind::Restarted => &self.resyncs_restarted,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn bump_calls_version(&self) {
        self.calls_version.fetch_add(1, Ordering::Relaxed);
    }
}

/// One PBX router's counters (the link keeps its own: `LinkMetrics`).
#[derive(Debug, Default)]
pub struct PbxMetrics {
    pub events_routed: AtomicU64,
    /// Events no tenant of the PBX claimed (dropped, never shown to a wrong tenant).
    pub events_unrouted: AtomicU64,
    pub resyncs_reconnected: AtomicU64,
    pub resyncs_restarted: AtomicU64,
    pub resync_failures: AtomicU64,
}

impl PbxMetrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
