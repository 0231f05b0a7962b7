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
//!
//! In a cluster (`Hub::with_shared_log`) the same loop runs over the shared
//! log instead of the local store (see [`crate::shared`]): a batch's updates
//! are appended there and confirmed durable before anything of the batch is
//! delivered; other nodes' entries arrive as [`Command::Remote`] and are
//! applied and broadcast like local ones. A chart that may have missed
//! entries (another node's compaction trimmed them before this node read
//! them) catches up by merging snapshot + log into its Doc. A chart whose
//! Doc could run ahead of the shared log (an append that was not confirmed)
//! is not repaired in place: every connection is closed with 1013 and the
//! actor stops, so the next join loads it afresh and clients resync,
//! resending whatever the log did not confirm.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use easel_protocol::{self as protocol, FrameDecoder, Message};
use easel_store::{Store, Ticket};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::DropGuard;
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::updates::decoder::Decode;
use yrs::{ClientID, Doc, ReadTxn, StateVector, Transact, Update, WriteTxn};

use crate::awareness::Presence;
use crate::metrics::Metrics;
use crate::shared::{Feed, LogPos, SharedChart, SharedError, SharedLog};
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
    /// What other cluster nodes did to this chart (shared log only).
    Remote(Feed),
    Shutdown,
    /// Retention: close every connection (4410), stop, and answer once the
    /// actor holds nothing any more, so the caller can remove the stored data
    /// without a live Doc writing it back.
    Delete(oneshot::Sender<()>),
}

/// Commands queued for one chart before senders wait: back-pressure on the
/// connections' read loops rather than memory growth.
const COMMAND_QUEUE: usize = 1024;
/// Most commands handled in one batch, to bound the latency of the first.
const MAX_BATCH: usize = 512;
/// Feed messages (each up to a few hundred log entries) buffered between the
/// shared log's follower and the actor; a full buffer slows the follower.
const FEED_QUEUE: usize = 64;
/// The presence owner standing for "another node's client": connection ids
/// start at 1, so no local connection has it.
const REMOTE_OWNER: ConnId = 0;

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
    /// This batch's updates, broadcast as one merged update: one message
    /// per batch per connection, however many edits it held, so a burst
    /// neither floods healthy clients' queues nor costs a syscall each.
    updates: Vec<Bytes>,
    /// How many of the last `updates` are applied but not yet in the local
    /// log: [`Chart::store_batch`] appends them merged, as one log entry per
    /// batch instead of one per edit (each sled insert, and its removal at
    /// compaction, costs about as much as applying the edit).
    unstored: usize,
    /// The last sync step 2 answer and the state vector it answered, for
    /// this batch only: in a join storm the joiners of one batch mostly
    /// send the same (empty) state vector, and they share one encoded
    /// answer instead of each getting its own copy of the whole chart (300
    /// joiners of a 1 MB chart held 300 MB until their answers were out).
    /// Dropped whenever the Doc changes and at the end of every batch.
    step2: Option<(StateVector, Bytes)>,
    /// The connection count last handed to [`Hub::publish_present`].
    published_present: usize,
    /// Set by [`Command::Delete`]: later joiners are refused, and the sender
    /// is answered after the actor has stopped.
    deleting: Option<oneshot::Sender<()>>,
    /// Set in a cluster: the chart lives in the shared log.
    shared: Option<Shared>,
    /// Set when the chart must stop (cluster only): after this batch every
    /// connection is closed with this reason and the actor ends.
    failed: Option<CloseReason>,
    /// Presence changes not broadcast yet, and since when the oldest waits
    /// (see [`PRESENCE_DELAY`]).
    presence_out: Option<(HashMap<ClientID, AwarenessUpdateEntry>, Instant)>,
    /// Log entries after which this chart compacts: the configured count
    /// plus up to a quarter more, fixed per chart id, so charts that were
    /// written in step (a benchmark, a conference round) do not all compact
    /// in the same second.
    compact_after: u64,
    /// The local compaction running beside the actor, if any. Awaited
    /// before the actor ends, so a deleted chart is never written back.
    compaction: Option<Compaction>,
}

