//! Integration tests for `easel-agenda`, one binary with topic modules.
//!
//! Why one binary: each test binary links the whole crate graph, which is
//! slow on the shared 2-core machine.

mod calendar;
mod grid;
mod pattern;
mod serde_roundtrip;
mod time;

use easel_agenda::{Conference, Round, RoundKind, Space};
use jiff::civil::date;
use jiff::Timestamp;

/// Parse an RFC 3339 instant in tests.
pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("valid timestamp")
}

/// A small conference: UTC, 2–4 Nov 2026, an opening circle, two breakouts
/// and two spaces.
pub fn sample() -> Conference {
    let mut conf = Conference::new(
        "c1",
        "Easel Open Space",
        "UTC",
        date(2026, 11, 2),
        date(2026, 11, 4),
    )
    .unwrap();
    conf.add_round(
        Round::new(
            "open",
            ts("2026-11-02T09:00:00Z"),
            60,
            RoundKind::OpeningCircle,
        )
        .unwrap(),
    )
    .unwrap();
    conf.add_round(Round::new("r1", ts("2026-11-02T10:30:00Z"), 60, RoundKind::Breakout).unwrap())
        .unwrap();
    conf.add_round(Round::new("r2", ts("2026-11-02T12:00:00Z"), 60, RoundKind::Breakout).unwrap())
        .unwrap();
    conf.add_space(
        Space::new(
            "kitchen",
            "Kitchen",
            Some("https://meet.example.org/kitchen"),
            Some(12),
        )
        .unwrap(),
    )
    .unwrap();
    conf.add_space(Space::new("garden", "Garden", None, None).unwrap())
        .unwrap();
    conf
}
