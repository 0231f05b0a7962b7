//! Following one chart's log: a task with its own connection, blocked in
//! `XREAD` after the last id it delivered, handing every batch of entries to
//! the chart actor's feed.
//!
//! A blocking `XREAD` occupies its connection, so each followed chart has
//! one (on a shared multiplexed connection it would stall every command
//! queued behind it). When the connection fails (Redis restarting) the task
//! reconnects with backoff and resumes from the last id it delivered: the
//! stream keeps its ids across a restart (AOF), so nothing is skipped and
//! nothing is delivered twice. The task ends when the actor's guard cancels
//! it or the actor's feed is gone.

use std::sync::Arc;
use std::time::Duration;

use easel_hub::shared::{Feed, LogPos, SharedError};
use redis::{AsyncConnectionConfig, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{entries, READ_COUNT};

/// How long one `XREAD` blocks server-side before it is simply reissued.
const BLOCK: Duration = Duration::from_secs(5);
/// Reconnect backoff bounds.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

pub(crate) struct Follower {
    pub client: redis::Client,
    pub node: Arc<str>,
    pub log: String,
    /// The chart's snapshot hash, read to notice trims this follower
    /// missed; `None` for a log without snapshots (metadata announcements).
    pub snap: Option<String>,
    pub timeout: Duration,
    /// The chart actor's feed; closed when the actor ends.
    pub feed: mpsc::Sender<Feed>,
    /// Cancelled when the actor drops its guard.
    pub cancel: CancellationToken,
}

pub(crate) fn spawn(follower: Follower, after: LogPos) {
    let span = tracing::debug_span!("follow", log = %follower.log);
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let cancel = follower.cancel.clone();
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = follower.run(after) => {}
            }
        },
        span,
    ));
}

impl Follower {
    async fn run(self, mut last: LogPos) {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            // The server holds the reply for up to BLOCK by design.
            .set_response_timeout(Some(BLOCK + self.timeout));
        let mut backoff = MIN_BACKOFF;
        // The snapshot position at the last check; trims only move it up.
        let mut seen_covers = None;
        loop {
            match self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await
            {
                Ok(mut conn) => {
                    backoff = MIN_BACKOFF;
                    match self
                        .read_until_error(&mut conn, &mut last, &mut seen_covers)
                        .await
                    {
                        Ok(()) => return, // the actor is gone
                        Err(e) => {
                            tracing::warn!(error = %e, %last, "following the chart log failed; reconnecting")
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reach Redis to follow a chart; retrying")
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Reads and delivers until the connection fails (`Err`) or the feed is
    /// closed (`Ok`).
    async fn read_until_error(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
        last: &mut LogPos,
        seen_covers: &mut Option<LogPos>,
    ) -> Result<(), redis::RedisError> {
        loop {
            let before = *last;
            let reply: Value = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(READ_COUNT)
                .arg("BLOCK")
                .arg(BLOCK.as_millis() as u64)
                .arg("STREAMS")
                .arg(&self.log)
                .arg(last.to_string())
                .query_async(conn)
                .await?;
            let batch = match stream_entries(reply).and_then(|v| entries(v, &self.node)) {
                Ok(batch) => batch,
                Err(e) => {
                    // Data this build cannot read: the chart must not go on
                    // as if the entry did not exist.
                    tracing::error!(error = %e, "unreadable chart log entry");
                    let _ = self.feed.send(Feed::Broken(e.to_string())).await;
                    return Ok(());
                }
            };
            // A compaction trims everything before the position it covers.
            // A new snapshot covering more than this follower had read
            // before this read may mean the trim removed entries it never
            // saw (it lagged behind the compacting node): the chart catches
            // up from the snapshot. Positions alone cannot tell a harmless
            // trim from a harmful one once a second compaction follows, so
            // any new snapshot past our position counts. `Behind` goes
            // first, so the chart has caught up before it applies (or
            // compacts over) anything read after the gap.
            let covers: Option<String> = match &self.snap {
                Some(snap) => {
                    redis::cmd("HGET")
                        .arg(snap)
                        .arg("covers")
                        .query_async(conn)
                        .await?
                }
                None => None,
            };
            let covers = covers.and_then(|c| c.parse::<LogPos>().ok());
            if covers != *seen_covers {
                *seen_covers = covers;
                if covers.is_some_and(|c| c > before) && self.feed.send(Feed::Behind).await.is_err()
                {
                    return Ok(());
                }
            }
            if let Some(newest) = batch.last() {
                *last = newest.pos;
                if self.feed.send(Feed::Entries(batch)).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}

/// The entries of the one stream an `XREAD` reply names (Nil on timeout).
fn stream_entries(reply: Value) -> Result<Value, SharedError> {
    let streams = match reply {
        Value::Nil => return Ok(Value::Nil),
        Value::Map(map) => map.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::Array(mut kv) if kv.len() == 2 => kv.pop(),
                _ => None,
            })
            .collect(),
        other => return Err(crate::corrupt("XREAD reply", &other)),
    };
    Ok(streams.into_iter().next().unwrap_or(Value::Nil))
}
