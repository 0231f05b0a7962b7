//! Agenda and charts -> the proceedings compiler's input, and rendering it.
//!
//! The mapping from the agenda to [`ProceedingsInput`] is pure
//! ([`proceedings_input`], [`session_input`]): the charts' content is handed
//! in, so it is tested here without a hub. [`load_input`] reads the charts'
//! current content through the hub (the live actor, or the store for an
//! unloaded chart) and [`render_proceedings`] / [`render_chart_export`]
//! typeset off the async workers. The HTTP endpoints and `easel
//! proceedings` both call these.

use std::collections::HashMap;

use easel_agenda::{zone, Conference, Session, SessionState};
use easel_chart::{BoardLimits, ChartContent};
use easel_hub::Hub;
use easel_proceedings::{ConferenceInfo, Format, ProceedingsInput, SessionInput};
use yrs::updates::decoder::Decode;
use yrs::{Doc, Transact, Update};

use crate::{Conferences, StoredConference};

/// The conference facts on the cover.
pub fn conference_info(c: &Conference) -> ConferenceInfo {
    ConferenceInfo {
        id: c.id().to_owned(),
        name: c.name().to_owned(),
        description: c.description().to_owned(),
        time_zone: c.time_zone().name().to_owned(),
        start_date: c.start_date().to_string(),
        end_date: c.end_date().to_string(),
    }
}

fn state_label(state: SessionState) -> &'static str {
    match state {
        SessionState::Proposed => "proposed",
        SessionState::Live => "live",
        SessionState::Final => "final",
    }
}

/// A session's place and facts on the agenda, with `content` as its chart.
pub fn session_input(c: &Conference, s: &Session, content: ChartContent) -> SessionInput {
    let zone = c.time_zone();
    let round = c.round(&s.round_id).ok();
    let position = c.position(s);
    let round_label = round
        .map(|r| {
            let time = zone.zoned(r.starts_at).strftime("%H:%M").to_string();
            match r.label.as_deref().filter(|l| !l.is_empty()) {
                Some(label) => format!("{label} · {time}"),
                None => format!("Round {} · {time}", position.round_in_day),
            }
        })
        .unwrap_or_default();
    SessionInput {
        id: s.id.clone(),
        topic: s.topic.clone(),
        convener: s.convener.clone(),
        space: c
            .space(&s.space_id)
            .map(|sp| sp.name.clone())
            .unwrap_or_default(),
        round_label,
        day_label: position.day_label,
        round_index: position.round_in_day,
        day_index: position.day,
        space_index: position.space,
        starts_local: round.map(|r| r.format_start_in(zone)).unwrap_or_default(),
        starts_utc: round
            .map(|r| zone::format_utc(r.starts_at))
            .unwrap_or_default(),
        state: state_label(s.state).to_owned(),
        content,
        chart_id: s.chart_id.clone(),
        ..Default::default()
    }
}

/// The proceedings input of a conference: every session on the agenda
/// (cancelled ones are no longer on it; merged-away charts live on in the
/// kept session's chart) in the agenda's reading order, each with its
/// chart's content from `contents` (by chart id; a missing one is empty).
pub fn proceedings_input(
    c: &Conference,
    mut contents: HashMap<String, ChartContent>,
) -> ProceedingsInput {
    let mut sessions: Vec<(easel_agenda::Position, SessionInput)> = c
        .sessions()
        .iter()
        .map(|s| {
            let content = contents.remove(&s.chart_id).unwrap_or_default();
            (c.position(s), session_input(c, s, content))
        })
        .collect();
    sessions.sort_by(|(a, x), (b, y)| (a.sort_key(), &x.id).cmp(&(b.sort_key(), &y.id)));
    ProceedingsInput {
        votes: None,
        conference: conference_info(c),
        sessions: sessions.into_iter().map(|(_, s)| s).collect(),
        ..Default::default()
    }
}

