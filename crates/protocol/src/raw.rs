//! Reading a message's type without decoding its payload.
//!
//! [`FrameDecoder`](crate::FrameDecoder) decodes state vectors and awareness
//! into owned values, which is what a server must do before acting on them. A
//! peer that only routes on the type (the load generator reads every delivery
//! of a benchmark this way) needs neither the values nor their allocations:
//! it gets the payload as a slice of the message it already holds.

use yrs::encoding::read::{Cursor, Read};

use crate::{ProtocolError, MSG_AWARENESS, MSG_SYNC, SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE};

/// The first message of a frame, its payload borrowed and not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawMessage<'a> {
    /// A v1 state vector.
    SyncStep1(&'a [u8]),
    /// A v1 update.
    SyncStep2(&'a [u8]),
    /// A v1 update.
    Update(&'a [u8]),
    /// A v1 awareness update.
    Awareness(&'a [u8]),
    /// Any other message type (auth, query awareness, unknown).
    Other(u64),
}

/// Reads the type of the first message in `frame` and borrows its payload.
pub fn peek_message(frame: &[u8]) -> Result<RawMessage<'_>, ProtocolError> {
    let mut cursor = Cursor::new(frame);
    let mut var = |what| {
        cursor
            .read_var::<u64>()
            .map_err(|_| ProtocolError::Truncated(what))
    };
    let kind = var("message type")?;
    let sync = match kind {
        MSG_SYNC => Some(var("sync type")?),
        MSG_AWARENESS => None,
        other => return Ok(RawMessage::Other(other)),
    };
    let what = match sync {
        None => "awareness",
        Some(SYNC_STEP1) => "state vector",
        Some(SYNC_STEP2) => "sync step 2",
        Some(SYNC_UPDATE) => "update",
        Some(other) => return Err(ProtocolError::UnknownSyncType(other)),
    };
    let len = var(what)?;
    let start = cursor.next;
    let payload = usize::try_from(len)
        .ok()
        .and_then(|len| frame.get(start..start.checked_add(len)?))
        .ok_or(ProtocolError::Truncated(what))?;
    Ok(match sync {
        None => RawMessage::Awareness(payload),
        Some(SYNC_STEP1) => RawMessage::SyncStep1(payload),
        Some(SYNC_STEP2) => RawMessage::SyncStep2(payload),
        _ => RawMessage::Update(payload),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode_awareness, encode_query_awareness, encode_sync_step1};
    use crate::{encode_sync_step2, encode_update};
    use std::collections::HashMap;
    use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
    use yrs::updates::encoder::Encode;
    use yrs::{ClientID, StateVector};

    #[test]
    fn peeks_what_the_encoders_write() {
        let update = vec![1, 2, 3];
        assert_eq!(
            peek_message(&encode_update(update.clone())),
            Ok(RawMessage::Update(&update))
        );
        assert_eq!(
            peek_message(&encode_sync_step2(update.clone())),
            Ok(RawMessage::SyncStep2(&update))
        );
        let sv = StateVector::default();
        assert_eq!(
            peek_message(&encode_sync_step1(&sv)),
            Ok(RawMessage::SyncStep1(&sv.encode_v1()))
        );
        let mut clients = HashMap::new();
        clients.insert(
            ClientID::new(5),
            AwarenessUpdateEntry {
                clock: 3,
                json: "{}".into(),
            },
        );
        let awareness = AwarenessUpdate { clients };
        assert_eq!(
            peek_message(&encode_awareness(awareness.clone())),
            Ok(RawMessage::Awareness(&awareness.encode_v1()))
        );
        assert_eq!(
            peek_message(&encode_query_awareness()),
            Ok(RawMessage::Other(crate::MSG_QUERY_AWARENESS))
        );
    }

    #[test]
    fn short_or_unknown_messages_are_errors() {
        let frame = encode_update(vec![1, 2, 3]);
        assert_eq!(
            peek_message(&frame[..frame.len() - 1]),
            Err(ProtocolError::Truncated("update"))
        );
        assert_eq!(
            peek_message(&[]),
            Err(ProtocolError::Truncated("message type"))
        );
        assert_eq!(
            peek_message(&[0, 9, 0]),
            Err(ProtocolError::UnknownSyncType(9))
        );
        // A declared length near u64::MAX must not wrap around.
        let huge = [
            0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert_eq!(peek_message(&huge), Err(ProtocolError::Truncated("update")));
    }
}
