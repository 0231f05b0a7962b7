//! One task per connection: the bridge between a socket and its chart actor.
//!
//! The socket is any `Stream + Sink` of [`Frame`]s, so tests can drive the hub
//! through channels and the binary through a real WebSocket. The task runs a
//! reader and a writer side by side:
//! - the reader forwards binary frames to the chart; when the chart's command
//!   queue is full the read waits, which pushes back on the client over TCP;
//! - the writer drains this connection's bounded outbound queue into the
//!   socket and pings the peer; a peer silent for two ping intervals is dead.
//!
//! The chart never waits for a connection: when the outbound queue is full it
//! fires the `kill` oneshot and forgets the connection. The client resyncs on
//! reconnect, so closing a slow reader loses nothing and keeps memory bounded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::chart::Command;
use crate::metrics::Metrics;
use crate::{close, CloseReason, ConnInfo, Hub};

/// A WebSocket frame as the hub sees it, independent of the WebSocket library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Binary(Bytes),
    Text(String),
    Ping(Bytes),
    Pong(Bytes),
    Close(Option<CloseReason>),
}

/// Most queued messages written before one flush.
const WRITE_BATCH: usize = 64;

/// How long a close frame may take to go out before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

enum Ended {
    ClientClosed,
    /// The chart dropped our queue: it either fired `kill` first (and the
    /// reason is waiting there) or went away.
    QueueClosed,
    SocketError(String),
    Close(CloseReason),
}

impl Hub {
    /// Serves one connection to `chart_id` until either side closes it. The
    /// caller has already checked the chart id and the client's access.
    pub async fn serve<S, E>(&self, chart_id: &str, info: ConnInfo, socket: S)
    where
        S: Stream<Item = Result<Frame, E>> + Sink<Frame> + Send + Unpin,
        E: std::fmt::Display,
    {
        let conn = self.next_conn_id();
        let _running = self.connection_token();
        let span = tracing::info_span!("conn", conn_id = conn, chart_id = %chart_id);
        self.serve_inner(conn, chart_id, info, socket)
            .instrument(span)
            .await
    }

    async fn serve_inner<S, E>(&self, conn: u64, chart_id: &str, info: ConnInfo, socket: S)
    where
        S: Stream<Item = Result<Frame, E>> + Sink<Frame> + Send + Unpin,
        E: std::fmt::Display,
    {
        let metrics = self.metrics().clone();
        Metrics::inc(&metrics.connections);
        Metrics::inc(&metrics.connections_total);
        let config = self.config().clone();
        // The outbound queue: the chart holds the sender, this task the
        // receiver. Its bound is the slow-consumer limit.
        let (out_tx, mut out_rx) = mpsc::channel::<Bytes>(config.outbound_queue);
        // Fired by the chart to close us (queue full, revoked, shutdown); if
        // the chart drops it unfired, the chart went away.
        let (kill_tx, mut kill_rx) = oneshot::channel::<CloseReason>();

        let mut chart = None;
        let mut join = Some(Command::Join {
            conn,
            info,
            outbound: out_tx,
            kill: kill_tx,
        });
        for _ in 0..3 {
            let tx = self.chart_sender(chart_id);
            match tx.send(join.take().expect("join command")).await {
                Ok(()) => {
                    chart = Some(tx);
                    break;
                }
                Err(mpsc::error::SendError(cmd)) => {
                    // The actor unloaded between lookup and send: start anew.
                    self.forget(chart_id, &tx);
                    join = Some(cmd);
                }
            }
        }
        let (mut sink, mut stream) = socket.split();
        let Some(chart) = chart else {
            let reason = if self.is_shutting_down() {
                CloseReason::new(close::RESTART, "server restarting")
            } else {
                CloseReason::new(close::TRY_AGAIN, "chart unavailable")
            };
            let _ =
                tokio::time::timeout(CLOSE_TIMEOUT, sink.send(Frame::Close(Some(reason)))).await;
            metrics.connections.fetch_sub(1, Ordering::Relaxed);
            return;
        };

        let started = Instant::now();
        let last_seen = AtomicU64::new(0);
        let seen = || last_seen.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);

