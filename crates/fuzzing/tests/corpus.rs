//! Replays the checked-in fuzz corpus (`fuzz/corpus/<target>/`) through the
//! fuzz targets' entry points, so every `cargo test` exercises them (CI has
//! no cargo-fuzz). `cargo test -p easel-fuzzing -- --ignored write_seeds`
//! regenerates the hand-made seeds.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let inputs: Vec<_> = files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    assert!(!inputs.is_empty(), "no corpus in {}", dir.display());
    inputs
}

fn replay(target: &str, run: fn(&[u8])) {
    let inputs = corpus(target);
    for (path, bytes) in &inputs {
        let outcome = std::panic::catch_unwind(|| run(bytes));
        assert!(outcome.is_ok(), "{target}: {} fails", path.display());
    }
    eprintln!("{target}: {} corpus inputs replayed", inputs.len());
}

#[test]
fn message_handler_corpus() {
    replay("message_handler", easel_fuzzing::message_handler);
}

#[test]
fn update_check_corpus() {
    replay("update_check", easel_fuzzing::update_check);
}

#[test]
fn log_replay_corpus() {
    replay("log_replay", easel_fuzzing::log_replay);
}

#[test]
fn http_body_corpus() {
    replay("http_body", easel_fuzzing::http_body);
}

/// The seeds: real chart logs (with and without a snapshot, one with a
/// damaged entry) and a valid body for every body-taking route.
#[test]
#[ignore]
fn write_seeds() {
    use yrs::{Map, Text, Transact, WriteTxn, XmlFragment};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let doc = yrs::Doc::with_client_id(9);
    let mut updates = Vec::new();
    for i in 0..4 {
        let mut txn = doc.transact_mut();
        let notes = txn.get_or_insert_xml_fragment("notes");
        let p = notes.push_back(&mut txn, yrs::XmlElementPrelim::empty("paragraph"));
        p.push_back(
            &mut txn,
            yrs::XmlTextPrelim::new(format!("point {i}").as_str()),
        );
        let meta = txn.get_or_insert_map("meta");
        meta.insert(&mut txn, "topic", format!("t{i}"));
        let t = txn.get_or_insert_text("t");
        t.insert(&mut txn, 0, "x");
        updates.push(txn.encode_update_v1());
    }
    let snapshot = {
        use yrs::ReadTxn;
        doc.transact()
            .encode_state_as_update_v1(&yrs::StateVector::default())
    };
    let dir = root.join("log_replay");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: Vec<u8>| std::fs::write(dir.join(name), bytes).unwrap();
    write(
        "log_only",
        easel_fuzzing::encode_stored_chart(None, &updates),
    );
    write(
        "snapshot_and_log",
        easel_fuzzing::encode_stored_chart(Some(&snapshot[..]), &updates[2..]),
    );
    write(
        "snapshot_only",
        easel_fuzzing::encode_stored_chart(Some(&snapshot[..]), &[]),
    );
    write(
        "missing_dependency",
        easel_fuzzing::encode_stored_chart(None, &updates[1..]),
    );
    let mut damaged = updates.clone();
    let half = damaged[1].len() / 2;
    damaged[1].truncate(half);
    write(
        "damaged_entry",
        easel_fuzzing::encode_stored_chart(None, &damaged),
    );

    let bodies: [&str; 10] = [
        r#"{"name":"Conf","time_zone":"UTC","start_date":"2030-01-01","end_date":"2030-01-02","description":"d"}"#,
        r#"{"name":"Renamed","published":true,"proceedings_public":false,"time_zone":"Asia/Tokyo"}"#,
        r#"{"local_start":"2030-03-29T10:00","duration_minutes":30,"kind":"breakout","label":"R"}"#,
        r#"{"segments":[{"kind":"breakout","count":3,"start":{"type":"at","start":{"type":"instant","at":"2030-03-29T12:00:00Z"}},"interval_minutes":60,"duration_minutes":50}]}"#,
        r#"{"name":"Hall","video_url":"https://example.org/v","capacity":30}"#,
        r#"{"name":"Hall B","video_url":"","capacity":0}"#,
        r#"{"topic":"Another","convener":"B","round_id":"{round}","space_id":"{space}"}"#,
        r#"{"topic":"Edited","state":"live"}"#,
        r#"{"absorb":"{session}"}"#,
        r#"{"role":"read","label":"reader"}"#,
    ];
    let dir = root.join("http_body");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, body) in bodies.iter().enumerate() {
        let mut input = vec![i as u8];
        input.extend_from_slice(body.as_bytes());
        let name = easel_fuzzing::BODY_ROUTES[i].1.rsplit('/').next().unwrap();
        std::fs::write(
            dir.join(format!("{i:02}_{}", name.trim_matches(['{', '}']))),
            input,
        )
        .unwrap();
    }
}
