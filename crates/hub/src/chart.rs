//! One actor per loaded chart: the only owner of the chart's `yrs::Doc`.
//!
//! Connections send it [`Command`]s over a bounded channel; it never shares the
//! Doc, so no lock spans charts. It works in batches: take every command that
//! is waiting, apply them all, ask the store to make the batch's appends
//! durable (one group-commit flush for the whole batch, shared with every
//! other chart flushing at the same time), and only then hand the batch's
//! outgoing messages to the connections. This is the durability rule in code:
//! nothing a client can see was not on disk first. While a batch waits for
//! its flush, new commands queue up and form the next, larger batch.
//!
//! Client input is hostile until proven otherwise. An update is decoded and
//! applied inside `catch_unwind`; if yrs leaves part of it pending (missing
//! dependencies), the pending part is pruned, only what actually integrated is
//! stored, and the client is asked to resync. A panic closes the offending
//! connection and reloads the Doc from the store.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use bytes::Bytes;
use easel_protocol::{self as protocol, FrameDecoder, Message};
use easel_store::{Store, Ticket};
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update, WriteTxn};

use crate::awareness::Presence;
use crate::metrics::Metrics;
use crate::{close, Access, CloseReason, ConnId, ConnInfo, Hub, HubError};

/// Commands a chart actor understands.
pub(crate) enum Command {
    /// A connection joins. `outbound` is its bounded queue; `kill` is how the
    /// actor closes it when the queue overflows or the grant is revoked.
    Join {
        conn: ConnId,
        info: ConnInfo,
        outbound: mpsc::Sender<Bytes>,
        kill: oneshot::Sender<CloseReason>,
    },
    /// One inbound binary frame from a connection.
    Frame {
        conn: ConnId,
        frame: Bytes,
    },
    /// The connection's task ended.
    Leave {
        conn: ConnId,
    },
    SetReadOnly(bool),
    Revoke(String),
    ServerUpdate(Bytes, oneshot::Sender<Result<(), HubError>>),
    Snapshot(oneshot::Sender<Result<Vec<u8>, HubError>>),
    Shutdown,
}

/// Commands queued for one chart before senders wait: back-pressure on the
/// connections' read loops rather than memory growth.
const COMMAND_QUEUE: usize = 1024;
/// Most commands handled in one batch, to bound the latency of the first.
const MAX_BATCH: usize = 512;

struct Conn {
    info: ConnInfo,
    outbound: mpsc::Sender<Bytes>,
    /// Taken (and fired) when the actor closes this connection.
    kill: Option<oneshot::Sender<CloseReason>>,
    errors: u32,
}

/// A message for one connection or for all, produced while applying a batch.
enum Out {
    To(ConnId, Bytes),
    All(Bytes),
}

struct Chart {
    id: String,
    hub: Hub,
    store: Store,
    doc: Doc,
    next_seq: u64,
    /// Log entries since the last snapshot.
    log_len: u64,
    /// Bytes stored for this chart (snapshot + log), for the size limit.
    stored_bytes: usize,
    read_only: bool,
    conns: HashMap<ConnId, Conn>,
    presence: Presence,
    // Per-batch state.
    out: Vec<Out>,
    last_ticket: Option<Ticket>,
    /// Set when a flush failed: the Doc (and sled's memory) then hold state
    /// that is not on disk, so every later batch, even one that appends
    /// nothing (a sync step 2 answer), waits for a flush covering this
    /// ticket before anything goes out. Cleared by the first good flush.
    unflushed: Option<Ticket>,
    writers: Vec<ConnId>,
    server_acks: Vec<oneshot::Sender<Result<(), HubError>>>,
    /// This batch's stored updates, broadcast as one merged update: one
    /// message per batch per connection, however many edits it held, so a
    /// burst neither floods healthy clients' queues nor costs a syscall each.
    updates: Vec<Bytes>,
}

