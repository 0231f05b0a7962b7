//! The chart's log in a cluster: [`ChartLog`] over the shared log
//! (`crate::shared`, implemented over Redis by `crates/cluster`).
//!
//! A batch's updates are appended to the shared log and confirmed there
//! before anything of the batch is delivered. Other nodes' entries arrive
//! as [`Command::Remote`] and are applied and broadcast like local ones. A
//! chart that may have missed entries (another node's compaction trimmed
//! them before this node read them) catches up by merging snapshot + log
//! into its Doc. A chart whose Doc could run ahead of the shared log (an
//! append that was not confirmed) is not repaired in place: it stops, every
//! connection is closed with 1013, and the next join loads it afresh while
//! clients resync, resending whatever the log did not confirm.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::DropGuard;
use tracing::Instrument;
use yrs::sync::awareness::AwarenessUpdate;
use yrs::{Doc, ReadTxn, Transact};

use super::doc::{integrate, replay_updates, Integrated};
use super::log::{AppendFailed, CatchUp, ChartLog, Reload, Unconfirmed};
use super::Command;
use crate::metrics::Metrics;
use crate::shared::{LogPos, SharedChart, SharedLog};
use crate::{close, CloseReason, Hub, HubError};

/// Feed messages (each up to a few hundred log entries) buffered between the
/// shared log's follower and the actor; a full buffer slows the follower.
const FEED_QUEUE: usize = 64;

/// A chart's place in the shared log.
pub(crate) struct ClusterLog {
    log: Arc<dyn SharedLog>,
    metrics: Arc<Metrics>,
    /// Highest log position applied to the Doc. Own entries count once the
    /// feed returns them, so remote entries before them are never skipped.
    cursor: LogPos,
    /// Log entries after the snapshot (own ones counted when the feed
    /// returns them).
    log_len: u64,
    stored_bytes: usize,
    /// Entries after which this chart offers a snapshot.
    compact_after: u64,
    /// This batch's updates, appended (and confirmed) before it is delivered.
    appends: Vec<Bytes>,
    /// Set when entries may be missing (trimmed before they were read, or
    /// an entry arrived before its dependencies): catch up before delivering.
    behind: bool,
    /// Dropped with the actor: stops following the chart.
    _follow: DropGuard,
}

/// What a chart loaded from the shared log starts from.
pub(crate) struct SharedLoad {
    /// Highest position the Doc covers.
    cursor: LogPos,
    /// Log entries after the snapshot.
    entries: u64,
    /// Bytes of snapshot and entries, for the size limit.
    bytes: usize,
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

impl ClusterLog {
    /// Loads a chart from the shared log and starts following it; the feed
    /// is forwarded into the actor's own queue (`me`) as [`Command::Remote`].
    pub(crate) async fn open(
        hub: &Hub,
        id: &str,
        log: Arc<dyn SharedLog>,
        me: mpsc::WeakSender<Command>,
    ) -> Result<(ClusterLog, Doc), HubError> {
        let (doc, load) = load_shared(log.as_ref(), id).await?;
        tracing::debug!(
            entries = load.entries,
            cursor = %load.cursor,
            stored_bytes = load.bytes,
            "chart loaded from the shared log"
        );
        let (feed_tx, mut feed_rx) = mpsc::channel(FEED_QUEUE);
        let follow = log.follow(id, load.cursor, feed_tx);
        // Ends when the follower stops (its guard is dropped with the
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
        let cluster = ClusterLog {
            log,
            metrics: hub.metrics().clone(),
            cursor: load.cursor,
            log_len: load.entries,
            stored_bytes: load.bytes,
            compact_after: super::log::compact_threshold(id, hub.config().compact_after_updates),
            appends: Vec::new(),
            behind: false,
            _follow: follow,
        };
        Ok((cluster, doc))
    }
}

impl ChartLog for ClusterLog {
    fn stored_bytes(&self) -> usize {
        self.stored_bytes
    }

