//! The indexer: follows the change feeds and keeps the index current, off
//! the data path.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use easel_conferences::{Conferences, Notice, StoredConference};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Transact, Update};

use crate::index::{Change, ChartRecord, Results, SearchIndex};
use crate::passages::chart_passages;
use crate::SearchError;

/// How the indexer behaves.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    /// How long after a chart's first unindexed change its passages are
    /// replaced: a burst of typing costs one read of the chart per window.
    pub debounce: Duration,
    /// Rebuild the whole index at start even if it was closed cleanly (a
    /// cluster node does: it heard nothing while it was down).
    pub rebuild_on_start: bool,
}

enum Command {
    Rebuild(oneshot::Sender<Result<usize, SearchError>>),
    Close(oneshot::Sender<()>),
}

/// The running search: the index and its indexer. Cheap to clone.
#[derive(Clone)]
pub struct Search {
    index: Arc<SearchIndex>,
    commands: mpsc::Sender<Command>,
}

impl Search {
    /// Opens (or creates) the index in `dir` and starts the indexer, which
    /// rebuilds the index first if it may be stale (new, or not closed
    /// cleanly, or `config.rebuild_on_start`). Searches are answered at
    /// once, from what the index holds.
    pub fn start(
        dir: &Path,
        conferences: Conferences,
        config: SearchConfig,
        shutdown: CancellationToken,
    ) -> Result<Search, SearchError> {
        let index = Arc::new(SearchIndex::open(dir)?);
        let (tx, rx) = mpsc::channel(8);
        let rebuild = index.needs_rebuild() || config.rebuild_on_start;
        let indexer = Indexer {
            changes: conferences.hub().subscribe_changes(),
            notices: conferences.subscribe_notices(),
            index: index.clone(),
            conferences,
            config,
            dirty: HashMap::new(),
            dirty_conferences: HashMap::new(),
            rebuild,
        };
        tokio::spawn(indexer.run(rx, shutdown));
        Ok(Search {
            index,
            commands: tx,
        })
    }

    /// The best `limit` passages of `conference_id` for `q`.
    pub async fn search(
        &self,
        conference_id: &str,
        q: &str,
        limit: usize,
    ) -> Result<Results, SearchError> {
        let index = self.index.clone();
        let (conference_id, q) = (conference_id.to_owned(), q.to_owned());
        tokio::task::spawn_blocking(move || index.search(&conference_id, &q, limit))
            .await
            .map_err(|e| SearchError::Task(e.to_string()))?
    }

    /// Rebuilds the whole index from the store now; returns the number of
    /// charts indexed.
    pub async fn rebuild(&self) -> Result<usize, SearchError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Rebuild(tx))
            .await
            .map_err(|_| SearchError::Stopped)?;
        rx.await.map_err(|_| SearchError::Stopped)?
    }

    /// Indexes what is pending, commits and marks the index closed cleanly.
    /// Call after the hub has stopped (its last edits are then pending).
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    pub fn index(&self) -> &Arc<SearchIndex> {
        &self.index
    }
}

/// One chart waiting to be indexed.
struct Dirty {
    due: Instant,
    /// Reported by this node's hub (so other nodes should hear of it).
    local: bool,
}

struct Indexer {
    index: Arc<SearchIndex>,
    conferences: Conferences,
    config: SearchConfig,
    changes: broadcast::Receiver<easel_hub::ChartChanged>,
    notices: broadcast::Receiver<Notice>,
    dirty: HashMap<String, Dirty>,
    dirty_conferences: HashMap<String, Instant>,
    rebuild: bool,
}

