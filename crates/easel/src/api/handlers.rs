//! The API's handlers. Each checks the caller's role first (before loading
//! anything), then calls the conference service, then renders a view.
//! (One file, though long: every handler is the same three short steps
//! with its OpenAPI annotation, and reading them together is how a
//! reviewer checks that none skips the role check.)

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use easel_agenda::{zone, Conference, PatternSegment, Round, RoundPattern, SessionState, Space};
use jiff::civil::Date;
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::*;
use super::{base_url, conference_link, ApiError, ApiJson, ApiPath, Caller, ErrorBody};
use crate::access::{self, Role};
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

fn parse_date(field: &str, value: &str) -> ApiResult<Date> {
    value
        .trim()
        .parse::<Date>()
        .map_err(|e| ApiError::invalid(format!("invalid {field}: expected YYYY-MM-DD ({e})")))
}

#[utoipa::path(
    post, path = "/conferences", tag = "conferences",
    request_body = CreateConference,
    responses(
        (status = 201, description = "Created; the organizer token is shown only here", body = CreatedConference),
        (status = "4XX", description = "Bad input or rate limited", body = ErrorBody),
    )
)]
/// Create a conference. Needs no token; returns the organizer token once.
pub async fn create_conference(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateConference>,
) -> ApiResult<(StatusCode, Json<CreatedConference>)> {
    if !state.limits.creates.try_take(caller.ip) {
        return Err(ApiError::rate_limited("conference creations"));
    }
    let conference = Conference::new(
        access::new_id("conf-"),
        &body.name,
        &body.time_zone,
        parse_date("start_date", &body.start_date)?,
        parse_date("end_date", &body.end_date)?,
    )?;
    let mut conference = conference;
    if let Some(d) = &body.description {
        conference.set_description(d)?;
    }
    let (stored, minted) = state.conferences.create(conference).await?;
    let base = base_url(&state, &headers);
    Ok((
        StatusCode::CREATED,
        Json(CreatedConference {
            organizer_link: conference_link(&base, stored.conference.id(), &minted.secret),
            conference: conference_view(&stored),
            organizer_token: minted.secret,
        }),
    ))
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}", tag = "conferences",
    params(("conference_id" = String, Path)),
    security(("bearer" = []), ()),
    responses(
        (status = 200, description = "The conference and its agenda (read link, or none if proceedings are public)", body = ConferenceView),
        (status = "4XX", body = ErrorBody),
    )
)]
/// The conference with its whole agenda.
pub async fn get_conference(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ConferenceView>> {
    if caller.token.is_some() {
        caller.require(&id, Role::Read)?;
        return Ok(Json(conference_view(&state.conferences.load(&id).await?)));
    }
    match state.conferences.load(&id).await {
        Ok(stored) if stored.proceedings_public => Ok(Json(conference_view(&stored))),
        _ => Err(ApiError::unauthorized()),
    }
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/presence", tag = "conferences",
    params(("conference_id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Open connections per session chart (read link; public proceedings do not open this)", body = PresenceView),
        (status = "4XX", body = ErrorBody),
    )
)]
/// How many people are in each session's chart right now (read). The live
/// event stream sends the same as `presence` events.
pub async fn conference_presence(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PresenceView>> {
    // Who is where is about people, not the proceedings: a token of this
    // conference is needed even when its proceedings are public.
    caller.require(&id, Role::Read)?;
    let stored = state.conferences.load(&id).await?;
    Ok(Json(presence_view(&state.hub, &stored.conference)))
}

#[utoipa::path(
    patch, path = "/conferences/{conference_id}", tag = "conferences",
    params(("conference_id" = String, Path)),
    request_body = UpdateConference, security(("bearer" = [])),
    responses((status = 200, body = ConferenceView), (status = "4XX", body = ErrorBody))
)]
/// Change name, description, time zone, dates, published flags (organizer).
pub async fn update_conference(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateConference>,
) -> ApiResult<Json<ConferenceView>> {
    caller.require(&id, Role::Organizer)?;
    let start = body
        .start_date
        .as_deref()
        .map(|d| parse_date("start_date", d))
        .transpose()?;
    let end = body
        .end_date
        .as_deref()
        .map(|d| parse_date("end_date", d))
        .transpose()?;
    let ((), stored) = state
        .conferences
        .mutate(&id, "conference_updated", |s| {
            let c = &mut s.conference;
            if let Some(name) = &body.name {
                c.rename(name)?;
            }
            if let Some(d) = &body.description {
                c.set_description(d)?;
            }
            if let Some(tz) = &body.time_zone {
                c.set_time_zone(tz)?;
            }
            if start.is_some() || end.is_some() {
                c.set_dates(start.unwrap_or(c.start_date()), end.unwrap_or(c.end_date()))?;
            }
            if let Some(p) = body.published {
                c.set_published(p);
            }
            if let Some(p) = body.proceedings_public {
                s.set_proceedings_public(p, jiff::Timestamp::now());
            }
            Ok(())
        })
        .await?;
    Ok(Json(conference_view(&stored)))
}

