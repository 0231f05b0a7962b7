//! The iCalendar exports, read back with an independent parser (`ical`).

use easel_agenda::calendar::{agenda_ics, session_ics, IcsOptions, PRODID};
use easel_agenda::{AgendaError, Conference, Round, RoundKind, Session, Space};
use ical::parser::ical::component::{IcalCalendar, IcalEvent};
use jiff::civil::date;

use crate::{sample, ts};

fn options<'a>(url: Option<&'a dyn Fn(&Session) -> String>) -> IcsOptions<'a> {
    IcsOptions {
        stamp: ts("2026-10-01T08:00:00Z"),
        uid_domain: "easel.example.org",
        session_url: url,
    }
}

fn parse(ics: &str) -> IcalCalendar {
    let mut parser = ical::IcalParser::new(ics.as_bytes());
    let cal = parser
        .next()
        .expect("one calendar")
        .unwrap_or_else(|e| panic!("unparsable iCalendar ({e}):\n{ics}"));
    assert!(parser.next().is_none(), "exactly one calendar");
    cal
}

/// RFC 5545 §3.3.11 TEXT unescaping, written independently of the code
/// under test.
fn unescape(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other @ ('\\' | ',' | ';')) => out.push(other),
                other => panic!("invalid escape \\{other:?} in {raw:?}"),
            }
        } else {
            assert!(c != ',' && c != ';', "unescaped {c:?} in TEXT {raw:?}");
            out.push(c);
        }
    }
    out
}

fn raw<'a>(props: &'a [ical::property::Property], name: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_deref())
}

fn text(event: &IcalEvent, name: &str) -> String {
    unescape(raw(&event.properties, name).unwrap_or_else(|| panic!("no {name}")))
}

fn by_summary<'a>(cal: &'a IcalCalendar, summary: &str) -> &'a IcalEvent {
    cal.events
        .iter()
        .find(|e| text(e, "SUMMARY") == summary)
        .unwrap_or_else(|| panic!("no event {summary:?}"))
}

fn athens() -> Conference {
    let mut conf = sample();
    conf.set_time_zone("Europe/Athens").unwrap();
    conf.set_description("Two days; bring ideas, questions\nand friends")
        .unwrap();
    conf.propose_session("s1", "chart-1", "Async retros", "Ana", "r1", "kitchen")
        .unwrap();
    conf.propose_session(
        "s2",
        "chart-2",
        "Pairing, mobbing; and more",
        "Bo",
        "r1",
        "garden",
    )
    .unwrap();
    conf.propose_session("s3", "chart-3", "会議の文化 🎉", "Zoë", "r2", "kitchen")
        .unwrap();
    conf
}

#[test]
fn agenda_has_one_event_per_session_and_plenary_in_utc() {
    let conf = athens();
    let ics = agenda_ics(&conf, &options(None));
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(ics.ends_with("END:VCALENDAR\r\n"));
    let cal = parse(&ics);
    assert_eq!(raw(&cal.properties, "VERSION"), Some("2.0"));
    assert_eq!(raw(&cal.properties, "PRODID"), Some(PRODID));
    assert_eq!(raw(&cal.properties, "METHOD"), Some("PUBLISH"));
    assert_eq!(raw(&cal.properties, "X-WR-TIMEZONE"), Some("Europe/Athens"));
    assert_eq!(
        unescape(raw(&cal.properties, "X-WR-CALNAME").unwrap()),
        "Easel Open Space"
    );
    assert_eq!(
        unescape(raw(&cal.properties, "X-WR-CALDESC").unwrap()),
        "Two days; bring ideas, questions\nand friends"
    );

    // The opening circle and three sessions; the empty breakout (none)
    // and no VTIMEZONE, since every time is UTC.
    let summaries: Vec<String> = cal.events.iter().map(|e| text(e, "SUMMARY")).collect();
    assert_eq!(
        summaries,
        [
            "Opening circle",
            "Pairing, mobbing; and more",
            "Async retros",
            "会議の文化 🎉"
        ]
    );
    assert!(cal.timezones.is_empty());

    let retro = by_summary(&cal, "Async retros");
    assert_eq!(raw(&retro.properties, "DTSTART"), Some("20261102T103000Z"));
    assert_eq!(raw(&retro.properties, "DTEND"), Some("20261102T113000Z"));
    assert_eq!(raw(&retro.properties, "DTSTAMP"), Some("20261001T080000Z"));
    assert_eq!(raw(&retro.properties, "STATUS"), Some("CONFIRMED"));
    assert_eq!(text(retro, "LOCATION"), "Kitchen");
    assert_eq!(
        text(retro, "DESCRIPTION"),
        "Convener: Ana\nSpace: Kitchen\nJoin the call: https://meet.example.org/kitchen\nEasel Open Space"
    );
    assert_eq!(
        raw(&retro.properties, "UID"),
        Some("session-s1.c1@easel.example.org")
    );
    let opening = by_summary(&cal, "Opening circle");
    assert_eq!(
        raw(&opening.properties, "DTSTART"),
        Some("20261102T090000Z")
    );
    assert_eq!(
        raw(&opening.properties, "UID"),
        Some("round-open.c1@easel.example.org")
    );
    let cjk = by_summary(&cal, "会議の文化 🎉");
    assert_eq!(
        text(cjk, "DESCRIPTION").lines().next(),
        Some("Convener: Zoë")
    );
}

