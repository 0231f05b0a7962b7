//! The baseline: a bare WebSocket broadcast server, the physical ceiling a
//! Yjs server can reach on a given machine.
//!
//! Rooms are keyed by the request path (`/sync/ROOM` and `/ROOM` are simply
//! different rooms); every binary frame a connection sends is forwarded,
//! unchanged, to every *other* connection in its room. No CRDT, no store, no
//! protocol parsing, no awareness table: whatever Easel costs above this is
//! the price of understanding and persisting Yjs.
//!
//! It is deliberately built like Easel's edge so the comparison is fair:
//! - the WebSocket buffers are the ones `crates/easel/src/ws.rs` sets
//!   ([`ws_config`]);
//! - each connection has a reader and a writer side by side and a bounded
//!   outbound queue ([`OUTBOUND_QUEUE`] messages, Easel's default); a
//!   connection whose queue is full is closed (1013), as Easel does, rather
//!   than letting memory grow.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;

/// Bytes tungstenite buffers before writing to the socket (as Easel).
pub const WRITE_BUFFER: usize = 2 * 1024;
/// Initial read buffer per socket (as Easel).
pub const READ_BUFFER: usize = 2 * 1024;
/// Largest inbound message (Easel's `--max-frame-bytes` default).
pub const MAX_FRAME: usize = 1024 * 1024;
/// Messages queued for one connection before it is closed as too slow
/// (Easel's `--outbound-queue` default).
pub const OUTBOUND_QUEUE: usize = 512;

/// The WebSocket settings Easel's edge uses.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER + MAX_FRAME + 64 * 1024)
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME))
}

type Room = Arc<Mutex<Vec<(u64, mpsc::Sender<Bytes>)>>>;

/// Rooms by path. Cloning shares them.
#[derive(Clone, Default)]
pub struct Baseline {
    rooms: Arc<Mutex<HashMap<String, Room>>>,
    next_id: Arc<AtomicU64>,
}

impl Baseline {
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts connections until the listener fails.
    pub async fn run(self, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let this = self.clone();
            tokio::spawn(async move { this.serve(stream).await });
        }
    }

    /// Number of rooms with at least one connection.
    pub fn rooms(&self) -> usize {
        self.rooms.lock().map(|r| r.len()).unwrap_or(0)
    }

    async fn serve(&self, stream: TcpStream) {
        let mut path = String::new();
        // The handshake callback's signature is tungstenite's.
        #[allow(clippy::result_large_err)]
        let callback = |req: &Request, resp: Response| {
            path = req.uri().path().to_owned();
            Ok(resp)
        };
        let Ok(ws) =
            tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config()))
                .await
        else {
            return;
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::channel::<Bytes>(OUTBOUND_QUEUE);
        let room = {
            let mut rooms = self.rooms.lock().expect("rooms lock");
            rooms.entry(path.clone()).or_default().clone()
        };
        room.lock().expect("room lock").push((id, tx));

        let (mut sink, mut stream) = ws.split();
        let writer = async {
            while let Some(b) = rx.recv().await {
                if sink.feed(Message::Binary(b)).await.is_err() {
                    return;
                }
                // Drain what else is queued before one flush, as Easel's
                // connection writer does.
                while let Ok(b) = rx.try_recv() {
                    if sink.feed(Message::Binary(b)).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            // Queue closed: we were dropped as too slow.
            let _ = sink
                .send(Message::Close(Some(CloseFrame {
                    code: CloseCode::Again,
                    reason: "too slow".into(),
                })))
                .await;
        };
        let reader = async {
            while let Some(Ok(msg)) = stream.next().await {
                match msg {
                    Message::Binary(b) => self.broadcast(&room, id, b),
                    Message::Close(_) => break,
                    _ => {}
                }
            }
        };
        tokio::select! {
            _ = writer => {}
            _ = reader => {}
        }
        self.leave(&path, &room, id);
    }

    fn broadcast(&self, room: &Room, from: u64, msg: Bytes) {
        let mut members = room.lock().expect("room lock");
        // A full queue drops that member: its sender is removed, its writer
        // sees the queue close and sends 1013.
        members.retain(|(id, tx)| {
            *id == from
                || match tx.try_send(msg.clone()) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => false,
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                }
        });
    }

    fn leave(&self, path: &str, room: &Room, id: u64) {
        let empty = {
            let mut members = room.lock().expect("room lock");
            members.retain(|(m, _)| *m != id);
            members.is_empty()
        };
        if empty {
            let mut rooms = self.rooms.lock().expect("rooms lock");
            if rooms
                .get(path)
                .is_some_and(|r| Arc::ptr_eq(r, room) && r.lock().expect("room lock").is_empty())
            {
                rooms.remove(path);
            }
        }
    }
}
