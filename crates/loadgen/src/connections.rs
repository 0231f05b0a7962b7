//! The scenarios about connections rather than traffic: idle memory per
//! connection, a join storm on one large chart, filling charts for a cold
//! start, and how fast a restarted server serves them again.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::client::{self, ClientSpec, Target};
use crate::stats::{Percentiles, ProcSample, Shared};
use crate::*;

#[derive(Debug, Clone, Serialize)]
pub struct MemoryReport {
    pub scenario: &'static str,
    pub charts: usize,
    pub clients: usize,
    pub conns: ConnStats,
    pub rss_empty_mb: f64,
    /// With one (writing, then idle) client per chart.
    pub rss_charts_mb: f64,
    /// With every client connected and idle.
    pub rss_total_mb: f64,
    /// (rss_total - rss_charts) / idle clients.
    pub bytes_per_idle_conn: f64,
}

/// One client per chart writes `updates` updates (`pad` filler bytes each),
/// then `clients - charts` more connect and idle (SyncStep1 and one
/// awareness announcement each, then nothing).
pub async fn memory(
    common: &Common,
    charts: usize,
    clients: usize,
    updates: u32,
    pad: usize,
    settle: Duration,
) -> anyhow::Result<MemoryReport> {
    let pid = common
        .server_pid
        .ok_or_else(|| anyhow::anyhow!("memory needs --server-pid"))?;
    let rss = || ProcSample::take(Some(pid)).map_or(0.0, |s| s.rss_bytes as f64);
    let shared = Arc::new(Shared::default());
    let ctl = common.control(shared.clone(), 0.0, pad);
    let nonce = run_nonce();
    let rss_empty = rss();
    let mut tasks = JoinSet::new();
    let writers: Vec<ClientSpec> = (0..charts)
        .map(|i| ClientSpec {
            index: i,
            chart: common.chart(i),
            writer: Some(i as u32 + 1),
            client_id: common.client_id(nonce, i),
            max_updates: Some(updates),
            seed: common.seed,
            receivers: 0,
        })
        .collect();
    let mut conns = connect_all(&ctl, writers, &mut tasks, Duration::from_secs(30)).await;
    ctl.rate_milli.store(20_000, Relaxed);
    let typing = Duration::from_secs_f64(f64::from(updates) / 20.0 + 1.0);
    tokio::time::sleep(typing + settle).await;
    let rss_charts = rss();
    let idle: Vec<ClientSpec> = (charts..clients)
        .map(|i| ClientSpec {
            index: i,
            chart: common.chart(i % charts.max(1)),
            writer: None,
            client_id: common.client_id(nonce, i),
            max_updates: None,
            seed: common.seed,
            receivers: 0,
        })
        .collect();
    let n_idle = idle.len();
    let more = connect_all(&ctl, idle, &mut tasks, Duration::from_secs(30)).await;
    tokio::time::sleep(settle).await;
    let rss_total = rss();
    conns.requested += more.requested;
    conns.connected = shared.connected.load(Relaxed);
    conns.connect_failures = shared.connect_failures.load(Relaxed);
    conns.disconnects = shared.disconnects.load(Relaxed);
    conns.synced += more.synced;
    conns.connect_secs += more.connect_secs;
    conns.sync = Percentiles::of(shared.take_sync_times());
    shutdown(&ctl, tasks).await;
    Ok(MemoryReport {
        scenario: "memory",
        charts,
        clients,
        conns,
        rss_empty_mb: rss_empty / 1e6,
        rss_charts_mb: rss_charts / 1e6,
        rss_total_mb: rss_total / 1e6,
        bytes_per_idle_conn: (rss_total - rss_charts) / n_idle.max(1) as f64,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct JoinReport {
    pub scenario: &'static str,
    pub chart_bytes: u64,
    pub joiners: usize,
    pub synced: u64,
    /// Storm start -> last joiner synced (None: not all synced).
    pub all_synced_ms: Option<f64>,
    pub sync: Percentiles,
    pub disconnects: u64,
    pub connect_failures: u64,
    pub server_cpu_pct: Option<f64>,
    /// Server RSS when the last joiner synced.
    pub server_rss_mb: Option<f64>,
    /// Server RSS two seconds later, the joiners idle: what the storm left
    /// behind (per-socket buffers that kept their grown capacity show here).
    pub server_rss_after_mb: Option<f64>,
}

/// One client types `bytes` into a chart (a second one watches until all of
/// it came through), then `joiners` clients connect at once.
pub async fn join_storm(
    common: &Common,
    bytes: usize,
    joiners: usize,
    timeout: Duration,
) -> JoinReport {
    let pad = 4000;
    let updates = bytes.div_ceil(pad + 24) as u32;
    let shared = Arc::new(Shared::default());
    let mut c2 = common.clone();
    c2.connect_concurrency = joiners.max(2);
    let ctl = c2.control(shared.clone(), 0.0, pad);
    let nonce = run_nonce();
    let chart = common.chart(0);
    let mut tasks = JoinSet::new();
    let holders = vec![
        ClientSpec {
            index: 0,
            chart: chart.clone(),
            writer: Some(1),
            client_id: common.client_id(nonce, 0),
            max_updates: Some(updates),
            seed: common.seed,
            receivers: 1,
        },
        ClientSpec {
            index: 1,
            chart: chart.clone(),
            writer: None,
            client_id: common.client_id(nonce, 1),
            max_updates: None,
            seed: common.seed,
            receivers: 0,
        },
    ];
    connect_all(&ctl, holders, &mut tasks, Duration::from_secs(5)).await;
    ctl.rate_milli.store(200_000, Relaxed);
    let deadline = Instant::now() + Duration::from_secs(60);
    while shared.phases[0].delivered.load(Relaxed) < u64::from(updates) && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ctl.rate_milli.store(0, Relaxed);
    let _ = shared.take_sync_times();
    let base_synced = shared.synced.load(Relaxed);
    let w = Window::open(common.server_pid);
    let t0 = Instant::now();
    for i in 0..joiners {
        tasks.spawn(client::run(
            ClientSpec {
                index: 2 + i,
                chart: chart.clone(),
                writer: None,
                client_id: common.client_id(nonce, 2 + i),
                max_updates: None,
                seed: common.seed,
                receivers: 0,
            },
            ctl.clone(),
        ));
    }
    let deadline = t0 + timeout;
    while shared.synced.load(Relaxed) < base_synced + joiners as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let all = t0.elapsed();
    let w = w.close(common.server_pid);
    let synced = shared.synced.load(Relaxed) - base_synced;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = common
        .server_pid
        .and_then(|p| ProcSample::take(Some(p)))
        .map(|s| s.rss_bytes as f64 / 1e6);
    let report = JoinReport {
        scenario: "join",
        chart_bytes: u64::from(updates) * (pad as u64 + 24),
        joiners,
        synced,
        all_synced_ms: (synced == joiners as u64).then_some(all.as_secs_f64() * 1000.0),
        sync: Percentiles::of(shared.take_sync_times()),
        disconnects: shared.disconnects.load(Relaxed),
        connect_failures: shared.connect_failures.load(Relaxed),
        server_cpu_pct: Window::cpu(&w.server),
        server_rss_mb: w.server.1.map(|s| s.rss_bytes as f64 / 1e6),
        server_rss_after_mb: after,
    };
    shutdown(&ctl, tasks).await;
    report
}

#[derive(Debug, Clone, Serialize)]
pub struct PopulateReport {
    pub scenario: &'static str,
    pub charts: usize,
    pub updates_per_chart: u32,
    pub sent: u64,
    pub delivered: u64,
    pub secs: f64,
}

/// Writes `updates` updates of about `pad` bytes into each of `charts`
/// charts (a watcher per chart confirms each came back through the server).
pub async fn populate(common: &Common, charts: usize, updates: u32, pad: usize) -> PopulateReport {
    let shared = Arc::new(Shared::default());
    let ctl = common.control(shared.clone(), 0.0, pad);
    let nonce = run_nonce();
    let t0 = Instant::now();
    let specs: Vec<ClientSpec> = (0..charts * 2)
        .map(|i| ClientSpec {
            index: i,
            chart: common.chart(i / 2),
            writer: (i % 2 == 0).then_some(i as u32 / 2 + 1),
            client_id: common.client_id(nonce, i),
            max_updates: Some(updates),
            seed: common.seed,
            receivers: 1,
        })
        .collect();
    let mut tasks = JoinSet::new();
    connect_all(&ctl, specs, &mut tasks, Duration::from_secs(10)).await;
    ctl.rate_milli.store(100_000, Relaxed);
    let want = charts as u64 * u64::from(updates);
    let deadline = Instant::now() + Duration::from_secs(120);
    while shared.phases[0].delivered.load(Relaxed) < want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = PopulateReport {
        scenario: "populate",
        charts,
        updates_per_chart: updates,
        sent: shared.phases[0].sent.load(Relaxed),
        delivered: shared.phases[0].delivered.load(Relaxed),
        secs: t0.elapsed().as_secs_f64(),
    };
    shutdown(&ctl, tasks).await;
    report
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub scenario: &'static str,
    pub charts: usize,
    pub synced: u64,
    /// Connect -> SyncStep2, one chart at a time.
    pub first_load: Percentiles,
    /// From `t0` (the server's launch) to the first chart synced.
    pub serving_ms: Option<f64>,
}

/// Opens each chart in turn (one client, closed after its SyncStep2) and
/// times its load. With `t0_unix_ns`, first retries until the server
/// answers and reports how long after `t0` the first chart was served.
pub async fn load(common: &Common, charts: usize, t0_unix_ns: Option<u128>) -> LoadReport {
    let mut serving_ms = None;
    let mut times = Vec::new();
    let mut synced = 0;
    for i in 0..charts {
        let chart = common.chart(i);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let t = Instant::now();
            if let Ok(Some(took)) = open_once(&common.target, &chart, i).await {
                synced += 1;
                times.push(took.as_micros().min(u128::from(u32::MAX)) as u32);
                if serving_ms.is_none() {
                    if let Some(t0) = t0_unix_ns {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_nanos())
                            .unwrap_or(0);
                        serving_ms = Some(now.saturating_sub(t0) as f64 / 1e6);
                    }
                }
                break;
            }
            // Only the first chart waits for the server to come up.
            if i > 0 || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep_until(t + Duration::from_millis(5)).await;
        }
    }
    LoadReport {
        scenario: "load",
        charts,
        synced,
        first_load: Percentiles::of(times),
        serving_ms,
    }
}

/// Connects, sends SyncStep1, waits for SyncStep2; the time it took.
async fn open_once(target: &Target, chart: &str, index: usize) -> anyhow::Result<Option<Duration>> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let t = Instant::now();
    let mut ws = client::connect(target, chart, index).await?;
    let step1 = easel_protocol::encode_sync_step1(&yrs::StateVector::default());
    ws.send(Message::Binary(step1)).await?;
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Binary(b) = m {
                if let Ok(easel_protocol::RawMessage::SyncStep2(_)) =
                    easel_protocol::peek_message(&b)
                {
                    return true;
                }
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    let took = t.elapsed();
    let _ = ws.close(None).await;
    Ok(got.then_some(took))
}
