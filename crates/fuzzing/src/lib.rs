//! The fuzzers' entry points, in the main workspace so that `cargo test`
//! replays the checked-in corpus (`fuzz/corpus/<target>/`) through exactly
//! the code cargo-fuzz runs (`fuzz/fuzz_targets/*.rs` are one-line calls
//! into this crate). Each entry point panics when an invariant breaks; any
//! other panic escaping the server code is a bug too.
//!
//! - [`message_handler`]: one WebSocket frame through the chart actor's
//!   decode + integrate path.
//! - [`update_check`]: one v1 update through the protocol's structural
//!   check and yrs' decoder.
//! - [`log_replay`]: a stored snapshot and log, replayed as a chart load.
//! - [`http_body`]: one JSON body sent to one of the API's body-taking
//!   routes, through the real router with a real store.

#[cfg(feature = "http")]
mod http;

use bytes::Bytes;
use easel_hub::chart::{integrate, replay, Integrated};
use easel_protocol::{FrameDecoder, Message};
use easel_store::StoredChart;
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

#[cfg(feature = "http")]
pub use http::{http_body, BODY_ROUTES};

/// For the cargo-fuzz targets: libfuzzer-sys installs a panic hook that
/// aborts on *every* panic, even one the server catches on purpose (yrs
/// panics inside `integrate`'s `catch_unwind`, after which the actor
/// reloads the chart). Restoring the default hook keeps those as the
/// server sees them; a panic that escapes an entry point still reaches
/// libfuzzer-sys's own `catch_unwind` and is reported as a crash.
pub fn init_for_libfuzzer() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = std::panic::take_hook();
    });
}

/// One frame, decoded as a chart actor does and every update integrated.
/// Invariants: no panic escapes, no pending state is kept, the Doc stays
/// encodable.
pub fn message_handler(data: &[u8]) {
    let frame = Bytes::copy_from_slice(data);
    let doc = Doc::new();
    for message in FrameDecoder::new(&frame).flatten() {
        match message {
            // After a panic the actor reloads the chart from the store.
            Message::Update(u) | Message::SyncStep2(u)
                if integrate(&doc, &u) == Integrated::Panicked =>
            {
                return;
            }
            // The actor encodes step 2 answers inside `catch_unwind` too.
            Message::SyncStep1(sv) => {
                let encoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    doc.transact().encode_state_as_update_v1(&sv)
                }));
                if encoded.is_err() {
                    return;
                }
            }
            _ => {}
        }
        let txn = doc.transact();
        assert!(!txn.has_missing_updates(), "pending state kept");
        let _ = txn.encode_state_as_update_v1(&StateVector::default());
    }
}

/// One v1 update through `check_update` and then yrs' decoder. Invariant:
/// what the check accepts, yrs decodes without a panic and without an error
/// other than a JSON embed's number out of range (the
/// check walks yrs' grammar, not a looser one, so the counts it bounded are
/// the ones yrs reserves for).
pub fn update_check(data: &[u8]) {
    if easel_protocol::check_update(data).is_err() {
        return;
    }
    match std::panic::catch_unwind(|| Update::decode_v1(data).map(|_| ())) {
        Ok(Ok(())) => {}
        // The check validates JSON embeds' syntax, not the range of their
        // numbers (yrs refuses 1e400 with an error): no hazard, so allowed.
        Ok(Err(yrs::encoding::read::Error::InvalidJSON(_))) => {}
        Ok(Err(e)) => panic!("check_update accepted an update yrs refuses: {e}"),
        Err(_) => panic!("yrs panicked decoding an update check_update accepted"),
    }
}

/// Splits fuzz input into a stored chart: byte 0 bit 0 says whether the
/// first entry is a snapshot; then entries as a u16 (big-endian) length and
/// that many bytes.
pub fn stored_chart(data: &[u8]) -> StoredChart {
    let mut stored = StoredChart::default();
    let Some((&flags, mut rest)) = data.split_first() else {
        return stored;
    };
    let mut entries = Vec::new();
    while rest.len() >= 2 {
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        let body = &rest[2..];
        let take = len.min(body.len());
        entries.push(body[..take].to_vec());
        rest = &body[take..];
    }
    if flags & 1 == 1 && !entries.is_empty() {
        stored.snapshot = Some(entries.remove(0));
    }
    stored.next_seq = entries.len() as u64;
    stored.updates = entries;
    stored
}

/// The inverse of [`stored_chart`], for writing seeds.
pub fn encode_stored_chart(snapshot: Option<&[u8]>, updates: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![u8::from(snapshot.is_some())];
    for entry in snapshot
        .into_iter()
        .chain(updates.iter().map(Vec::as_slice))
    {
        let len = entry.len().min(u16::MAX as usize);
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.extend_from_slice(&entry[..len]);
    }
    out
}

/// A chart load from damaged or hostile stored bytes. Invariants: no panic
/// escapes; a load either fails or yields a Doc with nothing pending whose
/// full state, replayed as a snapshot alone, loads to the same state.
pub fn log_replay(data: &[u8]) {
    let stored = stored_chart(data);
    let Ok(doc) = replay(&stored) else {
        return;
    };
    let txn = doc.transact();
    assert!(!txn.has_missing_updates(), "a load kept pending state");
    let full = txn.encode_state_as_update_v1(&StateVector::default());
    let again = replay(&StoredChart {
        snapshot: Some(full.clone()),
        updates: Vec::new(),
        next_seq: 0,
    })
    .expect("a loaded chart's own snapshot must load");
    assert_eq!(
        again.transact().state_vector(),
        txn.state_vector(),
        "snapshot of a loaded chart loads to a different state"
    );
    assert!(Update::decode_v1(&full).is_ok());
}
