//! One simulated y-websocket client: connects, syncs, types, announces
//! presence, and reads (decodes) everything the server sends it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::{ClientID, ReadTxn, StateVector, XmlTextRef};
use yrs::{Doc, GetString, Text, Transact, XmlElementPrelim, XmlFragment, XmlTextPrelim};

use easel_protocol::{self as protocol, peek_message, RawMessage};
use yrs::updates::decoder::Decode;
use yrs::Update;

use crate::marker::{self, Marker};
use crate::stats::Shared;

/// Where the server is and how to open a chart on it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL; the chart id is appended: `ws://HOST:PORT/sync`.
    pub url: String,
    /// Appended as `?token=...` when set.
    pub token: Option<String>,
    /// Spread connections over this many loopback source addresses
    /// (127.0.0.1 .. 127.0.0.N) so per-address limits and the ephemeral
    /// port range are not what a run measures. 1: let the OS choose.
    pub source_ips: u8,
    /// A second server (a cluster peer): clients with an odd index connect
    /// here instead, so the members of a room alternate between the two.
    /// With rooms of 2 and one writer, every delivery crosses servers.
    pub peer_url: Option<String>,
}

impl Target {
    /// The base URL client `index` uses.
    pub fn url_for(&self, index: usize) -> &str {
        match &self.peer_url {
            Some(peer) if index % 2 == 1 => peer,
            _ => &self.url,
        }
    }

    pub fn chart_url(&self, chart: &str, index: usize) -> String {
        let base = self.url_for(index).trim_end_matches('/');
        match &self.token {
            Some(t) => format!("{base}/{chart}?token={t}"),
            None => format!("{base}/{chart}"),
        }
    }

    fn server_addr(&self, index: usize) -> anyhow::Result<SocketAddr> {
        let url = self.url_for(index);
        let rest = url
            .strip_prefix("ws://")
            .ok_or_else(|| anyhow::anyhow!("only ws:// URLs are supported: {url}"))?;
        let hostport = rest.split('/').next().unwrap_or(rest);
        let hostport = if hostport.starts_with("localhost:") {
            hostport.replacen("localhost", "127.0.0.1", 1)
        } else {
            hostport.to_owned()
        };
        Ok(hostport.parse()?)
    }
}

/// Client-side WebSocket settings: small buffers (3,000 clients live in this
/// process), large enough messages for a multi-megabyte SyncStep2.
///
/// The read buffer is small for speed, not only memory: tungstenite zero-fills
/// the free part of it (up to `read_buffer_size`) before every read, including
/// the read that finds the socket empty. At 16 KiB that memset takes 11% of
/// the generator's CPU at 144k deliveries/s; traffic messages are a few hundred
/// bytes, so 4 KiB still takes a burst of them per read.
pub fn client_ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024 * 1024)
        .max_message_size(Some(256 * 1024 * 1024))
        .max_frame_size(Some(256 * 1024 * 1024))
}

pub type Ws = WebSocketStream<TcpStream>;

/// Opens one WebSocket to `chart`; `index` picks the source address.
pub async fn connect(target: &Target, chart: &str, index: usize) -> anyhow::Result<Ws> {
    let addr = target.server_addr(index)?;
    let socket = TcpSocket::new_v4()?;
    if target.source_ips > 1 && addr.ip().is_loopback() {
        let last = 1 + (index % usize::from(target.source_ips)) as u8;
        socket.bind(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)),
            0,
        ))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        target.chart_url(chart, index),
        stream,
        Some(client_ws_config()),
    )
    .await?;
    Ok(ws)
}

/// What is shared by every client of one run.
pub struct Control {
    pub target: Target,
    pub shared: Arc<Shared>,
    /// Updates per second per writer, in thousandths (0: writers pause).
    pub rate_milli: AtomicU64,
    /// Cancelled: every client closes and ends.
    pub stop: CancellationToken,
    /// Decode every received update with yrs, as a client must to apply it.
    pub decode: bool,
    /// Handshakes in flight at once.
    pub connect_gate: Semaphore,
    pub connect_timeout: Duration,
    /// Awareness renewal period; None: only the announcement at join.
    pub awareness_period: Option<Duration>,
    /// Filler characters typed after each marker (larger updates).
    pub pad: usize,
}

/// One client's part in the run.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// Global index (source address, RNG stream).
    pub index: usize,
    pub chart: String,
    /// Writer number, when this client types.
    pub writer: Option<u32>,
    /// Yjs client id (doc and awareness).
    pub client_id: u64,
    /// Stop typing after this many updates.
    pub max_updates: Option<u32>,
    /// Random seed for this client's schedule.
    pub seed: u64,
    /// Other clients in the room: the deliveries each update should cause.
    pub receivers: u64,
}

/// A typist: its own Doc, one paragraph of `notes` it appends to.
struct Typist {
    doc: Doc,
    text: XmlTextRef,
    seq: u32,
    pending_first: Option<Vec<u8>>,
}

