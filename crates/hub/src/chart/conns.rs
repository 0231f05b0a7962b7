//! A chart's connections: joining and leaving, closing them, and what
//! each inbound message does (sync, updates, presence). Client input is
//! hostile until proven otherwise: an update is integrated without keeping
//! pending state ([`super::doc::integrate`]), a read-only connection's
//! updates are refused with a reason, and too many protocol errors close
//! the connection.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use bytes::Bytes;
use easel_protocol::{self as protocol, FrameDecoder, Message};
use tokio::sync::{mpsc, oneshot};
use yrs::{ReadTxn, Transact};

use super::doc::{integrate, is_empty_update, Integrated};
use super::log::ChartLog;
use super::{Chart, Conn, Out, SESSION_FINAL};
use crate::metrics::Metrics;
use crate::{close, Access, CloseReason, ConnId, ConnInfo, HubError};

impl<L: ChartLog> Chart<L> {
    pub(super) fn join(
        &mut self,
        conn: ConnId,
        info: ConnInfo,
        outbound: mpsc::Sender<Bytes>,
        kill: oneshot::Sender<CloseReason>,
    ) {
        if self.deleting.is_some() {
            let _ = kill.send(CloseReason::new(close::DELETED, "chart deleted"));
            return;
        }
        if self.conns.len() >= self.hub.config().max_clients_per_chart {
            let _ = kill.send(CloseReason::new(
                close::TRY_AGAIN,
                "chart has too many clients",
            ));
            return;
        }
        tracing::debug!(conn_id = conn, access = ?info.access, "join");
        self.conns.insert(
            conn,
            Conn {
                info,
                outbound,
                kill: Some(kill),
                errors: 0,
            },
        );
        // Sync step 1 reveals only a state vector; the content goes out as
        // step 2 in answer to the client's own step 1, after this batch is
        // durable.
        let sv = self.doc.transact().state_vector();
        self.out
            .push(Out::To(conn, protocol::encode_sync_step1(&sv)));
        if let Some(all) = self.presence.full() {
            self.out
                .push(Out::To(conn, protocol::encode_awareness(all)));
        }
    }

    pub(super) fn leave(&mut self, conn: ConnId) {
        if self.conns.remove(&conn).is_some() {
            tracing::debug!(conn_id = conn, "leave");
        }
        if let Some(gone) = self.presence.remove_owner(conn) {
            self.presence_changed(gone);
        }
    }

    pub(super) fn kill(&mut self, conn: ConnId, reason: CloseReason) {
        if let Some(mut c) = self.conns.remove(&conn) {
            tracing::debug!(conn_id = conn, code = reason.code, reason = %reason.reason, "closing connection");
            if let Some(kill) = c.kill.take() {
                let _ = kill.send(reason);
            }
        }
        if let Some(gone) = self.presence.remove_owner(conn) {
            self.presence_changed(gone);
        }
    }