/// A compaction's store work (snapshot writes, two flushes, the log trim)
/// runs in its own task: the actor keeps applying and delivering batches
/// meanwhile. Entries appended after `covers` are never touched by it.
struct Compaction {
    task: tokio::task::JoinHandle<Result<(), easel_store::StoreError>>,
    covers: u64,
    /// Log entries and stored bytes when it started: what the snapshot
    /// replaces once it is done.
    log_len: u64,
    stored_bytes: usize,
    snapshot_bytes: usize,
}

/// A chart's place in the shared log (cluster mode).
struct Shared {
    log: Arc<dyn SharedLog>,
    /// Highest log position applied to the Doc. Own entries count once the
    /// feed returns them, so remote entries before them are never skipped.
    cursor: LogPos,
    /// This batch's updates, appended (and confirmed) before it is delivered.
    appends: Vec<Bytes>,
    /// Set when entries may be missing (trimmed before they were read, or
    /// an entry arrived before its dependencies): catch up before delivering.
    behind: bool,
    /// Dropped with the actor: stops following the chart.
    _follow: DropGuard,
}

/// Starts the actor for `id` on `runtime` (the caller's if `None`); returns
/// its command channel.
pub(crate) fn spawn(
    hub: Hub,
    id: String,
    tasks: &TaskTracker,
    runtime: Option<&tokio::runtime::Handle>,
) -> mpsc::Sender<Command> {
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let span = tracing::info_span!("chart", chart_id = %id);
    // Weak: the actor's own handle must not keep its queue open.
    let actor = run(hub, id, rx, tx.downgrade()).instrument(span);
    match runtime {
        Some(runtime) => drop(tasks.spawn_on(actor, runtime)),
        None => drop(tasks.spawn(actor)),
    }
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
    replay_updates(stored.snapshot.iter().chain(stored.updates.iter()))
}

/// What a chart loaded from the shared log starts from.
pub(crate) struct SharedLoad {
    /// Highest position the Doc covers.
    pub cursor: LogPos,
    /// Log entries after the snapshot.
    pub entries: u64,
    /// Bytes of snapshot and entries, for the size limit.
    pub bytes: usize,
}

/// Builds a Doc from the shared log: its snapshot, then the entries after it.
pub(crate) async fn load_shared(
    log: &dyn SharedLog,
    id: &str,
) -> Result<(Doc, SharedLoad), HubError> {
    let SharedChart { snapshot, entries } = log.load(id).await?;
    tokio::task::spawn_blocking(move || {
        let covers = snapshot.as_ref().map(|(pos, _)| *pos).unwrap_or_default();
        let entries: Vec<_> = entries.into_iter().filter(|e| e.pos > covers).collect();
        let load = SharedLoad {
            cursor: entries.last().map_or(covers, |e| e.pos),
            entries: entries.len() as u64,
            bytes: snapshot.as_ref().map_or(0, |(_, s)| s.len())
                + entries.iter().map(|e| e.update.len()).sum::<usize>(),
        };
        let doc = replay_updates(
            snapshot
                .iter()
                .map(|(_, s)| s.as_slice())
                .chain(entries.iter().map(|e| e.update.as_ref())),
        )?;
        Ok((doc, load))
    })
    .await
    .unwrap_or_else(|_| Err(HubError::Load("loader panicked".into())))
}

