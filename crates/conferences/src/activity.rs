//! When each chart last changed, as the hub's change feed tells it
//! ([`easel_hub::Hub::subscribe_changes`]): the organizer dashboard's "last
//! edit". Followed off the data path by one task per server.
//!
//! What is known after a restart: the feed starts empty, and the store
//! keeps no time per edit (its log holds updates, not when they came). So
//! a chart not edited since this server started has no last edit time;
//! [`Activity::since`] says from when the times are complete, and the
//! dashboard falls back to the chart's stored content (blank or written)
//! for its state.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::Timestamp;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::Conferences;

/// Last change per chart, since [`Activity::since`].
pub(crate) struct Activity {
    last: Mutex<HashMap<String, Timestamp>>,
    /// When following started (or, after the follower fell behind, when it
    /// caught up again): earlier edits are not in `last`.
    since: Mutex<Option<Timestamp>>,
}

impl Activity {
    pub(crate) fn new() -> Activity {
        Activity {
            last: Mutex::new(HashMap::new()),
            since: Mutex::new(None),
        }
    }

    fn last(&self) -> std::sync::MutexGuard<'_, HashMap<String, Timestamp>> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_since(&self, at: Timestamp) {
        *self.since.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
    }
}

/// What the dashboard knows of a chart's edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastEdits {
    /// From when every edit is known; `None` when nobody follows the feed
    /// (then no times are known at all).
    pub since: Option<Timestamp>,
}

impl Conferences {
    /// Follows the hub's change feed until `shutdown`, recording when each
    /// chart last changed. Started once by the server.
    pub fn follow_edits(&self, shutdown: CancellationToken) {
        let mut rx = self.hub().subscribe_changes();
        let this = self.clone();
        this.inner.activity.set_since(Timestamp::now());
        tokio::spawn(async move {
            loop {
                let change = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    next = rx.recv() => next,
                };
                match change {
                    Ok(change) => {
                        let at =
                            Timestamp::try_from(change.at).unwrap_or_else(|_| Timestamp::now());
                        this.inner
                            .activity
                            .last()
                            .insert(change.chart_id.to_string(), at);
                    }
                    Err(RecvError::Lagged(missed)) => {
                        // Which charts the missed notices named is lost:
                        // times older than now may be too old.
                        tracing::warn!(missed, "edit times fell behind the change feed");
                        this.inner.activity.set_since(Timestamp::now());
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }

    /// When `chart_id` was last seen changing, if since [`LastEdits::since`].
    pub fn last_edit(&self, chart_id: &str) -> Option<Timestamp> {
        self.inner.activity.last().get(chart_id).copied()
    }

    /// Drops a deleted chart's edit time.
    pub(crate) fn forget_edits(&self, chart_id: &str) {
        self.inner.activity.last().remove(chart_id);
    }

    /// From when the last edit times are complete.
    pub fn last_edits(&self) -> LastEdits {
        LastEdits {
            since: *self
                .inner
                .activity
                .since
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        }
    }
}
