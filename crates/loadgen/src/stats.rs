//! Counters every connection task updates, latencies per phase, and the
//! server's (and our own) CPU and RSS from `/proc`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Most phases (ramp steps) one run may have.
pub const MAX_PHASES: usize = 64;

/// Counters for one phase. "sent" and "delivered" are attributed to the
/// phase an update was *sent* in (its marker says which), so a delivery that
/// arrives after its phase ended is still matched with its send; "arrived"
/// counts deliveries by *arrival* time, which is what throughput is.
#[derive(Default)]
pub struct PhaseCounters {
    pub sent: AtomicU64,
    /// Deliveries the sends should cause: each send adds its room's other
    /// clients.
    pub expected: AtomicU64,
    pub delivered: AtomicU64,
    pub arrived: AtomicU64,
    pub awareness_sent: AtomicU64,
    pub awareness_recv: AtomicU64,
    pub bytes_in: AtomicU64,
    /// Writer ticks that found the writer already a full period late: the
    /// generator could not keep the offered rate.
    pub late_ticks: AtomicU64,
}

pub struct Shared {
    pub epoch: Instant,
    pub phase: AtomicU64,
    pub phases: Vec<PhaseCounters>,
    latencies: Vec<Mutex<Vec<u32>>>,
    pub connected: AtomicU64,
    pub connect_failures: AtomicU64,
    pub disconnects: AtomicU64,
    pub synced: AtomicU64,
    pub bad_updates: AtomicU64,
    sync_times: Mutex<Vec<u32>>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            epoch: Instant::now(),
            phase: AtomicU64::new(0),
            phases: (0..MAX_PHASES).map(|_| PhaseCounters::default()).collect(),
            latencies: (0..MAX_PHASES).map(|_| Mutex::new(Vec::new())).collect(),
            connected: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            bad_updates: AtomicU64::new(0),
            sync_times: Mutex::new(Vec::new()),
        }
    }
}

impl Shared {
    pub fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    pub fn phase(&self) -> usize {
        (self.phase.load(Relaxed) as usize).min(MAX_PHASES - 1)
    }

    pub fn counters(&self) -> &PhaseCounters {
        &self.phases[self.phase()]
    }

    pub fn record_latency(&self, phase: u32, micros: u64) {
        let p = (phase as usize).min(MAX_PHASES - 1);
        self.phases[p].delivered.fetch_add(1, Relaxed);
        if let Ok(mut v) = self.latencies[p].lock() {
            v.push(micros.min(u64::from(u32::MAX)) as u32);
        }
    }

    pub fn record_sync(&self, took: Duration) {
        self.synced.fetch_add(1, Relaxed);
        if let Ok(mut v) = self.sync_times.lock() {
            v.push(took.as_micros().min(u128::from(u32::MAX)) as u32);
        }
    }

    pub fn take_latencies(&self, phase: usize) -> Vec<u32> {
        self.latencies[phase]
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }

    pub fn take_sync_times(&self) -> Vec<u32> {
        self.sync_times
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of(mut micros: Vec<u32>) -> Self {
        if micros.is_empty() {
            return Percentiles::default();
        }
        micros.sort_unstable();
        let at = |q: f64| {
            let i = ((micros.len() as f64 * q).ceil() as usize).clamp(1, micros.len()) - 1;
            f64::from(micros[i]) / 1000.0
        };
        Percentiles {
            count: micros.len() as u64,
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: f64::from(*micros.last().unwrap_or(&0)) / 1000.0,
        }
    }
}

/// CPU ticks and RSS of one process at one instant.
#[derive(Debug, Clone, Copy)]
pub struct ProcSample {
    pub at: Instant,
    /// utime + stime, in clock ticks (USER_HZ, 100 on Linux).
    pub ticks: u64,
    pub rss_bytes: u64,
}

const USER_HZ: f64 = 100.0;

impl ProcSample {
    /// `pid` None: this process.
    pub fn take(pid: Option<u32>) -> Option<ProcSample> {
        let dir = match pid {
            Some(p) => format!("/proc/{p}"),
            None => "/proc/self".to_owned(),
        };
        let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
        // Fields after the parenthesised command name; utime, stime are 14, 15.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
        let rss_kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Some(ProcSample {
            at: Instant::now(),
            ticks: utime + stime,
            rss_bytes: rss_kb * 1024,
        })
    }

    /// CPU used between two samples, in percent of one core.
    pub fn cpu_percent(&self, later: &ProcSample) -> f64 {
        let secs = later.at.duration_since(self.at).as_secs_f64();
        if secs <= 0.0 {
            return 0.0;
        }
        (later.ticks.saturating_sub(self.ticks)) as f64 / USER_HZ / secs * 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_ranks() {
        let p = Percentiles::of((1..=1000).map(|i| i * 1000).collect());
        assert_eq!(p.count, 1000);
        assert_eq!(p.p50_ms, 500.0);
        assert_eq!(p.p99_ms, 990.0);
        assert_eq!(p.p999_ms, 999.0);
        assert_eq!(p.max_ms, 1000.0);
    }

    #[test]
    fn samples_this_process() {
        let s = ProcSample::take(None).expect("/proc/self");
        assert!(s.rss_bytes > 0);
    }
}