#[utoipa::path(
    delete, path = "/conferences/{conference_id}", tag = "conferences",
    params(("conference_id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted: the conference, its charts (open connections closed with 4410) and all its links", body = easel_conferences::Deleted),
        (status = "4XX", body = ErrorBody),
    )
)]
/// Delete the conference and everything it owns, for good (organizer).
pub async fn delete_conference(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<easel_conferences::Deleted>> {
    caller.require(&id, Role::Organizer)?;
    Ok(Json(state.conferences.delete(&id).await?))
}

#[utoipa::path(
    post, path = "/conferences/{conference_id}/rounds", tag = "agenda",
    params(("conference_id" = String, Path)),
    request_body = AddRound, security(("bearer" = [])),
    responses((status = 201, body = ConferenceView), (status = "4XX", body = ErrorBody))
)]
/// Add one round (organizer).
pub async fn add_round(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddRound>,
) -> ApiResult<(StatusCode, Json<ConferenceView>)> {
    caller.require(&id, Role::Organizer)?;
    let ((), stored) = state
        .conferences
        .mutate_rounds(&id, "round_added", |s| {
            let c = &mut s.conference;
            let starts_at = match (&body.starts_at, &body.local_start) {
                (Some(at), None) => zone::parse_instant(at)?,
                (None, Some(local)) => c.time_zone().resolve(zone::parse_civil(local)?)?,
                _ => {
                    return Err(easel_agenda::AgendaError::InvalidInput {
                        field: "starts_at",
                        reason: "give exactly one of starts_at (RFC 3339 with offset) or local_start (conference time)".into(),
                    }
                    .into())
                }
            };
            let mut round = Round::new(
                access::new_id("r-"),
                starts_at,
                body.duration_minutes,
                body.kind,
            )?;
            if let Some(label) = &body.label {
                round = round.with_label(label)?;
            }
            c.add_round(round)?;
            Ok(())
        })
        .await?;
    Ok((StatusCode::CREATED, Json(conference_view(&stored))))
}

/// A repeating pattern of rounds (see the agenda crate's `RoundPattern`):
/// segments of `{kind, count, start, interval_minutes, duration_minutes,
/// label?}` where `start` is `{"type": "at", "start": {"type": "instant",
/// "at": RFC3339}}`, `{"type": "at", "start": {"type": "civil", "datetime":
/// "2026-11-02T09:00", "time_zone": IANA}}` or `{"type": "after_previous",
/// "gap_minutes": N}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPattern {
    #[schema(value_type = Vec<Object>)]
    pub segments: Vec<PatternSegment>,
}

