//! Exports: one chart (for its hosts) and a conference's proceedings (for
//! its readers) in every format of `easel-proceedings`, over HTTP and from
//! the command line.
//!
//! | route                                              | who                                   |
//! |----------------------------------------------------|---------------------------------------|
//! | `GET /api/v1/charts/{id}/export.{ext}`             | any token of the chart's conference   |
//! | `GET /api/v1/conferences/{id}/proceedings.{ext}`   | a token of the conference, or none when proceedings are public |
//!
//! `ext` is `md`, `html`, `json` or `pdf`. Responses carry the format's
//! `Content-Type`, `Content-Disposition: attachment; filename="<slug>.<ext>"`
//! (`?inline=1` serves the HTML edition inline, under a CSP that allows
//! nothing but its inline styles) and a strong `ETag` (SHA-256 of the
//! rendered bytes); `If-None-Match` answers 304. Every export is compiled
//! on demand from the charts' current state ([`Hub::chart_state`]): during
//! the event it is the live edition, after it the final one.
//!
//! The mapping agenda → [`ProceedingsInput`] lives here ([`proceedings_input`])
//! and is shared with `easel proceedings`, which runs it on a stopped
//! server's data dir.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use easel_agenda::{zone, Conference, Session, SessionState};
use easel_hub::Hub;
use easel_proceedings::{ConferenceInfo, Format, ProceedingsInput, SessionInput};
use sha2::{Digest, Sha256};
use yrs::updates::decoder::Decode;
use yrs::{Doc, Transact, Update};

use crate::access::Role;
use crate::api::{ApiError, ApiPath, Caller, ErrorBody};
use crate::conferences::{self, Conferences, StoredConference};
use crate::AppState;

/// Content-Security-Policy of an HTML export served inline: the file is
/// self-contained (inline CSS, no scripts), so it needs nothing else.
const INLINE_HTML_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The format an extension names (`md`, `html`, `json`, `pdf`).
pub fn parse_format(ext: &str) -> Option<Format> {
    match ext {
        "md" | "markdown" => Some(Format::Markdown),
        "html" => Some(Format::Html),
        "json" => Some(Format::Json),
        "pdf" => Some(Format::Pdf),
        _ => None,
    }
}

