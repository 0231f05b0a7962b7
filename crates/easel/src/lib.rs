//! The `easel` server: configuration, HTTP routes, the WebSocket upgrade and
//! the web client, around the hub and the store.
//!
//! This crate is the thin outer layer: it owns the network and the command
//! line and turns them into calls on [`easel_hub::Hub`]. [`run`] is the whole
//! server, given a bound listener and a shutdown signal, so integration tests
//! start the real thing on port 0 and stop it themselves.
//!
//! The conference service itself (the agenda in the store, the session
//! workflow, tokens, the chart index, cluster effects, retention, backup)
//! is the `easel_conferences` crate; this crate calls it. Read in this
//! order: [`access`] (the token a request presents, the Origin policy,
//! rate limits), [`api`] (the REST API under `/api/v1` and its OpenAPI
//! document), [`ws`] (the token-checked WebSocket upgrade), [`demo`] (the
//! first-start demo conference and the `easel conference` commands'
//! output) and [`admin`] (the data dir's socket through which `easel
//! backup` asks a running server). `docs/api.md` and `docs/security.md`
//! describe them from the outside.

pub mod access;
pub mod admin;
pub mod api;
pub mod config;
pub mod demo;
pub mod http;
pub mod metrics;
pub mod ws;

use std::sync::Arc;

use access::{OriginPolicy, RateLimiter, RateLimits};
use anyhow::Context;
use easel_conferences::Conferences;
use easel_hub::Hub;
use easel_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::ServeConfig;

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub hub: Hub,
    pub store: Store,
    pub config: Arc<ServeConfig>,
    /// Conferences, tokens and the chart index.
    pub conferences: Conferences,
    /// Full-text search over the conferences' charts.
    pub search: easel_search::Search,
    /// Per-address limits on failed tokens, connections and creations.
    pub limits: Arc<RateLimits>,
    /// Who may open WebSockets from a browser.
    pub origins: Arc<OriginPolicy>,
    /// Cancelled when the server starts shutting down: `/readyz` turns 503 and
    /// new WebSocket upgrades are refused.
    pub shutdown: CancellationToken,
}

/// Runs the server until `shutdown` is cancelled, then stops gracefully:
/// stop accepting, close every WebSocket with 1012, let every chart make its
/// last writes durable, flush the store.
pub async fn run(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_with_notice(config, listener, shutdown, |_| {}).await
}

/// Opens a data dir; its error already names the data dir when another
/// process (a running `easel serve`) holds it.
pub async fn open_store(data_dir: &std::path::Path) -> anyhow::Result<Store> {
    open_store_with(data_dir, easel_store::StoreOptions::default()).await
}

/// [`open_store`] with explicit durability options (`--fsync`).
pub async fn open_store_with(
    data_dir: &std::path::Path,
    options: easel_store::StoreOptions,
) -> anyhow::Result<Store> {
    let dir = data_dir.to_path_buf();
    match tokio::task::spawn_blocking(move || Store::open_with_options(&dir, options)).await? {
        Ok(store) => Ok(store),
        Err(e @ easel_store::StoreError::Locked { .. }) => Err(e.into()),
        Err(e) => Err(e).with_context(|| format!("opening data dir {}", data_dir.display())),
    }
}

/// [`run`], and once the store is open: create the demo conference if the
/// data dir has none (unless `--no-demo`), then hand `notice` the lines to
/// show the person who started the server (links with tokens, or a hint).
pub async fn run_with_notice(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
    notice: impl FnOnce(&[String]),
) -> anyhow::Result<()> {
    let options = easel_store::StoreOptions {
        fsync: config.fsync,
    };
    let store = open_store_with(&config.data_dir, options).await?;
    let (hub, conferences) = match config.cluster_config() {
        None => {
            let hub = Hub::new(store.clone(), config.hub_config());
            (hub.clone(), Conferences::new(store.clone(), hub))
        }
        Some(cluster) => {
            let log = easel_cluster::RedisLog::connect(cluster).await?;
            // Conferences, tokens and the chart index live in Redis too, so
            // any node answers for every conference.
            let meta = log.metadata().await?;
            let hub = Hub::with_shared_log(store.clone(), config.hub_config(), log.clone());
            log.share_connection_counts(hub.clone(), shutdown.clone());
            let conferences = Conferences::with_meta(meta, hub.clone());
            // The outbox is this node's: deliveries of changes made here.
            conferences.set_outbox(store.clone());
            (hub, conferences)
        }
    };
    easel_webhooks::Dispatcher::new(conferences.clone(), store.clone(), config.webhook_config())
        .context("webhook client")?
        .spawn(shutdown.clone());
    conferences.set_board_limits(config.board_limits());
    conferences.follow_cluster(shutdown.clone());
    // A deletion a crash interrupted is finished before anyone connects.
    match conferences.sweep().await {
        Ok(swept) if swept != Default::default() => {
            tracing::warn!(?swept, "startup sweep cleaned up after a crash")
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "startup sweep failed; the next start tries again"),
    }
    conferences.follow_edits(shutdown.clone());
    conferences.set_history_config(easel_conferences::history::HistoryConfig {
        max_versions: config.max_versions_per_chart as usize,
        round_end_grace: config.round_end_version_grace,
    });
    conferences.spawn_round_versions(shutdown.clone());
    // Closes that passed while the server was down are announced; timers
    // are set for the times ahead.
    if let Err(e) = conferences.resume_convergence().await {
        tracing::warn!(error = %e, "convergence schedules not resumed");
    }
    // Before the demo conference is created, so the indexer hears of it.
    let search = easel_search::Search::start(
        &config.search_dir(),
        conferences.clone(),
        config.search_config(),
        shutdown.clone(),
    )
    .context("opening the search index")?;
    let base = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let lines = demo::startup_notice(&conferences, &base, !config.no_demo).await?;
    notice(&lines);
    let limits = RateLimits {
        auth_failures: RateLimiter::with_burst(
            config.auth_failures_per_minute,
            config.auth_failure_burst,
        ),
        connections: RateLimiter::new(config.connections_per_minute),
        creates: RateLimiter::new(config.conference_creates_per_minute),
    };
    let admin_socket = admin::socket_path(&config.data_dir);
    admin::spawn(
        &config.data_dir,
        conferences.clone(),
        store.clone(),
        search.clone(),
        shutdown.clone(),
    );
    if let Some(after) = config.delete_published_after {
        easel_conferences::retention::spawn(conferences.clone(), after, shutdown.clone());
    }
    let state = AppState {
        hub: hub.clone(),
        store,
        origins: Arc::new(OriginPolicy::new(&config.allowed_origins)),
        config: Arc::new(config),
        conferences,
        search: search.clone(),
        limits: Arc::new(limits),
        shutdown: shutdown.clone(),
    };
    let app = http::router(state);
    let server_shutdown = shutdown.clone();
    let hub_for_shutdown = hub.clone();
    // Sync messages are small and latency-bound: without TCP_NODELAY a
    // client's first sync waits ~40 ms on Nagle + delayed ACK.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        server_shutdown.cancelled().await;
        tracing::info!("shutting down: closing connections and flushing");
        // Upgraded WebSockets are not tracked by the HTTP server's
        // graceful shutdown; the hub closes them itself.
        hub_for_shutdown.shutdown().await;
    })
    .await
    .context("HTTP server")?;
    hub.shutdown().await;
    // After the hub: its last batches are in the change feed.
    search.close().await;
    let _ = std::fs::remove_file(&admin_socket);
    tracing::info!("stopped");
    Ok(())
}