#[test]
fn uids_are_stable_and_unique() {
    let conf = athens();
    let a = agenda_ics(&conf, &options(None));
    let mut later = options(None);
    later.stamp = ts("2026-10-02T08:00:00Z");
    let b = agenda_ics(&conf, &later);
    let uids = |ics: &str| -> Vec<String> {
        parse(ics)
            .events
            .iter()
            .map(|e| raw(&e.properties, "UID").unwrap().to_string())
            .collect()
    };
    let (ua, ub) = (uids(&a), uids(&b));
    assert_eq!(ua, ub, "UIDs must not depend on when the file is made");
    let mut unique = ua.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ua.len());
    // The same session has the same UID in its own file.
    let one = session_ics(&conf, "s1", &options(None)).unwrap();
    assert_eq!(uids(&one), ["session-s1.c1@easel.example.org"]);
    // Same input, same bytes.
    assert_eq!(a, agenda_ics(&conf, &options(None)));
}

#[test]
fn single_session_calendar_and_url() {
    let conf = athens();
    let link = |s: &Session| format!("https://easel.example.org/c/c1/charts/{}", s.chart_id);
    let ics = session_ics(&conf, "s2", &options(Some(&link))).unwrap();
    let cal = parse(&ics);
    assert_eq!(cal.events.len(), 1);
    let e = &cal.events[0];
    assert_eq!(text(e, "SUMMARY"), "Pairing, mobbing; and more");
    assert_eq!(text(e, "LOCATION"), "Garden");
    assert_eq!(
        raw(&e.properties, "URL"),
        Some("https://easel.example.org/c/c1/charts/chart-2")
    );
    assert!(text(e, "DESCRIPTION").contains("Notes: https://easel.example.org/c/c1/charts/chart-2"));
    assert_eq!(
        unescape(raw(&cal.properties, "X-WR-CALNAME").unwrap()),
        "Pairing, mobbing; and more — Easel Open Space"
    );
    assert!(matches!(
        session_ics(&conf, "nope", &options(None)),
        Err(AgendaError::NotFound { .. })
    ));
}

/// Every physical line is at most 75 octets, continuation lines start with
/// one space, and lines end with CRLF.
fn assert_folded(ics: &str) {
    assert!(ics.ends_with("\r\n"));
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "line of {} octets: {line:?}", line.len());
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "bare line break in {line:?}"
        );
    }
}

#[test]
fn hostile_text_is_escaped_and_folded() {
    let evil = "x\\,y;z\\n END:VEVENT BEGIN:VEVENT SUMMARY:pwned";
    let mut conf = Conference::new(
        "c:2",
        &format!("Conf, with; {evil}"),
        "America/Los_Angeles",
        date(2026, 11, 2),
        date(2026, 11, 2),
    )
    .unwrap();
    conf.set_description(&format!("line one\r\nEND:VCALENDAR\rline\tthree\n{evil}"))
        .unwrap();
    conf.add_round(
        Round::new("r1", ts("2026-11-02T17:00:00Z"), 45, RoundKind::Breakout)
            .unwrap()
            .with_label("Round; one")
            .unwrap(),
    )
    .unwrap();
    let long_name = "Ж".repeat(90);
    conf.add_space(Space::new("room", &long_name, None, None).unwrap())
        .unwrap();
    let topic = format!("{evil} ÄÖÜ 🎉🎉🎉 ").repeat(3);
    let topic = topic.trim();
    conf.propose_session("s1", "ch1", topic, "Ma\\ry, Ann; Bo", "r1", "room")
        .unwrap();
    let ics = agenda_ics(&conf, &options(None));
    assert_folded(&ics);
    let cal = parse(&ics);
    assert_eq!(cal.events.len(), 1, "injected VEVENT:\n{ics}");
    let e = &cal.events[0];
    assert_eq!(text(e, "SUMMARY"), topic);
    assert_eq!(text(e, "LOCATION"), long_name);
    assert!(text(e, "DESCRIPTION").starts_with("Convener: Ma\\ry, Ann; Bo\n"));
    assert_eq!(
        unescape(raw(&cal.properties, "X-WR-CALNAME").unwrap()),
        format!("Conf, with; {evil}")
    );
    assert_eq!(
        unescape(raw(&cal.properties, "X-WR-CALDESC").unwrap()),
        format!("line one\nEND:VCALENDAR\nline\tthree\n{evil}")
    );
    assert_eq!(
        raw(&e.properties, "UID"),
        Some("session-s1.c:2@easel.example.org")
    );
    let one = session_ics(&conf, "s1", &options(None)).unwrap();
    assert_folded(&one);
    assert_eq!(parse(&one).events.len(), 1);
}

#[test]
fn empty_agenda_is_a_valid_calendar() {
    let conf = sample();
    let cal = parse(&agenda_ics(&conf, &options(None)));
    // Only the opening circle: empty breakout rounds are left out.
    assert_eq!(cal.events.len(), 1);
    assert_eq!(raw(&cal.properties, "X-WR-TIMEZONE"), Some("UTC"));
}
