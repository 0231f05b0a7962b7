//! Every chart's history: versions taken when a round ends, when a session
//! is finalized, before and after a restore, and on demand; restoring one;
//! the difference between two; and the proceedings as they were at a time.
//!
//! A version is the chart's **whole state** (a Yjs v1 update, deflated),
//! not a Yjs snapshot (state vector + delete set) into the chart's log:
//! the log is compacted through a garbage-collected Doc, which forgets
//! deleted content, so a snapshot would pin the whole history forever and
//! tie versions to the store's layout (and to Redis' in a cluster). A full
//! state is read by any later build, survives every compaction untouched,
//! and costs what the chart costs, deflated (docs/history.md has the
//! figures). Layout, in the metadata documents (so backups carry them and
//! every node of a cluster sees them):
//!
//! | key                               | value                                   |
//! |-----------------------------------|-----------------------------------------|
//! | `version/{chart}/{version}`       | [`Version`] (JSON), written last: the commit point |
//! | `vstate/{chart}/{version}/{part}` | ≤ 16 KiB of the deflated state           |
//! | `vround/{conference}/{round}`     | the round's end has been versioned       |
//!
//! Version ids sort by time (`v` + milliseconds since the epoch + random),
//! so a prefix scan lists a chart's versions oldest first.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Duration;

use easel_agenda::SessionState;
use easel_chart::ChartContent;
use easel_proceedings::ProceedingsInput;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::proceedings::{content_of_state, proceedings_input};
use crate::{to_json, Conferences, Error, Result, StoredConference};

/// Bytes per stored part of a version's state: well below the size at
/// which sled 0.34 moves a value into a blob file of its own (see the
/// store's snapshot parts).
const PART: usize = 16 * 1024;

/// The history settings (named in the binary's config).
#[derive(Debug, Clone)]
pub struct HistoryConfig {
    /// Versions kept per chart; past it the oldest automatic one goes.
    pub max_versions: usize,
    /// How long after a round's end its version is taken, so that people
    /// finishing a sentence are in it.
    pub round_end_grace: Duration,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            max_versions: 200,
            round_end_grace: Duration::from_secs(120),
        }
    }
}

/// Why a version was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// "Save version": the only kind with a label of the user's choosing.
    Manual,
    /// The session's round ended (plus the grace).
    RoundEnd,
    /// The session was finalized.
    Finalized,
    /// Taken just before a restore replaced the content.
    BeforeRestore,
    /// The state a restore produced (restoring it undoes a later restore).
    Restore,
}

impl Trigger {
    /// Versions the per-chart cap drops first: everything but the ones
    /// people saved by hand.
    pub fn automatic(self) -> bool {
        self != Trigger::Manual
    }
}

/// One version of a chart: when, why and by whom (a link's label and
/// role; there are no accounts), and how big.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Version {
    pub id: String,
    pub chart_id: String,
    pub conference_id: String,
    /// RFC 3339, UTC.
    #[schema(value_type = String, example = "2026-06-15T10:00:00Z")]
    pub at: Timestamp,
    pub trigger: Trigger,
    pub label: String,
    /// The label of the link that asked (none for automatic versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// That link's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_role: Option<String>,
    /// The round whose end this version records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_id: Option<String>,
    /// The version a restore brought back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_from: Option<String>,
    /// Bytes of the chart's state (a Yjs v1 update).
    pub state_bytes: u64,
    /// Bytes stored (the state, deflated).
    pub stored_bytes: u64,
    /// Parts the stored bytes are split into.
    pub parts: u32,
}

/// Who asked for a version (a link's label and role).
#[derive(Debug, Clone, Default)]
pub struct Asker {
    pub label: Option<String>,
    pub role: Option<String>,
}

/// A moment of the proceedings: a time, or the end of a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsOf {
    Time(Timestamp),
    Round(String),
}

impl AsOf {
    /// `2026-06-15T10:00:00Z` (RFC 3339) or `round:<round id>`.
    pub fn parse(text: &str) -> Option<AsOf> {
        if let Some(round) = text.strip_prefix("round:") {
            return (!round.is_empty()).then(|| AsOf::Round(round.to_owned()));
        }
        text.parse::<Timestamp>().ok().map(AsOf::Time)
    }
}

