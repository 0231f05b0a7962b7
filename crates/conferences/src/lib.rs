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
//! | `webhook/{id}/{wid}` | [`webhooks::Endpoint`]: URL, secret, event types   |
//! | `version/…`, `vstate/…`, `vround/…` | chart versions ([`history`])         |
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

pub mod activity;
pub mod backup;
mod charts;
pub mod dashboard;
pub mod history;
mod links;
pub mod news;
pub mod proceedings;
pub mod report;
pub mod retention;
mod sessions;
pub mod tokens;
pub mod votes;
pub mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use easel_agenda::{AgendaError, Conference};
use easel_hub::{Hub, HubError};
use easel_store::meta::{MetaError, MetaLock, MetaStore};
use easel_store::Store;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::tokens::{self as access, Minted, Role};

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
    /// Session id → SHA-256 (hex) of the key its poster was given when
    /// posting: how the server knows it is them when they rename or
    /// withdraw their topic (no accounts; the key lives in their browser).
    /// Never served.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub posters: std::collections::BTreeMap<String, String>,
    /// Session id → when it was last made final: the time of its report on
    /// the news wall and in the Atom feed. Reopening removes it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub finalized: std::collections::BTreeMap<String, Timestamp>,
    /// Report template, attribution, circle charts, continuations
    /// (`report.rs`).
    #[serde(default)]
    pub report: report::ReportSettings,
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
    /// Votes or the convergence settings changed (`votes.rs`).
    Votes { version: u64 },
    /// The convergence phase closed (by hand or at its set time); sent
    /// once per close, on every node. `tallies` are the final counts
    /// ([`votes::Tallies`] as JSON).
    ConvergenceClosed {
        closed_at: String,
        tallies: serde_json::Value,
    },
}

/// What happened to any conference, on this node or (announced) on
/// another: what followers of every conference (the search index) act on.
#[derive(Debug, Clone)]
pub enum Notice {
    /// The agenda changed (a topic, a session added, cancelled, merged).
    Changed { conference_id: String },
    /// The conference and its charts are gone.
    Deleted {
        conference_id: String,
        charts: Vec<String>,
    },
    /// Another node saw these charts' documents change (it announces what
    /// its own change feed reported; see [`Conferences::announce_charts_edited`]).
    ChartsEdited { charts: Vec<String> },
}

