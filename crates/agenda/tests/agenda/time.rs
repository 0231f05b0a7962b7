//! Time zones and daylight-saving time: gaps, folds, day grouping, display.

use easel_agenda::zone::{parse_civil, parse_instant};
use easel_agenda::{AgendaError, Conference, Round, RoundKind, Zone};
use jiff::civil::date;

use super::ts;

fn breakout(id: &str, at: jiff::Timestamp) -> Round {
    Round::new(id, at, 60, RoundKind::Breakout).unwrap()
}

#[test]
fn invalid_time_zones() {
    for bad in ["", "Mars/Olympus_Mons", "+05:00", "Europe/Lisbonn"] {
        assert!(
            matches!(Zone::parse(bad), Err(AgendaError::InvalidTimeZone { .. })),
            "{bad:?} accepted"
        );
        assert!(matches!(
            Conference::new("c", "X", bad, date(2026, 1, 1), date(2026, 1, 2)),
            Err(AgendaError::InvalidTimeZone { .. })
        ));
    }
    assert_eq!(
        Zone::parse("america/new_york").unwrap().name(),
        "America/New_York"
    );
}

#[test]
fn new_york_fall_back_fold() {
    // 2026-11-01: clocks go from 02:00 EDT back to 01:00 EST, so 01:30
    // happens twice. Civil input takes the earlier (EDT) one; the later one
    // is reachable with an explicit offset.
    let ny = Zone::parse("America/New_York").unwrap();
    let first = ny
        .resolve(parse_civil("2026-11-01T01:30").unwrap())
        .unwrap();
    assert_eq!(first, ts("2026-11-01T05:30:00Z"));
    let second = parse_instant("2026-11-01T01:30:00-05:00").unwrap();
    assert_eq!(second, ts("2026-11-01T06:30:00Z"));

    let mut conf = Conference::new(
        "c",
        "NY",
        "America/New_York",
        date(2026, 10, 31),
        date(2026, 11, 1),
    )
    .unwrap();
    conf.add_round(breakout("edt", first)).unwrap();
    conf.add_round(breakout("est", second)).unwrap();
    assert_eq!(
        conf.format_round_start("edt").unwrap(),
        "Sun 1 Nov 2026 01:30 EDT (-04:00)"
    );
    assert_eq!(
        conf.format_round_start("est").unwrap(),
        "Sun 1 Nov 2026 01:30 EST (-05:00)"
    );
    // Both belong to Sunday although they are an hour apart.
    let days = conf.days();
    assert_eq!(days.len(), 2);
    assert!(days[0].round_ids.is_empty());
    assert_eq!(days[1].round_ids, ["edt", "est"]);
    assert_eq!(days[1].label, "Day 2 — Sun 1 Nov 2026");
}

#[test]
fn new_york_spring_forward_gap_is_an_error() {
    let ny = Zone::parse("America/New_York").unwrap();
    let err = ny
        .resolve(parse_civil("2026-03-08T02:30").unwrap())
        .unwrap_err();
    assert_eq!(
        err,
        AgendaError::NonexistentLocalTime {
            datetime: parse_civil("2026-03-08T02:30").unwrap(),
            time_zone: "America/New_York".into()
        }
    );
    assert!(err.to_string().contains("daylight-saving gap"));
    // Just outside the gap works.
    assert_eq!(
        ny.resolve(parse_civil("2026-03-08T01:59").unwrap())
            .unwrap(),
        ts("2026-03-08T06:59:00Z")
    );
    assert_eq!(
        ny.resolve(parse_civil("2026-03-08T03:00").unwrap())
            .unwrap(),
        ts("2026-03-08T07:00:00Z")
    );
}

#[test]
fn lisbon_gap_and_fold() {
    let lisbon = Zone::parse("Europe/Lisbon").unwrap();
    // Spring forward 2026-03-29 01:00 WET -> 02:00 WEST.
    assert!(matches!(
        lisbon.resolve(parse_civil("2026-03-29T01:30").unwrap()),
        Err(AgendaError::NonexistentLocalTime { .. })
    ));
    assert_eq!(
        lisbon
            .resolve(parse_civil("2026-03-29T02:00").unwrap())
            .unwrap(),
        ts("2026-03-29T01:00:00Z")
    );
    // Fall back 2026-10-25 02:00 WEST -> 01:00 WET: 01:30 is the WEST one.
    assert_eq!(
        lisbon
            .resolve(parse_civil("2026-10-25T01:30").unwrap())
            .unwrap(),
        ts("2026-10-25T00:30:00Z")
    );
}