/// One line of a difference between two renderings of a chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DiffLine {
    /// `equal`, `insert` (only in the newer) or `delete` (only in the older).
    pub tag: &'static str,
    pub text: String,
}

fn record_key(chart: &str, version: &str) -> String {
    format!("version/{chart}/{version}")
}

fn records_prefix(chart: &str) -> String {
    format!("version/{chart}/")
}

fn parts_prefix(chart: &str, version: &str) -> String {
    format!("vstate/{chart}/{version}/")
}

fn round_marker(conference: &str, round: &str) -> String {
    format!("vround/{conference}/{round}")
}

fn new_version_id(at: Timestamp) -> String {
    let ms = at.as_millisecond().max(0);
    format!("v{ms:013}{}", &crate::tokens::new_id("")[..8])
}

fn deflate(state: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(state)
        .and_then(|_| enc.finish())
        .map_err(|e| Error::Corrupt(format!("deflating a version: {e}")))
}

fn inflate(bytes: &[u8], limit: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(bytes)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Corrupt(format!("inflating a version: {e}")))?;
    Ok(out)
}

/// Labels are shown in lists: one line, bounded.
pub const MAX_LABEL_CHARS: usize = 120;

impl Conferences {
    fn history_config(&self) -> HistoryConfig {
        self.inner
            .history
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets the history settings (the binary calls this once at start).
    pub fn set_history_config(&self, config: HistoryConfig) {
        *self
            .inner
            .history
            .write()
            .unwrap_or_else(|e| e.into_inner()) = config;
    }

    /// Excludes other writers of one chart's history (here and, in a
    /// cluster, on the other nodes), so the cap and the round-end check
    /// see every version.
    async fn history_guard(&self, chart_id: &str) -> Result<crate::EditGuard> {
        let scope = format!("history/{chart_id}");
        let local = self.lock_for(&scope).lock_owned().await;
        let cluster = self.inner.meta.lock(&scope).await?;
        Ok(crate::EditGuard {
            _cluster: cluster,
            _local: local,
        })
    }

    /// A chart's versions, oldest first.
    pub async fn versions(&self, chart_id: &str) -> Result<Vec<Version>> {
        self.inner
            .meta
            .scan(&records_prefix(chart_id))
            .await?
            .into_iter()
            .map(|(key, value)| {
                serde_json::from_slice(&value)
                    .map_err(|e| Error::Corrupt(format!("version {key}: {e}")))
            })
            .collect()
    }

    /// One version of one chart (`None` for an id of another chart).
    pub async fn version(&self, chart_id: &str, version_id: &str) -> Result<Option<Version>> {
        if version_id.contains('/') {
            return Ok(None);
        }
        match self
            .inner
            .meta
            .get(&record_key(chart_id, version_id))
            .await?
        {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice::<Version>(&bytes)
                .map(|v| (v.chart_id == chart_id).then_some(v))
                .map_err(|e| Error::Corrupt(format!("version {version_id}: {e}"))),
        }
    }

    /// The chart state a version holds (a Yjs v1 update).
    pub async fn version_state(&self, version: &Version) -> Result<Vec<u8>> {
        let parts = self
            .inner
            .meta
            .scan(&parts_prefix(&version.chart_id, &version.id))
            .await?;
        if parts.len() != version.parts as usize {
            return Err(Error::Corrupt(format!(
                "version {} has {} of its {} parts",
                version.id,
                parts.len(),
                version.parts
            )));
        }
        let stored: Vec<u8> = parts.into_iter().flat_map(|(_, v)| v).collect();
        let state = inflate(&stored, version.state_bytes)?;
        if state.len() as u64 != version.state_bytes {
            return Err(Error::Corrupt(format!(
                "version {} holds {} bytes, its record says {}",
                version.id,
                state.len(),
                version.state_bytes
            )));
        }
        Ok(state)
    }

    /// Takes a version of the chart's current state.
    pub async fn save_version(
        &self,
        conference_id: &str,
        chart_id: &str,
        trigger: Trigger,
        label: &str,
        asker: &Asker,
    ) -> Result<Version> {
        let _guard = self.history_guard(chart_id).await?;
        self.save_version_locked(conference_id, chart_id, trigger, label, asker, None, None)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn save_version_locked(
        &self,
        conference_id: &str,
        chart_id: &str,
        trigger: Trigger,
        label: &str,
        asker: &Asker,
        round_id: Option<&str>,
        restored_from: Option<&str>,
    ) -> Result<Version> {
        let state = self.inner.hub.chart_state(chart_id).await?;
        let at = Timestamp::now();
        let stored = deflate(&state)?;
        let id = new_version_id(at);
        let chunks: Vec<&[u8]> = stored.chunks(PART).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let key = format!("{}{i:05}", parts_prefix(chart_id, &id));
            self.inner.meta.put(&key, chunk).await?;
        }
        let version = Version {
            id: id.clone(),
            chart_id: chart_id.to_owned(),
            conference_id: conference_id.to_owned(),
            at,
            trigger,
            label: label.chars().take(MAX_LABEL_CHARS).collect(),
            by: asker.label.clone(),
            by_role: asker.role.clone(),
            round_id: round_id.map(str::to_owned),
            restored_from: restored_from.map(str::to_owned),
            state_bytes: state.len() as u64,
            stored_bytes: stored.len() as u64,
            parts: chunks.len() as u32,
        };
        // The record last: a crash before it leaves parts no record names,
        // which the next save's cap pass or the chart's deletion removes.
        self.inner
            .meta
            .put(&record_key(chart_id, &id), &to_json(&version)?)
            .await?;
        self.enforce_cap(chart_id, &id).await?;
        tracing::debug!(chart_id, version = %id, ?trigger, bytes = stored.len(), "version taken");
        Ok(version)
    }

    /// Drops versions past the cap: the oldest automatic one each time, a
    /// saved one only when nothing else is left, never `keep` (the one just
    /// taken); and any parts no record names (a save a crash cut short).
    async fn enforce_cap(&self, chart_id: &str, keep: &str) -> Result<()> {
        let cap = self.history_config().max_versions.max(1);
        let mut versions = self.versions(chart_id).await?;
        while versions.len() > cap {
            let drop = versions
                .iter()
                .position(|v| v.trigger.automatic() && v.id != keep)
                .or_else(|| versions.iter().position(|v| v.id != keep))
                .unwrap_or(0);
            let gone = versions.remove(drop);
            self.remove_version(&gone).await?;
        }
        let known: std::collections::HashSet<&str> =
            versions.iter().map(|v| v.id.as_str()).collect();
        let prefix = format!("vstate/{chart_id}/");
        let newest = versions.last().map(|v| v.id.as_str()).unwrap_or("");
        for (key, _) in self.inner.meta.scan(&prefix).await? {
            let id = key[prefix.len()..].split('/').next().unwrap_or("");
            // Only parts older than the newest record: a save in progress
            // on another node has parts but no record yet.
            if !known.contains(id) && id < newest {
                self.inner.meta.remove(&key).await?;
            }
        }
        Ok(())
    }

    async fn remove_version(&self, version: &Version) -> Result<()> {
        // Record first: a version is either listed whole or not at all.
        self.inner
            .meta
            .remove(&record_key(&version.chart_id, &version.id))
            .await?;
        for (key, _) in self
            .inner
            .meta
            .scan(&parts_prefix(&version.chart_id, &version.id))
            .await?
        {
            self.inner.meta.remove(&key).await?;
        }
        Ok(())
    }

    /// Removes every version of a chart (its conference is being deleted).
    pub async fn delete_versions(&self, chart_id: &str) -> Result<usize> {
        let versions = self.versions(chart_id).await?;
        for v in &versions {
            self.remove_version(v).await?;
        }
        for (key, _) in self.inner.meta.scan(&format!("vstate/{chart_id}/")).await? {
            self.inner.meta.remove(&key).await?;
        }
        Ok(versions.len())
    }

    /// Removes a conference's round markers (it is being deleted).
    pub(crate) async fn delete_round_markers(&self, conference_id: &str) -> Result<()> {
        for (key, _) in self
            .inner
            .meta
            .scan(&format!("vround/{conference_id}/"))
            .await?
        {
            self.inner.meta.remove(&key).await?;
        }
        Ok(())
    }

    /// Makes the chart's content equal to `version`'s with a new update
    /// through the hub, so every open editor converges to it without a
    /// reload. The state just before is kept as a version first, and the
    /// result becomes a version too (restoring that one undoes a later
    /// restore). Returns (before, after).
    pub async fn restore_version(
        &self,
        version: &Version,
        asker: &Asker,
    ) -> Result<(Version, Version)> {
        let _guard = self.history_guard(&version.chart_id).await?;
        let target = self.version_state(version).await?;
        let before = self
            .save_version_locked(
                &version.conference_id,
                &version.chart_id,
                Trigger::BeforeRestore,
                &format!("Before restoring “{}”", version.label),
                asker,
                None,
                None,
            )
            .await?;
        let current = self.version_state(&before).await?;
        let update =
            tokio::task::spawn_blocking(move || easel_chart::restore_update(&current, &target))
                .await
                .map_err(|e| Error::Corrupt(format!("restore task: {e}")))?
                .map_err(|e| Error::Corrupt(format!("version {}: {e}", version.id)))?;
        if let Some(update) = update {
            self.inner
                .hub
                .apply_server_update(&version.chart_id, update)
                .await?;
        }
        let after = self
            .save_version_locked(
                &version.conference_id,
                &version.chart_id,
                Trigger::Restore,
                &format!("Restored “{}”", version.label),
                asker,
                None,
                Some(&version.id),
            )
            .await?;
        Ok((before, after))
    }

    /// Versions every session of every round that ended (plus the grace)
    /// and was not versioned yet. Returns how many versions it took.
    pub async fn version_ended_rounds(&self, now: Timestamp) -> Result<usize> {
        let grace = jiff::SignedDuration::try_from(self.history_config().round_end_grace)
            .unwrap_or(jiff::SignedDuration::ZERO);
        let mut taken = 0;
        for id in self.list_ids().await? {
            let stored = match self.load_shared(&id).await {
                Ok(s) => s,
                Err(Error::ConferenceNotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let c = &stored.conference;
            for round in c.rounds() {
                let due = round
                    .ends_at()
                    .checked_add(grace)
                    .is_ok_and(|due| due <= now);
                if !due {
                    continue;
                }
                let marker = round_marker(&id, &round.id);
                let marks = || {
                    self.inner
                        .round_marks
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                };
                if marks().contains(&marker) {
                    continue;
                }
                if self.inner.meta.get(&marker).await?.is_some() {
                    marks().insert(marker);
                    continue;
                }
                for session in c.sessions_in_round(&round.id) {
                    let _guard = self.history_guard(&session.chart_id).await?;
                    let done = self
                        .versions(&session.chart_id)
                        .await?
                        .iter()
                        .any(|v| v.round_id.as_deref() == Some(round.id.as_str()));
                    if done {
                        continue;
                    }
                    let label = match round.label.as_deref().filter(|l| !l.is_empty()) {
                        Some(l) => format!("End of {l}"),
                        None => "End of the round".to_owned(),
                    };
                    self.save_version_locked(
                        &id,
                        &session.chart_id,
                        Trigger::RoundEnd,
                        &label,
                        &Asker::default(),
                        Some(&round.id),
                        None,
                    )
                    .await?;
                    taken += 1;
                }
                self.inner.meta.put(&marker, b"{}").await?;
                marks().insert(marker);
            }
        }
        Ok(taken)
    }

    /// The proceedings input as it was at `as_of`: today's agenda, each
    /// chart with its content from the latest version at or before that
    /// moment (for `round:<id>`, the version taken at that round's end, or
    /// else the latest one before the round ended). A chart with no
    /// version by then is empty.
    pub async fn proceedings_input_as_of(
        &self,
        stored: &StoredConference,
        as_of: &AsOf,
    ) -> Result<ProceedingsInput> {
        let c = &stored.conference;
        let (until, round_id) = match as_of {
            AsOf::Time(t) => (*t, None),
            AsOf::Round(id) => (c.round(id)?.ends_at(), Some(id.as_str())),
        };
        let mut contents: HashMap<String, ChartContent> = HashMap::new();
        for s in c.sessions() {
            let versions = self.versions(&s.chart_id).await?;
            let chosen = round_id
                .and_then(|r| versions.iter().find(|v| v.round_id.as_deref() == Some(r)))
                .or_else(|| versions.iter().rev().find(|v| v.at <= until));
            if let Some(v) = chosen {
                let state = self.version_state(v).await?;
                contents.insert(s.chart_id.clone(), content_of_state(&s.chart_id, &state)?);
            }
        }
        Ok(proceedings_input(c, contents))
    }

    /// Starts the round-end watcher: a pass every quarter of the grace
    /// (between 250 ms and 30 s) until `shutdown`.
    pub fn spawn_round_versions(&self, shutdown: CancellationToken) {
        let every = (self.history_config().round_end_grace / 4)
            .clamp(Duration::from_millis(250), Duration::from_secs(30));
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(every) => {}
                }
                match this.version_ended_rounds(Timestamp::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(versions = n, "versions taken at the end of rounds"),
                    Err(e) => tracing::warn!(error = %e, "round-end versions failed; retrying"),
                }
            }
        });
    }

    /// Versions a chart whose session was just finalized (errors are
    /// logged: the finalize itself succeeded).
    pub(crate) async fn version_finalized(&self, conference_id: &str, chart_id: &str) {
        if let Err(e) = self
            .save_version(
                conference_id,
                chart_id,
                Trigger::Finalized,
                "Finalized",
                &Asker::default(),
            )
            .await
        {
            tracing::warn!(chart_id, error = %e, "no version taken at finalize");
        }
    }
}

