//! The report and its follow-up over HTTP: the report settings (template,
//! attribution), a round's kind, a session's continuation, and the action
//! register as CSV and iCalendar.
//!
//! | route                                                   | who                 |
//! |---------------------------------------------------------|---------------------|
//! | `PUT /conferences/{id}/report`                          | organizer           |
//! | `PATCH /conferences/{id}/rounds/{round_id}`             | organizer           |
//! | `PUT /conferences/{id}/sessions/{sid}/continues`        | organizer, or the topic's poster |
//! | `GET /conferences/{id}/actions.csv` (`?group=owner`)    | read, or none when proceedings are public |
//! | `GET /conferences/{id}/actions.ics`                     | read, or none when proceedings are public |
//!
//! What these do is `easel_conferences::report`; this file checks roles
//! and maps bodies.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use easel_agenda::{Round, RoundKind};
use easel_chart::{ReportTemplate, SectionKind, TemplateLimits, TemplateSection};
use easel_conferences::proceedings::{load_input, slug};
use easel_conferences::report::ReportChange;
use easel_conferences::StoredConference;
use easel_proceedings::{Attribution, Proceedings};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::{host, readable};
use super::views::{conference_view, ConferenceView};
use super::{base_url, ApiError, ApiJson, ApiPath, Caller, ErrorBody};
use crate::access::Role;
use crate::AppState;

/// One section of a report template.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionView {
    /// The section's heading (one line).
    pub heading: String,
    /// `text` (a paragraph to write in) or `actions` (a task list).
    #[schema(value_type = String, example = "text")]
    pub kind: SectionKind,
}

/// A conference's report settings and what hangs off them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportSettingsView {
    /// The sections new session charts start with.
    pub template: Vec<SectionView>,
    /// `named` or `anonymous` (no person's name in any export).
    #[schema(value_type = String, example = "named")]
    pub attribution: Attribution,
    /// With `anonymous`: action items keep their owners.
    pub keep_owners: bool,
    /// Circle round id -> its plenary chart id.
    pub circles: BTreeMap<String, String>,
    /// Session id -> the session it continues.
    pub continues: BTreeMap<String, String>,
}

pub fn report_view(stored: &StoredConference) -> ReportSettingsView {
    let r = &stored.report;
    ReportSettingsView {
        template: r
            .template
            .sections
            .iter()
            .map(|s| SectionView {
                heading: s.heading.clone(),
                kind: s.kind,
            })
            .collect(),
        attribution: r.attribution,
        keep_owners: r.keep_owners,
        circles: r.circles.clone(),
        continues: r.continues.clone(),
    }
}

/// Every field optional; given fields change together or not at all.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateReport {
    /// The new template (replaces the old one for charts created from now).
    pub template: Option<Vec<SectionView>>,
    /// `named` or `anonymous`.
    #[schema(value_type = Option<String>, example = "anonymous")]
    pub attribution: Option<Attribution>,
    pub keep_owners: Option<bool>,
    /// `open_space` or `classic`: start from a built-in template instead
    /// of giving `template`.
    pub preset: Option<String>,
}

#[utoipa::path(
    put, path = "/conferences/{conference_id}/report", tag = "report",
    params(("conference_id" = String, Path)),
    request_body = UpdateReport, security(("bearer" = [])),
    responses((status = 200, body = ConferenceView), (status = "4XX", body = ErrorBody))
)]
/// Set the report template and attribution (organizer). Charts that exist
/// keep their notes; new session charts start with the new template.
pub async fn update_report(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateReport>,
) -> Result<Json<ConferenceView>, ApiError> {
    caller.require(&id, Role::Organizer)?;
    let template = match (body.template, body.preset.as_deref()) {
        (Some(_), Some(_)) => return Err(ApiError::invalid("give template or preset, not both")),
        (Some(sections), None) => Some(ReportTemplate {
            sections: sections
                .into_iter()
                .map(|s| TemplateSection {
                    heading: s.heading,
                    kind: s.kind,
                })
                .collect(),
        }),
        (None, Some("open_space")) => Some(ReportTemplate::open_space()),
        (None, Some("classic")) => Some(ReportTemplate::classic()),
        (None, Some(other)) => {
            return Err(ApiError::invalid(format!(
                "unknown preset {other:?}; use open_space or classic"
            )))
        }
        (None, None) => None,
    };
    let limits = TemplateLimits {
        max_sections: state.config.max_template_sections,
        max_heading_chars: state.config.max_template_heading_chars,
    };
    let stored = state
        .conferences
        .set_report(
            &id,
            ReportChange {
                template,
                attribution: body.attribution,
                keep_owners: body.keep_owners,
            },
            limits,
        )
        .await?;
    Ok(Json(conference_view(&stored)))
}

/// Change a round's kind or label; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRound {
    /// `opening_circle`, `breakout` or `closing_circle`. A circle gets one
    /// plenary chart; a round with sessions cannot become a circle.
    #[schema(value_type = Option<String>, example = "closing_circle")]
    pub kind: Option<RoundKind>,
    /// Display label; `""` removes it.
    pub label: Option<String>,
}

