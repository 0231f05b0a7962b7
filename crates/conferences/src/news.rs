//! The live harvest: finished (final) reports as they land, for the news
//! wall (`GET .../news` and `report` live events) and the Atom feed
//! (`GET .../feed.atom`).
//!
//! A report is a final session with its chart's summary
//! ([`easel_chart::ChartContent::summary`]) and the time it was made final
//! ([`StoredConference::finalized`]); newest first. A session finalized
//! before finalize times were kept is dated by its round's end.

use atom_syndication::{Content, Entry, Feed, FixedDateTime, Link, Person, Text, TextType};
use easel_agenda::{zone, Session, SessionState};
use easel_chart::ChartContent;
use jiff::Timestamp;
use serde::Serialize;

use crate::proceedings::chart_content;
use crate::{Conferences, Result, StoredConference};

/// Characters of a report's summary on the news wall and in the feed.
pub const SUMMARY_MAX_CHARS: usize = 400;

/// Namespace of the feed's `urn:uuid:` ids (UUID v5 of the conference and
/// session ids): the same report has the same id on every server and
/// after every restart, whatever host name readers use.
const FEED_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f1c_2b9e_4d4a_5e0b_9a57_3c2d_e1f0_a8b4);

/// One final session's report as the news wall shows it.
// Convergence votes are to join this view as a count of their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = ReportView)]
pub struct Report {
    pub session_id: String,
    pub chart_id: String,
    pub topic: String,
    pub convener: String,
    pub space_id: String,
    /// The space's name (empty if the space is unknown).
    pub space: String,
    pub round_id: String,
    /// The round's start, RFC 3339 UTC (the client shows it in the
    /// viewer's zone).
    pub starts_at: String,
    /// The round's end, RFC 3339 UTC.
    pub ends_at: String,
    /// When the session was made final, RFC 3339 UTC.
    pub finalized_at: String,
    /// The first section of the report with text (else its first
    /// paragraph), plain text, at most [`SUMMARY_MAX_CHARS`] characters;
    /// empty for a report without notes.
    pub summary: String,
}

/// When `session` was made final (its round's end if no time was kept).
pub fn finalized_at(stored: &StoredConference, session: &Session) -> Timestamp {
    stored
        .finalized
        .get(&session.id)
        .copied()
        .or_else(|| {
            stored
                .conference
                .round(&session.round_id)
                .ok()
                .map(|r| r.ends_at())
        })
        .unwrap_or(stored.created)
}

/// The report of a final `session` whose chart holds `content`.
pub fn report(stored: &StoredConference, session: &Session, content: &ChartContent) -> Report {
    let c = &stored.conference;
    let round = c.round(&session.round_id).ok();
    Report {
        session_id: session.id.clone(),
        chart_id: session.chart_id.clone(),
        topic: session.topic.clone(),
        convener: session.convener.clone(),
        space_id: session.space_id.clone(),
        space: c
            .space(&session.space_id)
            .map(|s| s.name.clone())
            .unwrap_or_default(),
        round_id: session.round_id.clone(),
        starts_at: round
            .map(|r| zone::format_utc(r.starts_at))
            .unwrap_or_default(),
        ends_at: round
            .map(|r| zone::format_utc(r.ends_at()))
            .unwrap_or_default(),
        finalized_at: zone::format_utc(finalized_at(stored, session)),
        summary: content.summary(SUMMARY_MAX_CHARS),
    }
}

/// The final sessions of `stored`, newest report first (ties by id).
pub fn final_sessions(stored: &StoredConference) -> Vec<&Session> {
    let mut finals: Vec<&Session> = stored
        .conference
        .sessions()
        .iter()
        .filter(|s| s.state == SessionState::Final)
        .collect();
    finals.sort_by(|a, b| {
        finalized_at(stored, b)
            .cmp(&finalized_at(stored, a))
            .then_with(|| a.id.cmp(&b.id))
    });
    finals
}