#[test]
fn day_grouping_across_dst_uses_local_dates() {
    // Lisbon, across the 2026-10-25 fall-back.
    let lisbon = Zone::parse("Europe/Lisbon").unwrap();
    let at = |s: &str| lisbon.resolve(parse_civil(s).unwrap()).unwrap();
    let mut conf = Conference::new(
        "c",
        "Lisbon",
        "Europe/Lisbon",
        date(2026, 10, 24),
        date(2026, 10, 26),
    )
    .unwrap();
    // 23:30 WEST on the 24th = 22:30Z on the 24th.
    conf.add_round(breakout("sat-late", at("2026-10-24T23:30")))
        .unwrap();
    // 00:30 WEST on the 25th = 23:30Z on the 24th: UTC says Saturday, the
    // conference zone says Sunday.
    conf.add_round(breakout("sun-early", at("2026-10-25T00:30")))
        .unwrap();
    assert_eq!(
        conf.round("sun-early").unwrap().starts_at,
        ts("2026-10-24T23:30:00Z")
    );
    // 23:30 WET on the 25th = 23:30Z on the 25th.
    conf.add_round(breakout("sun-late", at("2026-10-25T23:30")))
        .unwrap();
    conf.add_round(breakout("mon", at("2026-10-26T09:00")))
        .unwrap();
    let days = conf.days();
    let grouped: Vec<(String, Vec<String>)> = days
        .iter()
        .map(|d| (d.label.clone(), d.round_ids.clone()))
        .collect();
    assert_eq!(
        grouped,
        [
            (
                "Day 1 — Sat 24 Oct 2026".to_string(),
                vec!["sat-late".to_string()]
            ),
            (
                "Day 2 — Sun 25 Oct 2026".to_string(),
                vec!["sun-early".to_string(), "sun-late".to_string()]
            ),
            (
                "Day 3 — Mon 26 Oct 2026".to_string(),
                vec!["mon".to_string()]
            ),
        ]
    );
    assert_eq!(days[1].date, date(2026, 10, 25));
    assert_eq!(days[1].number, 2);
}

#[test]
fn changing_the_conference_zone_regroups_or_refuses() {
    let mut conf = Conference::new("c", "X", "UTC", date(2026, 11, 2), date(2026, 11, 3)).unwrap();
    conf.add_round(breakout("r", ts("2026-11-02T01:00:00Z")))
        .unwrap();
    // In New York that is still 1 November: outside the dates.
    assert!(matches!(
        conf.set_time_zone("America/New_York"),
        Err(AgendaError::OutsideConferenceDates { .. })
    ));
    assert_eq!(conf.time_zone().name(), "UTC");
    conf.set_time_zone("Asia/Tokyo").unwrap();
    assert_eq!(
        conf.round("r").unwrap().starts_at,
        ts("2026-11-02T01:00:00Z"),
        "instants are kept"
    );
    assert_eq!(conf.days()[0].round_ids, ["r"]);
}

#[test]
fn viewer_formatting() {
    let mut conf = Conference::new(
        "c",
        "X",
        "Europe/Lisbon",
        date(2026, 11, 2),
        date(2026, 11, 2),
    )
    .unwrap();
    conf.add_round(breakout("r", ts("2026-11-02T14:00:00Z")))
        .unwrap();
    assert_eq!(
        conf.format_round_start("r").unwrap(),
        "Mon 2 Nov 2026 14:00 WET (+00:00)"
    );
    assert_eq!(
        conf.format_round_start_for_viewer("r", "Asia/Tokyo")
            .unwrap(),
        "Mon 2 Nov 2026 23:00 JST (+09:00)"
    );
    assert_eq!(
        conf.format_round_start_for_viewer("r", "America/Los_Angeles")
            .unwrap(),
        "Mon 2 Nov 2026 06:00 PST (-08:00)"
    );
    assert_eq!(
        conf.format_round_start_for_viewer("r", "Australia/Adelaide")
            .unwrap(),
        "Tue 3 Nov 2026 00:30 ACDT (+10:30)"
    );
    assert!(matches!(
        conf.format_round_start_for_viewer("r", "Nowhere/Land"),
        Err(AgendaError::InvalidTimeZone { .. })
    ));
    assert_eq!(conf.round_start_utc("r").unwrap(), "2026-11-02T14:00:00Z");
    let round = conf.round("r").unwrap();
    assert_eq!(round.start_utc_rfc3339(), "2026-11-02T14:00:00Z");
    assert_eq!(round.ends_at(), ts("2026-11-02T15:00:00Z"));
    assert_eq!(
        round
            .start_in(&Zone::parse("Asia/Kolkata").unwrap())
            .offset()
            .seconds(),
        5 * 3600 + 1800
    );
}

#[test]
fn civil_and_instant_parsing() {
    assert!(parse_civil("2026-11-02T09:00").is_ok());
    assert!(parse_civil("2026-11-02 09:00:00").is_ok());
    for bad in [
        "2026-11-02T09:00+01:00",
        "2026-11-02T09:00Z",
        "2026-11-02T09:00[Europe/Lisbon]",
        "2026-11-02",
        "nope",
    ] {
        assert!(
            matches!(
                parse_civil(bad),
                Err(AgendaError::InvalidInput {
                    field: "starts_at",
                    ..
                })
            ),
            "{bad:?} accepted"
        );
    }
    assert_eq!(
        parse_instant("2026-11-02T09:00:00+01:00").unwrap(),
        ts("2026-11-02T08:00:00Z")
    );
    assert!(matches!(
        parse_instant("2026-11-02T09:00"),
        Err(AgendaError::InvalidInput { .. })
    ));
}
