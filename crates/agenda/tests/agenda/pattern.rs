//! Round patterns, including the VOSonOS worldwide rhythm.

use easel_agenda::{
    AgendaError, Conference, PatternSegment, RoundKind, RoundPattern, SegmentStart, StartTime,
};
use jiff::civil::date;

use super::ts;

fn counter(prefix: &'static str) -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("{prefix}{n}")
    }
}

/// VOSonOS-like rhythm over four days: three 90-minute opening circles 8
/// hours apart (08:00 Berlin = 07:00Z, then 15:00Z, 23:00Z), then 2-hour
/// breakouts every 4 hours around the clock for two days (six a day), then
/// three closing circles 8 hours apart.
fn vosonos() -> RoundPattern {
    RoundPattern::new()
        .then(
            PatternSegment::new(
                RoundKind::OpeningCircle,
                3,
                SegmentStart::At {
                    start: StartTime::civil("2026-11-02T08:00", "Europe/Berlin").unwrap(),
                },
                8 * 60,
                90,
            )
            .with_label("Opening circle"),
        )
        .then(
            PatternSegment::new(
                RoundKind::Breakout,
                12,
                SegmentStart::AfterPrevious { gap_minutes: 150 },
                4 * 60,
                120,
            )
            .with_label("Breakout"),
        )
        .then(
            PatternSegment::new(
                RoundKind::ClosingCircle,
                3,
                SegmentStart::AfterPrevious {
                    gap_minutes: 6 * 60,
                },
                8 * 60,
                90,
            )
            .with_label("Closing circle"),
        )
}

#[test]
fn vosonos_pattern_builds_the_right_instants() {
    let rounds = vosonos().build(counter("r")).unwrap();
    let starts: Vec<String> = rounds.iter().map(|r| r.start_utc_rfc3339()).collect();
    let mut expected = vec![
        "2026-11-02T07:00:00Z".to_string(),
        "2026-11-02T15:00:00Z".to_string(),
        "2026-11-02T23:00:00Z".to_string(),
    ];
    for day in ["03", "04"] {
        for hour in ["03", "07", "11", "15", "19", "23"] {
            expected.push(format!("2026-11-{day}T{hour}:00:00Z"));
        }
    }
    expected.extend(
        [
            "2026-11-05T07:00:00Z",
            "2026-11-05T15:00:00Z",
            "2026-11-05T23:00:00Z",
        ]
        .map(String::from),
    );
    assert_eq!(starts, expected);

    assert_eq!(rounds[0].id, "r1");
    assert_eq!(rounds[17].id, "r18");
    assert_eq!(rounds[0].label.as_deref(), Some("Opening circle 1"));
    assert_eq!(rounds[3].label.as_deref(), Some("Breakout 1"));
    assert_eq!(rounds[14].label.as_deref(), Some("Breakout 12"));
    assert_eq!(rounds[3].duration_minutes, 120);
    assert_eq!(rounds[17].kind, RoundKind::ClosingCircle);

    // Into a UTC conference: four days, 3 + 6 + 6 + 3 rounds.
    let mut conf = Conference::new(
        "vosonos",
        "VOSonOS",
        "UTC",
        date(2026, 11, 2),
        date(2026, 11, 5),
    )
    .unwrap();
    conf.add_rounds(rounds).unwrap();
    let per_day: Vec<usize> = conf.days().iter().map(|d| d.round_ids.len()).collect();
    assert_eq!(per_day, [3, 6, 6, 3]);
    assert_eq!(conf.days()[0].label, "Day 1 — Mon 2 Nov 2026");
    // Someone in Sydney sees the first opening circle in their evening.
    assert_eq!(
        conf.format_round_start_for_viewer("r1", "Australia/Sydney")
            .unwrap(),
        "Mon 2 Nov 2026 18:00 AEDT (+11:00)"
    );
}

