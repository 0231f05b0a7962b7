//! Durability, proven by killing the real process.
//!
//! Eight writers and an observer edit one chart; the process is SIGKILLed
//! mid-edit and restarted on the same data dir, `EASEL_CRASH_CYCLES` times
//! (default 20, as in CI). Per cycle it prints acked / recovered / lost.
//!
//! Two sets are checked:
//! - **acked**: every update the observer had received before a kill. The
//!   issue's definition of acknowledged; losing one fails the test.
//! - **shown**: every update a client was shown after a restart (it may have
//!   been in flight at the kill, recovered by sled). Losing one of these at a
//!   later crash is sled 0.34 behaviour we have measured (docs/durability.md);
//!   it is counted and printed, and fails the test with
//!   `EASEL_CRASH_STRICT=1`.

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
                if acked.is_subset(&tokens(&check.text("t"))) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        // Give a moment for the whole state to arrive (one step 2 carries it).
        tokio::time::sleep(Duration::from_millis(50)).await;
        let have = tokens(&check.text("t"));
        let lost_acked: Vec<_> = acked.difference(&have).cloned().collect();
        let lost_shown: Vec<_> = shown.difference(&have).cloned().collect();
        eprintln!(
            "cycle {cycle}: acked {} recovered {} lost {} (shown after an earlier restart, then lost: {})",
            acked.len(),
            have.len(),
            lost_acked.len(),
            lost_shown.len()
        );
        assert!(
            lost_acked.is_empty(),
            "cycle {cycle}: lost acknowledged updates: {lost_acked:?}"
        );
        if !lost_shown.is_empty() {
            eprintln!(
                "cycle {cycle}: updates shown after an earlier restart are gone: {lost_shown:?}"
            );
            shown_lost += lost_shown.len();
            assert!(
                !strict,
                "EASEL_CRASH_STRICT: lost shown updates {lost_shown:?}"
            );
        }
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
