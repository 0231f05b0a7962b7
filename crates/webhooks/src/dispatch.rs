//! Delivering the outbox: one loop sends every due delivery (a bounded
//! number at once), records each attempt, and either removes the entry
//! (2xx, or no attempts left) or writes it back with its next time. A
//! delivery leaves the outbox only after the receiver answered 2xx, so a
//! crash in between sends it again: at least once, with the same
//! `webhook-id`.
//!
//! `chart.updated` comes from the hub's change feed, debounced per chart:
//! the first change of a chart opens a window (a durable marker in the
//! outbox, so a crash inside the window still sends the event after
//! restart), and when the window closes one event covers every change made
//! in it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use easel_conferences::webhooks::{attempts_prefix, EventType, PendingDelivery, DELIVERY_PREFIX};
use easel_conferences::Conferences;
use easel_store::Store;
use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::sign;
use crate::vet::{self, TargetPolicy};

/// Delivery settings (`--webhook-*`, docs/config.md).
#[derive(Debug, Clone)]
pub struct Config {
    pub policy: TargetPolicy,
    pub connect_timeout: Duration,
    /// Whole request, connect to the end of the response headers.
    pub timeout: Duration,
    /// Attempts per delivery, the first included; then it is given up.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub retry_base: Duration,
    /// Longest wait between two attempts.
    pub retry_max: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Attempts kept in each endpoint's history.
    pub history: usize,
    /// One `chart.updated` per chart per this long.
    pub chart_debounce: Duration,
}

/// One attempt, as the delivery history shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    /// When the attempt ended.
    #[schema(value_type = String)]
    pub at: Timestamp,
    pub event_id: String,
    #[schema(value_type = String, example = "session.created")]
    pub event_type: EventType,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why the attempt failed without (or despite) an answer.
    pub error: Option<String>,
    /// When the next attempt is due; none after a success or the last try.
    #[schema(value_type = Option<String>)]
    pub next_retry: Option<Timestamp>,
    /// Whether this was the last attempt of a failed delivery.
    pub gave_up: bool,
}

/// An endpoint's recent attempts, newest first.
pub fn history(
    store: &Store,
    conference_id: &str,
    webhook_id: &str,
    limit: usize,
) -> Result<Vec<Attempt>, easel_store::StoreError> {
    let entries = store.scan_attempts(&attempts_prefix(conference_id, webhook_id))?;
    Ok(entries
        .iter()
        .rev()
        .filter_map(|(_, v)| serde_json::from_slice(v).ok())
        .take(limit)
        .collect())
}

/// Removes an endpoint's history (the endpoint was removed).
pub fn forget(
    store: &Store,
    conference_id: &str,
    webhook_id: &str,
) -> Result<(), easel_store::StoreError> {
    for (k, _) in store.scan_attempts(&attempts_prefix(conference_id, webhook_id))? {
        store.remove_attempt(&k)?;
    }
    Ok(())
}

/// How long to wait after failed attempt number `attempt` (1-based):
/// `base * 2^(attempt-1)`, at most `max`, then a random part of it taken
/// off (up to half) so receivers that failed together are not retried
/// together.
pub fn backoff(config: &Config, attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let full = config
        .retry_base
        .saturating_mul(1u32 << exp)
        .min(config.retry_max);
    let jitter = rand::rng().random_range(0.0..=0.5);
    full.mul_f64(1.0 - jitter)
}

/// The delivery loop and the chart debouncer.
#[derive(Clone)]
pub struct Dispatcher {
    conferences: Conferences,
    store: Store,
    client: reqwest::Client,
    config: Arc<Config>,
    /// Tie-breaker for history keys written in the same millisecond.
    seq: Arc<std::sync::atomic::AtomicU64>,
}

/// Shortest time between two sends of one outbox entry, whatever its
/// stored next time says (see `deliver_loop`).
const REDISPATCH_FLOOR: Duration = Duration::from_secs(1);

/// Outbox keys of open `chart.updated` windows start with this.
const CHART_PREFIX: &[u8] = b"c/";

#[derive(Debug, Serialize, Deserialize)]
struct ChartWindow {
    chart_id: String,
    opened: Timestamp,
}

