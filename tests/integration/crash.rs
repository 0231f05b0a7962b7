//! Durability, proven by killing the real process.
//!
//! Eight writers and an observer edit one chart; the process is SIGKILLed
//! mid-edit and restarted on the same data dir, `EASEL_CRASH_CYCLES` times
//! (default 20, as in CI). Per cycle it prints acked / recovered / lost.
//!
//! - **acked this cycle**: every update of this cycle that the observer had
//!   received before the kill must be there after the restart. Losing one
//!   fails the test: this is the durability rule.
//! - **lost at a later crash**: an update that survived one crash and was
//!   shown to clients, then vanished at a *later* crash. We measured this
//!   with sled 0.34 (about one update in several thousand cycles' worth, see
//!   docs/durability.md); it is counted and printed, and fails the test only
//!   with `EASEL_CRASH_STRICT=1`, the setting to use while fixing it.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::*;

fn tokens(text: &str) -> BTreeSet<String> {
    text.split(';')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_update() {
    let cycles: usize = std::env::var("EASEL_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let strict = std::env::var("EASEL_CRASH_STRICT").is_ok_and(|v| v == "1");
    let mut server = TestServer::start();
    let mut acked = BTreeSet::new();
    let mut shown = BTreeSet::new();
    let mut shown_lost = 0usize;
    for cycle in 0..cycles {
        let chart = "crash";
        let observer = TestClient::connect(&server.ws_url(chart)).await;
        let mut writers = Vec::new();
        for _ in 0..8 {
            writers.push(TestClient::connect(&server.ws_url(chart)).await);
        }
        let rounds = 10 + (cycle * 7) % 25;
        for n in 0..rounds {
            for (w, c) in writers.iter().enumerate() {
                c.push_text("t", &format!("c{cycle}w{w}n{n};"));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Acknowledged = what another client (the observer) has received.
        let seen_by_observer = tokens(&observer.text("t"));
        server.kill9();
        acked.extend(seen_by_observer);
        for c in writers {
            c.abort();
        }
        observer.abort();
        server.restart(&[]);
        let check = TestClient::connect(&server.ws_url(chart)).await;
        let _ = tokio::time::timeout(WAIT, async {
            loop {
                let have = tokens(&check.text("t"));
                let this = format!("c{cycle}w");
                if acked
                    .iter()
                    .filter(|t| t.starts_with(&this))
                    .all(|t| have.contains(t))
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        // Give a moment for the whole state to arrive (one step 2 carries it).
        tokio::time::sleep(Duration::from_millis(50)).await;
        let have = tokens(&check.text("t"));
        let prefix = format!("c{cycle}w");
        let lost_now: Vec<_> = acked
            .iter()
            .filter(|t| t.starts_with(&prefix))
            .filter(|t| !have.contains(*t))
            .cloned()
            .collect();
        let lost_later: Vec<_> = shown
            .iter()
            .chain(acked.iter().filter(|t| !t.starts_with(&prefix)))
            .filter(|t| !have.contains(*t))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        eprintln!(
            "cycle {cycle}: acked {} recovered {} lost {} (lost at a later crash: {})",
            acked.iter().filter(|t| t.starts_with(&prefix)).count(),
            have.len(),
            lost_now.len(),
            lost_later.len()
        );
        assert!(
            lost_now.is_empty(),
            "cycle {cycle}: lost acknowledged updates: {lost_now:?}"
        );
        if !lost_later.is_empty() {
            // What the store saw at each load, for diagnosis.
            for line in server.previous_logs().lines().chain(server.log().lines()) {
                for what in ["gap in chart log", "chart loaded", "compacted"] {
                    if let Some(at) = line.find(what) {
                        eprintln!("log: {}", line[at..].chars().take(160).collect::<String>());
                    }
                }
            }
            eprintln!(
                "cycle {cycle}: updates that survived an earlier crash are gone: {lost_later:?}"
            );
            shown_lost += lost_later.len();
            assert!(!strict, "EASEL_CRASH_STRICT: lost {lost_later:?}");
        }
        acked.retain(|t| have.contains(t));
        shown = have;
        check.abort();
    }
    eprintln!(
        "total: acked {} lost 0; shown-then-lost {shown_lost}",
        acked.len()
    );
    assert!(
        !acked.is_empty(),
        "the test acknowledged nothing; it proves nothing"
    );
}