impl Indexer {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, shutdown: CancellationToken) {
        let mut stopping = false;
        loop {
            if self.rebuild {
                self.rebuild = false;
                match self.rebuild_now().await {
                    Ok(n) => tracing::info!(charts = n, "search index rebuilt"),
                    Err(e) => tracing::error!(error = %e, "search index rebuild failed"),
                }
            }
            let next = self
                .dirty
                .values()
                .map(|d| d.due)
                .chain(self.dirty_conferences.values().copied())
                .min();
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled(), if !stopping => {
                    // Keep indexing until Close: the hub's last batches
                    // are still being committed.
                    stopping = true;
                }
                command = commands.recv() => match command {
                    Some(Command::Rebuild(reply)) => {
                        self.dirty.clear();
                        self.dirty_conferences.clear();
                        let _ = reply.send(self.rebuild_now().await);
                    }
                    Some(Command::Close(reply)) => {
                        self.drain_feeds();
                        let far = Instant::now() + Duration::from_secs(3600);
                        let ok = self.flush(far).await;
                        match (ok, self.index.close()) {
                            (true, Ok(())) => {}
                            (_, Err(e)) => tracing::warn!(error = %e, "search index not closed cleanly; it is rebuilt at the next start"),
                            (false, _) => tracing::warn!("search index lacks some changes; it is rebuilt at the next start"),
                        }
                        let _ = reply.send(());
                        return;
                    }
                    None => return,
                },
                changed = self.changes.recv() => match changed {
                    Ok(c) => self.mark(&c.chart_id, true),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "search indexer fell behind the change feed; rebuilding");
                        self.rebuild = true;
                    }
                    Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                },
                notice = self.notices.recv() => match notice {
                    Ok(n) => self.notice(n),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "search indexer fell behind the conference notices; rebuilding");
                        self.rebuild = true;
                    }
                    Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                },
                _ = sleep => {
                    self.flush(Instant::now()).await;
                }
            }
        }
    }

    /// Takes whatever the feeds hold right now (at close).
    fn drain_feeds(&mut self) {
        while let Ok(c) = self.changes.try_recv() {
            self.mark(&c.chart_id, true);
        }
        while let Ok(n) = self.notices.try_recv() {
            self.notice(n);
        }
    }

    fn mark(&mut self, chart_id: &str, local: bool) {
        let due = Instant::now() + self.config.debounce;
        self.dirty
            .entry(chart_id.to_owned())
            .and_modify(|d| d.local |= local)
            .or_insert(Dirty { due, local });
    }

    fn notice(&mut self, notice: Notice) {
        match notice {
            Notice::Changed { conference_id } => {
                let due = Instant::now() + self.config.debounce;
                self.dirty_conferences.entry(conference_id).or_insert(due);
            }
            // Not debounced: the conference is gone now, and so must its
            // passages be.
            Notice::Deleted { conference_id, .. } => {
                self.dirty_conferences.insert(conference_id, Instant::now());
            }
            Notice::ChartsEdited { charts } => {
                for chart in charts {
                    self.mark(&chart, false);
                }
            }
        }
    }

    /// Indexes every chart and conference due by `now`. False if something
    /// could not be indexed (it is logged, and a clean close is refused so
    /// the next start rebuilds).
    async fn flush(&mut self, now: Instant) -> bool {
        let due_confs: Vec<String> = self
            .dirty_conferences
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        let due: Vec<String> = self
            .dirty
            .iter()
            .filter(|(_, d)| d.due <= now)
            .map(|(id, _)| id.clone())
            .collect();
        let mut ok = true;
        let mut changes = Vec::new();
        let mut conferences: HashMap<String, Option<Arc<StoredConference>>> = HashMap::new();
        let mut charts: Vec<String> = Vec::new();
        let mut announce = Vec::new();
        for id in due {
            if let Some(d) = self.dirty.remove(&id) {
                if d.local {
                    announce.push(id.clone());
                }
                charts.push(id);
            }
        }
        for conf in due_confs {
            self.dirty_conferences.remove(&conf);
            match self.reconcile(&conf, &mut conferences, &mut changes).await {
                Ok(stale) => charts.extend(stale),
                Err(e) => {
                    ok = false;
                    tracing::warn!(conference_id = %conf, error = %e, "conference not reindexed");
                }
            }
        }
        charts.sort();
        charts.dedup();
        for chart in charts {
            match self.chart_change(&chart, &mut conferences).await {
                Ok(change) => changes.push(change),
                Err(e) => {
                    ok = false;
                    tracing::warn!(chart_id = %chart, error = %e, "chart not reindexed");
                }
            }
        }
        if !changes.is_empty() {
            let index = self.index.clone();
            let applied = tokio::task::spawn_blocking(move || index.apply(&changes))
                .await
                .map_err(|e| SearchError::Task(e.to_string()))
                .and_then(|r| r);
            if let Err(e) = applied {
                ok = false;
                tracing::error!(error = %e, "search index not updated");
            }
        }
        if let Err(e) = self.conferences.announce_charts_edited(announce).await {
            tracing::warn!(error = %e, "chart edits not announced to the other nodes' search");
        }
        ok
    }

    async fn conference(
        &self,
        id: &str,
        cache: &mut HashMap<String, Option<Arc<StoredConference>>>,
    ) -> Result<Option<Arc<StoredConference>>, SearchError> {
        if let Some(c) = cache.get(id) {
            return Ok(c.clone());
        }
        let loaded = match self.conferences.load(id).await {
            Ok(c) => Some(Arc::new(c)),
            Err(easel_conferences::Error::ConferenceNotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        cache.insert(id.to_owned(), loaded.clone());
        Ok(loaded)
    }

    /// Compares a conference's agenda with what the index holds of it:
    /// charts whose session is gone are removed (into `changes`), charts
    /// whose topic changed or that are missing are returned for indexing.
    async fn reconcile(
        &self,
        id: &str,
        cache: &mut HashMap<String, Option<Arc<StoredConference>>>,
        changes: &mut Vec<Change>,
    ) -> Result<Vec<String>, SearchError> {
        let Some(stored) = self.conference(id, cache).await? else {
            changes.push(Change::RemoveConference(id.to_owned()));
            return Ok(Vec::new());
        };
        let index = self.index.clone();
        let conf = id.to_owned();
        let indexed = tokio::task::spawn_blocking(move || index.indexed_charts(&conf))
            .await
            .map_err(|e| SearchError::Task(e.to_string()))??;
        let mut stale = Vec::new();
        let sessions = stored.conference.sessions();
        for s in sessions {
            let current = indexed.iter().any(|(chart, session, topic)| {
                *chart == s.chart_id && *session == s.id && *topic == s.topic
            });
            if !current {
                stale.push(s.chart_id.clone());
            }
        }
        for (chart, _, _) in indexed {
            if !sessions.iter().any(|s| s.chart_id == chart) {
                changes.push(Change::RemoveChart(chart));
            }
        }
        Ok(stale)
    }

    /// What the index should hold of `chart_id` now.
    async fn chart_change(
        &self,
        chart_id: &str,
        cache: &mut HashMap<String, Option<Arc<StoredConference>>>,
    ) -> Result<Change, SearchError> {
        let gone = || Ok(Change::RemoveChart(chart_id.to_owned()));
        let Some(entry) = self.conferences.chart_entry(chart_id).await? else {
            return gone();
        };
        let Some(stored) = self.conference(&entry.conference_id, cache).await? else {
            return gone();
        };
        let Some(session) = stored
            .conference
            .sessions()
            .iter()
            .find(|s| s.chart_id == chart_id)
        else {
            return gone();
        };
        let record = read_record(
            &self.conferences,
            &entry.conference_id,
            &session.id,
            &session.topic,
            chart_id,
        )
        .await?;
        Ok(Change::Chart(record))
    }

    async fn rebuild_now(&self) -> Result<usize, SearchError> {
        let records = all_records(&self.conferences).await?;
        let n = records.len();
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || index.replace_all(&records))
            .await
            .map_err(|e| SearchError::Task(e.to_string()))??;
        Ok(n)
    }
}