#[test]
fn rfc3339_start_and_single_round_label() {
    let pattern = RoundPattern::new().then(
        PatternSegment::new(
            RoundKind::OpeningCircle,
            1,
            SegmentStart::At {
                start: StartTime::rfc3339("2026-11-02T09:00:00+01:00").unwrap(),
            },
            0,
            60,
        )
        .with_label("Marketplace"),
    );
    let rounds = pattern.build(counter("x")).unwrap();
    assert_eq!(rounds.len(), 1);
    assert_eq!(rounds[0].starts_at, ts("2026-11-02T08:00:00Z"));
    assert_eq!(rounds[0].label.as_deref(), Some("Marketplace"));
}

#[test]
fn steps_are_elapsed_time_across_dst() {
    // 24 hours after 12:00 WEST on 24 Oct is 11:00 WET on 25 Oct in Lisbon.
    let pattern = RoundPattern::new().then(PatternSegment::new(
        RoundKind::Breakout,
        2,
        SegmentStart::At {
            start: StartTime::civil("2026-10-24T12:00", "Europe/Lisbon").unwrap(),
        },
        24 * 60,
        60,
    ));
    let rounds = pattern.build(counter("d")).unwrap();
    assert_eq!(rounds[0].starts_at, ts("2026-10-24T11:00:00Z"));
    assert_eq!(rounds[1].starts_at, ts("2026-10-25T11:00:00Z"));
}

#[test]
fn pattern_errors() {
    let at = || SegmentStart::At {
        start: StartTime::rfc3339("2026-11-02T09:00:00Z").unwrap(),
    };
    let field = |p: RoundPattern| match p.build(counter("e")).unwrap_err() {
        AgendaError::InvalidInput { field, .. } => field,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(field(RoundPattern::new()), "segments");
    assert_eq!(
        field(RoundPattern::new().then(PatternSegment::new(RoundKind::Breakout, 0, at(), 60, 60))),
        "count"
    );
    assert_eq!(
        field(RoundPattern::new().then(PatternSegment::new(RoundKind::Breakout, 2, at(), 30, 60))),
        "interval_minutes"
    );
    assert_eq!(
        field(RoundPattern::new().then(PatternSegment::new(RoundKind::Breakout, 1, at(), 0, 0))),
        "duration_minutes"
    );
    assert_eq!(
        field(RoundPattern::new().then(PatternSegment::new(
            RoundKind::Breakout,
            1,
            SegmentStart::AfterPrevious { gap_minutes: 0 },
            0,
            60
        ))),
        "start"
    );
    assert_eq!(
        field(RoundPattern::new().then(PatternSegment::new(
            RoundKind::Breakout,
            1001,
            at(),
            60,
            60
        ))),
        "segments"
    );
    assert_eq!(
        field(
            RoundPattern::new()
                .then(PatternSegment::new(RoundKind::Breakout, 1, at(), 60, 60).with_label(" "))
        ),
        "label"
    );
    // Two explicit segments that collide.
    let clash = RoundPattern::new()
        .then(PatternSegment::new(RoundKind::Breakout, 2, at(), 60, 60))
        .then(PatternSegment::new(RoundKind::Breakout, 1, at(), 60, 60));
    assert!(matches!(
        clash.build(counter("e")),
        Err(AgendaError::RoundsOverlap { .. })
    ));
    // A civil start inside a DST gap.
    let gap = RoundPattern::new().then(PatternSegment::new(
        RoundKind::Breakout,
        1,
        SegmentStart::At {
            start: StartTime::civil("2026-03-08T02:30", "America/New_York").unwrap(),
        },
        0,
        60,
    ));
    assert!(matches!(
        gap.build(counter("e")),
        Err(AgendaError::NonexistentLocalTime { .. })
    ));
    assert!(matches!(
        StartTime::civil("2026-03-08T02:30", "Nowhere"),
        Err(AgendaError::InvalidTimeZone { .. })
    ));
    assert!(matches!(
        StartTime::rfc3339("2026-03-08T02:30"),
        Err(AgendaError::InvalidInput { .. })
    ));
}

#[test]
fn pattern_serde_roundtrip() {
    let pattern = vosonos();
    let json = serde_json::to_string(&pattern).unwrap();
    assert!(json.contains(r#""type":"civil""#), "{json}");
    assert!(json.contains(r#""time_zone":"Europe/Berlin""#), "{json}");
    let back: RoundPattern = serde_json::from_str(&json).unwrap();
    assert_eq!(back, pattern);
}
