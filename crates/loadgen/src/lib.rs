//! `easel-loadgen`: a Yjs load generator for any y-websocket server.
//!
//! Clients are real y-websocket peers as far as the server can tell: they
//! open with SyncStep1 and an awareness state, answer the server's
//! SyncStep1, type into the `notes` XmlFragment through their own `yrs::Doc`
//! (so every update is one a browser could have sent), renew presence, and
//! decode every update they receive. Latency is measured on the process's
//! one monotonic clock: each typed update carries a marker with its send time
//! ([`marker::Marker`]), found again in the bytes the receivers get.
//!
//! Scenarios (one function each, the binary exposes them as subcommands):
//! - [`traffic`]: C clients in rooms of K, W typists per room, a ramp of
//!   per-typist rates (one step = a steady run); stops at the first step
//!   whose p99 passes a threshold. Saturation, conference burst and durable
//!   updates/s are all this with different numbers.
//! - [`memory`]: server RSS with charts loaded, then per idle connection.
//! - [`join_storm`]: many clients join one large chart at once.
//! - [`populate`] and [`load`]: write N charts, then (after a server
//!   restart) open each and time its first sync.
//!
//! Everything is counted, nothing is asserted: the report says what was
//! sent, what arrived, and what went missing.

pub mod client;
mod connections;
pub mod marker;
pub mod stats;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use client::Target;
use client::{ClientSpec, Control};
use stats::{Percentiles, ProcSample, Shared};

/// Things every scenario shares.
#[derive(Debug, Clone)]
pub struct Common {
    pub target: Target,
    /// Chart ids to use, in order; when fewer than needed, generated ids
    /// `{chart_prefix}-{i}` fill up the rest.
    pub charts: Vec<String>,
    pub chart_prefix: String,
    /// Server process to sample CPU and RSS from.
    pub server_pid: Option<u32>,
    pub seed: u64,
    /// Decode received updates with yrs.
    pub decode: bool,
    /// Handshakes in flight at once.
    pub connect_concurrency: usize,
}

impl Common {
    pub fn chart(&self, i: usize) -> String {
        self.charts
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("{}-{i}", self.chart_prefix))
    }

    fn control(&self, shared: Arc<Shared>, awareness_hz: f64, pad: usize) -> Arc<Control> {
        Arc::new(Control {
            target: self.target.clone(),
            shared,
            rate_milli: Default::default(),
            stop: CancellationToken::new(),
            decode: self.decode,
            connect_gate: Semaphore::new(self.connect_concurrency.max(1)),
            connect_timeout: Duration::from_secs(20),
            awareness_period: (awareness_hz > 0.0)
                .then(|| Duration::from_secs_f64(1.0 / awareness_hz)),
            pad,
        })
    }

    /// Yjs client ids: distinct per client, and per run (charts may outlive
    /// a run on a persistent server; reusing a client id there would turn our
    /// updates into duplicates).
    fn client_id(&self, run_nonce: u64, i: usize) -> u64 {
        let mut s = run_nonce ^ self.seed ^ (i as u64).wrapping_mul(0x9E37_79B9);
        // Yjs client ids are 32-bit in JS; stay below 2^31 like Yjs does.
        (client::splitmix(&mut s) & 0x7FFF_FFFF).max(1)
    }
}

fn run_nonce() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Where the connections stand.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnStats {
    pub requested: u64,
    pub connected: u64,
    pub connect_failures: u64,
    /// Connections the server closed (or that failed) during the run.
    pub disconnects: u64,
    pub synced: u64,
    /// Connect -> SyncStep2 received.
    pub sync: Percentiles,
    /// Seconds from the first connect to the last handshake.
    pub connect_secs: f64,
}

/// Connects every client, then waits (up to `sync_wait`) for them to sync.
async fn connect_all(
    ctl: &Arc<Control>,
    specs: Vec<ClientSpec>,
    tasks: &mut JoinSet<()>,
    sync_wait: Duration,
) -> ConnStats {
    let sh = &ctl.shared;
    let base_connected = sh.connected.load(Relaxed) + sh.connect_failures.load(Relaxed);
    let base_synced = sh.synced.load(Relaxed);
    let n = specs.len() as u64;
    let t0 = Instant::now();
    for s in specs {
        tasks.spawn(client::run(s, ctl.clone()));
    }
    let deadline = t0 + Duration::from_secs(120);
    while sh.connected.load(Relaxed) + sh.connect_failures.load(Relaxed) < base_connected + n
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_secs = t0.elapsed().as_secs_f64();
    // Wait for SyncStep2s; a server that never sends one (the baseline)
    // shows no progress and is not waited for long.
    let mut last = sh.synced.load(Relaxed);
    let mut last_progress = Instant::now();
    let deadline = Instant::now() + sync_wait;
    while sh.synced.load(Relaxed) < base_synced + n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = sh.synced.load(Relaxed);
        if now != last {
            last = now;
            last_progress = Instant::now();
        } else if last_progress.elapsed() > Duration::from_millis(1500) {
            break;
        }
    }
    ConnStats {
        requested: n,
        connected: sh.connected.load(Relaxed),
        connect_failures: sh.connect_failures.load(Relaxed),
        disconnects: sh.disconnects.load(Relaxed),
        synced: sh.synced.load(Relaxed) - base_synced,
        sync: Percentiles::default(),
        connect_secs,
    }
}