/// [`crate::report::report_input`] with every chart's current content
/// (sessions' and circles').
pub async fn load_input(stored: &StoredConference, hub: &Hub) -> crate::Result<ProceedingsInput> {
    let mut input = load_named_input(stored, hub).await?;
    crate::report::apply_attribution(stored, &mut input);
    Ok(input)
}

/// [`load_input`] before names are withheld.
async fn load_named_input(stored: &StoredConference, hub: &Hub) -> crate::Result<ProceedingsInput> {
    let c = &stored.conference;
    let mut contents = HashMap::with_capacity(c.sessions().len());
    let circles = stored.report.circles.values();
    for chart_id in c.sessions().iter().map(|s| &s.chart_id).chain(circles) {
        contents.insert(chart_id.clone(), chart_content(hub, chart_id).await?);
    }
    Ok(crate::report::named_input(stored, contents))
}

/// A chart's current content, from the live actor or the store, with the
/// board limits applied. Every export reads charts here, so this is where
/// the names in a chart (participants, and the authors of stickies, ink
/// and arrows: [`ChartContent::map_people`]) can be replaced or blanked in
/// one place.
pub async fn chart_content(hub: &Hub, chart_id: &str) -> crate::Result<easel_chart::ChartContent> {
    let state = hub.chart_state(chart_id).await?;
    content_of_state(chart_id, &state)
}

/// What every reader of a chart keeps of its board (exports, versions,
/// search): one server-wide setting (config), so it lives beside the
/// readers rather than being passed through each of them.
static BOARD_LIMITS: std::sync::LazyLock<std::sync::RwLock<BoardLimits>> =
    std::sync::LazyLock::new(Default::default);

pub fn set_board_limits(limits: BoardLimits) {
    *BOARD_LIMITS.write().unwrap_or_else(|e| e.into_inner()) = limits;
}

pub fn board_limits() -> BoardLimits {
    *BOARD_LIMITS.read().unwrap_or_else(|e| e.into_inner())
}

/// The content of a chart state (a v1 update of the whole document).
pub fn content_of_state(chart_id: &str, state: &[u8]) -> crate::Result<easel_chart::ChartContent> {
    let doc = Doc::new();
    let update = Update::decode_v1(state)
        .map_err(|e| crate::Error::Corrupt(format!("chart {chart_id}: {e}")))?;
    doc.transact_mut()
        .apply_update(update)
        .map_err(|e| crate::Error::Corrupt(format!("chart {chart_id}: {e}")))?;
    Ok(easel_chart::read_chart_with(&doc, &board_limits()))
}

/// Rendering failed (a PDF typesetting bug, not bad input).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Conference(#[from] crate::Error),
    #[error(transparent)]
    Render(#[from] easel_proceedings::ProceedingsError),
    #[error("rendering task failed: {0}")]
    Join(String),
}

/// Renders off the async workers (typesetting a PDF takes a while).
async fn render_blocking(
    f: impl FnOnce() -> Result<Vec<u8>, easel_proceedings::ProceedingsError> + Send + 'static,
) -> Result<Vec<u8>, ExportError> {
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ExportError::Join(e.to_string()))??)
}

/// The proceedings of a conference, rendered; with the file name slug.
/// Used by the HTTP endpoint and by `easel proceedings`.
pub async fn render_proceedings(
    conferences: &Conferences,
    conference_id: &str,
    format: Format,
) -> Result<(String, Vec<u8>), ExportError> {
    render_proceedings_as_of(conferences, conference_id, format, None).await
}

/// [`render_proceedings`] as of a moment (`None`: now), from the charts'
/// versions (`Conferences::proceedings_input_as_of`).
pub async fn render_proceedings_as_of(
    conferences: &Conferences,
    conference_id: &str,
    format: Format,
    as_of: Option<&crate::history::AsOf>,
) -> Result<(String, Vec<u8>), ExportError> {
    let stored = conferences.load(conference_id).await?;
    let mut input = match as_of {
        None => load_input(&stored, conferences.hub()).await?,
        Some(at) => conferences.proceedings_input_as_of(&stored, at).await?,
    };
    input.votes = conferences.votes_input(conference_id).await?;
    let name = slug(&input.conference.name, "proceedings");
    let bytes = render_blocking(move || easel_proceedings::render(&input, format)).await?;
    Ok((name, bytes))
}

