//! Convergence over HTTP: the organizer's phase settings, voters placing
//! and removing dots, the counts, and personal links minted in bulk.
//! The rules live in `easel_conferences::votes`; the live counts go out
//! as `votes` events on the conference's event stream (`events.rs`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use easel_conferences::votes::{
    self, Convergence, ConvergenceChange, Phase, Tallies, Target, VoteLimits, VoterClaim,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{link_view, LinkView};
use super::{base_url, conference_link, ApiError, ApiJson, ApiPath, Caller, ErrorBody};
use crate::access::Role;
use crate::AppState;

/// The header a shared link's browser sends its voter key in.
pub const VOTER_KEY: &str = "x-easel-voter-key";

/// The convergence phase and the counts, as everyone sees them (the
/// `votes` live event carries this).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VotesPublic {
    /// Bumped on every vote or settings change.
    pub version: u64,
    #[schema(value_type = String, example = "open")]
    /// `not_opened`, `scheduled`, `open` or `closed`, by the server's clock.
    pub phase: Phase,
    /// Dots each voter may place.
    pub dots: u32,
    /// RFC 3339 UTC, or `null`.
    pub opens_at: Option<String>,
    pub closes_at: Option<String>,
    /// Whether shared edit links may vote (one vote set per browser).
    pub shared_links_vote: bool,
    /// The server's clock when this was sent.
    pub now: String,
    pub tallies: Tallies,
}

/// The counts plus what the caller may do: their own dots and how many
/// are left.
#[derive(Debug, Serialize, ToSchema)]
pub struct VotesView {
    #[serde(flatten)]
    pub public: VotesPublic,
    /// Whether the caller can vote (personal link, or a shared edit link
    /// with a browser key when shared links vote).
    pub voter: bool,
    /// Why not, when `voter` is false.
    pub not_a_voter: Option<String>,
    /// The caller's dots, one entry per dot.
    pub mine: Vec<Target>,
    /// Dots the caller has left.
    pub remaining: u32,
}

/// Organizer changes; every field optional. Times are RFC 3339 with an
/// offset; `""` clears one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConvergence {
    pub dots: Option<u32>,
    pub opens_at: Option<String>,
    pub closes_at: Option<String>,
    pub shared_links_vote: Option<bool>,
    /// `open` (now) or `close` (now).
    pub action: Option<String>,
}

/// Names to mint personal edit links for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalLinksRequest {
    /// One name per line, or CSV whose header row has a `name` column.
    pub names: String,
}

/// One person's link, shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalLink {
    pub name: String,
    #[serde(flatten)]
    pub link: LinkView,
    /// Web client link (contains the token).
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalLinks {
    pub links: Vec<PersonalLink>,
    /// The same as CSV (`name,link`), to save or mail-merge.
    pub csv: String,
}

fn limits(state: &AppState) -> VoteLimits {
    VoteLimits {
        max_dots: state.config.max_dots,
        max_names: state.config.max_voter_names,
    }
}

fn time(t: Option<Timestamp>) -> Option<String> {
    t.map(easel_agenda::zone::format_utc)
}

pub fn votes_public(c: &Convergence) -> VotesPublic {
    let now = Timestamp::now();
    VotesPublic {
        version: c.version,
        phase: c.phase(now),
        dots: c.dots,
        opens_at: time(c.opens_at),
        closes_at: time(c.closes_at),
        shared_links_vote: c.shared_links_vote,
        now: easel_agenda::zone::format_utc(now),
        tallies: c.tallies(),
    }
}

fn votes_view(c: &Convergence, claim: Option<&VoterClaim>) -> VotesView {
    let who = claim.map(|claim| claim.voter_id(c));
    let (voter, not_a_voter, mine) = match who {
        Some(Ok(id)) => (true, None, c.dots_of(&id).to_vec()),
        Some(Err(e)) => (false, Some(e.to_string()), Vec::new()),
        None => (
            false,
            Some("a link is needed to vote".to_owned()),
            Vec::new(),
        ),
    };
    VotesView {
        public: votes_public(c),
        voter,
        not_a_voter,
        remaining: c.dots.saturating_sub(mine.len() as u32),
        mine,
    }
}

