//! The organizer dashboard: every session with its state, head count
//! against its space's capacity and last edit, sorted so that what needs a
//! nudge comes first.
//!
//! States: `final`; `overdue` (not final, and its round ended at least the
//! overdue delay ago, `--overdue-after`); otherwise `writing` when its chart
//! holds notes, `empty` when it holds nothing but the template. Notes are
//! read from the chart's stored content, so the states are right after a
//! restart too; only the last edit time is then unknown until the next
//! edit (see [`crate::activity`]).

use std::collections::HashMap;

use easel_agenda::{zone, SessionState};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::proceedings::chart_content;
use crate::{Conferences, Result, StoredConference};

/// Where a session is in its life, as the dashboard tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not final, and its round ended the overdue delay ago or more.
    Overdue,
    /// Nothing but the template in its chart.
    Empty,
    /// Its chart holds notes; not final yet.
    Writing,
    /// Made final: its report is on the news wall.
    Final,
}

/// Where a session's round is in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundStatus {
    Upcoming,
    Running,
    Ended,
}

/// One session on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = DashboardSessionView)]
pub struct DashboardSession {
    pub session_id: String,
    pub chart_id: String,
    pub topic: String,
    pub convener: String,
    pub space_id: String,
    /// The space's name (empty if unknown).
    pub space: String,
    /// How many people fit in the space, if the organizers said.
    pub capacity: Option<u32>,
    pub round_id: String,
    /// RFC 3339 UTC.
    pub starts_at: String,
    /// RFC 3339 UTC.
    pub ends_at: String,
    /// `upcoming`, `running` or `ended`.
    #[schema(value_type = String, example = "running")]
    pub round_status: RoundStatus,
    /// `overdue`, `empty`, `writing` or `final`.
    #[schema(value_type = String, example = "writing")]
    pub status: Status,
    /// Whether its chart holds anything beyond the template.
    pub has_notes: bool,
    /// People in its chart now (open connections, on every node).
    pub head_count: u64,
    /// Last change to its chart seen since `edits_known_since`, RFC 3339
    /// UTC; `null` if none was seen since then, and for a chart without
    /// notes (whose only change is usually the seeded template).
    pub last_edit_at: Option<String>,
    /// When it was made final, RFC 3339 UTC.
    pub finalized_at: Option<String>,
    /// Why it needs a nudge, for people (`null` when it does not).
    pub nudge: Option<String>,
}

/// The whole dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = DashboardView)]
pub struct Dashboard {
    pub conference_id: String,
    pub name: String,
    pub time_zone: String,
    /// The server's clock when this was computed, RFC 3339 UTC.
    pub now: String,
    /// A session is overdue this long after its round ended.
    pub overdue_after_minutes: u64,
    /// Since when every chart edit is known (this server's start): a
    /// `last_edit_at` of `null` means "no edit since then". The store
    /// keeps no edit times, so after a restart the states come from the
    /// charts' stored content and last edits fill in as people write.
    pub edits_known_since: Option<String>,
    /// Nudge first: overdue (empty ones first), then empty in a running
    /// round, empty in an ended round, being written, upcoming, final;
    /// each group in agenda order.
    pub sessions: Vec<DashboardSession>,
}

/// What the dashboard is computed from besides the agenda.
pub struct Inputs<'a> {
    pub now: Timestamp,
    pub overdue_after: SignedDuration,
    /// Chart id → whether it holds notes (missing: no notes).
    pub has_notes: &'a HashMap<String, bool>,
    pub head_count: &'a dyn Fn(&str) -> u64,
    pub last_edit: &'a dyn Fn(&str) -> Option<Timestamp>,
    pub edits_known_since: Option<Timestamp>,
}

fn rank(s: &DashboardSession) -> u8 {
    match (s.status, s.round_status) {
        (Status::Overdue, _) if !s.has_notes => 0,
        (Status::Overdue, _) => 1,
        (Status::Empty, RoundStatus::Running) => 2,
        (Status::Empty, RoundStatus::Ended) => 3,
        (Status::Writing, RoundStatus::Running | RoundStatus::Ended) => 4,
        (Status::Empty | Status::Writing, RoundStatus::Upcoming) => 5,
        (Status::Final, _) => 6,
    }
}

fn minutes(d: SignedDuration) -> i64 {
    d.as_secs() / 60
}

