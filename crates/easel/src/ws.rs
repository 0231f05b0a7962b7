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
//!
//! The socket is tokio-tungstenite's own `WebSocketStream` over hyper's
//! upgraded connection, not axum's `WebSocket` wrapper, for one reason:
//! large messages go out as WebSocket fragments of [`FRAGMENT`] bytes.
//! tungstenite formats a whole frame into its write buffer, and that
//! buffer keeps its grown capacity for the connection's life: a client that
//! once received a 1 MB sync answer held 1 MB for as long as it stayed
//! (300 joiners of a 1 MB chart: 452 MB RSS). axum cannot send fragments;
//! tungstenite can (`Message::Frame`), and every WebSocket client reassembles
//! them (RFC 6455 §5.4).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri, Version};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use easel_hub::{Access, CloseReason, ConnInfo, Frame};
use futures_util::future::{self, Either};
use futures_util::{stream, SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame as WsFrame;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::api::{self, ApiError};
use crate::AppState;
use easel_conferences::ChartDenied;

/// Bytes tungstenite buffers before writing to the socket. The buffer keeps
/// its grown capacity for the connection's life, so this bounds what an idle
/// connection holds (2 KiB read + 2 KiB write: 14.3 KB per idle connection
/// measured, against 20.9 KB with 4 + 8 KiB; the memory scenario in
/// BENCHMARKS.md).
///
/// Small buffers change the timing of what a browser receives right after
/// joining; web-client/test/join.test.mjs races two people typing the moment
/// they join, guarding the caret handling (web-client/src/selection.ts) that
/// this timing exposes.
const WRITE_BUFFER: usize = 2 * 1024;
/// Initial read buffer per socket; a larger frame grows it.
const READ_BUFFER: usize = 2 * 1024;
/// Outgoing messages larger than this go out as fragments of this size, so
/// the write buffer never grows much past [`WRITE_BUFFER`] + one fragment.
/// 16 KiB: a 1 MB sync answer is 64 frames (64 writes at most), where 2 KiB
/// fragments would cost a syscall each and slow a join storm.
pub const FRAGMENT: usize = 16 * 1024;

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// A WebSocket handshake request (RFC 6455 §4.2.1), checked as axum's own
/// extractor checks it, holding hyper's handle to the connection it takes
/// over once the 101 answer is out.
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: hyper::upgrade::OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let not_websocket = |why: &str| {
            ApiError::new(
                crate::api::ErrorCode::WebsocketRequired,
                format!("/sync expects a WebSocket handshake: {why}"),
            )
        };
        if parts.method != Method::GET || parts.version > Version::HTTP_11 {
            return Err(not_websocket("an HTTP/1.1 GET"));
        }
        let connection_upgrade = parts
            .headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
        let upgrade_websocket = parts
            .headers
            .get(header::UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
        if !connection_upgrade || !upgrade_websocket {
            return Err(not_websocket("Connection: upgrade and Upgrade: websocket"));
        }
        if parts.headers.get(header::SEC_WEBSOCKET_VERSION) != Some(&HeaderValue::from_static("13"))
        {
            return Err(not_websocket("Sec-WebSocket-Version: 13"));
        }
        let key = parts
            .headers
            .get(header::SEC_WEBSOCKET_KEY)
            .cloned()
            .ok_or_else(|| not_websocket("a Sec-WebSocket-Key"))?;
        let on_upgrade = parts
            .extensions
            .remove::<hyper::upgrade::OnUpgrade>()
            .ok_or_else(|| not_websocket("a connection that can be upgraded"))?;
        Ok(Upgrade { key, on_upgrade })
    }
}

impl Upgrade {
    /// Answers 101 and, once hyper hands the connection over, runs `serve`
    /// on it as a WebSocket with `config`.
    fn accept<F, Fut>(self, config: WebSocketConfig, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let socket = WebSocketStream::from_raw_socket(
                        TokioIo::new(upgraded),
                        Role::Server,
                        Some(config),
                    )
                    .await;
                    serve(socket).await
                }
                Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
            }
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        let accept = derive_accept_key(self.key.as_bytes());
        headers.insert(
            header::SEC_WEBSOCKET_ACCEPT,
            HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
        );
        response
    }
}

