//! The conference aggregate: the agenda grid and every rule that keeps it
//! consistent. (One file on purpose, though long: every mutation and the
//! invariant checks it must pass sit side by side, so a rule cannot be
//! changed in one place and missed in another.)
//!
//! Why one aggregate: in Open Space the participants build the agenda
//! themselves, concurrently, from phones and a wall of sticky notes. The
//! rules (one session per round × space cell, sessions only in breakouts,
//! rounds never overlap, nothing removed from under a session) must hold
//! after every edit, so all edits go through [`Conference`] methods that
//! either apply completely or return an [`AgendaError`] and change nothing.
//! Deserialization re-checks the same rules, so stored data cannot smuggle
//! in a broken agenda.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::{AgendaError, Entity, Result};
use crate::model::{Round, RoundKind, Session, SessionState, Space};
use crate::text;
use crate::zone::{self, Zone};

/// Longest conference accepted, in days, which bounds [`Conference::days`].
pub const MAX_CONFERENCE_DAYS: i32 = 366;

/// An Open Space conference and its agenda.
///
/// Fields are private so that every change goes through a validating
/// method; read them through the accessors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ConferenceData")]
pub struct Conference {
    id: String,
    name: String,
    description: String,
    time_zone: Zone,
    start_date: Date,
    end_date: Date,
    /// Always sorted by `(starts_at, id)`.
    rounds: Vec<Round>,
    /// In the order they were added (the display order of grid columns).
    spaces: Vec<Space>,
    /// In the order they were proposed.
    sessions: Vec<Session>,
    published: bool,
}

/// Unvalidated mirror of [`Conference`] used for deserialization; turned
/// into a conference through the same checks as live edits.
#[derive(Deserialize)]
struct ConferenceData {
    id: String,
    name: String,
    #[serde(default)]
    description: String,
    time_zone: Zone,
    start_date: Date,
    end_date: Date,
    #[serde(default)]
    rounds: Vec<Round>,
    #[serde(default)]
    spaces: Vec<Space>,
    #[serde(default)]
    sessions: Vec<Session>,
    #[serde(default)]
    published: bool,
}

impl TryFrom<ConferenceData> for Conference {
    type Error = AgendaError;

    fn try_from(data: ConferenceData) -> Result<Conference> {
        let mut conf = Conference::new(
            data.id,
            &data.name,
            data.time_zone.name(),
            data.start_date,
            data.end_date,
        )?;
        conf.set_description(&data.description)?;
        for space in data.spaces {
            conf.add_space(space)?;
        }
        conf.add_rounds(data.rounds)?;
        for session in data.sessions {
            conf.insert_session(session)?;
        }
        conf.published = data.published;
        Ok(conf)
    }
}

/// One calendar day of the conference in its own time zone.
///
/// Why owned and serializable: it is a ready-to-render view for the REST
/// layer and the agenda wall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Day {
    /// The local date in the conference time zone.
    pub date: Date,
    /// 1-based day number counted from the conference start date.
    pub number: u32,
    /// e.g. `Day 1 — Mon 3 Nov 2026`.
    pub label: String,
    /// Ids of rounds starting on this local date, sorted by start.
    pub round_ids: Vec<String>,
}

/// Result of [`Conference::merge_sessions`].
///
/// Why both: the caller must merge the absorbed session's chart into the
/// kept one and may want to notify the absorbed session's convener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeOutcome {
    /// The surviving session, with the combined topic.
    pub kept: Session,
    /// The session that was removed from the agenda.
    pub absorbed: Session,
}

impl Conference {
    /// Create an empty, unpublished conference.
    ///
    /// `time_zone` must be an IANA name (see [`Zone::parse`]); the dates are
    /// civil dates in that zone, inclusive, at most
    /// [`MAX_CONFERENCE_DAYS`] long.
    pub fn new(
        id: impl Into<String>,
        name: &str,
        time_zone: &str,
        start_date: Date,
        end_date: Date,
    ) -> Result<Conference> {
        let id = id.into();
        text::id("conference_id", &id)?;
        let name = text::single_line("name", name, text::NAME_MAX_CHARS)?;
        let time_zone = Zone::parse(time_zone)?;
        check_dates(start_date, end_date)?;
        Ok(Conference {
            id,
            name,
            description: String::new(),
            time_zone,
            start_date,
            end_date,
            rounds: Vec::new(),
            spaces: Vec::new(),
            sessions: Vec::new(),
            published: false,
        })
    }

