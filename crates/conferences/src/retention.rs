//! Deleting a conference, by hand or automatically: with
//! `--delete-published-after`, a conference is
//! deleted (charts, links, agenda; see `Conferences::delete`) once its
//! proceedings have been public that long. Unpublishing stops the clock.
//!
//! The check runs in the background at an interval derived from the delay
//! (a quarter of it, between 250 ms and 10 minutes), so a deletion happens
//! at most that late and a short delay in tests needs no extra flag.
//!
//! A deletion interrupted by a crash is finished by [`Conferences::sweep`]
//! at the next start: a deletion first records what it is about to remove
//! (a `deleting/` document), so charts that no agenda lists any more (merged
//! away, or whose index entry went first) are not forgotten.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::tokens as access;
use easel_store::meta::MetaError;
use jiff::Timestamp;

use crate::{
    chart_key, conf_key, to_json, ChartEntry, Conferences, Deleted, Effect, Error, Result,
};

/// Where an unfinished deletion records the charts it is removing.
fn deleting_key(id: &str) -> String {
    format!("deleting/{id}")
}

/// What [`Conferences::sweep`] cleaned up.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    /// Deletions that a crash interrupted, finished now.
    pub deletions_finished: usize,
    /// Charts whose data was still in the store although nothing refers to
    /// them any more (no index entry, or an entry of a conference that is
    /// gone).
    pub orphan_charts: usize,
}

/// How often retention looks for due conferences, for a given delay.
pub fn check_interval(after: Duration) -> Duration {
    (after / 4).clamp(Duration::from_millis(250), Duration::from_secs(600))
}

/// Runs retention passes until `shutdown`.
pub fn spawn(conferences: Conferences, after: Duration, shutdown: CancellationToken) {
    let every = check_interval(after);
    let Ok(after) = jiff::SignedDuration::try_from(after) else {
        tracing::error!("--delete-published-after is too long; retention is off");
        return;
    };
    tracing::info!(
        ?after,
        ?every,
        "retention on: conferences are deleted after their proceedings were public this long"
    );
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(every) => {}
            }
            match conferences
                .delete_expired(after, jiff::Timestamp::now())
                .await
            {
                Ok(deleted) => {
                    for id in deleted {
                        tracing::info!(conference_id = %id, "retention: conference deleted");
                    }
                }
                Err(e) => tracing::error!(error = %e, "retention pass failed; retrying later"),
            }
        }
    });
}

impl Conferences {
    /// Deletes a conference with everything it owns: its charts (open
    /// connections closed with 4410 on every node, unloaded, removed from
    /// the store) and their versions, its links and its agenda. Idempotent and resumable in
    /// this order: a crash part-way leaves the conference (with its
    /// remaining charts and its organizer link) in place, so deleting again
    /// finishes the job.
    pub async fn delete(&self, id: &str) -> Result<Deleted> {
        let _guard = self.guard(id).await?;
        let stored = self.load(id).await?;
        let charts = self.charts_of(id, &stored).await?;
        // Recorded before anything goes: once an index entry is removed,
        // this list is the only thing that still knows the chart.
        self.inner
            .meta
            .put(&deleting_key(id), &to_json(&charts)?)
            .await?;
        self.remove_charts(&charts).await?;
        self.delete_round_markers(id).await?;
        let links = self.links(id).await?;
        for link in &links {
            self.inner
                .meta
                .remove(&access::token_key(&link.hash))
                .await?;
        }
        self.remove_webhooks(id).await?;
        self.delete_votes(id).await?;
        // Before the agenda goes: if the other nodes cannot be told, the
        // conference is still there to delete (and announce) again.
        self.announce(Effect::Deleted {
            conference_id: id.to_owned(),
            charts: charts.iter().cloned().collect(),
        })
        .await?;
        self.inner.meta.remove(&conf_key(id)).await?;
        self.inner.meta.remove(&deleting_key(id)).await?;
        self.inner
            .parsed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        tracing::info!(
            conference_id = id,
            charts = charts.len(),
            links = links.len(),
            "conference deleted"
        );
        Ok(Deleted {
            charts: charts.len(),
            links: links.len(),
        })
    }

