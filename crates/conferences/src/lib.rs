//! Conferences, their tokens and their charts, persisted as metadata
//! documents (a [`MetaStore`]: the local sled store, or Redis in a cluster),
//! with one writer at a time per conference.
//!
//! Document layout (all JSON):
//!
//! | key                  | value                                              |
//! |----------------------|----------------------------------------------------|
//! | `conf/{id}`          | [`StoredConference`]: the agenda plus server flags |
//! | `token/{sha256-hex}` | [`TokenRecord`]: conference, role, label, revoked  |
//! | `chart/{chart_id}`   | [`ChartEntry`]: which conference and session       |
//!
//! Why a lock per conference: an edit is load → validate on the agenda →
//! store. Two concurrent edits (two people posting into the marketplace at
//! the same second) must not both start from the same version and lose one
//! another, so edits of one conference are serialized: by a tokio mutex
//! among this process's requests, and by the metadata store's lock among
//! the nodes of a cluster ([`MetaStore::lock`]; a no-op on one node). Edits
//! of different conferences run in parallel. The conference document is
//! written with a conditional write against the version read under the
//! lock, so a holder that lost its cluster lock fails instead of
//! overwriting a newer agenda ([`Error::Conflict`]).
//!
//! Every committed change bumps the conference's `version` and is announced
//! on the conference's broadcast channel, which feeds the live agenda
//! (server-sent events, see `api::events`). What other nodes must act on
//! (a change, a revocation, a chart turning read-only, a deletion) is also
//! an `Effect` announced through the metadata store; each node applies
//! the others' effects to its own hub and channels ([`Conferences::follow_cluster`]).

pub mod backup;
pub mod proceedings;
pub mod retention;
pub mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use easel_agenda::{AgendaError, Conference, MergeOutcome, Session, SessionState};
use easel_hub::{Access, Hub, HubError};
use easel_store::meta::{MetaError, MetaLock, MetaStore};
use easel_store::Store;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::tokens::{self as access, Minted, Role, TokenRecord};

/// A conference as stored: the agenda and what only the server knows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredConference {
    /// Bumped on every committed change; clients use it to order events.
    pub version: u64,
    pub created: Timestamp,
    /// Whether finished proceedings may be read by anyone without a token.
    #[serde(default)]
    pub proceedings_public: bool,
    /// When `proceedings_public` last turned on: the clock of automatic
    /// deletion (`--delete-published-after`). Cleared when unpublished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proceedings_published_at: Option<Timestamp>,
    pub conference: Conference,
}

impl StoredConference {
    /// Publishes or unpublishes the proceedings; publishing (again) restarts
    /// the retention clock at `now`.
    pub fn set_proceedings_public(&mut self, public: bool, now: Timestamp) {
        if public && !self.proceedings_public {
            self.proceedings_published_at = Some(now);
        } else if !public {
            self.proceedings_published_at = None;
        }
        self.proceedings_public = public;
    }

    /// Whether retention deletes this conference at `now`: its proceedings
    /// have been public for at least `after`.
    pub fn retention_due(&self, after: jiff::SignedDuration, now: Timestamp) -> bool {
        self.proceedings_public
            && self
                .proceedings_published_at
                .is_some_and(|at| at.saturating_add(after).is_ok_and(|due| due <= now))
    }
}

/// What deleting a conference removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Deleted {
    pub charts: usize,
    pub links: usize,
}

/// Which conference and session a chart belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChartEntry {
    pub conference_id: String,
    pub session_id: String,
    /// Set when the session was merged into another; this chart is then
    /// read-only and its content lives on in the named chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
}

/// What the live agenda channel carries.
#[derive(Debug, Clone)]
pub enum Event {
    /// The agenda changed; `change` names what happened, e.g.
    /// `session_proposed`.
    Changed { version: u64, change: String },
    /// A token was revoked; streams opened with it end.
    Revoked { token_id: String },
}

/// What other nodes of a cluster must do after a change here: each node
/// applies its own effects directly and the others' when announced.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Effect {
    /// Live agenda streams send the agenda again.
    Changed {
        conference_id: String,
        version: u64,
        change: String,
    },
    /// Connections and streams opened with the token close (4401).
    Revoked {
        conference_id: String,
        token_id: String,
    },
    /// Open connections of the chart turn read-only (or writable again).
    ReadOnly { chart_id: String, read_only: bool },
    /// The conference is gone: its charts close (4410) and unload.
    Deleted {
        conference_id: String,
        charts: Vec<String>,
    },
}

