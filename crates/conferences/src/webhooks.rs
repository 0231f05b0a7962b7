//! Webhook endpoints and the events they receive, as stored: the endpoint
//! documents (`webhook/{conference_id}/{webhook_id}`), the event types, and
//! the outbox entries that say "deliver this event to that endpoint".
//!
//! Agenda events (a session created or finalized, the proceedings
//! published) are found by comparing the conference before and after a
//! change, in [`Conferences::save`](crate::Conferences), and their outbox
//! entries are written in the same atomic store write as the change
//! itself (on one node; see docs/durability.md for a cluster). Events
//! that are not an agenda change (a chart updated, a convergence closed)
//! are recorded with [`Conferences::record_event`]. Delivery, signing and
//! retries are the `easel-webhooks` crate's; this module only stores.

use easel_agenda::{Session, SessionState};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use easel_store::meta::MetaError;

use crate::{to_json, Conferences, Error, Result, StoredConference};

/// What an endpoint can subscribe to. The wire names are the `type` of the
/// payload (`session.created`, ...).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum EventType {
    /// A topic was posted into the agenda.
    #[serde(rename = "session.created")]
    SessionCreated,
    /// A session turned final (its chart is read-only from then on).
    #[serde(rename = "session.finalized")]
    SessionFinalized,
    /// A session's chart changed; at most one per chart per debounce
    /// interval (`--webhook-chart-debounce-ms`).
    #[serde(rename = "chart.updated")]
    ChartUpdated,
    /// The proceedings became public.
    #[serde(rename = "proceedings.published")]
    ProceedingsPublished,
    /// A convergence phase closed (recorded by
    /// [`Conferences::record_convergence_closed`]).
    #[serde(rename = "convergence.closed")]
    ConvergenceClosed,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::SessionCreated,
        EventType::SessionFinalized,
        EventType::ChartUpdated,
        EventType::ProceedingsPublished,
        EventType::ConvergenceClosed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::SessionCreated => "session.created",
            EventType::SessionFinalized => "session.finalized",
            EventType::ChartUpdated => "chart.updated",
            EventType::ProceedingsPublished => "proceedings.published",
            EventType::ConvergenceClosed => "convergence.closed",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// A registered endpoint, as stored. The secret is kept in clear (it keys
/// the signatures) and never served after creation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub conference_id: String,
    pub url: String,
    /// `whsec_` + base64 of the key bytes (Standard Webhooks).
    pub secret: String,
    pub events: Vec<EventType>,
    pub created: Timestamp,
}

/// One event waiting to reach one endpoint: an outbox entry. `body` is the
/// exact JSON that is signed and sent, so every attempt sends the same
/// bytes under the same id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingDelivery {
    pub event_id: String,
    pub event_type: EventType,
    pub conference_id: String,
    pub webhook_id: String,
    /// When the event happened (the payload's `timestamp`).
    pub created: Timestamp,
    pub body: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not before this time.
    pub next_at: Timestamp,
}

impl PendingDelivery {
    /// The outbox key: `d/{event_id}/{webhook_id}`.
    pub fn key(&self) -> Vec<u8> {
        delivery_key(&self.event_id, &self.webhook_id)
    }
}

/// Outbox keys of pending deliveries start with this.
pub const DELIVERY_PREFIX: &[u8] = b"d/";

pub fn delivery_key(event_id: &str, webhook_id: &str) -> Vec<u8> {
    format!("d/{event_id}/{webhook_id}").into_bytes()
}

/// Keys of an endpoint's delivery log (the store's `attempts` tree) start
/// with this: `{conference_id}/{webhook_id}/`. Ids contain no `/`, so no
/// endpoint's prefix is another's.
pub fn attempts_prefix(conference_id: &str, webhook_id: &str) -> Vec<u8> {
    format!("{conference_id}/{webhook_id}/").into_bytes()
}

/// The payload every delivery carries: `{type, timestamp, data}`.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: EventType,
    timestamp: Timestamp,
    data: &'a serde_json::Value,
}

/// A new event id: `msg_` + milliseconds since the epoch (hex, so ids sort
/// by time) + 8 random bytes.
pub fn new_event_id(at: Timestamp) -> String {
    let millis = u64::try_from(at.as_millisecond()).unwrap_or(0);
    crate::tokens::new_id(&format!("msg_{millis:012x}"))
}

fn endpoint_prefix(conference_id: &str) -> String {
    format!("webhook/{conference_id}/")
}

fn endpoint_key(conference_id: &str, webhook_id: &str) -> String {
    format!("webhook/{conference_id}/{webhook_id}")
}

