//! The y-websocket wire format: bytes in, typed messages out, and back.
//!
//! Every Yjs client (the npm `y-websocket` provider, pycrdt, yrs) frames its
//! messages the way `y-protocols` defines them: a varUint message type, then a
//! payload. This crate is the only place in Easel that knows those bytes. The
//! hub above it sees [`Message`] values; nothing below it sees sockets.
//!
//! Why not `yrs::sync::MessageReader`? It treats a truncated message as the end
//! of input, so a hostile frame can hide errors. We decode one message at a time
//! and report every failure as a [`ProtocolError`] the hub can count. Declared
//! element counts are checked against the bytes that are actually left before
//! yrs gets to reserve memory for them (for updates, every count at every
//! level: [`check_update`]), so a few bytes cannot make the server allocate
//! gigabytes. Encoding is delegated to yrs, which has no such hazard.

mod check;

pub use check::{check_update, MAX_ANY_DEPTH};

use bytes::Bytes;
use yrs::encoding::read::{Cursor, Read};
use yrs::sync::awareness::AwarenessUpdate;
use yrs::sync::{Message as YMessage, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::StateVector;

/// y-protocols message type tags.
pub const MSG_SYNC: u64 = 0;
pub const MSG_AWARENESS: u64 = 1;
pub const MSG_AUTH: u64 = 2;
pub const MSG_QUERY_AWARENESS: u64 = 3;

/// Sync sub-message tags.
pub const SYNC_STEP1: u64 = 0;
pub const SYNC_STEP2: u64 = 1;
pub const SYNC_UPDATE: u64 = 2;

/// One decoded y-websocket message.
///
/// Updates are kept as the client's raw v1 bytes: the hub applies them to its
/// Doc and, when they integrate cleanly, stores exactly those bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// "Here is what I have; send me what I lack."
    SyncStep1(StateVector),
    /// The answer to a step 1: everything the asker lacked (a v1 update).
    SyncStep2(Bytes),
    /// An incremental v1 update.
    Update(Bytes),
    /// Presence: one or more clients' JSON states with their clocks.
    Awareness(AwarenessUpdate),
    /// Auth messages flow server -> client only; one from a client is ignored.
    Auth,
    /// "Send me every awareness state you know."
    QueryAwareness,
    /// A message type this server does not know. Ignored, never fatal: future
    /// clients may speak more than we do.
    Unknown(u64),
}

/// Why a message could not be decoded. The hub counts these per connection.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("message truncated: {0}")]
    Truncated(&'static str),
    #[error("unknown sync message type {0}")]
    UnknownSyncType(u64),
    #[error("{what} declares {declared} entries but only {available} bytes remain")]
    CountTooLarge {
        what: &'static str,
        declared: u64,
        available: usize,
    },
    #[error("malformed {0}")]
    Malformed(&'static str),
}

/// Decodes the messages of one inbound WebSocket frame, one at a time.
///
/// A frame may carry several messages back to back (older clients batch them).
/// Iteration stops after the first error, because the rest of the frame can no
/// longer be framed reliably.
pub struct FrameDecoder<'a> {
    cursor: Cursor<'a>,
    frame: &'a Bytes,
    failed: bool,
}

impl<'a> FrameDecoder<'a> {
    pub fn new(frame: &'a Bytes) -> Self {
        FrameDecoder {
            cursor: Cursor::new(frame.as_ref()),
            frame,
            failed: false,
        }
    }

    fn remaining(&self) -> usize {
        self.cursor.buf.len() - self.cursor.next
    }

    fn read_var(&mut self, what: &'static str) -> Result<u64, ProtocolError> {
        self.cursor
            .read_var::<u64>()
            .map_err(|_| ProtocolError::Truncated(what))
    }

    /// Reads a length-prefixed payload as a zero-copy slice of the frame.
    fn read_payload(&mut self, what: &'static str) -> Result<Bytes, ProtocolError> {
        let len = self.read_var(what)?;
        if len > self.remaining() as u64 {
            return Err(ProtocolError::Truncated(what));
        }
        let start = self.cursor.next;
        let end = start + len as usize;
        self.cursor.next = end;
        Ok(self.frame.slice(start..end))
    }