/// Whether a session state change finalized it.
pub(crate) fn finalized(before: SessionState, after: SessionState) -> bool {
    before != SessionState::Final && after == SessionState::Final
}

/// The line-by-line difference between two renderings, older first.
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    similar::TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|change| DiffLine {
            tag: match change.tag() {
                similar::ChangeTag::Equal => "equal",
                similar::ChangeTag::Insert => "insert",
                similar::ChangeTag::Delete => "delete",
            },
            text: change.value().trim_end_matches('\n').to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_parses_times_and_rounds() {
        assert_eq!(
            AsOf::parse("round:r-1"),
            Some(AsOf::Round("r-1".to_owned()))
        );
        assert_eq!(AsOf::parse("round:"), None);
        assert!(matches!(
            AsOf::parse("2026-06-15T10:00:00Z"),
            Some(AsOf::Time(_))
        ));
        assert!(matches!(
            AsOf::parse("2026-06-15T12:00:00+02:00"),
            Some(AsOf::Time(_))
        ));
        assert_eq!(AsOf::parse("yesterday"), None);
    }

    #[test]
    fn deflate_round_trips_and_ids_sort_by_time() {
        let state = b"some chart state ".repeat(1000);
        let stored = deflate(&state).unwrap();
        assert!(stored.len() < state.len() / 4);
        assert_eq!(inflate(&stored, state.len() as u64).unwrap(), state);
        let a = new_version_id("2026-01-01T00:00:00Z".parse().unwrap());
        let b = new_version_id("2026-01-01T00:00:01Z".parse().unwrap());
        assert!(a < b, "{a} {b}");
    }

    #[test]
    fn diff_marks_inserted_and_deleted_lines() {
        let d = diff_lines("a\nb\nc\n", "a\nc\nd\n");
        let tags: Vec<_> = d.iter().map(|l| (l.tag, l.text.as_str())).collect();
        assert_eq!(
            tags,
            [
                ("equal", "a"),
                ("delete", "b"),
                ("equal", "c"),
                ("insert", "d")
            ]
        );
    }
}
