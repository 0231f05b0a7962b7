//! Easel's shared chart log over Redis: the [`SharedLog`] the hub uses when
//! several easel processes serve the same charts (`easel serve --redis`).
//! `docs/scale-out.md` explains the design and compares it with y/hub and
//! Hocuspocus; this crate is that design in code.
//!
//! Keys per chart (the `{chart}` hash tag keeps them in one slot, so the
//! compaction script also works against a Redis Cluster):
//!
//! | key                       | type   | holds                                        |
//! |---------------------------|--------|----------------------------------------------|
//! | `easel:{chart}:log`       | stream | one entry per stored update: `n` = node id, `u` = Yjs v1 update |
//! | `easel:{chart}:snap`      | hash   | `covers` = last stream id inside, `state` = Yjs v1 state |
//! | `easel:{chart}:lease`     | string | the node compacting now (`SET NX PX`)         |
//! | `easel:{chart}:presence`  | pub/sub channel | node id + kind (`p` awareness, `q` query) + message |
//!
//! Durability: an append resolves when Redis has answered every `XADD` of
//! the batch. With `appendonly yes` and `appendfsync always` Redis writes
//! and fsyncs its AOF before it sends any reply (including the `XREAD`
//! replies other nodes wait on), so an answered append survives a crash of
//! the node and of Redis. [`RedisLog::connect`] refuses a Redis configured
//! otherwise.
//!
//! Connections: one multiplexed connection for commands (appends of every
//! chart are pipelined on it, so Redis fsyncs many of them at once, a group
//! commit across charts and nodes), one pub/sub connection per node for
//! presence ([`presence`]), one connection per followed chart, blocked in
//! `XREAD` ([`follow`]), and one more following the metadata announcements.
//!
//! Conferences, tokens and the chart index live here too: [`RedisMeta`]
//! (`meta.rs`) implements the store's `MetaStore` for the binary, with a
//! lock per conference and a stream of announcements between nodes.

mod follow;
mod meta;
mod occupancy;
mod presence;

pub use meta::RedisMeta;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use easel_hub::shared::{BoxFuture, Feed, LogEntry, LogPos, SharedChart, SharedError, SharedLog};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Value;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How a node talks to Redis. The binary fills it from flags.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// `redis://HOST:PORT[/DB]`.
    pub url: String,
    /// How long a command may take before it counts as failed (a batch that
    /// is not confirmed in time is not shown, and its writers resync).
    pub timeout: Duration,
    /// How long a node holds a chart's compaction lease at most.
    pub lease: Duration,
    /// How long a metadata lock (one conference's edits) outlives a holder
    /// that died; a live holder renews it.
    pub meta_lock: Duration,
    /// Metadata announcements the stream keeps (approximately).
    pub meta_events_max: usize,
}

/// Errors starting a cluster node.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid Redis URL {url:?}: {source}")]
    Url {
        url: String,
        source: redis::RedisError,
    },
    #[error("cannot reach Redis at {url}: {source}")]
    Connect {
        url: String,
        source: redis::RedisError,
    },
    #[error("Redis at {url} would lose acknowledged updates ({detail}); start it with `--appendonly yes --appendfsync always` (docs/scale-out.md)")]
    NotDurable { url: String, detail: String },
}

/// The shared log over one Redis server. Cheap to share (`Arc`).
pub struct RedisLog {
    client: redis::Client,
    conn: ConnectionManager,
    /// Random per process: entries this process appended come back through
    /// the followers marked as its own.
    node: Arc<str>,
    config: ClusterConfig,
    presence: presence::Presence,
}

/// Entries one `XREAD`/`XRANGE` reply carries at most.
const READ_COUNT: usize = 512;

fn key(chart: &str, what: &str) -> String {
    format!("easel:{{{chart}}}:{what}")
}

fn unavailable(e: redis::RedisError) -> SharedError {
    SharedError::Unavailable(e.to_string())
}

