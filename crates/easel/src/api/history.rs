//! A chart's history over HTTP: list and save versions, export one, the
//! difference between two (or one and now), and restore one.
//!
//! | route                                                   | who             |
//! |---------------------------------------------------------|-----------------|
//! | `GET /charts/{id}/versions`                             | read and up     |
//! | `POST /charts/{id}/versions`                            | edit and up     |
//! | `GET /charts/{id}/versions/{v}/export.{ext}`            | read and up     |
//! | `GET /charts/{id}/versions/{v}/diff?against=live\|{v2}` | read and up     |
//! | `POST /charts/{id}/versions/{v}/restore`                | edit and up (a read link: 403 `restore_not_allowed`) |
//!
//! Readers may browse a chart's versions: they can read the chart and its
//! exports anyway, and a version holds nothing the chart did not show.
//! A version id of another chart (or conference) is 404, like one that
//! never existed.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use easel_agenda::SessionState;
use easel_conferences::history::{Asker, DiffLine, Trigger, Version};
use easel_conferences::proceedings::render_chart_export_of;
use easel_conferences::ChartEntry;
use easel_proceedings::Format;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::exports::{file_response, request_format};
use super::{ApiError, ApiJson, ApiPath, Caller, ErrorBody, ErrorCode};
use crate::access::{Role, TokenRecord};
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// `POST /charts/{id}/versions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveVersion {
    /// What this version is, e.g. "Before the vote"; at most 120
    /// characters, one line. Empty: "Saved version".
    #[serde(default)]
    pub label: Option<String>,
}

/// A chart's versions, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    pub chart_id: String,
    pub versions: Vec<Version>,
    /// The per-chart cap (`--max-versions-per-chart`).
    pub max_versions: usize,
}

/// What a restore did: the version of the state it replaced and the
/// version of the state it produced.
#[derive(Debug, Serialize, ToSchema)]
pub struct Restored {
    pub before: Version,
    pub after: Version,
}

/// The difference between two renderings (Markdown) of a chart.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDiff {
    /// The older side: a version id.
    pub from: String,
    /// The newer side: a version id, or `live`.
    pub to: String,
    pub inserted: usize,
    pub deleted: usize,
    pub lines: Vec<DiffLine>,
}

#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    against: Option<String>,
}

/// The chart's index entry if the caller's token is of its conference
/// with at least `role`.
async fn chart_for<'a>(
    state: &AppState,
    caller: &'a Caller,
    chart_id: &str,
    role: Role,
) -> ApiResult<(ChartEntry, &'a TokenRecord)> {
    let token = caller.token.as_ref().ok_or_else(ApiError::unauthorized)?;
    let entry = state
        .conferences
        .chart_entry(chart_id)
        .await?
        .filter(|e| e.conference_id == token.conference_id)
        .ok_or_else(|| ApiError::forbidden("this token does not grant access to this chart"))?;
    caller.require(&entry.conference_id, role)?;
    Ok((entry, token))
}

async fn version_of(state: &AppState, chart_id: &str, version_id: &str) -> ApiResult<Version> {
    state
        .conferences
        .version(chart_id, version_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("chart {chart_id} has no version {version_id:?}"))
        })
}

fn asker(token: &TokenRecord) -> Asker {
    Asker {
        label: Some(token.label.clone()).filter(|l| !l.is_empty()),
        role: Some(token.role.as_str().to_owned()),
    }
}

#[utoipa::path(
    get, path = "/charts/{chart_id}/versions", tag = "history",
    params(("chart_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = VersionList), (status = "4XX", body = ErrorBody))
)]
/// A chart's versions, oldest first (any link of its conference).
pub async fn list_versions(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(chart_id): ApiPath<String>,
) -> ApiResult<Json<VersionList>> {
    chart_for(&state, &caller, &chart_id, Role::Read).await?;
    Ok(Json(VersionList {
        versions: state.conferences.versions(&chart_id).await?,
        chart_id,
        max_versions: state.config.max_versions_per_chart as usize,
    }))
}

#[utoipa::path(
    post, path = "/charts/{chart_id}/versions", tag = "history",
    params(("chart_id" = String, Path)),
    request_body = SaveVersion, security(("bearer" = [])),
    responses((status = 201, description = "Stored durably", body = Version), (status = "4XX", body = ErrorBody))
)]
/// "Save version": a labelled version of the chart as it is now (edit
/// link or organizer). Answered once it is on disk.
pub async fn save_version(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(chart_id): ApiPath<String>,
    ApiJson(body): ApiJson<SaveVersion>,
) -> ApiResult<(StatusCode, Json<Version>)> {
    let (entry, token) = chart_for(&state, &caller, &chart_id, Role::Edit).await?;
    let label = body.label.as_deref().unwrap_or("").trim().to_owned();
    if label.chars().count() > easel_conferences::history::MAX_LABEL_CHARS
        || label.chars().any(char::is_control)
    {
        return Err(ApiError::invalid(
            "invalid label: at most 120 characters, one line",
        ));
    }
    let label = if label.is_empty() {
        "Saved version".to_owned()
    } else {
        label
    };
    let version = state
        .conferences
        .save_version(
            &entry.conference_id,
            &chart_id,
            Trigger::Manual,
            &label,
            &asker(token),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(version)))
}