    fn decode_one(&mut self) -> Result<Message, ProtocolError> {
        match self.read_var("message type")? {
            MSG_SYNC => match self.read_var("sync type")? {
                SYNC_STEP1 => {
                    let sv = self.read_payload("state vector")?;
                    decode_state_vector(&sv).map(Message::SyncStep1)
                }
                SYNC_STEP2 => {
                    let update = self.read_payload("sync step 2")?;
                    check_update(&update)?;
                    Ok(Message::SyncStep2(update))
                }
                SYNC_UPDATE => {
                    let update = self.read_payload("update")?;
                    check_update(&update)?;
                    Ok(Message::Update(update))
                }
                other => Err(ProtocolError::UnknownSyncType(other)),
            },
            MSG_AWARENESS => {
                let payload = self.read_payload("awareness")?;
                decode_awareness(&payload).map(Message::Awareness)
            }
            MSG_AUTH => {
                // Auth payloads are server -> client; skip whatever the client sent.
                self.cursor.next = self.cursor.buf.len();
                Ok(Message::Auth)
            }
            MSG_QUERY_AWARENESS => Ok(Message::QueryAwareness),
            other => {
                // We cannot know an unknown message's length, so it ends the frame.
                self.cursor.next = self.cursor.buf.len();
                Ok(Message::Unknown(other))
            }
        }
    }
}

impl Iterator for FrameDecoder<'_> {
    type Item = Result<Message, ProtocolError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || !self.cursor.has_content() {
            return None;
        }
        let result = self.decode_one();
        if result.is_err() {
            self.failed = true;
        }
        Some(result)
    }
}

/// Reads the leading count of a payload and refuses it when the payload could
/// not possibly hold that many entries of `min_entry_bytes` each.
fn check_count(
    payload: &[u8],
    what: &'static str,
    min_entry_bytes: usize,
) -> Result<(), ProtocolError> {
    let mut cursor = Cursor::new(payload);
    let declared = cursor
        .read_var::<u64>()
        .map_err(|_| ProtocolError::Truncated(what))?;
    let available = payload.len() - cursor.next;
    if declared.saturating_mul(min_entry_bytes as u64) > available as u64 {
        return Err(ProtocolError::CountTooLarge {
            what,
            declared,
            available,
        });
    }
    Ok(())
}

/// A state vector entry is a client id and a clock: at least two bytes.
pub fn decode_state_vector(payload: &[u8]) -> Result<StateVector, ProtocolError> {
    check_count(payload, "state vector", 2)?;
    no_panic("state vector", || StateVector::decode_v1(payload))
}

/// An awareness entry is a client id, a clock and a string length: three bytes.
pub fn decode_awareness(payload: &[u8]) -> Result<AwarenessUpdate, ProtocolError> {
    check_count(payload, "awareness update", 3)?;
    no_panic("awareness update", || AwarenessUpdate::decode_v1(payload))
}

/// Runs a yrs decoder, turning a panic into a malformed-message error: yrs
/// 0.28 asserts (panics) on a client id above 2^53 in awareness updates and
/// state vectors (found by fuzzing), and this decoding runs in the chart
/// actor outside its `catch_unwind`, where a panic would kill the chart.
fn no_panic<T, E>(
    what: &'static str,
    decode: impl FnOnce() -> Result<T, E>,
) -> Result<T, ProtocolError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) | Err(_) => Err(ProtocolError::Malformed(what)),
    }
}

fn encode(message: YMessage) -> Bytes {
    Bytes::from(message.encode_v1())
}

pub fn encode_sync_step1(sv: &StateVector) -> Bytes {
    encode(YMessage::Sync(SyncMessage::SyncStep1(sv.clone())))
}

pub fn encode_sync_step2(update: Vec<u8>) -> Bytes {
    encode(YMessage::Sync(SyncMessage::SyncStep2(update)))
}

pub fn encode_update(update: Vec<u8>) -> Bytes {
    encode(YMessage::Sync(SyncMessage::Update(update)))
}

pub fn encode_awareness(update: AwarenessUpdate) -> Bytes {
    encode(YMessage::Awareness(update))
}

/// `auth` / `permission denied` with a human-readable reason; y-websocket
/// shows the reason to the application.
pub fn encode_permission_denied(reason: &str) -> Bytes {
    encode(YMessage::Auth(Some(reason.to_owned())))
}

pub fn encode_query_awareness() -> Bytes {
    encode(YMessage::AwarenessQuery)
}

mod raw;
pub use raw::{peek_message, RawMessage};