/// Applies stored updates in order to a fresh Doc; anything that does not
/// decode, apply, or leaves missing dependencies fails the load loudly.
fn replay_updates<'a, B: AsRef<[u8]> + 'a + ?Sized>(
    updates: impl Iterator<Item = &'a B>,
) -> Result<Doc, HubError> {
    let doc = Doc::new();
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        let mut txn = doc.transact_mut();
        for bytes in updates {
            let bytes = bytes.as_ref();
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

async fn run(hub: Hub, id: String, mut rx: mpsc::Receiver<Command>, me: mpsc::WeakSender<Command>) {
    let metrics = hub.metrics().clone();
    Metrics::inc(&metrics.chart_loads);
    let opened = match hub.shared().cloned() {
        Some(log) => open_shared(&hub, &id, log, me).await,
        None => open_local(&hub, &id).await,
    };
    let mut chart = match opened {
        Ok(chart) => chart,
        Err(e) => {
            // Never serve a silently empty chart: refuse everyone until an
            // operator repairs the data (the next join retries the load).
            tracing::error!(
                error = %e,
                "chart failed to load; its stored data is damaged: restore the data dir from a backup (`easel restore`)"
            );
            let reason = match e {
                HubError::Shared(SharedError::Unavailable(_)) => {
                    CloseReason::new(close::TRY_AGAIN, "shared log unavailable; reconnect later")
                }
                _ => CloseReason::new(close::INTERNAL, "chart failed to load; see server log"),
            };
            refuse_all(&hub, &id, rx, reason, e).await;
            return;
        }
    };
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
        let deadline = chart
            .presence_due()
            .map_or(deadline, |due| deadline.min(due));
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
                chart.publish_present();
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
        chart.catch_up().await;
        chart.deliver().await;
        chart.publish_present();
        chart.maybe_compact().await;
        if chart.deleting.is_some() || chart.failed.is_some() {
            break;
        }
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
    // A compaction still writing must end before the chart is deleted or
    // loaded again.
    chart.finish_compaction(true).await;
    // An unloaded chart has nobody in it, whatever was counted last.
    if chart.published_present != 0 {
        hub.publish_present(&chart.id, 0);
    }
    if let Some(done) = chart.deleting.take() {
        let reason = CloseReason::new(close::DELETED, "chart deleted");
        refuse_all(&hub, &chart.id, rx, reason, HubError::ChartUnavailable).await;
        Metrics::inc(&metrics.chart_unloads);
        tracing::info!("chart deleted: connections closed, unloaded");
        let _ = done.send(());
        return;
    }
    rx.close();
    hub.forget_if_closed(&chart.id);
    Metrics::inc(&metrics.chart_unloads);
    tracing::debug!("chart unloaded");
}

impl Chart {
    fn new(hub: &Hub, id: &str, doc: Doc, shared: Option<Shared>) -> Chart {
        Chart {
            id: id.to_owned(),
            hub: hub.clone(),
            store: hub.store().clone(),
            doc,
            next_seq: 0,
            log_len: 0,
            stored_bytes: 0,
            read_only: false,
            conns: HashMap::new(),
            presence: Presence::default(),
            out: Vec::new(),
            last_ticket: None,
            writers: Vec::new(),
            server_acks: Vec::new(),
            unflushed: None,
            updates: Vec::new(),
            unstored: 0,
            step2: None,
            published_present: 0,
            deleting: None,
            shared,
            failed: None,
            compact_after: compact_threshold(id, hub.config().compact_after_updates),
            compaction: None,
            presence_out: None,
        }
    }
}

/// Longest a presence change (a cursor, a name, someone leaving) waits to go
/// out with the chart's next delivery round.
///
/// Why: every awareness update used to be a message of its own to each
/// member, as many sends as the document's updates in the conference burst
/// (one state a second from each of 3,000 clients). Held this long, it rides
/// along with the next round of document updates, and changes of several
/// clients go out as one message; a human does not see 50 ms on a cursor.
const PRESENCE_DELAY: Duration = Duration::from_millis(50);

/// `configured` plus a spread of up to a quarter of it, fixed per chart id.
fn compact_threshold(id: &str, configured: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    configured.saturating_add(hasher.finish() % (configured / 4 + 1))
}

/// Loads a chart from the local store.
async fn open_local(hub: &Hub, id: &str) -> Result<Chart, HubError> {
    let load_store = hub.store().clone();
    let load_id = id.to_owned();
    let (doc, stored) = tokio::task::spawn_blocking(move || load_doc(&load_store, &load_id))
        .await
        .unwrap_or_else(|_| Err(HubError::Load("loader panicked".into())))?;
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
    let mut chart = Chart::new(hub, id, doc, None);
    chart.next_seq = stored.next_seq;
    chart.log_len = stored.updates.len() as u64;
    chart.stored_bytes = stored_bytes;
    // No compaction here: serving the first client must not wait for a
    // snapshot write and two flushes. What sled recovered after a crash was
    // made durable when the store opened (`Store::open`); the log is
    // compacted by size, as on any other batch (`maybe_compact`).
    Ok(chart)
}

/// Loads a chart from the shared log and starts following it; the feed is
/// forwarded into the actor's own queue as [`Command::Remote`].
async fn open_shared(
    hub: &Hub,
    id: &str,
    log: Arc<dyn SharedLog>,
    me: mpsc::WeakSender<Command>,
) -> Result<Chart, HubError> {
    let (doc, load) = load_shared(log.as_ref(), id).await?;
    tracing::debug!(
        entries = load.entries,
        cursor = %load.cursor,
        stored_bytes = load.bytes,
        "chart loaded from the shared log"
    );
    let (feed_tx, mut feed_rx) = mpsc::channel(FEED_QUEUE);
    let follow = log.follow(id, load.cursor, feed_tx);
    // Ends when the follower stops (the guard above is dropped with the
    // actor) or the actor's queue is gone.
    tokio::spawn(
        async move {
            while let Some(feed) = feed_rx.recv().await {
                let Some(tx) = me.upgrade() else { break };
                if tx.send(Command::Remote(feed)).await.is_err() {
                    break;
                }
            }
        }
        .in_current_span(),
    );
    let mut chart = Chart::new(
        hub,
        id,
        doc,
        Some(Shared {
            log,
            cursor: load.cursor,
            appends: Vec::new(),
            behind: false,
            _follow: follow,
        }),
    );
    chart.log_len = load.entries;
    chart.stored_bytes = load.bytes;
    Ok(chart)
}

/// Closes every joiner still queued with `reason`, fails every queued
/// request with `error`, and deregisters the chart. Used when a chart cannot
/// load (1011) and when it is deleted (4410).
async fn refuse_all(
    hub: &Hub,
    id: &str,
    mut rx: mpsc::Receiver<Command>,
    reason: CloseReason,
    error: HubError,
) {
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
            Command::Delete(done) => {
                let _ = done.send(());
            }
            _ => {}
        }
    }
    rx.close();
    hub.forget_if_closed(id);
}

