//! The HTTP surface: routes, health, and the static web client.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::{api, ws, AppState};

pub fn router(state: AppState) -> Router {
    let web = web_client(&state.config.web_dir);
    Router::new()
        .nest("/api/v1", api::router(&state))
        .route("/sync/{chart_id}", get(ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::metrics))
        .fallback_service(web)
        .with_state(state)
        // Everything else (API JSON, exports, health, metrics) gets the
        // same protections unless a response set its own: JSON and files
        // need no script, style or frame, so the policy allows nothing.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}

/// Content-Security-Policy of every response that is not the web client or
/// an inline HTML export (which set their own): nothing may load or frame.
const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Content-Security-Policy of the web client: only our own scripts, styles
/// (inline style attributes are needed by ProseMirror and the collaboration
/// carets), images and connections (HTTP, SSE and the same-origin WebSocket),
/// and no framing by other sites.
const WEB_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// The built web client (`--web-dir`), served for every path no route claims.
/// Its routes live in the URL fragment (`/#/chart/...`), so `/` and the asset
/// files are all it needs; a missing file is a plain 404.
fn web_client(dir: &std::path::Path) -> Router {
    let header = |name, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    Router::new()
        .fallback_service(ServeDir::new(dir))
        .layer(header(header::CONTENT_SECURITY_POLICY, WEB_CSP))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
}

/// The process is up and answering.
async fn healthz() -> &'static str {
    "ok"
}

/// The store is open and the server accepts connections.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down".to_owned());
    }
    if let Some(why) = state.store.failing() {
        // Edits cannot be stored: take this instance out of rotation.
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("storage failing ({why}); free disk space and restart"),
        );
    }
    (StatusCode::OK, "ready".to_owned())
}
