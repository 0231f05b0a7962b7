//! `/metrics` in the Prometheus text format.
//!
//! The hub keeps plain atomic counters (`easel_hub::Metrics`); this module
//! only reads them, adds the gauges it can see from here (charts loaded,
//! store size on disk) and writes the exposition format by hand: it is a
//! dozen lines of a stable text format, not worth a registry crate.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use easel_hub::metrics::FLUSH_BUCKETS_US;

use crate::AppState;

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let m = state.hub.metrics();
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let mut out = String::with_capacity(4096);
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    metric(
        "easel_connections",
        "gauge",
        "Open WebSocket connections.",
        get(&m.connections),
    );
    metric(
        "easel_connections_total",
        "counter",
        "WebSocket connections accepted.",
        get(&m.connections_total),
    );
    metric(
        "easel_charts_loaded",
        "gauge",
        "Charts loaded in memory.",
        state.hub.loaded_charts() as u64,
    );
    metric(
        "easel_updates_in_total",
        "counter",
        "Updates applied and stored.",
        get(&m.updates_in),
    );
    metric(
        "easel_messages_out_total",
        "counter",
        "Messages handed to connections.",
        get(&m.messages_out),
    );
    metric(
        "easel_bytes_in_total",
        "counter",
        "Bytes received in binary frames.",
        get(&m.bytes_in),
    );
    metric(
        "easel_bytes_out_total",
        "counter",
        "Bytes handed to connections.",
        get(&m.bytes_out),
    );
    metric(
        "easel_queue_full_disconnects_total",
        "counter",
        "Connections closed because their outbound queue was full.",
        get(&m.queue_full_disconnects),
    );
    metric(
        "easel_protocol_errors_total",
        "counter",
        "Undecodable or invalid messages.",
        get(&m.protocol_errors),
    );
    metric(
        "easel_read_only_refusals_total",
        "counter",
        "Updates refused from read-only connections.",
        get(&m.read_only_refusals),
    );
    metric(
        "easel_compactions_total",
        "counter",
        "Chart logs compacted into snapshots.",
        get(&m.compactions),
    );
    metric(
        "easel_flush_failures_total",
        "counter",
        "Failed flushes (writers closed with 1013).",
        get(&m.flush_failures),
    );
    metric(
        "easel_panics_caught_total",
        "counter",
        "Panics caught in the CRDT library on client input.",
        get(&m.panics_caught),
    );
    metric(
        "easel_chart_loads_total",
        "counter",
        "Chart loads.",
        get(&m.chart_loads),
    );
    metric(
        "easel_chart_unloads_total",
        "counter",
        "Chart unloads after idling.",
        get(&m.chart_unloads),
    );
    metric(
        "easel_remote_updates_total",
        "counter",
        "Updates other cluster nodes stored, applied and broadcast here.",
        get(&m.remote_updates_in),
    );
    metric(
        "easel_auth_failures_total",
        "counter",
        "Refused tokens and origins.",
        get(&m.auth_failures),
    );
    metric(
        "easel_store_bytes",
        "gauge",
        "Data dir size on disk.",
        state.store.size_on_disk().unwrap_or(0),
    );
    metric(
        "easel_webhook_pending",
        "gauge",
        "Webhook deliveries waiting in this node's outbox (first attempts and retries).",
        state
            .store
            .count_outbox(easel_conferences::webhooks::DELIVERY_PREFIX)
            .unwrap_or(0) as u64,
    );
    let _ = writeln!(out, "# HELP easel_flush_wait_seconds Time a batch waited for its group-commit flush.\n# TYPE easel_flush_wait_seconds histogram");
    for (i, bound) in FLUSH_BUCKETS_US.iter().enumerate() {
        let _ = writeln!(
            out,
            "easel_flush_wait_seconds_bucket{{le=\"{}\"}} {}",
            *bound as f64 / 1e6,
            get(&m.flush_wait_buckets[i])
        );
    }
    let count = get(&m.flush_wait_count);
    let _ = writeln!(
        out,
        "easel_flush_wait_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        out,
        "easel_flush_wait_seconds_sum {}",
        get(&m.flush_wait_us_sum) as f64 / 1e6
    );
    let _ = writeln!(out, "easel_flush_wait_seconds_count {count}");
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
