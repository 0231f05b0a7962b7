//! The session workflow: proposing a topic into a cell, changing a
//! session's state (proposed → live → final, reopen), cancelling and
//! merging. Each runs under the conference's edit lock (see the crate
//! docs) and announces what other nodes must act on (a chart turning
//! read-only).

use easel_agenda::{MergeOutcome, Session, SessionState};
use jiff::Timestamp;

use crate::tokens as access;
use crate::{chart_key, to_json, ChartEntry, Conferences, Effect, Result, StoredConference};

impl Conferences {
    /// Whether `key` is the poster key of `session_id` (compared in
    /// constant time, like tokens).
    pub async fn is_poster(
        &self,
        conference_id: &str,
        session_id: &str,
        key: &str,
    ) -> Result<bool> {
        let stored = self.load_shared(conference_id).await?;
        Ok(stored
            .posters
            .get(session_id)
            .is_some_and(|hash| access::hashes_match(hash, &access::hash_token(key))))
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
    ) -> Result<(Session, StoredConference, String)> {
        let _guard = self.guard(conference_id).await?;
        let (mut stored, read) = self.load_raw(conference_id).await?;
        let session_id = access::new_id("s-");
        let poster_key = access::secret();
        stored
            .posters
            .insert(session_id.clone(), access::hash_token(&poster_key));
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
        // retry, a restart) never duplicates the template. The chart is
        // new, so it meets no other template.
        self.inner
            .hub
            .apply_server_update(&chart_id, stored.report.template.update())
            .await?;
        stored.version += 1;
        self.save(&stored, &read).await?;
        self.announce_change(conference_id, stored.version, "session_proposed")
            .await;
        Ok((session, stored, poster_key))
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
        let mut was = SessionState::Proposed;
        let (session, stored) = self
            .mutate(conference_id, "session_updated", |s| {
                let c = &mut s.conference;
                let mut session = c.session(session_id)?.clone();
                was = session.state;
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
                if session.state != SessionState::Final {
                    s.finalized.remove(session_id);
                } else if !s.finalized.contains_key(session_id) {
                    s.finalized.insert(session_id.to_owned(), Timestamp::now());
                }
                Ok(session)
            })
            .await?;
        self.announce(Effect::ReadOnly {
            chart_id: session.chart_id.clone(),
            read_only: session.state == SessionState::Final,
        })
        .await?;
        if crate::history::finalized(was, session.state) {
            self.version_finalized(conference_id, &session.chart_id)
                .await;
        }
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
                s.finalized.remove(session_id);
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
        stored.finalized.remove(absorb);
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
}
