//! Metadata documents in Redis: the [`MetaStore`] a cluster node's
//! conferences, tokens and chart index live in, so that any node answers
//! for every conference (docs/scale-out.md, "Metadata").
//!
//! Keys (the `{meta}` hash tag puts all of them in one Redis Cluster slot,
//! so every script below touches one slot; metadata is small):
//!
//! | key                        | type       | holds                                   |
//! |----------------------------|------------|-----------------------------------------|
//! | `easel:{meta}:doc:{key}`   | string     | one document (JSON bytes)               |
//! | `easel:{meta}:keys`        | sorted set | every document key, score 0: prefix listing by `ZRANGEBYLEX`, no `SCAN` |
//! | `easel:{meta}:lock:{scope}`| string     | the holder's random token (`SET NX PX`) |
//! | `easel:{meta}:events`      | stream     | announcements: `n` = node id, `u` = the event bytes |
//!
//! Every write is one Lua script (document and index change together, and
//! reach the AOF as one unit); with `appendfsync always` an answered write
//! is on disk.
//!
//! Edits take a lock per scope (a conference) rather than retrying on a
//! conflict, because an edit does things outside its document that a retry
//! would repeat (it seeds a new chart, merges two charts, closes
//! connections). The holder renews the lock while it lives, so a long edit
//! (a backup holds every lock) keeps it; its expiry only frees the lock of
//! a holder that died. The conditional write ([`MetaStore::put_if`]) is the
//! fence for the rare case where a holder lost its lock anyway (it could not
//! reach Redis to renew it): its write then fails instead of overwriting a
//! newer version.
//!
//! Announcements go through a stream, not pub/sub: a node that is away for
//! a moment (Redis restarting, a network blip) reads what it missed when it
//! is back, so a revocation can never be lost on its way to the node that
//! holds the revoked connection. The stream is capped
//! (`--redis-events-max`, trimmed approximately).

use std::sync::Arc;
use std::time::Duration;

use easel_hub::shared::{Feed, LogPos};
use easel_store::meta::{BoxFuture, Documents, MetaError, MetaLock, MetaStore};
use redis::aio::ConnectionManager;
use redis::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::follow;

const DOC_PREFIX: &str = "easel:{meta}:doc:";
const INDEX: &str = "easel:{meta}:keys";
const LOCK_PREFIX: &str = "easel:{meta}:lock:";
const EVENTS: &str = "easel:{meta}:events";

/// Announcements received but not yet taken by the node; past this the
/// follower waits (it resumes from its position, so nothing is lost).
const ANNOUNCEMENT_QUEUE: usize = 1024;
/// Pause before following the announcements again after a failure.
const RESTART_PAUSE: Duration = Duration::from_millis(200);
/// Shortest lock lifetime accepted from `--redis-lock-ms`.
const MIN_LOCK_TTL: Duration = Duration::from_millis(100);
/// Shortest and longest pause between attempts to take a busy lock.
const LOCK_RETRY_MIN: Duration = Duration::from_millis(5);
const LOCK_RETRY_MAX: Duration = Duration::from_millis(100);

/// KEYS: doc, index. ARGV: key, value.
const PUT: &str = r#"
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"#;

/// KEYS: doc, index. ARGV: key, value, '0' (must be absent) or '1' (must
/// equal ARGV[4]), expected.
const PUT_IF: &str = r#"
local cur = redis.call('GET', KEYS[1])
if ARGV[3] == '0' then
  if cur then return 0 end
elseif cur ~= ARGV[4] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"#;

/// KEYS: doc, index. ARGV: key.
const REMOVE: &str = r#"
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"#;