#[cfg(test)]
mod tests {
    #[test]
    fn oversized_client_ids_are_malformed_not_a_panic() {
        // Found by the message_handler fuzzer: awareness for client id
        // 2^63-ish made yrs assert inside the chart actor.
        let frame = Bytes::from_static(&[
            0x01, 0x0c, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 0x22, 0x3a,
            0x08, 0x7d,
        ]);
        let got: Vec<_> = FrameDecoder::new(&frame).collect();
        assert!(
            matches!(got.as_slice(), [Err(ProtocolError::Malformed(_))]),
            "{got:?}"
        );
        let sv = [
            0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 0x01,
        ];
        assert!(decode_state_vector(&sv).is_err());
    }

    use super::*;
    use std::collections::HashMap;
    use yrs::sync::awareness::AwarenessUpdateEntry;
    use yrs::{ClientID, Doc, GetString, ReadTxn, Text, Transact};

    fn decode_all(frame: &[u8]) -> Vec<Result<Message, ProtocolError>> {
        let frame = Bytes::copy_from_slice(frame);
        FrameDecoder::new(&frame).collect()
    }

    fn an_update() -> Vec<u8> {
        let doc = Doc::with_client_id(7);
        let text = doc.get_or_insert_text("t");
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, "hello");
        txn.encode_update_v1()
    }

    #[test]
    fn round_trips_every_message_kind() {
        let update = an_update();
        let sv = Doc::new().transact().state_vector();
        let mut clients = HashMap::new();
        clients.insert(
            ClientID::new(5),
            AwarenessUpdateEntry {
                clock: 3,
                json: r#"{"user":{"name":"Ana"}}"#.into(),
            },
        );
        let awareness = AwarenessUpdate { clients };

        let cases = vec![
            (encode_sync_step1(&sv), Message::SyncStep1(sv.clone())),
            (
                encode_sync_step2(update.clone()),
                Message::SyncStep2(update.clone().into()),
            ),
            (
                encode_update(update.clone()),
                Message::Update(update.clone().into()),
            ),
            (
                encode_awareness(awareness.clone()),
                Message::Awareness(awareness),
            ),
            (encode_query_awareness(), Message::QueryAwareness),
        ];
        for (bytes, expected) in cases {
            assert_eq!(decode_all(&bytes), vec![Ok(expected)]);
        }
    }

    #[test]
    fn several_messages_in_one_frame() {
        let update = an_update();
        let mut frame = encode_update(update.clone()).to_vec();
        frame.extend_from_slice(&encode_query_awareness());
        frame.extend_from_slice(&encode_update(update.clone()));
        let got = decode_all(&frame);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], Ok(Message::QueryAwareness));
        let Ok(Message::Update(u)) = &got[2] else {
            panic!("expected update, got {got:?}")
        };
        let doc = Doc::new();
        doc.transact_mut()
            .apply_update(yrs::Update::decode_v1(u).unwrap())
            .unwrap();
        let text = doc.get_or_insert_text("t");
        assert_eq!(text.get_string(&doc.transact()), "hello");
    }

    #[test]
    fn truncated_message_is_an_error_not_end_of_input() {
        let frame = encode_update(an_update());
        let got = decode_all(&frame[..frame.len() - 2]);
        assert_eq!(got, vec![Err(ProtocolError::Truncated("update"))]);
    }

    #[test]
    fn huge_declared_counts_are_refused_before_yrs_sees_them() {
        // sync step 1 whose state vector claims 2^32-1 entries in 5 bytes.
        let frame = [0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0x0f, 0];
        let got = decode_all(&frame);
        assert!(matches!(
            got[0],
            Err(ProtocolError::CountTooLarge {
                what: "state vector",
                ..
            })
        ));
        // an update that claims a million clients.
        let frame = [0, 2, 4, 0xc0, 0x84, 0x3d, 0];
        assert!(matches!(
            decode_all(&frame)[0],
            Err(ProtocolError::CountTooLarge {
                what: "update clients",
                ..
            })
        ));
        // awareness with a huge count.
        let frame = [1, 4, 0xff, 0xff, 0xff, 0x0f];
        assert!(matches!(
            decode_all(&frame)[0],
            Err(ProtocolError::CountTooLarge { .. })
        ));
    }

    #[test]
    fn unknown_types_are_reported_not_fatal() {
        assert_eq!(decode_all(&[9, 1, 2, 3]), vec![Ok(Message::Unknown(9))]);
        assert_eq!(
            decode_all(&[0, 7, 0]),
            vec![Err(ProtocolError::UnknownSyncType(7))]
        );
        assert_eq!(
            decode_all(&[2, 0, 3, b'a', b'b', b'c']),
            vec![Ok(Message::Auth)]
        );
    }

    #[test]
    fn empty_frame_has_no_messages() {
        assert!(decode_all(&[]).is_empty());
    }
}
