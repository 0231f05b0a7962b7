//! Request and response bodies of the REST API. Kept apart from the agenda
//! model so the wire format is explicit (and documented in the OpenAPI
//! document) and the model can change behind it.

use easel_agenda::{Conference, Round, RoundKind, Session, SessionState, Space};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{Role, TokenRecord};
use easel_conferences::proceedings::conference_info;
use easel_conferences::StoredConference;
use easel_proceedings::ConferenceInfo;

// ----- responses ---------------------------------------------------------------

/// A conference with its whole agenda.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConferenceView {
    /// Id, name, description, zone and dates: the facts the proceedings'
    /// cover shows too.
    #[serde(flatten)]
    pub info: ConferenceInfo,
    pub published: bool,
    pub proceedings_public: bool,
    /// Bumped on every change; live events carry it too.
    pub version: u64,
    pub days: Vec<DayView>,
    pub rounds: Vec<RoundView>,
    pub spaces: Vec<SpaceView>,
    pub sessions: Vec<SessionView>,
    /// Report template, attribution, circle charts and continuations.
    pub report: super::report::ReportSettingsView,
}

/// One conference day (local date in the conference zone).
#[derive(Debug, Serialize, ToSchema)]
pub struct DayView {
    pub date: String,
    pub number: u32,
    /// e.g. `Day 1 — Mon 2 Nov 2026`.
    pub label: String,
    pub round_ids: Vec<String>,
}

/// A round, with its times both in UTC and in the conference zone.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoundView {
    pub id: String,
    /// `opening_circle`, `breakout` or `closing_circle`.
    #[schema(value_type = String, example = "breakout")]
    pub kind: RoundKind,
    pub label: Option<String>,
    pub duration_minutes: u32,
    /// Start, RFC 3339 UTC, e.g. `2026-11-02T09:00:00Z`.
    pub starts_at: String,
    /// End, RFC 3339 UTC.
    pub ends_at: String,
    /// Start in the conference zone, RFC 3339 with offset, e.g.
    /// `2026-03-29T10:00:00+01:00`.
    pub local_start: String,
    /// End in the conference zone, RFC 3339 with offset.
    pub local_end: String,
    /// For people: `Mon 2 Nov 2026 09:00 WET (+00:00)`.
    pub local_display: String,
    /// Local date of the start (the day it belongs to).
    pub day: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceView {
    pub id: String,
    pub name: String,
    pub video_url: Option<String>,
    pub capacity: Option<u32>,
}

/// A session as the API serves it: the agenda's own type.
pub use easel_agenda::Session as SessionView;

/// How many people are in each session's chart right now: open
/// connections (tabs and other clients, read-only ones included) on this
/// server. Sent as `GET .../presence` and as the `presence` live event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PresenceView {
    /// Chart id -> open connections, for every session on the agenda
    /// (`0` for an empty chart).
    pub charts: std::collections::BTreeMap<String, u64>,
}

/// Answer to creating a conference: the organizer token, shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedConference {
    pub conference: ConferenceView,
    /// The organizer token. It is stored hashed and cannot be shown again.
    pub organizer_token: String,
    /// Web client link for organizers (contains the token).
    pub organizer_link: String,
}

/// A capability link as listed (never with its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    /// Public id; revoke with `DELETE .../links/{id}`.
    pub id: String,
    #[schema(value_type = String, example = "edit")]
    pub role: Role,
    pub label: String,
    pub created: String,
    pub revoked: Option<String>,
    /// A personal link: one person, one voter.
    pub personal: bool,
}

/// A freshly minted link: the token, shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct MintedLink {
    #[serde(flatten)]
    pub link: LinkView,
    pub token: String,
    /// Web client link (contains the token).
    pub url: String,
}

/// What the chart page needs to know about its chart.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChartInfo {
    pub chart_id: String,
    pub conference_id: String,
    pub conference_name: String,
    /// The session this chart records; `null` if it was cancelled.
    pub session: Option<SessionView>,
    pub round: Option<RoundView>,
    pub space: Option<SpaceView>,
    /// Your role through the token you used (`null`: public proceedings).
    #[schema(value_type = Option<String>, example = "edit")]
    pub role: Option<Role>,
    /// Whether your edits would be refused (read token, final, cancelled or
    /// merged session).
    pub read_only: bool,
    /// Set if this chart's session was merged into another chart.
    pub merged_into: Option<String>,
}

/// A session changed by an organizer, with the agenda version after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionChanged {
    pub session: SessionView,
    pub version: u64,
    /// Only when posting: the key with which its poster (the browser that
    /// posted it) may rename or withdraw it with an edit link, sent as the
    /// `X-Easel-Poster-Key` header. Shown once; the server keeps its hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poster_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeResult {
    pub kept: SessionView,
    pub absorbed: SessionView,
    pub version: u64,
}

