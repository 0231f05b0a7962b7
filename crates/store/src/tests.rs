use super::*;

/// The keys of the complete records in a data dir's commit journal.
fn journal_keys(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(dir.join(journal::FILE)).unwrap();
    journal::decode(&bytes)
        .iter()
        .map(|(k, _)| k.to_vec())
        .collect()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn append_flush_reopen() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = Store::open(dir.path()).unwrap();
        for seq in 0..10u64 {
            let t = store.append("chart-a", seq, &[seq as u8]).unwrap();
            store.durable(t).await.unwrap();
        }
        store.append("chart-b", 0, b"b").unwrap();
        store.flush().await.unwrap();
    });
    let store = Store::open(dir.path()).unwrap();
    let a = store.load_chart("chart-a").unwrap();
    assert_eq!(a.updates, (0..10u8).map(|i| vec![i]).collect::<Vec<_>>());
    assert_eq!(a.next_seq, 10);
    assert!(a.snapshot.is_none());
    assert_eq!(
        store.load_chart("chart-b").unwrap().updates,
        vec![b"b".to_vec()]
    );
    assert_eq!(store.chart_ids().unwrap(), vec!["chart-a", "chart-b"]);
    assert_eq!(store.load_chart("nothing").unwrap().next_seq, 0);
}

#[test]
fn prefixes_do_not_collide() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.append("a", 0, b"1").unwrap();
    store.append("ab", 0, b"2").unwrap();
    assert_eq!(store.load_chart("a").unwrap().updates, vec![b"1".to_vec()]);
}

#[test]
fn many_concurrent_writers_share_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    rt().block_on(async {
        let mut tasks = Vec::new();
        for c in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let chart = format!("c{c}");
                for seq in 0..50u64 {
                    let t = store.append(&chart, seq, b"x").unwrap();
                    store.durable(t).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    for c in 0..16 {
        assert_eq!(
            store.load_chart(&format!("c{c}")).unwrap().updates.len(),
            50
        );
    }
}

#[test]
fn compaction_keeps_later_entries_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = Store::open(dir.path()).unwrap();
        for seq in 0..5u64 {
            store.append("c", seq, &[seq as u8]).unwrap();
        }
        store.compact("c", b"SNAP", 2).await.unwrap();
        store.append("c", 5, &[5]).unwrap();
        store.flush().await.unwrap();
    });
    let store = Store::open(dir.path()).unwrap();
    let c = store.load_chart("c").unwrap();
    assert_eq!(c.snapshot.as_deref(), Some(&b"SNAP"[..]));
    assert_eq!(c.updates, vec![vec![3], vec![4], vec![5]]);
    assert_eq!(c.next_seq, 6);
}

#[test]
fn appends_are_read_before_their_commit_and_kept_by_a_clean_close() {
    // The flusher, not `append`, puts records into sled: a read right after
    // an append (a chart reloading after a failure) must still see it, and
    // closing the store must keep appends nobody waited for.
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        for seq in 0..3u64 {
            store.append("c", seq, &[seq as u8]).unwrap();
        }
        let c = store.load_chart("c").unwrap();
        assert_eq!(c.next_seq, 3, "a reload numbers after queued appends");
        assert_eq!(store.chart_ids().unwrap(), vec!["c".to_string()]);
        store.append("c", 3, &[3]).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let c = store.load_chart("c").unwrap();
    assert_eq!(c.updates, (0..4u8).map(|i| vec![i]).collect::<Vec<_>>());
}

#[test]
fn crash_between_snapshot_and_log_trim_is_harmless() {
    // Simulate a compaction that wrote its snapshot and died before trimming.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for seq in 0..4u64 {
        store.append("c", seq, &[seq as u8]).unwrap();
    }
    let mut key = snapshot_prefix("c", 1);
    key.extend_from_slice(&0u32.to_be_bytes());
    store
        .inner
        .snapshot_parts
        .insert(key, b"S".to_vec())
        .unwrap();
    let mut header = 1u64.to_be_bytes().to_vec();
    header.extend_from_slice(&1u32.to_be_bytes());
    store.inner.snapshots.insert("c", header).unwrap();
    let c = store.load_chart("c").unwrap();
    assert_eq!(c.updates, vec![vec![2], vec![3]]);
    assert_eq!(c.next_seq, 4);
}