/// How many notices a slow follower of [`Conferences::subscribe_notices`]
/// may be behind before it lags.
pub const NOTICE_CAPACITY: usize = 1024;

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
    /// Live streams send the vote counts again.
    Votes { conference_id: String, version: u64 },
    /// The convergence phase closed: live streams and listeners hear it.
    ConvergenceClosed {
        conference_id: String,
        closed_at: String,
        tallies: serde_json::Value,
    },
    /// The conference is gone: its charts close (4410) and unload.
    Deleted {
        conference_id: String,
        charts: Vec<String>,
    },
    /// These charts' documents changed (for the other nodes' search
    /// indexes; nothing else acts on it).
    ChartsEdited { charts: Vec<String> },
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
    #[error("webhook {0:?} not found")]
    WebhookNotFound(String),
    #[error(transparent)]
    Vote(#[from] votes::VoteError),
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
    /// The local store whose outbox holds webhook deliveries
    /// ([`webhooks`]); unset, no event is recorded.
    outbox: std::sync::OnceLock<Store>,
    /// Woken when deliveries were added to the outbox.
    outbox_wake: tokio::sync::Notify,
    /// When each chart was last seen changing (the dashboard's last edit).
    activity: activity::Activity,
    /// Settings of chart versions ([`history`]).
    history: std::sync::RwLock<history::HistoryConfig>,
    /// Round markers (`vround/…`) known to exist, so the round-end pass
    /// reads each from the store once per process, not every pass.
    round_marks: Mutex<std::collections::HashSet<String>>,
    /// Every conference's changes, for followers of all of them.
    notices: broadcast::Sender<Notice>,
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
        let conferences = Self::with_meta(Arc::new(store.clone()), hub);
        conferences.set_outbox(store);
        conferences
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
                outbox: std::sync::OnceLock::new(),
                outbox_wake: tokio::sync::Notify::new(),
                activity: activity::Activity::new(),
                history: Default::default(),
                round_marks: Default::default(),
                notices: broadcast::channel(NOTICE_CAPACITY).0,
            }),
        }
    }

    /// Sets the board limits every export applies (`--max-board-*`).
    pub fn set_board_limits(&self, limits: easel_chart::BoardLimits) {
        proceedings::set_board_limits(limits);
    }

    /// The board limits exports apply.
    pub fn board_limits(&self) -> easel_chart::BoardLimits {
        proceedings::board_limits()
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

    /// Changes of every conference, from this node and the others.
    pub fn subscribe_notices(&self) -> broadcast::Receiver<Notice> {
        self.inner.notices.subscribe()
    }

    /// Tells the other nodes of a cluster that these charts changed (a
    /// no-op on one node). Not applied here: the caller already knows.
    pub async fn announce_charts_edited(&self, charts: Vec<String>) -> Result<()> {
        if charts.is_empty() {
            return Ok(());
        }
        let bytes = to_json(&Effect::ChartsEdited { charts })?;
        self.inner.meta.announce(&bytes).await?;
        Ok(())
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
            } => {
                let _ = self.inner.notices.send(Notice::Changed {
                    conference_id: conference_id.clone(),
                });
                self.notify(
                    conference_id,
                    Event::Changed {
                        version: *version,
                        change: change.clone(),
                    },
                )
            }
            Effect::ChartsEdited { charts } => {
                if remote {
                    let _ = self.inner.notices.send(Notice::ChartsEdited {
                        charts: charts.clone(),
                    });
                }
            }
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
            Effect::Votes {
                conference_id,
                version,
            } => self.notify(conference_id, Event::Votes { version: *version }),
            Effect::ConvergenceClosed {
                conference_id,
                closed_at,
                tallies,
            } => self.notify(
                conference_id,
                Event::ConvergenceClosed {
                    closed_at: closed_at.clone(),
                    tallies: tallies.clone(),
                },
            ),
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
                let _ = self.inner.notices.send(Notice::Deleted {
                    conference_id: conference_id.clone(),
                    charts: charts.clone(),
                });
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

    /// Stores an edited conference, only over the version it was read as,
    /// with the webhook deliveries its agenda events make ([`webhooks`]).
    /// On one node the outbox entries go in the same atomic write as the
    /// conference, so a crash keeps both or neither. In a cluster the
    /// conference lives in Redis and the outbox in this node's store: they
    /// are written one after the other, and a crash between the two loses
    /// the events (docs/durability.md).
    async fn save(&self, stored: &StoredConference, read: &[u8]) -> Result<()> {
        let id = stored.conference.id();
        let bytes = to_json(stored)?;
        let outbox = match self.outbox() {
            Some(_) => self.agenda_outbox(read, stored).await?,
            None => Vec::new(),
        };
        let key = conf_key(id);
        let written = match (outbox.is_empty(), self.inner.meta.local_store()) {
            (true, _) => self.inner.meta.put_if(&key, Some(read), &bytes).await?,
            (false, Some(local)) => local
                .put_document_if_with_outbox(&key, Some(read), &bytes, &outbox)
                .await
                .map_err(MetaError::from)?,
            (false, None) => {
                let written = self.inner.meta.put_if(&key, Some(read), &bytes).await?;
                if written {
                    if let Some(local) = self.outbox() {
                        local.put_outbox(&outbox).await.map_err(MetaError::from)?;
                    }
                }
                written
            }
        };
        if written && !outbox.is_empty() {
            self.inner.outbox_wake.notify_one();
        }
        if !written {
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
            posters: Default::default(),
            finalized: Default::default(),
            report: Default::default(),
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
            posters: Default::default(),
            finalized: Default::default(),
            report: Default::default(),
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