#[utoipa::path(
    post, path = "/conferences/{conference_id}/rounds/pattern", tag = "agenda",
    params(("conference_id" = String, Path)),
    request_body = AddPattern, security(("bearer" = [])),
    responses((status = 201, description = "All rounds added, or none", body = ConferenceView), (status = "4XX", body = ErrorBody))
)]
/// Add many rounds from a repeating pattern, atomically (organizer).
pub async fn add_round_pattern(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddPattern>,
) -> ApiResult<(StatusCode, Json<ConferenceView>)> {
    caller.require(&id, Role::Organizer)?;
    let pattern = RoundPattern {
        segments: body.segments,
    };
    let rounds = pattern.build(|| access::new_id("r-"))?;
    let ((), stored) = state
        .conferences
        .mutate_rounds(&id, "rounds_added", |s| {
            Ok(s.conference.add_rounds(rounds)?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(conference_view(&stored))))
}

#[utoipa::path(
    delete, path = "/conferences/{conference_id}/rounds/{round_id}", tag = "agenda",
    params(("conference_id" = String, Path), ("round_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ConferenceView), (status = "4XX", body = ErrorBody))
)]
/// Remove a round without sessions (organizer).
pub async fn delete_round(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, round_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<ConferenceView>> {
    caller.require(&id, Role::Organizer)?;
    let (_, stored) = state
        .conferences
        .mutate(&id, "round_removed", |s| {
            Ok(s.conference.remove_round(&round_id)?)
        })
        .await?;
    Ok(Json(conference_view(&stored)))
}

#[utoipa::path(
    post, path = "/conferences/{conference_id}/spaces", tag = "agenda",
    params(("conference_id" = String, Path)),
    request_body = AddSpace, security(("bearer" = [])),
    responses((status = 201, body = ConferenceView), (status = "4XX", body = ErrorBody))
)]
/// Add a space: a room or a video call (organizer).
pub async fn add_space(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddSpace>,
) -> ApiResult<(StatusCode, Json<ConferenceView>)> {
    caller.require(&id, Role::Organizer)?;
    let space = Space::new(
        access::new_id("sp-"),
        &body.name,
        body.video_url.as_deref(),
        body.capacity,
    )?;
    let ((), stored) = state
        .conferences
        .mutate(&id, "space_added", |s| Ok(s.conference.add_space(space)?))
        .await?;
    Ok((StatusCode::CREATED, Json(conference_view(&stored))))
}

#[utoipa::path(
    patch, path = "/conferences/{conference_id}/spaces/{space_id}", tag = "agenda",
    params(("conference_id" = String, Path), ("space_id" = String, Path)),
    request_body = UpdateSpace, security(("bearer" = [])),
    responses((status = 200, body = ConferenceView), (status = "4XX", body = ErrorBody))
)]
/// Rename a space, change its video link or capacity (organizer).
pub async fn update_space(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, space_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<UpdateSpace>,
) -> ApiResult<Json<ConferenceView>> {
    caller.require(&id, Role::Organizer)?;
    let ((), stored) = state
        .conferences
        .mutate(&id, "space_updated", |s| {
            let old = s.conference.space(&space_id)?.clone();
            let video = match body.video_url.as_deref() {
                Some("") => None,
                Some(v) => Some(v),
                None => old.video_url.as_deref(),
            };
            let capacity = match body.capacity {
                Some(0) => None,
                Some(n) => Some(n),
                None => old.capacity,
            };
            let name = body.name.as_deref().unwrap_or(&old.name);
            let space = Space::new(old.id.clone(), name, video, capacity)?;
            Ok(s.conference.replace_space(space)?)
        })
        .await?;
    Ok(Json(conference_view(&stored)))
}

#[utoipa::path(
    delete, path = "/conferences/{conference_id}/spaces/{space_id}", tag = "agenda",
    params(("conference_id" = String, Path), ("space_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ConferenceView), (status = "4XX", body = ErrorBody))
)]
/// Remove a space without sessions (organizer).
pub async fn delete_space(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, space_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<ConferenceView>> {
    caller.require(&id, Role::Organizer)?;
    let (_, stored) = state
        .conferences
        .mutate(&id, "space_removed", |s| {
            Ok(s.conference.remove_space(&space_id)?)
        })
        .await?;
    Ok(Json(conference_view(&stored)))
}

#[utoipa::path(
    post, path = "/conferences/{conference_id}/sessions", tag = "sessions",
    params(("conference_id" = String, Path)),
    request_body = ProposeSession, security(("bearer" = [])),
    responses(
        (status = 201, description = "Posted; its chart exists and holds the report template", body = SessionChanged),
        (status = "4XX", body = ErrorBody),
    )
)]
/// Post a topic into a free (round, space) cell: the marketplace (edit).
pub async fn propose_session(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ProposeSession>,
) -> ApiResult<(StatusCode, Json<SessionChanged>)> {
    caller.require(&id, Role::Edit)?;
    let (session, stored, poster_key) = state
        .conferences
        .propose_session(
            &id,
            &body.topic,
            &body.convener,
            &body.round_id,
            &body.space_id,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SessionChanged {
            session: session_view(&session),
            version: stored.version,
            poster_key: Some(poster_key),
        }),
    ))
}