/// Errors of conference operations; `api::error` maps each to an HTTP
/// status and a machine code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Agenda(#[from] AgendaError),
    #[error("conference {0:?} not found")]
    ConferenceNotFound(String),
    #[error("link {0:?} not found")]
    LinkNotFound(String),
    #[error("storage: {0}")]
    Meta(#[from] MetaError),
    #[error("chart: {0}")]
    Hub(#[from] HubError),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The conference changed under an edit that should have excluded
    /// other writers (its cluster lock expired): nothing was written.
    #[error("conference {0:?} was changed concurrently; try again")]
    Conflict(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a WebSocket may not open a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartDenied {
    /// The chart is not one of the token's conference (or does not exist:
    /// the two are not told apart, so a token cannot probe other
    /// conferences).
    Forbidden,
}

/// The conference service. Cheap to clone.
#[derive(Clone)]
pub struct Conferences {
    inner: Arc<Inner>,
}

struct Inner {
    meta: Arc<dyn MetaStore>,
    hub: Hub,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    channels: Mutex<HashMap<String, broadcast::Sender<Event>>>,
    /// Conferences as last parsed, with the bytes they were parsed from
    /// (see [`Conferences::load_shared`]).
    parsed: Mutex<HashMap<String, Parsed>>,
}

/// A conference's stored bytes and what they parse to.
type Parsed = (Vec<u8>, Arc<StoredConference>);

fn parse_conference(id: &str, bytes: &[u8]) -> Result<StoredConference> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("conference {id}: {e}")))
}

/// Conferences kept parsed for connects; past this the cache starts over.
const PARSED_CACHE: usize = 256;

/// Held while one conference is edited; dropping it lets the next edit in.
pub struct EditGuard {
    /// Excludes the other nodes of a cluster (a no-op on one node).
    _cluster: MetaLock,
    /// Queues this process's edits of the conference.
    _local: tokio::sync::OwnedMutexGuard<()>,
}

fn conf_key(id: &str) -> String {
    format!("conf/{id}")
}

fn chart_key(id: &str) -> String {
    format!("chart/{id}")
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Corrupt(e.to_string()))
}

impl Conferences {
    /// One node: documents in the local store.
    pub fn new(store: Store, hub: Hub) -> Conferences {
        Self::with_meta(Arc::new(store), hub)
    }