    fn count(&mut self, bytes: usize) {
        self.stored_bytes += bytes;
    }

    fn append(&mut self, _id: &str, updates: Vec<Bytes>) -> Result<Vec<Bytes>, AppendFailed> {
        // Counted in `log_len` when the feed returns them.
        self.appends.extend(updates.iter().cloned());
        Ok(updates)
    }

    async fn durable(&mut self, id: &str) -> Result<(), Unconfirmed> {
        if self.appends.is_empty() {
            return Ok(());
        }
        let appends = std::mem::take(&mut self.appends);
        let started = Instant::now();
        let result = self.log.append(id, &appends).await;
        self.metrics
            .observe_flush_wait(started.elapsed().as_micros() as u64);
        result.map_err(Unconfirmed::Lost)
    }

    fn discard(&mut self) {
        self.appends.clear();
    }

    fn reload(&mut self, _id: &str) -> Result<Doc, Reload> {
        Err(Reload::Stop(CloseReason::new(
            close::TRY_AGAIN,
            "chart is reloading; reconnect to resync",
        )))
    }

    async fn settle_compaction(&mut self, _wait: bool) {}

    fn compaction_due(&self) -> bool {
        self.log_len >= self.compact_after
    }

    /// Offers a snapshot covering everything up to the cursor; the log's
    /// lease decides which node's snapshot is written, and entries after
    /// the cursor are never removed. The actor caught up first, so the
    /// snapshot holds every entry up to the cursor, even one this node's
    /// follower never saw because another node's trim removed it.
    async fn compact(&mut self, id: &str, snapshot: Vec<u8>) {
        let (covers, bytes) = (self.cursor, snapshot.len());
        // Whatever the outcome, wait for another threshold's worth of
        // entries before trying again (another node may hold the lease).
        self.log_len = 0;
        match self.log.compact(id, snapshot, covers).await {
            Ok(true) => {
                Metrics::inc(&self.metrics.compactions);
                tracing::debug!(%covers, bytes, "compacted the shared log");
                self.stored_bytes = bytes;
            }
            Ok(false) => tracing::debug!(%covers, "another node compacts this chart"),
            Err(e) => tracing::warn!(error = %e, "compaction failed; log kept"),
        }
    }

    fn accept(&mut self, pos: LogPos, own: bool, bytes: usize) -> bool {
        if pos <= self.cursor {
            return false;
        }
        self.cursor = pos;
        self.log_len += 1;
        if own {
            return false;
        }
        self.stored_bytes += bytes;
        true
    }

    fn mark_behind(&mut self) {
        self.behind = true;
    }

    /// Missed entries were trimmed into the snapshot, so snapshot + log
    /// has them.
    async fn catch_up(&mut self, id: &str, doc: &Doc) -> CatchUp {
        if !std::mem::take(&mut self.behind) {
            return CatchUp::UpToDate;
        }
        let stored = match self.log.load(id).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::warn!(error = %e, "catching up with the shared log failed");
                return CatchUp::Failed;
            }
        };
        let before = doc.transact().state_vector();
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
        for update in updates {
            if !matches!(
                integrate(doc, update),
                Integrated::All | Integrated::Nothing
            ) {
                tracing::error!("the shared log does not replay cleanly; reloading chart");
                return CatchUp::Failed;
            }
        }
        self.cursor = self.cursor.max(newest);
        match catch_unwind(AssertUnwindSafe(|| {
            doc.transact().encode_state_as_update_v1(&before)
        })) {
            Ok(diff) => {
                tracing::debug!(cursor = %newest, bytes = diff.len(), "caught up with the shared log");
                CatchUp::Merged(Bytes::from(diff))
            }
            Err(_) => CatchUp::Failed,
        }
    }

    fn publish_presence(&self, id: &str, update: &AwarenessUpdate) {
        let message = easel_protocol::encode_awareness(update.clone());
        self.log.publish_presence(id, message);
    }
}