fn claim(caller: &Caller, headers: &HeaderMap) -> Option<VoterClaim> {
    Some(VoterClaim {
        token: caller.token.clone()?,
        browser_key: headers
            .get(VOTER_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    })
}

fn parse_time(field: &str, value: &str) -> Result<Option<Timestamp>, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    easel_agenda::zone::parse_instant(value)
        .map(Some)
        .map_err(|_| {
            ApiError::invalid(format!(
                "invalid {field}: expected RFC 3339 with an offset, e.g. 2026-11-02T16:00:00Z"
            ))
        })
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/votes", tag = "convergence",
    params(("conference_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = VotesView), (status = "4XX", body = ErrorBody))
)]
/// The convergence phase, the counts and the caller's own dots (read).
/// A shared link's browser sends its voter key as `X-Easel-Voter-Key`.
pub async fn get_votes(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<VotesView>, ApiError> {
    caller.require(&id, Role::Read)?;
    let c = state.conferences.convergence(&id).await?;
    Ok(Json(votes_view(&c, claim(&caller, &headers).as_ref())))
}

#[utoipa::path(
    patch, path = "/conferences/{conference_id}/convergence", tag = "convergence",
    params(("conference_id" = String, Path)),
    request_body = UpdateConvergence, security(("bearer" = [])),
    responses((status = 200, body = VotesView), (status = "4XX", body = ErrorBody))
)]
/// Open or close the convergence phase, set its times, the dots per voter
/// and whether shared links vote (organizer). Closing emits the
/// `convergence_closed` event.
pub async fn update_convergence(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateConvergence>,
) -> Result<Json<VotesView>, ApiError> {
    caller.require(&id, Role::Organizer)?;
    let (open_now, close_now) = match body.action.as_deref() {
        None => (false, false),
        Some("open") => (true, false),
        Some("close") => (false, true),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "invalid action {other:?}: expected \"open\" or \"close\""
            )))
        }
    };
    let change = ConvergenceChange {
        dots: body.dots,
        opens_at: body
            .opens_at
            .as_deref()
            .map(|t| parse_time("opens_at", t))
            .transpose()?,
        closes_at: body
            .closes_at
            .as_deref()
            .map(|t| parse_time("closes_at", t))
            .transpose()?,
        shared_links_vote: body.shared_links_vote,
        open_now,
        close_now,
    };
    let c = state
        .conferences
        .set_convergence(&id, change, limits(&state))
        .await?;
    Ok(Json(votes_view(&c, claim(&caller, &headers).as_ref())))
}

#[utoipa::path(
    post, path = "/conferences/{conference_id}/dots", tag = "convergence",
    params(("conference_id" = String, Path)),
    request_body = Target, security(("bearer" = [])),
    responses(
        (status = 200, description = "Placed; the counts and your dots after it", body = VotesView),
        (status = "4XX", description = "`voting_closed`, `no_dots_left`, `not_a_voter`, `not_found` (session or action item)", body = ErrorBody),
    )
)]
/// Place one of your dots on a session (its report) or on one of its
/// action items (edit: a personal link, or a shared one when allowed).
pub async fn place_dot(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(target): ApiJson<Target>,
) -> Result<Json<VotesView>, ApiError> {
    dot(state, caller, headers, id, target, true).await
}

#[utoipa::path(
    delete, path = "/conferences/{conference_id}/dots", tag = "convergence",
    params(("conference_id" = String, Path)),
    request_body = Target, security(("bearer" = [])),
    responses((status = 200, body = VotesView), (status = "4XX", body = ErrorBody))
)]
/// Take back one of your dots from a target (edit).
pub async fn remove_dot(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(target): ApiJson<Target>,
) -> Result<Json<VotesView>, ApiError> {
    dot(state, caller, headers, id, target, false).await
}

async fn dot(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    id: String,
    target: Target,
    add: bool,
) -> Result<Json<VotesView>, ApiError> {
    caller.require(&id, Role::Read)?;
    if target.session_id.is_empty() || target.session_id.len() > 128 {
        return Err(ApiError::invalid("session_id: 1 to 128 characters"));
    }
    if let Some(item) = &target.item_id {
        if !easel_chart::valid_action_id(item) {
            return Err(ApiError::invalid(
                "item_id: 1 to 64 characters of A-Z, a-z, 0-9, - and _",
            ));
        }
    }
    let Some(claim) = claim(&caller, &headers) else {
        return Err(ApiError::unauthorized());
    };
    let (c, _) = state.conferences.vote(&id, &claim, target, add).await?;
    Ok(Json(votes_view(&c, Some(&claim))))
}

#[utoipa::path(
    post, path = "/conferences/{conference_id}/links/personal", tag = "links",
    params(("conference_id" = String, Path)),
    request_body = PersonalLinksRequest, security(("bearer" = [])),
    responses(
        (status = 201, description = "One personal edit link per name, all or none; shown only here", body = PersonalLinks),
        (status = "4XX", body = ErrorBody),
    )
)]
/// Mint personal edit links in bulk, one per name (organizer). Each is one
/// voter and can be revoked alone.
pub async fn mint_personal_links(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PersonalLinksRequest>,
) -> Result<(StatusCode, Json<PersonalLinks>), ApiError> {
    caller.require(&id, Role::Organizer)?;
    let names = votes::parse_names(&body.names, state.config.max_voter_names)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let minted = state.conferences.mint_personal_links(&id, &names).await?;
    let base = base_url(&state, &headers);
    let links: Vec<PersonalLink> = minted
        .into_iter()
        .map(|m| PersonalLink {
            name: m.record.label.clone(),
            url: conference_link(&base, &id, &m.secret),
            link: link_view(&m.record),
        })
        .collect();
    let mut csv = csv::Writer::from_writer(Vec::new());
    let _ = csv.write_record(["name", "link"]);
    for l in &links {
        // A name that a spreadsheet would run as a formula is quoted with
        // a leading apostrophe.
        let name = if l.name.starts_with(['=', '+', '-', '@']) {
            format!("'{}", l.name)
        } else {
            l.name.clone()
        };
        let _ = csv.write_record([name.as_str(), l.url.as_str()]);
    }
    let csv = String::from_utf8(csv.into_inner().unwrap_or_default()).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(PersonalLinks { links, csv })))
}
