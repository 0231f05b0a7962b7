//! `easel-loadgen`: command line for the scenarios in the library docs.
//! Prints a human summary; `--json FILE` appends the full report as one JSON
//! line (what `scripts/bench.sh` reads).

// A command-line report tool: printing is its output.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use easel_loadgen::{Common, Target, TrafficConfig};

#[derive(Parser)]
#[command(name = "easel-loadgen", about = "Yjs (y-websocket) load generator")]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Args)]
struct CommonArgs {
    /// Server base URL; chart ids are appended (`ws://HOST:PORT/sync/{chart}`).
    #[arg(long, global = true, default_value = "ws://127.0.0.1:8080/sync")]
    url: String,
    /// A cluster peer's base URL: clients with an odd index connect there
    /// (rooms of 2 with one writer: every delivery crosses nodes).
    #[arg(long, global = true)]
    peer_url: Option<String>,
    /// Edit token, sent as `?token=...`.
    #[arg(long, global = true, env = "EASEL_TOKEN")]
    token: Option<String>,
    /// Chart ids to use (comma-separated), in order.
    #[arg(long = "chart-ids", global = true, value_delimiter = ',')]
    chart_ids: Vec<String>,
    /// File with chart ids, one per line (after --chart-ids).
    #[arg(long, global = true)]
    charts_file: Option<std::path::PathBuf>,
    /// Ids `{prefix}-{i}` fill up when fewer charts are given than needed.
    #[arg(long, global = true, default_value = "bench")]
    chart_prefix: String,
    /// Server process to sample CPU and RSS from (/proc/PID).
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    #[arg(long, global = true, default_value_t = 1)]
    seed: u64,
    /// Generator threads (1: a current-thread runtime).
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    /// Loopback source addresses to spread connections over (127.0.0.1..N).
    #[arg(long, global = true, default_value_t = 16)]
    source_ips: u8,
    /// Handshakes in flight at once.
    #[arg(long, global = true, default_value_t = 64)]
    connect_concurrency: usize,
    /// Do not decode received updates with yrs (markers are still read).
    #[arg(long, global = true)]
    no_decode: bool,
    /// Append the report as one JSON line to this file.
    #[arg(long, global = true)]
    json: Option<std::path::PathBuf>,
    /// Free-form label copied into the JSON (server name, repetition).
    #[arg(long, global = true, default_value = "")]
    label: String,
}

