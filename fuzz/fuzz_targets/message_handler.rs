//! Fuzz target for the hub's message path: one input is one WebSocket frame.
//! It is decoded the way a chart actor decodes it and every update is
//! integrated into a Doc with `easel_hub::chart::integrate`. Invariants: no
//! panic escapes, no pending state is kept, the Doc stays encodable.
//!
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run message_handler corpus/message_handler`
#![no_main]

use bytes::Bytes;
use easel_hub::chart::{integrate, Integrated};
use easel_protocol::{FrameDecoder, Message};
use libfuzzer_sys::fuzz_target;
use yrs::{Doc, ReadTxn, StateVector, Transact};

fuzz_target!(|data: &[u8]| {
    let frame = Bytes::copy_from_slice(data);
    let doc = Doc::new();
    for message in FrameDecoder::new(&frame).flatten() {
        match message {
            Message::Update(u) | Message::SyncStep2(u) => {
                if integrate(&doc, &u) == Integrated::Panicked {
                    return; // the actor reloads the chart from the store
                }
            }
            Message::SyncStep1(sv) => {
                let _ = doc.transact().encode_state_as_update_v1(&sv);
            }
            _ => {}
        }
        let txn = doc.transact();
        assert!(!txn.has_missing_updates(), "pending state kept");
        let _ = txn.encode_state_as_update_v1(&StateVector::default());
    }
});