#[utoipa::path(
    patch, path = "/conferences/{conference_id}/rounds/{round_id}", tag = "agenda",
    params(("conference_id" = String, Path), ("round_id" = String, Path)),
    request_body = UpdateRound, security(("bearer" = [])),
    responses((status = 200, body = ConferenceView), (status = "4XX", body = ErrorBody))
)]
/// Set a round's kind (opening circle, breakout, closing circle) or label
/// (organizer).
pub async fn update_round(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, round_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<UpdateRound>,
) -> Result<Json<ConferenceView>, ApiError> {
    caller.require(&id, Role::Organizer)?;
    if body.kind.is_none() && body.label.is_none() {
        return Err(ApiError::invalid("nothing to change: give kind or label"));
    }
    let ((), stored) = state
        .conferences
        .mutate_rounds(&id, "round_updated", |s| {
            let old = s.conference.round(&round_id)?.clone();
            let mut round = Round::new(
                old.id.clone(),
                old.starts_at,
                old.duration_minutes,
                body.kind.unwrap_or(old.kind),
            )?;
            match body.label.as_deref() {
                Some("") => {}
                Some(label) => round = round.with_label(label)?,
                None => round.label = old.label.clone(),
            }
            Ok(s.conference.replace_round(round)?)
        })
        .await?;
    Ok(Json(conference_view(&stored)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetContinues {
    /// Id of the session (of this conference) this one continues; `null`
    /// to say it continues none.
    pub continues: Option<String>,
}

#[utoipa::path(
    put, path = "/conferences/{conference_id}/sessions/{session_id}/continues", tag = "sessions",
    params(("conference_id" = String, Path), ("session_id" = String, Path)),
    request_body = SetContinues, security(("bearer" = [])),
    responses((status = 200, body = ConferenceView), (status = "4XX", body = ErrorBody))
)]
/// Say which session this one continues (organizer, or the topic's poster
/// with an edit link and `X-Easel-Poster-Key`). Refused: itself, a session
/// of another conference (or none), a cycle.
pub async fn set_continues(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath((id, session_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<SetContinues>,
) -> Result<Json<ConferenceView>, ApiError> {
    if caller.require(&id, Role::Organizer).is_err() {
        super::handlers::require_poster(&state, &caller, &headers, &id, &session_id).await?;
    }
    let stored = state
        .conferences
        .set_continues(&id, &session_id, body.continues.as_deref())
        .await?;
    Ok(Json(conference_view(&stored)))
}

/// The compiled proceedings (names withheld when anonymous) and the link
/// maker for charts.
async fn register(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(StoredConference, Proceedings), ApiError> {
    let stored = readable(state, caller, id).await?;
    let input = load_input(&stored, state.conferences.hub()).await?;
    Ok((stored, Proceedings::build(&input)))
}

fn file(content_type: &str, name: &str, ext: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{ext}\""),
            ),
            (header::CACHE_CONTROL, "private, no-cache".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        body,
    )
        .into_response()
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/actions.csv", tag = "exports",
    params(
        ("conference_id" = String, Path),
        ("group" = Option<String>, Query, description = "`owner`: rows grouped by owner (A–Z, none last)"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "text/csv: session, topic, action, owner, due, done, chart"),
        (status = "4XX", body = ErrorBody),
    )
)]
/// The action register as CSV (read token, or none when public).
pub async fn actions_csv(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    uri: axum::http::Uri,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let group = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "group")
        .map(|(_, v)| v.to_owned());
    let by_owner = match group.as_deref() {
        None | Some("") => false,
        Some("owner") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "unknown group {other:?}; use group=owner"
            )))
        }
    };
    let (stored, model) = register(&state, &caller, &id).await?;
    let base = base_url(&state, &headers);
    let link = |chart: &str| format!("{base}/#/chart/{chart}");
    let body = easel_conferences::report::actions_csv(&model, by_owner, &link).map_err(|e| {
        tracing::error!(error = %e, "action register CSV failed");
        ApiError::new(
            crate::api::ErrorCode::Internal,
            "the CSV could not be written",
        )
    })?;
    let name = format!("{}-actions", slug(stored.conference.name(), "conference"));
    Ok(file("text/csv; charset=utf-8", &name, "csv", body))
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/actions.ics", tag = "exports",
    params(("conference_id" = String, Path)),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "text/calendar: one all-day event per action item with a due date"),
        (status = "4XX", body = ErrorBody),
    )
)]
/// The action register's due dates as a calendar (read token, or none
/// when public).
pub async fn actions_ics(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let (stored, model) = register(&state, &caller, &id).await?;
    let base = base_url(&state, &headers);
    let link = |chart: &str| format!("{base}/#/chart/{chart}");
    let body =
        easel_conferences::report::actions_ics(&model, stored.created, &host(&headers), &link);
    let name = format!("{}-actions", slug(stored.conference.name(), "conference"));
    Ok(file(
        easel_agenda::calendar::CONTENT_TYPE,
        &name,
        "ics",
        body.into_bytes(),
    ))
}
