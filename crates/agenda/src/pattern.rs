//! Repeating round patterns: generate a whole agenda skeleton from a few
//! segments.
//!
//! Why: worldwide Open Space events repeat the same rhythm for days in
//! real (elapsed) time, e.g. VOSonOS: three opening circles 8 hours apart so
//! every time zone gets one in daytime, then 2-hour breakout rounds starting
//! every 4 hours around the clock. Typing dozens of rounds by hand invites
//! mistakes; a pattern states the rhythm once and this module turns it into
//! exact instants.
//!
//! Semantics: a pattern is a list of [`PatternSegment`]s. Each segment makes
//! `count` rounds of one kind, `interval_minutes` apart, each
//! `duration_minutes` long. A segment either starts at an explicit
//! [`StartTime`] or [`SegmentStart::AfterPrevious`]: when the previous
//! segment's last round ends, plus a gap. Steps are **elapsed** time, not
//! wall-clock: rounds 4 hours apart stay 4 hours apart across any zone's
//! daylight-saving change, which is what a worldwide event needs. A local
//! event that wants "09:00 every day" across a DST change uses one segment
//! per day with a civil start.

use jiff::civil::DateTime;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{AgendaError, Result};
use crate::model::{Round, RoundKind, MAX_ROUND_MINUTES};
use crate::text;
use crate::zone::{self, Zone};

/// Most rounds one pattern may generate (a month of 4-hourly rounds is 180).
pub const MAX_PATTERN_ROUNDS: u32 = 1000;

/// When a segment's first round starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StartTime {
    /// An exact instant (from RFC 3339 with an offset).
    Instant {
        /// The instant.
        at: Timestamp,
    },
    /// A wall-clock time in an IANA zone, resolved with [`Zone::resolve`]
    /// (gap: error; fold: the earlier occurrence).
    Civil {
        /// Local date and time.
        datetime: DateTime,
        /// The zone it is meant in.
        time_zone: Zone,
    },
}

impl StartTime {
    /// Parse an RFC 3339 timestamp with offset, e.g. `2026-11-02T00:00:00Z`.
    pub fn rfc3339(input: &str) -> Result<StartTime> {
        Ok(StartTime::Instant {
            at: zone::parse_instant(input)?,
        })
    }

    /// A civil time such as `2026-11-02T09:00` in an IANA zone such as
    /// `Europe/Lisbon`. The zone is checked now; DST resolution happens at
    /// [`StartTime::resolve`] so its error can name the segment's context.
    pub fn civil(datetime: &str, time_zone: &str) -> Result<StartTime> {
        Ok(StartTime::Civil {
            datetime: zone::parse_civil(datetime)?,
            time_zone: Zone::parse(time_zone)?,
        })
    }

    /// The instant this start denotes.
    pub fn resolve(&self) -> Result<Timestamp> {
        match self {
            StartTime::Instant { at } => Ok(*at),
            StartTime::Civil {
                datetime,
                time_zone,
            } => time_zone.resolve(*datetime),
        }
    }
}

/// How a segment's first round is placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SegmentStart {
    /// At an explicit time.
    At {
        /// The start.
        start: StartTime,
    },
    /// When the previous segment's last round ends, plus `gap_minutes`.
    /// Not allowed on the first segment.
    AfterPrevious {
        /// Pause between the previous segment's end and this one's start.
        gap_minutes: u32,
    },
}

/// `count` rounds of one kind at a fixed elapsed-time rhythm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternSegment {
    /// Kind of every round in the segment.
    pub kind: RoundKind,
    /// Number of rounds, at least 1.
    pub count: u32,
    /// Where the first round starts.
    pub start: SegmentStart,
    /// Minutes from one round's start to the next; at least
    /// `duration_minutes` when `count > 1` (rounds never overlap).
    pub interval_minutes: u32,
    /// Length of each round in minutes.
    pub duration_minutes: u32,
    /// Optional label; rounds get `"<label> <n>"` (1-based) when the
    /// segment has several rounds, else the label itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl PatternSegment {
    /// Convenience constructor without a label.
    pub fn new(
        kind: RoundKind,
        count: u32,
        start: SegmentStart,
        interval_minutes: u32,
        duration_minutes: u32,
    ) -> PatternSegment {
        PatternSegment {
            kind,
            count,
            start,
            interval_minutes,
            duration_minutes,
            label: None,
        }
    }

    /// Set the label.
    pub fn with_label(mut self, label: impl Into<String>) -> PatternSegment {
        self.label = Some(label.into());
        self
    }
}