/// A chart's passages as they are now (from its actor if loaded, else the
/// store or the shared log).
async fn read_record(
    conferences: &Conferences,
    conference_id: &str,
    session_id: &str,
    topic: &str,
    chart_id: &str,
) -> Result<ChartRecord, SearchError> {
    let state = conferences
        .hub()
        .chart_state(chart_id)
        .await
        .map_err(easel_conferences::Error::from)?;
    let passages = tokio::task::spawn_blocking(move || {
        let doc = Doc::new();
        let update = Update::decode_v1(&state).map_err(|e| e.to_string())?;
        doc.transact_mut()
            .apply_update(update)
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(chart_passages(&doc))
    })
    .await
    .map_err(|e| SearchError::Task(e.to_string()))?
    .map_err(|e| {
        SearchError::Source(easel_conferences::Error::Corrupt(format!(
            "chart {chart_id}: {e}"
        )))
    })?;
    Ok(ChartRecord {
        conference_id: conference_id.to_owned(),
        chart_id: chart_id.to_owned(),
        session_id: session_id.to_owned(),
        topic: topic.to_owned(),
        passages,
    })
}

/// Every session chart of every conference, read from the store.
pub async fn all_records(conferences: &Conferences) -> Result<Vec<ChartRecord>, SearchError> {
    let mut out = Vec::new();
    for id in conferences.list_ids().await? {
        let stored = match conferences.load(&id).await {
            Ok(s) => s,
            Err(easel_conferences::Error::ConferenceNotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        for s in stored.conference.sessions() {
            out.push(read_record(conferences, &id, &s.id, &s.topic, &s.chart_id).await?);
        }
    }
    Ok(out)
}
