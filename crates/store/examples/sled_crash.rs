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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child-concurrent") {
        child_concurrent(&args[2], &args[3], args[4].parse().unwrap());
        return;
    }
    if std::env::var("CONCURRENT").is_ok() {
        return concurrent_parent(&args);
    }
    if args.get(1).map(String::as_str) == Some("child") {
        let acked: u64 = args[3].parse().unwrap();
        let start: u64 = args[4].parse().unwrap();
        child(&args[2], acked, start);
        return;
    }
    let cycles: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let path = path.to_str().unwrap().to_string();
    let mut acked: u64 = 0; // keys 0..acked were acknowledged
    let mut next: u64 = 0;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut failures = 0;
    for cycle in 0..cycles {
        let mut c = Command::new(&args[0])
            .args(["child", &path, &acked.to_string(), &next.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = c.stdout.take().unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = 50 + seed % 250;
        let reader = std::thread::spawn(move || {
            let mut last = None;
            let mut report = Vec::new();
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(k) = line.strip_prefix("acked ") {
                    last = k.parse::<u64>().ok();
                } else {
                    report.push(line);
                }
            }
            (last, report)
        });
        std::thread::sleep(Duration::from_millis(delay));
        let _ = c.kill();
        let _ = c.wait();
        let (last, report) = reader.join().unwrap();
        for line in &report {
            if line.starts_with("missing") && line != "missing 0"
                || line.starts_with("first_missing")
            {
                failures += 1;
                eprintln!("cycle {cycle}: {line}");
            }
        }
        if let Some(last) = last {
            acked = last + 1;
            next = last + 1;
        } else {
            // Nothing acknowledged this cycle: start again from the first
            // unacknowledged key (rewriting it is harmless).
            next = acked;
        }
    }
    eprintln!("{cycles} cycles, {acked} keys acknowledged, {failures} reports of missing keys");
}

fn concurrent_parent(args: &[String]) {
    let cycles: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db").to_str().unwrap().to_string();
    let acked_file = dir.path().join("acked").to_str().unwrap().to_string();
    let mut acked: Vec<u64> = Vec::new();
    let mut next: u64 = 0;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut failures = 0;
    for cycle in 0..cycles {
        let list: Vec<String> = acked.iter().map(u64::to_string).collect();
        std::fs::write(&acked_file, list.join(" ")).unwrap();
        let mut c = Command::new(&args[0])
            .args(["child-concurrent", &path, &acked_file, &next.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = c.stdout.take().unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = 100 + seed % 300;
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut report = Vec::new();
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(k) = line.strip_prefix("acked ") {
                    if let Ok(k) = k.parse::<u64>() {
                        got.push(k);
                    }
                } else {
                    report.push(line);
                }
            }
            (got, report)
        });
        std::thread::sleep(Duration::from_millis(delay));
        let _ = c.kill();
        let _ = c.wait();
        let (got, report) = reader.join().unwrap();
        for line in &report {
            if line.starts_with("missing") && line != "missing 0"
                || line.starts_with("first_missing")
            {
                failures += 1;
                eprintln!("cycle {cycle}: {line}");
            }
        }
        next = got
            .iter()
            .copied()
            .max()
            .map_or(next + 100_000, |m| m + 100_000);
        acked.extend(got);
    }
    eprintln!(
        "concurrent: {cycles} cycles, {} keys acknowledged, {failures} reports of missing keys",
        acked.len()
    );
}
