//! Durability, proven by killing the real process.
//!
//! Eight writers and an observer edit one chart; the process is SIGKILLed
//! mid-edit and restarted on the same data dir, `EASEL_CRASH_CYCLES` times
//! (default 50, as in CI; 1,000 for the long run). Per cycle it prints
//! acked / recovered / lost. Either kind of loss fails the test:
//!
//! - **acked this cycle**: every update of this cycle that the observer had
//!   received before the kill must be there after the restart (the
//!   durability rule);
//! - **lost at a later crash**: every update a restarted server showed must
//!   still be there after the *next* crash.
//!
//! With `EASEL_CRASH_KEEP=DIR` each kill's data dir is copied to `DIR`, and a
//! loss is traced to where it happened: on disk (snapshot, log) or in a log
//! entry replayed after it.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_update() {
    let cycles: usize = std::env::var("EASEL_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let mut server = TestServer::start();
    let mut acked = BTreeSet::new();
    let mut shown = BTreeSet::new();
    let mut acked_total = 0usize;
    for cycle in 0..cycles {
        // A fresh chart every 100 cycles keeps a long run's cycles short;
        // the old ones stay in the data dir, as at a real conference.
        let chart = &format!("crash-{}", cycle / 100);
        if cycle % 100 == 0 {
            acked.clear();
            shown.clear();
        }
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
            // Paced, so the kill lands in a stream of edits.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Acknowledged = what another client (the observer) has received.
        let seen_by_observer = tokens(&observer.text("t"));
        server.kill9();
        keep_copy(&server.data_dir, cycle);
        let this_cycle = format!("c{cycle}w");
        acked_total += seen_by_observer
            .iter()
            .filter(|t| t.starts_with(&this_cycle))
            .count();
        acked.extend(seen_by_observer);
        for c in writers {
            c.abort();
        }
        observer.abort();
        server.restart(&[]);
        let check = TestClient::connect(&server.ws_url(chart)).await;
        // A big chart on a loaded machine can take a while to load: wait for
        // the server's answer itself, so slowness is never counted as loss.
        let served = poll(Duration::from_secs(120), || check.is_synced()).await;
        assert!(
            served,
            "cycle {cycle}: the restarted server did not serve the chart within 120 s; log:\n{}",
            server.log()
        );
        let this = format!("c{cycle}w");
        poll(WAIT, || {
            let have = tokens(&check.text("t"));
            acked
                .iter()
                .filter(|t| t.starts_with(&this))
                .all(|t| have.contains(t))
        })
        .await;
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
            for back in [cycle.saturating_sub(1), cycle] {
                inspect_copy(back, &server.chart_id(chart), &lost_later);
            }
            panic!(
                "cycle {cycle}: {} updates that survived an earlier crash are gone, e.g. {:?}",
                lost_later.len(),
                &lost_later[..lost_later.len().min(20)]
            );
        }
        acked.retain(|t| have.contains(t));
        shown = have;
        check.abort();
    }
    eprintln!("total: {cycles} cycles, acked {acked_total} lost 0, shown-then-lost 0");
    assert!(
        !acked.is_empty(),
        "the test acknowledged nothing; it proves nothing"
    );
}

/// With `EASEL_CRASH_KEEP=DIR`, the data dir as the kill left it is copied to
/// `DIR/cycle-N` (before the restart's recovery touches it), for diagnosis.
fn keep_copy(data_dir: &std::path::Path, cycle: usize) {
    let Ok(keep) = std::env::var("EASEL_CRASH_KEEP") else {
        return;
    };
    let to = std::path::Path::new(&keep).join(format!("cycle-{cycle}"));
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(&to).expect("keep dir");
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(data_dir)
        .arg(&to)
        .status()
        .expect("cp");
    assert!(ok.success());
}