        let reader = async {
            while let Some(frame) = stream.next().await {
                seen();
                match frame {
                    Ok(Frame::Binary(bytes)) => {
                        Metrics::add(&metrics.bytes_in, bytes.len() as u64);
                        if bytes.len() > config.max_frame_bytes {
                            return Ended::Close(CloseReason::new(
                                close::TOO_BIG,
                                format!("frame larger than {} bytes", config.max_frame_bytes),
                            ));
                        }
                        if chart
                            .send(Command::Frame { conn, frame: bytes })
                            .await
                            .is_err()
                        {
                            return Ended::Close(CloseReason::new(
                                close::TRY_AGAIN,
                                "chart unloaded; reconnect",
                            ));
                        }
                    }
                    Ok(Frame::Text(_)) => {
                        Metrics::inc(&metrics.protocol_errors);
                        tracing::debug!("ignoring text frame");
                    }
                    Ok(Frame::Ping(_)) | Ok(Frame::Pong(_)) => {}
                    Ok(Frame::Close(_)) => return Ended::ClientClosed,
                    Err(e) => return Ended::SocketError(e.to_string()),
                }
            }
            Ended::ClientClosed
        };

        let writer = async {
            let mut ping = tokio::time::interval(config.ping_interval);
            ping.tick().await;
            loop {
                tokio::select! {
                    msg = out_rx.recv() => match msg {
                        Some(msg) => {
                            // Queue everything already waiting, then flush
                            // once: one write syscall per burst, not per
                            // message (a broadcast often finds several).
                            if sink.feed(Frame::Binary(msg)).await.is_err() {
                                return Ended::SocketError("send failed".into());
                            }
                            let mut fed = 1;
                            while fed < WRITE_BATCH {
                                let Ok(more) = out_rx.try_recv() else { break };
                                if sink.feed(Frame::Binary(more)).await.is_err() {
                                    return Ended::SocketError("send failed".into());
                                }
                                fed += 1;
                            }
                            if sink.flush().await.is_err() {
                                return Ended::SocketError("send failed".into());
                            }
                        }
                        None => return Ended::QueueClosed,
                    },
                    _ = ping.tick() => {
                        let silent = started.elapsed().as_millis() as u64 - last_seen.load(Ordering::Relaxed);
                        if silent > 2 * config.ping_interval.as_millis() as u64 {
                            return Ended::SocketError("peer stopped answering pings".into());
                        }
                        if sink.send(Frame::Ping(Bytes::new())).await.is_err() {
                            return Ended::SocketError("ping failed".into());
                        }
                    }
                }
            }
        };

        let chart_gone = || CloseReason::new(close::TRY_AGAIN, "chart closed; reconnect");
        // Biased: when the chart closes us it fires `kill` before its queue
        // goes away, and that reason (1012 on shutdown, 4401 on revoke) is
        // the one the client must see.
        let mut ended = tokio::select! {
            biased;
            reason = &mut kill_rx => Ended::Close(reason.unwrap_or_else(|_| chart_gone())),
            e = reader => e,
            e = writer => e,
        };
        if let Ended::Close(CloseReason {
            code: close::TRY_AGAIN,
            ..
        })
        | Ended::QueueClosed = ended
        {
            // The reader may have noticed the chart's queue close first.
            if let Ok(reason) = kill_rx.try_recv() {
                ended = Ended::Close(reason);
            }
        }
        if let Ended::QueueClosed = ended {
            ended = Ended::Close((&mut kill_rx).await.unwrap_or_else(|_| chart_gone()));
        }
        match &ended {
            Ended::ClientClosed | Ended::QueueClosed => tracing::debug!("client closed"),
            Ended::SocketError(e) => tracing::debug!(error = %e, "socket ended"),
            Ended::Close(reason) => {
                tracing::debug!(code = reason.code, reason = %reason.reason, "server closes");
                let _ = tokio::time::timeout(
                    CLOSE_TIMEOUT,
                    sink.send(Frame::Close(Some(reason.clone()))),
                )
                .await;
            }
        }
        let _ = chart.send(Command::Leave { conn }).await;
        metrics.connections.fetch_sub(1, Ordering::Relaxed);
    }
}
