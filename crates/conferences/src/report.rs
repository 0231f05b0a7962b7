//! The report and its follow-up: the conference's report template,
//! attribution (named or anonymous), the plenary charts of opening and
//! closing circles, continuations between sessions, and the action
//! register as CSV and iCalendar.
//!
//! [`report_input`] is the one place the proceedings input gets the
//! report's settings applied (circles placed in their rounds,
//! continuations linked both ways, names withheld), so every export of the
//! proceedings, a single chart and the action register goes through it.

use std::collections::{BTreeMap, HashMap};

use easel_agenda::{AgendaError, Conference, RoundKind, Session, SessionState};
use easel_chart::{ChartContent, ReportTemplate, TemplateLimits};
use easel_proceedings::{
    anonymize, Attribution, LinkedSession, Proceedings, ProceedingsInput, SessionInput, SessionKind,
};
use serde::{Deserialize, Serialize};

use crate::proceedings::{proceedings_input, session_input};
use crate::tokens as access;
use crate::{chart_key, to_json, ChartEntry, Conferences, Result, StoredConference};

/// The report settings of a conference, stored with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSettings {
    /// What new session charts are seeded with (charts that exist keep
    /// what they have).
    #[serde(default)]
    pub template: ReportTemplate,
    #[serde(default)]
    pub attribution: Attribution,
    /// With anonymous attribution: keep the owners of action items.
    #[serde(default)]
    pub keep_owners: bool,
    /// Circle round id → its plenary chart. Kept when the round stops being
    /// a circle, so turning it back finds the same chart.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub circles: BTreeMap<String, String>,
    /// Session id → the session it continues.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub continues: BTreeMap<String, String>,
}

/// A change of the report settings; absent fields stay.
#[derive(Debug, Clone, Default)]
pub struct ReportChange {
    pub template: Option<ReportTemplate>,
    pub attribution: Option<Attribution>,
    pub keep_owners: Option<bool>,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> crate::Error {
    AgendaError::InvalidInput {
        field,
        reason: reason.into(),
    }
    .into()
}

/// The template a circle's plenary chart starts with.
pub fn circle_template(kind: RoundKind) -> Option<ReportTemplate> {
    match kind {
        RoundKind::OpeningCircle => Some(ReportTemplate::opening_circle()),
        RoundKind::ClosingCircle => Some(ReportTemplate::closing_circle()),
        RoundKind::Breakout => None,
    }
}

/// The circle round whose plenary chart is `chart_id`, if it still is a
/// circle.
pub fn circle_of<'a>(
    stored: &'a StoredConference,
    chart_id: &str,
) -> Option<&'a easel_agenda::Round> {
    let (round_id, _) = stored
        .report
        .circles
        .iter()
        .find(|(_, chart)| *chart == chart_id)?;
    stored
        .conference
        .round(round_id)
        .ok()
        .filter(|r| r.kind != RoundKind::Breakout)
}

/// Checks that `session_id` may continue `target`: both on the agenda of
/// this conference, not itself, and no cycle through the other links.
pub fn check_continuation(
    c: &Conference,
    links: &BTreeMap<String, String>,
    session_id: &str,
    target: &str,
) -> Result<()> {
    c.session(session_id)?;
    if target == session_id {
        return Err(invalid("continues", "a session cannot continue itself"));
    }
    if c.session(target).is_err() {
        return Err(invalid(
            "continues",
            format!("there is no session {target:?} on this conference's agenda"),
        ));
    }
    let mut at = target;
    let mut steps = 0;
    while let Some(next) = links.get(at) {
        if next == session_id {
            return Err(invalid(
                "continues",
                format!("{session_id:?} continuing {target:?} would make a cycle"),
            ));
        }
        at = next;
        steps += 1;
        if steps > links.len() {
            break;
        }
    }
    Ok(())
}

impl Conferences {
    /// Changes the report settings (organizer); the template is checked
    /// against `limits` first, so a refused one stores nothing.
    pub async fn set_report(
        &self,
        conference_id: &str,
        change: ReportChange,
        limits: TemplateLimits,
    ) -> Result<StoredConference> {
        let template = change
            .template
            .map(|t| t.validated(limits))
            .transpose()
            .map_err(|e| invalid("template", e.to_string()))?;
        let ((), stored) = self
            .mutate(conference_id, "report_updated", |s| {
                if let Some(t) = template {
                    s.report.template = t;
                }
                if let Some(a) = change.attribution {
                    s.report.attribution = a;
                }
                if let Some(k) = change.keep_owners {
                    s.report.keep_owners = k;
                }
                Ok(())
            })
            .await?;
        Ok(stored)
    }

