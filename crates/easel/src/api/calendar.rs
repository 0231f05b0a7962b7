//! The agenda as a calendar: `GET /conferences/{id}/agenda.ics` (every
//! session, and the opening and closing circles) and
//! `GET /conferences/{id}/sessions/{sid}/session.ics` (one session, for
//! "add to calendar"). Times are UTC with the conference's zone named; the
//! iCalendar text itself is `easel_agenda::calendar`.
//!
//! Access is the agenda's: a token of the conference (calendar apps that
//! subscribe cannot send a header, so `?token=` works too, as everywhere),
//! or none when the proceedings are public. `DTSTAMP` is the conference's
//! creation time, not now, so the same agenda gives the same bytes and a
//! re-import updates events instead of duplicating them.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use easel_agenda::calendar::{agenda_ics, session_ics, IcsOptions, CONTENT_TYPE};
use easel_conferences::proceedings::slug;
use easel_conferences::StoredConference;

use super::{ApiError, ApiPath, Caller, ErrorBody};
use crate::access::Role;
use crate::AppState;

/// The conference if the caller may read its agenda.
pub(crate) async fn readable(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<StoredConference, ApiError> {
    if caller.token.is_some() {
        caller.require(id, Role::Read)?;
        return Ok(state.conferences.load(id).await?);
    }
    match state.conferences.load(id).await {
        Ok(stored) if stored.proceedings_public => Ok(stored),
        _ => Err(ApiError::unauthorized()),
    }
}

/// The host the request named, for UIDs and links (`localhost` if none).
pub(crate) fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost")
        .to_owned()
}

/// Runs `f` with the options every calendar of this server uses: the
/// conference's creation as `DTSTAMP`, this server's host in UIDs and its
/// public base URL (`--public-url`, else the requested host) in each
/// session's chart link, so a calendar behind a TLS proxy links to https.
fn with_options<T>(
    state: &AppState,
    stored: &StoredConference,
    headers: &HeaderMap,
    f: impl FnOnce(&IcsOptions<'_>) -> T,
) -> T {
    let host = host(headers);
    let base = super::base_url(state, headers);
    let link = |s: &easel_agenda::Session| format!("{base}/#/chart/{}", s.chart_id);
    f(&IcsOptions {
        stamp: stored.created,
        uid_domain: &host,
        session_url: Some(&link),
    })
}

fn calendar_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, CONTENT_TYPE.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.ics\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/agenda.ics", tag = "conferences",
    params(("conference_id" = String, Path)),
    security(("bearer" = []), ()),
    responses(
        (status = 200, description = "The agenda as an iCalendar file (text/calendar)", content_type = "text/calendar"),
        (status = "4XX", body = ErrorBody),
    )
)]
/// The whole agenda as a calendar (UTC, the conference's zone named).
pub async fn agenda_calendar(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let stored = readable(&state, &caller, &id).await?;
    let body = with_options(&state, &stored, &headers, |o| {
        agenda_ics(&stored.conference, o)
    });
    Ok(calendar_response(
        &slug(stored.conference.name(), "agenda"),
        body,
    ))
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/sessions/{session_id}/session.ics", tag = "sessions",
    params(("conference_id" = String, Path), ("session_id" = String, Path)),
    security(("bearer" = []), ()),
    responses(
        (status = 200, description = "One session as an iCalendar file (text/calendar)", content_type = "text/calendar"),
        (status = "4XX", body = ErrorBody),
    )
)]
/// One session as a calendar event ("add to calendar").
pub async fn session_calendar(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath((id, session_id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let stored = readable(&state, &caller, &id).await?;
    let body = with_options(&state, &stored, &headers, |o| {
        session_ics(&stored.conference, &session_id, o)
    })?;
    let topic = stored
        .conference
        .sessions()
        .iter()
        .find(|s| s.id == session_id)
        .map_or("session", |s| s.topic.as_str());
    Ok(calendar_response(&slug(topic, "session"), body))
}
