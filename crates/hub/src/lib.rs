//! The hub: connections in, one actor per chart, updates out.
//!
//! Read this crate top to bottom in this order:
//! - [`connection`]: one task per WebSocket; reads frames, forwards them to
//!   its chart, writes what the chart sends back through a bounded queue.
//! - [`chart`]: one task per loaded chart; owns the `yrs::Doc` and presence,
//!   applies updates, has the store make them durable, *then* fans them out.
//! - [`awareness`]: the presence table a chart keeps (who is here, expiry).
//! - [`metrics`]: counters the binary exposes.
//! - [`shared`]: the log a chart uses instead of the local store when
//!   several processes serve the same charts (scale-out).
//!
//! The hub never imports axum or any HTTP type: a connection is any
//! `Stream`/`Sink` of [`Frame`]s, so the tests drive it with channels and the
//! binary adapts a real WebSocket to it.

pub mod awareness;
pub mod chart;
pub mod connection;
pub mod metrics;
pub mod shared;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use easel_store::Store;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::task::TaskTracker;

pub use connection::Frame;
pub use metrics::Metrics;
pub use shared::SharedLog;

/// Every limit and timing the hub enforces. The binary fills it from flags
/// (`docs/config.md` lists them); tests shrink it.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Largest inbound WebSocket frame, in bytes.
    pub max_frame_bytes: usize,
    /// Largest stored size of one chart (snapshot + log), in bytes. Updates
    /// past it are refused with a `permission denied` auth message.
    pub max_chart_bytes: usize,
    /// Messages queued for one connection before it counts as too slow and is
    /// closed with 1013.
    pub outbound_queue: usize,
    /// Connections one chart accepts at once.
    pub max_clients_per_chart: usize,
    /// A chart with no connections for this long is unloaded from memory.
    pub idle_unload: Duration,
    /// Presence states not renewed for this long are removed (clients renew
    /// every 15 s).
    pub awareness_timeout: Duration,
    /// Largest JSON state one awareness entry may carry, in bytes.
    pub max_awareness_bytes: usize,
    /// Protocol errors tolerated on one connection before it is closed.
    pub max_protocol_errors: u32,
    /// Log entries after which a chart is compacted into a snapshot.
    pub compact_after_updates: u64,
    /// How often a connection is pinged; a peer silent for two intervals is
    /// dropped.
    pub ping_interval: Duration,
    /// Threads that run the chart actors, apart from the runtime that runs
    /// the connections. 0: the actors run on the caller's runtime.
    ///
    /// Why apart: under load a thousand connection tasks share the
    /// runtime's workers, and a chart actor queued behind them waits a full
    /// round of them at every hop an update takes (socket -> chart -> commit
    /// -> chart -> sockets). On threads of their own the actors are
    /// scheduled by the kernel as soon as they are woken, which halves the
    /// commit wait and p50 at saturation in side-by-side pairs (mean commit
    /// wait 5-8 ms against about 14 ms on the shared workers).
    pub chart_threads: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            max_frame_bytes: 1024 * 1024,
            max_chart_bytes: 32 * 1024 * 1024,
            outbound_queue: 512,
            max_clients_per_chart: 1000,
            idle_unload: Duration::from_secs(60),
            awareness_timeout: Duration::from_secs(30),
            max_awareness_bytes: 8 * 1024,
            max_protocol_errors: 16,
            compact_after_updates: 2000,
            ping_interval: Duration::from_secs(20),
            chart_threads: 0,
        }
    }
}

/// What a connection may do to its chart. Decided by the caller (the binary
/// checks tokens); enforced here, on the server, whatever the client thinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Edit,
    Read,
}

/// Who is connecting, as far as the hub needs to know.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// What the connection may do now.
    pub access: Access,
    /// What its link allows whatever the session's state: a connection
    /// whose link may edit is told when its session turns final (its
    /// edits are refused with that reason, not blamed on the link) and
    /// may edit again when the session is reopened.
    pub link: Access,
    /// The capability (token) this connection came in with, so revoking it
    /// can close exactly its connections.
    pub grant: Option<String>,
}