/// The dashboard of `stored` (pure: the clock and the hub come in `inputs`).
pub fn dashboard(stored: &StoredConference, inputs: &Inputs<'_>) -> Dashboard {
    let c = &stored.conference;
    let mut sessions: Vec<(u8, easel_agenda::Position, DashboardSession)> = c
        .sessions()
        .iter()
        .map(|s| {
            let round = c.round(&s.round_id).ok();
            let space = c.space(&s.space_id).ok();
            let (starts, ends) = round
                .map(|r| (r.starts_at, r.ends_at()))
                .unwrap_or((Timestamp::MAX, Timestamp::MAX));
            let round_status = if inputs.now < starts {
                RoundStatus::Upcoming
            } else if inputs.now < ends {
                RoundStatus::Running
            } else {
                RoundStatus::Ended
            };
            let has_notes = inputs.has_notes.get(&s.chart_id).copied().unwrap_or(false);
            let since_end = inputs.now.duration_since(ends);
            let status = if s.state == SessionState::Final {
                Status::Final
            } else if round_status == RoundStatus::Ended && since_end >= inputs.overdue_after {
                Status::Overdue
            } else if has_notes {
                Status::Writing
            } else {
                Status::Empty
            };
            let head_count = (inputs.head_count)(&s.chart_id);
            let nudge = match (status, round_status) {
                (Status::Overdue, _) => Some(format!(
                    "Round ended {} min ago; {}not final",
                    minutes(since_end),
                    if has_notes { "" } else { "nothing written, " }
                )),
                (Status::Empty, RoundStatus::Running) => Some(format!(
                    "Round running for {} min; nothing written yet",
                    minutes(inputs.now.duration_since(starts))
                )),
                (Status::Empty, RoundStatus::Ended) => {
                    Some("Round ended; nothing written".to_owned())
                }
                (Status::Writing, RoundStatus::Ended) => {
                    Some("Round ended; not final yet".to_owned())
                }
                _ => None,
            };
            let view = DashboardSession {
                session_id: s.id.clone(),
                chart_id: s.chart_id.clone(),
                topic: s.topic.clone(),
                convener: s.convener.clone(),
                space_id: s.space_id.clone(),
                space: space.map(|sp| sp.name.clone()).unwrap_or_default(),
                capacity: space.and_then(|sp| sp.capacity),
                round_id: s.round_id.clone(),
                starts_at: round
                    .map(|r| zone::format_utc(r.starts_at))
                    .unwrap_or_default(),
                ends_at: round
                    .map(|r| zone::format_utc(r.ends_at()))
                    .unwrap_or_default(),
                round_status,
                status,
                has_notes,
                head_count,
                // A blank chart's only change is usually the template the
                // server seeded it with: no one's edit.
                last_edit_at: (inputs.last_edit)(&s.chart_id)
                    .filter(|_| has_notes)
                    .map(zone::format_utc),
                finalized_at: (s.state == SessionState::Final)
                    .then(|| zone::format_utc(crate::news::finalized_at(stored, s))),
                nudge,
            };
            (rank(&view), c.position(s), view)
        })
        .collect();
    sessions.sort_by(|(ra, pa, a), (rb, pb, b)| {
        (ra, pa.sort_key(), &a.session_id).cmp(&(rb, pb.sort_key(), &b.session_id))
    });
    Dashboard {
        conference_id: c.id().to_owned(),
        name: c.name().to_owned(),
        time_zone: c.time_zone().name().to_owned(),
        now: zone::format_utc(inputs.now),
        overdue_after_minutes: u64::try_from(minutes(inputs.overdue_after)).unwrap_or(0),
        edits_known_since: inputs.edits_known_since.map(zone::format_utc),
        sessions: sessions.into_iter().map(|(_, _, v)| v).collect(),
    }
}