/// A list of segments that expands into rounds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundPattern {
    /// Segments in order.
    pub segments: Vec<PatternSegment>,
}

impl RoundPattern {
    /// An empty pattern.
    pub fn new() -> RoundPattern {
        RoundPattern::default()
    }

    /// Append a segment (builder style).
    pub fn then(mut self, segment: PatternSegment) -> RoundPattern {
        self.segments.push(segment);
        self
    }

    /// Expand into rounds, asking `next_id` for each round's id (the crate
    /// has no randomness; pass a UUID generator or a counter).
    ///
    /// The rounds are validated on their own (durations, intervals, labels,
    /// DST gaps of civil starts, no overlap between generated rounds) but
    /// not against a conference: hand them to
    /// [`crate::Conference::add_rounds`] for that.
    pub fn build(&self, mut next_id: impl FnMut() -> String) -> Result<Vec<Round>> {
        if self.segments.is_empty() {
            return Err(AgendaError::invalid("segments", "must not be empty"));
        }
        let total: u64 = self.segments.iter().map(|s| u64::from(s.count)).sum();
        if total > u64::from(MAX_PATTERN_ROUNDS) {
            return Err(AgendaError::invalid(
                "segments",
                format!("would create {total} rounds; at most {MAX_PATTERN_ROUNDS} allowed"),
            ));
        }
        let mut rounds: Vec<Round> = Vec::new();
        for (index, segment) in self.segments.iter().enumerate() {
            check_segment(segment)?;
            let first = match &segment.start {
                SegmentStart::At { start } => start.resolve()?,
                SegmentStart::AfterPrevious { gap_minutes } => {
                    let previous = rounds.last().filter(|_| index > 0).ok_or_else(|| {
                        AgendaError::invalid("start", "the first segment needs an explicit start")
                    })?;
                    add_minutes(previous.ends_at(), *gap_minutes)?
                }
            };
            let label = segment
                .label
                .as_deref()
                .map(|l| text::single_line("label", l, text::NAME_MAX_CHARS - 8))
                .transpose()?;
            for n in 0..segment.count {
                let offset = u64::from(n) * u64::from(segment.interval_minutes);
                let starts_at = add_minutes(first, offset)?;
                let mut round =
                    Round::new(next_id(), starts_at, segment.duration_minutes, segment.kind)?;
                round.label = label.as_ref().map(|l| {
                    if segment.count > 1 {
                        format!("{l} {}", n + 1)
                    } else {
                        l.clone()
                    }
                });
                if let Some(other) = rounds.iter().find(|r| r.overlaps(&round)) {
                    return Err(AgendaError::RoundsOverlap {
                        round: round.id,
                        other: other.id.clone(),
                    });
                }
                rounds.push(round);
            }
        }
        Ok(rounds)
    }
}

fn check_segment(segment: &PatternSegment) -> Result<()> {
    if segment.count == 0 {
        return Err(AgendaError::invalid("count", "must be at least 1"));
    }
    if segment.duration_minutes == 0 || segment.duration_minutes > MAX_ROUND_MINUTES {
        return Err(AgendaError::invalid(
            "duration_minutes",
            format!("must be between 1 and {MAX_ROUND_MINUTES}"),
        ));
    }
    if segment.count > 1 && segment.interval_minutes < segment.duration_minutes {
        return Err(AgendaError::invalid(
            "interval_minutes",
            "must be at least duration_minutes so rounds do not overlap",
        ));
    }
    Ok(())
}

fn add_minutes(at: Timestamp, minutes: impl Into<u64>) -> Result<Timestamp> {
    let minutes = i64::try_from(minutes.into())
        .map_err(|_| AgendaError::invalid("interval_minutes", "too large"))?;
    at.checked_add(SignedDuration::from_mins(minutes))
        .map_err(|_| AgendaError::invalid("starts_at", "outside the supported time range"))
}
