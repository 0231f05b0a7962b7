//! Presence across nodes over Redis pub/sub: one subscriber connection per
//! node, subscribed to the channels of the charts this node has loaded, and
//! one publisher task.
//!
//! Presence is ephemeral by design (y-websocket clients renew their state
//! every 15 s and every node expires what is not renewed), so nothing here
//! is stored or retried: a message that cannot be published now is dropped,
//! and a node that (re)subscribes asks the others to publish their clients'
//! states once (`q`), which covers joins and Redis restarts alike.
//!
//! Payload: this node's id (16 hex digits), one kind byte, the y-websocket
//! awareness message. A node ignores its own messages.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use easel_hub::shared::Feed;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::key;

/// Subscription changes waiting for the router, and presence messages
/// waiting to be published; past these, followers wait and presence drops.
const COMMAND_QUEUE: usize = 1024;
const PUBLISH_QUEUE: usize = 4096;
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// An awareness message of the sender's clients.
    State,
    /// "Send me your clients' states."
    Query,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::State => b'p',
            Kind::Query => b'q',
        }
    }
}

enum Command {
    Subscribe {
        channel: String,
        feed: mpsc::Sender<Feed>,
        /// Tells this subscription from a later one of the same chart.
        cancel: CancellationToken,
    },
    Unsubscribe {
        channel: String,
        cancel: CancellationToken,
    },
}

/// The node's presence fan-out. Dropping every clone stops both tasks.
#[derive(Clone)]
pub(crate) struct Presence {
    commands: mpsc::Sender<Command>,
    publish: mpsc::Sender<(String, Vec<u8>)>,
    node: Arc<str>,
}

impl Presence {
    pub(crate) fn start(
        client: redis::Client,
        conn: ConnectionManager,
        node: Arc<str>,
    ) -> Presence {
        let (commands, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let (publish, publish_rx) = mpsc::channel(PUBLISH_QUEUE);
        tokio::spawn(publisher(conn, publish_rx));
        tokio::spawn(router(client, node.clone(), commands_rx, publish.clone()));
        Presence {
            commands,
            publish,
            node,
        }
    }

    pub(crate) fn publish(&self, chart: &str, kind: Kind, message: &[u8]) {
        let payload = payload(&self.node, kind, message);
        if self
            .publish
            .try_send((key(chart, "presence"), payload))
            .is_err()
        {
            tracing::debug!(chart, "presence publish queue full; dropped");
        }
    }

    /// Routes the chart's presence to `feed` until `cancel` fires.
    pub(crate) fn subscribe(
        &self,
        chart: &str,
        feed: mpsc::Sender<Feed>,
        cancel: CancellationToken,
    ) {
        let channel = key(chart, "presence");
        let commands = self.commands.clone();
        tokio::spawn(async move {
            let subscribe = Command::Subscribe {
                channel: channel.clone(),
                feed,
                cancel: cancel.clone(),
            };
            if commands.send(subscribe).await.is_err() {
                return;
            }
            cancel.cancelled().await;
            let _ = commands
                .send(Command::Unsubscribe { channel, cancel })
                .await;
        });
    }
}

fn payload(node: &str, kind: Kind, message: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(node.len() + 1 + message.len());
    p.extend_from_slice(node.as_bytes());
    p.push(kind.byte());
    p.extend_from_slice(message);
    p
}

async fn publisher(mut conn: ConnectionManager, mut rx: mpsc::Receiver<(String, Vec<u8>)>) {
    while let Some((channel, payload)) = rx.recv().await {
        let sent: Result<i64, _> = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(payload)
            .query_async(&mut conn)
            .await;
        if let Err(e) = sent {
            tracing::debug!(error = %e, channel, "presence not published");
        }
    }
}

/// Owns the subscriber connection; reconnects and resubscribes on failure.
async fn router(
    client: redis::Client,
    node: Arc<str>,
    mut commands: mpsc::Receiver<Command>,
    publish: mpsc::Sender<(String, Vec<u8>)>,
) {
    let mut routes: HashMap<String, (mpsc::Sender<Feed>, CancellationToken)> = HashMap::new();
    let query = |channel: &str| {
        let _ = publish.try_send((channel.to_owned(), payload(&node, Kind::Query, &[])));
    };
    let mut backoff = MIN_BACKOFF;
    loop {
        let (mut sink, mut stream) = match client.get_async_pubsub().await {
            Ok(pubsub) => pubsub.split(),
            Err(e) => {
                tracing::warn!(error = %e, "presence: cannot reach Redis; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        routes.retain(|_, (feed, cancel)| !feed.is_closed() && !cancel.is_cancelled());
        let channels: Vec<String> = routes.keys().cloned().collect();
        if !channels.is_empty() {
            if let Err(e) = sink.subscribe(&channels).await {
                tracing::warn!(error = %e, "presence: resubscribing failed; retrying");
                tokio::time::sleep(backoff).await;
                continue;
            }
            channels.iter().for_each(|c| query(c));
        }
        backoff = MIN_BACKOFF;
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    None => return,
                    Some(Command::Subscribe { channel, feed, cancel }) => {
                        let fresh = routes.insert(channel.clone(), (feed, cancel)).is_none();
                        if fresh && sink.subscribe(&channel).await.is_err() {
                            break;
                        }
                        // After the subscription is confirmed, so the
                        // answers cannot arrive before we listen.
                        query(&channel);
                    }
                    Some(Command::Unsubscribe { channel, cancel }) => {
                        // Only if no newer subscription of the chart took over.
                        if routes.get(&channel).is_some_and(|(_, c)| c.is_cancelled() && cancel.is_cancelled()) {
                            routes.remove(&channel);
                            if sink.unsubscribe(&channel).await.is_err() {
                                break;
                            }
                        }
                    }
                },
                message = stream.next() => {
                    let Some(message) = message else { break };
                    let payload = message.get_payload_bytes();
                    let Some(route) = routes.get(message.get_channel_name()) else { continue };
                    if payload.len() <= node.len() || payload.starts_with(node.as_bytes()) {
                        continue;
                    }
                    let feed = match payload[node.len()] {
                        b'p' => Feed::Presence(Bytes::copy_from_slice(&payload[node.len() + 1..])),
                        b'q' => Feed::PresenceQuery,
                        _ => continue,
                    };
                    // Presence is ephemeral: a busy chart drops it.
                    let _ = route.0.try_send(feed);
                }
            }
        }
        tracing::warn!("presence: subscriber connection lost; reconnecting");
        tokio::time::sleep(backoff).await;
    }
}