/// WebSocket close codes the hub uses, with why.
pub mod close {
    /// Server going away (shutdown); clients reconnect elsewhere or later.
    pub const GOING_AWAY: u16 = 1001;
    /// Too many protocol errors.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Frame larger than the configured limit.
    pub const TOO_BIG: u16 = 1009;
    /// Internal error (a panic in yrs on this connection's input, or a chart
    /// that cannot be loaded).
    pub const INTERNAL: u16 = 1011;
    /// Server restarting (graceful shutdown).
    pub const RESTART: u16 = 1012;
    /// Try again later: queue full, store not durable, chart full.
    pub const TRY_AGAIN: u16 = 1013;
    /// The grant this connection used was revoked.
    pub const REVOKED: u16 = 4401;
    /// The chart was deleted (its conference was deleted, by an organizer or
    /// by retention); reconnecting cannot succeed.
    pub const DELETED: u16 = 4410;
}

/// A reason the server closes a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: String,
}

impl CloseReason {
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        CloseReason {
            code,
            reason: reason.into(),
        }
    }
}

pub type ConnId = u64;

/// How many change notices a slow follower of [`Hub::subscribe_changes`]
/// may be behind before it lags.
pub const CHANGE_FEED_CAPACITY: usize = 4096;

/// A chart's document changed, and the change is durable (the batch that
/// made it has been committed). One notice per batch, not per edit.
#[derive(Debug, Clone)]
pub struct ChartChanged {
    pub chart_id: Arc<str>,
    /// When the batch was committed (wall clock: followers show it).
    pub at: std::time::SystemTime,
}

/// The hub: the registry of loaded charts. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    store: Store,
    config: HubConfig,
    /// Loaded charts. An actor removes its own entry, under this lock, when it
    /// unloads; a joiner that raced with that finds the channel closed and
    /// starts a fresh actor.
    charts: Mutex<HashMap<String, mpsc::Sender<chart::Command>>>,
    next_conn: AtomicU64,
    /// Set when shutdown starts: no new chart actors, joiners get 1012.
    shutting_down: std::sync::atomic::AtomicBool,
    metrics: Arc<Metrics>,
    /// Chart actors, so shutdown can wait for their final flushes.
    tasks: TaskTracker,
    /// Open connections (each holds a token while it runs), so shutdown can
    /// wait for their close frames to go out before the process exits.
    connections: TaskTracker,
    /// Open connections per loaded chart, as each chart's actor last
    /// published them (after a batch, never mid-batch). A chart absent here
    /// has nobody in it. Read by the agenda board's presence counts.
    occupancy: Mutex<HashMap<String, usize>>,
    /// Bumped after every change to `occupancy` (or `elsewhere`), so live
    /// views (the agenda event stream) wake once per burst instead of
    /// polling.
    occupancy_changed: watch::Sender<u64>,
    /// Every committed batch that changed a chart's document, whether the
    /// edit came from a local connection, the server itself or (in a
    /// cluster) another node: the one feed that search indexing, webhooks
    /// and dashboards follow, off the data path.
    changes: broadcast::Sender<ChartChanged>,
    /// Open connections per chart that other processes reported (a
    /// cluster's other nodes, keyed by whatever names them); added to
    /// this hub's own counts by [`Hub::present`].
    elsewhere: Mutex<HashMap<String, HashMap<String, usize>>>,
    /// Set in a cluster: charts live in this shared log instead of `store`
    /// (which then keeps only the metadata documents).
    shared: Option<Arc<dyn SharedLog>>,
    /// Where the chart actors run when `config.chart_threads` > 0.
    chart_runtime: Option<ChartRuntime>,
}

/// The runtime of the chart actors ([`HubConfig::chart_threads`]).
struct ChartRuntime(Option<tokio::runtime::Runtime>);

impl ChartRuntime {
    fn start(threads: usize) -> std::io::Result<ChartRuntime> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("easel-charts")
            .enable_all()
            .build()?;
        Ok(ChartRuntime(Some(rt)))
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.0
            .as_ref()
            .expect("chart runtime lives as long as the hub")
            .handle()
    }
}