impl Typist {
    fn new(client_id: u64) -> Self {
        let doc = Doc::with_client_id(client_id);
        let notes = doc.get_or_insert_xml_fragment("notes");
        let (text, first) = {
            let mut txn = doc.transact_mut();
            let p = notes.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
            let text = p.push_back(&mut txn, XmlTextPrelim::new(""));
            (text, txn.encode_update_v1())
        };
        Typist {
            doc,
            text,
            seq: 0,
            pending_first: Some(first),
        }
    }

    /// The next typed update (the paragraph's creation rides along with the
    /// first one).
    fn type_marker(&mut self, marker: &Marker, pad: usize) -> Vec<u8> {
        let mut s = marker.text();
        for i in 0..pad {
            s.push(char::from(b'a' + (i % 26) as u8));
        }
        let mut txn = self.doc.transact_mut();
        let len = self.text.len(&txn);
        self.text.insert(&mut txn, len, &s);
        self.seq += 1;
        match self.pending_first.take() {
            // Re-encode from the empty state so creation + text is one update.
            Some(_) => txn.encode_state_as_update_v1(&StateVector::default()),
            None => txn.encode_update_v1(),
        }
    }

    fn state(&self) -> Vec<u8> {
        let txn = self.doc.transact();
        txn.encode_state_as_update_v1(&StateVector::default())
    }

    #[allow(dead_code)]
    fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }
}

/// splitmix64: a small seeded RNG for schedules.
pub fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One client's presence, as y-websocket's awareness sends it.
fn awareness(client_id: u64, clock: u32, json: &Arc<str>) -> bytes::Bytes {
    let entry = AwarenessUpdateEntry {
        clock,
        json: json.clone(),
    };
    let clients = HashMap::from([(ClientID::new(client_id), entry)]);
    protocol::encode_awareness(AwarenessUpdate { clients })
}

/// How far behind schedule a typist may fall before it drops the backlog.
const LATE: Duration = Duration::from_millis(100);