#[utoipa::path(
    patch, path = "/conferences/{conference_id}/sessions/{session_id}", tag = "sessions",
    params(("conference_id" = String, Path), ("session_id" = String, Path)),
    request_body = UpdateSession, security(("bearer" = [])),
    responses((status = 200, body = SessionChanged), (status = "4XX", body = ErrorBody))
)]
/// Rename, move or change the state of a session (organizer). `final`
/// makes its chart read-only at once, also for open connections. The
/// person who posted the topic may rename it with an edit link and the
/// `X-Easel-Poster-Key` header they were given when posting.
pub async fn update_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath((id, session_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<UpdateSession>,
) -> ApiResult<Json<SessionChanged>> {
    if !is_organizer(&caller, &id) {
        require_poster(&state, &caller, &headers, &id, &session_id).await?;
        if body.round_id.is_some() || body.space_id.is_some() || body.state.is_some() {
            return Err(ApiError::forbidden(
                "a topic's poster may rename or withdraw it; moving it or changing its state is for organizers",
            ));
        }
    }
    let cell = match (&body.round_id, &body.space_id) {
        (Some(r), Some(s)) => Some((r.as_str(), s.as_str())),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "to move a session give both round_id and space_id",
            ))
        }
    };
    if body.topic.is_none() && cell.is_none() && body.state.is_none() {
        return Err(ApiError::invalid(
            "nothing to change: give topic, round_id + space_id, or state",
        ));
    }
    let (session, stored) = state
        .conferences
        .update_session(&id, &session_id, body.topic.as_deref(), cell, body.state)
        .await?;
    Ok(Json(SessionChanged {
        session: session_view(&session),
        version: stored.version,
        poster_key: None,
    }))
}

#[utoipa::path(
    delete, path = "/conferences/{conference_id}/sessions/{session_id}", tag = "sessions",
    params(("conference_id" = String, Path), ("session_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "Cancelled; its chart is kept, read-only", body = SessionChanged), (status = "4XX", body = ErrorBody))
)]
/// Cancel a session (organizer), or withdraw it (its poster, with an edit
/// link and the `X-Easel-Poster-Key` header). Its chart is kept, read-only.
pub async fn cancel_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath((id, session_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<SessionChanged>> {
    if !is_organizer(&caller, &id) {
        require_poster(&state, &caller, &headers, &id, &session_id).await?;
    }
    let (session, stored) = state.conferences.cancel_session(&id, &session_id).await?;
    Ok(Json(SessionChanged {
        session: session_view(&session),
        version: stored.version,
        poster_key: None,
    }))
}

#[utoipa::path(
    post, path = "/conferences/{conference_id}/sessions/{session_id}/merge", tag = "sessions",
    params(("conference_id" = String, Path), ("session_id" = String, Path, description = "The session that stays")),
    request_body = MergeSessions, security(("bearer" = [])),
    responses((status = 200, body = MergeResult), (status = "4XX", body = ErrorBody))
)]
/// Merge another session into this one (organizer): topics are joined, the
/// other chart's content is merged into this chart and it becomes read-only.
pub async fn merge_sessions(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, session_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<MergeSessions>,
) -> ApiResult<Json<MergeResult>> {
    caller.require(&id, Role::Organizer)?;
    let (outcome, stored) = state
        .conferences
        .merge_sessions(&id, &session_id, &body.absorb)
        .await?;
    Ok(Json(MergeResult {
        kept: session_view(&outcome.kept),
        absorbed: session_view(&outcome.absorbed),
        version: stored.version,
    }))
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/links", tag = "links",
    params(("conference_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<LinkView>), (status = "4XX", body = ErrorBody))
)]
/// All capability links of the conference, without their secrets (organizer).
pub async fn list_links(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<LinkView>>> {
    caller.require(&id, Role::Organizer)?;
    state.conferences.load(&id).await?;
    Ok(Json(
        state
            .conferences
            .links(&id)
            .await?
            .iter()
            .map(link_view)
            .collect(),
    ))
}

#[utoipa::path(
    post, path = "/conferences/{conference_id}/links", tag = "links",
    params(("conference_id" = String, Path)),
    request_body = MintLink, security(("bearer" = [])),
    responses((status = 201, description = "The token is shown only here", body = MintedLink), (status = "4XX", body = ErrorBody))
)]
/// Mint an `edit`, `read` (or another `organizer`) link (organizer).
pub async fn mint_link(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MintLink>,
) -> ApiResult<(StatusCode, Json<MintedLink>)> {
    caller.require(&id, Role::Organizer)?;
    let label = body.label.as_deref().unwrap_or("").trim().to_owned();
    if label.chars().count() > 200 || label.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "invalid label: at most 200 characters, one line",
        ));
    }
    let minted = state.conferences.mint_link(&id, body.role, &label).await?;
    let base = base_url(&state, &headers);
    Ok((
        StatusCode::CREATED,
        Json(MintedLink {
            link: link_view(&minted.record),
            url: conference_link(&base, &id, &minted.secret),
            token: minted.secret,
        }),
    ))
}