/// One chart, rendered; with the file name slug. A chart whose session left
/// the agenda (cancelled, or merged into another) still exports its notes.
pub async fn render_chart_export(
    conferences: &Conferences,
    conference_id: &str,
    chart_id: &str,
    format: Format,
) -> Result<(String, Vec<u8>), ExportError> {
    render_chart_export_of(conferences, conference_id, chart_id, format, None).await
}

/// [`render_chart_export`] of a given state of the chart (a version's;
/// `None`: the current one).
pub async fn render_chart_export_of(
    conferences: &Conferences,
    conference_id: &str,
    chart_id: &str,
    format: Format,
    state: Option<&[u8]>,
) -> Result<(String, Vec<u8>), ExportError> {
    let stored = conferences.load(conference_id).await?;
    let c = &stored.conference;
    // Through the whole conference's input, so the chart gets what the
    // proceedings give it (circle placement, continuations) and, when
    // anonymous, every name the conference knows is withheld from it.
    let named = load_named_input(&stored, conferences.hub()).await?;
    let mut full = named.clone();
    crate::report::apply_attribution(&stored, &mut full);
    let attribution = full.attribution;
    let mut input = match full.sessions.iter().find(|s| s.chart_id == chart_id) {
        Some(s) => s.clone(),
        None => {
            let mut input = SessionInput {
                id: chart_id.to_owned(),
                topic: format!("Chart {chart_id}"),
                state: "not on the agenda".to_owned(),
                chart_id: chart_id.to_owned(),
                ..Default::default()
            };
            input.content = chart_content(conferences.hub(), chart_id).await?;
            if attribution == easel_proceedings::Attribution::Anonymous {
                let mut names = easel_proceedings::names_of(&named.sessions, true);
                names.extend(easel_proceedings::names_of(
                    std::slice::from_ref(&input),
                    true,
                ));
                easel_proceedings::anonymize_session(&mut input, &names, stored.report.keep_owners);
            }
            input
        }
    };
    if let Some(state) = state {
        // A version: its own content, with the same names withheld.
        input.content = content_of_state(chart_id, state)?;
        if attribution == easel_proceedings::Attribution::Anonymous {
            let mut names = easel_proceedings::names_of(&named.sessions, true);
            names.extend(easel_proceedings::names_of(
                std::slice::from_ref(&input),
                true,
            ));
            easel_proceedings::anonymize_session(&mut input, &names, stored.report.keep_owners);
        }
    }
    let name = slug(&input.topic, "chart");
    let info = conference_info(c);
    let bytes = render_blocking(move || {
        easel_proceedings::render_chart_with(&input, &info, attribution, format)
    })
    .await?;
    Ok((name, bytes))
}

/// How a board is served on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardFormat {
    Svg,
    Png,
}

impl BoardFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            BoardFormat::Svg => "image/svg+xml",
            BoardFormat::Png => "image/png",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            BoardFormat::Svg => "svg",
            BoardFormat::Png => "png",
        }
    }
}

/// One chart's board as SVG or PNG; with the file name slug (the
/// session's topic, like the chart's exports, with `-board`).
pub async fn render_board(
    conferences: &Conferences,
    conference_id: &str,
    chart_id: &str,
    format: BoardFormat,
) -> Result<(String, Vec<u8>), ExportError> {
    let stored = conferences.load(conference_id).await?;
    let topic = stored
        .conference
        .sessions()
        .iter()
        .find(|s| s.chart_id == chart_id)
        .map(|s| s.topic.clone())
        .unwrap_or_else(|| format!("Chart {chart_id}"));
    let content = chart_content(conferences.hub(), chart_id).await?;
    let name = format!("{}-board", slug(&topic, "chart"));
    let board = content.board;
    let bytes = render_blocking(move || match format {
        BoardFormat::Svg => Ok(easel_proceedings::board_svg(&board).into_bytes()),
        BoardFormat::Png => easel_proceedings::board_png(&board),
    })
    .await?;
    Ok((name, bytes))
}