/// KEYS: index. ARGV: doc key prefix, min, max (ZRANGEBYLEX bounds).
/// Returns key, value, key, value... of the documents, read as one view.
const SCAN: &str = r#"
local keys = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], ARGV[3])
local out = {}
for _, k in ipairs(keys) do
  local v = redis.call('GET', ARGV[1] .. k)
  if v then
    out[#out + 1] = k
    out[#out + 1] = v
  end
end
return out
"#;

/// KEYS: lock. ARGV: token, ttl ms. Extends the lock if still ours.
const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

/// KEYS: lock. ARGV: token. Releases the lock if still ours.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// The metadata store of a cluster node. Built by
/// [`crate::RedisLog::metadata`].
pub struct RedisMeta {
    conn: ConnectionManager,
    node: Arc<str>,
    lock_ttl: Duration,
    events_max: usize,
    /// Taken once by [`MetaStore::announcements`].
    announcements: std::sync::Mutex<Option<mpsc::Receiver<Vec<u8>>>>,
    /// Stops the announcement follower when the store is dropped.
    _follow: tokio_util::sync::DropGuard,
}

fn unavailable(e: redis::RedisError) -> MetaError {
    MetaError::Unavailable(e.to_string())
}

fn doc_key(key: &str) -> String {
    format!("{DOC_PREFIX}{key}")
}

impl RedisMeta {
    pub(crate) async fn start(
        client: redis::Client,
        conn: ConnectionManager,
        node: Arc<str>,
        config: &crate::ClusterConfig,
    ) -> Result<RedisMeta, redis::RedisError> {
        // Announcements from now on: what happened before this node
        // started is already in the documents it reads.
        let after = newest_announcement(&mut conn.clone()).await?;
        let (tx, rx) = mpsc::channel(ANNOUNCEMENT_QUEUE);
        let cancel = CancellationToken::new();
        tokio::spawn(forward_announcements(
            client,
            conn.clone(),
            node.clone(),
            config.timeout,
            after,
            tx,
            cancel.clone(),
        ));
        Ok(RedisMeta {
            conn,
            node,
            // Renewed every third of it: a tiny value would spin on Redis.
            lock_ttl: config.meta_lock.max(MIN_LOCK_TTL),
            events_max: config.meta_events_max,
            announcements: std::sync::Mutex::new(Some(rx)),
            _follow: cancel.drop_guard(),
        })
    }

    async fn script<T: redis::FromRedisValue>(
        &self,
        script: &str,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<T, MetaError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script).arg(keys.len());
        for k in keys {
            cmd.arg(*k);
        }
        for a in args {
            cmd.arg(*a);
        }
        cmd.query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }
}

/// The id of the newest announcement (`0-0` if there is none).
async fn newest_announcement(conn: &mut ConnectionManager) -> Result<LogPos, redis::RedisError> {
    let newest: Value = redis::cmd("XREVRANGE")
        .arg(EVENTS)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await?;
    // Only the id: the newest entry may be an unreadable one.
    Ok(first_id(&newest).unwrap_or_default())
}

/// Follows the announcement stream after `after` and hands the other
/// nodes' announcements to `tx`, until `cancel` or until nobody takes them.
/// An entry this build cannot read stops a follower (as it stops a chart);
/// here that would silence every later announcement, so the entries after
/// the last delivered one are stepped through one by one up to the
/// unreadable one, which alone is skipped, and a new follower starts after
/// it.
async fn forward_announcements(
    client: redis::Client,
    mut conn: ConnectionManager,
    node: Arc<str>,
    timeout: Duration,
    mut after: LogPos,
    tx: mpsc::Sender<Vec<u8>>,
    cancel: CancellationToken,
) {
    loop {
        let (feed_tx, mut feed_rx) = mpsc::channel::<Feed>(16);
        follow::spawn(
            follow::Follower {
                client: client.clone(),
                node: node.clone(),
                log: EVENTS.to_owned(),
                snap: None,
                timeout,
                feed: feed_tx,
                cancel: cancel.child_token(),
            },
            after,
        );
        while let Some(feed) = feed_rx.recv().await {
            match feed {
                Feed::Entries(entries) => {
                    for entry in entries {
                        after = entry.pos;
                        if !entry.own && tx.send(entry.update.to_vec()).await.is_err() {
                            return;
                        }
                    }
                }
                Feed::Broken(reason) => {
                    tracing::error!(%reason, "unreadable metadata announcement; skipping it");
                }
                Feed::Presence(_) | Feed::PresenceQuery | Feed::Behind => {}
            }
        }
        // The follower stopped: cancelled, or it met an unreadable entry.
        // Paused, so that nothing unforeseen can turn this into a busy loop.
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(RESTART_PAUSE) => {}
        }
        loop {
            if cancel.is_cancelled() || tx.is_closed() {
                return;
            }
            match step_past_unreadable(&mut conn, &node, after, &tx).await {
                Ok(past) => {
                    after = past;
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot step past an unreadable announcement; retrying");
                    tokio::time::sleep(RESTART_PAUSE).await;
                }
            }
        }
    }
}

