//! The live agenda: `GET /api/v1/conferences/{id}/events`, server-sent
//! events.
//!
//! Why SSE and not a hub document: the agenda is owned by the REST API
//! (validated edits, one writer per conference), it changes a few times a
//! minute at most, and `EventSource` reconnects by itself. A stream sends
//! the whole agenda as an `agenda` event right away (so there is no gap
//! between a GET and the subscription) and again after every change; the
//! event id is the conference version. Clients replace their agenda with
//! each event. `EventSource` cannot set headers, so pass `?token=`.
//!
//! The same stream carries `presence` events: how many people are in each
//! session's chart (a [`PresenceView`]), once after the first agenda and
//! again whenever a count changes. The hub publishes counts once per chart
//! batch and wakes streams through a watch channel, so a burst of joins
//! costs each stream one comparison and at most one event.
//!
//! The live harvest rides on it too: a `report` event (a
//! [`easel_conferences::news::Report`]) for each session that turns final
//! while the stream is open (the news wall), and, on streams opened with
//! an organizer token, `edited` events (an [`EditedView`]: when charts of
//! the conference last changed, from the hub's change feed, at most one
//! event per second) for the organizer dashboard.
//!
//! Without a token a stream is open only while the conference's
//! proceedings are public (the news wall's rule), and carries `agenda`
//! and `report` events only: who is in which chart is for the
//! conference's own people.
//!
//! And `votes` events (a `VotesPublic`: the convergence phase and the
//! counts), once after the first agenda and again after every vote or
//! settings change, coalesced like agenda changes; and one
//! `convergence_closed` event (`{"closed_at", "tallies"}`) when the
//! convergence phase closes, by hand or at its set time.
//!
//! A stream ends when its token is revoked and when the server shuts down.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use easel_agenda::Conference;
use easel_hub::{ChartChanged, Hub};
use futures_util::stream::{self, Stream};
use serde::Serialize;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::watch;
use utoipa::ToSchema;

use super::views::{conference_view, presence_view, PresenceView};
use super::{ApiError, ApiPath, Caller};
use crate::access::Role;
use crate::AppState;
use easel_conferences::{Conferences, Event};

/// When charts of the conference last changed: chart id → RFC 3339 UTC.
/// Sent as the `edited` live event to organizer streams.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct EditedView {
    pub charts: BTreeMap<String, String>,
}

/// How long edits are gathered into one `edited` event: the dashboard
/// shows minutes, and a chart being typed into changes many times a second.
const EDITED_EVERY: Duration = Duration::from_secs(1);

struct Subscription {
    conferences: Conferences,
    hub: Hub,
    id: String,
    token_id: Option<String>,
    rx: tokio::sync::broadcast::Receiver<Event>,
    /// Wakes when any chart's count changes; `None` once the hub dropped it,
    /// and for streams without a token (no presence for them).
    presence_rx: Option<watch::Receiver<u64>>,
    /// The hub's change feed, on organizer streams only.
    edits_rx: Option<tokio::sync::broadcast::Receiver<ChartChanged>>,
    /// Edits gathered for the next `edited` event, and when it is due.
    edited: EditedView,
    edited_due: Option<tokio::time::Instant>,
    shutdown: tokio_util::sync::CancellationToken,
    first: bool,
    /// The agenda last sent: whose charts the presence counts are about.
    agenda: Option<Conference>,
    /// Final sessions of the agenda last sent: a session not among them
    /// that is final in the next agenda gets a `report` event.
    finals: BTreeSet<String>,
    /// The counts last sent, so unchanged counts send nothing.
    last_presence: Option<PresenceView>,
    /// Events owed right after the one just sent (presence after an
    /// agenda, the first votes).
    pending: std::collections::VecDeque<SseEvent>,
}

async fn votes_event(s: &Subscription) -> Option<SseEvent> {
    let c = s.conferences.convergence(&s.id).await.ok()?;
    SseEvent::default()
        .event("votes")
        .json_data(super::votes::votes_public(&c))
        .ok()
}

fn closed_event(closed_at: &str, tallies: &serde_json::Value) -> Option<SseEvent> {
    SseEvent::default()
        .event("convergence_closed")
        .json_data(serde_json::json!({ "closed_at": closed_at, "tallies": tallies }))
        .ok()
}

