//! The live harvest over HTTP: the news wall's reports, the Atom feed of
//! finalized reports, and the organizer dashboard.
//!
//! | route                                   | who                                                    |
//! |-----------------------------------------|--------------------------------------------------------|
//! | `GET /api/v1/conferences/{id}/news`      | a token of the conference, or none when proceedings are public |
//! | `GET /api/v1/conferences/{id}/feed.atom` | the same                                               |
//! | `GET /api/v1/conferences/{id}/dashboard` | an organizer token                                     |
//!
//! The news wall stays live through the conference's event stream
//! (`report` events, see `api::events`); the dashboard through the same
//! stream's `agenda`, `presence` and `edited` events.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use easel_conferences::dashboard::Dashboard;
use easel_conferences::news::{atom_feed, Report};
use serde::Serialize;
use utoipa::ToSchema;

use super::{base_url, ApiError, ApiPath, Caller, ErrorBody};
use crate::access::Role;
use crate::AppState;

/// A conference's finished reports, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewsView {
    pub conference_id: String,
    pub name: String,
    /// The conference's zone (the wall shows times in the viewer's own).
    pub time_zone: String,
    /// Bumped on every agenda change, like the live events' ids.
    pub version: u64,
    pub reports: Vec<Report>,
}

/// Who may read the news: the same rule as the proceedings (a token of the
/// conference, or none when its proceedings are public).
pub async fn require_news_reader(
    state: &AppState,
    caller: &Caller,
    conference_id: &str,
) -> Result<(), ApiError> {
    if caller.token.is_some() {
        caller.require(conference_id, Role::Read)?;
        return Ok(());
    }
    // Same answer for "not public" and "no such conference".
    let public = state
        .conferences
        .load(conference_id)
        .await
        .is_ok_and(|s| s.proceedings_public);
    if public {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/news", tag = "news",
    params(("conference_id" = String, Path)),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Final sessions' reports, newest first (read token, or none when proceedings are public)", body = NewsView),
        (status = "4XX", body = ErrorBody),
    )
)]
/// The news wall: finished reports, newest first.
pub async fn news(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NewsView>, ApiError> {
    require_news_reader(&state, &caller, &id).await?;
    let (stored, reports) = state.conferences.reports(&id).await?;
    let c = &stored.conference;
    Ok(Json(NewsView {
        conference_id: c.id().to_owned(),
        name: c.name().to_owned(),
        time_zone: c.time_zone().name().to_owned(),
        version: stored.version,
        reports: reports.into_iter().map(|(r, _)| r).collect(),
    }))
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/feed.atom", tag = "news",
    params(("conference_id" = String, Path)),
    security((), ("bearer" = [])),
    responses(
        (status = 200, content_type = "application/atom+xml",
         description = "Atom feed (RFC 4287) of finalized reports: entry ids `urn:uuid:` (stable), `updated` = finalize time, content as escaped HTML"),
        (status = 304, description = "If-None-Match matched"),
        (status = "4XX", body = ErrorBody),
    )
)]
/// Atom feed of finalized reports (read token, or none when public).
pub async fn feed(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_news_reader(&state, &caller, &id).await?;
    let (stored, reports) = state.conferences.reports(&id).await?;
    let body = atom_feed(&stored, &reports, &base_url(&state, &headers));
    let tag = super::exports::etag(body.as_bytes());
    let matched = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == tag)
        });
    let mut response = if matched {
        axum::http::StatusCode::NOT_MODIFIED.into_response()
    } else {
        body.into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/atom+xml; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    Ok(response)
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/dashboard", tag = "news",
    params(("conference_id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every session's state, head count and last edit, nudge first (organizer)", body = Dashboard),
        (status = "4XX", body = ErrorBody),
    )
)]
/// The organizer dashboard (organizer).
pub async fn dashboard(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Dashboard>, ApiError> {
    caller.require(&id, Role::Organizer)?;
    let overdue_after = jiff::SignedDuration::try_from(state.config.overdue_after)
        .unwrap_or(jiff::SignedDuration::MAX);
    Ok(Json(state.conferences.dashboard(&id, overdue_after).await?))
}
