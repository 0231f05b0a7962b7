//! Where a chart's updates become durable: the [`ChartLog`] the actor
//! appends to, and the local implementation over the sled store.
//!
//! The actor has one path (apply, append, wait until durable, deliver); the
//! log decides what "durable" means. Locally it is the store's group commit
//! (`easel_store`): an append only queues a record and the flusher thread
//! makes it durable together with every other chart's. In a cluster it is
//! the shared log (`super::cluster`), confirmed by Redis. The two differ in
//! what a failure means, and the actor is told through [`Unconfirmed`]:
//! a local flush that failed leaves the records queued for the next flush
//! (output is held until one succeeds), while a shared append that was not
//! confirmed may have left the Doc ahead of the log (the chart must stop).
//!
//! Compaction replaces a log with a snapshot of the Doc. Locally it runs
//! beside the actor ([`Compaction`]) so the actor keeps delivering; entries
//! appended after the snapshot's last entry are never touched.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use easel_store::{Store, StoreError, Ticket};
use tracing::Instrument;
use yrs::sync::awareness::AwarenessUpdate;
use yrs::{Doc, ReadTxn, Transact};

use super::doc::{merge_groups, replay};
use crate::metrics::Metrics;
use crate::shared::{LogPos, SharedError};
use crate::{close, CloseReason, Hub, HubError};

/// Why a batch's appends are not durable.
pub(crate) enum Unconfirmed {
    /// The records stay queued and become durable with the next good flush:
    /// hold the batch's output until then.
    Held(String),
    /// Nothing of the batch may be shown, and the Doc may be ahead of the
    /// log: the chart stops and its clients resync from the log.
    Lost(SharedError),
}

/// An append that stopped part way: `appended` are in the log (and go out
/// after the next durable wait), the rest of the batch is not.
pub(crate) struct AppendFailed {
    pub appended: Vec<Bytes>,
    pub error: StoreError,
}

/// What [`ChartLog::catch_up`] found.
pub(crate) enum CatchUp {
    /// Nothing was missed.
    UpToDate,
    /// The Doc merged entries it had missed; this is what they changed, to
    /// broadcast (already durable in the log).
    Merged(Bytes),
    /// The log does not replay cleanly into the Doc: reload.
    Failed,
}

/// A chart's durable log, as the chart actor sees it. Constructors
/// (`LocalLog::open`, `ClusterLog::open`) load the Doc.
pub(crate) trait ChartLog: Send + Sized + 'static {
    /// Bytes the chart takes in the log (snapshot + entries), for the size
    /// limit; grows with [`ChartLog::count`].
    fn stored_bytes(&self) -> usize;

    /// Counts an applied update's bytes against the size limit.
    fn count(&mut self, bytes: usize);

    /// Appends a batch's applied updates, in order. Returns what to
    /// broadcast for them (the local log stores a batch merged and hands
    /// back the merged entries, so they are not merged twice).
    fn append(&mut self, id: &str, updates: Vec<Bytes>) -> Result<Vec<Bytes>, AppendFailed>;

    /// Waits until everything appended is durable.
    async fn durable(&mut self, id: &str) -> Result<(), Unconfirmed>;

    /// Forgets appends that are not durable yet: their batch is dropped.
    fn discard(&mut self);

    /// Builds the Doc again from what the log holds, or says why the chart
    /// must stop instead (`Err`: close every connection with this reason).
    fn reload(&mut self, id: &str) -> Result<Doc, Reload>;

    /// Collects a finished compaction (or waits for a running one).
    async fn settle_compaction(&mut self, wait: bool);

    /// Whether enough entries have piled up to compact now.
    fn compaction_due(&self) -> bool;

    /// Replaces the log up to what `snapshot` covers.
    async fn compact(&mut self, id: &str, snapshot: Vec<u8>);

    /// Takes a position another node appended at: false if it was seen
    /// already (or is this node's own entry, which only moves the cursor).
    fn accept(&mut self, _pos: LogPos, _own: bool, _bytes: usize) -> bool {
        false
    }

    /// Notes that entries may have been missed: the next
    /// [`ChartLog::catch_up`] reads the log.
    fn mark_behind(&mut self) {}

    /// Merges what the log holds into `doc` if entries may have been missed.
    async fn catch_up(&mut self, _id: &str, _doc: &Doc) -> CatchUp {
        CatchUp::UpToDate
    }

    /// Tells the other nodes serving this chart about a presence change of
    /// this node's clients (encoded only where someone listens).
    fn publish_presence(&self, _id: &str, _update: &AwarenessUpdate) {}
}

/// Why a reload did not give a Doc.
pub(crate) enum Reload {
    /// Stop the chart after this batch; clients reconnect and resync.
    Stop(CloseReason),
    /// The stored data does not load: close everyone now.
    Failed(CloseReason),
}

/// Largest merged log entry, in bytes: well below sled's blob threshold
/// (as snapshot parts are; see `easel_store`). A single larger update is
/// stored as it is.
const STORED_MERGE_LIMIT: usize = 16 * 1024;

