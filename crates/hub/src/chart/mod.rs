//! One actor per loaded chart: the only owner of the chart's `yrs::Doc`.
//!
//! Connections send it [`Command`]s over a bounded channel; it never shares the
//! Doc, so no lock spans charts. It works in batches: take every command that
//! is waiting, apply them all, ask the log to make the batch's appends
//! durable (locally one group-commit flush for the whole batch, shared with
//! every other chart flushing at the same time), and only then hand the
//! batch's outgoing messages to the connections. This is the durability rule
//! in code: nothing a client can see was not on disk first. While a batch
//! waits for its flush, new commands queue up and form the next, larger
//! batch.
//!
//! The actor is generic over its [`ChartLog`]: the local sled log
//! ([`log::LocalLog`]) or the cluster's shared log ([`cluster::ClusterLog`]).
//! The files of this module follow a batch:
//! - `mod.rs`: the loop, commands, and delivery after the durable wait;
//! - `conns.rs`: joins, leaves and what each inbound message does;
//! - `doc.rs`: integrating an update without pending state (pure);
//! - `commit.rs`: appending a batch, waiting until it is durable, and what
//!   a failure does to the batch;
//! - `log.rs`: the [`ChartLog`] trait, the local log and its compaction;
//! - `cluster.rs`: the shared log, other nodes' entries, catching up;
//! - `fanout.rs`: handing the output to the connections' queues.
//!
//! A panic in yrs closes the offending connection and reloads the Doc from
//! the log (in a cluster the chart stops instead, see `cluster.rs`).

mod cluster;
mod commit;
mod conns;
pub(crate) mod doc;
mod fanout;
mod log;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use bytes::Bytes;
use easel_protocol::{self as protocol, FrameDecoder, Message};
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use yrs::sync::awareness::AwarenessUpdate;
use yrs::{Doc, ReadTxn, StateVector, Transact};

pub(crate) use cluster::load_shared;
pub(crate) use doc::encode_full;
pub use doc::{integrate, replay, Integrated};
pub(crate) use log::load_doc;
use log::{CatchUp, ChartLog};

use crate::awareness::{Presence, PresenceBatch};
use crate::metrics::Metrics;
use crate::shared::{Feed, SharedError};
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
/// Why an editor's update is refused while the session is final. Clients
/// match the `read-only: the session is final` prefix.
pub(crate) const SESSION_FINAL: &str =
    "read-only: the session is final; its notes can be read but not edited";
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