    /// Every chart a conference owns: its sessions' and any other indexed
    /// to it (merged-away sessions keep theirs).
    async fn charts_of(
        &self,
        id: &str,
        stored: &crate::StoredConference,
    ) -> Result<std::collections::BTreeSet<String>> {
        let mut charts: std::collections::BTreeSet<String> = stored
            .conference
            .sessions()
            .iter()
            .map(|s| s.chart_id.clone())
            .collect();
        for (key, value) in self.inner.meta.scan("chart/").await? {
            if serde_json::from_slice::<ChartEntry>(&value).is_ok_and(|e| e.conference_id == id) {
                charts.insert(key.trim_start_matches("chart/").to_owned());
            }
        }
        Ok(charts)
    }

    async fn remove_charts(&self, charts: &std::collections::BTreeSet<String>) -> Result<()> {
        for chart in charts {
            // Index first: from here on no upgrade can open the chart, so
            // the hub cannot load it again while its data goes.
            self.inner.meta.remove(&chart_key(chart)).await?;
            self.inner.hub.delete_chart(chart).await?;
            self.delete_versions(chart).await?;
            self.forget_edits(chart);
        }
        Ok(())
    }

    /// Cleans up after a crash, at startup (before serving): finishes every
    /// deletion that was interrupted, then removes chart data that nothing
    /// refers to any more. Idempotent. Chart data is only listed from the
    /// local store: in a cluster charts live in Redis, where the interrupted
    /// deletions are finished but no orphan scan is made.
    pub async fn sweep(&self) -> Result<Swept> {
        let mut swept = Swept::default();
        for (key, value) in self.inner.meta.scan("deleting/").await? {
            let id = key.trim_start_matches("deleting/").to_owned();
            match self.delete(&id).await {
                Ok(_) => {}
                Err(Error::ConferenceNotFound(_)) => {
                    // The agenda was already gone: only the recorded charts
                    // can still be there.
                    let charts: std::collections::BTreeSet<String> = serde_json::from_slice(&value)
                        .map_err(|e| Error::Corrupt(format!("{key}: {e}")))?;
                    self.remove_charts(&charts).await?;
                    self.inner.meta.remove(&key).await?;
                }
                Err(e) => return Err(e),
            }
            tracing::warn!(conference_id = %id, "finished a deletion that a crash interrupted");
            swept.deletions_finished += 1;
        }
        let conferences: std::collections::BTreeSet<String> =
            self.list_ids().await?.into_iter().collect();
        let mut indexed = std::collections::BTreeSet::new();
        for (key, value) in self.inner.meta.scan("chart/").await? {
            let chart = key.trim_start_matches("chart/").to_owned();
            let owner_gone = serde_json::from_slice::<ChartEntry>(&value)
                .is_ok_and(|e| !conferences.contains(&e.conference_id));
            if owner_gone {
                self.inner.meta.remove(&key).await?;
                self.inner.hub.delete_chart(&chart).await?;
                self.delete_versions(&chart).await?;
                tracing::warn!(chart_id = %chart, "removed a chart whose conference is gone");
                swept.orphan_charts += 1;
            } else {
                indexed.insert(chart);
            }
        }
        if self.inner.hub.shared().is_none() {
            let in_store: Vec<String> = self
                .inner
                .hub
                .store()
                .chart_ids()
                .map_err(MetaError::from)?;
            for chart in in_store {
                if !indexed.contains(&chart) {
                    self.inner.hub.delete_chart(&chart).await?;
                    self.delete_versions(&chart).await?;
                    tracing::warn!(chart_id = %chart, "removed chart data that no conference refers to");
                    swept.orphan_charts += 1;
                }
            }
        }
        Ok(swept)
    }

    /// One retention pass: deletes every conference whose proceedings have
    /// been public for `after`. Conferences published before the retention
    /// clock existed get it started now. Returns the deleted ids. In a
    /// cluster every node with retention on runs passes; the conference
    /// lock makes one of them delete and the others find it gone.
    pub async fn delete_expired(
        &self,
        after: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<Vec<String>> {
        let mut deleted = Vec::new();
        for id in self.list_ids().await? {
            let stored = match self.load(&id).await {
                Ok(s) => s,
                Err(Error::ConferenceNotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            if stored.proceedings_public && stored.proceedings_published_at.is_none() {
                self.mutate(&id, "retention_clock_started", |s| {
                    s.proceedings_published_at.get_or_insert(now);
                    Ok(())
                })
                .await?;
                continue;
            }
            if stored.retention_due(after, now) {
                match self.delete(&id).await {
                    Ok(_) => deleted.push(id),
                    Err(Error::ConferenceNotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(deleted)
    }
}