/// Replaces the snapshot and trims the log it covers, atomically and only
/// for the lease holder with a newer snapshot; releases the lease.
/// KEYS: lease, snap, log. ARGV: node, covers, state.
const COMPACT_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local function pos(s)
  local ms, seq = string.match(s, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local old = redis.call('HGET', KEYS[2], 'covers')
if old then
  local oms, oseq = pos(old)
  local nms, nseq = pos(ARGV[2])
  if oms > nms or (oms == nms and oseq >= nseq) then
    redis.call('DEL', KEYS[1])
    return 0
  end
end
redis.call('HSET', KEYS[2], 'covers', ARGV[2], 'state', ARGV[3])
redis.call('XTRIM', KEYS[3], 'MINID', ARGV[2])
redis.call('DEL', KEYS[1])
return 1
"#;

impl RedisLog {
    /// Connects, checks that Redis keeps what it acknowledges, and starts
    /// the presence tasks.
    pub async fn connect(config: ClusterConfig) -> Result<Arc<RedisLog>, ClusterError> {
        let client =
            redis::Client::open(config.url.as_str()).map_err(|source| ClusterError::Url {
                url: config.url.clone(),
                source,
            })?;
        let manager = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.timeout))
            .set_connection_timeout(Some(config.timeout))
            .set_number_of_retries(2);
        let mut conn = ConnectionManager::new_with_config(client.clone(), manager)
            .await
            .map_err(|source| ClusterError::Connect {
                url: config.url.clone(),
                source,
            })?;
        check_durable(&mut conn, &config.url).await?;
        let node: Arc<str> = format!("{:016x}", rand::random::<u64>()).into();
        let presence = presence::Presence::start(client.clone(), conn.clone(), node.clone());
        tracing::info!(node = %node, url = %config.url, "joined the cluster");
        Ok(Arc::new(RedisLog {
            client,
            conn,
            node,
            config,
            presence,
        }))
    }

    /// This process's id in the cluster.
    pub fn node_id(&self) -> &str {
        &self.node
    }

    /// Shares this node's connections per chart with the other nodes and
    /// feeds theirs into `hub` ([`easel_hub::Hub::present`] becomes cluster-wide)
    /// until `shutdown` (module `occupancy`).
    pub fn share_connection_counts(&self, hub: easel_hub::Hub, shutdown: CancellationToken) {
        occupancy::spawn(self.presence.clone(), hub, self.node.clone(), shutdown);
    }

    /// The node's metadata store (conferences, tokens, the chart index) in
    /// the same Redis, following the other nodes' announcements from now.
    pub async fn metadata(&self) -> Result<Arc<RedisMeta>, ClusterError> {
        let meta = RedisMeta::start(
            self.client.clone(),
            self.conn.clone(),
            self.node.clone(),
            &self.config,
        )
        .await
        .map_err(|source| ClusterError::Connect {
            url: self.config.url.clone(),
            source,
        })?;
        Ok(Arc::new(meta))
    }
}

/// Refuses a Redis whose acknowledgements a crash could undo. A Redis that
/// forbids `CONFIG` (some managed services) is trusted with a warning.
async fn check_durable(conn: &mut ConnectionManager, url: &str) -> Result<(), ClusterError> {
    for (name, want) in [("appendonly", "yes"), ("appendfsync", "always")] {
        let got: Result<Vec<String>, _> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query_async(conn)
            .await;
        match got {
            Ok(pair) => {
                let value = pair.get(1).map(String::as_str).unwrap_or("");
                if value != want {
                    return Err(ClusterError::NotDurable {
                        url: url.to_owned(),
                        detail: format!("{name} is {value:?}, needs {want:?}"),
                    });
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, setting = name, "cannot read Redis config; make sure it has appendonly yes, appendfsync always");
            }
        }
    }
    Ok(())
}

