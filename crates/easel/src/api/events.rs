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
//! A stream ends when its token is revoked and when the server shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::views::conference_view;
use super::{ApiError, ApiPath, Caller};
use crate::access::Role;
use crate::conferences::{Conferences, Event};
use crate::AppState;

struct Subscription {
    conferences: Conferences,
    id: String,
    token_id: Option<String>,
    rx: tokio::sync::broadcast::Receiver<Event>,
    shutdown: tokio_util::sync::CancellationToken,
    first: bool,
}

fn agenda_event(s: &Subscription) -> Option<SseEvent> {
    let stored = s.conferences.load(&s.id).ok()?;
    let view = conference_view(&stored);
    SseEvent::default()
        .event("agenda")
        .id(stored.version.to_string())
        .json_data(&view)
        .ok()
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/events", tag = "conferences",
    params(("conference_id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/event-stream",
         description = "`agenda` events, each carrying the whole ConferenceView; the first at once, then one per change"),
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
    state.conferences.load(&id)?;
    let rx = state.conferences.subscribe(&id);
    // Revoked between the check above and the subscription: refuse.
    if !state.conferences.token_valid(&token) {
        return Err(ApiError::invalid_token());
    }
    let sub = Subscription {
        rx,
        conferences: state.conferences.clone(),
        id,
        token_id: Some(token.id),
        shutdown: state.shutdown.clone(),
        first: true,
    };
    let stream = stream::unfold(sub, |mut s| async move {
        if s.first {
            s.first = false;
            let ev = agenda_event(&s)?;
            return Some((Ok(ev), s));
        }
        loop {
            tokio::select! {
                _ = s.shutdown.cancelled() => return None,
                ev = s.rx.recv() => match ev {
                    Ok(Event::Changed { .. }) | Err(RecvError::Lagged(_)) => {
                        // Coalesce a burst: the latest agenda covers them all.
                        loop {
                            match s.rx.try_recv() {
                                Ok(Event::Changed { .. }) | Err(TryRecvError::Lagged(_)) => {}
                                Ok(Event::Revoked { token_id }) => {
                                    if s.token_id.as_deref() == Some(token_id.as_str()) {
                                        return None;
                                    }
                                }
                                Err(_) => break,
                            }
                        }
                        let ev = agenda_event(&s)?;
                        return Some((Ok(ev), s));
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