/// An ASCII file-name slug: common Latin accents folded, everything that is
/// not a letter or digit collapsed to `-`, at most 60 characters, never
/// empty (falls back to `fallback`).
pub fn slug(text: &str, fallback: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        let folded = fold_accent(c);
        if folded.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(folded);
            if c == 'ß' {
                out.push('s');
            }
        } else {
            dash = true;
        }
        if out.len() >= 60 {
            break;
        }
    }
    if out.is_empty() {
        fallback.to_owned()
    } else {
        out
    }
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ł' | 'ľ' => 'l',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ř' => 'r',
        'ś' | 'š' | 'ş' | 'ß' => 's',
        'ť' | 'ţ' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use easel_agenda::{Round, RoundKind, Space};

    #[test]
    fn slugs_are_ascii() {
        assert_eq!(
            slug("Async Retros — São Paulo!", "x"),
            "async-retros-sao-paulo"
        );
        assert_eq!(
            slug("<script>alert(1)</script>", "x"),
            "script-alert-1-script"
        );
        assert_eq!(slug("Straße", "x"), "strasse");
        assert_eq!(slug("Ελληνικά", "chart"), "chart");
        assert!(slug(&"a".repeat(500), "x").len() <= 61);
    }

    #[test]
    fn sessions_come_in_agenda_order_with_their_own_charts() {
        let date = |d: &str| d.parse::<jiff::civil::Date>().unwrap();
        let mut c = Conference::new(
            "c-1",
            "Camp",
            "Europe/Berlin",
            date("2026-06-15"),
            date("2026-06-16"),
        )
        .unwrap();
        // Berlin is UTC+2 in June.
        let round = |id: &str, utc: &str| {
            Round::new(id, utc.parse().unwrap(), 60, RoundKind::Breakout).unwrap()
        };
        c.add_round(
            round("r-d2", "2026-06-16T07:00:00Z")
                .with_label("Late")
                .unwrap(),
        )
        .unwrap();
        c.add_round(round("r-d1b", "2026-06-15T12:00:00Z")).unwrap();
        c.add_round(round("r-d1a", "2026-06-15T08:00:00Z")).unwrap();
        c.add_space(Space::new("sp-b", "Garden", None, None).unwrap())
            .unwrap();
        c.add_space(Space::new("sp-a", "Hall", None, None).unwrap())
            .unwrap();
        for (id, round, space) in [
            ("s-1", "r-d2", "sp-b"),
            ("s-2", "r-d1b", "sp-a"),
            ("s-3", "r-d1a", "sp-a"),
            ("s-4", "r-d1a", "sp-b"),
        ] {
            c.propose_session(
                id,
                format!("chart-{id}"),
                &format!("Topic {id}"),
                "Ada",
                round,
                space,
            )
            .unwrap();
        }
        let mut contents = HashMap::new();
        let mut notes = ChartContent::default();
        notes.participants.push("Ada".into());
        contents.insert("chart-s-2".to_owned(), notes.clone());
        let input = proceedings_input(&c, contents);
        let order: Vec<_> = input.sessions.iter().map(|s| s.id.as_str()).collect();
        // Day 1's 10:00 round (Garden before Hall: the space list's order),
        // then day 1's 14:00 round, then day 2.
        assert_eq!(order, ["s-4", "s-3", "s-2", "s-1"]);
        let s2 = &input.sessions[2];
        assert_eq!((s2.day_index, s2.round_index, s2.space_index), (1, 2, 2));
        assert_eq!(s2.content, notes);
        assert_eq!(s2.round_label, "Round 2 · 14:00");
        assert_eq!(input.sessions[3].round_label, "Late · 09:00");
        assert_eq!(input.sessions[0].content, ChartContent::default());
        assert_eq!(input.conference.time_zone, "Europe/Berlin");
    }
}
