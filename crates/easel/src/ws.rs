//! The WebSocket edge: `GET /sync/{chart_id}` upgrades to the y-websocket
//! protocol and hands the socket to the hub as a stream of [`Frame`]s.
//!
//! WebSocket buffers are sized here, not left at tungstenite's defaults
//! (128 KiB write buffer per socket), because idle connections are most of a
//! conference and their memory is what limits how many one node holds.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use easel_hub::{Access, CloseReason, ConnInfo, Frame};
use futures_util::{future, SinkExt, StreamExt};

use crate::AppState;

/// Bytes tungstenite buffers before writing to the socket.
const WRITE_BUFFER: usize = 8 * 1024;
/// Initial read buffer per socket.
const READ_BUFFER: usize = 4 * 1024;

pub async fn upgrade(
    State(state): State<AppState>,
    Path(chart_id): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "server is shutting down").into_response();
    }
    if let Err(e) = easel_store::validate_chart_id(&chart_id) {
        return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
    }
    let info = ConnInfo {
        access: Access::Edit,
        grant: None,
    };
    let max = state.config.max_frame_bytes;
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER + max + 64 * 1024)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move { serve(state, chart_id, info, socket).await })
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