async fn agenda_event(s: &mut Subscription) -> Option<SseEvent> {
    let stored = s.conferences.load(&s.id).await.ok()?;
    if s.token_id.is_none() && !stored.proceedings_public {
        // Unpublished while a public stream was open.
        return None;
    }
    let view = conference_view(&stored);
    let event = SseEvent::default()
        .event("agenda")
        .id(stored.version.to_string())
        .json_data(&view)
        .ok();
    let finals: BTreeSet<String> = stored
        .conference
        .sessions()
        .iter()
        .filter(|x| x.state == easel_agenda::SessionState::Final)
        .map(|x| x.id.clone())
        .collect();
    if !s.first {
        for id in finals.difference(&s.finals) {
            match s.conferences.report(&stored, id).await {
                Ok(Some(report)) => {
                    if let Ok(ev) = SseEvent::default().event("report").json_data(&report) {
                        s.pending.push_back(ev);
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(session_id = %id, error = %e, "report not sent"),
            }
        }
    }
    s.finals = finals;
    s.agenda = Some(stored.conference);
    // Sessions may have come or gone: their counts follow the agenda.
    if let Some(ev) = presence_event(s) {
        s.pending.push_back(ev);
    }
    event
}

/// The current counts as an event, if they differ from the last sent.
fn presence_event(s: &mut Subscription) -> Option<SseEvent> {
    s.presence_rx.as_ref()?;
    let view = presence_view(&s.hub, s.agenda.as_ref()?);
    if s.last_presence.as_ref() == Some(&view) {
        return None;
    }
    let event = SseEvent::default().event("presence").json_data(&view).ok();
    s.last_presence = Some(view);
    event
}

/// Notes an edit for the next `edited` event if the chart is one of this
/// conference's sessions.
fn note_edit(s: &mut Subscription, change: &ChartChanged) {
    let ours = s
        .agenda
        .as_ref()
        .is_some_and(|c| c.sessions().iter().any(|x| *x.chart_id == *change.chart_id));
    if !ours {
        return;
    }
    let at = jiff::Timestamp::try_from(change.at).unwrap_or_else(|_| jiff::Timestamp::now());
    s.edited.charts.insert(
        change.chart_id.to_string(),
        easel_agenda::zone::format_utc(at),
    );
    if s.edited_due.is_none() {
        s.edited_due = Some(tokio::time::Instant::now() + EDITED_EVERY);
    }
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/events", tag = "conferences",
    params(("conference_id" = String, Path)),
    security(("bearer" = []), ()),
    responses(
        (status = 200, content_type = "text/event-stream",
         description = "`agenda` events, each carrying the whole ConferenceView (the first at once, then one per change); `presence` (PresenceView), `votes` (VotesPublic), `convergence_closed` once per close, `report` (ReportView, a session just made final) and, for organizers, `edited` (EditedView). Without a token only while the proceedings are public, with `agenda` and `report` events only"),
        (status = "4XX", body = super::ErrorBody),
    )
)]
/// Live agenda, presence, reports and edits as server-sent events (read;
/// none needed while the proceedings are public).
pub async fn conference_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let token = match &caller.token {
        Some(_) => Some(caller.require(&id, Role::Read)?.clone()),
        None => {
            super::news::require_news_reader(&state, &caller, &id).await?;
            None
        }
    };
    if !state.limits.connections.try_take(caller.ip) {
        return Err(ApiError::rate_limited("connection attempts"));
    }
    if state.shutdown.is_cancelled() {
        return Err(ApiError::unavailable("server is shutting down"));
    }
    state.conferences.load(&id).await?;
    let rx = state.conferences.subscribe(&id);
    // Revoked between the check above and the subscription: refuse.
    if let Some(token) = &token {
        if !state.conferences.token_valid(token).await {
            return Err(ApiError::invalid_token());
        }
    }
    let presence_rx = token.as_ref().map(|_| {
        let mut rx = state.hub.watch_presence();
        rx.mark_unchanged();
        rx
    });
    let organizer = token.as_ref().is_some_and(|t| t.role >= Role::Organizer);
    let sub = Subscription {
        rx,
        conferences: state.conferences.clone(),
        hub: state.hub.clone(),
        id,
        token_id: token.map(|t| t.id),
        presence_rx,
        edits_rx: organizer.then(|| state.hub.subscribe_changes()),
        edited: EditedView::default(),
        edited_due: None,
        shutdown: state.shutdown.clone(),
        first: true,
        agenda: None,
        finals: BTreeSet::new(),
        last_presence: None,
        pending: VecDeque::new(),
    };
    let stream = stream::unfold(sub, |mut s| async move {
        if s.first {
            let ev = agenda_event(&mut s).await?;
            s.first = false;
            s.pending.extend(votes_event(&s).await);
            return Some((Ok(ev), s));
        }
        if let Some(ev) = s.pending.pop_front() {
            return Some((Ok(ev), s));
        }
        loop {
            tokio::select! {
                _ = s.shutdown.cancelled() => return None,
                change = async { Some(s.edits_rx.as_mut()?.recv().await) }, if s.edits_rx.is_some() => match change {
                    Some(Ok(change)) => note_edit(&mut s, &change),
                    // Fell behind the feed: which charts changed is lost, so
                    // an `edited` event with none tells the dashboard to
                    // reload.
                    Some(Err(RecvError::Lagged(_))) => {
                        if s.edited_due.is_none() {
                            s.edited_due = Some(tokio::time::Instant::now() + EDITED_EVERY);
                        }
                    }
                    Some(Err(RecvError::Closed)) | None => s.edits_rx = None,
                },
                _ = async { tokio::time::sleep_until(s.edited_due.unwrap_or_else(tokio::time::Instant::now)).await }, if s.edited_due.is_some() => {
                    s.edited_due = None;
                    let view = std::mem::take(&mut s.edited);
                    if let Ok(ev) = SseEvent::default().event("edited").json_data(&view) {
                        return Some((Ok(ev), s));
                    }
                }
                changed = async { s.presence_rx.as_mut()?.changed().await.ok() }, if s.presence_rx.is_some() => {
                    if changed.is_none() {
                        s.presence_rx = None;
                    } else if let Some(ev) = presence_event(&mut s) {
                        return Some((Ok(ev), s));
                    }
                }
                ev = s.rx.recv() => match ev {
                    Ok(Event::Changed { .. }) | Err(RecvError::Lagged(_)) => {
                        // Coalesce a burst: the latest agenda covers them all.
                        let mut votes = false;
                        loop {
                            match s.rx.try_recv() {
                                Ok(Event::Changed { .. }) | Err(TryRecvError::Lagged(_)) => {}
                                Ok(Event::Votes { .. }) => votes = true,
                                Ok(Event::ConvergenceClosed { closed_at, tallies }) => {
                                    s.pending.extend(closed_event(&closed_at, &tallies));
                                }
                                Ok(Event::Revoked { token_id }) => {
                                    if s.token_id.as_deref() == Some(token_id.as_str()) {
                                        return None;
                                    }
                                }
                                Err(_) => break,
                            }
                        }
                        let ev = agenda_event(&mut s).await?;
                        if votes {
                            s.pending.extend(votes_event(&s).await);
                        }
                        return Some((Ok(ev), s));
                    }
                    Ok(Event::Votes { .. }) => {
                        // Coalesce a burst of votes the same way.
                        let mut agenda = false;
                        loop {
                            match s.rx.try_recv() {
                                Ok(Event::Votes { .. }) => {}
                                Ok(Event::ConvergenceClosed { closed_at, tallies }) => {
                                    s.pending.extend(closed_event(&closed_at, &tallies));
                                }
                                Ok(Event::Changed { .. }) => agenda = true,
                                Ok(Event::Revoked { token_id }) => {
                                    if s.token_id.as_deref() == Some(token_id.as_str()) {
                                        return None;
                                    }
                                }
                                Err(TryRecvError::Lagged(_)) => {}
                                Err(_) => break,
                            }
                        }
                        if agenda {
                            let ev = agenda_event(&mut s).await?;
                            s.pending.extend(votes_event(&s).await);
                            return Some((Ok(ev), s));
                        }
                        let ev = votes_event(&s).await?;
                        return Some((Ok(ev), s));
                    }
                    Ok(Event::ConvergenceClosed { closed_at, tallies }) => {
                        if let Some(ev) = closed_event(&closed_at, &tallies) {
                            return Some((Ok(ev), s));
                        }
                    }
                    Ok(Event::Revoked { token_id }) => {
                        if s.token_id.as_deref() == Some(token_id.as_str()) {
                            return None;
                        }
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
