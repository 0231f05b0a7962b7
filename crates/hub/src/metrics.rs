//! Counters the hub keeps for `/metrics`. Plain atomics: the hot path only
//! ever increments, the scraper only reads, and nothing needs a lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// Hub-wide counters and gauges. Counters only grow; gauges go up and down.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Gauge: open WebSocket connections.
    pub connections: AtomicU64,
    /// Counter: connections accepted since start.
    pub connections_total: AtomicU64,
    /// Counter: updates applied and stored.
    pub updates_in: AtomicU64,
    /// Counter: messages handed to connections' queues.
    pub messages_out: AtomicU64,
    /// Counter: bytes received in binary frames.
    pub bytes_in: AtomicU64,
    /// Counter: bytes handed to connections' queues.
    pub bytes_out: AtomicU64,
    /// Counter: connections closed because their queue was full.
    pub queue_full_disconnects: AtomicU64,
    /// Counter: undecodable or invalid messages.
    pub protocol_errors: AtomicU64,
    /// Counter: updates refused from read-only connections.
    pub read_only_refusals: AtomicU64,
    /// Counter: compactions of a chart log into a snapshot.
    pub compactions: AtomicU64,
    /// Counter: flushes that failed (writers were closed with 1013).
    pub flush_failures: AtomicU64,
    /// Counter: panics caught in yrs while handling client input.
    pub panics_caught: AtomicU64,
    /// Counter: refused tokens and origins (counted by the binary).
    pub auth_failures: AtomicU64,
    /// Counter: chart loads (first connection after unload or start).
    pub chart_loads: AtomicU64,
    /// Counter: chart unloads after idling.
    pub chart_unloads: AtomicU64,
    /// Counter: updates other cluster nodes stored, applied here.
    pub remote_updates_in: AtomicU64,
    /// Sum and count of microseconds spent waiting for durability per batch,
    /// and a histogram by bucket (see [`FLUSH_BUCKETS_US`]).
    pub flush_wait_us_sum: AtomicU64,
    pub flush_wait_count: AtomicU64,
    pub flush_wait_buckets: [AtomicU64; FLUSH_BUCKETS_US.len()],
}

/// Upper bounds (microseconds) of the flush-wait histogram buckets.
pub const FLUSH_BUCKETS_US: [u64; 10] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 1_000_000,
];

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn observe_flush_wait(&self, us: u64) {
        Self::add(&self.flush_wait_us_sum, us);
        Self::inc(&self.flush_wait_count);
        for (i, bound) in FLUSH_BUCKETS_US.iter().enumerate() {
            if us <= *bound {
                Self::inc(&self.flush_wait_buckets[i]);
            }
        }
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