/// The chart's log in the local sled store.
pub(crate) struct LocalLog {
    store: Store,
    metrics: Arc<Metrics>,
    next_seq: u64,
    /// Log entries since the last snapshot.
    log_len: u64,
    stored_bytes: usize,
    /// The newest append's group-commit ticket, not yet waited for.
    last_ticket: Option<Ticket>,
    /// Set when a flush failed: the Doc (and sled's memory) then hold state
    /// that is not on disk, so every later batch, even one that appends
    /// nothing (a sync step 2 answer), waits for a flush covering this
    /// ticket before anything goes out. Cleared by the first good flush.
    unflushed: Option<Ticket>,
    /// Log entries after which this chart compacts: the configured count
    /// plus up to a quarter more, fixed per chart id, so charts that were
    /// written in step (a benchmark, a conference round) do not all compact
    /// in the same second.
    compact_after: u64,
    /// The compaction running beside the actor, if any. Awaited before the
    /// actor ends, so a deleted chart is never written back.
    compaction: Option<Compaction>,
}

/// A compaction's store work (snapshot writes, two flushes, the log trim)
/// runs in its own task: the actor keeps applying and delivering batches
/// meanwhile. Entries appended after `covers` are never touched by it.
struct Compaction {
    task: tokio::task::JoinHandle<Result<(), StoreError>>,
    covers: u64,
    /// Log entries and stored bytes when it started: what the snapshot
    /// replaces once it is done.
    log_len: u64,
    stored_bytes: usize,
    snapshot_bytes: usize,
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

impl LocalLog {
    /// Loads a chart from the local store (on a blocking thread).
    pub(crate) async fn open(hub: &Hub, id: &str) -> Result<(LocalLog, Doc), HubError> {
        let store = hub.store().clone();
        let load_store = store.clone();
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
        // No compaction here: serving the first client must not wait for a
        // snapshot write and two flushes. What sled recovered after a crash
        // was made durable when the store opened (`Store::open`); the log is
        // compacted by size, as after any other batch.
        let log = LocalLog {
            store,
            metrics: hub.metrics().clone(),
            next_seq: stored.next_seq,
            log_len: stored.updates.len() as u64,
            stored_bytes,
            last_ticket: None,
            unflushed: None,
            compact_after: compact_threshold(id, hub.config().compact_after_updates),
            compaction: None,
        };
        Ok((log, doc))
    }
}

impl ChartLog for LocalLog {
    fn stored_bytes(&self) -> usize {
        self.stored_bytes
    }

    fn count(&mut self, bytes: usize) {
        self.stored_bytes += bytes;
    }

    fn append(&mut self, id: &str, updates: Vec<Bytes>) -> Result<Vec<Bytes>, AppendFailed> {
        // Merged into as few entries as the limit allows: each sled insert,
        // and its removal at compaction, costs about as much as applying
        // the edit.
        let mut appended = Vec::new();
        for entry in merge_groups(updates, STORED_MERGE_LIMIT) {
            match self.store.append(id, self.next_seq, &entry) {
                Ok(ticket) => {
                    self.next_seq += 1;
                    self.log_len += 1;
                    self.last_ticket = Some(ticket);
                    appended.push(entry);
                }
                Err(error) => return Err(AppendFailed { appended, error }),
            }
        }
        Ok(appended)
    }

    async fn durable(&mut self, _id: &str) -> Result<(), Unconfirmed> {
        let ticket = match (self.last_ticket.take(), self.unflushed) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let Some(ticket) = ticket else {
            return Ok(());
        };
        let started = Instant::now();
        let result = self.store.durable(ticket).await;
        self.metrics
            .observe_flush_wait(started.elapsed().as_micros() as u64);
        match result {
            Ok(()) => {
                self.unflushed = None;
                Ok(())
            }
            Err(e) => {
                // The records stay in sled's memory and become durable with
                // the next good flush.
                self.unflushed = Some(ticket);
                Err(Unconfirmed::Held(e.to_string()))
            }
        }
    }

    fn discard(&mut self) {}

    fn reload(&mut self, id: &str) -> Result<Doc, Reload> {
        match load_doc(&self.store, id) {
            Ok((doc, stored)) => {
                self.next_seq = stored.next_seq;
                self.log_len = stored.updates.len() as u64;
                Ok(doc)
            }
            Err(e) => {
                tracing::error!(error = %e, "reload failed; closing chart");
                Err(Reload::Failed(CloseReason::new(
                    close::INTERNAL,
                    "chart failed to reload",
                )))
            }
        }
    }

    async fn settle_compaction(&mut self, wait: bool) {
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
                Metrics::inc(&self.metrics.compactions);
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

    fn compaction_due(&self) -> bool {
        self.compaction.is_none() && self.next_seq > 0 && self.log_len >= self.compact_after
    }

    /// Starts replacing the log with the snapshot (durably, in two steps;
    /// see `Store::compact`) beside the actor.
    async fn compact(&mut self, id: &str, snapshot: Vec<u8>) {
        let covers = self.next_seq - 1;
        let (store, id) = (self.store.clone(), id.to_owned());
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
}

/// `configured` plus a spread of up to a quarter of it, fixed per chart id.
pub(crate) fn compact_threshold(id: &str, configured: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    configured.saturating_add(hasher.finish() % (configured / 4 + 1))
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
