//! The WebSocket edge: `GET /sync/{chart_id}` upgrades to the y-websocket
//! protocol and hands the socket to the hub as a stream of [`Frame`]s.
//!
//! Before upgrading, in this order (every refusal is a plain HTTP answer
//! with the API's JSON error body, so no chart state is ever sent):
//! 1. shutting down: 503; malformed chart id: 400;
//! 2. too many connection attempts from this address: 429;
//! 3. `Origin` not allowed ([`crate::access::OriginPolicy`]): 403;
//! 4. no token: 401; unknown or revoked token: 401 (and it counts against
//!    the address's failed-attempt budget; once spent: 429);
//! 5. the chart is not one of the token's conference: 403 (unknown charts
//!    get the same answer, so tokens cannot probe for chart ids);
//! 6. access: `read` tokens, and charts whose session is final, cancelled
//!    or merged away, get [`easel_hub::Access::Read`]: the hub refuses their updates
//!    ("permission denied") and never applies or stores them.
//!
//! WebSocket buffers are sized here, not left at tungstenite's defaults
//! (128 KiB write buffer per socket), because idle connections are most of a
//! conference and their memory is what limits how many one node holds.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use easel_hub::{CloseReason, ConnInfo, Frame};
use futures_util::{future, SinkExt, StreamExt};

use crate::api::{self, ApiError};
use crate::conferences::ChartDenied;
use crate::AppState;

/// Bytes tungstenite buffers before writing to the socket. The buffer keeps
/// its grown capacity for the connection's life, so this bounds what an idle
/// connection holds (2 KiB read + 2 KiB write: 14.3 KB per idle connection
/// measured, against 20.9 KB with 4 + 8 KiB; BENCHMARKS.md, memory).
///
/// These were 4 and 8 KiB for a while: with 2 KiB the browser test of two
/// people typing right after joining lost the template's task list nearly
/// every run. The buffers only changed the timing; the bug was the web
/// client's (ProseMirror acting on a stale caret, web-client/src/selection.ts)
/// and web-client/test/join.test.mjs now guards it.
const WRITE_BUFFER: usize = 2 * 1024;
/// Initial read buffer per socket; a larger frame grows it.
const READ_BUFFER: usize = 2 * 1024;

pub async fn upgrade(
    State(state): State<AppState>,
    Path(chart_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (info, token) = match authorize(&state, &chart_id, peer, &headers, &uri).await {
        Ok(ok) => ok,
        Err(e) => {
            tracing::debug!(chart = %chart_id, %peer, code = e.code, "WebSocket refused");
            easel_hub::Metrics::inc(&state.hub.metrics().auth_failures);
            return e.into_response();
        }
    };
    let max = state.config.max_frame_bytes;
    // The transport's own limit is only a backstop, set above the hub's:
    // tungstenite drops an oversized message without a close frame, while
    // the hub answers 1009 with a reason the client can show. Only frames
    // past the backstop (twice the limit plus 64 KiB) are cut without one.
    let transport_max = max.saturating_mul(2).saturating_add(64 * 1024);
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER + 2 * state.config.max_chart_bytes + max)
        .max_message_size(transport_max)
        .max_frame_size(transport_max)
        .on_upgrade(move |socket| async move {
            // Look again right before joining: a session finalized (or a
            // token revoked) during the handshake must not get an editor.
            let mut info = info;
            match state.conferences.chart_access(&token, &chart_id).await {
                Ok(Ok(access)) if state.conferences.token_valid(&token).await => {
                    info.access = access
                }
                _ => return,
            }
            serve(state, chart_id, info, socket).await
        })
}

/// Decides whether and how this request may open the chart (see the
/// module docs for the order of checks).
async fn authorize(
    state: &AppState,
    chart_id: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(ConnInfo, crate::access::TokenRecord), ApiError> {
    if state.shutdown.is_cancelled() {
        return Err(ApiError::unavailable("server is shutting down"));
    }
    if let Err(e) = easel_store::validate_chart_id(chart_id) {
        return Err(ApiError::invalid(e.to_string()));
    }
    let ip = peer.ip();
    if !state.limits.connections.try_take(ip) {
        return Err(ApiError::rate_limited("connection attempts"));
    }
    if !state.origins.allows(headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this page's origin may not open charts on this server (see --allowed-origins)",
        ));
    }
    let token = api::check_token(state, headers, uri.query(), ip)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    match state.conferences.chart_access(&token, chart_id).await? {
        Ok(access) => Ok((
            ConnInfo {
                access,
                grant: Some(token.id.clone()),
            },
            token,
        )),
        Err(ChartDenied::Forbidden) => Err(ApiError::forbidden(
            "this token does not grant access to this chart",
        )),
    }
}

async fn serve(state: AppState, chart_id: String, info: ConnInfo, socket: WebSocket) {
    let socket = socket
        .map(|r| r.map(to_frame))
        .with(|f: Frame| future::ready(Ok::<_, axum::Error>(from_frame(f))));
    state.hub.serve(&chart_id, info, Box::pin(socket)).await;
}

fn to_frame(m: Message) -> Frame {
    match m {
        Message::Binary(b) => Frame::Binary(b),
        Message::Text(t) => Frame::Text(t.to_string()),
        Message::Ping(b) => Frame::Ping(b),
        Message::Pong(b) => Frame::Pong(b),
        Message::Close(c) => {
            Frame::Close(c.map(|c| CloseReason::new(c.code, c.reason.to_string())))
        }
    }
}

fn from_frame(f: Frame) -> Message {
    match f {
        Frame::Binary(b) => Message::Binary(b),
        Frame::Text(t) => Message::Text(t.into()),
        Frame::Ping(b) => Message::Ping(b),
        Frame::Pong(b) => Message::Pong(b),
        Frame::Close(c) => Message::Close(c.map(|c| CloseFrame {
            code: c.code,
            reason: c.reason.into(),
        })),
    }
}
