//! Grid rules: cells, circles, ids, text validation, state machine, merges,
//! adding and removing rounds and spaces.

use easel_agenda::{AgendaError, Entity, Round, RoundKind, SessionState, Space};
use jiff::civil::date;

use super::{sample, ts};

fn invalid_field(err: AgendaError) -> &'static str {
    match err {
        AgendaError::InvalidInput { field, .. } => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn propose_into_free_cell() {
    let mut conf = sample();
    let s = conf
        .propose_session(
            "s1",
            "ch1",
            "  Remote facilitation  ",
            " Ana ",
            "r1",
            "kitchen",
        )
        .unwrap();
    assert_eq!(s.topic, "Remote facilitation");
    assert_eq!(s.convener, "Ana");
    assert_eq!(s.state, SessionState::Proposed);
    assert_eq!(conf.session_at("r1", "kitchen").unwrap().id, "s1");
    assert_eq!(conf.sessions_in_round("r1").count(), 1);
}

#[test]
fn cell_taken() {
    let mut conf = sample();
    conf.propose_session("s1", "ch1", "A", "Ana", "r1", "kitchen")
        .unwrap();
    let err = conf
        .propose_session("s2", "ch2", "B", "Bo", "r1", "kitchen")
        .unwrap_err();
    assert_eq!(
        err,
        AgendaError::CellTaken {
            round: "r1".into(),
            space: "kitchen".into(),
            session: "s1".into()
        }
    );
    // Same round, other space is fine.
    conf.propose_session("s2", "ch2", "B", "Bo", "r1", "garden")
        .unwrap();
}

#[test]
fn no_sessions_in_circles() {
    let mut conf = sample();
    let err = conf
        .propose_session("s1", "ch1", "A", "Ana", "open", "kitchen")
        .unwrap_err();
    assert_eq!(
        err,
        AgendaError::NotABreakout {
            round: "open".into(),
            kind: RoundKind::OpeningCircle
        }
    );
}

#[test]
fn not_found_errors() {
    let mut conf = sample();
    assert_eq!(
        conf.propose_session("s1", "ch1", "A", "Ana", "nope", "kitchen")
            .unwrap_err(),
        AgendaError::NotFound {
            what: Entity::Round,
            id: "nope".into()
        }
    );
    assert_eq!(
        conf.propose_session("s1", "ch1", "A", "Ana", "r1", "nope")
            .unwrap_err(),
        AgendaError::NotFound {
            what: Entity::Space,
            id: "nope".into()
        }
    );
    for err in [
        conf.rename_session("ghost", "x").unwrap_err(),
        conf.cancel_session("ghost").unwrap_err(),
        conf.move_session("ghost", "r1", "kitchen").unwrap_err(),
        conf.set_state("ghost", SessionState::Live).unwrap_err(),
        conf.reopen_session("ghost").unwrap_err(),
    ] {
        assert_eq!(
            err,
            AgendaError::NotFound {
                what: Entity::Session,
                id: "ghost".into()
            }
        );
    }
    assert!(matches!(
        conf.remove_round("ghost"),
        Err(AgendaError::NotFound {
            what: Entity::Round,
            ..
        })
    ));
    assert!(matches!(
        conf.remove_space("ghost"),
        Err(AgendaError::NotFound {
            what: Entity::Space,
            ..
        })
    ));
    assert!(matches!(
        conf.format_round_start("ghost"),
        Err(AgendaError::NotFound { .. })
    ));
}

#[test]
fn duplicate_ids() {
    let mut conf = sample();
    conf.propose_session("s1", "ch1", "A", "Ana", "r1", "kitchen")
        .unwrap();
    assert_eq!(
        conf.propose_session("s1", "ch2", "B", "Bo", "r1", "garden")
            .unwrap_err(),
        AgendaError::DuplicateId {
            what: Entity::Session,
            id: "s1".into()
        }
    );
    assert_eq!(
        conf.propose_session("s2", "ch1", "B", "Bo", "r1", "garden")
            .unwrap_err(),
        AgendaError::DuplicateId {
            what: Entity::Chart,
            id: "ch1".into()
        }
    );
    assert_eq!(
        conf.add_round(
            Round::new("r1", ts("2026-11-03T10:00:00Z"), 60, RoundKind::Breakout).unwrap()
        )
        .unwrap_err(),
        AgendaError::DuplicateId {
            what: Entity::Round,
            id: "r1".into()
        }
    );
    assert_eq!(
        conf.add_space(Space::new("garden", "Other", None, None).unwrap())
            .unwrap_err(),
        AgendaError::DuplicateId {
            what: Entity::Space,
            id: "garden".into()
        }
    );
}

#[test]
fn topic_and_convener_validation() {
    let mut conf = sample();
    let too_long = "x".repeat(201);
    for (topic, convener, field) in [
        ("", "Ana", "topic"),
        ("   ", "Ana", "topic"),
        (too_long.as_str(), "Ana", "topic"),
        ("line\nbreak", "Ana", "topic"),
        ("bell\u{7}", "Ana", "topic"),
        ("ok", "", "convener"),
        ("ok", "tab\there", "convener"),
    ] {
        let err = conf
            .propose_session("s1", "ch1", topic, convener, "r1", "kitchen")
            .unwrap_err();
        assert_eq!(invalid_field(err), field, "{topic:?}/{convener:?}");
    }
    // Exactly 200 characters (multi-byte) is fine.
    let max = "é".repeat(200);
    conf.propose_session("s1", "ch1", &max, "Ana", "r1", "kitchen")
        .unwrap();
    assert_eq!(
        invalid_field(conf.rename_session("s1", "").unwrap_err()),
        "topic"
    );
    assert!(
        conf.sessions().iter().all(|s| s.topic == max),
        "failed rename changed nothing"
    );
}

#[test]
fn id_validation() {
    let mut conf = sample();
    assert_eq!(
        invalid_field(
            conf.propose_session("", "ch1", "A", "Ana", "r1", "kitchen")
                .unwrap_err()
        ),
        "session_id"
    );
    assert_eq!(
        invalid_field(
            conf.propose_session("s 1", "ch1", "A", "Ana", "r1", "kitchen")
                .unwrap_err()
        ),
        "session_id"
    );
    assert_eq!(
        invalid_field(
            conf.propose_session("s1", "ch/1", "A", "Ana", "r1", "kitchen")
                .unwrap_err()
        ),
        "chart_id"
    );
    assert_eq!(
        invalid_field(
            Round::new("", ts("2026-11-02T09:00:00Z"), 60, RoundKind::Breakout).unwrap_err()
        ),
        "round_id"
    );
    assert_eq!(
        invalid_field(Space::new("a b", "X", None, None).unwrap_err()),
        "space_id"
    );
}

#[test]
fn move_rename_cancel() {
    let mut conf = sample();
    conf.propose_session("s1", "ch1", "A", "Ana", "r1", "kitchen")
        .unwrap();
    conf.propose_session("s2", "ch2", "B", "Bo", "r2", "kitchen")
        .unwrap();
    // Onto an occupied cell.
    assert!(matches!(
        conf.move_session("s1", "r2", "kitchen"),
        Err(AgendaError::CellTaken { session, .. }) if session == "s2"
    ));
    // Into a circle.
    assert!(matches!(
        conf.move_session("s1", "open", "garden"),
        Err(AgendaError::NotABreakout { .. })
    ));
    // Onto its own cell: no-op.
    conf.move_session("s1", "r1", "kitchen").unwrap();
    let moved = conf.move_session("s1", "r2", "garden").unwrap();
    assert_eq!(
        (moved.round_id.as_str(), moved.space_id.as_str()),
        ("r2", "garden")
    );
    assert!(conf.session_at("r1", "kitchen").is_none());

    let renamed = conf.rename_session("s1", " New topic ").unwrap();
    assert_eq!(renamed.topic, "New topic");

    let cancelled = conf.cancel_session("s1").unwrap();
    assert_eq!(cancelled.chart_id, "ch1", "caller keeps the chart");
    assert!(conf.session("s1").is_err());
    // The freed cell and chart id can be used again.
    conf.propose_session("s3", "ch1", "C", "Cy", "r2", "garden")
        .unwrap();
}

#[test]
fn state_machine() {
    let mut conf = sample();
    conf.propose_session("s1", "ch1", "A", "Ana", "r1", "kitchen")
        .unwrap();
    let bad = conf.set_state("s1", SessionState::Final).unwrap_err();
    assert_eq!(
        bad,
        AgendaError::InvalidTransition {
            session: "s1".into(),
            from: SessionState::Proposed,
            to: SessionState::Final
        }
    );
    assert_eq!(
        conf.set_state("s1", SessionState::Proposed).unwrap().state,
        SessionState::Proposed
    );
    assert_eq!(
        conf.set_state("s1", SessionState::Live).unwrap().state,
        SessionState::Live
    );
    // Live sessions can still move and be renamed.
    conf.move_session("s1", "r1", "garden").unwrap();
    conf.rename_session("s1", "A2").unwrap();
    assert!(matches!(
        conf.set_state("s1", SessionState::Proposed),
        Err(AgendaError::InvalidTransition { .. })
    ));
    assert!(matches!(
        conf.reopen_session("s1"),
        Err(AgendaError::InvalidTransition { .. })
    ));
    conf.set_state("s1", SessionState::Final).unwrap();
    conf.set_state("s1", SessionState::Final).unwrap(); // idempotent
                                                        // Final is frozen.
    let frozen = AgendaError::SessionFinal {
        session: "s1".into(),
    };
    assert_eq!(conf.rename_session("s1", "x").unwrap_err(), frozen);
    assert_eq!(conf.move_session("s1", "r2", "garden").unwrap_err(), frozen);
    assert_eq!(conf.cancel_session("s1").unwrap_err(), frozen);
    assert!(matches!(
        conf.set_state("s1", SessionState::Live),
        Err(AgendaError::InvalidTransition { .. })
    ));
    // Organizer reopen.
    assert_eq!(conf.reopen_session("s1").unwrap().state, SessionState::Live);
    conf.rename_session("s1", "fixed").unwrap();
}

#[test]
fn merge() {
    let mut conf = sample();
    conf.propose_session("s1", "ch1", "Async retros", "Ana", "r1", "kitchen")
        .unwrap();
    conf.propose_session("s2", "ch2", "Remote retros", "Bo", "r2", "garden")
        .unwrap();
    conf.set_state("s2", SessionState::Live).unwrap();
    let out = conf.merge_sessions("s1", "s2").unwrap();
    assert_eq!(out.kept.topic, "Async retros + Remote retros");
    assert_eq!(
        out.kept.state,
        SessionState::Live,
        "live absorbed session makes the merge live"
    );
    assert_eq!(
        (out.kept.round_id.as_str(), out.kept.space_id.as_str()),
        ("r1", "kitchen")
    );
    assert_eq!(out.absorbed.chart_id, "ch2");
    assert!(conf.session("s2").is_err());
    assert!(conf.session_at("r2", "garden").is_none());
    assert_eq!(
        conf.session("s1").unwrap().topic,
        "Async retros + Remote retros"
    );

    assert_eq!(
        invalid_field(conf.merge_sessions("s1", "s1").unwrap_err()),
        "absorb"
    );
    assert!(matches!(
        conf.merge_sessions("s1", "ghost"),
        Err(AgendaError::NotFound { .. })
    ));

    conf.propose_session("s3", "ch3", &"y".repeat(200), "Cy", "r2", "garden")
        .unwrap();
    conf.set_state("s1", SessionState::Final).unwrap();
    assert_eq!(
        conf.merge_sessions("s3", "s1").unwrap_err(),
        AgendaError::SessionFinal {
            session: "s1".into()
        }
    );
    conf.reopen_session("s1").unwrap();
    let out = conf.merge_sessions("s3", "s1").unwrap();
    assert_eq!(out.kept.topic.chars().count(), 200);
    assert!(out.kept.topic.ends_with('…'));
}

#[test]
fn rounds_overlap_and_dates() {
    let mut conf = sample();
    let err = conf
        .add_round(Round::new("r3", ts("2026-11-02T10:00:00Z"), 60, RoundKind::Breakout).unwrap())
        .unwrap_err();
    assert!(matches!(err, AgendaError::RoundsOverlap { ref round, .. } if round == "r3"));
    // Touching is fine: r2 ends 13:00.
    conf.add_round(Round::new("r3", ts("2026-11-02T13:00:00Z"), 60, RoundKind::Breakout).unwrap())
        .unwrap();
    let err = conf
        .add_round(Round::new("late", ts("2026-11-05T09:00:00Z"), 60, RoundKind::Breakout).unwrap())
        .unwrap_err();
    assert_eq!(
        err,
        AgendaError::OutsideConferenceDates {
            round: "late".into(),
            date: date(2026, 11, 5)
        }
    );
    assert_eq!(
        invalid_field(
            Round::new("x", ts("2026-11-02T09:00:00Z"), 0, RoundKind::Breakout).unwrap_err()
        ),
        "duration_minutes"
    );
    assert_eq!(
        invalid_field(
            Round::new(
                "x",
                ts("2026-11-02T09:00:00Z"),
                24 * 60 + 1,
                RoundKind::Breakout
            )
            .unwrap_err()
        ),
        "duration_minutes"
    );
    // Rounds stay sorted by start whatever the insertion order.
    conf.add_round(
        Round::new("early", ts("2026-11-02T07:00:00Z"), 60, RoundKind::Breakout).unwrap(),
    )
    .unwrap();
    let ids: Vec<_> = conf.rounds().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["early", "open", "r1", "r2", "r3"]);
}