/// Starts the actor for `id`; returns its command channel.
pub(crate) fn spawn(hub: Hub, id: String, tasks: &TaskTracker) -> mpsc::Sender<Command> {
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let span = tracing::info_span!("chart", chart_id = %id);
    tasks.spawn(run(hub, id, rx).instrument(span));
    tx
}

/// Builds a Doc from what the store holds. Blocking.
pub(crate) fn load_doc(
    store: &Store,
    id: &str,
) -> Result<(Doc, easel_store::StoredChart), HubError> {
    let stored = store.load_chart(id)?;
    let doc = replay(&stored)?;
    Ok((doc, stored))
}

/// Rebuilds a Doc from a chart's stored snapshot and log. Pure (no IO), so
/// the log-replay fuzz target drives exactly what a chart load does. A
/// stored entry that does not decode, apply, or leaves missing
/// dependencies is an error, never a silently shorter chart.
pub fn replay(stored: &easel_store::StoredChart) -> Result<Doc, HubError> {
    let doc = Doc::new();
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        let mut txn = doc.transact_mut();
        for bytes in stored.snapshot.iter().chain(stored.updates.iter()) {
            // The same structural check as client input: a damaged entry
            // can declare billions of items (found by the log_replay fuzzer).
            protocol::check_update(bytes).map_err(|e| format!("damaged stored update: {e}"))?;
            let update =
                Update::decode_v1(bytes).map_err(|e| format!("undecodable stored update: {e}"))?;
            txn.apply_update(update)
                .map_err(|e| format!("stored update does not apply: {e}"))?;
        }
        if txn.has_missing_updates() {
            return Err("stored updates leave missing dependencies".into());
        }
        Ok(())
    }));
    match result {
        Ok(Ok(())) => Ok(doc),
        Ok(Err(e)) => Err(HubError::Load(e)),
        Err(_) => Err(HubError::Load(
            "yrs panicked while replaying the log".into(),
        )),
    }
}

pub(crate) fn encode_full(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

async fn run(hub: Hub, id: String, mut rx: mpsc::Receiver<Command>) {
    let store = hub.store().clone();
    let metrics = hub.metrics().clone();
    Metrics::inc(&metrics.chart_loads);
    let load_store = store.clone();
    let load_id = id.clone();
    let loaded = tokio::task::spawn_blocking(move || load_doc(&load_store, &load_id))
        .await
        .unwrap_or_else(|_| Err(HubError::Load("loader panicked".into())));
    let (doc, stored) = match loaded {
        Ok(v) => v,
        Err(e) => {
            // Never serve a silently empty chart: refuse everyone until an
            // operator repairs the data (the next join retries the load).
            tracing::error!(
                error = %e,
                "chart failed to load; its stored data is damaged: restore the data dir from a backup (`easel restore`)"
            );
            refuse_all(&hub, &id, rx, e).await;
            return;
        }
    };
    let stored_bytes = stored.snapshot.as_ref().map_or(0, Vec::len)
        + stored.updates.iter().map(Vec::len).sum::<usize>();
    tracing::debug!(
        updates = stored.updates.len(),
        next_seq = stored.next_seq,
        has_snapshot = stored.snapshot.is_some(),
        stored_bytes,
        state = ?doc.transact().state_vector(),
        "chart loaded"
    );
    let mut chart = Chart {
        id,
        hub: hub.clone(),
        store,
        doc,
        next_seq: stored.next_seq,
        log_len: stored.updates.len() as u64,
        stored_bytes,
        read_only: false,
        conns: HashMap::new(),
        presence: Presence::default(),
        out: Vec::new(),
        last_ticket: None,
        unflushed: None,
        writers: Vec::new(),
        server_acks: Vec::new(),
        updates: Vec::new(),
    };
    // Re-persist what was loaded from the log as one fresh, flushed snapshot
    // before anyone is served it. The log tail may have been recovered from
    // segments sled wrote but never confirmed stable before a crash; our
    // crash tests saw sled 0.34 lose such recovered entries at the *next*
    // crash (about one in 200 kill cycles). Clients must never be shown
    // state that a crash could still take away, so it is rewritten first.
    if !stored.updates.is_empty() {
        chart.compact_now().await;
    }
    let config = hub.config().clone();
    let sweep_every = (config.awareness_timeout / 3).max(Duration::from_millis(50));
    let mut next_sweep = Instant::now() + sweep_every;
    let mut idle_since: Option<Instant> = Some(Instant::now());
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let deadline = match idle_since {
            Some(t) => next_sweep.min(t + config.idle_unload),
            None => next_sweep,
        };
        let first = tokio::time::timeout_at(deadline.into(), rx.recv()).await;
        match first {
            Ok(Some(cmd)) => batch.push(cmd),
            Ok(None) => break,
            Err(_) => {
                let now = Instant::now();
                if now >= next_sweep {
                    if let Some(gone) = chart.presence.expire(now, config.awareness_timeout) {
                        chart.out.push(Out::All(protocol::encode_awareness(gone)));
                    }
                    next_sweep = now + sweep_every;
                }
                if idle_since.is_some_and(|t| now >= t + config.idle_unload)
                    && chart.conns.is_empty()
                    && hub.try_unregister(&chart.id, &rx)
                {
                    break;
                }
                chart.deliver().await;
                continue;
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(cmd) => batch.push(cmd),
                Err(_) => break,
            }
        }
        let mut shutdown = false;
        for cmd in batch.drain(..) {
            if chart.handle(cmd) {
                shutdown = true;
            }
        }
        chart.deliver().await;
        chart.maybe_compact().await;
        if shutdown {
            chart.close_all(CloseReason::new(close::RESTART, "server restarting"));
            break;
        }
        idle_since = if chart.conns.is_empty() {
            idle_since.or(Some(Instant::now()))
        } else {
            None
        };
    }
    // Whatever path ended the loop, the batch above was made durable.
    rx.close();
    hub.forget_if_closed(&chart.id);
    Metrics::inc(&metrics.chart_unloads);
    tracing::debug!("chart unloaded");
}

