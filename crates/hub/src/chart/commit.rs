//! A batch's way to the disk: its applied updates are appended to the
//! chart's log ([`Chart::stage`]), the actor waits until the log says they
//! are durable, and only then hands the batch's output to the connections
//! ([`Chart::deliver`]). What a failure does depends on the log
//! ([`Unconfirmed`]): a local flush that failed holds the output until a
//! flush succeeds; a shared append that was not confirmed drops the batch
//! and stops the chart. Either way the writers of the batch are closed
//! (1013) and resync on reconnect.

use super::log::{ChartLog, Reload, Unconfirmed};
use super::Chart;
use crate::metrics::Metrics;
use crate::{close, CloseReason, HubError};

impl<L: ChartLog> Chart<L> {
    /// Appends the updates applied since the last call to the log. Returns
    /// false when an append failed: the Doc was then rebuilt from the log
    /// (memory never runs ahead of disk), the updates that were not
    /// appended are not broadcast, and the batch's writers are closed to
    /// resync.
    pub(super) fn stage(&mut self) -> bool {
        if self.staged.is_empty() {
            return true;
        }
        let fresh = std::mem::take(&mut self.staged);
        match self.log.append(&self.id, fresh) {
            Ok(appended) => {
                self.updates.extend(appended);
                true
            }
            Err(failed) => {
                tracing::error!(error = %failed.error, "append failed");
                self.updates.extend(failed.appended);
                self.reload_doc();
                let why = failed.error.to_string();
                self.reject_writers(|| {
                    HubError::Store(easel_store::StoreError::Flush(why.clone()))
                });
                false
            }
        }
    }

    /// Rebuilds the Doc from the log, dropping anything not stored. In a
    /// cluster the chart stops instead (see `cluster.rs`).
    pub(super) fn reload(&mut self) {
        // What this batch applied before the reload integrated cleanly:
        // append it first, so the reloaded Doc has it and its broadcast
        // stays queued behind the batch's flush.
        if self.stage() {
            self.reload_doc();
        }
    }

    fn reload_doc(&mut self) {
        self.step2 = None;
        match self.log.reload(&self.id) {
            Ok(doc) => self.doc = doc,
            Err(Reload::Stop(reason)) => {
                self.failed.get_or_insert(reason);
            }
            Err(Reload::Failed(reason)) => self.close_all(reason),
        }
    }

    /// Makes the batch durable, then hands its messages to the connections.
    pub(super) async fn deliver(&mut self) {
        if let Some(reason) = self.failed.clone() {
            // Nothing of this batch was confirmed: show none of it.
            self.drop_batch(|| HubError::ChartUnavailable);
            self.close_all(reason);
            self.send_out();
            return;
        }
        self.stage();
        match self.log.durable(&self.id).await {
            Ok(()) => {}
            Err(Unconfirmed::Held(why)) => {
                Metrics::inc(&self.hub.metrics().flush_failures);
                tracing::error!(error = %why, "flush failed; output held until a flush succeeds");
                // Writers are told and resync on reconnect. Their rows stay
                // in sled's memory and become durable with the next good
                // flush; the batch's output (broadcasts, step 2 answers) is
                // held until then, so readers converge without reconnecting
                // once the disk works again.
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
            Err(Unconfirmed::Lost(e)) => {
                Metrics::inc(&self.hub.metrics().flush_failures);
                tracing::error!(error = %e, "shared log append failed; nothing of this batch is delivered");
                // The Doc may now be ahead of the log: drop the batch's
                // output, tell its writers, and stop the chart (its clients
                // resync from the log on another try).
                self.drop_batch(|| HubError::Shared(e.clone()));
                let reason =
                    CloseReason::new(close::TRY_AGAIN, "shared log could not confirm; reconnect");
                self.failed = Some(reason.clone());
                self.close_all(reason);
                // Removals queued by kill() above must still go out.
                self.send_out();
                return;
            }
        }
        self.writers.clear();
        if !self.updates.is_empty() {
            self.hub.publish_changed(&self.id);
        }
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
        self.staged.clear();
        self.log.discard();
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
}