/// Prints where the lost tokens are in a kept copy: in the snapshot, in
/// which log entries, or nowhere.
fn inspect_copy(cycle: usize, chart: &str, lost: &[String]) {
    use yrs::updates::decoder::Decode;
    use yrs::{GetString, ReadTxn, Transact};
    let Ok(keep) = std::env::var("EASEL_CRASH_KEEP") else {
        return;
    };
    let dir = std::path::Path::new(&keep).join(format!("cycle-{cycle}"));
    let probe = dir.with_extension("probe");
    let _ = std::fs::remove_dir_all(&probe);
    std::process::Command::new("cp")
        .arg("-a")
        .arg(dir.join("data"))
        .arg(&probe)
        .status()
        .expect("cp");
    let store = match easel_store::Store::open(&probe) {
        Ok(s) => s,
        Err(e) => return eprintln!("inspect cycle-{cycle}: {e}"),
    };
    let stored = match store.load_chart(chart) {
        Ok(s) => s,
        Err(e) => return eprintln!("inspect cycle-{cycle}: {e}"),
    };
    let snap_text = stored.snapshot.as_ref().map(|s| {
        let doc = yrs::Doc::new();
        let _ = doc
            .transact_mut()
            .apply_update(yrs::Update::decode_v1(s).expect("snapshot decodes"));
        let text = doc.get_or_insert_text("t");
        let txn = doc.transact();
        text.get_string(&txn)
    });
    let first_seq = stored.next_seq - stored.updates.len() as u64;
    // The whole chart, replayed as the server replays it.
    let full = yrs::Doc::new();
    {
        let mut txn = full.transact_mut();
        for u in stored.snapshot.iter().chain(stored.updates.iter()) {
            let _ = txn.apply_update(yrs::Update::decode_v1(u).expect("decodes"));
        }
        eprintln!(
            "inspect cycle-{cycle}: replay leaves missing: {}",
            txn.has_missing_updates()
        );
    }
    // Which log entry takes a lost token away?
    if let Some(snap) = stored.snapshot.as_ref() {
        let doc = yrs::Doc::new();
        let text = doc.get_or_insert_text("t");
        let _ = doc
            .transact_mut()
            .apply_update(yrs::Update::decode_v1(snap).expect("decodes"));
        for (i, u) in stored.updates.iter().enumerate() {
            let before = tokens(&text.get_string(&doc.transact()));
            let _ = doc
                .transact_mut()
                .apply_update(yrs::Update::decode_v1(u).expect("decodes"));
            let after = tokens(&text.get_string(&doc.transact()));
            let gone: Vec<_> = before.difference(&after).collect();
            if !gone.is_empty() {
                eprintln!(
                    "inspect cycle-{cycle}: log seq {} removes {gone:?}: {:?}",
                    first_seq + i as u64,
                    yrs::Update::decode_v1(u).expect("decodes")
                );
                eprintln!(
                    "inspect cycle-{cycle}: snapshot state vector {:?}",
                    yrs::Update::decode_v1(snap)
                        .expect("decodes")
                        .state_vector()
                );
            }
        }
    }
    let full_text = {
        let text = full.get_or_insert_text("t");
        let txn = full.transact();
        text.get_string(&txn)
    };
    for token in lost {
        let at = full_text.find(token.as_str());
        let context =
            at.map(|at| &full_text[at.saturating_sub(40)..(at + 60).min(full_text.len())]);
        eprintln!(
            "inspect cycle-{cycle}: full replay has {token} as token: {}, at {at:?}: {context:?}",
            tokens(&full_text).contains(token)
        );
        let snap_ctx = snap_text.as_ref().and_then(|t| {
            t.find(token.as_str())
                .map(|at| t[at.saturating_sub(40)..(at + 60).min(t.len())].to_string())
        });
        eprintln!("inspect cycle-{cycle}: snapshot context {snap_ctx:?}");
    }
    for token in lost {
        let in_snapshot = snap_text.as_ref().map(|t| t.contains(token.as_str()));
        let in_log: Vec<u64> = stored
            .updates
            .iter()
            .enumerate()
            .filter(|(_, u)| u.windows(token.len()).any(|w| w == token.as_bytes()))
            .map(|(i, _)| first_seq + i as u64)
            .collect();
        eprintln!(
            "inspect cycle-{cycle} (as left by kill {cycle}): {token}: in snapshot {in_snapshot:?}, \
             in log seqs {in_log:?}; log {first_seq}..{} ({} entries)",
            stored.next_seq,
            stored.updates.len()
        );
    }
}