#[test]
fn a_compaction_removes_the_parts_a_crashed_one_left() {
    // A compaction that died after writing its parts (seq 5) but before
    // its header: the parts are in no snapshot. The next compaction of the
    // chart must leave only its own parts and its chart's others alone.
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = Store::open(dir.path()).unwrap();
        for seq in 0..8u64 {
            store.append("c", seq, &[seq as u8]).unwrap();
        }
        store.append("other", 0, b"o").unwrap();
        store.compact("other", b"OTHER", 0).await.unwrap();
        for part in 0..3u32 {
            let mut key = snapshot_prefix("c", 5);
            key.extend_from_slice(&part.to_be_bytes());
            store
                .inner
                .snapshot_parts
                .insert(key, b"orphan".to_vec())
                .unwrap();
        }
        store.compact("c", b"SNAP", 6).await.unwrap();
        let left: Vec<Vec<u8>> = store
            .inner
            .snapshot_parts
            .scan_prefix(log_prefix("c"))
            .keys()
            .map(|k| k.unwrap().to_vec())
            .collect();
        assert_eq!(left.len(), 1, "only the new snapshot's part is left");
        assert!(left[0].starts_with(&snapshot_prefix("c", 6)));
        let c = store.load_chart("c").unwrap();
        assert_eq!(c.snapshot.as_deref(), Some(&b"SNAP"[..]));
        assert_eq!(c.updates, vec![vec![7]]);
        let other = store.load_chart("other").unwrap();
        assert_eq!(other.snapshot.as_deref(), Some(&b"OTHER"[..]));
    });
}

#[test]
fn large_snapshots_are_stored_in_parts_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    rt().block_on(async {
        let store = Store::open(dir.path()).unwrap();
        store.append("c", 0, b"x").unwrap();
        store.compact("c", &big, 0).await.unwrap();
        store.append("c", 1, b"y").unwrap();
        store.compact("c", &big[..40_000], 1).await.unwrap();
        store.flush().await.unwrap();
        assert_eq!(store.inner.snapshot_parts.len(), 3, "old parts removed");
    });
    let store = Store::open(dir.path()).unwrap();
    let c = store.load_chart("c").unwrap();
    assert_eq!(c.snapshot.as_deref(), Some(&big[..40_000]));
    assert!(c.updates.is_empty());
    assert_eq!(c.next_seq, 2);
}

#[test]
fn documents_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = Store::open(dir.path()).unwrap();
        store.put_document("conf/1", b"one").await.unwrap();
        store.put_document("conf/2", b"two").await.unwrap();
        store.put_document("token/x", b"t").await.unwrap();
        let confs = store.scan_documents("conf/").unwrap();
        assert_eq!(confs.len(), 2);
        store.remove_document("conf/1").await.unwrap();
        assert!(store.get_document("conf/1").unwrap().is_none());
    });
}

/// The conditional write is the fence of conference edits: it writes only
/// over the value the caller read, creates only what is absent, and a
/// written value survives a reopen.
#[test]
fn conditional_document_writes() {
    use crate::meta::MetaStore;
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = Store::open(dir.path()).unwrap();
        assert!(store.put_if("conf/a", None, b"v1").await.unwrap());
        assert!(
            !store.put_if("conf/a", None, b"again").await.unwrap(),
            "created twice"
        );
        assert!(!store.put_if("conf/a", Some(b"stale"), b"v2").await.unwrap());
        assert_eq!(
            store.get("conf/a").await.unwrap().as_deref(),
            Some(&b"v1"[..])
        );
        assert!(store.put_if("conf/a", Some(b"v1"), b"v2").await.unwrap());
        assert!(!store
            .put_if("conf/missing", Some(b"v1"), b"x")
            .await
            .unwrap());
        assert_eq!(store.scan("conf/").await.unwrap().len(), 1);
        // One process: the lock is the caller's mutex, nobody to announce to.
        let _lock = store.lock("conf/a").await.unwrap();
        store.announce(b"nobody listens").await.unwrap();
        assert!(store.announcements().is_none());
    });
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.get_document("conf/a").unwrap().as_deref(),
        Some(&b"v2"[..])
    );
    assert!(store.get_document("conf/missing").unwrap().is_none());
}

