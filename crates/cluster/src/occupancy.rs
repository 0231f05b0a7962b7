//! People per chart across the cluster: each node tells the others how
//! many connections each of its charts has, so the agenda board's counts
//! (`Hub::present`) are the cluster's, not the answering node's.
//!
//! Counts are ephemeral like presence, so they ride the presence fan-out
//! ([`crate::presence`]) on one reserved channel instead of being stored:
//! a node publishes its whole table when it changes (coalesced) and as a
//! heartbeat every third of `--awareness-timeout-secs`; the others keep
//! each node's latest table and drop it once it was not renewed for the
//! whole timeout (a node that died), the same expiry awareness states get.
//! A node that (re)subscribes asks the others for their tables, as a chart
//! does for presence.
//!
//! Message (after the presence header): the sender's node id on the first
//! line, then one `chart_id count` line per chart with connections.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use easel_hub::shared::Feed;
use easel_hub::Hub;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::presence::{Kind, Presence};

/// The reserved "chart" whose presence channel carries the tables. Chart
/// ids cannot contain `:`, so no real chart shares it.
const CHANNEL: &str = "meta:occupancy";
/// A burst of joins and leaves within this is published once.
const COALESCE: Duration = Duration::from_millis(50);

pub(crate) fn spawn(presence: Presence, hub: Hub, node: Arc<str>, shutdown: CancellationToken) {
    let span = tracing::debug_span!("occupancy", node = %node);
    tokio::spawn(tracing::Instrument::instrument(
        run(presence, hub, node, shutdown),
        span,
    ));
}

async fn run(presence: Presence, hub: Hub, node: Arc<str>, shutdown: CancellationToken) {
    let expiry = hub.config().awareness_timeout.max(Duration::from_secs(1));
    let (tx, mut rx) = mpsc::channel(64);
    presence.subscribe(CHANNEL, tx, shutdown.child_token());
    let publish = |counts: &HashMap<String, usize>| {
        presence.publish(CHANNEL, Kind::State, &encode(&node, counts));
    };
    let mut changes = hub.watch_presence();
    let mut sent: Option<HashMap<String, usize>> = None;
    let mut seen: HashMap<String, Instant> = HashMap::new();
    let mut heartbeat = tokio::time::interval(expiry / 3);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
                tokio::time::sleep(COALESCE).await;
                changes.mark_unchanged();
                // Other nodes' tables wake this too; only our own matter.
                let here = hub.present_here();
                if sent.as_ref() != Some(&here) {
                    publish(&here);
                    sent = Some(here);
                }
            }
            _ = heartbeat.tick() => {
                let here = hub.present_here();
                publish(&here);
                sent = Some(here);
                let now = Instant::now();
                seen.retain(|other, at| {
                    let alive = now.duration_since(*at) < expiry;
                    if !alive {
                        tracing::debug!(other = %other, "node's connection counts expired");
                        hub.set_present_elsewhere(other, None);
                    }
                    alive
                });
            }
            feed = rx.recv() => match feed {
                None => break,
                Some(Feed::Presence(message)) => match decode(&message) {
                    Some((other, counts)) if *other != *node => {
                        seen.insert(other.clone(), Instant::now());
                        hub.set_present_elsewhere(&other, Some(counts));
                    }
                    Some(_) => {}
                    None => tracing::debug!("unreadable connection counts; ignored"),
                },
                Some(Feed::PresenceQuery) => publish(&hub.present_here()),
                Some(_) => {}
            },
        }
    }
    // Leaving: the others stop counting this node's connections now
    // rather than after the expiry.
    publish(&HashMap::new());
}

fn encode(node: &str, counts: &HashMap<String, usize>) -> Vec<u8> {
    let mut out = format!("{node}\n");
    for (chart, n) in counts {
        out.push_str(&format!("{chart} {n}\n"));
    }
    out.into_bytes()
}

fn decode(message: &[u8]) -> Option<(String, HashMap<String, usize>)> {
    let text = std::str::from_utf8(message).ok()?;
    let mut lines = text.lines();
    let node = lines.next().filter(|n| !n.is_empty())?.to_owned();
    let mut counts = HashMap::new();
    for line in lines {
        let (chart, n) = line.split_once(' ')?;
        counts.insert(chart.to_owned(), n.parse().ok()?);
    }
    Some((node, counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_round_trip_and_damage_is_refused() {
        let counts = HashMap::from([("c-1".to_owned(), 3), ("c-2".to_owned(), 1)]);
        let (node, back) = decode(&encode("n1", &counts)).unwrap();
        assert_eq!((node.as_str(), back), ("n1", counts));
        let (_, empty) = decode(&encode("n1", &HashMap::new())).unwrap();
        assert!(empty.is_empty());
        for bad in [&b""[..], b"\n", b"n1\nc-1", b"n1\nc-1 x", b"\xff\n"] {
            assert!(decode(bad).is_none(), "{bad:?}");
        }
    }
}