#[derive(Subcommand)]
enum Scenario {
    /// Clients in rooms, typists at a ramp of rates (saturation, burst, durable).
    Traffic {
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        #[arg(long, default_value_t = 10)]
        room_size: usize,
        #[arg(long, default_value_t = 10)]
        writers_per_room: usize,
        /// Updates/s per typist, one step each (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
        rates: Vec<f64>,
        #[arg(long, default_value_t = 2.0)]
        warmup_secs: f64,
        #[arg(long, default_value_t = 5.0)]
        step_secs: f64,
        #[arg(long, default_value_t = 1.0)]
        awareness_hz: f64,
        /// Stop after the first step whose p99 (missing = infinite) is above this.
        #[arg(long)]
        stop_p99_ms: Option<f64>,
        /// Measure a failing step again this many times before stopping.
        #[arg(long, default_value_t = 0)]
        retries: u32,
        #[arg(long, default_value_t = 0)]
        pad: usize,
        #[arg(long, default_value_t = 2.0)]
        drain_secs: f64,
    },
    /// Server RSS: charts loaded, then per idle connection.
    Memory {
        #[arg(long, default_value_t = 300)]
        charts: usize,
        #[arg(long, default_value_t = 3000)]
        clients: usize,
        /// Updates typed into each chart first.
        #[arg(long, default_value_t = 40)]
        updates: u32,
        #[arg(long, default_value_t = 100)]
        pad: usize,
        #[arg(long, default_value_t = 3.0)]
        settle_secs: f64,
    },
    /// Many clients join one large chart at once.
    Join {
        #[arg(long, default_value_t = 1 << 20)]
        bytes: usize,
        #[arg(long, default_value_t = 300)]
        joiners: usize,
        #[arg(long, default_value_t = 30.0)]
        timeout_secs: f64,
    },
    /// Write content into N charts (for `load` after a restart).
    Populate {
        #[arg(long, default_value_t = 300)]
        charts: usize,
        #[arg(long, default_value_t = 50)]
        updates: u32,
        #[arg(long, default_value_t = 200)]
        pad: usize,
    },
    /// Open N charts one at a time and time each first sync.
    Load {
        #[arg(long, default_value_t = 300)]
        charts: usize,
        /// Server launch time (ns since the Unix epoch): retry until it
        /// serves and report how long the first chart took from then.
        #[arg(long)]
        t0_unix_ns: Option<u128>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let c = &cli.common;
    let mut charts = c.chart_ids.clone();
    if let Some(f) = &c.charts_file {
        charts.extend(
            std::fs::read_to_string(f)?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    let common = Common {
        target: Target {
            url: c.url.clone(),
            token: c.token.clone(),
            source_ips: c.source_ips.max(1),
            peer_url: c.peer_url.clone(),
        },
        charts,
        chart_prefix: c.chart_prefix.clone(),
        server_pid: c.server_pid,
        seed: c.seed,
        decode: !c.no_decode,
        connect_concurrency: c.connect_concurrency,
    };
    let threads = c.threads.max(1);
    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    let report: serde_json::Value = rt.block_on(async {
        anyhow::Ok(match cli.scenario {
            Scenario::Traffic {
                clients,
                room_size,
                writers_per_room,
                rates,
                warmup_secs,
                step_secs,
                awareness_hz,
                stop_p99_ms,
                retries,
                pad,
                drain_secs,
            } => {
                let cfg = TrafficConfig {
                    clients,
                    room_size,
                    writers_per_room,
                    rates,
                    warmup: Duration::from_secs_f64(warmup_secs),
                    step: Duration::from_secs_f64(step_secs),
                    awareness_hz,
                    stop_p99_ms,
                    retries,
                    pad,
                    drain: Duration::from_secs_f64(drain_secs),
                };
                let r = easel_loadgen::traffic(&common, &cfg, threads).await;
                print_traffic(&r);
                serde_json::to_value(r)?
            }
            Scenario::Memory {
                charts,
                clients,
                updates,
                pad,
                settle_secs,
            } => {
                let r = easel_loadgen::memory(
                    &common,
                    charts,
                    clients,
                    updates,
                    pad,
                    Duration::from_secs_f64(settle_secs),
                )
                .await?;
                println!(
                    "memory: {} charts, {} clients ({} connected, {} failed, {} dropped): \
                     RSS empty {:.1} MB, charts {:.1} MB, total {:.1} MB, {:.0} B per idle connection",
                    r.charts,
                    r.clients,
                    r.conns.connected,
                    r.conns.connect_failures,
                    r.conns.disconnects,
                    r.rss_empty_mb,
                    r.rss_charts_mb,
                    r.rss_total_mb,
                    r.bytes_per_idle_conn
                );
                serde_json::to_value(r)?
            }
            Scenario::Join {
                bytes,
                joiners,
                timeout_secs,
            } => {
                let r = easel_loadgen::join_storm(
                    &common,
                    bytes,
                    joiners,
                    Duration::from_secs_f64(timeout_secs),
                )
                .await;
                println!(
                    "join: {} joiners on a {} B chart: {} synced, all in {}, p50 {:.1} ms p99 {:.1} ms; \
                     {} dropped, {} failed",
                    r.joiners,
                    r.chart_bytes,
                    r.synced,
                    r.all_synced_ms
                        .map_or("(not all)".to_owned(), |m| format!("{m:.0} ms")),
                    r.sync.p50_ms,
                    r.sync.p99_ms,
                    r.disconnects,
                    r.connect_failures
                );
                serde_json::to_value(r)?
            }
            Scenario::Populate {
                charts,
                updates,
                pad,
            } => {
                let r = easel_loadgen::populate(&common, charts, updates, pad).await;
                println!(
                    "populate: {} charts x {} updates: {} sent, {} came back, {:.1} s",
                    r.charts, r.updates_per_chart, r.sent, r.delivered, r.secs
                );
                serde_json::to_value(r)?
            }
            Scenario::Load { charts, t0_unix_ns } => {
                let r = easel_loadgen::load(&common, charts, t0_unix_ns).await;
                println!(
                    "load: {}/{} charts synced, first load p50 {:.2} ms p99 {:.2} ms max {:.2} ms, serving after {}",
                    r.synced,
                    r.charts,
                    r.first_load.p50_ms,
                    r.first_load.p99_ms,
                    r.first_load.max_ms,
                    r.serving_ms.map_or("-".to_owned(), |m| format!("{m:.0} ms"))
                );
                serde_json::to_value(r)?
            }
        })
    })?;
    if let Some(path) = &c.json {
        let mut line = serde_json::json!({ "label": c.label, "report": report });
        line["seed"] = c.seed.into();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(f, "{line}")?;
    }
    Ok(())
}

fn print_traffic(r: &easel_loadgen::TrafficReport) {
    println!(
        "traffic: {} clients in rooms of {} ({} typing): {} connected in {:.1} s, {} failed, {} synced (p99 {:.1} ms)",
        r.clients,
        r.room_size,
        r.writers_per_room,
        r.conns.connected,
        r.conns.connect_secs,
        r.conns.connect_failures,
        r.conns.synced,
        r.conns.sync.p99_ms
    );
    println!(
        "{:>8} {:>9} {:>9} {:>11} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>5}",
        "rate/w",
        "offered/s",
        "sent/s",
        "deliv/s",
        "p50ms",
        "p99ms",
        "p999ms",
        "missing",
        "late",
        "srvCPU",
        "srvMB",
        "genCPU",
        "ok"
    );
    for s in &r.steps {
        println!(
            "{:>8.1} {:>9.0} {:>9.0} {:>11.0} {:>8.2} {:>8.2} {:>8.2} {:>8} {:>8} {:>6.0}% {:>7.0} {:>6.0}%{} {:>5}{}",
            s.rate_per_writer,
            s.offered_per_s,
            s.sent_per_s,
            s.delivered_per_s,
            s.latency.p50_ms,
            s.latency.p99_ms,
            s.latency.p999_ms,
            s.missing,
            s.late_ticks,
            s.server_cpu_pct.unwrap_or(f64::NAN),
            s.server_rss_mb.unwrap_or(f64::NAN),
            s.gen_cpu_pct,
            if s.gen_limited { "!" } else { " " },
            if s.passed { "yes" } else { "no" },
            if s.attempt > 1 { " (again)" } else { "" }
        );
    }
    println!(
        "peak delivered/s (p99 <= 100 ms, nothing missing beyond 1%): {:.0}; disconnects {}; undecodable updates {}",
        r.peak_delivered_per_s, r.conns.disconnects, r.bad_updates
    );
}