/// A chart that cannot load closes every joiner with 1011 and then stops.
async fn refuse_all(hub: &Hub, id: &str, mut rx: mpsc::Receiver<Command>, error: HubError) {
    let reason = CloseReason::new(close::INTERNAL, "chart failed to load; see server log");
    // Drain what was already queued, then let the next join try again.
    while let Ok(cmd) = rx.try_recv() {
        match cmd {
            Command::Join { kill, .. } => {
                let _ = kill.send(reason.clone());
            }
            Command::ServerUpdate(_, ack) => {
                let _ = ack.send(Err(HubError::Load(error.to_string())));
            }
            Command::Snapshot(ack) => {
                let _ = ack.send(Err(HubError::Load(error.to_string())));
            }
            _ => {}
        }
    }
    rx.close();
    hub.forget_if_closed(id);
}

impl Chart {
    /// Handles one command; returns true on shutdown.
    fn handle(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Join {
                conn,
                info,
                outbound,
                kill,
            } => self.join(conn, info, outbound, kill),
            Command::Frame { conn, frame } => self.frame(conn, frame),
            Command::Leave { conn } => self.leave(conn),
            Command::SetReadOnly(ro) => {
                self.read_only = ro;
                tracing::info!(read_only = ro, "chart access changed");
            }
            Command::Revoke(grant) => {
                let revoked: Vec<ConnId> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.info.grant.as_deref() == Some(grant.as_str()))
                    .map(|(id, _)| *id)
                    .collect();
                for conn in revoked {
                    self.kill(conn, CloseReason::new(close::REVOKED, "access revoked"));
                }
            }
            Command::ServerUpdate(update, ack) => match self.apply(None, update) {
                Ok(_) => self.server_acks.push(ack),
                Err(e) => {
                    let _ = ack.send(Err(e));
                }
            },
            Command::Snapshot(ack) => {
                let doc = &self.doc;
                let state = catch_unwind(AssertUnwindSafe(|| encode_full(doc)))
                    .map_err(|_| HubError::Load("yrs panicked encoding the chart".into()));
                if state.is_err() {
                    self.reload();
                }
                let _ = ack.send(state);
            }
            Command::Shutdown => return true,
        }
        false
    }

    fn join(
        &mut self,
        conn: ConnId,
        info: ConnInfo,
        outbound: mpsc::Sender<Bytes>,
        kill: oneshot::Sender<CloseReason>,
    ) {
        if self.conns.len() >= self.hub.config().max_clients_per_chart {
            let _ = kill.send(CloseReason::new(
                close::TRY_AGAIN,
                "chart has too many clients",
            ));
            return;
        }
        tracing::debug!(conn_id = conn, access = ?info.access, "join");
        self.conns.insert(
            conn,
            Conn {
                info,
                outbound,
                kill: Some(kill),
                errors: 0,
            },
        );
        // Sync step 1 reveals only a state vector; the content goes out as
        // step 2 in answer to the client's own step 1, after this batch is
        // durable.
        let sv = self.doc.transact().state_vector();
        self.out
            .push(Out::To(conn, protocol::encode_sync_step1(&sv)));
        if let Some(all) = self.presence.full() {
            self.out
                .push(Out::To(conn, protocol::encode_awareness(all)));
        }
    }

    fn leave(&mut self, conn: ConnId) {
        if self.conns.remove(&conn).is_some() {
            tracing::debug!(conn_id = conn, "leave");
        }
        if let Some(gone) = self.presence.remove_owner(conn) {
            self.out.push(Out::All(protocol::encode_awareness(gone)));
        }
    }

    fn kill(&mut self, conn: ConnId, reason: CloseReason) {
        if let Some(mut c) = self.conns.remove(&conn) {
            tracing::debug!(conn_id = conn, code = reason.code, reason = %reason.reason, "closing connection");
            if let Some(kill) = c.kill.take() {
                let _ = kill.send(reason);
            }
        }
        if let Some(gone) = self.presence.remove_owner(conn) {
            self.out.push(Out::All(protocol::encode_awareness(gone)));
        }
    }

    fn close_all(&mut self, reason: CloseReason) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.kill(id, reason.clone());
        }
    }

    fn protocol_error(&mut self, conn: ConnId, error: &dyn std::fmt::Display) {
        Metrics::inc(&self.hub.metrics().protocol_errors);
        let max = self.hub.config().max_protocol_errors;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.errors += 1;
        tracing::debug!(conn_id = conn, error = %error, errors = c.errors, "protocol error");
        if c.errors > max {
            self.kill(
                conn,
                CloseReason::new(
                    close::PROTOCOL_ERROR,
                    format!("too many protocol errors (last: {error})"),
                ),
            );
        }
    }

    fn frame(&mut self, conn: ConnId, frame: Bytes) {
        let Some(access) = self.conns.get(&conn).map(|c| c.info.access) else {
            return;
        };
        let access = if self.read_only { Access::Read } else { access };
        for message in FrameDecoder::new(&frame) {
            if !self.conns.contains_key(&conn) {
                return; // closed by an earlier message of this frame
            }
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    self.protocol_error(conn, &e);
                    return;
                }
            };
            match message {
                Message::SyncStep1(sv) => {
                    let doc = &self.doc;
                    match catch_unwind(AssertUnwindSafe(|| {
                        doc.transact().encode_state_as_update_v1(&sv)
                    })) {
                        Ok(diff) => self
                            .out
                            .push(Out::To(conn, protocol::encode_sync_step2(diff))),
                        Err(_) => self.panicked(conn),
                    }
                }
                Message::SyncStep2(update) | Message::Update(update) => {
                    if access == Access::Read {
                        if !is_empty_update(&update) {
                            Metrics::inc(&self.hub.metrics().read_only_refusals);
                            self.out.push(Out::To(
                                conn,
                                protocol::encode_permission_denied(
                                    "read-only: this chart cannot be edited with your link",
                                ),
                            ));
                        }
                        continue;
                    }
                    match self.apply(Some(conn), update) {
                        Ok(()) => {}
                        Err(HubError::Refused(reason)) => {
                            self.out
                                .push(Out::To(conn, protocol::encode_permission_denied(&reason)));
                        }
                        Err(e) => self.protocol_error(conn, &e),
                    }
                }
                Message::Awareness(update) => {
                    let max = self.hub.config().max_awareness_bytes;
                    if update.clients.values().any(|e| e.json.len() > max) {
                        self.protocol_error(
                            conn,
                            &format!("awareness state larger than {max} bytes"),
                        );
                        continue;
                    }
                    if let Some(changed) = self.presence.apply(conn, update, Instant::now()) {
                        self.out.push(Out::All(protocol::encode_awareness(changed)));
                    }
                }
                Message::QueryAwareness => {
                    if let Some(all) = self.presence.full() {
                        self.out
                            .push(Out::To(conn, protocol::encode_awareness(all)));
                    }
                }
                Message::Auth => {}
                Message::Unknown(tag) => {
                    tracing::debug!(conn_id = conn, tag, "ignoring unknown message type");
                }
            }
        }
    }

    /// Applies an update (from a connection, or from the server itself when
    /// `conn` is None), appends what integrated to the log, and queues its
    /// broadcast behind this batch's flush.
    fn apply(&mut self, conn: Option<ConnId>, bytes: Bytes) -> Result<(), HubError> {
        let max = self.hub.config().max_chart_bytes;
        if self.stored_bytes + bytes.len() > max {
            return Err(HubError::Refused(format!(
                "chart is full (limit {max} bytes)"
            )));
        }
        let stored: Bytes = match integrate(&self.doc, &bytes) {
            Integrated::Panicked => {
                if let Some(conn) = conn {
                    self.panicked(conn);
                } else {
                    self.reload();
                }
                return Err(HubError::Refused("update crashed the CRDT library".into()));
            }
            Integrated::Rejected(e) => return Err(HubError::Refused(e)),
            Integrated::Nothing => return Ok(()),
            Integrated::NothingButPending => {
                self.resync(conn);
                return Ok(());
            }
            Integrated::All => bytes,
            Integrated::Partial(partial) => {
                self.resync(conn);
                Bytes::from(partial)
            }
        };
        match self.store.append(&self.id, self.next_seq, &stored) {
            Ok(ticket) => {
                self.next_seq += 1;
                self.log_len += 1;
                self.stored_bytes += stored.len();
                self.last_ticket = Some(ticket);
                if let Some(conn) = conn {
                    self.writers.push(conn);
                }
                Metrics::inc(&self.hub.metrics().updates_in);
                self.updates.push(stored);
                Ok(())
            }
            Err(e) => {
                // The Doc now holds an update the store does not: rebuild it
                // from the store so memory never runs ahead of disk.
                tracing::error!(error = %e, "append failed");
                self.reload();
                if let Some(conn) = conn {
                    self.kill(
                        conn,
                        CloseReason::new(close::TRY_AGAIN, "storage unavailable"),
                    );
                }
                Err(HubError::Store(e))
            }
        }
    }

    /// After an update left something pending, ask its sender for what we
    /// lack (its step 2 will carry the missing dependencies).
    fn resync(&mut self, conn: Option<ConnId>) {
        if let Some(conn) = conn {
            let sv = self.doc.transact().state_vector();
            self.out
                .push(Out::To(conn, protocol::encode_sync_step1(&sv)));
        }
    }

    fn panicked(&mut self, conn: ConnId) {
        Metrics::inc(&self.hub.metrics().panics_caught);
        tracing::error!(
            conn_id = conn,
            "yrs panicked on this connection's input; reloading chart"
        );
        self.kill(
            conn,
            CloseReason::new(
                close::INTERNAL,
                "message crashed the server's CRDT; reconnect",
            ),
        );
        self.reload();
    }

    /// Rebuilds the Doc from the store, dropping anything not stored.
    fn reload(&mut self) {
        match load_doc(&self.store, &self.id) {
            Ok((doc, stored)) => {
                self.doc = doc;
                self.next_seq = stored.next_seq;
                self.log_len = stored.updates.len() as u64;
            }
            Err(e) => {
                tracing::error!(error = %e, "reload failed; closing chart");
                self.close_all(CloseReason::new(close::INTERNAL, "chart failed to reload"));
            }
        }
        // Appends of this batch that were made before the reload are still in
        // the store; their broadcast stays queued behind the flush.
    }

    /// Makes the batch durable, then hands its messages to the connections.
    async fn deliver(&mut self) {
        let ticket = match (self.last_ticket.take(), self.unflushed) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if let Some(ticket) = ticket {
            let started = Instant::now();
            let result = self.store.durable(ticket).await;
            self.hub
                .metrics()
                .observe_flush_wait(started.elapsed().as_micros() as u64);
            if let Err(e) = result {
                Metrics::inc(&self.hub.metrics().flush_failures);
                tracing::error!(error = %e, "flush failed; output held until a flush succeeds");
                self.unflushed = Some(ticket);
                // Writers are told and resync on reconnect. Their rows stay
                // in sled's memory and become durable with the next good
                // flush; the batch's output (broadcasts, step 2 answers) is
                // held until then, so readers converge without reconnecting
                // once the disk works again.
                for conn in std::mem::take(&mut self.writers) {
                    self.kill(
                        conn,
                        CloseReason::new(
                            close::TRY_AGAIN,
                            "storage could not confirm your edit; reconnect",
                        ),
                    );
                }
                for ack in self.server_acks.drain(..) {
                    let _ = ack.send(Err(HubError::Store(easel_store::StoreError::Flush(
                        e.to_string(),
                    ))));
                }
                if self.out.len() + self.updates.len() > self.hub.config().outbound_queue {
                    // A long outage: rather than hold without bound, close
                    // everyone; reconnecting clients resync from the Doc.
                    self.out.clear();
                    self.updates.clear();
                    self.close_all(CloseReason::new(close::TRY_AGAIN, "storage unavailable"));
                    self.out.clear();
                }
                return;
            }
            self.unflushed = None;
        }
        self.writers.clear();
        for ack in self.server_acks.drain(..) {
            let _ = ack.send(Ok(()));
        }
        self.send_out();
    }

    fn send_out(&mut self) {
        match self.updates.len() {
            0 => {}
            1 => {
                let u = self.updates.pop().expect("one update");
                self.out.push(Out::All(protocol::encode_update(u.to_vec())));
            }
            _ => {
                // Merge into messages of at most half a frame, so a big burst
                // never becomes one message larger than clients accept.
                let limit = (self.hub.config().max_frame_bytes / 2).max(1);
                let updates = std::mem::take(&mut self.updates);
                let mut group: Vec<&[u8]> = Vec::new();
                let mut size = 0;
                for (i, u) in updates.iter().enumerate() {
                    group.push(u.as_ref());
                    size += u.len();
                    if size >= limit || i + 1 == updates.len() {
                        let msg = if group.len() == 1 {
                            Ok(group[0].to_vec())
                        } else {
                            yrs::merge_updates_v1(&group)
                        };
                        match msg {
                            Ok(merged) => self.out.push(Out::All(protocol::encode_update(merged))),
                            Err(e) => {
                                tracing::warn!(error = %e, "merging a batch failed; sending updates one by one");
                                for u in &group {
                                    self.out.push(Out::All(protocol::encode_update(u.to_vec())));
                                }
                            }
                        }
                        group.clear();
                        size = 0;
                    }
                }
            }
        }
        let metrics = self.hub.metrics().clone();
        let mut too_slow = Vec::new();
        for out in std::mem::take(&mut self.out) {
            let (targets, msg): (Vec<ConnId>, Bytes) = match out {
                Out::To(conn, msg) => (vec![conn], msg),
                Out::All(msg) => (self.conns.keys().copied().collect(), msg),
            };
            for conn in targets {
                let Some(c) = self.conns.get(&conn) else {
                    continue;
                };
                match c.outbound.try_send(msg.clone()) {
                    Ok(()) => {
                        Metrics::inc(&metrics.messages_out);
                        Metrics::add(&metrics.bytes_out, msg.len() as u64);
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => too_slow.push(conn),
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
        }
        too_slow.sort_unstable();
        too_slow.dedup();
        for conn in too_slow {
            Metrics::inc(&metrics.queue_full_disconnects);
            self.kill(
                conn,
                CloseReason::new(
                    close::TRY_AGAIN,
                    "too slow: outbound queue full; reconnect to resync",
                ),
            );
        }
        if !self.out.is_empty() {
            // Presence removals from the kills above.
            self.send_out();
        }
    }

    async fn maybe_compact(&mut self) {
        if self.log_len < self.hub.config().compact_after_updates || self.next_seq == 0 {
            return;
        }
        self.compact_now().await;
    }

    /// Replaces the log with a snapshot of the Doc (durably, in two steps;
    /// see `Store::compact`).
    async fn compact_now(&mut self) {
        if self.next_seq == 0 {
            return;
        }
        let doc = &self.doc;
        let Ok(snapshot) = catch_unwind(AssertUnwindSafe(|| encode_full(doc))) else {
            tracing::error!("yrs panicked encoding a snapshot; reloading");
            self.reload();
            return;
        };
        let covers = self.next_seq - 1;
        match self.store.compact(&self.id, &snapshot, covers).await {
            Ok(()) => {
                Metrics::inc(&self.hub.metrics().compactions);
                tracing::debug!(covers, bytes = snapshot.len(), "compacted");
                self.log_len = 0;
                self.stored_bytes = snapshot.len();
            }
            Err(e) => tracing::error!(error = %e, "compaction failed; log kept"),
        }
    }
}

/// What applying one client update did to a Doc.
#[derive(Debug, PartialEq, Eq)]
pub enum Integrated {
    /// Everything integrated: store and broadcast the client's own bytes.
    All,
    /// Part integrated, the rest needed missing dependencies and was pruned:
    /// store and broadcast these bytes (what did integrate); ask for a resync.
    Partial(Vec<u8>),
    /// Nothing new (a duplicate, or an empty sync step 2).
    Nothing,
    /// Nothing integrated and the rest was pruned: ask for a resync.
    NothingButPending,
    /// Not a valid update.
    Rejected(String),
    /// yrs panicked; the Doc may be damaged and must be reloaded.
    Panicked,
}

/// Applies one client update to `doc`, keeping no pending state. Pure (no
/// IO), so the fuzz target and the mutation test drive exactly this.
pub fn integrate(doc: &Doc, bytes: &[u8]) -> Integrated {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let update = match Update::decode_v1(bytes) {
            Ok(u) => u,
            Err(e) => return Integrated::Rejected(format!("undecodable update: {e}")),
        };
        let mut txn = doc.transact_mut();
        if let Err(e) = txn.apply_update(update) {
            return Integrated::Rejected(format!("update does not apply: {e}"));
        }
        let changed = |txn: &yrs::TransactionMut| {
            !(txn.insert_set().is_empty() && txn.delete_set().is_empty())
        };
        if txn.has_missing_updates() {
            // Pending state poisons later encodes (yrs 0.28): never keep it.
            txn.prune_pending();
            return if changed(&txn) {
                Integrated::Partial(txn.encode_update_v1())
            } else {
                Integrated::NothingButPending
            };
        }
        if changed(&txn) {
            Integrated::All
        } else {
            Integrated::Nothing
        }
    }));
    outcome.unwrap_or(Integrated::Panicked)
}

/// An update that carries nothing: no structs, empty delete set. Read-only
/// clients send these as their sync step 2; they are not edits.
fn is_empty_update(bytes: &[u8]) -> bool {
    match Update::decode_v1(bytes) {
        Ok(update) => update.is_empty(),
        Err(_) => false,
    }
}