    // ----- accessors -------------------------------------------------------

    /// The conference id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Free-form description (may be empty, may span lines).
    pub fn description(&self) -> &str {
        &self.description
    }
    /// The zone the agenda is planned in and days are counted in.
    pub fn time_zone(&self) -> &Zone {
        &self.time_zone
    }
    /// First day (inclusive, conference time zone).
    pub fn start_date(&self) -> Date {
        self.start_date
    }
    /// Last day (inclusive, conference time zone).
    pub fn end_date(&self) -> Date {
        self.end_date
    }
    /// All rounds, sorted by start instant.
    pub fn rounds(&self) -> &[Round] {
        &self.rounds
    }
    /// All spaces, in the order they were added.
    pub fn spaces(&self) -> &[Space] {
        &self.spaces
    }
    /// All sessions, in the order they were proposed.
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }
    /// Whether the agenda is visible to participants. Purely a flag for the
    /// serving layer: editing rules are the same either way, because in Open
    /// Space the agenda keeps changing during the event.
    pub fn is_published(&self) -> bool {
        self.published
    }

    /// Look up a round.
    pub fn round(&self, id: &str) -> Result<&Round> {
        self.rounds
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| AgendaError::not_found(Entity::Round, id))
    }
    /// Look up a space.
    pub fn space(&self, id: &str) -> Result<&Space> {
        self.spaces
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| AgendaError::not_found(Entity::Space, id))
    }
    /// Look up a session.
    pub fn session(&self, id: &str) -> Result<&Session> {
        self.sessions
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| AgendaError::not_found(Entity::Session, id))
    }
    /// The session in a grid cell, if any.
    pub fn session_at(&self, round_id: &str, space_id: &str) -> Option<&Session> {
        self.sessions
            .iter()
            .find(|s| s.round_id == round_id && s.space_id == space_id)
    }
    /// Sessions in a round, in proposal order.
    pub fn sessions_in_round<'a>(&'a self, round_id: &'a str) -> impl Iterator<Item = &'a Session> {
        self.sessions.iter().filter(move |s| s.round_id == round_id)
    }

    // ----- conference metadata ---------------------------------------------

    /// Change the display name.
    pub fn rename(&mut self, name: &str) -> Result<()> {
        self.name = text::single_line("name", name, text::NAME_MAX_CHARS)?;
        Ok(())
    }

    /// Change the description (trimmed; newlines allowed; may be empty).
    pub fn set_description(&mut self, description: &str) -> Result<()> {
        self.description =
            text::multi_line("description", description, text::DESCRIPTION_MAX_CHARS)?;
        Ok(())
    }

    /// Show or hide the agenda to participants.
    pub fn set_published(&mut self, published: bool) {
        self.published = published;
    }

    /// Change the conference dates. Fails with
    /// [`AgendaError::OutsideConferenceDates`] if a round would fall outside.
    pub fn set_dates(&mut self, start_date: Date, end_date: Date) -> Result<()> {
        check_dates(start_date, end_date)?;
        let mut next = self.clone();
        next.start_date = start_date;
        next.end_date = end_date;
        for round in &self.rounds {
            next.check_round_date(round)?;
        }
        *self = next;
        Ok(())
    }

    /// Change the conference time zone. Rounds keep their instants (they
    /// are what participants worldwide rely on); only the day grouping and
    /// local display change. Fails if a round would then start outside the
    /// conference dates.
    pub fn set_time_zone(&mut self, time_zone: &str) -> Result<()> {
        let zone = Zone::parse(time_zone)?;
        let mut next = self.clone();
        next.time_zone = zone;
        for round in &self.rounds {
            next.check_round_date(round)?;
        }
        *self = next;
        Ok(())
    }

    // ----- rounds ----------------------------------------------------------

    /// Add a round. It must have a new id, start on a conference date (in
    /// the conference zone) and not overlap another round: rounds are the
    /// rows of the grid and a participant can attend one at a time.
    pub fn add_round(&mut self, round: Round) -> Result<()> {
        self.check_new_round(&round, None)?;
        self.insert_round_sorted(round);
        Ok(())
    }

    /// Add several rounds (e.g. from a [`crate::RoundPattern`]) atomically:
    /// either all are added or none.
    pub fn add_rounds(&mut self, rounds: Vec<Round>) -> Result<()> {
        let mut next = self.clone();
        for round in rounds {
            next.add_round(round)?;
        }
        *self = next;
        Ok(())
    }

    /// Replace the round with the same id (reschedule, relabel, change
    /// kind). Its sessions stay with it; turning a round that has sessions
    /// into a circle fails with [`AgendaError::HasSessions`].
    pub fn replace_round(&mut self, round: Round) -> Result<()> {
        let index = self.round_index(&round.id)?;
        self.check_new_round(&round, Some(index))?;
        if round.kind != RoundKind::Breakout {
            let count = self.sessions_in_round(&round.id).count();
            if count > 0 {
                return Err(AgendaError::HasSessions {
                    what: Entity::Round,
                    id: round.id,
                    count,
                });
            }
        }
        self.rounds.remove(index);
        self.insert_round_sorted(round);
        Ok(())
    }

    /// Remove a round that has no sessions and return it.
    pub fn remove_round(&mut self, id: &str) -> Result<Round> {
        let index = self.round_index(id)?;
        let count = self.sessions_in_round(id).count();
        if count > 0 {
            return Err(AgendaError::HasSessions {
                what: Entity::Round,
                id: id.to_owned(),
                count,
            });
        }
        Ok(self.rounds.remove(index))
    }

    /// The local date (conference zone) a round starts on, which decides
    /// its [`Day`].
    pub fn local_date_of(&self, round: &Round) -> Date {
        self.time_zone.zoned(round.starts_at).date()
    }

    /// The conference days from start to end date, each with the rounds
    /// starting on it (grouped by local start date in the conference zone,
    /// so a round at 23:30 local belongs to that day even if it is already
    /// the next day in UTC). Days without rounds are included so organizers
    /// see the gaps.
    pub fn days(&self) -> Vec<Day> {
        let mut days = Vec::new();
        let mut date = self.start_date;
        let mut number = 1u32;
        while date <= self.end_date {
            let label = format!("Day {number} — {}", date.strftime("%a %-d %b %Y"));
            let round_ids = self
                .rounds
                .iter()
                .filter(|r| self.local_date_of(r) == date)
                .map(|r| r.id.clone())
                .collect();
            days.push(Day {
                date,
                number,
                label,
                round_ids,
            });
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
            number += 1;
        }
        days
    }

    /// A round's start for people in the conference time zone, e.g.
    /// `Tue 3 Nov 2026 09:00 WET (+00:00)`.
    pub fn format_round_start(&self, round_id: &str) -> Result<String> {
        Ok(self.round(round_id)?.format_start_in(&self.time_zone))
    }

    /// A round's start for a viewer in another zone (IANA name), so remote
    /// participants see their own wall-clock time.
    pub fn format_round_start_for_viewer(
        &self,
        round_id: &str,
        viewer_zone: &str,
    ) -> Result<String> {
        let zone = Zone::parse(viewer_zone)?;
        Ok(self.round(round_id)?.format_start_in(&zone))
    }

    /// A round's start as UTC RFC 3339 for machines.
    pub fn round_start_utc(&self, round_id: &str) -> Result<String> {
        Ok(zone::format_utc(self.round(round_id)?.starts_at))
    }

    fn round_index(&self, id: &str) -> Result<usize> {
        self.rounds
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| AgendaError::not_found(Entity::Round, id))
    }

    fn check_round_date(&self, round: &Round) -> Result<()> {
        let date = self.local_date_of(round);
        if date < self.start_date || date > self.end_date {
            return Err(AgendaError::OutsideConferenceDates {
                round: round.id.clone(),
                date,
            });
        }
        Ok(())
    }

    /// Check `round` against the agenda, ignoring the round at `replacing`.
    fn check_new_round(&self, round: &Round, replacing: Option<usize>) -> Result<()> {
        round.validate()?;
        let others = self
            .rounds
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != replacing)
            .map(|(_, r)| r);
        for other in others {
            if replacing.is_none() && other.id == round.id {
                return Err(AgendaError::DuplicateId {
                    what: Entity::Round,
                    id: round.id.clone(),
                });
            }
            if other.overlaps(round) {
                return Err(AgendaError::RoundsOverlap {
                    round: round.id.clone(),
                    other: other.id.clone(),
                });
            }
        }
        self.check_round_date(round)
    }

    fn insert_round_sorted(&mut self, round: Round) {
        let key = (round.starts_at, round.id.clone());
        let at = self
            .rounds
            .partition_point(|r| (r.starts_at, r.id.as_str()) < (key.0, key.1.as_str()));
        self.rounds.insert(at, round);
    }

    // ----- spaces ----------------------------------------------------------

    /// Add a space (a new grid column). Ids and names must be unique; names
    /// case-insensitively, since two "Kitchen" columns would confuse people.
    pub fn add_space(&mut self, space: Space) -> Result<()> {
        space.validate()?;
        if self.spaces.iter().any(|s| s.id == space.id) {
            return Err(AgendaError::DuplicateId {
                what: Entity::Space,
                id: space.id,
            });
        }
        self.check_space_name(&space, None)?;
        self.spaces.push(space);
        Ok(())
    }

    /// Replace the space with the same id (rename, new video link,
    /// capacity). Sessions in it stay.
    pub fn replace_space(&mut self, space: Space) -> Result<()> {
        space.validate()?;
        let index = self.space_index(&space.id)?;
        self.check_space_name(&space, Some(index))?;
        self.spaces[index] = space;
        Ok(())
    }

    /// Remove a space that has no sessions and return it.
    pub fn remove_space(&mut self, id: &str) -> Result<Space> {
        let index = self.space_index(id)?;
        let count = self.sessions.iter().filter(|s| s.space_id == id).count();
        if count > 0 {
            return Err(AgendaError::HasSessions {
                what: Entity::Space,
                id: id.to_owned(),
                count,
            });
        }
        Ok(self.spaces.remove(index))
    }

    fn space_index(&self, id: &str) -> Result<usize> {
        self.spaces
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| AgendaError::not_found(Entity::Space, id))
    }

    fn check_space_name(&self, space: &Space, replacing: Option<usize>) -> Result<()> {
        let lower = space.name.to_lowercase();
        let clash = self
            .spaces
            .iter()
            .enumerate()
            .find(|(i, s)| Some(*i) != replacing && s.name.to_lowercase() == lower);
        if let Some((_, other)) = clash {
            return Err(AgendaError::invalid(
                "name",
                format!("space {:?} already has this name", other.id),
            ));
        }
        Ok(())
    }

    // ----- sessions --------------------------------------------------------

    /// Post a topic into a free (round, space) cell.
    ///
    /// Rules: ids are supplied by the caller (no randomness here) and must be
    /// unused, `chart_id` too (one chart per session); the round must be a
    /// [`RoundKind::Breakout`] (circles are plenaries); the cell must be
    /// free ([`AgendaError::CellTaken`] names the occupant); topic is
    /// trimmed, 1..=200 characters, one line; convener 1..=100. The session
    /// starts as [`SessionState::Proposed`]. Past rounds are not refused:
    /// this crate knows no clock, and documenting a session after the fact
    /// is legitimate.
    pub fn propose_session(
        &mut self,
        id: impl Into<String>,
        chart_id: impl Into<String>,
        topic: &str,
        convener: &str,
        round_id: &str,
        space_id: &str,
    ) -> Result<Session> {
        let session = Session {
            id: id.into(),
            topic: text::single_line("topic", topic, text::TOPIC_MAX_CHARS)?,
            convener: text::single_line("convener", convener, text::CONVENER_MAX_CHARS)?,
            round_id: round_id.to_owned(),
            space_id: space_id.to_owned(),
            chart_id: chart_id.into(),
            state: SessionState::Proposed,
        };
        self.insert_session(session.clone())?;
        Ok(session)
    }

    /// Validate a complete session against the grid and append it.
    fn insert_session(&mut self, session: Session) -> Result<()> {
        session.validate()?;
        if self.sessions.iter().any(|s| s.id == session.id) {
            return Err(AgendaError::DuplicateId {
                what: Entity::Session,
                id: session.id,
            });
        }
        if self.sessions.iter().any(|s| s.chart_id == session.chart_id) {
            return Err(AgendaError::DuplicateId {
                what: Entity::Chart,
                id: session.chart_id,
            });
        }
        self.check_cell(&session.round_id, &session.space_id, None)?;
        self.sessions.push(session);
        Ok(())
    }

    /// Check that (round, space) exist, the round is a breakout and the cell
    /// is free (ignoring the session `moving`).
    fn check_cell(&self, round_id: &str, space_id: &str, moving: Option<&str>) -> Result<()> {
        let round = self.round(round_id)?;
        self.space(space_id)?;
        if round.kind != RoundKind::Breakout {
            return Err(AgendaError::NotABreakout {
                round: round.id.clone(),
                kind: round.kind,
            });
        }
        if let Some(other) = self.session_at(round_id, space_id) {
            if Some(other.id.as_str()) != moving {
                return Err(AgendaError::CellTaken {
                    round: round_id.to_owned(),
                    space: space_id.to_owned(),
                    session: other.id.clone(),
                });
            }
        }
        Ok(())
    }

    fn session_index(&self, id: &str) -> Result<usize> {
        self.sessions
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| AgendaError::not_found(Entity::Session, id))
    }

    /// Index of a session that may still be edited (not final).
    fn editable_index(&self, id: &str) -> Result<usize> {
        let index = self.session_index(id)?;
        if self.sessions[index].state == SessionState::Final {
            return Err(AgendaError::SessionFinal {
                session: id.to_owned(),
            });
        }
        Ok(index)
    }

    /// Move a session to another free cell (allowed while proposed or live:
    /// rooms do change mid-session). Moving onto its own cell is a no-op.
    pub fn move_session(&mut self, id: &str, round_id: &str, space_id: &str) -> Result<Session> {
        let index = self.editable_index(id)?;
        self.check_cell(round_id, space_id, Some(id))?;
        let session = &mut self.sessions[index];
        session.round_id = round_id.to_owned();
        session.space_id = space_id.to_owned();
        Ok(session.clone())
    }

    /// Change a session's topic (same rules as when proposing).
    pub fn rename_session(&mut self, id: &str, topic: &str) -> Result<Session> {
        let index = self.editable_index(id)?;
        let topic = text::single_line("topic", topic, text::TOPIC_MAX_CHARS)?;
        let session = &mut self.sessions[index];
        session.topic = topic;
        Ok(session.clone())
    }

    /// Remove a session from the agenda and return it. Its chart is not
    /// touched: the caller keeps (or archives) `chart_id`, since notes
    /// already taken must not vanish. Final sessions must be reopened first.
    pub fn cancel_session(&mut self, id: &str) -> Result<Session> {
        let index = self.editable_index(id)?;
        Ok(self.sessions.remove(index))
    }

    /// Merge two sessions on the same theme: `absorb` is removed from the
    /// agenda and `keep` stays in its cell with topic `"<keep> + <absorb>"`
    /// (cut to 200 characters with a trailing `…`). The kept session
    /// becomes live if either was live. Neither may be final, and they must
    /// differ. The caller merges `absorbed.chart_id` into `kept.chart_id`.
    pub fn merge_sessions(&mut self, keep: &str, absorb: &str) -> Result<MergeOutcome> {
        if keep == absorb {
            return Err(AgendaError::invalid(
                "absorb",
                "a session cannot be merged into itself",
            ));
        }
        let keep_index = self.editable_index(keep)?;
        let absorb_index = self.editable_index(absorb)?;
        let absorbed = self.sessions[absorb_index].clone();
        let kept = &mut self.sessions[keep_index];
        kept.topic = merged_topic(&kept.topic, &absorbed.topic);
        if absorbed.state == SessionState::Live {
            kept.state = SessionState::Live;
        }
        let kept = kept.clone();
        self.sessions.remove(absorb_index);
        Ok(MergeOutcome { kept, absorbed })
    }

    /// Advance a session's state: `Proposed → Live → Final`. Setting the
    /// current state again is an idempotent no-op (retries are harmless);
    /// skipping (`Proposed → Final`) or going back is an
    /// [`AgendaError::InvalidTransition`]. Use
    /// [`Conference::reopen_session`] to leave `Final`.
    pub fn set_state(&mut self, id: &str, to: SessionState) -> Result<Session> {
        let index = self.session_index(id)?;
        let session = &mut self.sessions[index];
        let from = session.state;
        let allowed = from == to
            || matches!(
                (from, to),
                (SessionState::Proposed, SessionState::Live)
                    | (SessionState::Live, SessionState::Final)
            );
        if !allowed {
            return Err(AgendaError::InvalidTransition {
                session: id.to_owned(),
                from,
                to,
            });
        }
        session.state = to;
        Ok(session.clone())
    }

    /// Take a final session back to `Live` so its chart and topic can be
    /// corrected. Meant for organizers only: this crate has no notion of
    /// roles, so the caller must check permission before calling. Fails with
    /// [`AgendaError::InvalidTransition`] unless the session is final.
    pub fn reopen_session(&mut self, id: &str) -> Result<Session> {
        let index = self.session_index(id)?;
        let session = &mut self.sessions[index];
        if session.state != SessionState::Final {
            return Err(AgendaError::InvalidTransition {
                session: id.to_owned(),
                from: session.state,
                to: SessionState::Live,
            });
        }
        session.state = SessionState::Live;
        Ok(session.clone())
    }

    /// Serialize to JSON (convenience for storage and tests).
    pub fn to_json(&self) -> std::result::Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Parse from JSON, re-validating every rule.
    pub fn from_json(json: &str) -> std::result::Result<Conference, serde_json::Error> {
        serde_json::from_str(json)
    }
}