// ----- requests ----------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConference {
    pub name: String,
    /// IANA zone name, e.g. `Europe/Lisbon`.
    pub time_zone: String,
    /// `YYYY-MM-DD`.
    pub start_date: String,
    /// `YYYY-MM-DD`, inclusive.
    pub end_date: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// Every field optional; all given fields change atomically or none does.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConference {
    pub name: Option<String>,
    pub description: Option<String>,
    pub time_zone: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    /// Agenda visible to participants.
    pub published: Option<bool>,
    /// Let anyone without a token read the agenda and the charts' info
    /// (proceedings).
    pub proceedings_public: Option<bool>,
}

/// A round: give exactly one of `starts_at` (RFC 3339 with offset) or
/// `local_start` (wall-clock time in the conference zone, e.g.
/// `2026-03-29T09:00`; a time in a DST gap is refused, a time in a fold
/// means the earlier one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRound {
    pub starts_at: Option<String>,
    pub local_start: Option<String>,
    pub duration_minutes: u32,
    #[schema(value_type = String, example = "breakout")]
    pub kind: RoundKind,
    pub label: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSpace {
    pub name: String,
    pub video_url: Option<String>,
    pub capacity: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpace {
    pub name: Option<String>,
    /// `""` removes the link.
    pub video_url: Option<String>,
    /// `0` removes the capacity.
    pub capacity: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeSession {
    pub topic: String,
    pub convener: String,
    pub round_id: String,
    pub space_id: String,
}

/// Organizer edits of a session; all given fields change atomically.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSession {
    pub topic: Option<String>,
    /// Move: give both `round_id` and `space_id`.
    pub round_id: Option<String>,
    pub space_id: Option<String>,
    /// `proposed`, `live` or `final`; `live` on a final session reopens it.
    #[schema(value_type = Option<String>, example = "final")]
    pub state: Option<SessionState>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeSessions {
    /// The session merged into this one and removed from the agenda.
    pub absorb: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintLink {
    #[schema(value_type = String, example = "edit")]
    pub role: Role,
    #[serde(default)]
    pub label: Option<String>,
}

// ----- conversions -------------------------------------------------------------

pub fn conference_view(stored: &StoredConference) -> ConferenceView {
    let c = &stored.conference;
    ConferenceView {
        info: conference_info(c),
        published: c.is_published(),
        proceedings_public: stored.proceedings_public,
        version: stored.version,
        days: c
            .days()
            .into_iter()
            .map(|d| DayView {
                date: d.date.to_string(),
                number: d.number,
                label: d.label,
                round_ids: d.round_ids,
            })
            .collect(),
        rounds: c.rounds().iter().map(|r| round_view(c, r)).collect(),
        spaces: c.spaces().iter().map(space_view).collect(),
        sessions: c.sessions().iter().map(session_view).collect(),
        report: super::report::report_view(stored),
    }
}

fn rfc3339_local(z: &jiff::Zoned) -> String {
    z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

pub fn round_view(c: &Conference, r: &Round) -> RoundView {
    let zone = c.time_zone();
    let start = zone.zoned(r.starts_at);
    let end = zone.zoned(r.ends_at());
    RoundView {
        id: r.id.clone(),
        kind: r.kind,
        label: r.label.clone(),
        duration_minutes: r.duration_minutes,
        starts_at: r.start_utc_rfc3339(),
        ends_at: easel_agenda::zone::format_utc(r.ends_at()),
        local_start: rfc3339_local(&start),
        local_end: rfc3339_local(&end),
        local_display: easel_agenda::zone::format_local(&start),
        day: start.date().to_string(),
    }
}

pub fn space_view(s: &Space) -> SpaceView {
    SpaceView {
        id: s.id.clone(),
        name: s.name.clone(),
        video_url: s.video_url.clone(),
        capacity: s.capacity,
    }
}

pub fn presence_view(hub: &easel_hub::Hub, c: &Conference) -> PresenceView {
    PresenceView {
        charts: c
            .sessions()
            .iter()
            .map(|s| (s.chart_id.clone(), hub.present(&s.chart_id) as u64))
            .collect(),
    }
}

pub fn session_view(s: &Session) -> SessionView {
    s.clone()
}

pub fn link_view(t: &TokenRecord) -> LinkView {
    LinkView {
        id: t.id.clone(),
        role: t.role,
        label: t.label.clone(),
        created: t.created.to_string(),
        revoked: t.revoked.map(|r| r.to_string()),
        personal: t.personal,
    }
}
