//! What decoding an update costs in memory, per byte of input, measured
//! with a counting global allocator: `check_update` allocates (next to)
//! nothing, and
//! for every update it accepts (real ones, and every truncation and
//! single-byte change of them) yrs' decoder allocates at most a bounded
//! multiple of the update's size. One test in this binary: the counters are
//! process-wide.
//!
//! `cargo test -p easel-protocol --test allocation -- --nocapture` prints
//! the figures.

use std::alloc::System;

use easel_protocol::check_update;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use yrs::updates::decoder::Decode;
use yrs::{Doc, Map, ReadTxn, StateVector, Text, Transact, Update, WriteTxn, XmlFragment};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes yrs may allocate per byte of an accepted update, plus a fixed
/// part. A struct of a few bytes becomes a boxed `Item` of ~150 bytes, so
/// legitimate updates made of tiny edits already cost tens of bytes per
/// byte; what this bounds is that no count makes it worse.
const PER_BYTE: usize = 64;
const FIXED: usize = 4096;

fn updates() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let doc = Doc::with_client_id(3);
    {
        let mut txn = doc.transact_mut();
        let t = txn.get_or_insert_text("t");
        t.insert(&mut txn, 0, "a paragraph of ordinary text, typed at once");
        out.push(("one insert".to_owned(), txn.encode_update_v1()));
    }
    {
        // Many one-character edits at different places: the most structs
        // per byte a real editor produces.
        let mut txn = doc.transact_mut();
        let t = txn.get_or_insert_text("t");
        for i in 0..400u32 {
            t.insert(&mut txn, (i * 7) % 40, "x");
        }
        out.push((
            "400 scattered keystrokes".to_owned(),
            txn.encode_update_v1(),
        ));
    }
    {
        let mut txn = doc.transact_mut();
        let m = txn.get_or_insert_map("meta");
        for i in 0..300 {
            m.insert(&mut txn, format!("k{i}"), i);
        }
        let notes = txn.get_or_insert_xml_fragment("notes");
        for _ in 0..100 {
            notes.push_back(&mut txn, yrs::XmlElementPrelim::empty("p"));
        }
        out.push((
            "300 map keys, 100 elements".to_owned(),
            txn.encode_update_v1(),
        ));
    }
    {
        let mut txn = doc.transact_mut();
        let t = txn.get_or_insert_text("t");
        for i in 0..200u32 {
            t.remove_range(&mut txn, i % 30, 1);
        }
        out.push(("200 deletions".to_owned(), txn.encode_update_v1()));
    }
    // Hand-made: the smallest structs yrs boxes (a deleted run with an
    // origin, 4 bytes each), and sub-documents (5 bytes each, one `Doc`
    // with its own store apiece: ~150 bytes per byte, which is why
    // check_update refuses them).
    for (name, item) in [
        ("2000 four-byte items", &[0x81u8, 1, 0, 1][..]),
        ("500 five-byte sub-documents", &[0x89, 1, 0, 0, 126][..]),
    ] {
        let n: usize = name.split(' ').next().unwrap().parse().unwrap();
        let mut u = vec![1];
        let mut count = n;
        while count >= 0x80 {
            u.push((count as u8 & 0x7f) | 0x80);
            count >>= 7;
        }
        u.push(count as u8);
        u.extend_from_slice(&[2, 0]);
        for _ in 0..n {
            u.extend_from_slice(item);
        }
        u.push(0);
        out.push((name.to_owned(), u));
    }
    out.push((
        "full state".to_owned(),
        doc.transact()
            .encode_state_as_update_v1(&StateVector::default()),
    ));
    out
}

fn decode_bytes(update: &[u8]) -> usize {
    let region = Region::new(GLOBAL);
    let decoded = Update::decode_v1(update);
    let allocated = region.change().bytes_allocated;
    drop(decoded);
    allocated
}

#[test]
fn decoding_costs_a_bounded_multiple_of_the_input() {
    let mut worst = (0.0f64, String::new());
    let mut accepted = 0usize;
    let mut refused = 0usize;
    for (name, update) in updates() {
        let cost = decode_bytes(&update);
        if name.contains("sub-documents") {
            assert!(check_update(&update).is_err(), "{name} accepted");
        }
        let ratio = cost as f64 / update.len() as f64;
        eprintln!(
            "{name}: {} bytes -> yrs allocates {cost} bytes ({ratio:.1} per byte)",
            update.len()
        );
        let mut variants: Vec<(String, Vec<u8>)> = (1..update.len())
            .step_by(3)
            .map(|n| (format!("{name} cut at {n}"), update[..n].to_vec()))
            .collect();
        for i in 0..update.len().min(600) {
            for b in [0x00, 0x7f, 0x80, 0xff] {
                let mut v = update.clone();
                v[i] = b;
                variants.push((format!("{name} byte {i} = {b:#x}"), v));
            }
        }
        variants.push((name.clone(), update));
        for (what, v) in variants {
            let region = Region::new(GLOBAL);
            let checked = check_update(&v);
            // Nothing, except the boxed error serde_json returns for a
            // bad JSON embed.
            let spent = region.change().bytes_allocated;
            assert!(spent <= 256, "check_update allocated {spent} on {what}");
            if checked.is_err() {
                refused += 1;
                continue;
            }
            accepted += 1;
            let cost = decode_bytes(&v);
            assert!(
                cost <= PER_BYTE * v.len() + FIXED,
                "{what}: {} bytes made yrs allocate {cost}",
                v.len()
            );
            let ratio = cost as f64 / v.len() as f64;
            if ratio > worst.0 {
                worst = (ratio, what);
            }
        }
    }
    // The fuzzer's 16 bytes that declared ~92 million structs: refused
    // before yrs would reserve 2.2 GB for them.
    let bomb = [
        1, 0xff, 0xff, 0xef, 0x2b, 7, 0, 4, 1, 0, 1, 0x61, 0, 0, 0, 0,
    ];
    assert!(check_update(&bomb).is_err());
    eprintln!(
        "{accepted} accepted, {refused} refused; worst accepted: {:.1} bytes per byte ({})",
        worst.0, worst.1
    );
    assert!(accepted > 1000 && refused > 1000);
}

/// Shows why `check_update` bounds nesting: yrs decodes an `Any` nested
/// 100,000 deep (200 KB of update) recursively, and on a 2 MiB stack (a
/// tokio worker's) the process dies of a stack overflow, which no
/// `catch_unwind` catches. Ignored: it kills the test process on purpose.
/// `cargo test -p easel-protocol --test allocation -- --ignored deep`
#[test]
#[ignore]
fn deep_nesting_overflows_yrs_stack() {
    let mut update = vec![1, 1, 1, 0, 8, 1, 1, b'x', 1];
    for _ in 0..100_000 {
        update.extend_from_slice(&[117, 1]);
    }
    update.extend_from_slice(&[126, 0]);
    assert!(check_update(&update).is_err());
    let survived = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || Update::decode_v1(&update).is_ok())
        .unwrap()
        .join();
    eprintln!("yrs survived: {survived:?}");
}