    /// Says that `session_id` continues `target` (`None`: continues none).
    pub async fn set_continues(
        &self,
        conference_id: &str,
        session_id: &str,
        target: Option<&str>,
    ) -> Result<StoredConference> {
        let ((), stored) = self
            .mutate(conference_id, "session_continues", |s| {
                s.conference.session(session_id)?;
                match target {
                    Some(t) => {
                        check_continuation(&s.conference, &s.report.continues, session_id, t)?;
                        s.report
                            .continues
                            .insert(session_id.to_owned(), t.to_owned());
                    }
                    None => {
                        s.report.continues.remove(session_id);
                    }
                }
                Ok(())
            })
            .await?;
        Ok(stored)
    }

    /// An agenda edit that may add circle rounds ([`Conferences::mutate`]
    /// plus): every circle round without a plenary chart gets one, seeded
    /// with its circle's template, before the conference is stored.
    pub async fn mutate_rounds<T>(
        &self,
        id: &str,
        change: &str,
        edit: impl FnOnce(&mut StoredConference) -> Result<T>,
    ) -> Result<(T, StoredConference)> {
        let _guard = self.guard(id).await?;
        let (mut stored, read) = self.load_raw(id).await?;
        let out = edit(&mut stored)?;
        let new_circles: Vec<(String, RoundKind)> = stored
            .conference
            .rounds()
            .iter()
            .filter(|r| r.kind != RoundKind::Breakout && !stored.report.circles.contains_key(&r.id))
            .map(|r| (r.id.clone(), r.kind))
            .collect();
        for (round_id, kind) in new_circles {
            let chart_id = access::new_id("c-");
            let entry = ChartEntry {
                conference_id: id.to_owned(),
                // A circle chart records its round.
                session_id: round_id.clone(),
                merged_into: None,
            };
            self.inner
                .meta
                .put(&chart_key(&chart_id), &to_json(&entry)?)
                .await?;
            if let Some(template) = circle_template(kind) {
                self.inner
                    .hub
                    .apply_server_update(&chart_id, template.update())
                    .await?;
            }
            stored.report.circles.insert(round_id, chart_id);
        }
        stored.version += 1;
        self.save(&stored, &read).await?;
        self.announce_change(id, stored.version, change).await;
        Ok((out, stored))
    }
}

fn circle_session(c: &Conference, round: &easel_agenda::Round, chart_id: &str) -> SessionInput {
    let kind = match round.kind {
        RoundKind::OpeningCircle => SessionKind::OpeningCircle,
        RoundKind::ClosingCircle => SessionKind::ClosingCircle,
        RoundKind::Breakout => SessionKind::Session,
    };
    // Placed like a session of its round with no space: first in the round.
    let plenary = Session {
        id: format!("circle-{}", round.id),
        topic: kind.label().to_owned(),
        convener: String::new(),
        round_id: round.id.clone(),
        space_id: String::new(),
        chart_id: chart_id.to_owned(),
        state: SessionState::Live,
    };
    let mut input = session_input(c, &plenary, ChartContent::default());
    input.topic = match round.label.as_deref().filter(|l| !l.trim().is_empty()) {
        Some(label) if label != kind.label() => format!("{}: {label}", kind.label()),
        _ => kind.label().to_owned(),
    };
    input.state = String::new();
    input.kind = kind;
    input
}

/// The proceedings input of a conference with its report settings applied:
/// sessions and circle charts in agenda order with `contents` (by chart
/// id), continuations linked both ways, and, with anonymous attribution,
/// no person's name (see [`easel_proceedings::anonymize`]).
pub fn report_input(
    stored: &StoredConference,
    contents: HashMap<String, ChartContent>,
) -> ProceedingsInput {
    let mut input = named_input(stored, contents);
    apply_attribution(stored, &mut input);
    input
}

/// With anonymous attribution, withholds every name in `input`.
pub fn apply_attribution(stored: &StoredConference, input: &mut ProceedingsInput) {
    if stored.report.attribution == Attribution::Anonymous {
        anonymize(input, stored.report.keep_owners);
    }
}

