//! The plain data of an agenda: rounds (time slots), spaces (rooms or video
//! calls) and sessions (topics posted into a round × space cell).
//!
//! Why separate from [`crate::Conference`]: these are values that travel
//! over the wire and into storage as they are. The rules that relate them
//! (no two sessions in one cell, rounds inside the conference dates, ...)
//! live in the conference, which is the only place that can mutate them
//! once they are part of an agenda.

use jiff::{SignedDuration, Timestamp, Zoned};
use serde::{Deserialize, Serialize};

use crate::error::{AgendaError, Result};
use crate::text;
use crate::zone::{self, Zone};

/// Longest round accepted, in minutes (one day).
pub const MAX_ROUND_MINUTES: u32 = 24 * 60;

/// What happens in a round.
///
/// Why it matters: opening and closing circles are plenaries where everyone
/// meets in one circle, so no sessions are posted into them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundKind {
    /// Everyone meets; the agenda is created ("marketplace").
    OpeningCircle,
    /// Parallel sessions, one per space.
    Breakout,
    /// Everyone meets to reflect and close.
    ClosingCircle,
}

/// A time slot of the agenda grid.
///
/// `starts_at` is a UTC instant so the same round means the same moment to
/// participants in every zone; wall-clock views are derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    /// Caller-chosen unique id.
    pub id: String,
    /// Start instant (serialized as RFC 3339 UTC).
    pub starts_at: Timestamp,
    /// Length in minutes, 1..=[`MAX_ROUND_MINUTES`].
    pub duration_minutes: u32,
    /// Opening circle, breakout or closing circle.
    pub kind: RoundKind,
    /// Optional display label, e.g. "Morning marketplace".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Round {
    /// Build a round, validating id and duration.
    pub fn new(
        id: impl Into<String>,
        starts_at: Timestamp,
        duration_minutes: u32,
        kind: RoundKind,
    ) -> Result<Round> {
        let round = Round {
            id: id.into(),
            starts_at,
            duration_minutes,
            kind,
            label: None,
        };
        round.validate()?;
        Ok(round)
    }

    /// Set a display label (trimmed, 1..=200 chars, single line).
    pub fn with_label(mut self, label: &str) -> Result<Round> {
        self.label = Some(text::single_line("label", label, text::NAME_MAX_CHARS)?);
        Ok(self)
    }

    /// Check this round's own invariants and normalize the label.
    pub(crate) fn validate(&self) -> Result<()> {
        text::id("round_id", &self.id)?;
        if self.duration_minutes == 0 || self.duration_minutes > MAX_ROUND_MINUTES {
            return Err(AgendaError::invalid(
                "duration_minutes",
                format!("must be between 1 and {MAX_ROUND_MINUTES}"),
            ));
        }
        if let Some(label) = &self.label {
            let clean = text::single_line("label", label, text::NAME_MAX_CHARS)?;
            if &clean != label {
                return Err(AgendaError::invalid(
                    "label",
                    "must not have leading or trailing whitespace",
                ));
            }
        }
        self.ends_at_checked()?;
        Ok(())
    }

    fn ends_at_checked(&self) -> Result<Timestamp> {
        self.starts_at
            .checked_add(SignedDuration::from_mins(i64::from(self.duration_minutes)))
            .map_err(|_| {
                AgendaError::invalid("starts_at", "round ends outside the supported range")
            })
    }

    /// The instant the round ends (start + duration).
    pub fn ends_at(&self) -> Timestamp {
        // `validate` guarantees this does not overflow for rounds built
        // through the public API; saturate defensively for hand-made ones.
        self.ends_at_checked().unwrap_or(Timestamp::MAX)
    }

    /// Whether two rounds share any moment (touching end/start is fine).
    pub fn overlaps(&self, other: &Round) -> bool {
        self.starts_at < other.ends_at() && other.starts_at < self.ends_at()
    }

    /// The start as wall-clock time in `zone` (e.g. a viewer's own zone).
    pub fn start_in(&self, zone: &Zone) -> Zoned {
        zone.zoned(self.starts_at)
    }

    /// The start formatted for people in `zone`, see [`zone::format_local`].
    pub fn format_start_in(&self, zone: &Zone) -> String {
        zone::format_local(&self.start_in(zone))
    }

    /// The start as UTC RFC 3339, e.g. `2026-11-03T09:00:00Z`.
    pub fn start_utc_rfc3339(&self) -> String {
        zone::format_utc(self.starts_at)
    }
}

