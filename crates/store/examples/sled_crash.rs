//! A sled-only crash reproduction, with none of Easel's code in the loop:
//! does sled 0.34 keep writes that were flushed, across repeated SIGKILLs?
//!
//! `cargo run --release -p easel-store --example sled_crash -- CYCLES`
//!
//! Each cycle starts a child that opens the database, checks that every key
//! acknowledged so far is present, then inserts keys (200-byte values, a few
//! large ones), flushing after each and printing its number once flushed.
//! The parent SIGKILLs the child after a random delay and records the last
//! acknowledged key. A missing acknowledged key is reported with the cycle.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Like `child`, but as Easel writes: two writer threads insert while a
/// flusher thread flushes; a key is acknowledged once a flush that started
/// after its insert returned has completed (Easel's group commit).
fn child_concurrent(dir: &str, acked_file: &str, start: u64) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    let db = sled::Config::new()
        .path(dir)
        .flush_every_ms(None)
        .open()
        .expect("open");
    let tree = db.open_tree("t").expect("tree");
    let acked: Vec<u64> = std::fs::read_to_string(acked_file)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|k| k.parse().ok())
        .collect();
    let missing: Vec<u64> = acked
        .iter()
        .copied()
        .filter(|k| tree.get(k.to_be_bytes()).expect("get").is_none())
        .collect();
    #[allow(clippy::print_stdout)]
    {
        println!("missing {}", missing.len());
        if !missing.is_empty() {
            println!("first_missing {:?}", &missing[..missing.len().min(10)]);
        }
    }
    db.flush().expect("flush after recovery");
    let next = Arc::new(AtomicU64::new(start));
    let inserted = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..2 {
        let (tree, next, inserted) = (tree.clone(), next.clone(), inserted.clone());
        std::thread::spawn(move || loop {
            let k = next.fetch_add(1, Ordering::SeqCst);
            let size = if k.is_multiple_of(97) { 50_000 } else { 200 };
            tree.insert(k.to_be_bytes(), vec![(k % 251) as u8; size])
                .expect("insert");
            inserted.lock().unwrap().push(k);
        });
    }
    loop {
        let batch: Vec<u64> = std::mem::take(&mut *inserted.lock().unwrap());
        db.flush().expect("flush");
        #[allow(clippy::print_stdout)]
        for k in batch {
            println!("acked {k}");
        }
    }
}

fn child(dir: &str, acked: u64, start: u64) {
    let db = sled::Config::new()
        .path(dir)
        .flush_every_ms(None)
        .open()
        .expect("open");
    let tree = db.open_tree("t").expect("tree");
    let mut missing = Vec::new();
    for k in 0..acked {
        if tree.get(k.to_be_bytes()).expect("get").is_none() {
            missing.push(k);
        }
    }
    #[allow(clippy::print_stdout)]
    {
        println!("missing {}", missing.len());
        if !missing.is_empty() {
            println!("first_missing {:?}", &missing[..missing.len().min(10)]);
        }
    }
    db.flush().expect("flush after recovery");
    let mut k = start;
    loop {
        let size = if std::env::var("BIG").is_ok() && k.is_multiple_of(97) {
            150_000
        } else {
            200
        };
        tree.insert(k.to_be_bytes(), vec![(k % 251) as u8; size])
            .expect("insert");
        db.flush().expect("flush");
        #[allow(clippy::print_stdout)]
        {
            println!("acked {k}");
        }
        k += 1;
    }
}

/// One cycle: start a child with `args`, SIGKILL it after `delay_ms`, and
/// return the keys it acknowledged and the missing-key lines it reported.
fn run_child(exe: &str, args: &[&str], delay_ms: u64) -> (Vec<u64>, Vec<String>) {
    let mut c = Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start child");
    let out = c.stdout.take().expect("child stdout");
    let reader = std::thread::spawn(move || {
        let mut acked = Vec::new();
        let mut missing = Vec::new();
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(k) = line.strip_prefix("acked ") {
                acked.extend(k.parse::<u64>().ok());
            } else if line.starts_with("first_missing")
                || line.starts_with("missing") && line != "missing 0"
            {
                missing.push(line);
            }
        }
        (acked, missing)
    });
    std::thread::sleep(Duration::from_millis(delay_ms));
    let _ = c.kill();
    let _ = c.wait();
    reader.join().expect("reader thread")
}

/// xorshift64: the kill delays are seeded so a failing run can be repeated.
fn next_delay(seed: &mut u64, base: u64, span: u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    base + *seed % span
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child") => {
            return child(&args[2], args[3].parse().unwrap(), args[4].parse().unwrap())
        }
        Some("child-concurrent") => {
            return child_concurrent(&args[2], &args[3], args[4].parse().unwrap())
        }
        _ => {}
    }
    let cycles: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let concurrent = std::env::var("CONCURRENT").is_ok();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db").to_str().unwrap().to_string();
    let acked_file = dir.path().join("acked").to_str().unwrap().to_string();
    // Sequential mode: keys 0..acked_upto were acknowledged. Concurrent mode:
    // the acknowledged keys are listed (writers interleave), and each child
    // starts far above the last key so unacknowledged keys are never reused.
    let mut acked_upto: u64 = 0;
    let mut acked_keys: Vec<u64> = Vec::new();
    let mut next: u64 = 0;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut failures = 0;
    for cycle in 0..cycles {
        let start = next.to_string();
        let (got, missing) = if concurrent {
            let list: Vec<String> = acked_keys.iter().map(u64::to_string).collect();
            std::fs::write(&acked_file, list.join(" ")).unwrap();
            let delay = next_delay(&mut seed, 100, 300);
            run_child(
                &args[0],
                &["child-concurrent", &path, &acked_file, &start],
                delay,
            )
        } else {
            let delay = next_delay(&mut seed, 50, 250);
            run_child(
                &args[0],
                &["child", &path, &acked_upto.to_string(), &start],
                delay,
            )
        };
        for line in &missing {
            failures += 1;
            eprintln!("cycle {cycle}: {line}");
        }
        let last = got.iter().copied().max();
        if concurrent {
            next = last.map_or(next, |m| m) + 100_000;
            acked_keys.extend(got);
        } else if let Some(last) = last {
            acked_upto = last + 1;
            next = last + 1;
        } else {
            // Nothing acknowledged this cycle: start again from the first
            // unacknowledged key (rewriting it is harmless).
            next = acked_upto;
        }
    }
    let acked = if concurrent {
        acked_keys.len() as u64
    } else {
        acked_upto
    };
    eprintln!("{cycles} cycles, {acked} keys acknowledged, {failures} reports of missing keys");
}