impl Chart {
    /// Tells the hub how many connections this chart has, once per batch
    /// and only when it changed: joins and leaves in one batch cost one
    /// wake-up of the live agenda streams.
    fn publish_present(&mut self) {
        let n = self.conns.len();
        if n != self.published_present {
            self.published_present = n;
            self.hub.publish_present(&self.id, n);
        }
    }

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
            Command::ServerUpdate(_, ack) if self.deleting.is_some() => {
                let _ = ack.send(Err(HubError::ChartUnavailable));
            }
            Command::ServerUpdate(update, ack) => match self.apply(None, update) {
                Ok(_) => self.server_acks.push(ack),
                Err(e) => {
                    let _ = ack.send(Err(e));
                }
            },
            Command::Snapshot(ack) => {
                // A backup must not hold an edit the log does not: store
                // what this batch applied so far (the backup's own flush
                // then covers it).
                self.store_batch();
                let doc = &self.doc;
                let state = catch_unwind(AssertUnwindSafe(|| encode_full(doc)))
                    .map_err(|_| HubError::Load("yrs panicked encoding the chart".into()));
                if state.is_err() {
                    self.reload();
                }
                let _ = ack.send(state);
            }
            Command::Remote(feed) => self.remote(feed),
            Command::Shutdown => return true,
            Command::Delete(done) => {
                tracing::info!("deleting chart");
                self.close_all(CloseReason::new(close::DELETED, "chart deleted"));
                // A second delete in the same batch waits for the same end.
                match &self.deleting {
                    None => self.deleting = Some(done),
                    Some(_) => drop(done),
                }
            }
        }
        false
    }

    /// Applies what other cluster nodes did. Log entries are durable in the
    /// shared log already, so they go out with this batch like local ones.
    fn remote(&mut self, feed: Feed) {
        match feed {
            Feed::Entries(entries) => {
                for entry in entries {
                    let Some(shared) = &mut self.shared else {
                        return;
                    };
                    if entry.pos <= shared.cursor {
                        continue;
                    }
                    shared.cursor = entry.pos;
                    self.log_len += 1;
                    if entry.own {
                        continue;
                    }
                    self.stored_bytes += entry.update.len();
                    self.step2 = None;
                    match integrate(&self.doc, &entry.update) {
                        Integrated::All => {
                            Metrics::inc(&self.hub.metrics().remote_updates_in);
                            self.updates.push(entry.update);
                        }
                        Integrated::Nothing => {}
                        outcome @ (Integrated::Partial(_) | Integrated::NothingButPending) => {
                            // Its dependencies were trimmed before this
                            // follower read them: the snapshot has them.
                            tracing::debug!(pos = %entry.pos, "shared log entry arrived before its dependencies; catching up");
                            if let Integrated::Partial(partial) = outcome {
                                self.updates.push(Bytes::from(partial));
                            }
                            shared.behind = true;
                        }
                        other => {
                            tracing::error!(pos = %entry.pos, outcome = ?other, "shared log entry did not integrate; reloading chart");
                            self.reload();
                            return;
                        }
                    }
                }
            }
            Feed::Presence(message) => {
                for message in FrameDecoder::new(&message) {
                    if let Ok(Message::Awareness(update)) = message {
                        if let Some(changed) =
                            self.presence.apply(REMOTE_OWNER, update, Instant::now())
                        {
                            self.out.push(Out::All(protocol::encode_awareness(changed)));
                        }
                    }
                }
            }
            Feed::Behind => {
                if let Some(shared) = &mut self.shared {
                    shared.behind = true;
                }
            }
            Feed::Broken(reason) => {
                tracing::error!(%reason, "the shared log cannot be read; stopping chart");
                self.reload();
            }
            Feed::PresenceQuery => {
                if let (Some(shared), Some(mine)) = (
                    &self.shared,
                    self.presence.full_where(|owner| owner != REMOTE_OWNER),
                ) {
                    shared
                        .log
                        .publish_presence(&self.id, protocol::encode_awareness(mine));
                }
            }
        }
    }

    /// Broadcasts a presence change of this node's clients, and tells the
    /// other nodes serving the chart.
    fn presence_changed(&mut self, update: AwarenessUpdate) {
        if let Some(shared) = &self.shared {
            let message = protocol::encode_awareness(update.clone());
            shared.log.publish_presence(&self.id, message);
        }
        let (held, _) = self
            .presence_out
            .get_or_insert_with(|| (HashMap::new(), Instant::now()));
        // The presence table let only newer clocks through: a later change
        // of the same client replaces the held one.
        held.extend(update.clients);
    }

    /// When the held presence changes must go out at the latest.
    fn presence_due(&self) -> Option<Instant> {
        self.presence_out
            .as_ref()
            .map(|(_, since)| *since + PRESENCE_DELAY)
    }

    fn join(
        &mut self,
        conn: ConnId,
        info: ConnInfo,
        outbound: mpsc::Sender<Bytes>,
        kill: oneshot::Sender<CloseReason>,
    ) {
        if self.deleting.is_some() {
            let _ = kill.send(CloseReason::new(close::DELETED, "chart deleted"));
            return;
        }
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
            self.presence_changed(gone);
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
            self.presence_changed(gone);
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
                    if let Some((known, answer)) = &self.step2 {
                        if *known == sv {
                            self.out.push(Out::To(conn, answer.clone()));
                            continue;
                        }
                    }
                    let doc = &self.doc;
                    match catch_unwind(AssertUnwindSafe(|| {
                        doc.transact().encode_state_as_update_v1(&sv)
                    })) {
                        Ok(diff) => {
                            let answer = protocol::encode_sync_step2(diff);
                            self.out.push(Out::To(conn, answer.clone()));
                            self.step2 = Some((sv, answer));
                        }
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
                        self.presence_changed(changed);
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
        self.step2 = None;
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
        match &mut self.shared {
            // Counted in `log_len` when the feed returns it.
            Some(shared) => shared.appends.push(stored.clone()),
            // Appended with the rest of the batch (`store_batch`).
            None => self.unstored += 1,
        }
        self.stored_bytes += stored.len();
        if let Some(conn) = conn {
            self.writers.push(conn);
        }
        Metrics::inc(&self.hub.metrics().updates_in);
        self.updates.push(stored);
        Ok(())
    }

    /// Appends the batch's applied updates to the local log, merged into
    /// as few entries as [`STORED_MERGE_LIMIT`] allows. Returns false when an
    /// append failed: the Doc was then rebuilt from the store (memory never
    /// runs ahead of disk), the unstored updates are not broadcast, and the
    /// batch's writers are closed to resync.
    fn store_batch(&mut self) -> bool {
        if self.shared.is_some() || self.unstored == 0 {
            return true;
        }
        let fresh = self
            .updates
            .split_off(self.updates.len() - self.unstored.min(self.updates.len()));
        self.unstored = 0;
        for entry in merge_groups(fresh, STORED_MERGE_LIMIT) {
            match self.store.append(&self.id, self.next_seq, &entry) {
                Ok(ticket) => {
                    self.next_seq += 1;
                    self.log_len += 1;
                    self.last_ticket = Some(ticket);
                    self.updates.push(entry);
                }
                Err(e) => {
                    tracing::error!(error = %e, "append failed");
                    self.reload_doc();
                    let why = e.to_string();
                    self.reject_writers(|| {
                        HubError::Store(easel_store::StoreError::Flush(why.clone()))
                    });
                    return false;
                }
            }
        }
        true
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

    /// Rebuilds the Doc from the store, dropping anything not stored. In a
    /// cluster the chart stops instead (see the module docs).
    fn reload(&mut self) {
        if self.shared.is_some() {
            self.failed.get_or_insert_with(|| {
                CloseReason::new(close::TRY_AGAIN, "chart is reloading; reconnect to resync")
            });
            return;
        }
        // What this batch applied before the reload integrated cleanly: store
        // it first, so the reloaded Doc has it and its broadcast stays queued
        // behind the batch's flush.
        if self.store_batch() {
            self.reload_doc();
        }
    }

    fn reload_doc(&mut self) {
        self.step2 = None;
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
    }

    /// Makes the batch durable, then hands its messages to the connections.
    async fn deliver(&mut self) {
        if let Some(reason) = self.failed.clone() {
            // Nothing of this batch was confirmed: show none of it.
            self.drop_batch(|| HubError::ChartUnavailable);
            self.close_all(reason);
            self.send_out();
            return;
        }
        if let Some(shared) = &mut self.shared {
            if !shared.appends.is_empty() {
                let appends = std::mem::take(&mut shared.appends);
                let log = shared.log.clone();
                let started = Instant::now();
                let result = log.append(&self.id, &appends).await;
                self.hub
                    .metrics()
                    .observe_flush_wait(started.elapsed().as_micros() as u64);
                if let Err(e) = result {
                    Metrics::inc(&self.hub.metrics().flush_failures);
                    tracing::error!(error = %e, "shared log append failed; nothing of this batch is delivered");
                    // The Doc may now be ahead of the log: drop the batch's
                    // output, tell its writers, and stop the chart (its
                    // clients resync from the log on another try).
                    self.drop_batch(|| HubError::Shared(e.clone()));
                    let reason = CloseReason::new(
                        close::TRY_AGAIN,
                        "shared log could not confirm; reconnect",
                    );
                    self.failed = Some(reason.clone());
                    self.close_all(reason);
                    // Removals queued by kill() above must still go out.
                    self.send_out();
                    return;
                }
            }
        } else {
            self.store_batch();
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
                    let why = e.to_string();
                    self.reject_writers(|| {
                        HubError::Store(easel_store::StoreError::Flush(why.clone()))
                    });
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
        }
        self.writers.clear();
        for ack in self.server_acks.drain(..) {
            let _ = ack.send(Ok(()));
        }
        self.send_out();
    }

    /// Forgets the batch's output and closes its writers (1013); they
    /// resync on reconnect.
    fn drop_batch(&mut self, error: impl Fn() -> HubError) {
        self.out.clear();
        self.updates.clear();
        self.unstored = 0;
        if let Some(shared) = &mut self.shared {
            shared.appends.clear();
        }
        self.reject_writers(error);
    }

    /// Closes this batch's writers (1013; they resync on reconnect) and
    /// fails the server's own pending edits.
    fn reject_writers(&mut self, error: impl Fn() -> HubError) {
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
            let _ = ack.send(Err(error()));
        }
    }

    fn send_out(&mut self) {
        self.step2 = None;
        if self.presence_out.is_some()
            && (!self.updates.is_empty()
                || self.presence_due().is_some_and(|due| Instant::now() >= due))
        {
            let (clients, _) = self.presence_out.take().expect("checked");
            self.out
                .push(Out::All(protocol::encode_awareness(AwarenessUpdate {
                    clients,
                })));
        }
        // Merged into messages of at most half a frame, so a big burst never
        // becomes one message larger than clients accept. Locally the batch
        // was merged when it was stored; a batch of one entry (nearly all)
        // comes back unchanged.
        let limit = (self.hub.config().max_frame_bytes / 2).max(1);
        for update in merge_groups(std::mem::take(&mut self.updates), limit) {
            self.out
                .push(Out::All(protocol::encode_update(update.to_vec())));
        }
        let metrics = self.hub.metrics().clone();
        let mut too_slow = Vec::new();
        // Counted here and added once: two shared atomics per delivery
        // bounced a cache line between the cores on every message.
        let (mut sent, mut sent_bytes) = (0u64, 0u64);
        for out in std::mem::take(&mut self.out) {
            let (only, msg) = match out {
                Out::To(conn, msg) => (Some(conn), msg),
                Out::All(msg) => (None, msg),
            };
            let mut deliver = |conn: ConnId, c: &Conn| match c.outbound.try_send(msg.clone()) {
                Ok(()) => {
                    sent += 1;
                    sent_bytes += msg.len() as u64;
                }
                Err(mpsc::error::TrySendError::Full(_)) => too_slow.push(conn),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            };
            match only {
                Some(conn) => {
                    if let Some(c) = self.conns.get(&conn) {
                        deliver(conn, c);
                    }
                }
                None => {
                    for (&conn, c) in &self.conns {
                        deliver(conn, c);
                    }
                }
            }
        }
        Metrics::add(&metrics.messages_out, sent);
        Metrics::add(&metrics.bytes_out, sent_bytes);
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

    /// Merges what the shared log holds now into the Doc when entries may
    /// have been missed, and queues the difference for broadcast. Missed
    /// entries were trimmed into the snapshot, so snapshot + log has them.
    async fn catch_up(&mut self) {
        let Some(shared) = self.shared.as_mut().filter(|s| s.behind) else {
            return;
        };
        shared.behind = false;
        let log = shared.log.clone();
        let stored = match log.load(&self.id).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::warn!(error = %e, "catching up with the shared log failed");
                self.reload();
                return;
            }
        };
        let before = self.doc.transact().state_vector();
        let covers = stored
            .snapshot
            .as_ref()
            .map(|(pos, _)| *pos)
            .unwrap_or_default();
        let mut newest = covers;
        let updates = stored.snapshot.iter().map(|(_, s)| s.as_slice()).chain(
            stored.entries.iter().filter(|e| e.pos > covers).map(|e| {
                newest = e.pos;
                e.update.as_ref()
            }),
        );
        let mut clean = true;
        for update in updates {
            self.step2 = None;
            match integrate(&self.doc, update) {
                Integrated::All | Integrated::Nothing => {}
                _ => clean = false,
            }
        }
        if !clean {
            tracing::error!("the shared log does not replay cleanly; reloading chart");
            self.reload();
            return;
        }
        if let Some(shared) = &mut self.shared {
            shared.cursor = shared.cursor.max(newest);
        }
        let doc = &self.doc;
        match catch_unwind(AssertUnwindSafe(|| {
            doc.transact().encode_state_as_update_v1(&before)
        })) {
            Ok(diff) => {
                tracing::debug!(cursor = %newest, bytes = diff.len(), "caught up with the shared log");
                self.updates.push(Bytes::from(diff));
            }
            Err(_) => self.reload(),
        }
    }

    async fn maybe_compact(&mut self) {
        self.finish_compaction(false).await;
        if self.compaction.is_some() || self.log_len < self.compact_after {
            return;
        }
        if self.shared.is_some() {
            self.compact_shared().await;
        } else if self.next_seq > 0 {
            self.compact_now().await;
        }
    }

    /// Offers a snapshot covering everything up to the cursor to the shared
    /// log; the log's lease decides which node's snapshot is written, and
    /// entries after the cursor are never removed.
    async fn compact_shared(&mut self) {
        // Merge what Redis holds first: a snapshot must contain every entry
        // up to its `covers`, even one this node's follower never saw
        // because another node's trim removed it (belt and braces to the
        // follower's own check; costs one read per compaction).
        if let Some(shared) = &mut self.shared {
            shared.behind = true;
        }
        self.catch_up().await;
        self.deliver().await;
        if self.failed.is_some() {
            return;
        }
        let Some(shared) = &self.shared else {
            return;
        };
        let (log, covers) = (shared.log.clone(), shared.cursor);
        let doc = &self.doc;
        let Ok(snapshot) = catch_unwind(AssertUnwindSafe(|| encode_full(doc))) else {
            tracing::error!("yrs panicked encoding a snapshot; reloading");
            self.reload();
            return;
        };
        let bytes = snapshot.len();
        // Whatever the outcome, wait for another threshold's worth of
        // entries before trying again (another node may hold the lease).
        self.log_len = 0;
        match log.compact(&self.id, snapshot, covers).await {
            Ok(true) => {
                Metrics::inc(&self.hub.metrics().compactions);
                tracing::debug!(%covers, bytes, "compacted the shared log");
                self.stored_bytes = bytes;
            }
            Ok(false) => tracing::debug!(%covers, "another node compacts this chart"),
            Err(e) => tracing::warn!(error = %e, "compaction failed; log kept"),
        }
    }

    /// Starts replacing the log with a snapshot of the Doc (durably, in two
    /// steps; see `Store::compact`) beside the actor.
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
        let (store, id) = (self.store.clone(), self.id.clone());
        let snapshot_bytes = snapshot.len();
        let task = tokio::spawn(
            async move { store.compact(&id, &snapshot, covers).await }.in_current_span(),
        );
        self.compaction = Some(Compaction {
            task,
            covers,
            log_len: self.log_len,
            stored_bytes: self.stored_bytes,
            snapshot_bytes,
        });
    }

    /// Takes the result of the background compaction once it is done, or
    /// waits for it when `wait`.
    async fn finish_compaction(&mut self, wait: bool) {
        if !self
            .compaction
            .as_ref()
            .is_some_and(|c| wait || c.task.is_finished())
        {
            return;
        }
        let Some(c) = self.compaction.take() else {
            return;
        };
        match c.task.await {
            Ok(Ok(())) => {
                Metrics::inc(&self.hub.metrics().compactions);
                tracing::debug!(covers = c.covers, bytes = c.snapshot_bytes, "compacted");
                // What was appended while it ran stays in the log.
                self.log_len = self.log_len.saturating_sub(c.log_len);
                self.stored_bytes =
                    c.snapshot_bytes + self.stored_bytes.saturating_sub(c.stored_bytes);
            }
            Ok(Err(e)) => tracing::error!(error = %e, "compaction failed; log kept"),
            Err(e) => tracing::error!(error = %e, "compaction task failed; log kept"),
        }
    }
}