/// The format of a request, or the API error for it. The one place that
/// decides which formats the endpoints serve.
fn request_format(ext: &str) -> Result<Format, ApiError> {
    parse_format(ext).ok_or_else(|| {
        ApiError::not_found(format!(
            "no export format {ext:?}; use md, html, json or pdf"
        ))
    })
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

/// The strong entity tag of rendered bytes: a quoted SHA-256 prefix.
pub fn etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` matches `tag` (weak comparison, RFC 9110 13.1.2).
fn not_modified(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == tag)
}

/// Whether the query asks for the HTML edition inline (`inline=1`/`true`).
fn wants_inline(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .any(|(k, v)| k == "inline" && (v == "1" || v == "true"))
    })
}

/// The HTTP response for rendered bytes: type, file name, ETag, 304.
fn file_response(
    headers: &HeaderMap,
    query: Option<&str>,
    format: Format,
    name: &str,
    bytes: Vec<u8>,
) -> Response {
    let tag = etag(&bytes);
    let mut response = if not_modified(headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        bytes.into_response()
    };
    let inline = format == Format::Html && wants_inline(query);
    let disposition = format!(
        "{}; filename=\"{name}.{}\"",
        if inline { "inline" } else { "attachment" },
        format.extension()
    );
    let h = response.headers_mut();
    let mut set = |key: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(key, v);
        }
    };
    set(header::CONTENT_TYPE, format.content_type());
    set(header::CONTENT_DISPOSITION, &disposition);
    set(header::ETAG, &tag);
    // Live edition: always revalidate (cheap with the ETag); never in a
    // shared cache, since most exports need a token.
    set(header::CACHE_CONTROL, "private, no-cache");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if format == Format::Html {
        set(header::CONTENT_SECURITY_POLICY, INLINE_HTML_CSP);
    }
    response
}

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

/// A session's place on the agenda, with its chart's content left empty.
/// Day index is the day number (1-based); round index is the round's
/// position within its day (1-based, by start); space index is the space's
/// position in the conference's space list.
pub fn session_input(c: &Conference, s: &Session) -> SessionInput {
    let zone = c.time_zone();
    let round = c.round(&s.round_id).ok();
    let days = c.days();
    let (day_index, day_label, round_index) = round
        .and_then(|r| {
            let date = c.local_date_of(r);
            let day = days.iter().find(|d| d.date == date)?;
            let mut in_day: Vec<_> = c
                .rounds()
                .iter()
                .filter(|o| day.round_ids.contains(&o.id))
                .collect();
            in_day.sort_by_key(|o| (o.starts_at, o.id.clone()));
            let position = in_day.iter().position(|o| o.id == r.id).unwrap_or(0);
            Some((day.number, day.label.clone(), position as u32 + 1))
        })
        .unwrap_or((0, String::new(), 0));
    let round_label = round
        .map(|r| {
            let time = zone.zoned(r.starts_at).strftime("%H:%M").to_string();
            match r.label.as_deref().filter(|l| !l.is_empty()) {
                Some(label) => format!("{label} · {time}"),
                None => format!("Round {round_index} · {time}"),
            }
        })
        .unwrap_or_default();
    let space_index = c
        .spaces()
        .iter()
        .position(|sp| sp.id == s.space_id)
        .map_or(0, |i| i as u32 + 1);
    SessionInput {
        id: s.id.clone(),
        topic: s.topic.clone(),
        convener: s.convener.clone(),
        space: c
            .space(&s.space_id)
            .map(|sp| sp.name.clone())
            .unwrap_or_default(),
        round_label,
        day_label,
        round_index,
        day_index,
        space_index,
        starts_local: round.map(|r| r.format_start_in(zone)).unwrap_or_default(),
        starts_utc: round
            .map(|r| zone::format_utc(r.starts_at))
            .unwrap_or_default(),
        state: state_label(s.state).to_owned(),
        content: Default::default(),
    }
}

/// A chart's current content, from the live actor or the store.
pub async fn chart_content(
    hub: &Hub,
    chart_id: &str,
) -> conferences::Result<easel_chart::ChartContent> {
    let state = hub.chart_state(chart_id).await?;
    let doc = Doc::new();
    let update = Update::decode_v1(&state)
        .map_err(|e| conferences::Error::Corrupt(format!("chart {chart_id}: {e}")))?;
    doc.transact_mut()
        .apply_update(update)
        .map_err(|e| conferences::Error::Corrupt(format!("chart {chart_id}: {e}")))?;
    Ok(easel_chart::read_chart(&doc))
}

/// The proceedings input of a conference: every session on the agenda
/// (cancelled ones are no longer on it; merged-away charts live on in the
/// kept session's chart), in agenda order, each with its chart's content.
pub async fn proceedings_input(
    stored: &StoredConference,
    hub: &Hub,
) -> conferences::Result<ProceedingsInput> {
    let c = &stored.conference;
    let mut sessions = Vec::with_capacity(c.sessions().len());
    for s in c.sessions() {
        let mut input = session_input(c, s);
        input.content = chart_content(hub, &s.chart_id).await?;
        sessions.push(input);
    }
    sessions.sort_by(|a, b| {
        (a.day_index, a.round_index, a.space_index, &a.id).cmp(&(
            b.day_index,
            b.round_index,
            b.space_index,
            &b.id,
        ))
    });
    Ok(ProceedingsInput {
        conference: conference_info(c),
        sessions,
    })
}

/// Rendering failed (a PDF typesetting bug, not bad input).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Conference(#[from] conferences::Error),
    #[error(transparent)]
    Render(#[from] easel_proceedings::ProceedingsError),
    #[error("rendering task failed: {0}")]
    Join(String),
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> ApiError {
        match e {
            ExportError::Conference(c) => c.into(),
            other => {
                tracing::error!(error = %other, "export failed");
                ApiError::new(
                    crate::api::ErrorCode::Internal,
                    "the export could not be rendered; see the server log",
                )
            }
        }
    }
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
    let stored = conferences.load(conference_id).await?;
    let input = proceedings_input(&stored, conferences.hub()).await?;
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
    let stored = conferences.load(conference_id).await?;
    let c = &stored.conference;
    let mut input = match c.sessions().iter().find(|s| s.chart_id == chart_id) {
        Some(s) => session_input(c, s),
        None => SessionInput {
            id: chart_id.to_owned(),
            topic: format!("Chart {chart_id}"),
            state: "not on the agenda".to_owned(),
            ..Default::default()
        },
    };
    input.content = chart_content(conferences.hub(), chart_id).await?;
    let name = slug(&input.topic, "chart");
    let info = conference_info(c);
    let bytes =
        render_blocking(move || easel_proceedings::render_chart(&input, &info, format)).await?;
    Ok((name, bytes))
}

#[utoipa::path(
    get, path = "/charts/{chart_id}/export.{format}", tag = "exports",
    params(
        ("chart_id" = String, Path),
        ("format" = String, Path, description = "md, html, json or pdf"),
        ("inline" = Option<String>, Query, description = "`1`: serve the HTML edition inline"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The chart in the requested format (with ETag)"),
        (status = 304, description = "If-None-Match matched"),
        (status = "4XX", body = ErrorBody),
    )
)]
/// One chart as Markdown, HTML, JSON or PDF (any token of its conference).
pub async fn chart_export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((chart_id, ext)): ApiPath<(String, String)>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = caller.token.as_ref().ok_or_else(ApiError::unauthorized)?;
    let format = request_format(&ext)?;
    let entry = state
        .conferences
        .chart_entry(&chart_id)
        .await?
        .filter(|e| e.conference_id == token.conference_id)
        .ok_or_else(|| ApiError::forbidden("this token does not grant access to this chart"))?;
    caller.require(&entry.conference_id, Role::Read)?;
    let (name, bytes) =
        render_chart_export(&state.conferences, &entry.conference_id, &chart_id, format).await?;
    Ok(file_response(&headers, uri.query(), format, &name, bytes))
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/proceedings.{format}", tag = "exports",
    params(
        ("conference_id" = String, Path),
        ("format" = String, Path, description = "md, html, json or pdf"),
        ("inline" = Option<String>, Query, description = "`1`: serve the HTML edition inline"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The proceedings in the requested format (with ETag)"),
        (status = 304, description = "If-None-Match matched"),
        (status = "4XX", body = ErrorBody),
    )
)]
/// The conference's proceedings (read token, or none when public).
pub async fn proceedings(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((conference_id, ext)): ApiPath<(String, String)>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if caller.token.is_some() {
        caller.require(&conference_id, Role::Read)?;
    } else {
        // Same answer for "not public" and "no such conference".
        let public = state
            .conferences
            .load(&conference_id)
            .await
            .is_ok_and(|s| s.proceedings_public);
        if !public {
            return Err(ApiError::unauthorized());
        }
    }
    let format = request_format(&ext)?;
    let (name, bytes) = render_proceedings(&state.conferences, &conference_id, format).await?;
    Ok(file_response(&headers, uri.query(), format, &name, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn if_none_match_lists_and_weak_tags() {
        let tag = etag(b"hello");
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", W/{tag}")).unwrap(),
        );
        assert!(not_modified(&h, &tag));
        assert!(!not_modified(&h, &etag(b"other")));
    }

    #[test]
    fn formats() {
        for f in Format::ALL {
            assert_eq!(parse_format(f.extension()), Some(f));
        }
        assert_eq!(parse_format("exe"), None);
    }
}