/// Runs one client until `ctl.stop` or the server closes it.
pub async fn run(spec: ClientSpec, ctl: Arc<Control>) {
    let sh = &ctl.shared;
    let started = Instant::now();
    let ws = {
        let Ok(_permit) = ctl.connect_gate.acquire().await else {
            return;
        };
        tokio::select! {
            r = tokio::time::timeout(ctl.connect_timeout, connect(&ctl.target, &spec.chart, spec.index)) => r,
            _ = ctl.stop.cancelled() => return,
        }
    };
    let mut ws = match ws {
        Ok(Ok(ws)) => ws,
        _ => {
            sh.connect_failures.fetch_add(1, Relaxed);
            return;
        }
    };
    sh.connected.fetch_add(1, Relaxed);
    let mut rng = spec.seed ^ (spec.index as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut typist = spec.writer.map(|_| Typist::new(spec.client_id));
    let mut aw_clock = 1u32;
    let aw_json: Arc<str> = format!(
        "{{\"user\":{{\"name\":\"bench-{}\",\"color\":\"#30bced\"}},\"cursor\":null}}",
        spec.index
    )
    .into();
    // What y-websocket sends on open: SyncStep1, then our presence.
    let sv = match &typist {
        Some(t) => t.doc.transact().state_vector(),
        None => StateVector::default(),
    };
    let hello = [
        Message::Binary(protocol::encode_sync_step1(&sv)),
        Message::Binary(awareness(spec.client_id, aw_clock, &aw_json)),
    ];
    for m in hello {
        if ws.feed(m).await.is_err() {
            sh.disconnects.fetch_add(1, Relaxed);
            return;
        }
    }
    if ws.flush().await.is_err() {
        sh.disconnects.fetch_add(1, Relaxed);
        return;
    }
    sh.counters().awareness_sent.fetch_add(1, Relaxed);

    let mut synced = false;
    let far = Duration::from_secs(86_400 * 365);
    let jitter = |rng: &mut u64, period: Duration| {
        let us = period.as_micros().max(1) as u64;
        Duration::from_micros(splitmix(rng) % us)
    };
    let mut next_aw = match ctl.awareness_period {
        Some(p) => Instant::now() + jitter(&mut rng, p),
        None => Instant::now() + far,
    };
    let mut next_update: Option<Instant> = None;
    let mut sent_updates = 0u32;
    let mut idle_poll = tokio::time::interval(Duration::from_millis(50));
    let own_writer = spec.writer;
    loop {
        let rate = ctl.rate_milli.load(Relaxed);
        let can_type =
            typist.is_some() && rate > 0 && spec.max_updates.is_none_or(|m| sent_updates < m);
        let period = 1_000_000_000_000u64
            .checked_div(rate)
            .map_or(far, Duration::from_nanos);
        if can_type && next_update.is_none() {
            next_update = Some(Instant::now() + jitter(&mut rng, period));
        }
        let update_at = next_update
            .filter(|_| can_type)
            .unwrap_or(Instant::now() + far);
        tokio::select! {
            biased;
            _ = ctl.stop.cancelled() => {
                let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
                return;
            }
            msg = ws.next() => {
                let b = match msg {
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        if !ctl.stop.is_cancelled() {
                            sh.disconnects.fetch_add(1, Relaxed);
                        }
                        return;
                    }
                    Some(Ok(_)) => continue,
                };
                let c = sh.counters();
                c.bytes_in.fetch_add(b.len() as u64, Relaxed);
                match peek_message(&b) {
                    Ok(RawMessage::SyncStep1(_)) => {
                        let state = typist
                            .as_ref()
                            .map_or_else(|| Update::EMPTY_V1.to_vec(), Typist::state);
                        let step2 = protocol::encode_sync_step2(state);
                        if ws.send(Message::Binary(step2)).await.is_err() {
                            continue;
                        }
                    }
                    Ok(RawMessage::SyncStep2(_)) => {
                        if !synced {
                            synced = true;
                            sh.record_sync(started.elapsed());
                        }
                    }
                    Ok(RawMessage::Update(payload)) => {
                        if ctl.decode && Update::decode_v1(payload).is_err() {
                            sh.bad_updates.fetch_add(1, Relaxed);
                        }
                        let now = sh.now_us();
                        marker::markers(payload, |m| {
                            if Some(m.writer) != own_writer {
                                c.arrived.fetch_add(1, Relaxed);
                                sh.record_latency(m.phase, now.saturating_sub(m.sent_us));
                            }
                        });
                    }
                    Ok(RawMessage::Awareness(_)) => {
                        c.awareness_recv.fetch_add(1, Relaxed);
                    }
                    Ok(RawMessage::Other(_)) | Err(_) => {}
                }
            }
            _ = tokio::time::sleep_until(update_at), if can_type => {
                // Timers tick in milliseconds: at rates above ~500/s a wake
                // finds several updates due. Send them all (one message
                // each, one flush), so the offered rate is the asked one.
                let now = Instant::now();
                let behind = now.saturating_duration_since(update_at);
                let mut due = (1 + behind.as_nanos() / period.as_nanos().max(1)).min(64) as u32;
                if let Some(m) = spec.max_updates {
                    due = due.min(m - sent_updates);
                }
                let mut next = update_at + period * due;
                if now > next + LATE {
                    // The generator (or the server's push-back) cannot keep
                    // this rate: count it and drop the backlog.
                    sh.counters().late_ticks.fetch_add(1, Relaxed);
                    next = now + period;
                }
                next_update = Some(next);
                let Some(t) = typist.as_mut() else { continue };
                let mut failed = false;
                for _ in 0..due {
                    let phase = sh.phase();
                    let marker = Marker {
                        writer: own_writer.unwrap_or(0),
                        seq: t.seq,
                        phase: phase as u32,
                        sent_us: sh.now_us(),
                    };
                    let upd = t.type_marker(&marker, ctl.pad);
                    sh.phases[phase].sent.fetch_add(1, Relaxed);
                    sh.phases[phase]
                        .expected
                        .fetch_add(spec.receivers, Relaxed);
                    sent_updates += 1;
                    if ws.feed(Message::Binary(protocol::encode_update(upd))).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed || ws.flush().await.is_err() {
                    continue;
                }
            }
            _ = tokio::time::sleep_until(next_aw), if ctl.awareness_period.is_some() => {
                next_aw += ctl.awareness_period.unwrap_or(far);
                aw_clock += 1;
                sh.counters().awareness_sent.fetch_add(1, Relaxed);
                if ws.send(Message::Binary(awareness(spec.client_id, aw_clock, &aw_json))).await.is_err() {
                    continue;
                }
            }
            // Wake up now and then to notice rate changes.
            _ = idle_poll.tick(), if !can_type && typist.is_some() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typist_updates_carry_markers_and_apply() {
        let mut t = Typist::new(99);
        let m = Marker {
            writer: 1,
            seq: 0,
            phase: 2,
            sent_us: 5,
        };
        let u1 = t.type_marker(&m, 3);
        let u2 = t.type_marker(&Marker { seq: 1, ..m }, 0);
        let mut found = Vec::new();
        marker::markers(&u1, |m| found.push(m.seq));
        marker::markers(&u2, |m| found.push(m.seq));
        assert_eq!(found, vec![0, 1]);
        // A fresh doc integrates both with nothing pending.
        let other = Doc::new();
        let mut txn = other.transact_mut();
        txn.apply_update(yrs::Update::decode_v1(&u1).unwrap())
            .unwrap();
        txn.apply_update(yrs::Update::decode_v1(&u2).unwrap())
            .unwrap();
        assert!(txn.store().pending_update().is_none());
        drop(txn);
        assert!(t.text().starts_with("~L1.0.2.5~ abc~L1.1.2.5~"));
    }
}