/// [`report_input`] before names are withheld.
pub fn named_input(
    stored: &StoredConference,
    mut contents: HashMap<String, ChartContent>,
) -> ProceedingsInput {
    let c = &stored.conference;
    let mut circles = Vec::new();
    for (round_id, chart_id) in &stored.report.circles {
        if let Some(round) = c
            .round(round_id)
            .ok()
            .filter(|r| r.kind != RoundKind::Breakout)
        {
            let mut s = circle_session(c, round, chart_id);
            s.content = contents.remove(chart_id).unwrap_or_default();
            circles.push(s);
        }
    }
    let mut input = proceedings_input(c, contents);
    input.sessions.extend(circles);
    input.sessions.sort_by(|a, b| {
        (a.day_index, a.round_index, a.space_index, &a.id).cmp(&(
            b.day_index,
            b.round_index,
            b.space_index,
            &b.id,
        ))
    });
    let topics: HashMap<String, String> = c
        .sessions()
        .iter()
        .map(|s| (s.id.clone(), s.topic.clone()))
        .collect();
    let link = |id: &str| {
        topics.get(id).map(|topic| LinkedSession {
            id: id.to_owned(),
            topic: topic.clone(),
        })
    };
    for s in &mut input.sessions {
        if let Some(target) = stored.report.continues.get(&s.id) {
            s.continues = link(target);
        }
        s.continued_in = stored
            .report
            .continues
            .iter()
            .filter(|(_, target)| **target == s.id)
            .filter_map(|(from, _)| link(from))
            .collect();
    }
    input
}

