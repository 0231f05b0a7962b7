//! The shared chart log: what a chart actor needs when several easel
//! processes serve the same charts (scale-out, `docs/scale-out.md`).
//!
//! With a [`SharedLog`] the actor keeps its shape (one owner of the Doc,
//! apply → make durable → broadcast), only the log moves: appends go to the
//! shared log and are awaited there before anything of the batch is
//! broadcast, so the durability rule holds cluster-wide; a chart loads from
//! the shared snapshot plus log; and every entry another node appended comes
//! back through [`SharedLog::follow`] as a [`Feed`], which the actor applies
//! and broadcasts to its own clients like an update of its own (it is
//! already durable). The hub knows nothing about Redis: `crates/cluster`
//! implements this trait and the binary wires it in.
//!
//! Positions ([`LogPos`]) totally order a chart's log. An actor remembers
//! the highest position it has applied (its cursor) and skips anything at or
//! below it, so a feed that overlaps a load, or a reconnecting follower that
//! re-reads, never applies an entry twice (applying twice would be harmless
//! for a CRDT, but it would be broadcast twice).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::DropGuard;

/// A boxed future, so the trait stays object safe (`Arc<dyn SharedLog>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A position in one chart's shared log. Written `ms-seq`, the form of a
/// Redis stream id, and ordered the same way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPos {
    pub ms: u64,
    pub seq: u64,
}

impl fmt::Display for LogPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for LogPos {
    type Err = SharedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SharedError::Corrupt(format!("not a log position: {s:?}"));
        let (ms, seq) = s.split_once('-').ok_or_else(bad)?;
        Ok(LogPos {
            ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

/// One entry of a chart's shared log.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub pos: LogPos,
    /// Appended by this process: already in its Doc and already broadcast.
    pub own: bool,
    /// One Yjs v1 update, as the appending node stored it.
    pub update: Bytes,
}

/// What the shared log holds for one chart: load = snapshot, then entries.
#[derive(Debug, Default)]
pub struct SharedChart {
    /// The compacted state and the last position it covers.
    pub snapshot: Option<(LogPos, Vec<u8>)>,
    /// Entries after the snapshot, in log order.
    pub entries: Vec<LogEntry>,
}

/// What a followed chart receives from the rest of the cluster.
#[derive(Debug)]
pub enum Feed {
    /// Log entries, in order, from the follower's position on. Includes this
    /// node's own entries (marked `own`), which only advance the cursor.
    Entries(Vec<LogEntry>),
    /// A y-websocket awareness message another node's clients produced.
    Presence(Bytes),
    /// Another node started following this chart and asks for the presence
    /// of this node's clients.
    PresenceQuery,
    /// The follower may have missed entries that a compaction trimmed
    /// before it read them (it lagged behind the compacting node): the
    /// chart catches up from the snapshot.
    Behind,
    /// The log holds something this build cannot read: the chart must stop
    /// rather than go on without it.
    Broken(String),
}

/// Errors of the shared log a caller can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SharedError {
    /// Not reachable or did not confirm in time: retry later; nothing of the
    /// batch may be shown.
    #[error("shared log unavailable: {0}")]
    Unavailable(String),
    /// Data in the shared log that this build cannot read.
    #[error("shared log data is damaged: {0}")]
    Corrupt(String),
}

/// A cluster-wide, durable, ordered log of updates per chart, with
/// snapshots and presence fan-out. See the module docs for the contract.
pub trait SharedLog: Send + Sync + 'static {
    /// Reads a chart: its snapshot and the entries after it, as one
    /// consistent view (a concurrent compaction cannot tear it).
    fn load<'a>(&'a self, chart: &'a str) -> BoxFuture<'a, Result<SharedChart, SharedError>>;

    /// Appends updates in order. Resolves `Ok` only once they are durable
    /// (they survive a crash of this process and of the log's server).
    fn append<'a>(
        &'a self,
        chart: &'a str,
        updates: &'a [Bytes],
    ) -> BoxFuture<'a, Result<(), SharedError>>;

    /// Replaces the entries up to `covers` with `snapshot`, if this node
    /// gets the chart's compaction lease. `Ok(false)`: another node holds it
    /// (or already wrote a newer snapshot); nothing changed.
    fn compact<'a>(
        &'a self,
        chart: &'a str,
        snapshot: Vec<u8>,
        covers: LogPos,
    ) -> BoxFuture<'a, Result<bool, SharedError>>;

    /// Removes everything the shared log holds for a chart (its deletion;
    /// callers stop the chart first).
    fn delete<'a>(&'a self, chart: &'a str) -> BoxFuture<'a, Result<(), SharedError>>;

    /// Sends an awareness message of this node's clients to the other nodes
    /// serving the chart. Presence is ephemeral: dropped rather than queued
    /// when the log is slow or away.
    fn publish_presence(&self, chart: &str, message: Bytes);

    /// Starts following a chart: entries after `after`, and other nodes'
    /// presence, go to `feed` until the returned guard is dropped. Once
    /// listening, it asks the other nodes for their clients' presence
    /// (they see [`Feed::PresenceQuery`]). A follower that loses its
    /// connection reconnects and resumes from the last position it
    /// delivered.
    fn follow(&self, chart: &str, after: LogPos, feed: mpsc::Sender<Feed>) -> DropGuard;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_print_and_order_like_stream_ids() {
        let a: LogPos = "1700000000000-5".parse().unwrap();
        let b: LogPos = "1700000000000-12".parse().unwrap();
        let c: LogPos = "1700000000001-0".parse().unwrap();
        assert!(a < b && b < c, "numeric, not lexical, order");
        assert_eq!(b.to_string(), "1700000000000-12");
        for bad in ["", "12", "a-1", "1-", "-1", "1-2-3"] {
            assert!(bad.parse::<LogPos>().is_err(), "{bad:?} accepted");
        }
    }
}
