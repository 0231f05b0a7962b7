//! Fan-out: the batch's output handed to the connections' bounded queues,
//! only after the batch is durable ([`Chart::deliver`]). A broadcast is
//! encoded once and shared (`Bytes`); a connection whose queue is full is
//! closed (it resyncs on reconnect) rather than slowing the chart.

use std::time::Instant;

use easel_protocol as protocol;
use tokio::sync::mpsc;

use super::doc::merge_groups;
use super::log::ChartLog;
use super::{Chart, Conn, Out};
use crate::metrics::Metrics;
use crate::{close, CloseReason, ConnId};

impl<L: ChartLog> Chart<L> {
    /// Hands the batch's messages to the connections.
    pub(super) fn send_out(&mut self) {
        self.step2 = None;
        if let Some(held) = self
            .presence_out
            .take(!self.updates.is_empty(), Instant::now())
        {
            self.out.push(Out::All(protocol::encode_awareness(held)));
        }
        // Merged into messages of at most half a frame, so a big burst never
        // becomes one message larger than clients accept. Locally the batch
        // was merged when it was stored; a batch of one entry (nearly all)
        // comes back unchanged.
        let limit = (self.hub.config().max_frame_bytes / 2).max(1);
        for update in merge_groups(std::mem::take(&mut self.updates), limit) {
            self.out
                .push(Out::All(protocol::encode_update(update.to_vec())));
        }
        let metrics = self.hub.metrics().clone();
        let mut too_slow = Vec::new();
        // Counted here and added once: two shared atomics per delivery
        // bounced a cache line between the cores on every message.
        let (mut sent, mut sent_bytes) = (0u64, 0u64);
        for out in std::mem::take(&mut self.out) {
            let (only, msg) = match out {
                Out::To(conn, msg) => (Some(conn), msg),
                Out::All(msg) => (None, msg),
            };
            let mut deliver = |conn: ConnId, c: &Conn| match c.outbound.try_send(msg.clone()) {
                Ok(()) => {
                    sent += 1;
                    sent_bytes += msg.len() as u64;
                }
                Err(mpsc::error::TrySendError::Full(_)) => too_slow.push(conn),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            };
            match only {
                Some(conn) => {
                    if let Some(c) = self.conns.get(&conn) {
                        deliver(conn, c);
                    }
                }
                None => {
                    for (&conn, c) in &self.conns {
                        deliver(conn, c);
                    }
                }
            }
        }
        Metrics::add(&metrics.messages_out, sent);
        Metrics::add(&metrics.bytes_out, sent_bytes);
        too_slow.sort_unstable();
        too_slow.dedup();
        for conn in too_slow {
            Metrics::inc(&metrics.queue_full_disconnects);
            self.kill(
                conn,
                CloseReason::new(
                    close::TRY_AGAIN,
                    "too slow: outbound queue full; reconnect to resync",
                ),
            );
        }
        if !self.out.is_empty() {
            // Presence removals from the kills above.
            self.send_out();
        }
    }
}