impl Dispatcher {
    pub fn new(
        conferences: Conferences,
        store: Store,
        config: Config,
    ) -> reqwest::Result<Dispatcher> {
        let client = vet::client(config.policy, config.connect_timeout, config.timeout)?;
        Ok(Dispatcher {
            conferences,
            store,
            client,
            config: Arc::new(config),
            seq: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        })
    }

    /// Starts the delivery loop and the chart debouncer until `shutdown`.
    pub fn spawn(self, shutdown: CancellationToken) {
        let charts = self.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move { charts.debounce_charts(stop).await });
        tokio::spawn(async move { self.deliver_loop(shutdown).await });
    }

    async fn deliver_loop(self, shutdown: CancellationToken) {
        let mut in_flight: JoinSet<bool> = JoinSet::new();
        // Outbox key of each delivery under way, by task.
        let mut busy: HashMap<tokio::task::Id, Vec<u8>> = HashMap::new();
        // Entries whose attempt could not update the outbox (a failing
        // disk), with when it ended: still due, they wait
        // [`REDISPATCH_FLOOR`] rather than being sent again in a loop.
        let mut stuck: HashMap<Vec<u8>, tokio::time::Instant> = HashMap::new();
        loop {
            let now = Timestamp::now();
            let mut next: Option<Timestamp> = None;
            match self.store.scan_outbox(DELIVERY_PREFIX) {
                Ok(entries) => {
                    stuck.retain(|_, at| at.elapsed() < REDISPATCH_FLOOR);
                    for (key, value) in entries {
                        if busy.values().any(|k| *k == key) {
                            continue;
                        }
                        let pending: PendingDelivery = match serde_json::from_slice(&value) {
                            Ok(p) => p,
                            Err(e) => {
                                tracing::error!(error = %e, "unreadable outbox entry; dropped");
                                let _ = self.store.remove_outbox(&key).await;
                                continue;
                            }
                        };
                        let due = match stuck.get(&key) {
                            Some(at) => {
                                let left = REDISPATCH_FLOOR.saturating_sub(at.elapsed());
                                pending
                                    .next_at
                                    .max(now + SignedDuration::try_from(left).unwrap_or_default())
                            }
                            None => pending.next_at,
                        };
                        if due <= now {
                            if busy.len() < self.config.concurrency.max(1) {
                                let this = self.clone();
                                let task =
                                    in_flight.spawn(async move { this.deliver(pending).await });
                                busy.insert(task.id(), key);
                            }
                        } else {
                            next = Some(next.map_or(due, |n| n.min(due)));
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the webhook outbox; retrying");
                    next = Some(now + SignedDuration::from_secs(1));
                }
            }
            let wait = next
                .map(|t| Duration::try_from(t.duration_since(now)).unwrap_or_default())
                .unwrap_or(Duration::from_secs(3600));
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.conferences.outbox_changed() => {}
                _ = tokio::time::sleep(wait) => {}
                Some(done) = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                    let (id, settled) = match done {
                        Ok((id, settled)) => (id, settled),
                        Err(e) => {
                            // The entry stays in the outbox for a later try.
                            tracing::error!(error = %e, "a webhook delivery task failed");
                            (e.id(), false)
                        }
                    };
                    if let Some(key) = busy.remove(&id) {
                        if !settled {
                            stuck.insert(key, tokio::time::Instant::now());
                        }
                    }
                }
            }
        }
        // Deliveries under way are abandoned; they stay in the outbox.
        in_flight.abort_all();
    }

    /// One attempt of one delivery, and what follows from it; whether the
    /// outbox now says so (false: it could not be written).
    async fn deliver(&self, mut pending: PendingDelivery) -> bool {
        let key = pending.key();
        let endpoint = match self
            .conferences
            .webhook(&pending.conference_id, &pending.webhook_id)
            .await
        {
            Ok(Some(e)) => e,
            Ok(None) => {
                tracing::info!(webhook_id = %pending.webhook_id, event_id = %pending.event_id, "endpoint removed; delivery dropped");
                return self.store.discard_outbox(&key).is_ok();
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the webhook endpoint; retrying later");
                return self.reschedule(pending, Duration::from_secs(5)).await;
            }
        };
        let attempt = pending.attempts + 1;
        let (status, error) = self.send(&endpoint.url, &endpoint.secret, &pending).await;
        let ok = error.is_none() && status.is_some_and(|s| (200..300).contains(&s));
        let last = attempt >= self.config.max_attempts.max(1);
        let next_retry = (!ok && !last).then(|| {
            let wait = backoff(&self.config, attempt);
            Timestamp::now() + SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX)
        });
        let record = Attempt {
            at: Timestamp::now(),
            event_id: pending.event_id.clone(),
            event_type: pending.event_type,
            attempt,
            status,
            error: error.clone(),
            next_retry,
            gave_up: !ok && last,
        };
        self.record(&pending, &record);
        if ok {
            tracing::debug!(event_id = %pending.event_id, webhook_id = %endpoint.id, attempt, "webhook delivered");
        } else {
            tracing::info!(event_id = %pending.event_id, webhook_id = %endpoint.id, attempt, ?status, error = error.as_deref().unwrap_or(""), gave_up = last, "webhook delivery failed");
        }
        match next_retry {
            // Not waited for: if a crash loses the removal, the delivery
            // is sent again, which at least once allows (same id).
            None => match self.store.discard_outbox(&key) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "finished webhook delivery not removed from the outbox; it will be sent again");
                    false
                }
            },
            Some(at) => {
                pending.attempts = attempt;
                pending.next_at = at;
                self.write_back(&pending).await
            }
        }
    }

    async fn reschedule(&self, mut pending: PendingDelivery, wait: Duration) -> bool {
        pending.next_at = Timestamp::now() + SignedDuration::try_from(wait).unwrap_or_default();
        self.write_back(&pending).await
    }

    /// Stores the delivery's new attempt count and time; whether it could.
    async fn write_back(&self, pending: &PendingDelivery) -> bool {
        let stored = match serde_json::to_vec(pending) {
            Ok(bytes) => self
                .store
                .put_outbox(&[(pending.key(), bytes)])
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = &stored {
            tracing::warn!(error = %e, "webhook retry time not stored");
        }
        stored.is_ok()
    }

    /// POSTs the delivery: `(status, error)`.
    async fn send(
        &self,
        url: &str,
        secret: &str,
        pending: &PendingDelivery,
    ) -> (Option<u16>, Option<String>) {
        let url = match vet::parse_url(url)
            .and_then(|u| vet::check_literal(&u, self.config.policy).map(|()| u))
        {
            Ok(u) => u,
            Err(e) => return (None, Some(e.to_string())),
        };
        let key = match sign::secret_key(secret) {
            Ok(k) => k,
            Err(e) => return (None, Some(e.to_string())),
        };
        let timestamp = Timestamp::now().as_second();
        let signature = sign::signature(&key, &pending.event_id, timestamp, &pending.body);
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &pending.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(pending.body.clone())
            .send()
            .await;
        match response {
            Ok(r) => {
                let status = r.status();
                // The body is not read: nothing in it matters, and a slow
                // or endless one must not hold the delivery.
                drop(r);
                let error = if status.is_success() {
                    None
                } else if status.is_redirection() {
                    Some("redirects are not followed".to_owned())
                } else {
                    None
                };
                (Some(status.as_u16()), error)
            }
            Err(e) => (None, Some(describe(&e))),
        }
    }

    fn record(&self, pending: &PendingDelivery, attempt: &Attempt) {
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut key = attempts_prefix(&pending.conference_id, &pending.webhook_id);
        key.extend_from_slice(
            format!("{:016x}{:08x}", attempt.at.as_millisecond(), seq as u32).as_bytes(),
        );
        let result = serde_json::to_vec(attempt)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                self.store
                    .insert_attempt(&key, &bytes)
                    .map_err(|e| e.to_string())
            })
            .and_then(|()| {
                self.trim(&pending.conference_id, &pending.webhook_id)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = result {
            tracing::warn!(error = %e, "webhook attempt not recorded");
        }
    }

    fn trim(&self, conference_id: &str, webhook_id: &str) -> Result<(), easel_store::StoreError> {
        let entries = self
            .store
            .scan_attempts(&attempts_prefix(conference_id, webhook_id))?;
        let excess = entries.len().saturating_sub(self.config.history.max(1));
        for (k, _) in entries.iter().take(excess) {
            self.store.remove_attempt(k)?;
        }
        Ok(())
    }

    /// Follows the hub's change feed and records one `chart.updated` per
    /// chart per debounce window.
    async fn debounce_charts(self, shutdown: CancellationToken) {
        let mut changes = self.conferences.hub().subscribe_changes();
        // Chart → (window closes, last change, whether anyone wants it).
        let mut open: HashMap<Arc<str>, (tokio::time::Instant, Timestamp, bool)> = HashMap::new();
        // Windows open before a restart close right away.
        if let Ok(markers) = self.store.scan_outbox(CHART_PREFIX) {
            for (_, value) in markers {
                if let Ok(w) = serde_json::from_slice::<ChartWindow>(&value) {
                    open.insert(
                        w.chart_id.into(),
                        (tokio::time::Instant::now(), w.opened, true),
                    );
                }
            }
        }
        loop {
            let first_close = open.values().map(|(at, _, _)| *at).min();
            let sleep = async {
                match first_close {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                change = changes.recv() => match change {
                    Ok(changed) => {
                        let at = Timestamp::try_from(changed.at).unwrap_or_else(|_| Timestamp::now());
                        if let Some(window) = open.get_mut(&changed.chart_id) {
                            window.1 = at;
                            continue;
                        }
                        let wanted = self.open_window(&changed.chart_id, at).await;
                        open.insert(changed.chart_id, (tokio::time::Instant::now() + self.config.chart_debounce, at, wanted));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "chart change feed lagged; some chart.updated events are lost");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = sleep => {
                    let now = tokio::time::Instant::now();
                    let due: Vec<Arc<str>> = open.iter().filter(|(_, (at, _, _))| *at <= now).map(|(c, _)| c.clone()).collect();
                    for chart in due {
                        if let Some((_, last, wanted)) = open.remove(&chart) {
                            if wanted {
                                self.close_window(&chart, last).await;
                            }
                        }
                    }
                }
            }
        }
    }

    /// The first change of a window: whether the chart's conference has an
    /// endpoint for `chart.updated`, and if so the durable window marker.
    async fn open_window(&self, chart_id: &str, at: Timestamp) -> bool {
        let Ok(Some(entry)) = self.conferences.chart_entry(chart_id).await else {
            return false;
        };
        let wanted = match self.conferences.webhooks(&entry.conference_id).await {
            Ok(endpoints) => endpoints
                .iter()
                .any(|e| e.events.contains(&EventType::ChartUpdated)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read webhook endpoints");
                false
            }
        };
        if wanted {
            let marker = ChartWindow {
                chart_id: chart_id.to_owned(),
                opened: at,
            };
            if let Ok(bytes) = serde_json::to_vec(&marker) {
                if let Err(e) = self
                    .store
                    .put_outbox(&[(chart_marker(chart_id), bytes)])
                    .await
                {
                    tracing::warn!(error = %e, chart_id, "chart.updated window not stored");
                }
            }
        }
        wanted
    }

    async fn close_window(&self, chart_id: &str, last: Timestamp) {
        match self.conferences.chart_entry(chart_id).await {
            Ok(Some(entry)) => {
                let data = serde_json::json!({
                    "conference_id": entry.conference_id,
                    "session_id": entry.session_id,
                    "chart_id": chart_id,
                    "updated_at": last,
                });
                if let Err(e) = self
                    .conferences
                    .record_event(&entry.conference_id, EventType::ChartUpdated, data)
                    .await
                {
                    // The marker stays: the next start records it.
                    tracing::warn!(error = %e, chart_id, "chart.updated not recorded");
                    return;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, chart_id, "chart.updated not recorded");
                return;
            }
        }
        if let Err(e) = self.store.remove_outbox(&chart_marker(chart_id)).await {
            tracing::warn!(error = %e, chart_id, "chart.updated window marker not removed");
        }
    }
}

fn chart_marker(chart_id: &str) -> Vec<u8> {
    let mut key = CHART_PREFIX.to_vec();
    key.extend_from_slice(chart_id.as_bytes());
    key
}

/// A client error with its causes (reqwest's own text says only "error
/// sending request").
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_ceiling() {
        let config = Config {
            policy: TargetPolicy {
                allow_private: false,
            },
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            max_attempts: 10,
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(60),
            concurrency: 1,
            history: 10,
            chart_debounce: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let first = backoff(&config, 1);
            assert!(first >= Duration::from_secs(1) && first <= Duration::from_secs(2));
            let third = backoff(&config, 3);
            assert!(third >= Duration::from_secs(4) && third <= Duration::from_secs(8));
            let late = backoff(&config, 40);
            assert!(late >= Duration::from_secs(30) && late <= Duration::from_secs(60));
        }
    }
}
