//! Conferences, their tokens and their charts, persisted as metadata
//! documents in the store, with one writer at a time per conference.
//!
//! Store layout (all JSON):
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
//! another, so edits of one conference are serialized by a tokio mutex;
//! edits of different conferences run in parallel.
//!
//! Every committed change bumps the conference's `version` and is announced
//! on the conference's broadcast channel, which feeds the live agenda
//! (server-sent events, see `api::events`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use easel_agenda::{AgendaError, Conference, MergeOutcome, Session, SessionState};
use easel_hub::{Access, Hub, HubError};
use easel_store::{Store, StoreError};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::access::{self, Minted, Role, TokenRecord};

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
    Store(#[from] StoreError),
    #[error("chart: {0}")]
    Hub(#[from] HubError),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
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
    store: Store,
    hub: Hub,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    channels: Mutex<HashMap<String, broadcast::Sender<Event>>>,
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
    pub fn new(store: Store, hub: Hub) -> Conferences {
        Conferences {
            inner: Arc::new(Inner {
                store,
                hub,
                locks: Mutex::new(HashMap::new()),
                channels: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    fn lock_for(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(id.to_owned()).or_default().clone()
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

    fn notify(&self, id: &str, event: Event) {
        let _ = self.sender(id).send(event);
    }

    /// Ids of all stored conferences.
    pub fn list_ids(&self) -> Result<Vec<String>> {
        Ok(self
            .inner
            .store
            .scan_documents("conf/")?
            .into_iter()
            .map(|(k, _)| k.trim_start_matches("conf/").to_owned())
            .collect())
    }

    pub fn load(&self, id: &str) -> Result<StoredConference> {
        let bytes = self
            .inner
            .store
            .get_document(&conf_key(id))?
            .ok_or_else(|| Error::ConferenceNotFound(id.to_owned()))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(format!("conference {id}: {e}")))
    }

    async fn save(&self, stored: &StoredConference) -> Result<()> {
        let bytes = to_json(stored)?;
        self.inner
            .store
            .put_document(&conf_key(stored.conference.id()), &bytes)
            .await?;
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
        let lock = self.lock_for(&id);
        let _guard = lock.lock().await;
        if self.inner.store.get_document(&conf_key(&id))?.is_some() {
            return Err(AgendaError::InvalidInput {
                field: "conference_id",
                reason: "already in use".into(),
            }
            .into());
        }
        // Token first: a conference without its organizer token would be
        // unreachable, a token without its conference is harmless.
        let minted = access::mint(&id, Role::Organizer, "organizer");
        self.put_token(&minted.record).await?;
        self.save(&stored).await?;
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
        let lock = self.lock_for(id);
        let _guard = lock.lock().await;
        let mut stored = self.load(id)?;
        let out = edit(&mut stored)?;
        stored.version += 1;
        self.save(&stored).await?;
        self.notify(
            id,
            Event::Changed {
                version: stored.version,
                change: change.to_owned(),
            },
        );
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
        let lock = self.lock_for(conference_id);
        let _guard = lock.lock().await;
        let mut stored = self.load(conference_id)?;
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
            .store
            .put_document(&chart_key(&chart_id), &to_json(&entry)?)
            .await?;
        // Deterministic update with a fixed client id: seeding twice (a
        // retry, a restart) never duplicates the template.
        self.inner
            .hub
            .apply_server_update(&chart_id, easel_chart::template_update())
            .await?;
        stored.version += 1;
        self.save(&stored).await?;
        self.notify(
            conference_id,
            Event::Changed {
                version: stored.version,
                change: "session_proposed".into(),
            },
        );
        Ok((session, stored))
    }

    /// Organizer edit of one session, atomically: rename, move (both
    /// `round_id` and `space_id`), change state. Finalizing makes its chart
    /// read-only for open and future connections; `live` on a final
    /// session reopens it (the other changes then apply after reopening).
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
        self.inner
            .hub
            .set_read_only(&session.chart_id, session.state == SessionState::Final)
            .await;
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
        self.inner.hub.set_read_only(&session.chart_id, true).await;
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
        let lock = self.lock_for(conference_id);
        let _guard = lock.lock().await;
        let mut stored = self.load(conference_id)?;
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
            .store
            .put_document(&chart_key(&outcome.absorbed.chart_id), &to_json(&entry)?)
            .await?;
        stored.version += 1;
        self.save(&stored).await?;
        hub.set_read_only(&outcome.absorbed.chart_id, true).await;
        self.notify(
            conference_id,
            Event::Changed {
                version: stored.version,
                change: "sessions_merged".into(),
            },
        );
        Ok((outcome, stored))
    }

    // ----- retention -----------------------------------------------------------

    /// Deletes a conference with everything it owns: its charts (open
    /// connections closed with 4410, unloaded, removed from the store), its
    /// links and its agenda. Idempotent and resumable in this order: a
    /// crash part-way leaves the conference (with its remaining charts and
    /// its organizer link) in place, so deleting again finishes the job.
    pub async fn delete(&self, id: &str) -> Result<Deleted> {
        let lock = self.lock_for(id);
        let _guard = lock.lock().await;
        let stored = self.load(id)?;
        let mut charts: std::collections::BTreeSet<String> = stored
            .conference
            .sessions()
            .iter()
            .map(|s| s.chart_id.clone())
            .collect();
        for (key, value) in self.inner.store.scan_documents("chart/")? {
            if serde_json::from_slice::<ChartEntry>(&value).is_ok_and(|e| e.conference_id == id) {
                charts.insert(key.trim_start_matches("chart/").to_owned());
            }
        }
        for chart in &charts {
            // Index first: from here on no upgrade can open the chart, so
            // the hub cannot load it again while its data goes.
            self.inner.store.remove_document(&chart_key(chart)).await?;
            self.inner.hub.delete_chart(chart).await?;
        }
        let links = self.links(id)?;
        for link in &links {
            self.inner
                .store
                .remove_document(&access::token_key(&link.hash))
                .await?;
        }
        self.inner.store.remove_document(&conf_key(id)).await?;
        // Dropping the channel ends the conference's event streams. A
        // waiter still holding the lock finds the conference gone.
        self.inner
            .channels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        self.inner
            .locks
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
    /// clock existed get it started now. Returns the deleted ids.
    pub async fn delete_expired(
        &self,
        after: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<Vec<String>> {
        let mut deleted = Vec::new();
        for id in self.list_ids()? {
            let stored = match self.load(&id) {
                Ok(s) => s,
                Err(Error::ConferenceNotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            if stored.proceedings_public && stored.proceedings_published_at.is_none() {
                self.mutate(&id, "retention_clock_started", |s| {
                    s.proceedings_published_at = Some(now);
                    Ok(())
                })
                .await?;
                continue;
            }
            if stored.retention_due(after, now) {
                self.delete(&id).await?;
                deleted.push(id);
            }
        }
        Ok(deleted)
    }

    /// Holds every conference's edit lock, so that a backup sees each
    /// agenda, its chart index and its charts at one moment: no session can
    /// be proposed, merged or deleted while the guards live. Chart edits go
    /// on (they do not take these locks).
    pub async fn lock_all(&self) -> Result<Vec<tokio::sync::OwnedMutexGuard<()>>> {
        let mut guards = Vec::new();
        for id in self.list_ids()? {
            guards.push(self.lock_for(&id).lock_owned().await);
        }
        Ok(guards)
    }

    // ----- tokens ------------------------------------------------------------

    async fn put_token(&self, record: &TokenRecord) -> Result<()> {
        self.inner
            .store
            .put_document(&access::token_key(&record.hash), &to_json(record)?)
            .await?;
        Ok(())
    }

    /// Mint a capability link for a conference.
    pub async fn mint_link(&self, conference_id: &str, role: Role, label: &str) -> Result<Minted> {
        self.load(conference_id)?;
        let minted = access::mint(conference_id, role, label);
        self.put_token(&minted.record).await?;
        Ok(minted)
    }

    /// All tokens of a conference (revoked ones included), oldest first.
    pub fn links(&self, conference_id: &str) -> Result<Vec<TokenRecord>> {
        let mut out: Vec<TokenRecord> = self
            .inner
            .store
            .scan_documents("token/")?
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice::<TokenRecord>(&v).ok())
            .filter(|t| t.conference_id == conference_id)
            .collect();
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Revoke a token by its public id: later requests with it fail and its
    /// open WebSockets are closed with 4401, its event streams end.
    pub async fn revoke(&self, conference_id: &str, token_id: &str) -> Result<TokenRecord> {
        let lock = self.lock_for(conference_id);
        let _guard = lock.lock().await;
        let mut record = self
            .links(conference_id)?
            .into_iter()
            .find(|t| t.id == token_id)
            .ok_or_else(|| Error::LinkNotFound(token_id.to_owned()))?;
        if record.revoked.is_none() {
            record.revoked = Some(Timestamp::now());
            self.put_token(&record).await?;
        }
        self.inner.hub.revoke(&record.id).await;
        self.notify(
            conference_id,
            Event::Revoked {
                token_id: record.id.clone(),
            },
        );
        Ok(record)
    }

    /// The valid (known, unrevoked) token for a presented secret.
    pub fn authenticate(&self, secret: &str) -> Result<Option<TokenRecord>> {
        let hash = access::hash_token(secret);
        let Some(bytes) = self.inner.store.get_document(&access::token_key(&hash))? else {
            return Ok(None);
        };
        let record: TokenRecord =
            serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(format!("token: {e}")))?;
        if !access::hash_matches(&record, &hash) || record.revoked.is_some() {
            return Ok(None);
        }
        Ok(Some(record))
    }

    /// Whether a token id is still valid (for long-lived streams).
    pub fn token_valid(&self, record: &TokenRecord) -> bool {
        matches!(
            self.inner.store.get_document(&access::token_key(&record.hash)),
            Ok(Some(bytes)) if serde_json::from_slice::<TokenRecord>(&bytes)
                .is_ok_and(|r| r.revoked.is_none())
        )
    }

    // ----- charts ------------------------------------------------------------

    pub fn chart_entry(&self, chart_id: &str) -> Result<Option<ChartEntry>> {
        match self.inner.store.get_document(&chart_key(chart_id))? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Corrupt(format!("chart {chart_id}: {e}"))),
        }
    }

    /// What a token may do on a chart: its role's access, but read-only
    /// when the session is final, cancelled or merged away.
    pub fn chart_access(
        &self,
        token: &TokenRecord,
        chart_id: &str,
    ) -> Result<std::result::Result<Access, ChartDenied>> {
        let Some(entry) = self.chart_entry(chart_id)? else {
            return Ok(Err(ChartDenied::Forbidden));
        };
        if entry.conference_id != token.conference_id {
            return Ok(Err(ChartDenied::Forbidden));
        }
        if token.role == Role::Read || entry.merged_into.is_some() {
            return Ok(Ok(Access::Read));
        }
        let stored = self.load(&entry.conference_id)?;
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