/// The action register as CSV: a header row, then one row per action item
/// in agenda order, or grouped by owner (owners A–Z, case-insensitively;
/// items without an owner last). `chart_url` makes a chart's link.
pub fn actions_csv(
    model: &Proceedings,
    group_by_owner: bool,
    chart_url: &dyn Fn(&str) -> String,
) -> std::result::Result<Vec<u8>, csv::Error> {
    let mut rows: Vec<&easel_proceedings::ActionEntry> = model.action_register.iter().collect();
    if group_by_owner {
        rows.sort_by_key(|a| match &a.owner {
            Some(o) => (false, o.to_lowercase()),
            None => (true, String::new()),
        });
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "session", "topic", "action", "owner", "due", "done", "chart",
    ])?;
    for a in rows {
        let cells: [String; 7] = [
            a.session_id.clone(),
            spreadsheet_safe(&a.topic),
            spreadsheet_safe(&a.text),
            spreadsheet_safe(a.owner.as_deref().unwrap_or("")),
            a.due.clone().unwrap_or_default(),
            if a.done { "yes" } else { "no" }.to_owned(),
            chart_url(&a.chart_id),
        ];
        w.write_record(&cells)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
/// CR first) gets a leading apostrophe, the usual CSV-injection guard.
fn spreadsheet_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// The action register's due dates as an iCalendar document: one all-day
/// event per action item with a due date, its UID derived from the
/// session and the item's place, so a re-import updates rather than
/// duplicates.
pub fn actions_ics(
    model: &Proceedings,
    stamp: jiff::Timestamp,
    uid_domain: &str,
    chart_url: &dyn Fn(&str) -> String,
) -> String {
    use easel_agenda::calendar::{clean, fold, PRODID};
    use icalendar::{Calendar, Component, Event, Property};
    let conf = &model.conference;
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        .append_property(Property::new(
            "X-WR-CALNAME",
            clean(&format!("Actions — {}", conf.name)),
        ));
    let mut index: HashMap<&str, usize> = HashMap::new();
    for a in &model.action_register {
        let n = index.entry(a.session_id.as_str()).or_default();
        *n += 1;
        let Some(due) = a.due.as_deref() else {
            continue;
        };
        let Ok(date) = due.parse::<jiff::civil::Date>() else {
            continue;
        };
        let Ok(next) = date.tomorrow() else { continue };
        let day = |d: jiff::civil::Date| d.strftime("%Y%m%d").to_string();
        let mut summary = format!("{} {}", if a.done { "✓" } else { "☐" }, a.text);
        if let Some(o) = &a.owner {
            summary.push_str(&format!(" (@{o})"));
        }
        let url = chart_url(&a.chart_id);
        let mut event = Event::new();
        event
            .uid(&format!(
                "action-{}-{}.{}@{}",
                a.session_id, n, conf.id, uid_domain
            ))
            .add_property("DTSTAMP", stamp.strftime("%Y%m%dT%H%M%SZ").to_string())
            .append_property(
                Property::new("DTSTART", day(date))
                    .add_parameter("VALUE", "DATE")
                    .done(),
            )
            .append_property(
                Property::new("DTEND", day(next))
                    .add_parameter("VALUE", "DATE")
                    .done(),
            )
            .summary(&clean(&summary))
            .description(&clean(&format!("{}\n{}\n{url}", a.topic, conf.name)))
            .url(&url);
        cal.push(event.done());
    }
    fold(&cal.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use easel_agenda::{Round, Space};

    fn stored() -> StoredConference {
        let date = |d: &str| d.parse::<jiff::civil::Date>().unwrap();
        let mut c =
            Conference::new("c-1", "Camp", "UTC", date("2026-06-15"), date("2026-06-15")).unwrap();
        let round =
            |id: &str, at: &str, kind| Round::new(id, at.parse().unwrap(), 60, kind).unwrap();
        c.add_round(round(
            "r-open",
            "2026-06-15T08:00:00Z",
            RoundKind::OpeningCircle,
        ))
        .unwrap();
        c.add_round(round("r-1", "2026-06-15T10:00:00Z", RoundKind::Breakout))
            .unwrap();
        c.add_round(round("r-2", "2026-06-15T12:00:00Z", RoundKind::Breakout))
            .unwrap();
        c.add_space(Space::new("sp", "Hall", None, None).unwrap())
            .unwrap();
        c.propose_session("s-a", "c-a", "Retros", "Ada Lovelace", "r-1", "sp")
            .unwrap();
        c.propose_session("s-b", "c-b", "Retros again", "Bo", "r-2", "sp")
            .unwrap();
        let mut report = ReportSettings::default();
        report.circles.insert("r-open".into(), "c-open".into());
        report.continues.insert("s-b".into(), "s-a".into());
        StoredConference {
            version: 1,
            created: jiff::Timestamp::UNIX_EPOCH,
            proceedings_public: false,
            proceedings_published_at: None,
            conference: c,
            posters: Default::default(),
            finalized: Default::default(),
            report,
        }
    }

    fn chart(text: &str, people: &[&str]) -> ChartContent {
        ChartContent {
            blocks: vec![easel_chart::Block::Paragraph {
                inlines: vec![easel_chart::Inline::Text {
                    text: text.into(),
                    marks: Default::default(),
                }],
            }],
            participants: people.iter().map(|p| p.to_string()).collect(),
            board: Default::default(),
        }
    }

    fn contents() -> HashMap<String, ChartContent> {
        HashMap::from([
            ("c-open".to_owned(), chart("Welcome, Ada Lovelace", &[])),
            ("c-a".to_owned(), chart("Notes", &["Cyd"])),
        ])
    }

    #[test]
    fn circles_first_and_continuations_both_ways() {
        let input = report_input(&stored(), contents());
        let ids: Vec<_> = input.sessions.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["circle-r-open", "s-a", "s-b"]);
        assert_eq!(input.sessions[0].kind, SessionKind::OpeningCircle);
        assert_eq!(input.sessions[0].chart_id, "c-open");
        assert_eq!(input.sessions[1].continued_in[0].id, "s-b");
        assert_eq!(
            input.sessions[2].continues.as_ref().unwrap().topic,
            "Retros"
        );
        assert_eq!(input.attribution, Attribution::Named);
    }

    #[test]
    fn anonymous_input_has_no_names() {
        let mut s = stored();
        s.report.attribution = Attribution::Anonymous;
        let input = report_input(&s, contents());
        let json = serde_json::to_string(&input).unwrap();
        for name in ["Ada Lovelace", "Bo\"", "Cyd"] {
            assert!(!json.contains(name), "{name} in {json}");
        }
        assert!(json.contains("Welcome, (name withheld)"), "{json}");
    }

    #[test]
    fn continuation_checks() {
        let s = stored();
        let c = &s.conference;
        let links = &s.report.continues;
        assert!(check_continuation(c, links, "s-a", "s-a").is_err());
        assert!(check_continuation(c, links, "s-a", "s-b").is_err(), "cycle");
        assert!(check_continuation(c, links, "s-a", "s-x").is_err());
        assert!(check_continuation(c, links, "s-b", "s-a").is_ok());
    }
}