    pub(super) fn close_all(&mut self, reason: CloseReason) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.kill(id, reason.clone());
        }
    }

    pub(super) fn protocol_error(&mut self, conn: ConnId, error: &dyn std::fmt::Display) {
        Metrics::inc(&self.hub.metrics().protocol_errors);
        let max = self.hub.config().max_protocol_errors;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.errors += 1;
        tracing::debug!(conn_id = conn, error = %error, errors = c.errors, "protocol error");
        if c.errors > max {
            self.kill(
                conn,
                CloseReason::new(
                    close::PROTOCOL_ERROR,
                    format!("too many protocol errors (last: {error})"),
                ),
            );
        }
    }

    pub(super) fn frame(&mut self, conn: ConnId, frame: Bytes) {
        let Some((access, link)) = self.conns.get(&conn).map(|c| (c.info.access, c.info.link))
        else {
            return;
        };
        let access = if self.read_only { Access::Read } else { access };
        let refusal = if link == Access::Edit {
            SESSION_FINAL
        } else {
            "read-only: this chart cannot be edited with your link"
        };
        for message in FrameDecoder::new(&frame) {
            if !self.conns.contains_key(&conn) {
                return; // closed by an earlier message of this frame
            }
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    self.protocol_error(conn, &e);
                    return;
                }
            };
            match message {
                Message::SyncStep1(sv) => {
                    if let Some((known, answer)) = &self.step2 {
                        if *known == sv {
                            self.out.push(Out::To(conn, answer.clone()));
                            continue;
                        }
                    }
                    let doc = &self.doc;
                    match catch_unwind(AssertUnwindSafe(|| {
                        doc.transact().encode_state_as_update_v1(&sv)
                    })) {
                        Ok(diff) => {
                            let answer = protocol::encode_sync_step2(diff);
                            self.out.push(Out::To(conn, answer.clone()));
                            self.step2 = Some((sv, answer));
                        }
                        Err(_) => self.panicked(conn),
                    }
                }
                Message::SyncStep2(update) | Message::Update(update) => {
                    if access == Access::Read {
                        if !is_empty_update(&update) {
                            Metrics::inc(&self.hub.metrics().read_only_refusals);
                            self.out
                                .push(Out::To(conn, protocol::encode_permission_denied(refusal)));
                        }
                        continue;
                    }
                    match self.apply(Some(conn), update) {
                        Ok(()) => {}
                        Err(HubError::Refused(reason)) => {
                            self.out
                                .push(Out::To(conn, protocol::encode_permission_denied(&reason)));
                        }
                        Err(e) => self.protocol_error(conn, &e),
                    }
                }
                Message::Awareness(update) => {
                    let max = self.hub.config().max_awareness_bytes;
                    if update.clients.values().any(|e| e.json.len() > max) {
                        self.protocol_error(
                            conn,
                            &format!("awareness state larger than {max} bytes"),
                        );
                        continue;
                    }
                    if let Some(changed) = self.presence.apply(conn, update, Instant::now()) {
                        self.presence_changed(changed);
                    }
                }
                Message::QueryAwareness => {
                    if let Some(all) = self.presence.full() {
                        self.out
                            .push(Out::To(conn, protocol::encode_awareness(all)));
                    }
                }
                Message::Auth => {}
                Message::Unknown(tag) => {
                    tracing::debug!(conn_id = conn, tag, "ignoring unknown message type");
                }
            }
        }
    }

    /// Applies an update (from a connection, or from the server itself when
    /// `conn` is None), appends what integrated to the log, and queues its
    /// broadcast behind this batch's flush.
    pub(super) fn apply(&mut self, conn: Option<ConnId>, bytes: Bytes) -> Result<(), HubError> {
        let max = self.hub.config().max_chart_bytes;
        if self.log.stored_bytes() + bytes.len() > max {
            return Err(HubError::Refused(format!(
                "chart is full (limit {max} bytes)"
            )));
        }
        self.step2 = None;
        let stored: Bytes = match integrate(&self.doc, &bytes) {
            Integrated::Panicked => {
                if let Some(conn) = conn {
                    self.panicked(conn);
                } else {
                    self.reload();
                }
                return Err(HubError::Refused("update crashed the CRDT library".into()));
            }
            Integrated::Rejected(e) => return Err(HubError::Refused(e)),
            Integrated::Nothing => return Ok(()),
            Integrated::NothingButPending => {
                self.resync(conn);
                return Ok(());
            }
            Integrated::All => bytes,
            Integrated::Partial(partial) => {
                self.resync(conn);
                Bytes::from(partial)
            }
        };
        // Appended with the rest of the batch (`Chart::stage`).
        self.log.count(stored.len());
        if let Some(conn) = conn {
            self.writers.push(conn);
        }
        Metrics::inc(&self.hub.metrics().updates_in);
        self.staged.push(stored);
        Ok(())
    }

    /// Appends the batch's applied updates to the local log, merged into
    /// as few entries as [`STORED_MERGE_LIMIT`] allows. Returns false when an
    /// append failed: the Doc was then rebuilt from the store (memory never
    /// runs ahead of disk), the unstored updates are not broadcast, and the
    /// batch's writers are closed to resync.
    /// After an update left something pending, ask its sender for what we
    /// lack (its step 2 will carry the missing dependencies).
    pub(super) fn resync(&mut self, conn: Option<ConnId>) {
        if let Some(conn) = conn {
            let sv = self.doc.transact().state_vector();
            self.out
                .push(Out::To(conn, protocol::encode_sync_step1(&sv)));
        }
    }

    pub(super) fn panicked(&mut self, conn: ConnId) {
        Metrics::inc(&self.hub.metrics().panics_caught);
        tracing::error!(
            conn_id = conn,
            "yrs panicked on this connection's input; reloading chart"
        );
        self.kill(
            conn,
            CloseReason::new(
                close::INTERNAL,
                "message crashed the server's CRDT; reconnect",
            ),
        );
        self.reload();
    }
}