impl SharedLog for RedisLog {
    fn load<'a>(&'a self, chart: &'a str) -> BoxFuture<'a, Result<SharedChart, SharedError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            // One transaction: a compaction between the two reads could
            // otherwise trim entries the snapshot we read does not cover.
            let (snap, log): (Value, Value) = redis::pipe()
                .atomic()
                .cmd("HGETALL")
                .arg(key(chart, "snap"))
                .cmd("XRANGE")
                .arg(key(chart, "log"))
                .arg("-")
                .arg("+")
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let mut covers = None;
            let mut state = None;
            for (field, value) in pairs(snap)? {
                match field.as_slice() {
                    b"covers" => covers = Some(text(&value)?.parse::<LogPos>()?),
                    b"state" => state = Some(value),
                    _ => {}
                }
            }
            let snapshot = match (covers, state) {
                (Some(c), Some(s)) => Some((c, s)),
                (None, None) => None,
                _ => {
                    return Err(SharedError::Corrupt(format!(
                        "snapshot of {chart} is incomplete"
                    )))
                }
            };
            Ok(SharedChart {
                snapshot,
                entries: entries(log, &self.node)?,
            })
        })
    }

    fn append<'a>(
        &'a self,
        chart: &'a str,
        updates: &'a [Bytes],
    ) -> BoxFuture<'a, Result<(), SharedError>> {
        Box::pin(async move {
            let log = key(chart, "log");
            let mut pipe = redis::pipe();
            for update in updates {
                pipe.cmd("XADD")
                    .arg(&log)
                    .arg("*")
                    .arg("n")
                    .arg(&*self.node)
                    .arg("u")
                    .arg(update.as_ref());
            }
            let replies: Vec<Value> = pipe
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            for reply in replies {
                reply.extract_error().map_err(unavailable)?;
            }
            Ok(())
        })
    }

    fn compact<'a>(
        &'a self,
        chart: &'a str,
        snapshot: Vec<u8>,
        covers: LogPos,
    ) -> BoxFuture<'a, Result<bool, SharedError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let lease = key(chart, "lease");
            let got: Option<String> = redis::cmd("SET")
                .arg(&lease)
                .arg(&*self.node)
                .arg("NX")
                .arg("PX")
                .arg(self.config.lease.as_millis() as u64)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            if got.is_none() {
                return Ok(false);
            }
            let written: i64 = redis::cmd("EVAL")
                .arg(COMPACT_SCRIPT)
                .arg(3)
                .arg(&lease)
                .arg(key(chart, "snap"))
                .arg(key(chart, "log"))
                .arg(&*self.node)
                .arg(covers.to_string())
                .arg(snapshot)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(written == 1)
        })
    }

    fn delete<'a>(&'a self, chart: &'a str) -> BoxFuture<'a, Result<(), SharedError>> {
        Box::pin(async move {
            let _: i64 = redis::cmd("DEL")
                .arg(key(chart, "log"))
                .arg(key(chart, "snap"))
                .arg(key(chart, "lease"))
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn publish_presence(&self, chart: &str, message: Bytes) {
        self.presence
            .publish(chart, presence::Kind::State, &message);
    }

    fn follow(&self, chart: &str, after: LogPos, feed: mpsc::Sender<Feed>) -> DropGuard {
        let cancel = CancellationToken::new();
        self.presence.subscribe(chart, feed.clone(), cancel.clone());
        follow::spawn(
            follow::Follower {
                client: self.client.clone(),
                node: self.node.clone(),
                log: key(chart, "log"),
                snap: Some(key(chart, "snap")),
                timeout: self.config.timeout,
                feed,
                cancel: cancel.clone(),
            },
            after,
        );
        cancel.drop_guard()
    }
}

/// A hash field and its value, as bytes.
type Pair = (Vec<u8>, Vec<u8>);

/// Field/value pairs of a hash reply (RESP2 flat array or RESP3 map).
fn pairs(value: Value) -> Result<Vec<Pair>, SharedError> {
    let flat = match value {
        Value::Nil => return Ok(Vec::new()),
        Value::Map(map) => map.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        Value::Array(items) => items,
        other => return Err(corrupt("hash", &other)),
    };
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((bytes(k)?, bytes(v)?));
    }
    Ok(out)
}

/// Stream entries of an `XRANGE` reply, or of one stream in an `XREAD` reply.
fn entries(value: Value, node: &str) -> Result<Vec<LogEntry>, SharedError> {
    let items = match value {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => return Err(corrupt("stream entries", &other)),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(mut parts) = item else {
            return Err(corrupt("stream entry", &item));
        };
        if parts.len() != 2 {
            return Err(SharedError::Corrupt(
                "stream entry is not [id, fields]".into(),
            ));
        }
        let fields = parts.pop().expect("two parts");
        let pos = text(&bytes(parts.pop().expect("two parts"))?)?.parse::<LogPos>()?;
        let mut origin = None;
        let mut update = None;
        for (f, v) in pairs(fields)? {
            match f.as_slice() {
                b"n" => origin = Some(v),
                b"u" => update = Some(v),
                _ => {}
            }
        }
        let update =
            update.ok_or_else(|| SharedError::Corrupt(format!("log entry {pos} has no update")))?;
        out.push(LogEntry {
            pos,
            own: origin.as_deref() == Some(node.as_bytes()),
            update: Bytes::from(update),
        });
    }
    Ok(out)
}

fn bytes(value: Value) -> Result<Vec<u8>, SharedError> {
    match value {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.into_bytes()),
        other => Err(corrupt("string", &other)),
    }
}

