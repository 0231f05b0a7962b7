//! Durability, proven by killing the real process: every update that another
//! client received before a SIGKILL is there after restart.
//!
//! Cycles: `EASEL_CRASH_CYCLES` (default 20; CI runs the default).

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
    let mut server = TestServer::start();
    let mut total_acked = 0;
    let mut all_acked = BTreeSet::new();
    for cycle in 0..cycles {
        let chart = "crash";
        let observer = TestClient::connect(&server.ws_url(chart)).await;
        let mut writers = Vec::new();
        for w in 0..8 {
            writers.push(TestClient::connect(&server.ws_url(chart)).await);
            let _ = w;
        }
        // Let everyone sync the chart as it is.
        let base = all_acked.len();
        wait_for("observer synced", WAIT, || {
            tokens(&observer.text("t")).len() >= base
        })
        .await;
        let rounds = 10 + (cycle * 7) % 25;
        for n in 0..rounds {
            for (w, c) in writers.iter().enumerate() {
                c.push_text("t", &format!("c{cycle}w{w}n{n};"));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Acknowledged = what another client (the observer) has received.
        let acked = tokens(&observer.text("t"));
        server.kill9();
        let observed_now = acked.clone();
        let fresh: Vec<_> = acked.difference(&all_acked).cloned().collect();
        total_acked += fresh.len();
        all_acked.extend(acked);
        for c in writers {
            c.abort();
        }
        observer.abort();
        server.restart(&[]);
        let check = TestClient::connect(&server.ws_url(chart)).await;
        let recovered = tokio::time::timeout(WAIT, async {
            loop {
                let have = tokens(&check.text("t"));
                if all_acked.is_subset(&have) {
                    return have;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        let have = tokens(&check.text("t"));
        let lost: Vec<_> = all_acked.difference(&have).collect();
        if !lost.is_empty() {
            eprintln!(
                "lost {lost:?}; acked by the observer this cycle: {:?}",
                lost.iter()
                    .filter(|t| observed_now.contains(**t))
                    .collect::<Vec<_>>()
            );
            eprintln!(
                "server log tail:\n{}",
                server
                    .log()
                    .lines()
                    .rev()
                    .take(30)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        eprintln!(
            "cycle {cycle}: acked {} recovered {} lost {}",
            all_acked.len(),
            have.len(),
            lost.len()
        );
        assert!(
            recovered.is_ok() && lost.is_empty(),
            "cycle {cycle}: lost acknowledged updates: {lost:?}"
        );
        // Anything recovered beyond the acked set was durable but not yet seen: fine.
        all_acked = have;
        check.abort();
    }
    assert!(
        total_acked > 0,
        "the test acknowledged nothing; it proves nothing"
    );
}