#[utoipa::path(
    get, path = "/charts/{chart_id}/versions/{version_id}/export.{format}", tag = "history",
    params(
        ("chart_id" = String, Path),
        ("version_id" = String, Path),
        ("format" = String, Path, description = "md, html, json or pdf"),
        ("inline" = Option<String>, Query, description = "`1`: serve the HTML edition inline"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The version in the requested format (with ETag)"),
        (status = 304, description = "If-None-Match matched"),
        (status = "4XX", body = ErrorBody),
    )
)]
/// One version of a chart as Markdown, HTML, JSON or PDF: the chart export
/// of that version's content (any link of its conference).
pub async fn version_export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((chart_id, version_id, ext)): ApiPath<(String, String, String)>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (entry, _) = chart_for(&state, &caller, &chart_id, Role::Read).await?;
    let format = request_format(&ext)?;
    let version = version_of(&state, &chart_id, &version_id).await?;
    let content = state.conferences.version_state(&version).await?;
    let (name, bytes) = render_chart_export_of(
        &state.conferences,
        &entry.conference_id,
        &chart_id,
        format,
        Some(&content),
    )
    .await?;
    let name = format!("{name}-{}", version.at.strftime("%Y%m%d-%H%M%S"));
    Ok(file_response(&headers, uri.query(), format, &name, bytes))
}

#[utoipa::path(
    get, path = "/charts/{chart_id}/versions/{version_id}/diff", tag = "history",
    params(
        ("chart_id" = String, Path),
        ("version_id" = String, Path),
        ("against" = Option<String>, Query, description = "`live` (the default) or another version id of the chart"),
    ),
    security(("bearer" = [])),
    responses((status = 200, body = VersionDiff), (status = "4XX", body = ErrorBody))
)]
/// What changed between a version and now (or another version), line by
/// line over the chart's Markdown rendering (any link of its conference).
pub async fn version_diff(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((chart_id, version_id)): ApiPath<(String, String)>,
    Query(query): Query<DiffQuery>,
) -> ApiResult<Json<VersionDiff>> {
    let (entry, _) = chart_for(&state, &caller, &chart_id, Role::Read).await?;
    let from = version_of(&state, &chart_id, &version_id).await?;
    let against = query.against.unwrap_or_else(|| "live".to_owned());
    let render = |state_bytes: Option<Vec<u8>>| {
        let conferences = state.conferences.clone();
        let conference_id = entry.conference_id.clone();
        let chart_id = chart_id.clone();
        async move {
            let (_, bytes) = render_chart_export_of(
                &conferences,
                &conference_id,
                &chart_id,
                Format::Markdown,
                state_bytes.as_deref(),
            )
            .await?;
            Ok::<String, ApiError>(String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let old = render(Some(state.conferences.version_state(&from).await?)).await?;
    let (from_id, to_id, mut older, mut newer) = if against == "live" {
        (from.id.clone(), "live".to_owned(), old, render(None).await?)
    } else {
        let other = version_of(&state, &chart_id, &against).await?;
        let text = render(Some(state.conferences.version_state(&other).await?)).await?;
        // Older first, whichever was named first (ids sort by time).
        if other.id < from.id {
            (other.id.clone(), from.id.clone(), text, old)
        } else {
            (from.id.clone(), other.id.clone(), old, text)
        }
    };
    older.push('\n');
    newer.push('\n');
    let lines = easel_conferences::history::diff_lines(&older, &newer);
    Ok(Json(VersionDiff {
        from: from_id,
        to: to_id,
        inserted: lines.iter().filter(|l| l.tag == "insert").count(),
        deleted: lines.iter().filter(|l| l.tag == "delete").count(),
        lines,
    }))
}

#[utoipa::path(
    post, path = "/charts/{chart_id}/versions/{version_id}/restore", tag = "history",
    params(("chart_id" = String, Path), ("version_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Restored), (status = "4XX", body = ErrorBody))
)]
/// Makes the chart's content equal to this version's, as a new edit that
/// every open editor receives (edit link or organizer). The state it
/// replaces and the state it produces are kept as versions, so a restore
/// can be undone.
pub async fn restore_version(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((chart_id, version_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<Restored>> {
    let (entry, token) = chart_for(&state, &caller, &chart_id, Role::Read).await?;
    if token.role < Role::Edit {
        return Err(ApiError::new(
            ErrorCode::RestoreNotAllowed,
            "a read link cannot restore a version; ask for an edit link",
        ));
    }
    let version = version_of(&state, &chart_id, &version_id).await?;
    let stored = state.conferences.load(&entry.conference_id).await?;
    let writable = entry.merged_into.is_none()
        && stored
            .conference
            .sessions()
            .iter()
            .any(|s| s.chart_id == chart_id && s.state != SessionState::Final);
    if !writable {
        return Err(ApiError::new(
            ErrorCode::SessionFinal,
            "this chart is read-only (its session is final, cancelled or merged); reopen it first",
        ));
    }
    let (before, after) = state
        .conferences
        .restore_version(&version, &asker(token))
        .await?;
    Ok(Json(Restored { before, after }))
}
