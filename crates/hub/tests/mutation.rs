//! Mutation test of the message path, run in CI: thousands of mutated
//! y-websocket frames (from real updates, state vectors and awareness) go
//! through the same decode + integrate code the chart actor uses. No panic
//! may escape, no message may leave pending state in the Doc, the Doc must
//! stay encodable, and memory must not jump.
//!
//! `EASEL_MUTATION_ITERS` (default 4000) and `EASEL_MUTATION_SEED` make
//! longer or reproducible runs; the seed is printed.

use bytes::Bytes;
use easel_hub::chart::{integrate, Integrated};
use easel_protocol::{self as protocol, FrameDecoder, Message};
use yrs::{Doc, Map, ReadTxn, StateVector, Text, Transact, XmlFragment};

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let src = Doc::with_client_id(77);
    let text = src.get_or_insert_text("t");
    let map = src.get_or_insert_map("meta");
    let notes = src.get_or_insert_xml_fragment("notes");
    let mut frames = Vec::new();
    for i in 0..6 {
        let mut txn = src.transact_mut();
        text.insert(&mut txn, 0, &format!("hello {i} "));
        map.insert(&mut txn, format!("k{i}"), i as f64);
        let p = notes.push_back(&mut txn, yrs::XmlElementPrelim::empty("paragraph"));
        p.push_back(&mut txn, yrs::XmlTextPrelim::new("para"));
        if i > 2 {
            text.remove_range(&mut txn, 0, 3);
        }
        frames.push(protocol::encode_update(txn.encode_update_v1()).to_vec());
    }
    let full = src
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    frames.push(protocol::encode_sync_step2(full).to_vec());
    frames.push(protocol::encode_sync_step1(&src.transact().state_vector()).to_vec());
    frames.push(vec![
        1, 20, 1, 5, 1, 16, b'{', b'"', b'u', b'"', b':', b'{', b'"', b'n', b'"', b':', b'"', b'a',
        b'"', b'}', b'}', 0,
    ]);
    frames.push(protocol::encode_query_awareness().to_vec());
    frames
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(7) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            2 if !b.is_empty() => b.truncate(rng.below(b.len())),
            3 => {
                // a huge varint somewhere
                let i = rng.below(b.len() + 1);
                b.splice(i..i, [0xff, 0xff, 0xff, 0xff, 0x0f]);
            }
            4 if !b.is_empty() => {
                let i = rng.below(b.len());
                b.remove(i);
            }
            5 => {
                let extra = seed[..rng.below(seed.len() + 1)].to_vec();
                b.extend(extra);
            }
            _ => b.push(rng.next() as u8),
        }
    }
    b
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

#[test]
fn mutated_frames_never_escape_or_poison() {
    let iters: usize = std::env::var("EASEL_MUTATION_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let seed: u64 = std::env::var("EASEL_MUTATION_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x0005_eeda_5e51);
    eprintln!("mutation test: seed {seed}, {iters} iterations");
    // Silence the default panic printout for panics caught inside yrs.
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(seed | 1);
    let seeds = seeds();
    let mut doc = Doc::new();
    let rss_before = rss_kib();
    let (mut decoded, mut errors, mut applied, mut caught) = (0, 0, 0, 0);
    for i in 0..iters {
        let pick = rng.below(seeds.len());
        let frame = Bytes::from(mutate(&mut rng, &seeds[pick]));
        for message in FrameDecoder::new(&frame) {
            let Ok(message) = message else {
                errors += 1;
                continue;
            };
            decoded += 1;
            match message {
                Message::Update(u) | Message::SyncStep2(u) => match integrate(&doc, &u) {
                    Integrated::Panicked => {
                        caught += 1;
                        doc = Doc::new(); // the actor reloads from the store
                    }
                    Integrated::All | Integrated::Partial(_) => applied += 1,
                    _ => {}
                },
                Message::SyncStep1(sv) => {
                    let _ = doc.transact().encode_state_as_update_v1(&sv);
                }
                _ => {}
            }
            let txn = doc.transact();
            assert!(
                !txn.has_missing_updates(),
                "iteration {i} (seed {seed}): pending state kept from {frame:?}"
            );
            // The Doc must stay encodable (a poisoned Doc panics here).
            let _ = txn.encode_state_as_update_v1(&StateVector::default());
        }
        if i % 997 == 0 {
            doc = Doc::new();
        }
    }
    let _ = std::panic::take_hook();
    let grown = rss_kib().saturating_sub(rss_before);
    eprintln!("decoded {decoded}, decode errors {errors}, applied {applied}, yrs panics caught {caught}, RSS grew {grown} KiB");
    assert!(
        decoded > iters / 10,
        "mutations decoded too rarely to test anything"
    );
    assert!(applied > 0, "no mutated update ever applied");
    assert!(grown < 128 * 1024, "memory jumped by {grown} KiB");
}