/// A place where sessions happen: a room, a corner, or a video call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    /// Caller-chosen unique id.
    pub id: String,
    /// Display name, unique within the conference (case-insensitive).
    pub name: String,
    /// Link to the space's video call; `http`/`https` only, because every
    /// participant will click it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    /// How many people fit, if known (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

impl Space {
    /// Build a space, validating and trimming its fields.
    pub fn new(
        id: impl Into<String>,
        name: &str,
        video_url: Option<&str>,
        capacity: Option<u32>,
    ) -> Result<Space> {
        let id = id.into();
        text::id("space_id", &id)?;
        let space = Space {
            id,
            name: text::single_line("name", name, text::NAME_MAX_CHARS)?,
            video_url: video_url.map(text::video_url).transpose()?,
            capacity,
        };
        space.validate()?;
        Ok(space)
    }

    /// Check invariants of a space that may have been built field by field
    /// (or deserialized) rather than through [`Space::new`].
    pub(crate) fn validate(&self) -> Result<()> {
        text::id("space_id", &self.id)?;
        if text::single_line("name", &self.name, text::NAME_MAX_CHARS)? != self.name {
            return Err(AgendaError::invalid(
                "name",
                "must not have leading or trailing whitespace",
            ));
        }
        if let Some(url) = &self.video_url {
            if &text::video_url(url)? != url {
                return Err(AgendaError::invalid(
                    "video_url",
                    "must not have leading or trailing whitespace",
                ));
            }
        }
        if self.capacity == Some(0) {
            return Err(AgendaError::invalid("capacity", "must be at least 1"));
        }
        Ok(())
    }
}

/// Lifecycle of a session.
///
/// `Proposed → Live → Final`. `Final` means the proceedings are written and
/// the session is frozen; only an organizer's
/// [`crate::Conference::reopen_session`] takes it back to `Live`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Posted on the agenda, not started.
    Proposed,
    /// Happening now; its chart is being edited.
    Live,
    /// Done; its chart is the proceedings.
    Final,
}

/// A topic posted into one (round, space) cell of the grid.
// The HTTP API serves it as it is (`SessionView` in the OpenAPI document,
// with the `openapi` feature), so its shape is written once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SessionView))]
pub struct Session {
    /// Caller-chosen unique id.
    pub id: String,
    /// What the session is about (1..=200 chars, one line).
    pub topic: String,
    /// Who posted it and hosts it.
    pub convener: String,
    /// The breakout round it is in.
    pub round_id: String,
    /// The space it is in.
    pub space_id: String,
    /// The collaborative flip chart that records it (unique per session).
    pub chart_id: String,
    /// Lifecycle state: `proposed`, `live` or `final`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "proposed"))]
    pub state: SessionState,
}

impl Session {
    /// Check the session's own fields (not its place in the grid).
    pub(crate) fn validate(&self) -> Result<()> {
        text::id("session_id", &self.id)?;
        text::id("chart_id", &self.chart_id)?;
        text::id("round_id", &self.round_id)?;
        text::id("space_id", &self.space_id)?;
        for (field, value, max) in [
            ("topic", &self.topic, text::TOPIC_MAX_CHARS),
            ("convener", &self.convener, text::CONVENER_MAX_CHARS),
        ] {
            if &text::single_line(field, value, max)? != value {
                return Err(AgendaError::invalid(
                    field,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
        Ok(())
    }
}