fn session_data(conference_id: &str, s: &Session) -> serde_json::Value {
    serde_json::json!({
        "conference_id": conference_id,
        "session": {
            "id": s.id,
            "topic": s.topic,
            "convener": s.convener,
            "round_id": s.round_id,
            "space_id": s.space_id,
            "chart_id": s.chart_id,
            "state": s.state,
        }
    })
}

/// The agenda events a change from `old` to `new` makes.
pub fn agenda_events(
    old: &StoredConference,
    new: &StoredConference,
) -> Vec<(EventType, serde_json::Value)> {
    let id = new.conference.id();
    let mut events = Vec::new();
    for s in new.conference.sessions() {
        let before = old.conference.sessions().iter().find(|o| o.id == s.id);
        if before.is_none() {
            events.push((EventType::SessionCreated, session_data(id, s)));
        }
        if s.state == SessionState::Final && before.is_none_or(|b| b.state != SessionState::Final) {
            events.push((EventType::SessionFinalized, session_data(id, s)));
        }
    }
    if new.proceedings_public && !old.proceedings_public {
        events.push((
            EventType::ProceedingsPublished,
            serde_json::json!({
                "conference_id": id,
                "published_at": new.proceedings_published_at,
            }),
        ));
    }
    events
}

/// Outbox entries for `events` to every endpoint of `endpoints` that
/// subscribed to their type.
pub fn outbox_entries(
    endpoints: &[Endpoint],
    events: &[(EventType, serde_json::Value)],
    at: Timestamp,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut entries = Vec::new();
    for (kind, data) in events {
        let targets: Vec<&Endpoint> = endpoints
            .iter()
            .filter(|e| e.events.contains(kind))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let event_id = new_event_id(at);
        let body = serde_json::to_string(&Payload {
            kind: *kind,
            timestamp: at,
            data,
        })
        .map_err(|e| Error::Corrupt(e.to_string()))?;
        for endpoint in targets {
            let pending = PendingDelivery {
                event_id: event_id.clone(),
                event_type: *kind,
                conference_id: endpoint.conference_id.clone(),
                webhook_id: endpoint.id.clone(),
                created: at,
                body: body.clone(),
                attempts: 0,
                next_at: at,
            };
            entries.push((pending.key(), to_json(&pending)?));
        }
    }
    Ok(entries)
}