#[test]
fn add_rounds_is_atomic() {
    let mut conf = sample();
    let before = conf.clone();
    let err = conf
        .add_rounds(vec![
            Round::new("a", ts("2026-11-03T09:00:00Z"), 60, RoundKind::Breakout).unwrap(),
            Round::new("b", ts("2026-11-03T09:30:00Z"), 60, RoundKind::Breakout).unwrap(),
        ])
        .unwrap_err();
    assert!(matches!(err, AgendaError::RoundsOverlap { .. }));
    assert_eq!(conf, before);
}

#[test]
fn remove_and_replace_rounds_and_spaces() {
    let mut conf = sample();
    conf.propose_session("s1", "ch1", "A", "Ana", "r1", "kitchen")
        .unwrap();
    assert_eq!(
        conf.remove_round("r1").unwrap_err(),
        AgendaError::HasSessions {
            what: Entity::Round,
            id: "r1".into(),
            count: 1
        }
    );
    assert_eq!(
        conf.remove_space("kitchen").unwrap_err(),
        AgendaError::HasSessions {
            what: Entity::Space,
            id: "kitchen".into(),
            count: 1
        }
    );
    // Turning a round with sessions into a circle is refused.
    let circle = Round::new(
        "r1",
        ts("2026-11-02T10:30:00Z"),
        60,
        RoundKind::ClosingCircle,
    )
    .unwrap();
    assert!(matches!(
        conf.replace_round(circle),
        Err(AgendaError::HasSessions { .. })
    ));
    // Rescheduling keeps the sessions; overlap with itself is not a conflict.
    let later = Round::new("r1", ts("2026-11-02T10:45:00Z"), 60, RoundKind::Breakout)
        .unwrap()
        .with_label("Late morning")
        .unwrap();
    conf.replace_round(later).unwrap();
    assert_eq!(
        conf.round("r1").unwrap().label.as_deref(),
        Some("Late morning")
    );
    assert_eq!(conf.session_at("r1", "kitchen").unwrap().id, "s1");
    // Rescheduling into another round is an overlap.
    let clash = Round::new("r1", ts("2026-11-02T11:30:00Z"), 60, RoundKind::Breakout).unwrap();
    assert!(matches!(
        conf.replace_round(clash),
        Err(AgendaError::RoundsOverlap { .. })
    ));

    conf.cancel_session("s1").unwrap();
    assert_eq!(conf.remove_round("r1").unwrap().id, "r1");
    assert_eq!(conf.remove_space("kitchen").unwrap().id, "kitchen");
    let renamed = Space::new("garden", "Back garden", Some("http://x.example"), Some(5)).unwrap();
    conf.replace_space(renamed).unwrap();
    assert_eq!(conf.space("garden").unwrap().name, "Back garden");
    assert!(matches!(
        conf.replace_space(Space::new("ghost", "G", None, None).unwrap()),
        Err(AgendaError::NotFound { .. })
    ));
}