#[test]
fn bad_chart_ids_are_refused() {
    for bad in ["", "a/b", "../x", "é", &"x".repeat(200)] {
        assert!(validate_chart_id(bad).is_err(), "{bad:?}");
    }
    validate_chart_id("Conf-2026_room-1").unwrap();
}

#[test]
fn wrong_schema_version_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        // sled's IO threads can hold its lock a moment after `db` drops
        // (this test failed on the lock 1 in 16 runs before `Store::open`
        // waited for it).
        let db = sled::Config::new()
            .path(dir.path())
            .flush_every_ms(None)
            .open()
            .unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert(SCHEMA_KEY, &99u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let err = Store::open(dir.path()).err().unwrap();
    assert!(
        matches!(err, StoreError::SchemaVersion { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn a_data_dir_in_use_is_refused_clearly_and_waited_for_briefly() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path()).unwrap();
    let err = Store::open(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
    // Let go while a second open waits: it gets the data dir.
    let releaser = std::thread::spawn(move || {
        // Deliberate: long enough that the open below is already waiting.
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(first);
    });
    let second = Store::open(dir.path()).unwrap();
    releaser.join().unwrap();
    drop(second);
}

/// A reader racing a compacting writer always sees a snapshot and a log
/// that belong together: their bytes are a prefix of everything appended,
/// never one with a hole where a compaction swapped the snapshot mid-read.
#[test]
fn reads_during_compaction_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let entry = |seq: u64| (seq as u16).to_be_bytes();
    let expected: Vec<u8> = (0..3000u64).flat_map(entry).collect();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, done, expected) = (store.clone(), done.clone(), expected.clone());
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !done.load(Ordering::SeqCst) {
                let stored = store.load_chart("racy").unwrap();
                let mut bytes = stored.snapshot.unwrap_or_default();
                bytes.extend(stored.updates.concat());
                assert!(
                    expected.starts_with(&bytes),
                    "read {reads}: {} bytes that are not a prefix of the appends",
                    bytes.len()
                );
                assert_eq!(bytes.len() as u64, stored.next_seq * 2);
                reads += 1;
            }
            reads
        })
    };
    rt().block_on(async {
        for seq in 0..3000u64 {
            let t = store.append("racy", seq, &entry(seq)).unwrap();
            store.durable(t).await.unwrap();
            if seq % 25 == 24 {
                let snapshot = &expected[..(seq as usize + 1) * 2];
                store.compact("racy", snapshot, seq).await.unwrap();
            }
        }
    });
    done.store(true, Ordering::SeqCst);
    assert!(reader.join().unwrap() > 0);
}

/// What a kill -9 between two checkpoints leaves: log entries confirmed
/// through the journal but not in sled's file. Opening replays them, skips
/// what a snapshot covers, and stops at a record the crash cut short.
#[test]
fn opening_replays_the_journal_up_to_a_torn_record() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = Store::open(dir.path()).unwrap();
        for seq in 0..3u64 {
            let t = store.append("chart-a", seq, &[b'a', seq as u8]).unwrap();
            store.durable(t).await.unwrap();
        }
        // Covers seq 0 and 1 and trims them from the log.
        store.compact("chart-a", b"snapshot", 1).await.unwrap();
    });
    // Closed cleanly: the journal is empty. Now the tail a crash leaves.
    let path = dir.path().join(journal::FILE);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    let mut tail = Vec::new();
    journal::encode(&mut tail, &log_key("chart-a", 0), b"stale"); // in the snapshot
    journal::encode(&mut tail, &log_key("chart-a", 3), &[b'a', 3]);
    journal::encode(&mut tail, &log_key("chart-b", 0), b"b0");
    let whole = tail.len();
    journal::encode(&mut tail, &log_key("chart-b", 1), b"never confirmed");
    std::fs::write(&path, &tail[..whole + 5]).unwrap();

    let store = Store::open(dir.path()).unwrap();
    let a = store.load_chart("chart-a").unwrap();
    assert_eq!(a.snapshot.as_deref(), Some(&b"snapshot"[..]));
    assert_eq!(a.updates, vec![vec![b'a', 2], vec![b'a', 3]]);
    assert_eq!(a.next_seq, 4);
    assert!(
        store
            .inner
            .updates
            .get(log_key("chart-a", 0))
            .unwrap()
            .is_none(),
        "an entry inside the snapshot came back"
    );
    assert_eq!(
        store.load_chart("chart-b").unwrap().updates,
        vec![b"b0".to_vec()]
    );
    // Replayed into sled's file, so the journal starts empty again.
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    drop(store);
    let again = Store::open(dir.path()).unwrap();
    assert_eq!(again.load_chart("chart-a").unwrap().next_seq, 4);
}