struct Chart<L> {
    id: String,
    hub: Hub,
    log: L,
    doc: Doc,
    read_only: bool,
    conns: HashMap<ConnId, Conn>,
    presence: Presence,
    // Per-batch state.
    out: Vec<Out>,
    writers: Vec<ConnId>,
    server_acks: Vec<oneshot::Sender<Result<(), HubError>>>,
    /// This batch's updates, broadcast as one merged update: one message
    /// per batch per connection, however many edits it held, so a burst
    /// neither floods healthy clients' queues nor costs a syscall each.
    updates: Vec<Bytes>,
    /// Updates applied to the Doc but not yet appended to the log:
    /// [`Chart::stage`] appends them together, so the local log stores a
    /// batch as one merged entry instead of one per edit.
    staged: Vec<Bytes>,
    /// The last sync step 2 answer and the state vector it answered, for
    /// this batch only: in a join storm the joiners of one batch mostly
    /// send the same (empty) state vector, and they share one encoded
    /// answer instead of each getting its own copy of the whole chart (300
    /// joiners of a 1 MB chart would hold 300 MB until their answers were
    /// out). Dropped whenever the Doc changes and at the end of every batch.
    step2: Option<(StateVector, Bytes)>,
    /// The connection count last handed to [`Hub::publish_present`].
    published_present: usize,
    /// Set by [`Command::Delete`]: later joiners are refused, and the sender
    /// is answered after the actor has stopped.
    deleting: Option<oneshot::Sender<()>>,
    /// Set when the chart must stop (cluster only): after this batch every
    /// connection is closed with this reason and the actor ends.
    failed: Option<CloseReason>,
    /// Presence changes not broadcast yet.
    presence_out: PresenceBatch,
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

/// Loads the chart from its log, then runs the actor until it unloads.
async fn run(hub: Hub, id: String, rx: mpsc::Receiver<Command>, me: mpsc::WeakSender<Command>) {
    Metrics::inc(&hub.metrics().chart_loads);
    match hub.shared().cloned() {
        Some(shared) => {
            let opened = cluster::ClusterLog::open(&hub, &id, shared, me).await;
            serve(hub, id, rx, opened).await
        }
        None => {
            let opened = log::LocalLog::open(&hub, &id).await;
            serve(hub, id, rx, opened).await
        }
    }
}

async fn serve<L: ChartLog>(
    hub: Hub,
    id: String,
    mut rx: mpsc::Receiver<Command>,
    opened: Result<(L, Doc), HubError>,
) {
    let metrics = hub.metrics().clone();
    let mut chart = match opened {
        Ok((log, doc)) => Chart::new(&hub, &id, log, doc),
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
            .presence_out
            .due()
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
    chart.log.settle_compaction(true).await;
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

impl<L: ChartLog> Chart<L> {
    fn new(hub: &Hub, id: &str, log: L, doc: Doc) -> Chart<L> {
        Chart {
            id: id.to_owned(),
            hub: hub.clone(),
            log,
            doc,
            read_only: false,
            conns: HashMap::new(),
            presence: Presence::default(),
            out: Vec::new(),
            writers: Vec::new(),
            server_acks: Vec::new(),
            updates: Vec::new(),
            staged: Vec::new(),
            step2: None,
            published_present: 0,
            deleting: None,
            failed: None,
            presence_out: PresenceBatch::default(),
        }
    }
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

impl<L: ChartLog> Chart<L> {
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
            Command::SetReadOnly(ro) => self.set_read_only(ro),
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
                self.stage();
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

    /// The session turned final (or was reopened). Connections whose link
    /// may edit hear of it at once: an auth message with the reason when
    /// editing stops, so an editor switches to read-only before its next
    /// keystroke is refused; a sync step 1 when it resumes, so the client
    /// sends what the server refused meanwhile (its step 2 answer carries
    /// whatever the server lacks) and nothing typed is lost.
    fn set_read_only(&mut self, ro: bool) {
        let changed = self.read_only != ro;
        self.read_only = ro;
        tracing::info!(read_only = ro, "chart access changed");
        let editors: Vec<ConnId> = self
            .conns
            .iter_mut()
            .filter(|(_, c)| c.info.link == Access::Edit)
            .map(|(id, c)| {
                if !ro {
                    c.info.access = Access::Edit;
                }
                *id
            })
            .collect();
        if editors.is_empty() || (!changed && ro) {
            return;
        }
        let message = if ro {
            protocol::encode_permission_denied(SESSION_FINAL)
        } else {
            let sv = self.doc.transact().state_vector();
            protocol::encode_sync_step1(&sv)
        };
        for conn in editors {
            self.out.push(Out::To(conn, message.clone()));
        }
    }

    /// Applies what other cluster nodes did. Log entries are durable in the
    /// shared log already, so they go out with this batch like local ones.
    fn remote(&mut self, feed: Feed) {
        match feed {
            Feed::Entries(entries) => {
                for entry in entries {
                    if !self.log.accept(entry.pos, entry.own, entry.update.len()) {
                        continue;
                    }
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
                            self.log.mark_behind();
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
            Feed::Behind => self.log.mark_behind(),
            Feed::Broken(reason) => {
                tracing::error!(%reason, "the shared log cannot be read; stopping chart");
                self.reload();
            }
            Feed::PresenceQuery => {
                if let Some(mine) = self.presence.full_where(|owner| owner != REMOTE_OWNER) {
                    self.log.publish_presence(&self.id, &mine);
                }
            }
        }
    }

    /// Holds a presence change of this node's clients for the next
    /// delivery, and tells the other nodes serving the chart.
    fn presence_changed(&mut self, update: AwarenessUpdate) {
        self.log.publish_presence(&self.id, &update);
        self.presence_out.hold(update);
    }

    /// Merges entries the Doc may have missed (cluster only) and queues
    /// what they changed for broadcast.
    async fn catch_up(&mut self) {
        self.step2 = None;
        match self.log.catch_up(&self.id, &self.doc).await {
            CatchUp::UpToDate => {}
            CatchUp::Merged(diff) => self.updates.push(diff),
            CatchUp::Failed => self.reload(),
        }
    }

    /// Compacts the log once enough entries piled up.
    async fn maybe_compact(&mut self) {
        self.log.settle_compaction(false).await;
        if !self.log.compaction_due() {
            return;
        }
        // A snapshot must contain every entry up to what it covers, even
        // one another node's trim removed before this node read it: catch
        // up and deliver first (the local log has nothing to catch up).
        self.log.mark_behind();
        self.catch_up().await;
        self.deliver().await;
        if self.failed.is_some() {
            return;
        }
        let doc = &self.doc;
        let Ok(snapshot) = catch_unwind(AssertUnwindSafe(|| encode_full(doc))) else {
            tracing::error!("yrs panicked encoding a snapshot; reloading");
            self.reload();
            return;
        };
        self.log.compact(&self.id, snapshot).await;
    }
}