fn text(b: &[u8]) -> Result<&str, SharedError> {
    std::str::from_utf8(b).map_err(|_| SharedError::Corrupt("not UTF-8".into()))
}

fn corrupt(what: &str, got: &Value) -> SharedError {
    let shown: String = format!("{got:?}").chars().take(80).collect();
    SharedError::Corrupt(format!("expected a {what}, Redis sent {shown}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &[u8]) -> Value {
        Value::BulkString(s.to_vec())
    }

    fn entry(id: &str, node: &str, update: &[u8]) -> Value {
        Value::Array(vec![
            bulk(id.as_bytes()),
            Value::Array(vec![
                bulk(b"n"),
                bulk(node.as_bytes()),
                bulk(b"u"),
                bulk(update),
            ]),
        ])
    }

    #[test]
    fn stream_entries_are_read_in_order_and_own_ones_marked() {
        let reply = Value::Array(vec![
            entry("5-0", "me", b"\x01"),
            entry("5-1", "other", b"\x02"),
        ]);
        let got = entries(reply, "me").unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].own && !got[1].own);
        assert_eq!(got[1].pos, LogPos { ms: 5, seq: 1 });
        assert_eq!(got[1].update.as_ref(), b"\x02");
        assert!(entries(Value::Nil, "me").unwrap().is_empty());
    }

    #[test]
    fn hashes_read_from_resp2_and_resp3() {
        let resp2 = Value::Array(vec![bulk(b"covers"), bulk(b"1-2")]);
        let resp3 = Value::Map(vec![(bulk(b"covers"), bulk(b"1-2"))]);
        assert_eq!(pairs(resp2).unwrap(), pairs(resp3).unwrap());
    }

    #[test]
    fn damaged_entries_are_errors_not_panics() {
        let no_update = Value::Array(vec![Value::Array(vec![
            bulk(b"1-0"),
            Value::Array(vec![bulk(b"n"), bulk(b"x")]),
        ])]);
        assert!(matches!(
            entries(no_update, "me"),
            Err(SharedError::Corrupt(_))
        ));
        let bad_id = Value::Array(vec![entry("nope", "x", b"")]);
        assert!(entries(bad_id, "me").is_err());
        assert!(entries(Value::Int(3), "me").is_err());
        assert!(pairs(Value::Okay).is_err());
    }
}