impl Conferences {
    /// The dashboard of a conference now: notes read from every session's
    /// chart, head counts from the hub, last edits from the change feed.
    pub async fn dashboard(
        &self,
        conference_id: &str,
        overdue_after: SignedDuration,
    ) -> Result<Dashboard> {
        let stored = self.load(conference_id).await?;
        let mut has_notes = HashMap::new();
        for s in stored.conference.sessions() {
            let content = chart_content(self.hub(), &s.chart_id).await?;
            has_notes.insert(s.chart_id.clone(), !content.is_blank());
        }
        let hub = self.hub();
        let head_count = |chart: &str| hub.present(chart) as u64;
        let last_edit = |chart: &str| self.last_edit(chart);
        Ok(dashboard(
            &stored,
            &Inputs {
                now: Timestamp::now(),
                overdue_after,
                has_notes: &has_notes,
                head_count: &head_count,
                last_edit: &last_edit,
                edits_known_since: self.last_edits().since,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use easel_agenda::{Conference, Round, RoundKind, Space};

    /// On a fixed clock: every state, in nudge order, with the overdue
    /// delay applied at its edge.
    #[test]
    fn states_and_nudge_order() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let date = jiff::civil::date(2030, 1, 1);
        let mut c = Conference::new("conf", "C", "UTC", date, date).unwrap();
        for (id, start) in [
            ("r1", "2030-01-01T08:00:00Z"),
            ("r2", "2030-01-01T09:30:00Z"),
            ("r3", "2030-01-01T11:00:00Z"),
            ("r4", "2030-01-01T12:30:00Z"),
        ] {
            c.add_round(Round::new(id, at(start), 60, RoundKind::Breakout).unwrap())
                .unwrap();
        }
        for id in ["a", "b"] {
            c.add_space(Space::new(id, id, None, Some(3)).unwrap())
                .unwrap();
        }
        // At 12:45 (the clock below) r1 ended 225 min ago, r2 135 min ago,
        // r3 45 min ago, and r4 is running.
        for (s, round, space) in [
            ("final", "r1", "a"),
            ("late-written", "r1", "b"),
            ("late-empty", "r2", "a"),
            ("ended-written", "r3", "a"),
            ("ended-empty", "r3", "b"),
            ("running-written", "r4", "a"),
            ("running-empty", "r4", "b"),
        ] {
            c.propose_session(s, format!("c-{s}"), s, "Ada", round, space)
                .unwrap();
        }
        c.set_state("final", easel_agenda::SessionState::Live)
            .unwrap();
        c.set_state("final", easel_agenda::SessionState::Final)
            .unwrap();
        let stored = StoredConference {
            version: 1,
            created: Timestamp::UNIX_EPOCH,
            proceedings_public: false,
            proceedings_published_at: None,
            conference: c,
            posters: Default::default(),
            finalized: [("final".to_owned(), at("2030-01-01T09:10:00Z"))].into(),
            report: Default::default(),
        };
        let has_notes: HashMap<String, bool> = ["late-written", "ended-written", "running-written"]
            .iter()
            .map(|s| (format!("c-{s}"), true))
            .collect();
        let edited = at("2030-01-01T12:40:00Z");
        let d = dashboard(
            &stored,
            &Inputs {
                now: at("2030-01-01T12:45:00Z"),
                // r3 ended 45 minutes ago: not overdue yet; r2 is.
                overdue_after: SignedDuration::from_mins(60),
                has_notes: &has_notes,
                head_count: &|chart| u64::from(chart == "c-running-written") * 4,
                last_edit: &|_| Some(edited),
                edits_known_since: Some(at("2030-01-01T07:00:00Z")),
            },
        );
        let got: Vec<(&str, Status)> = d
            .sessions
            .iter()
            .map(|s| (s.session_id.as_str(), s.status))
            .collect();
        assert_eq!(
            got,
            [
                ("late-empty", Status::Overdue),
                ("late-written", Status::Overdue),
                ("running-empty", Status::Empty),
                ("ended-empty", Status::Empty),
                ("ended-written", Status::Writing),
                ("running-written", Status::Writing),
                ("final", Status::Final),
            ]
        );
        let by = |id: &str| d.sessions.iter().find(|s| s.session_id == id).unwrap();
        assert_eq!(
            by("late-empty").nudge.as_deref(),
            Some("Round ended 135 min ago; nothing written, not final")
        );
        assert_eq!(by("running-written").head_count, 4);
        assert_eq!(by("running-written").capacity, Some(3));
        assert_eq!(
            by("running-written").last_edit_at.as_deref(),
            Some("2030-01-01T12:40:00Z")
        );
        assert_eq!(
            by("running-empty").last_edit_at,
            None,
            "a blank chart has no edit"
        );
        assert_eq!(
            by("final").finalized_at.as_deref(),
            Some("2030-01-01T09:10:00Z")
        );
        assert_eq!(d.overdue_after_minutes, 60);
    }
}