fn check_dates(start: Date, end: Date) -> Result<()> {
    if end < start {
        return Err(AgendaError::invalid(
            "end_date",
            "must not be before start_date",
        ));
    }
    let days = start
        .until(end)
        .map(|span| span.get_days())
        .map_err(|e| AgendaError::invalid("end_date", e.to_string()))?;
    if days >= MAX_CONFERENCE_DAYS {
        return Err(AgendaError::invalid(
            "end_date",
            format!("a conference lasts at most {MAX_CONFERENCE_DAYS} days"),
        ));
    }
    Ok(())
}

/// `"<a> + <b>"`, cut to [`text::TOPIC_MAX_CHARS`] with a trailing `…`.
fn merged_topic(keep: &str, absorb: &str) -> String {
    let full = format!("{keep} + {absorb}");
    if full.chars().count() <= text::TOPIC_MAX_CHARS {
        return full;
    }
    let mut cut: String = full.chars().take(text::TOPIC_MAX_CHARS - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_topic_is_bounded() {
        assert_eq!(merged_topic("A", "B"), "A + B");
        let long = merged_topic(&"a".repeat(150), &"b".repeat(150));
        assert_eq!(long.chars().count(), text::TOPIC_MAX_CHARS);
        assert!(long.ends_with('…'));
    }
}