/// A deleted chart must not come back from the journal: once deletion
/// returns, the journal holds none of its entries. (The checkpoint before
/// the removal covers a crash during it; that window is not reproduced
/// here.)
#[test]
fn a_deleted_chart_leaves_nothing_in_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    rt().block_on(async {
        for seq in 0..5u64 {
            let t = store.append("gone", seq, b"x").unwrap();
            store.durable(t).await.unwrap();
        }
        store.delete_chart("gone").await.unwrap();
    });
    assert!(
        journal_keys(dir.path()).is_empty(),
        "journal still holds entries of a deleted chart"
    );
}

/// A failed checkpoint has taken the journal's pending records (sled holds
/// them in memory): the commit that later confirms them must be a
/// checkpoint, or a crash would lose an entry the hub then broadcast.
#[test]
fn after_a_failed_checkpoint_only_a_checkpoint_confirms() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(FlushFaults::default());
    let store = Store::open_with_faults(dir.path(), faults.clone()).unwrap();
    rt().block_on(async {
        faults.set_failing(true);
        let a = store.append("c", 0, b"a").unwrap();
        assert!(store.flush().await.is_err());
        faults.set_failing(false);
        let b = store.append("c", 1, b"b").unwrap();
        store.durable(b).await.unwrap();
        // The hub waits again for the batch whose flush failed.
        store.durable(a).await.unwrap();
    });
    let keys = journal_keys(dir.path());
    assert!(
        keys.is_empty() || keys.contains(&log_key("c", 0)),
        "entry 0 was confirmed but is neither checkpointed nor in the journal"
    );
}

/// A chart that waits for a ticket below one another chart already asked
/// for must not turn the next commit into a checkpoint: that is what a
/// retry after a failure asks for, and under load charts wait in any order
/// (each checkpoint a sled flush instead of one journal write).
#[test]
fn waiting_below_another_request_is_not_a_retry() {
    // An attempt only shows something if it ends before the periodic
    // checkpoint (500 ms after the store opened) could have emptied the
    // journal; a stalled test machine gets another try.
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(FlushFaults::default());
        let opened = std::time::Instant::now();
        let store = Store::open_with_faults(dir.path(), faults.clone()).unwrap();
        rt().block_on(async {
            let a = store.append("c", 0, b"a").unwrap();
            let b = store.append("d", 0, b"b").unwrap();
            // The commit for `b` is under way (held 100 ms) when `a` is waited for.
            faults.set_delay(std::time::Duration::from_millis(100));
            let begun = faults.begun();
            let (first, second) = tokio::join!(store.durable(b), async {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while faults.begun() == begun && std::time::Instant::now() < deadline {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                store.durable(a).await
            });
            first.unwrap();
            second.unwrap();
            faults.set_delay(std::time::Duration::ZERO);
            let c = store.append("c", 1, b"c").unwrap();
            store.durable(c).await.unwrap();
        });
        if opened.elapsed() >= std::time::Duration::from_millis(400) {
            continue;
        }
        // `c` went to the journal: its commit was not a checkpoint.
        let keys = journal_keys(dir.path());
        assert!(
            keys.contains(&log_key("c", 1)),
            "the commit after an out-of-order wait was a checkpoint (journal: {} records)",
            keys.len()
        );
        return;
    }
    panic!("no attempt finished before the periodic checkpoint: the machine is too slow to tell");
}