impl Drop for ChartRuntime {
    fn drop(&mut self) {
        // The hub may be dropped inside a runtime (or by the last chart
        // actor, on this one), where a blocking shutdown would panic. By then
        // `Hub::shutdown` has waited for the actors' final flushes.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl Hub {
    pub fn new(store: Store, config: HubConfig) -> Hub {
        Self::build(store, config, None)
    }

    /// A hub whose charts live in a shared log (a cluster node).
    pub fn with_shared_log(store: Store, config: HubConfig, shared: Arc<dyn SharedLog>) -> Hub {
        Self::build(store, config, Some(shared))
    }

    fn build(store: Store, config: HubConfig, shared: Option<Arc<dyn SharedLog>>) -> Hub {
        let chart_runtime = match config.chart_threads {
            0 => None,
            n => match ChartRuntime::start(n) {
                Ok(rt) => Some(rt),
                Err(e) => {
                    // Still correct on the caller's runtime, only slower
                    // under load.
                    tracing::error!(error = %e, "no chart threads; charts share the connections' runtime");
                    None
                }
            },
        };
        Hub {
            inner: Arc::new(HubInner {
                store,
                config,
                charts: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
                shutting_down: std::sync::atomic::AtomicBool::new(false),
                metrics: Arc::new(Metrics::default()),
                tasks: TaskTracker::new(),
                connections: TaskTracker::new(),
                occupancy: Mutex::new(HashMap::new()),
                occupancy_changed: watch::channel(0).0,
                changes: broadcast::channel(CHANGE_FEED_CAPACITY).0,
                elsewhere: Mutex::new(HashMap::new()),
                shared,
                chart_runtime,
            }),
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The shared chart log, when this hub is a cluster node.
    pub fn shared(&self) -> Option<&Arc<dyn SharedLog>> {
        self.inner.shared.as_ref()
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    pub(crate) fn connection_token(&self) -> tokio_util::task::task_tracker::TaskTrackerToken {
        self.inner.connections.token()
    }

    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::SeqCst)
    }

    pub(crate) fn next_conn_id(&self) -> ConnId {
        self.inner.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The chart's command channel, starting its actor if it is not loaded.
    pub(crate) fn chart_sender(&self, chart_id: &str) -> mpsc::Sender<chart::Command> {
        let mut charts = self.charts();
        if let Some(tx) = charts.get(chart_id) {
            if !tx.is_closed() {
                return tx.clone();
            }
        }
        let runtime = self.inner.chart_runtime.as_ref().map(ChartRuntime::handle);
        let tx = chart::spawn(
            self.clone(),
            chart_id.to_owned(),
            &self.inner.tasks,
            runtime,
        );
        charts.insert(chart_id.to_owned(), tx.clone());
        tx
    }

    /// Called by an actor that is about to stop: removes its entry only if
    /// nothing was queued for it meanwhile. Returns false if it must go on.
    pub(crate) fn try_unregister(
        &self,
        chart_id: &str,
        rx: &mpsc::Receiver<chart::Command>,
    ) -> bool {
        let mut charts = self.charts();
        if !rx.is_empty() {
            return false;
        }
        charts.remove(chart_id);
        true
    }

    /// Removes a stale entry (an actor that died) so the next join reloads.
    pub(crate) fn forget(&self, chart_id: &str, tx: &mpsc::Sender<chart::Command>) {
        let mut charts = self.charts();
        if charts.get(chart_id).is_some_and(|t| t.same_channel(tx)) {
            charts.remove(chart_id);
        }
    }

    /// Removes this chart's entry if its actor has stopped.
    pub(crate) fn forget_if_closed(&self, chart_id: &str) {
        let mut charts = self.charts();
        if charts.get(chart_id).is_some_and(|t| t.is_closed()) {
            charts.remove(chart_id);
        }
    }

    /// Number of charts loaded in memory now.
    pub fn loaded_charts(&self) -> usize {
        self.charts().len()
    }

    /// The chart registry. A panic while holding it cannot leave it
    /// inconsistent (every critical section is a single map operation), so
    /// a poisoned lock is simply taken over.
    fn charts(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<chart::Command>>> {
        self.inner.charts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The command channel of a chart that is loaded now, if any.
    fn loaded_sender(&self, chart_id: &str) -> Option<mpsc::Sender<chart::Command>> {
        self.charts().get(chart_id).cloned()
    }

    fn senders(&self) -> Vec<mpsc::Sender<chart::Command>> {
        self.charts().values().cloned().collect()
    }

    /// Open connections (browser tabs and other clients, read-only ones
    /// included) to `chart_id` right now; 0 if the chart is not loaded.
    /// In a cluster, the other nodes' counts are included once they
    /// reported them ([`Hub::set_present_elsewhere`]).
    pub fn present(&self, chart_id: &str) -> usize {
        let here = self.occupancy().get(chart_id).copied().unwrap_or(0);
        let elsewhere: usize = self
            .elsewhere()
            .values()
            .filter_map(|counts| counts.get(chart_id))
            .sum();
        here + elsewhere
    }

    /// This hub's own open connections per chart (charts with none are
    /// absent), for reporting them to other processes.
    pub fn present_here(&self) -> HashMap<String, usize> {
        self.occupancy().clone()
    }

    /// Replaces what `source` (another process) reports as its open
    /// connections per chart; `None` forgets the source.
    pub fn set_present_elsewhere(&self, source: &str, counts: Option<HashMap<String, usize>>) {
        {
            let mut all = self.elsewhere();
            let changed = match counts {
                Some(counts) => all.insert(source.to_owned(), counts.clone()) != Some(counts),
                None => all.remove(source).is_some(),
            };
            if !changed {
                return;
            }
        }
        self.inner
            .occupancy_changed
            .send_modify(|g| *g = g.wrapping_add(1));
    }

    /// Same poisoning argument as [`Hub::charts`]: single map operations.
    fn elsewhere(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, usize>>> {
        self.inner
            .elsewhere
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Changes whenever any chart's [`Hub::present`] count changes. The value
    /// is only a generation number: read the counts after `changed()`.
    pub fn watch_presence(&self) -> watch::Receiver<u64> {
        self.inner.occupancy_changed.subscribe()
    }

    /// Follows every committed change to any chart loaded in this hub (see
    /// [`ChartChanged`]). A receiver that falls behind by more than
    /// [`CHANGE_FEED_CAPACITY`] batches gets `RecvError::Lagged` and should
    /// treat every chart as possibly changed.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<ChartChanged> {
        self.inner.changes.subscribe()
    }

    /// Called by a chart's actor once per durable batch that changed its
    /// document. Costs one atomic load when nobody follows.
    pub(crate) fn publish_changed(&self, chart_id: &str) {
        if self.inner.changes.receiver_count() > 0 {
            let _ = self.inner.changes.send(ChartChanged {
                chart_id: chart_id.into(),
                at: std::time::SystemTime::now(),
            });
        }
    }

    /// Called by a chart's actor with its connection count.
    pub(crate) fn publish_present(&self, chart_id: &str, count: usize) {
        {
            let mut map = self.occupancy();
            if count == 0 {
                map.remove(chart_id);
            } else {
                map.insert(chart_id.to_owned(), count);
            }
        }
        self.inner
            .occupancy_changed
            .send_modify(|g| *g = g.wrapping_add(1));
    }

    /// Same poisoning argument as [`Hub::charts`]: single map operations.
    fn occupancy(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.inner
            .occupancy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Makes a chart read-only (finalized) or writable again, for open
    /// connections as well as future ones.
    pub async fn set_read_only(&self, chart_id: &str, read_only: bool) {
        if let Some(tx) = self.loaded_sender(chart_id) {
            let _ = tx.send(chart::Command::SetReadOnly(read_only)).await;
        }
    }

    /// Closes (4401) every open connection that came in with `grant`.
    pub async fn revoke(&self, grant: &str) {
        for tx in self.senders() {
            let _ = tx.send(chart::Command::Revoke(grant.to_owned())).await;
        }
    }

    /// Applies an update that the server itself authored (the report template
    /// for a new chart) through the chart's actor, durably and broadcast like
    /// any client update.
    pub async fn apply_server_update(
        &self,
        chart_id: &str,
        update: Vec<u8>,
    ) -> Result<(), HubError> {
        easel_store::validate_chart_id(chart_id)
            .map_err(|e| HubError::InvalidChart(e.to_string()))?;
        let update = Bytes::from(update);
        for _ in 0..3 {
            let tx = self.chart_sender(chart_id);
            let (done_tx, done_rx) = tokio::sync::oneshot::channel();
            if tx
                .send(chart::Command::ServerUpdate(update.clone(), done_tx))
                .await
                .is_err()
            {
                self.forget(chart_id, &tx);
                continue;
            }
            return done_rx.await.unwrap_or(Err(HubError::ChartUnavailable));
        }
        Err(HubError::ChartUnavailable)
    }

    /// Reads a chart's current state as a v1 update, from the live actor if
    /// loaded (so exports see what clients see), else from the store.
    pub async fn chart_state(&self, chart_id: &str) -> Result<Vec<u8>, HubError> {
        easel_store::validate_chart_id(chart_id)
            .map_err(|e| HubError::InvalidChart(e.to_string()))?;
        if let Some(tx) = self.loaded_sender(chart_id) {
            let (done_tx, done_rx) = tokio::sync::oneshot::channel();
            if tx.send(chart::Command::Snapshot(done_tx)).await.is_ok() {
                if let Ok(state) = done_rx.await {
                    return state;
                }
            }
        }
        if let Some(shared) = self.shared() {
            let (doc, _) = chart::load_shared(shared.as_ref(), chart_id).await?;
            return Ok(chart::encode_full(&doc));
        }
        let store = self.inner.store.clone();
        let id = chart_id.to_owned();
        tokio::task::spawn_blocking(move || {
            chart::load_doc(&store, &id).map(|(doc, _)| chart::encode_full(&doc))
        })
        .await
        .map_err(|_| HubError::ChartUnavailable)?
    }

    /// Deletes a chart for good: a loaded chart closes its connections with
    /// 4410 and unloads first, then its snapshot and log leave the store
    /// (durably), and from the shared log in a cluster. Callers make sure
    /// no new connection can reach the chart before calling this (the
    /// binary removes the chart's index entry first); otherwise a joiner
    /// could load it again in between.
    pub async fn delete_chart(&self, chart_id: &str) -> Result<(), HubError> {
        easel_store::validate_chart_id(chart_id)
            .map_err(|e| HubError::InvalidChart(e.to_string()))?;
        if let Some(tx) = self.loaded_sender(chart_id) {
            let (done_tx, done_rx) = tokio::sync::oneshot::channel();
            if tx.send(chart::Command::Delete(done_tx)).await.is_ok() {
                // An error means the actor stopped without answering: it
                // holds nothing either way.
                let _ = done_rx.await;
            }
        }
        if let Some(shared) = self.shared() {
            shared.delete(chart_id).await?;
        }
        self.inner.store.delete_chart(chart_id).await?;
        Ok(())
    }

    /// Graceful stop: every chart closes its connections with 1012, makes its
    /// last writes durable and exits; returns when all actors are done.
    pub async fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        for tx in self.senders() {
            let _ = tx.send(chart::Command::Shutdown).await;
        }
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        // Each connection sends its close frame (bounded by a timeout there).
        self.inner.connections.close();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            self.inner.connections.wait(),
        )
        .await;
        if let Err(e) = self.inner.store.flush().await {
            tracing::error!(error = %e, "final flush failed");
        }
    }
}

/// Errors hub callers can act on.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("invalid chart id: {0}")]
    InvalidChart(String),
    #[error("chart is not available right now")]
    ChartUnavailable,
    #[error("chart could not be loaded: {0}")]
    Load(String),
    #[error("store: {0}")]
    Store(#[from] easel_store::StoreError),
    #[error("update refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Shared(#[from] shared::SharedError),
}