/// Reads the announcements after `after` one at a time, handing the
/// readable ones to `tx`, up to and including the first unreadable one;
/// returns the position to follow on from.
async fn step_past_unreadable(
    conn: &mut ConnectionManager,
    node: &str,
    mut after: LogPos,
    tx: &mpsc::Sender<Vec<u8>>,
) -> Result<LogPos, redis::RedisError> {
    loop {
        let reply: Value = redis::cmd("XRANGE")
            .arg(EVENTS)
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(conn)
            .await?;
        let Some(pos) = first_id(&reply) else {
            return Ok(after);
        };
        match crate::entries(reply, node) {
            Ok(entries) => {
                for entry in entries.into_iter().filter(|e| !e.own) {
                    let _ = tx.send(entry.update.to_vec()).await;
                }
            }
            Err(e) => {
                tracing::warn!(%pos, error = %e, "skipped an unreadable metadata announcement");
                return Ok(pos);
            }
        }
        after = pos;
    }
}

/// The id of the first entry of an `XRANGE`/`XREVRANGE` reply, read on its
/// own (the entry's fields may be what is unreadable).
fn first_id(reply: &Value) -> Option<LogPos> {
    let Value::Array(entries) = reply else {
        return None;
    };
    let Some(Value::Array(parts)) = entries.first() else {
        return None;
    };
    let id = crate::bytes(parts.first()?.clone()).ok()?;
    String::from_utf8(id).ok()?.parse().ok()
}

/// Keeps a lock alive until dropped, then releases it.
struct Held {
    _stop: tokio_util::sync::DropGuard,
}

