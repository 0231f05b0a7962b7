//! `easel-agenda`: the Open Space conference model and its rules.
//!
//! Why this crate exists: in Open Space Technology the participants build the
//! agenda themselves by posting topics into a grid of rounds (time slots) ×
//! spaces (rooms or video calls). Easel serves that grid live to everyone,
//! so the rules that keep it consistent have to live in one pure place that
//! the REST API, the real-time hub and storage all share. This crate does no
//! IO, holds no clock and no randomness (ids come from the caller), and
//! every type is serde-serializable.
//!
//! - [`Conference`]: the aggregate; every edit is validated and atomic.
//! - [`Round`], [`Space`], [`Session`]: the grid's data.
//! - [`RoundPattern`]: generate many rounds from a rhythm (e.g. VOSonOS).
//! - [`Zone`] and the `zone` helpers: IANA time zones, DST-aware civil time
//!   resolution and display formatting.
//! - [`AgendaError`]: what went wrong, in a form a caller can act on.
//! - [`calendar`]: the agenda as an iCalendar (RFC 5545) document.
//!
//! ```
//! use easel_agenda::{AgendaError, Conference, Round, RoundKind, Space};
//! use jiff::civil::date;
//!
//! let mut conf = Conference::new(
//!     "c1", "Easel Open Space", "Europe/Lisbon", date(2026, 11, 2), date(2026, 11, 3),
//! )?;
//! let start = conf.time_zone().resolve("2026-11-02T10:00".parse()?)?;
//! conf.add_round(Round::new("r1", start, 60, RoundKind::Breakout)?)?;
//! conf.add_space(Space::new("kitchen", "Kitchen", None, Some(12))?)?;
//! conf.propose_session("s1", "chart-1", "Async retros", "Ana", "r1", "kitchen")?;
//! assert!(matches!(
//!     conf.propose_session("s2", "chart-2", "Pairing", "Bo", "r1", "kitchen"),
//!     Err(AgendaError::CellTaken { .. })
//! ));
//! assert_eq!(conf.days()[0].label, "Day 1 — Mon 2 Nov 2026");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod calendar;
mod conference;
mod error;
mod model;
mod pattern;
mod position;
mod text;
pub mod zone;

pub use calendar::{agenda_ics, session_ics, IcsOptions};
pub use conference::{Conference, Day, MergeOutcome, MAX_CONFERENCE_DAYS};
pub use error::{AgendaError, Entity, Result};
pub use model::{Round, RoundKind, Session, SessionState, Space, MAX_ROUND_MINUTES};
pub use pattern::{PatternSegment, RoundPattern, SegmentStart, StartTime, MAX_PATTERN_ROUNDS};
pub use position::Position;
pub use text::{CONVENER_MAX_CHARS, TOPIC_MAX_CHARS};
pub use zone::Zone;