impl Conferences {
    /// Every final session's report with its chart's content, newest
    /// first, and the conference they were read from.
    pub async fn reports(
        &self,
        conference_id: &str,
    ) -> Result<(StoredConference, Vec<(Report, ChartContent)>)> {
        let stored = self.load(conference_id).await?;
        let mut out = Vec::new();
        for s in final_sessions(&stored) {
            let content = chart_content(self.hub(), &s.chart_id).await?;
            out.push((report(&stored, s, &content), content));
        }
        Ok((stored, out))
    }

    /// The report of one session of `stored`, if it is final.
    pub async fn report(
        &self,
        stored: &StoredConference,
        session_id: &str,
    ) -> Result<Option<Report>> {
        let Some(s) = stored
            .conference
            .sessions()
            .iter()
            .find(|s| s.id == session_id && s.state == SessionState::Final)
        else {
            return Ok(None);
        };
        let content = chart_content(self.hub(), &s.chart_id).await?;
        Ok(Some(report(stored, s, &content)))
    }
}

fn urn(name: &str) -> String {
    format!(
        "urn:uuid:{}",
        uuid::Uuid::new_v5(&FEED_NAMESPACE, name.as_bytes())
    )
}

fn atom_time(at: Timestamp) -> FixedDateTime {
    let utc =
        chrono::DateTime::from_timestamp(at.as_second(), at.subsec_nanosecond().max(0) as u32)
            .unwrap_or_default();
    utc.fixed_offset()
}

fn text(value: &str) -> Text {
    Text {
        value: value.to_owned(),
        base: None,
        lang: None,
        r#type: TextType::Text,
    }
}

/// The Atom feed (RFC 4287) of a conference's reports. `base` is the
/// server's public address (links to the web client and to the feed
/// itself; no token is ever put in them). Every user text goes in as
/// text or as escaped HTML: the feed writer escapes it for XML once more.
pub fn atom_feed(
    stored: &StoredConference,
    reports: &[(Report, ChartContent)],
    base: &str,
) -> String {
    let c = &stored.conference;
    let id = c.id();
    let feed_zone = c.time_zone();
    let updated = reports
        .iter()
        .filter_map(|(r, _)| r.finalized_at.parse::<Timestamp>().ok())
        .max()
        .unwrap_or(stored.created);
    let entries = reports
        .iter()
        .map(|(r, content)| {
            let at = r
                .finalized_at
                .parse::<Timestamp>()
                .unwrap_or(stored.created);
            let when = r
                .starts_at
                .parse::<Timestamp>()
                .map(|t| zone::format_local(&feed_zone.zoned(t)))
                .unwrap_or_default();
            let esc = easel_proceedings::escape_html;
            let mut html = format!(
                "<p>{} · {} · {}</p>\n",
                esc(&r.space),
                esc(&when),
                esc(&r.convener)
            );
            html.push_str(&easel_proceedings::notes_fragment(content));
            Entry {
                id: urn(&format!("{id}/{}", r.session_id)),
                title: text(&r.topic),
                updated: atom_time(at),
                published: Some(atom_time(at)),
                authors: vec![Person {
                    name: r.convener.clone(),
                    ..Default::default()
                }],
                links: vec![Link {
                    href: format!("{base}/#/chart/{}", r.chart_id),
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..Default::default()
                }],
                summary: (!r.summary.is_empty()).then(|| text(&r.summary)),
                content: Some(Content {
                    value: Some(html),
                    content_type: Some("html".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let feed = Feed {
        id: urn(id),
        title: text(&format!("{} · reports", c.name())),
        subtitle: (!c.description().is_empty()).then(|| text(c.description())),
        updated: atom_time(updated),
        authors: vec![Person {
            name: c.name().to_owned(),
            ..Default::default()
        }],
        links: vec![
            Link {
                href: format!("{base}/api/v1/conferences/{id}/feed.atom"),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Default::default()
            },
            Link {
                href: format!("{base}/#/conference/{id}/news"),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            },
        ],
        generator: Some(atom_syndication::Generator {
            value: "Easel".into(),
            uri: None,
            version: None,
        }),
        entries,
        ..Default::default()
    };
    feed.to_string()
}
