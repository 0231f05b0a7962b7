//! The `easel` server: configuration, HTTP routes, the WebSocket upgrade and
//! the web client, around the hub and the store.
//!
//! This crate is the thin outer layer: it owns the network and the command
//! line and turns them into calls on [`easel_hub::Hub`]. [`run`] is the whole
//! server, given a bound listener and a shutdown signal, so integration tests
//! start the real thing on port 0 and stop it themselves.

pub mod config;
pub mod http;
pub mod ws;

use std::sync::Arc;

use anyhow::Context;
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
    let data_dir = config.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&data_dir))
        .await?
        .with_context(|| format!("opening data dir {}", config.data_dir.display()))?;
    let hub = Hub::new(store.clone(), config.hub_config());
    let state = AppState {
        hub: hub.clone(),
        store,
        config: Arc::new(config),
        shutdown: shutdown.clone(),
    };
    let app = http::router(state);
    let server_shutdown = shutdown.clone();
    let hub_for_shutdown = hub.clone();
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
    tracing::info!("stopped");
    Ok(())
}
