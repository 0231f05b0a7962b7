//! The agenda as an iCalendar document (RFC 5545), for calendar apps to
//! import or subscribe to.
//!
//! Why here: the agenda rules (which rounds exist, which session sits where)
//! live in this crate, and the calendar is one more view of them. Like the
//! rest of the crate this does no IO and reads no clock: the `DTSTAMP` comes
//! from the caller.
//!
//! Times are written in UTC (`...Z`), so no `VTIMEZONE` block is needed and
//! every client places the event at the same instant; the conference zone is
//! named in `X-WR-TIMEZONE` so that clients which honour it show the agenda
//! in the venue's wall-clock time. Each session is one event (topic, space,
//! convener); opening and closing circles are events too, because everyone
//! attends them. Empty breakout rounds are left out: they are only a slot.
//!
//! Building, text escaping (`\`, `,`, `;`, newlines) and folding at 75
//! octets are done by the `icalendar` crate. Its folding lets a last
//! continuation line reach 76 octets, so lines are folded again here.
//! Carriage returns and other
//! control characters are normalised here before the crate sees them: it
//! escapes only `\n`, and a bare CR inside a content line would end it.

use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};
use jiff::Timestamp;

use crate::conference::Conference;
use crate::error::Result;
use crate::model::{Round, RoundKind, Session};

/// `PRODID` of every document.
pub const PRODID: &str = "-//Easel//Open Space agenda//EN";

/// Media type of the documents.
pub const CONTENT_TYPE: &str = "text/calendar; charset=utf-8";

/// What the caller knows and the agenda does not.
#[derive(Clone, Copy)]
pub struct IcsOptions<'a> {
    /// `DTSTAMP` of every event: when the document was produced.
    pub stamp: Timestamp,
    /// Right-hand side of every `UID`, e.g. the server's host name, so that
    /// ids stay unique across servers. UIDs are otherwise derived from the
    /// conference, round and session ids only, so they stay the same across
    /// downloads and a re-import updates events instead of duplicating them.
    pub uid_domain: &'a str,
    /// The public link of a session's chart page, if the caller knows it.
    pub session_url: Option<&'a dyn Fn(&Session) -> String>,
}

/// The whole agenda: one event per session, plus opening and closing
/// circles.
pub fn agenda_ics(conf: &Conference, options: &IcsOptions<'_>) -> String {
    let mut cal = calendar(conf, conf.name());
    let mut rounds: Vec<&Round> = conf.rounds().iter().collect();
    rounds.sort_by(|a, b| (a.starts_at, &a.id).cmp(&(b.starts_at, &b.id)));
    for round in rounds {
        match round.kind {
            RoundKind::OpeningCircle | RoundKind::ClosingCircle => {
                cal.push(plenary_event(conf, round, options));
            }
            RoundKind::Breakout => {
                let mut sessions: Vec<(&str, &Session)> = conf
                    .sessions_in_round(&round.id)
                    .map(|s| (space_name(conf, s), s))
                    .collect();
                sessions.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
                for (_, session) in sessions {
                    cal.push(session_event(conf, round, session, options));
                }
            }
        }
    }
    fold(&cal.to_string())
}

/// One session, for an "add to calendar" button. Fails with
/// [`crate::AgendaError::NotFound`] for an unknown session id.
pub fn session_ics(
    conf: &Conference,
    session_id: &str,
    options: &IcsOptions<'_>,
) -> Result<String> {
    let session = conf.session(session_id)?;
    let round = conf.round(&session.round_id)?;
    let mut cal = calendar(conf, &format!("{} — {}", session.topic, conf.name()));
    cal.push(session_event(conf, round, session, options));
    Ok(fold(&cal.to_string()))
}

fn calendar(conf: &Conference, name: &str) -> Calendar {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        .append_property(Property::new("X-WR-CALNAME", clean(name)))
        .append_property(Property::new("X-WR-TIMEZONE", conf.time_zone().name()));
    let description = clean(conf.description());
    if !description.trim().is_empty() {
        cal.append_property(Property::new("X-WR-CALDESC", description));
    }
    cal
}

fn space_name<'a>(conf: &'a Conference, session: &Session) -> &'a str {
    conf.space(&session.space_id)
        .map(|s| s.name.as_str())
        .unwrap_or("")
}

fn base_event(round: &Round, uid: String, options: &IcsOptions<'_>) -> Event {
    let mut event = Event::new();
    event
        .uid(&uid)
        .add_property("DTSTAMP", utc(options.stamp))
        .add_property("DTSTART", utc(round.starts_at))
        .add_property("DTEND", utc(round.ends_at()))
        .status(EventStatus::Confirmed);
    event
}

fn plenary_event(conf: &Conference, round: &Round, options: &IcsOptions<'_>) -> Event {
    let kind = match round.kind {
        RoundKind::OpeningCircle => "Opening circle",
        RoundKind::ClosingCircle => "Closing circle",
        RoundKind::Breakout => "Breakout",
    };
    let summary = match &round.label {
        Some(label) if label != kind => format!("{kind}: {label}"),
        _ => kind.to_string(),
    };
    let uid = format!("round-{}.{}@{}", round.id, conf.id(), options.uid_domain);
    let mut event = base_event(round, uid, options);
    event
        .summary(&clean(&summary))
        .description(&clean(&format!("{} — everyone meets", conf.name())));
    event.done()
}

fn session_event(
    conf: &Conference,
    round: &Round,
    session: &Session,
    options: &IcsOptions<'_>,
) -> Event {
    let uid = format!(
        "session-{}.{}@{}",
        session.id,
        conf.id(),
        options.uid_domain
    );
    let mut event = base_event(round, uid, options);
    let space = conf.space(&session.space_id).ok();
    let mut lines = vec![format!("Convener: {}", session.convener)];
    if let Some(space) = space {
        lines.push(format!("Space: {}", space.name));
        if let Some(video) = &space.video_url {
            lines.push(format!("Join the call: {video}"));
        }
    }
    if let Some(url) = options.session_url.map(|f| f(session)) {
        lines.push(format!("Notes: {url}"));
        event.url(&url);
    }
    lines.push(conf.name().to_string());
    event
        .summary(&clean(&session.topic))
        .description(&clean(&lines.join("\n")));
    if let Some(space) = space {
        event.location(&clean(&space.name));
    }
    event.done()
}

/// `20261103T070000Z`
fn utc(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Line breaks of any kind become `\n` (which the builder escapes); control
/// characters other than tab, which have no place in a content line, are
/// dropped.
pub fn clean(s: &str) -> String {
    let unified = s.replace("\r\n", "\n").replace('\r', "\n");
    unified
        .chars()
        .filter(|c| matches!(c, '\n' | '\t') || !c.is_control())
        .collect()
}

/// Folds content lines at 75 octets (RFC 5545 §3.1), never inside a UTF-8
/// sequence. The input's own folds are undone first; no value can contain
/// CRLF followed by a space, since line breaks in text are escaped.
pub fn fold(ics: &str) -> String {
    const FIRST: usize = 75;
    // A continuation line starts with the space that marks it.
    const NEXT: usize = 74;
    let unfolded = ics.replace("\r\n ", "");
    let mut out = String::with_capacity(ics.len() + ics.len() / 24);
    for line in unfolded.split_terminator("\r\n") {
        let mut start = 0;
        let mut limit = FIRST;
        while line.len() - start > limit {
            let mut end = start + limit;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            out.push_str(&line[start..end]);
            out.push_str("\r\n ");
            start = end;
            limit = NEXT;
        }
        out.push_str(&line[start..]);
        out.push_str("\r\n");
    }
    out
}
