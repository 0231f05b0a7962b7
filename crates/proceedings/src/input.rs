//! The input model of the proceedings compiler.
//!
//! Proceedings are compiled from plain data so that this crate stays pure and
//! independent of the agenda and storage crates: the binary maps its agenda
//! and the charts' documents into these types, already formatted for display
//! (labels, local times), and hands them over.

use easel_chart::ChartContent;
use serde::{Deserialize, Serialize};

/// Conference-level facts shown on the cover.
// The HTTP API serves the same facts at the top of a conference (flattened
// into `ConferenceView`, with the `openapi` feature): written once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConferenceInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    /// IANA zone the agenda is planned in, e.g. `Europe/Lisbon`.
    pub time_zone: String,
    /// First day, `YYYY-MM-DD`, in the conference zone.
    pub start_date: String,
    /// Last day (inclusive), `YYYY-MM-DD`.
    pub end_date: String,
}

/// What a document entry records: a breakout session, or the plenary chart
/// of an opening or closing circle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    #[default]
    Session,
    OpeningCircle,
    ClosingCircle,
}

impl SessionKind {
    /// How readers call it, e.g. "Opening circle".
    pub fn label(self) -> &'static str {
        match self {
            SessionKind::Session => "Session",
            SessionKind::OpeningCircle => "Opening circle",
            SessionKind::ClosingCircle => "Closing circle",
        }
    }

    pub fn is_circle(self) -> bool {
        self != SessionKind::Session
    }
}

/// Another session a session points to (continuations).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedSession {
    pub id: String,
    pub topic: String,
}

/// Whose names the documents show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    /// Conveners and participants are listed.
    #[default]
    Named,
    /// No person's name (see [`crate::anonymize`]).
    Anonymous,
}

/// One session of the agenda with its chart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInput {
    /// Stable session id; used for the permalink anchor `session-{id}`.
    pub id: String,
    pub topic: String,
    pub convener: String,
    pub space: String,
    /// Display label of the round, e.g. `Round 2 · 11:00`.
    pub round_label: String,
    /// Display label of the day, e.g. `Day 1 — Mon 3 Nov 2026`.
    pub day_label: String,
    pub round_index: u32,
    pub day_index: u32,
    pub space_index: u32,
    /// Start time already formatted in the conference time zone.
    pub starts_local: String,
    /// Start time as RFC 3339 (UTC).
    pub starts_utc: String,
    /// Agenda state of the session (free text, e.g. `held`).
    pub state: String,
    pub content: ChartContent,
    /// The chart's id (for links to it, e.g. in the action register).
    #[serde(default)]
    pub chart_id: String,
    #[serde(default)]
    pub kind: SessionKind,
    /// The session this one continues (an earlier cohort or day).
    #[serde(default)]
    pub continues: Option<LinkedSession>,
    /// The sessions that continue this one.
    #[serde(default)]
    pub continued_in: Vec<LinkedSession>,
}

/// Everything needed to compile proceedings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProceedingsInput {
    pub conference: ConferenceInfo,
    pub sessions: Vec<SessionInput>,
    /// Whether the input was anonymized ([`crate::anonymize`]).
    #[serde(default)]
    pub attribution: Attribution,
    /// The convergence phase's dots; `None` when there was none (no
    /// Priorities section).
    #[serde(default)]
    pub votes: Option<crate::priorities::VotesInput>,
}