#[utoipa::path(
    delete, path = "/conferences/{conference_id}/links/{link_id}", tag = "links",
    params(("conference_id" = String, Path), ("link_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "Revoked; its open connections were closed (4401)", body = LinkView), (status = "4XX", body = ErrorBody))
)]
/// Revoke a link (organizer): later requests with it get 401, its open
/// WebSockets are closed with 4401 and its event streams end.
pub async fn revoke_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, link_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<LinkView>> {
    caller.require(&id, Role::Organizer)?;
    let record = state.conferences.revoke(&id, &link_id).await?;
    Ok(Json(link_view(&record)))
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/me", tag = "links",
    params(("conference_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "The link you used", body = LinkView), (status = "4XX", body = ErrorBody))
)]
/// The link you are using: its role and label, so a page can offer what
/// that link may do before anyone tries (any link of the conference).
pub async fn whoami(caller: Caller, ApiPath(id): ApiPath<String>) -> ApiResult<Json<LinkView>> {
    let record = caller.require(&id, Role::Read)?;
    Ok(Json(link_view(record)))
}

#[utoipa::path(
    get, path = "/charts/{chart_id}", tag = "charts",
    params(("chart_id" = String, Path)),
    security(("bearer" = []), ()),
    responses((status = 200, body = ChartInfo), (status = "4XX", body = ErrorBody))
)]
/// What the chart page shows around a chart: session, conference, your
/// role and whether you may edit (read link of the chart's conference).
pub async fn chart_info(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(chart_id): ApiPath<String>,
) -> ApiResult<Json<ChartInfo>> {
    let entry = state.conferences.chart_entry(&chart_id).await?;
    let entry = match (&caller.token, entry) {
        (Some(token), Some(entry)) if token.conference_id == entry.conference_id => entry,
        (Some(_), _) => {
            return Err(ApiError::forbidden(
                "this token does not grant access to this chart",
            ))
        }
        (None, Some(entry)) => {
            let public = state
                .conferences
                .load(&entry.conference_id)
                .await
                .is_ok_and(|s| s.proceedings_public);
            if !public {
                return Err(ApiError::unauthorized());
            }
            entry
        }
        (None, None) => return Err(ApiError::unauthorized()),
    };
    let stored = state.conferences.load(&entry.conference_id).await?;
    let c = &stored.conference;
    let role = caller.role_in(c.id());
    let session = c.sessions().iter().find(|s| s.chart_id == chart_id);
    let circle = easel_conferences::report::circle_of(&stored, &chart_id);
    let read_only = role.is_none_or(|r| r == Role::Read)
        || entry.merged_into.is_some()
        || (session.is_none_or(|s| s.state == SessionState::Final) && circle.is_none());
    Ok(Json(ChartInfo {
        chart_id: chart_id.clone(),
        conference_id: c.id().to_owned(),
        conference_name: c.name().to_owned(),
        round: session
            .and_then(|s| c.round(&s.round_id).ok())
            .or(circle)
            .map(|r| round_view(c, r)),
        space: session
            .and_then(|s| c.space(&s.space_id).ok())
            .map(space_view),
        session: session.map(session_view),
        role,
        read_only,
        merged_into: entry.merged_into,
    }))
}

/// The header that carries a poster's key.
const POSTER_KEY: &str = "x-easel-poster-key";

fn is_organizer(caller: &Caller, conference_id: &str) -> bool {
    caller.require(conference_id, Role::Organizer).is_ok()
}

/// An edit link plus the key the server gave whoever posted `session_id`.
pub(super) async fn require_poster(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    conference_id: &str,
    session_id: &str,
) -> Result<(), ApiError> {
    caller.require(conference_id, Role::Edit)?;
    let key = headers
        .get(POSTER_KEY)
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::forbidden(
                "only organizers, or the person who posted this topic (X-Easel-Poster-Key), may change it",
            )
        })?;
    if state
        .conferences
        .is_poster(conference_id, session_id, key)
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "this poster key is not the one given for this topic",
        ))
    }
}