impl Conferences {
    /// The conference's webhook endpoints, oldest first.
    pub async fn webhooks(&self, conference_id: &str) -> Result<Vec<Endpoint>> {
        let mut out = Vec::new();
        for (key, value) in self
            .inner
            .meta
            .scan(&endpoint_prefix(conference_id))
            .await?
        {
            let endpoint: Endpoint = serde_json::from_slice(&value)
                .map_err(|e| Error::Corrupt(format!("{key}: {e}")))?;
            out.push(endpoint);
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    pub async fn webhook(&self, conference_id: &str, webhook_id: &str) -> Result<Option<Endpoint>> {
        match self
            .inner
            .meta
            .get(&endpoint_key(conference_id, webhook_id))
            .await?
        {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Corrupt(format!("webhook {webhook_id}: {e}"))),
        }
    }

    /// Stores a new endpoint (already checked by the caller: URL, secret,
    /// events) under the conference's edit lock, so that no endpoint of a
    /// conference being deleted survives it.
    pub async fn add_webhook(
        &self,
        conference_id: &str,
        url: String,
        secret: String,
        events: Vec<EventType>,
        max_per_conference: usize,
    ) -> Result<Endpoint> {
        let _guard = self.guard(conference_id).await?;
        self.read_conference(conference_id).await?;
        if self.webhooks(conference_id).await?.len() >= max_per_conference {
            return Err(easel_agenda::AgendaError::InvalidInput {
                field: "url",
                reason: format!("a conference has at most {max_per_conference} webhooks"),
            }
            .into());
        }
        let endpoint = Endpoint {
            id: crate::tokens::new_id("wh-"),
            conference_id: conference_id.to_owned(),
            url,
            secret,
            events,
            created: Timestamp::now(),
        };
        self.inner
            .meta
            .put(
                &endpoint_key(conference_id, &endpoint.id),
                &to_json(&endpoint)?,
            )
            .await?;
        Ok(endpoint)
    }

    /// Removes an endpoint; deliveries still pending for it are dropped
    /// when their turn comes.
    pub async fn remove_webhook(&self, conference_id: &str, webhook_id: &str) -> Result<()> {
        let _guard = self.guard(conference_id).await?;
        if self.webhook(conference_id, webhook_id).await?.is_none() {
            return Err(Error::WebhookNotFound(webhook_id.to_owned()));
        }
        self.inner
            .meta
            .remove(&endpoint_key(conference_id, webhook_id))
            .await?;
        Ok(())
    }

    /// Removes every endpoint of a conference (deleting it), and this
    /// node's delivery logs of them. Deliveries still pending are dropped
    /// when their turn comes (their endpoint is gone).
    pub(crate) async fn remove_webhooks(&self, conference_id: &str) -> Result<usize> {
        let endpoints = self
            .inner
            .meta
            .scan(&endpoint_prefix(conference_id))
            .await?;
        for (key, _) in &endpoints {
            self.inner.meta.remove(key).await?;
        }
        if let Some(store) = self.outbox() {
            let prefix = format!("{conference_id}/").into_bytes();
            for (key, _) in store.scan_attempts(&prefix).map_err(MetaError::from)? {
                store.remove_attempt(&key).map_err(MetaError::from)?;
            }
        }
        Ok(endpoints.len())
    }

    /// Outbox entries for the agenda events between the conference as it
    /// was stored (`read`) and `new`, if it has endpoints: without any,
    /// the stored bytes are not even parsed (a save on the hot path of a
    /// busy marketplace stays as cheap as it was).
    pub(crate) async fn agenda_outbox(
        &self,
        read: &[u8],
        new: &StoredConference,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let id = new.conference.id();
        let endpoints = self.webhooks(id).await?;
        if endpoints.is_empty() {
            return Ok(Vec::new());
        }
        let old = crate::parse_conference(id, read)?;
        outbox_entries(&endpoints, &agenda_events(&old, new), Timestamp::now())
    }

    /// Records an event that is not an agenda change for every endpoint of
    /// the conference that wants it: durable in the outbox when this
    /// returns `Ok`. Returns how many deliveries were queued.
    pub async fn record_event(
        &self,
        conference_id: &str,
        kind: EventType,
        data: serde_json::Value,
    ) -> Result<usize> {
        let endpoints = self.webhooks(conference_id).await?;
        let entries = outbox_entries(&endpoints, &[(kind, data)], Timestamp::now())?;
        if entries.is_empty() {
            return Ok(0);
        }
        let Some(outbox) = self.outbox() else {
            return Ok(0);
        };
        outbox.put_outbox(&entries).await.map_err(MetaError::from)?;
        self.inner.outbox_wake.notify_one();
        Ok(entries.len())
    }

    /// Records `convergence.closed` for the conference's endpoints.
    /// `data` is merged into `{conference_id, closed_at}` (the convergence
    /// phase says what else a receiver needs, e.g. its id or results).
    /// Call it once the closing is stored: an event recorded this way is
    /// durable when this returns, but a crash between the change and this
    /// call loses it (docs/durability.md, "Webhook outbox").
    pub async fn record_convergence_closed(
        &self,
        conference_id: &str,
        data: serde_json::Map<String, serde_json::Value>,
    ) -> Result<usize> {
        let mut body = serde_json::Map::new();
        body.insert("conference_id".into(), conference_id.into());
        body.insert(
            "closed_at".into(),
            serde_json::to_value(Timestamp::now()).unwrap_or_default(),
        );
        body.extend(data);
        self.record_event(
            conference_id,
            EventType::ConvergenceClosed,
            serde_json::Value::Object(body),
        )
        .await
    }

    /// Resolves when an event may have been recorded since the last call
    /// (the delivery loop waits on it between its timers).
    pub async fn outbox_changed(&self) {
        self.inner.outbox_wake.notified().await;
    }

    /// The local store holding the outbox, if this service has one.
    pub fn outbox(&self) -> Option<&easel_store::Store> {
        self.inner.outbox.get()
    }

    /// Sets the local store whose outbox holds this node's pending
    /// deliveries (a cluster node's conferences live in Redis, its outbox
    /// in its own data dir). Only the first call counts.
    pub fn set_outbox(&self, store: easel_store::Store) {
        let _ = self.inner.outbox.set(store);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::Value::String(t.as_str().into())
            );
        }
        assert_eq!(EventType::parse("session.deleted"), None);
    }

    fn service() -> (tempfile::TempDir, Conferences, easel_store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = easel_store::Store::open(dir.path().join("data")).unwrap();
        let hub = easel_hub::Hub::new(store.clone(), easel_hub::HubConfig::default());
        (dir, Conferences::new(store.clone(), hub), store)
    }

    fn pending(store: &easel_store::Store) -> Vec<PendingDelivery> {
        store
            .scan_outbox(DELIVERY_PREFIX)
            .unwrap()
            .iter()
            .map(|(_, v)| serde_json::from_slice(v).unwrap())
            .collect()
    }

    fn conference() -> easel_agenda::Conference {
        let date = jiff::civil::date(2030, 1, 1);
        easel_agenda::Conference::new("conf-w", "W", "UTC", date, date).unwrap()
    }

    const SECRET: &str = "whsec_c2lnbmluZy1rZXktb2YtdGhlLXRlc3QtcmVjZWl2ZXIh";

    /// An agenda change's events are in the outbox once the change is
    /// stored (same write), one entry per subscribed endpoint, none for
    /// endpoints that did not ask for the type.
    #[tokio::test]
    async fn agenda_changes_fill_the_outbox_in_the_same_write() {
        let (_dir, conferences, store) = service();
        conferences.create(conference()).await.unwrap();
        let a = conferences
            .add_webhook(
                "conf-w",
                "https://a.example/".into(),
                SECRET.into(),
                vec![EventType::ProceedingsPublished],
                10,
            )
            .await
            .unwrap();
        conferences
            .add_webhook(
                "conf-w",
                "https://b.example/".into(),
                SECRET.into(),
                vec![EventType::SessionCreated],
                10,
            )
            .await
            .unwrap();
        conferences
            .mutate("conf-w", "renamed", |s| Ok(s.conference.rename("W2")?))
            .await
            .unwrap();
        assert!(pending(&store).is_empty(), "a rename is no event");
        let publish = |public: bool| {
            move |s: &mut StoredConference| {
                s.set_proceedings_public(public, Timestamp::now());
                Ok(())
            }
        };
        conferences
            .mutate("conf-w", "published", publish(true))
            .await
            .unwrap();
        let out = pending(&store);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].webhook_id, a.id);
        assert_eq!(out[0].event_type, EventType::ProceedingsPublished);
        let body: serde_json::Value = serde_json::from_str(&out[0].body).unwrap();
        assert_eq!(body["type"], "proceedings.published");
        assert_eq!(body["data"]["conference_id"], "conf-w");
        // Publishing again while public is no new event.
        conferences
            .mutate("conf-w", "published", publish(true))
            .await
            .unwrap();
        assert_eq!(pending(&store).len(), 1);
        // Unpublishing and publishing again is.
        conferences
            .mutate("conf-w", "unpublished", publish(false))
            .await
            .unwrap();
        conferences
            .mutate("conf-w", "published", publish(true))
            .await
            .unwrap();
        assert_eq!(pending(&store).len(), 2);
        // A failed edit stores no event.
        conferences
            .mutate("conf-w", "unpublished", publish(false))
            .await
            .unwrap();
        let failed = conferences
            .mutate("conf-w", "published", |s| {
                s.set_proceedings_public(true, Timestamp::now());
                s.conference.rename("")?;
                Ok(())
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(pending(&store).len(), 2);
    }

    #[tokio::test]
    async fn convergence_closed_is_recorded_for_its_subscribers() {
        let (_dir, conferences, store) = service();
        conferences.create(conference()).await.unwrap();
        let none = conferences
            .record_convergence_closed("conf-w", Default::default())
            .await
            .unwrap();
        assert_eq!(none, 0, "no endpoint, nothing recorded");
        conferences
            .add_webhook(
                "conf-w",
                "https://a.example/".into(),
                SECRET.into(),
                vec![EventType::ConvergenceClosed],
                10,
            )
            .await
            .unwrap();
        let mut data = serde_json::Map::new();
        data.insert("phase_id".into(), "cv-1".into());
        assert_eq!(
            conferences
                .record_convergence_closed("conf-w", data)
                .await
                .unwrap(),
            1
        );
        let out = pending(&store);
        let body: serde_json::Value = serde_json::from_str(&out[0].body).unwrap();
        assert_eq!(body["type"], "convergence.closed");
        assert_eq!(body["data"]["phase_id"], "cv-1");
        assert_eq!(body["data"]["conference_id"], "conf-w");
        // Deleting the conference removes its endpoints.
        conferences.delete("conf-w").await.unwrap();
        assert!(conferences.webhooks("conf-w").await.unwrap().is_empty());
    }

    /// The per-endpoint limit is kept, and an unknown conference gets none.
    #[tokio::test]
    async fn endpoints_per_conference_are_limited() {
        let (_dir, conferences, _store) = service();
        conferences.create(conference()).await.unwrap();
        for _ in 0..2 {
            conferences
                .add_webhook(
                    "conf-w",
                    "https://a.example/".into(),
                    SECRET.into(),
                    vec![EventType::SessionCreated],
                    2,
                )
                .await
                .unwrap();
        }
        let third = conferences
            .add_webhook(
                "conf-w",
                "https://a.example/".into(),
                SECRET.into(),
                vec![EventType::SessionCreated],
                2,
            )
            .await;
        assert!(matches!(third, Err(Error::Agenda(_))), "{third:?}");
        let missing = conferences
            .add_webhook(
                "conf-nope",
                "https://a.example/".into(),
                SECRET.into(),
                vec![EventType::SessionCreated],
                2,
            )
            .await;
        assert!(
            matches!(missing, Err(Error::ConferenceNotFound(_))),
            "{missing:?}"
        );
    }
}
