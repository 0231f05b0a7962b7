//! The HTTP surface: routes, health, and the static web client.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::{ws, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/sync/{chart_id}", get(ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// The process is up and answering.
async fn healthz() -> &'static str {
    "ok"
}

/// The store is open and the server accepts connections.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    (StatusCode::OK, "ready")
}