    /// Documents in `meta` (Redis, for a cluster node).
    pub fn with_meta(meta: Arc<dyn MetaStore>, hub: Hub) -> Conferences {
        Conferences {
            inner: Arc::new(Inner {
                meta,
                hub,
                locks: Mutex::new(HashMap::new()),
                channels: Mutex::new(HashMap::new()),
                parsed: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// Where the documents live (backups read all of them).
    pub fn meta(&self) -> &Arc<dyn MetaStore> {
        &self.inner.meta
    }

    fn lock_for(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(id.to_owned()).or_default().clone()
    }

    /// Excludes every other edit of conference `id`, on this node and on
    /// the others.
    async fn guard(&self, id: &str) -> Result<EditGuard> {
        let local = self.lock_for(id).lock_owned().await;
        let cluster = self.inner.meta.lock(&conf_key(id)).await?;
        Ok(EditGuard {
            _cluster: cluster,
            _local: local,
        })
    }

    fn sender(&self, id: &str) -> broadcast::Sender<Event> {
        let mut channels = self
            .inner
            .channels
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        channels
            .entry(id.to_owned())
            .or_insert_with(|| broadcast::channel(64).0)
            .clone()
    }

    /// Live agenda events of one conference.
    pub fn subscribe(&self, id: &str) -> broadcast::Receiver<Event> {
        self.sender(id).subscribe()
    }

    /// Tells the conference's live streams, if it has any: a channel is
    /// made by the first subscriber, not by every conference a cluster's
    /// other nodes announce.
    fn notify(&self, id: &str, event: Event) {
        let channels = self
            .inner
            .channels
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = channels.get(id) {
            let _ = tx.send(event);
        }
    }

    /// Applies `effect` here, then announces it to the other nodes. An
    /// error means the other nodes may not know yet (the change itself is
    /// stored): callers of effects that guard access return it, so the
    /// organizer retries.
    async fn announce(&self, effect: Effect) -> Result<()> {
        self.apply(&effect, false).await;
        let bytes = to_json(&effect)?;
        self.inner.meta.announce(&bytes).await?;
        Ok(())
    }

    /// An agenda change: other nodes' live streams only refresh, so a
    /// failed announcement is logged, not returned (the edit is stored).
    async fn announce_change(&self, conference_id: &str, version: u64, change: &str) {
        let effect = Effect::Changed {
            conference_id: conference_id.to_owned(),
            version,
            change: change.to_owned(),
        };
        if let Err(e) = self.announce(effect).await {
            tracing::warn!(conference_id, error = %e, "agenda change not announced to other nodes");
        }
    }

    async fn apply(&self, effect: &Effect, remote: bool) {
        let hub = &self.inner.hub;
        match effect {
            Effect::Changed {
                conference_id,
                version,
                change,
            } => self.notify(
                conference_id,
                Event::Changed {
                    version: *version,
                    change: change.clone(),
                },
            ),
            Effect::Revoked {
                conference_id,
                token_id,
            } => {
                hub.revoke(token_id).await;
                self.notify(
                    conference_id,
                    Event::Revoked {
                        token_id: token_id.clone(),
                    },
                );
            }
            Effect::ReadOnly {
                chart_id,
                read_only,
            } => hub.set_read_only(chart_id, *read_only).await,
            Effect::Deleted {
                conference_id,
                charts,
            } => {
                if remote {
                    // The deleting node removed the data; this closes and
                    // unloads the chart here, and removes again whatever a
                    // client of this node appended meanwhile.
                    for chart in charts {
                        if let Err(e) = hub.delete_chart(chart).await {
                            tracing::warn!(chart_id = %chart, error = %e, "deleted chart not closed here");
                        }
                    }
                }
                // Dropping the channel ends the conference's event
                // streams. A waiter still holding the lock finds the
                // conference gone.
                self.inner
                    .channels
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(conference_id);
                self.inner
                    .locks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(conference_id);
            }
        }
    }

    /// Applies the other nodes' announcements until `shutdown` (a no-op on
    /// one node, where nobody else announces).
    pub fn follow_cluster(&self, shutdown: CancellationToken) {
        let Some(mut announcements) = self.inner.meta.announcements() else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                let bytes = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    next = announcements.recv() => match next {
                        Some(bytes) => bytes,
                        None => return,
                    },
                };
                match serde_json::from_slice::<Effect>(&bytes) {
                    Ok(effect) => {
                        tracing::debug!(?effect, "applying another node's change");
                        this.apply(&effect, true).await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "unreadable announcement from another node; skipped")
                    }
                }
            }
        });
    }

    /// Ids of all stored conferences.
    pub async fn list_ids(&self) -> Result<Vec<String>> {
        Ok(self
            .inner
            .meta
            .scan("conf/")
            .await?
            .into_iter()
            .map(|(k, _)| k.trim_start_matches("conf/").to_owned())
            .collect())
    }

    pub async fn load(&self, id: &str) -> Result<StoredConference> {
        Ok(self.load_raw(id).await?.0)
    }

    /// The conference, read-only, for hot paths: every WebSocket connect
    /// checks its session's state, and parsing a conference of hundreds of
    /// sessions is most of a connect's cost in a join storm. The stored
    /// bytes are still read every time, so a change made by any node is
    /// seen at once; only the parse is skipped while they are unchanged.
    async fn load_shared(&self, id: &str) -> Result<Arc<StoredConference>> {
        let bytes = self.read_conference(id).await?;
        let cache = || self.inner.parsed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((raw, parsed)) = cache().get(id) {
            if *raw == bytes {
                return Ok(parsed.clone());
            }
        }
        let stored = Arc::new(parse_conference(id, &bytes)?);
        let mut cache = cache();
        if cache.len() >= PARSED_CACHE {
            cache.clear();
        }
        cache.insert(id.to_owned(), (bytes, stored.clone()));
        Ok(stored)
    }

    /// The conference and its stored bytes (what a conditional save
    /// compares against).
    async fn load_raw(&self, id: &str) -> Result<(StoredConference, Vec<u8>)> {
        let bytes = self.read_conference(id).await?;
        Ok((parse_conference(id, &bytes)?, bytes))
    }

    /// A conference's stored bytes.
    async fn read_conference(&self, id: &str) -> Result<Vec<u8>> {
        self.inner
            .meta
            .get(&conf_key(id))
            .await?
            .ok_or_else(|| Error::ConferenceNotFound(id.to_owned()))
    }

    /// Stores an edited conference, only over the version it was read as.
    async fn save(&self, stored: &StoredConference, read: &[u8]) -> Result<()> {
        let id = stored.conference.id();
        let bytes = to_json(stored)?;
        if !self
            .inner
            .meta
            .put_if(&conf_key(id), Some(read), &bytes)
            .await?
        {
            tracing::warn!(
                conference_id = id,
                "conference changed under a held lock; edit refused"
            );
            return Err(Error::Conflict(id.to_owned()));
        }
        Ok(())
    }

    /// Create a conference and its organizer token (returned once).
    pub async fn create(&self, conference: Conference) -> Result<(StoredConference, Minted)> {
        let stored = StoredConference {
            version: 1,
            created: Timestamp::now(),
            proceedings_public: false,
            proceedings_published_at: None,
            conference,
        };
        let id = stored.conference.id().to_owned();
        let _guard = self.guard(&id).await?;
        let in_use = || AgendaError::InvalidInput {
            field: "conference_id",
            reason: "already in use".into(),
        };
        if self.inner.meta.get(&conf_key(&id)).await?.is_some() {
            return Err(in_use().into());
        }
        // Token first: a conference without its organizer token would be
        // unreachable, a token without its conference is harmless.
        let minted = access::mint(&id, Role::Organizer, "organizer");
        self.put_token(&minted.record).await?;
        if !self
            .inner
            .meta
            .put_if(&conf_key(&id), None, &to_json(&stored)?)
            .await?
        {
            return Err(in_use().into());
        }
        Ok((stored, minted))
    }

    /// Apply a synchronous edit atomically: load, edit a copy, store, bump
    /// the version and announce `change`. On error nothing is stored.
    pub async fn mutate<T>(
        &self,
        id: &str,
        change: &str,
        edit: impl FnOnce(&mut StoredConference) -> Result<T>,
    ) -> Result<(T, StoredConference)> {
        let _guard = self.guard(id).await?;
        let (mut stored, read) = self.load_raw(id).await?;
        let out = edit(&mut stored)?;
        stored.version += 1;
        self.save(&stored, &read).await?;
        self.announce_change(id, stored.version, change).await;
        Ok((out, stored))
    }

    /// Post a topic into a free cell, with a new chart seeded once with the
    /// report template. Nothing is visible unless every step succeeded.
    pub async fn propose_session(
        &self,
        conference_id: &str,
        topic: &str,
        convener: &str,
        round_id: &str,
        space_id: &str,
    ) -> Result<(Session, StoredConference)> {
        let _guard = self.guard(conference_id).await?;
        let (mut stored, read) = self.load_raw(conference_id).await?;
        let session_id = access::new_id("s-");
        let chart_id = access::new_id("c-");
        let session = stored.conference.propose_session(
            &session_id,
            &chart_id,
            topic,
            convener,
            round_id,
            space_id,
        )?;
        let entry = ChartEntry {
            conference_id: conference_id.to_owned(),
            session_id: session_id.clone(),
            merged_into: None,
        };
        self.inner
            .meta
            .put(&chart_key(&chart_id), &to_json(&entry)?)
            .await?;
        // Deterministic update with a fixed client id: seeding twice (a
        // retry, a restart) never duplicates the template.
        self.inner
            .hub
            .apply_server_update(&chart_id, easel_chart::template_update())
            .await?;
        stored.version += 1;
        self.save(&stored, &read).await?;
        self.announce_change(conference_id, stored.version, "session_proposed")
            .await;
        Ok((session, stored))
    }

    /// Organizer edit of one session, atomically: rename, move (both
    /// `round_id` and `space_id`), change state. Finalizing makes its chart
    /// read-only for open and future connections, on every node; `live` on
    /// a final session reopens it (the other changes then apply after
    /// reopening).
    pub async fn update_session(
        &self,
        conference_id: &str,
        session_id: &str,
        topic: Option<&str>,
        cell: Option<(&str, &str)>,
        state: Option<SessionState>,
    ) -> Result<(Session, StoredConference)> {
        let (session, stored) = self
            .mutate(conference_id, "session_updated", |s| {
                let c = &mut s.conference;
                let mut session = c.session(session_id)?.clone();
                if session.state == SessionState::Final && state == Some(SessionState::Live) {
                    session = c.reopen_session(session_id)?;
                }
                if let Some(topic) = topic {
                    session = c.rename_session(session_id, topic)?;
                }
                if let Some((round, space)) = cell {
                    session = c.move_session(session_id, round, space)?;
                }
                if let Some(to) = state {
                    session = c.set_state(session_id, to)?;
                }
                Ok(session)
            })
            .await?;
        self.announce(Effect::ReadOnly {
            chart_id: session.chart_id.clone(),
            read_only: session.state == SessionState::Final,
        })
        .await?;
        Ok((session, stored))
    }

    /// Remove a session from the agenda; its chart is kept, read-only.
    pub async fn cancel_session(
        &self,
        conference_id: &str,
        session_id: &str,
    ) -> Result<(Session, StoredConference)> {
        let (session, stored) = self
            .mutate(conference_id, "session_cancelled", |s| {
                Ok(s.conference.cancel_session(session_id)?)
            })
            .await?;
        self.announce(Effect::ReadOnly {
            chart_id: session.chart_id.clone(),
            read_only: true,
        })
        .await?;
        Ok((session, stored))
    }

    /// Merge `absorb` into `keep`: the absorbed chart's content is merged
    /// into the kept chart (Yjs merge; the shared template items are the
    /// same items, so they are not duplicated) and the absorbed chart
    /// becomes read-only.
    pub async fn merge_sessions(
        &self,
        conference_id: &str,
        keep: &str,
        absorb: &str,
    ) -> Result<(MergeOutcome, StoredConference)> {
        let _guard = self.guard(conference_id).await?;
        let (mut stored, read) = self.load_raw(conference_id).await?;
        let outcome = stored.conference.merge_sessions(keep, absorb)?;
        let hub = &self.inner.hub;
        let absorbed_state = hub.chart_state(&outcome.absorbed.chart_id).await?;
        hub.apply_server_update(&outcome.kept.chart_id, absorbed_state)
            .await?;
        let entry = ChartEntry {
            conference_id: conference_id.to_owned(),
            session_id: outcome.kept.id.clone(),
            merged_into: Some(outcome.kept.chart_id.clone()),
        };
        self.inner
            .meta
            .put(&chart_key(&outcome.absorbed.chart_id), &to_json(&entry)?)
            .await?;
        stored.version += 1;
        self.save(&stored, &read).await?;
        self.announce(Effect::ReadOnly {
            chart_id: outcome.absorbed.chart_id.clone(),
            read_only: true,
        })
        .await?;
        self.announce_change(conference_id, stored.version, "sessions_merged")
            .await;
        Ok((outcome, stored))
    }

    // ----- retention -----------------------------------------------------------

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

    /// Holds every conference's edit lock, so that a backup sees each
    /// agenda, its chart index and its charts at one moment: no session can
    /// be proposed, merged or deleted while the guards live (on any node of
    /// a cluster). Chart edits go on (they do not take these locks).
    pub async fn lock_all(&self) -> Result<Vec<EditGuard>> {
        let mut guards = Vec::new();
        for id in self.list_ids().await? {
            guards.push(self.guard(&id).await?);
        }
        Ok(guards)
    }

    // ----- tokens ------------------------------------------------------------

    async fn put_token(&self, record: &TokenRecord) -> Result<()> {
        self.inner
            .meta
            .put(&access::token_key(&record.hash), &to_json(record)?)
            .await?;
        Ok(())
    }

    /// Mint a capability link for a conference. Under the conference's
    /// lock, so a deletion cannot miss it.
    pub async fn mint_link(&self, conference_id: &str, role: Role, label: &str) -> Result<Minted> {
        let _guard = self.guard(conference_id).await?;
        self.load(conference_id).await?;
        let minted = access::mint(conference_id, role, label);
        self.put_token(&minted.record).await?;
        Ok(minted)
    }

    /// All tokens of a conference (revoked ones included), oldest first.
    pub async fn links(&self, conference_id: &str) -> Result<Vec<TokenRecord>> {
        let mut out: Vec<TokenRecord> = self
            .inner
            .meta
            .scan("token/")
            .await?
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice::<TokenRecord>(&v).ok())
            .filter(|t| t.conference_id == conference_id)
            .collect();
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Revoke a token by its public id: later requests with it fail and its
    /// open WebSockets are closed with 4401 on every node, its event
    /// streams end. Revoking again announces again (a retry after an
    /// announcement failed).
    pub async fn revoke(&self, conference_id: &str, token_id: &str) -> Result<TokenRecord> {
        let _guard = self.guard(conference_id).await?;
        let mut record = self
            .links(conference_id)
            .await?
            .into_iter()
            .find(|t| t.id == token_id)
            .ok_or_else(|| Error::LinkNotFound(token_id.to_owned()))?;
        if record.revoked.is_none() {
            record.revoked = Some(Timestamp::now());
            self.put_token(&record).await?;
        }
        self.announce(Effect::Revoked {
            conference_id: conference_id.to_owned(),
            token_id: record.id.clone(),
        })
        .await?;
        Ok(record)
    }

    /// The token record stored under `hash`, if any.
    async fn token(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let Some(bytes) = self.inner.meta.get(&access::token_key(hash)).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt(format!("token: {e}")))
    }

    /// The valid (known, unrevoked) token for a presented secret.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<TokenRecord>> {
        let hash = access::hash_token(secret);
        let Some(record) = self.token(&hash).await? else {
            return Ok(None);
        };
        if !access::hash_matches(&record, &hash) || record.revoked.is_some() {
            return Ok(None);
        }
        Ok(Some(record))
    }

    /// Whether a token id is still valid (for long-lived streams).
    pub async fn token_valid(&self, record: &TokenRecord) -> bool {
        matches!(self.token(&record.hash).await, Ok(Some(r)) if r.revoked.is_none())
    }

    // ----- charts ------------------------------------------------------------

    pub async fn chart_entry(&self, chart_id: &str) -> Result<Option<ChartEntry>> {
        match self.inner.meta.get(&chart_key(chart_id)).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Corrupt(format!("chart {chart_id}: {e}"))),
        }
    }

    /// Ids of every chart in the chart index.
    pub async fn indexed_charts(&self) -> Result<Vec<String>> {
        Ok(self
            .inner
            .meta
            .scan("chart/")
            .await?
            .into_iter()
            .map(|(k, _)| k.trim_start_matches("chart/").to_owned())
            .collect())
    }

    /// What a token may do on a chart: its role's access, but read-only
    /// when the session is final, cancelled or merged away.
    pub async fn chart_access(
        &self,
        token: &TokenRecord,
        chart_id: &str,
    ) -> Result<std::result::Result<Access, ChartDenied>> {
        let Some(entry) = self.chart_entry(chart_id).await? else {
            return Ok(Err(ChartDenied::Forbidden));
        };
        if entry.conference_id != token.conference_id {
            return Ok(Err(ChartDenied::Forbidden));
        }
        if token.role == Role::Read || entry.merged_into.is_some() {
            return Ok(Ok(Access::Read));
        }
        let stored = self.load_shared(&entry.conference_id).await?;
        let writable = stored
            .conference
            .sessions()
            .iter()
            .any(|s| s.chart_id == chart_id && s.state != SessionState::Final);
        Ok(Ok(if writable { Access::Edit } else { Access::Read }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn conference() -> StoredConference {
        let date = jiff::civil::date(2030, 1, 1);
        StoredConference {
            version: 1,
            created: Timestamp::UNIX_EPOCH,
            proceedings_public: false,
            proceedings_published_at: None,
            conference: Conference::new("conf-x", "X", "UTC", date, date).unwrap(),
        }
    }

    /// Retention on a simulated clock: due exactly `after` past publication,
    /// never while unpublished, and republishing restarts the clock.
    #[test]
    fn retention_clock() {
        let day = SignedDuration::from_hours(24);
        let t0: Timestamp = "2030-01-02T10:00:00Z".parse().unwrap();
        let at = |days: i64| t0.checked_add(day * days as i32).unwrap();
        let mut c = conference();
        assert!(!c.retention_due(day * 30, at(1000)), "never published");
        c.set_proceedings_public(true, t0);
        assert_eq!(c.proceedings_published_at, Some(t0));
        assert!(!c.retention_due(day * 30, at(29)));
        assert!(c.retention_due(day * 30, at(30)));
        // Publishing again while public keeps the original clock.
        c.set_proceedings_public(true, at(10));
        assert_eq!(c.proceedings_published_at, Some(t0));
        // Unpublishing stops it; republishing starts it afresh.
        c.set_proceedings_public(false, at(20));
        assert!(!c.retention_due(day * 30, at(100)));
        c.set_proceedings_public(true, at(100));
        assert!(!c.retention_due(day * 30, at(129)));
        assert!(c.retention_due(day * 30, at(130)));
        // A delay too long to add to the date is never due, not a panic.
        assert!(!c.retention_due(SignedDuration::MAX, at(100_000)));
    }
}
