//! Fault injection for the flush path, so tests can prove the durability
//! rule when the disk is slow or failing without needing a broken disk.
//!
//! A [`FlushFaults`] handle is passed to [`crate::Store::open_with_faults`];
//! the flusher thread consults it before every journal commit and every
//! checkpoint (`sled::Db::flush`). The binary
//! never constructs one (no flag reaches it), so production stores always
//! run with no faults. Settings change while the store runs: a test turns a
//! failure on, watches what clients see, and turns it off again to see the
//! chart recover.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// What the flusher should do wrong, shared between a test and the store.
#[derive(Debug, Default)]
pub struct FlushFaults {
    delay_ms: AtomicU64,
    fail: AtomicBool,
    /// Flushes the flusher has begun (counted before the delay).
    begun: AtomicU64,
    /// Flushes that reached sled and succeeded.
    succeeded: AtomicU64,
    /// Flushes this hook made fail.
    failed: AtomicU64,
}

impl FlushFaults {
    /// Every flush waits this long before it starts (a slow disk).
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// While set, every flush fails without writing (an IO error).
    pub fn set_failing(&self, fail: bool) {
        self.fail.store(fail, Ordering::SeqCst);
    }

    /// Flushes begun so far: a test knows one is under way (held by the
    /// delay) without guessing how long the flusher takes to get there.
    pub fn begun(&self) -> u64 {
        self.begun.load(Ordering::SeqCst)
    }

    /// Flushes that completed successfully so far.
    pub fn succeeded(&self) -> u64 {
        self.succeeded.load(Ordering::SeqCst)
    }

    /// Flushes that were made to fail so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    /// Called by the flusher thread before a flush: sleeps for the delay,
    /// then says whether this flush must fail.
    pub(crate) fn before_flush(&self) -> Result<(), String> {
        self.begun.fetch_add(1, Ordering::SeqCst);
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        if self.fail.load(Ordering::SeqCst) {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err("injected flush failure".into());
        }
        Ok(())
    }

    pub(crate) fn after_flush(&self) {
        self.succeeded.fetch_add(1, Ordering::SeqCst);
    }
}