pub async fn upgrade(
    State(state): State<AppState>,
    Path(chart_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: Upgrade,
) -> Response {
    let (info, token) = match authorize(&state, &chart_id, peer, &headers, &uri).await {
        Ok(ok) => ok,
        Err(e) => {
            tracing::debug!(chart = %chart_id, %peer, code = e.code.as_str(), "WebSocket refused");
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
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER + 2 * state.config.max_chart_bytes + max)
        .max_message_size(Some(transport_max))
        .max_frame_size(Some(transport_max));
    upgrade.accept(config, move |socket| async move {
        // Look again right before joining: a session finalized (or a
        // token revoked) during the handshake must not get an editor.
        let mut info = info;
        match state.conferences.chart_access(&token, &chart_id).await {
            Ok(Ok(access)) if state.conferences.token_valid(&token).await => info.access = access,
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
            crate::api::ErrorCode::OriginNotAllowed,
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
                link: if token.role == crate::access::Role::Read {
                    Access::Read
                } else {
                    Access::Edit
                },
                grant: Some(token.id.clone()),
            },
            token,
        )),
        Err(ChartDenied::Forbidden) => Err(ApiError::forbidden(
            "this token does not grant access to this chart",
        )),
    }
}

async fn serve(state: AppState, chart_id: String, info: ConnInfo, socket: Socket) {
    let socket = socket
        .filter_map(|r| future::ready(to_frame(r).transpose()))
        .with_flat_map(|f: Frame| match f {
            Frame::Binary(b) if b.len() > FRAGMENT => {
                Either::Right(stream::iter(fragments(b).into_iter().map(Ok)))
            }
            // Nearly every message: no allocation on the way out.
            f => Either::Left(stream::once(future::ready(Ok(from_frame(f))))),
        });
    state.hub.serve(&chart_id, info, Box::pin(socket)).await;
}

type WsResult<T> = Result<T, tokio_tungstenite::tungstenite::Error>;

/// `None` for what the hub never sees: raw frames (tungstenite only yields
/// whole messages when reading).
fn to_frame(m: WsResult<Message>) -> WsResult<Option<Frame>> {
    Ok(Some(match m? {
        Message::Binary(b) => Frame::Binary(b),
        Message::Text(t) => Frame::Text(t.to_string()),
        Message::Ping(b) => Frame::Ping(b),
        Message::Pong(b) => Frame::Pong(b),
        Message::Close(c) => {
            Frame::Close(c.map(|c| CloseReason::new(u16::from(c.code), c.reason.to_string())))
        }
        Message::Frame(_) => return Ok(None),
    }))
}

/// One hub frame as one WebSocket message (binary messages above
/// [`FRAGMENT`] bytes go through [`fragments`] instead).
fn from_frame(f: Frame) -> Message {
    match f {
        Frame::Binary(b) => Message::Binary(b),
        Frame::Text(t) => Message::Text(t.into()),
        Frame::Ping(b) => Message::Ping(b),
        Frame::Pong(b) => Message::Pong(b),
        Frame::Close(c) => Message::Close(c.map(|c| CloseFrame {
            code: CloseCode::from(c.code),
            reason: c.reason.into(),
        })),
    }
}

/// A binary message as a first fragment and continuations of at most
/// [`FRAGMENT`] bytes.
fn fragments(b: Bytes) -> Vec<Message> {
    let count = b.len().div_ceil(FRAGMENT);
    (0..count)
        .map(|i| {
            let part = b.slice(i * FRAGMENT..((i + 1) * FRAGMENT).min(b.len()));
            let opcode = if i == 0 {
                OpCode::Data(Data::Binary)
            } else {
                OpCode::Data(Data::Continue)
            };
            Message::Frame(WsFrame::message(part, opcode, i + 1 == count))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_binary_messages_become_fragments_that_add_up() {
        let data: Vec<u8> = (0..(2 * FRAGMENT + 5)).map(|i| i as u8).collect();
        let out = fragments(Bytes::from(data.clone()));
        assert_eq!(out.len(), 3);
        let mut joined = Vec::new();
        for (i, m) in out.into_iter().enumerate() {
            let Message::Frame(f) = m else {
                panic!("fragment {i} is not a raw frame")
            };
            let expected = if i == 0 { Data::Binary } else { Data::Continue };
            assert_eq!(f.header().opcode, OpCode::Data(expected));
            assert_eq!(f.header().is_final, i == 2);
            joined.extend_from_slice(f.payload());
        }
        assert_eq!(joined, data);
    }
}