async fn shutdown(ctl: &Arc<Control>, mut tasks: JoinSet<()>) {
    ctl.stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
}

/// The traffic scenario's knobs.
#[derive(Debug, Clone)]
pub struct TrafficConfig {
    pub clients: usize,
    pub room_size: usize,
    pub writers_per_room: usize,
    /// Updates per second per typist, one step each.
    pub rates: Vec<f64>,
    pub warmup: Duration,
    pub step: Duration,
    pub awareness_hz: f64,
    /// Stop after the first step whose p99 exceeds this (ms).
    pub stop_p99_ms: Option<f64>,
    /// How many times a failing step is measured again before the ramp
    /// stops (0: the first failure stops it).
    pub retries: u32,
    /// Filler bytes typed after each marker.
    pub pad: usize,
    /// Time allowed, after the last step, for in-flight deliveries.
    pub drain: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Updates/s per typist asked for.
    pub rate_per_writer: f64,
    /// Updates/s all typists were asked for.
    pub offered_per_s: f64,
    pub sent_per_s: f64,
    /// Updates sent in the step, deliveries of them expected (sent x other
    /// clients in the room) and received (whenever they arrived).
    pub sent: u64,
    pub expected: u64,
    pub delivered: u64,
    /// Deliveries (update x receiving client) that arrived in the window.
    pub delivered_per_s: f64,
    /// Deliveries expected for this step's sends that never came.
    pub missing: u64,
    pub latency: Percentiles,
    /// p99 counting missing deliveries as infinitely late.
    pub p99_with_missing_ms: f64,
    pub awareness_sent_per_s: f64,
    pub awareness_recv_per_s: f64,
    pub late_ticks: u64,
    pub server_cpu_pct: Option<f64>,
    pub server_rss_mb: Option<f64>,
    pub gen_cpu_pct: f64,
    /// The generator used (nearly) all its threads: the step measures it,
    /// not the server.
    pub gen_limited: bool,
    pub passed: bool,
    /// 1 for a step's first measurement, 2 for its retry (see
    /// [`TrafficConfig::retries`]).
    pub attempt: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrafficReport {
    pub scenario: &'static str,
    pub clients: usize,
    pub room_size: usize,
    pub writers_per_room: usize,
    pub conns: ConnStats,
    pub steps: Vec<StepReport>,
    /// Highest delivered/s of a passing step (0 if none passed).
    pub peak_delivered_per_s: f64,
    pub bad_updates: u64,
    pub gen_threads: usize,
}

/// Rooms of `room_size`, the first `writers_per_room` of each typing.
pub async fn traffic(common: &Common, cfg: &TrafficConfig, gen_threads: usize) -> TrafficReport {
    let shared = Arc::new(Shared::default());
    let ctl = common.control(shared.clone(), cfg.awareness_hz, cfg.pad);
    let nonce = run_nonce();
    let k = cfg.room_size.max(1);
    let mut room_members = vec![0u64; cfg.clients.div_ceil(k)];
    for i in 0..cfg.clients {
        room_members[i / k] += 1;
    }
    let mut writer_no = 0u32;
    let specs: Vec<ClientSpec> = (0..cfg.clients)
        .map(|i| {
            let room = i / k;
            let writer = (i % k < cfg.writers_per_room).then(|| {
                writer_no += 1;
                writer_no
            });
            ClientSpec {
                index: i,
                chart: common.chart(room),
                writer,
                client_id: common.client_id(nonce, i),
                max_updates: None,
                seed: common.seed,
                receivers: room_members[room] - 1,
            }
        })
        .collect();
    let writers = f64::from(writer_no.max(1));

    let mut tasks = JoinSet::new();
    let mut conns = connect_all(&ctl, specs, &mut tasks, Duration::from_secs(30)).await;
    conns.sync = Percentiles::of(shared.take_sync_times());

    let mut steps = Vec::new();
    // The step measured last, reported after the next warmup (or the final
    // drain), so its late deliveries count: (phase, rate index, attempt,
    // window).
    let mut pending: Option<(usize, usize, u32, Window)> = None;
    let mut phase = 0usize;
    let mut next = 0usize;
    let mut attempt = 1u32;
    loop {
        let rate = cfg.rates.get(next).copied();
        if pending.is_none() && (rate.is_none() || phase + 2 >= stats::MAX_PHASES - 1) {
            break;
        }
        // Warm up at the next rate, or drain when the ramp is done.
        phase += 1;
        shared.phase.store(phase as u64, Relaxed);
        ctl.rate_milli
            .store((rate.unwrap_or(0.0) * 1000.0) as u64, Relaxed);
        tokio::time::sleep(if rate.is_some() {
            cfg.warmup
        } else {
            cfg.drain
        })
        .await;
        if let Some((p, i, tries, w)) = pending.take() {
            let mut s = step_report(&shared, p, cfg.rates[i], writers, &w, gen_threads);
            s.attempt = tries;
            let failed = cfg.stop_p99_ms.is_some_and(|t| s.p99_with_missing_ms > t);
            steps.push(s);
            if failed && tries > cfg.retries {
                break;
            }
            if failed {
                // One slow disk sync on a shared machine can fail a step on
                // its own: measure the same rate again before stopping.
                next = i;
                attempt = tries + 1;
                continue;
            }
        }
        if rate.is_none() || phase + 1 >= stats::MAX_PHASES - 1 {
            break;
        }
        let w = Window::open(common.server_pid);
        phase += 1;
        shared.phase.store(phase as u64, Relaxed);
        tokio::time::sleep(cfg.step).await;
        let w = w.close(common.server_pid);
        pending = Some((phase, next, attempt, w));
        next += 1;
        attempt = 1;
    }
    ctl.rate_milli.store(0, Relaxed);
    shared.phase.store((stats::MAX_PHASES - 1) as u64, Relaxed);
    conns.disconnects = shared.disconnects.load(Relaxed);
    shutdown(&ctl, tasks).await;
    let peak = steps
        .iter()
        .filter(|s| s.passed)
        .map(|s| s.delivered_per_s)
        .fold(0.0, f64::max);
    TrafficReport {
        scenario: "traffic",
        clients: cfg.clients,
        room_size: cfg.room_size,
        writers_per_room: cfg.writers_per_room,
        conns,
        steps,
        peak_delivered_per_s: peak,
        bad_updates: shared.bad_updates.load(Relaxed),
        gen_threads,
    }
}

/// A measurement window: wall time and both processes' CPU and RSS.
struct Window {
    t0: Instant,
    t1: Instant,
    server: (Option<ProcSample>, Option<ProcSample>),
    gen: (Option<ProcSample>, Option<ProcSample>),
}

impl Window {
    fn open(pid: Option<u32>) -> Self {
        Window {
            t0: Instant::now(),
            t1: Instant::now(),
            server: (pid.and_then(|p| ProcSample::take(Some(p))), None),
            gen: (ProcSample::take(None), None),
        }
    }