#[test]
fn space_validation() {
    let mut conf = sample();
    assert_eq!(
        invalid_field(
            conf.add_space(Space::new("k2", " kitchen ", None, None).unwrap())
                .unwrap_err()
        ),
        "name"
    );
    assert_eq!(
        invalid_field(Space::new("k2", "", None, None).unwrap_err()),
        "name"
    );
    assert_eq!(
        invalid_field(Space::new("k2", "K2", Some("javascript:alert(1)"), None).unwrap_err()),
        "video_url"
    );
    assert_eq!(
        invalid_field(Space::new("k2", "K2", None, Some(0)).unwrap_err()),
        "capacity"
    );
    // Hand-built spaces are validated on insertion too.
    let sneaky = Space {
        id: "k3".into(),
        name: "K3".into(),
        video_url: Some("ftp://x".into()),
        capacity: None,
    };
    assert_eq!(
        invalid_field(conf.add_space(sneaky).unwrap_err()),
        "video_url"
    );
}

#[test]
fn conference_metadata() {
    let mut conf = sample();
    assert_eq!(invalid_field(conf.rename("").unwrap_err()), "name");
    conf.rename("  New name ").unwrap();
    assert_eq!(conf.name(), "New name");
    conf.set_description("Line one\nLine two").unwrap();
    assert_eq!(
        invalid_field(conf.set_description("esc\u{1b}").unwrap_err()),
        "description"
    );
    assert!(!conf.is_published());
    conf.set_published(true);
    assert!(conf.is_published());
    // Dates: end before start, too long, and shrinking past existing rounds.
    assert_eq!(
        invalid_field(
            conf.set_dates(date(2026, 11, 4), date(2026, 11, 2))
                .unwrap_err()
        ),
        "end_date"
    );
    assert_eq!(
        invalid_field(
            conf.set_dates(date(2026, 1, 1), date(2027, 6, 1))
                .unwrap_err()
        ),
        "end_date"
    );
    assert!(matches!(
        conf.set_dates(date(2026, 11, 3), date(2026, 11, 4)),
        Err(AgendaError::OutsideConferenceDates { .. })
    ));
    assert_eq!(
        conf.start_date(),
        date(2026, 11, 2),
        "failed change left dates alone"
    );
    conf.set_dates(date(2026, 11, 1), date(2026, 11, 2))
        .unwrap();
    assert_eq!(
        invalid_field(
            easel_agenda::Conference::new("bad id", "X", "UTC", date(2026, 1, 1), date(2026, 1, 1))
                .unwrap_err()
        ),
        "conference_id"
    );
}
