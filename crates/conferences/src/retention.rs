//! Deleting a conference, by hand or automatically: with
//! `--delete-published-after`, a conference is
//! deleted (charts, links, agenda; see `Conferences::delete`) once its
//! proceedings have been public that long. Unpublishing stops the clock.
//!
//! The check runs in the background at an interval derived from the delay
//! (a quarter of it, between 250 ms and 10 minutes), so a deletion happens
//! at most that late and a short delay in tests needs no extra flag.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::tokens as access;
use jiff::Timestamp;

use crate::{chart_key, conf_key, ChartEntry, Conferences, Deleted, Effect, Error, Result};

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
    /// the store), its links and its agenda. Idempotent and resumable in
    /// this order: a crash part-way leaves the conference (with its
    /// remaining charts and its organizer link) in place, so deleting again
    /// finishes the job.
    pub async fn delete(&self, id: &str) -> Result<Deleted> {
        let _guard = self.guard(id).await?;
        let stored = self.load(id).await?;
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
        for chart in &charts {
            // Index first: from here on no upgrade can open the chart, so
            // the hub cannot load it again while its data goes.
            self.inner.meta.remove(&chart_key(chart)).await?;
            self.inner.hub.delete_chart(chart).await?;
        }
        let links = self.links(id).await?;
        for link in &links {
            self.inner
                .meta
                .remove(&access::token_key(&link.hash))
                .await?;
        }
        self.delete_votes(id).await?;
        // Before the agenda goes: if the other nodes cannot be told, the
        // conference is still there to delete (and announce) again.
        self.announce(Effect::Deleted {
            conference_id: id.to_owned(),
            charts: charts.iter().cloned().collect(),
        })
        .await?;
        self.inner.meta.remove(&conf_key(id)).await?;
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