/// Largest merged log entry, in bytes: well below sled's blob threshold
/// (as snapshot parts are; see `easel_store`). A single larger update is
/// stored as it is, as before.
const STORED_MERGE_LIMIT: usize = 16 * 1024;

/// Merges consecutive updates into groups of about `limit` bytes (a group
/// ends at the update that reaches it). An update alone, or a group yrs
/// cannot merge, is kept as it is.
fn merge_groups(updates: Vec<Bytes>, limit: usize) -> Vec<Bytes> {
    if updates.len() < 2 {
        return updates;
    }
    let mut merged = Vec::new();
    let mut group: Vec<Bytes> = Vec::new();
    let mut size = 0;
    let last = updates.len() - 1;
    for (i, update) in updates.into_iter().enumerate() {
        size += update.len();
        group.push(update);
        if size < limit && i < last {
            continue;
        }
        if group.len() == 1 {
            merged.append(&mut group);
        } else {
            let parts: Vec<&[u8]> = group.iter().map(|u| u.as_ref()).collect();
            match yrs::merge_updates_v1(&parts) {
                Ok(bytes) => {
                    merged.push(Bytes::from(bytes));
                    group.clear();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "merging a batch failed; keeping its updates apart");
                    merged.append(&mut group);
                }
            }
        }
        size = 0;
    }
    merged
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compaction_thresholds_spread_over_a_quarter_and_stay_put() {
        let thresholds: Vec<u64> = (0..200)
            .map(|i| compact_threshold(&format!("chart-{i}"), 2000))
            .collect();
        assert!(thresholds.iter().all(|t| (2000..=2500).contains(t)));
        let distinct: std::collections::HashSet<_> = thresholds.iter().collect();
        assert!(distinct.len() > 100, "charts compact in step: {distinct:?}");
        assert_eq!(compact_threshold("chart-7", 2000), thresholds[7]);
        assert_eq!(compact_threshold("x", 0), 0);
        assert_eq!(compact_threshold("x", u64::MAX), u64::MAX);
    }
}