    fn close(mut self, pid: Option<u32>) -> Self {
        self.t1 = Instant::now();
        self.server.1 = pid.and_then(|p| ProcSample::take(Some(p)));
        self.gen.1 = ProcSample::take(None);
        self
    }

    fn secs(&self) -> f64 {
        self.t1.duration_since(self.t0).as_secs_f64().max(1e-9)
    }

    fn cpu(s: &(Option<ProcSample>, Option<ProcSample>)) -> Option<f64> {
        match s {
            (Some(a), Some(b)) => Some(a.cpu_percent(b)),
            _ => None,
        }
    }
}

fn step_report(
    sh: &Shared,
    phase: usize,
    rate: f64,
    writers: f64,
    w: &Window,
    gen_threads: usize,
) -> StepReport {
    let c = &sh.phases[phase];
    let secs = w.secs();
    let sent = c.sent.load(Relaxed);
    let delivered = c.delivered.load(Relaxed);
    let expected = c.expected.load(Relaxed);
    let missing = expected.saturating_sub(delivered);
    let lat = sh.take_latencies(phase);
    let p99_with_missing = {
        let mut v = lat.clone();
        v.extend(std::iter::repeat_n(u32::MAX, missing as usize));
        Percentiles::of(v).p99_ms
    };
    let latency = Percentiles::of(lat);
    let gen_cpu = Window::cpu(&w.gen).unwrap_or(0.0);
    let server_cpu = Window::cpu(&w.server);
    let passed = p99_with_missing <= 100.0;
    StepReport {
        rate_per_writer: rate,
        offered_per_s: rate * writers,
        sent_per_s: sent as f64 / secs,
        sent,
        expected,
        delivered,
        delivered_per_s: c.arrived.load(Relaxed) as f64 / secs,
        missing,
        latency,
        p99_with_missing_ms: p99_with_missing,
        awareness_sent_per_s: c.awareness_sent.load(Relaxed) as f64 / secs,
        awareness_recv_per_s: c.awareness_recv.load(Relaxed) as f64 / secs,
        late_ticks: c.late_ticks.load(Relaxed),
        server_cpu_pct: server_cpu,
        server_rss_mb: w.server.1.map(|s| s.rss_bytes as f64 / 1e6),
        gen_cpu_pct: gen_cpu,
        gen_limited: gen_cpu >= 90.0 * gen_threads as f64,
        passed,
        attempt: 1,
    }
}

pub use connections::{
    join_storm, load, memory, populate, JoinReport, LoadReport, MemoryReport, PopulateReport,
};
