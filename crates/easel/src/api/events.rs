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
//! And `votes` events (a `VotesPublic`: the convergence phase and the
//! counts), once after the first agenda and again after every vote or
//! settings change, coalesced like agenda changes; and one
//! `convergence_closed` event (`{"closed_at", "tallies"}`) when the
//! convergence phase closes, by hand or at its set time.
//!
//! A stream ends when its token is revoked and when the server shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use easel_agenda::Conference;
use easel_hub::Hub;
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::watch;

use super::views::{conference_view, presence_view, PresenceView};
use super::{ApiError, ApiPath, Caller};
use crate::access::Role;
use crate::AppState;
use easel_conferences::{Conferences, Event};

struct Subscription {
    conferences: Conferences,
    hub: Hub,
    id: String,
    token_id: Option<String>,
    rx: tokio::sync::broadcast::Receiver<Event>,
    /// Wakes when any chart's count changes; `None` once the hub dropped it.
    presence_rx: Option<watch::Receiver<u64>>,
    shutdown: tokio_util::sync::CancellationToken,
    first: bool,
    /// The agenda last sent: whose charts the presence counts are about.
    agenda: Option<Conference>,
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
    let view = conference_view(&stored);
    let event = SseEvent::default()
        .event("agenda")
        .id(stored.version.to_string())
        .json_data(&view)
        .ok();
    s.agenda = Some(stored.conference);
    // Sessions may have come or gone: their counts follow the agenda.
    let presence = presence_event(s);
    s.pending.extend(presence);
    event
}

/// The current counts as an event, if they differ from the last sent.
fn presence_event(s: &mut Subscription) -> Option<SseEvent> {
    let view = presence_view(&s.hub, s.agenda.as_ref()?);
    if s.last_presence.as_ref() == Some(&view) {
        return None;
    }
    let event = SseEvent::default().event("presence").json_data(&view).ok();
    s.last_presence = Some(view);
    event
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/events", tag = "conferences",
    params(("conference_id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/event-stream",
         description = "`agenda` events, each carrying the whole ConferenceView; the first at once, then one per change; `presence` events (PresenceView); `votes` events (VotesPublic); `convergence_closed` once per close"),
        (status = "4XX", body = super::ErrorBody),
    )
)]
/// Live agenda as server-sent events (read).
pub async fn conference_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let token = caller.require(&id, Role::Read)?.clone();
    if !state.limits.connections.try_take(caller.ip) {
        return Err(ApiError::rate_limited("connection attempts"));
    }
    if state.shutdown.is_cancelled() {
        return Err(ApiError::unavailable("server is shutting down"));
    }
    state.conferences.load(&id).await?;
    let rx = state.conferences.subscribe(&id);
    // Revoked between the check above and the subscription: refuse.
    if !state.conferences.token_valid(&token).await {
        return Err(ApiError::invalid_token());
    }
    let mut presence_rx = state.hub.watch_presence();
    presence_rx.mark_unchanged();
    let sub = Subscription {
        rx,
        conferences: state.conferences.clone(),
        hub: state.hub.clone(),
        id,
        token_id: Some(token.id),
        presence_rx: Some(presence_rx),
        shutdown: state.shutdown.clone(),
        first: true,
        agenda: None,
        last_presence: None,
        pending: Default::default(),
    };
    let stream = stream::unfold(sub, |mut s| async move {
        if s.first {
            s.first = false;
            let ev = agenda_event(&mut s).await?;
            s.pending.extend(votes_event(&s).await);
            return Some((Ok(ev), s));
        }
        if let Some(ev) = s.pending.pop_front() {
            return Some((Ok(ev), s));
        }
        loop {
            tokio::select! {
                _ = s.shutdown.cancelled() => return None,
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