impl MetaStore for RedisMeta {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, MetaError>> {
        Box::pin(async move {
            redis::cmd("GET")
                .arg(doc_key(key))
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)
        })
    }

    fn put<'a>(&'a self, key: &'a str, value: &'a [u8]) -> BoxFuture<'a, Result<(), MetaError>> {
        Box::pin(async move {
            let _: i64 = self
                .script(PUT, &[&doc_key(key), INDEX], &[key.as_bytes(), value])
                .await?;
            Ok(())
        })
    }

    fn put_if<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: &'a [u8],
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        Box::pin(async move {
            let (mode, expected): (&[u8], &[u8]) = match expected {
                None => (b"0", b""),
                Some(e) => (b"1", e),
            };
            let written: i64 = self
                .script(
                    PUT_IF,
                    &[&doc_key(key), INDEX],
                    &[key.as_bytes(), value, mode, expected],
                )
                .await?;
            Ok(written == 1)
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), MetaError>> {
        Box::pin(async move {
            let _: i64 = self
                .script(REMOVE, &[&doc_key(key), INDEX], &[key.as_bytes()])
                .await?;
            Ok(())
        })
    }

    fn scan<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Documents, MetaError>> {
        Box::pin(async move {
            let (min, max) = lex_range(prefix);
            let flat: Vec<Vec<u8>> = self
                .script(SCAN, &[INDEX], &[DOC_PREFIX.as_bytes(), &min, &max])
                .await?;
            let mut out = Vec::with_capacity(flat.len() / 2);
            let mut it = flat.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                let k = String::from_utf8(k)
                    .map_err(|_| MetaError::Corrupt("a document key is not UTF-8".into()))?;
                out.push((k, v));
            }
            Ok(out)
        })
    }

    fn lock<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<MetaLock, MetaError>> {
        Box::pin(async move {
            let key = format!("{LOCK_PREFIX}{scope}");
            let token = format!("{}-{:016x}", self.node, rand::random::<u64>());
            let ttl = self.lock_ttl.as_millis().max(1) as u64;
            // A dead holder's lock expires after one ttl; wait a bit longer.
            let deadline = tokio::time::Instant::now() + self.lock_ttl * 2;
            let mut pause = LOCK_RETRY_MIN;
            loop {
                let got: Option<String> = redis::cmd("SET")
                    .arg(&key)
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl)
                    .query_async(&mut self.conn.clone())
                    .await
                    .map_err(unavailable)?;
                if got.is_some() {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(MetaError::Locked(scope.to_owned()));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LOCK_RETRY_MAX);
            }
            let stop = CancellationToken::new();
            tokio::spawn(keep_lock(
                self.conn.clone(),
                key,
                token,
                self.lock_ttl,
                stop.clone(),
            ));
            Ok(MetaLock::held(Box::new(Held {
                _stop: stop.drop_guard(),
            })))
        })
    }

    fn announce<'a>(&'a self, event: &'a [u8]) -> BoxFuture<'a, Result<(), MetaError>> {
        Box::pin(async move {
            let _: Value = redis::cmd("XADD")
                .arg(EVENTS)
                .arg("MAXLEN")
                .arg("~")
                .arg(self.events_max.max(1))
                .arg("*")
                .arg("n")
                .arg(&*self.node)
                .arg("u")
                .arg(event)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn announcements(&self) -> Option<mpsc::Receiver<Vec<u8>>> {
        self.announcements
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

/// Renews the lock every third of its ttl until `stop`, then releases it.
async fn keep_lock(
    mut conn: ConnectionManager,
    key: String,
    token: String,
    ttl: Duration,
    stop: CancellationToken,
) {
    let ttl_ms = ttl.as_millis().max(1) as u64;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(ttl / 3) => {}
        }
        let renewed: Result<i64, _> = redis::cmd("EVAL")
            .arg(RENEW)
            .arg(1)
            .arg(&key)
            .arg(&token)
            .arg(ttl_ms)
            .query_async(&mut conn)
            .await;
        match renewed {
            Ok(1) => {}
            // Gone or taken over: the holder's conditional write will fail.
            Ok(_) => {
                tracing::warn!(lock = %key, "metadata lock lost while held");
                break;
            }
            Err(e) => tracing::warn!(lock = %key, error = %e, "metadata lock not renewed"),
        }
    }
    let released: Result<i64, _> = redis::cmd("EVAL")
        .arg(RELEASE)
        .arg(1)
        .arg(&key)
        .arg(&token)
        .query_async(&mut conn)
        .await;
    if let Err(e) = released {
        tracing::debug!(lock = %key, error = %e, "metadata lock not released; it expires");
    }
}

/// `ZRANGEBYLEX` bounds of the keys starting with `prefix`.
fn lex_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    if prefix.is_empty() {
        return (b"-".to_vec(), b"+".to_vec());
    }
    let mut min = b"[".to_vec();
    min.extend_from_slice(prefix.as_bytes());
    // 0xff never occurs in UTF-8, so it sorts after every key with the prefix.
    let mut max = b"(".to_vec();
    max.extend_from_slice(prefix.as_bytes());
    max.push(0xff);
    (min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_id_is_read_without_the_fields() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let unreadable = Value::Array(vec![Value::Array(vec![
            bulk("17-3"),
            Value::Array(vec![bulk("n"), bulk("x")]),
        ])]);
        assert_eq!(first_id(&unreadable), Some(LogPos { ms: 17, seq: 3 }));
        assert_eq!(first_id(&Value::Array(vec![])), None);
        assert_eq!(first_id(&Value::Nil), None);
        assert_eq!(
            first_id(&Value::Array(vec![Value::Array(vec![bulk("nope")])])),
            None
        );
    }

    #[test]
    fn lex_range_covers_exactly_the_prefix() {
        let (min, max) = lex_range("token/");
        let inside = |k: &str| {
            let k = k.as_bytes();
            k >= &min[1..] && k < &max[1..]
        };
        assert!(inside("token/") && inside("token/abc") && inside("token/\u{10ffff}"));
        assert!(!inside("token") && !inside("tokens/") && !inside("conf/x"));
        assert_eq!(lex_range(""), (b"-".to_vec(), b"+".to_vec()));
    }
}
