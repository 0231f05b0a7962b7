//! Typed errors for every rule the agenda enforces.
//!
//! Why: the REST layer and the hub have to turn a refused edit into something
//! a participant can act on ("that cell was just taken", "that time does not
//! exist in Lisbon on that day"). A single enum with structured fields lets
//! them map each case to a status code and message without parsing strings.

use jiff::civil::{Date, DateTime};
use serde::{Deserialize, Serialize};

use crate::model::{RoundKind, SessionState};

/// Which kind of agenda entity an error is about.
///
/// Why: `NotFound`, `DuplicateId` and `HasSessions` apply to several entity
/// kinds; a closed enum (rather than a free string) lets callers match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    /// A [`crate::Round`] (time slot).
    Round,
    /// A [`crate::Space`] (room or video call).
    Space,
    /// A [`crate::Session`] (posted topic).
    Session,
    /// The chart id attached to a session.
    Chart,
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Entity::Round => "round",
            Entity::Space => "space",
            Entity::Session => "session",
            Entity::Chart => "chart",
        })
    }
}

/// Everything that can go wrong when building or editing an agenda.
///
/// Why: each variant names one rule so a caller can react precisely (e.g.
/// offer the next free cell on [`AgendaError::CellTaken`], or ask for an
/// explicit offset on [`AgendaError::NonexistentLocalTime`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgendaError {
    /// The referenced entity does not exist (it may have just been removed
    /// by someone else).
    #[error("{what} {id:?} not found")]
    NotFound {
        /// Kind of entity looked up.
        what: Entity,
        /// The id that was not found.
        id: String,
    },
    /// An entity with this id already exists; ids must be unique per kind.
    #[error("{what} id {id:?} is already in use")]
    DuplicateId {
        /// Kind of entity.
        what: Entity,
        /// The clashing id.
        id: String,
    },
    /// The (round, space) cell of the grid already holds a session.
    #[error("round {round:?} in space {space:?} is already taken by session {session:?}")]
    CellTaken {
        /// Round of the cell.
        round: String,
        /// Space of the cell.
        space: String,
        /// Session occupying the cell.
        session: String,
    },
    /// Sessions can only be placed into breakout rounds; opening and closing
    /// circles are plenaries.
    #[error("round {round:?} is a {kind:?}; sessions go into breakout rounds only")]
    NotABreakout {
        /// The round that was targeted.
        round: String,
        /// Its kind.
        kind: RoundKind,
    },
    /// The round or space still has sessions; move or cancel them first.
    #[error("{what} {id:?} still has {count} session(s)")]
    HasSessions {
        /// Round or space.
        what: Entity,
        /// Its id.
        id: String,
        /// How many sessions are in it.
        count: usize,
    },
    /// Two rounds would overlap in time; a participant can only attend one.
    #[error("round {round:?} overlaps round {other:?}")]
    RoundsOverlap {
        /// The round being added or changed.
        round: String,
        /// The existing round it collides with.
        other: String,
    },
    /// A round starts on a local date outside the conference's dates.
    #[error("round {round:?} starts on {date} (conference time), outside the conference dates")]
    OutsideConferenceDates {
        /// The round.
        round: String,
        /// Its start date in the conference time zone.
        date: Date,
    },
    /// The name is not an IANA time zone known to the tz database.
    #[error("invalid time zone {name:?}: {reason}")]
    InvalidTimeZone {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The wall-clock time does not exist in that zone (it falls into a
    /// daylight-saving gap, e.g. 02:30 on a spring-forward night).
    #[error("{datetime} does not exist in {time_zone} (daylight-saving gap); pick another time or give an explicit UTC offset")]
    NonexistentLocalTime {
        /// The requested wall-clock time.
        datetime: DateTime,
        /// The IANA zone it was requested in.
        time_zone: String,
    },
    /// A field failed validation.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Name of the offending field (matches the API/serde field name).
        field: &'static str,
        /// Human-readable reason.
        reason: String,
    },
    /// The session state machine does not allow this change.
    #[error("session {session:?} cannot go from {from:?} to {to:?}")]
    InvalidTransition {
        /// The session.
        session: String,
        /// Its current state.
        from: SessionState,
        /// The requested state.
        to: SessionState,
    },
    /// The session is final (its proceedings are done) and is frozen until
    /// an organizer reopens it.
    #[error("session {session:?} is final; reopen it before changing it")]
    SessionFinal {
        /// The frozen session.
        session: String,
    },
}

impl AgendaError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        AgendaError::InvalidInput {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(what: Entity, id: &str) -> Self {
        AgendaError::NotFound {
            what,
            id: id.to_owned(),
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = AgendaError> = std::result::Result<T, E>;
