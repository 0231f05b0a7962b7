//! Search through the real binary: words typed by a real WebSocket client
//! (notes, an action item, a board sticky) are found through
//! `GET /conferences/{id}/search` within moments, ranked with escaped,
//! highlighted snippets and their place; a token searches only its own
//! conference; bad queries get clear 400s; a renamed topic is found under
//! its new name; a deleted conference leaves the index; `easel reindex`
//! rebuilds the index online and offline.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use yrs::{
    Map, MapPrelim, TextPrelim, Transact, Xml, XmlElementPrelim, XmlFragment, XmlTextPrelim,
};

use crate::api_support::{create_conference, request, Resp};
use crate::exports::type_paragraph;
use crate::support::*;

fn search(server: &TestServer, conference: &str, token: &str, q: &str) -> Resp {
    let auth = format!("Bearer {token}");
    let q: String = q
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    request(
        &server.addr,
        "GET",
        &format!("/api/v1/conferences/{conference}/search?q={q}"),
        &[("Authorization", &auth)],
        None,
    )
}

fn hits(r: &Resp) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body["hits"].as_array().cloned().unwrap_or_default()
}

/// Appends a task list with one item, as TipTap would.
fn type_action(client: &TestClient, text: &str) {
    let notes = client.doc.get_or_insert_xml_fragment("notes");
    let update = {
        let mut txn = client.doc.transact_mut();
        let len = notes.len(&txn);
        let list = notes.insert(&mut txn, len, XmlElementPrelim::empty("taskList"));
        let item = list.insert(&mut txn, 0, XmlElementPrelim::empty("taskItem"));
        item.insert_attribute(&mut txn, "checked", "false");
        let p = item.insert(&mut txn, 0, XmlElementPrelim::empty("paragraph"));
        p.insert(&mut txn, 0, XmlTextPrelim::new(text));
        txn.encode_update_v1()
    };
    client.send_raw(easel_protocol::encode_update(update).to_vec());
}

/// Adds a sticky to the board (docs/chart-schema.md, "The board").
fn add_sticky(client: &TestClient, id: &str, text: &str) {
    let board = client.doc.get_or_insert_map("board");
    let update = {
        let mut txn = client.doc.transact_mut();
        let stickies = match board.get(&txn, "stickies") {
            Some(yrs::Out::YMap(m)) => m,
            _ => board.insert(&mut txn, "stickies", MapPrelim::default()),
        };
        let sticky = stickies.insert(&mut txn, id, MapPrelim::default());
        sticky.insert(&mut txn, "text", TextPrelim::new(text));
        sticky.insert(&mut txn, "x", 100.0);
        sticky.insert(&mut txn, "y", 100.0);
        txn.encode_update_v1()
    };
    client.send_raw(easel_protocol::encode_update(update).to_vec());
}

/// Polls the search until `q` has a hit; returns the hits and how long it
/// took from `since`.
async fn found(
    server: &TestServer,
    conference: &str,
    token: &str,
    q: &str,
    since: Instant,
) -> (Vec<Value>, Duration) {
    let mut out = Vec::new();
    wait_for(&format!("a hit for {q:?}"), WAIT, || {
        out = hits(&search(server, conference, token, q));
        !out.is_empty()
    })
    .await;
    (out, since.elapsed())
}

#[tokio::test]
async fn typed_words_are_found_at_their_place_in_their_own_conference_only() {
    let server = TestServer::start();
    let f = server.fixture();
    let topic = "Roadmap <b>bold</b> & friends";
    let chart = server.chart_id(topic);
    let client = TestClient::connect(&server.ws_url(topic)).await;
    client.wait_synced().await;

    let typed = Instant::now();
    type_paragraph(
        &client,
        "The zanzibar plan <script>alert(1)</script> needs budget",
    );
    let (notes, took) = found(&server, &f.conference_id, &f.read, "zanzibar", typed).await;
    eprintln!("typed word found after {took:?}");
    assert_eq!(notes.len(), 1, "{notes:?}");
    let hit = &notes[0];
    assert_eq!(hit["chart_id"], chart);
    assert_eq!(hit["topic"], topic);
    assert_eq!(hit["kind"], "note");
    // The template's ten blocks (the Open Space report form: five
    // headings, each with its body) come first; the heading above is its
    // last.
    assert_eq!(hit["place"]["path"], json!([10]));
    assert_eq!(hit["place"]["heading"], "Next steps / actions");
    let html = hit["snippet_html"].as_str().unwrap();
    assert!(html.contains("<mark>zanzibar</mark>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    let snippet = hit["snippet"].as_str().unwrap();
    let [start, end] = [0, 1].map(|i| hit["highlights"][0][i].as_u64().unwrap() as usize);
    assert_eq!(
        &snippet[start..end],
        "zanzibar",
        "ASCII: UTF-16 offsets are byte offsets"
    );

    // Case and accents do not matter; all words must occur.
    assert_eq!(
        hits(&search(
            &server,
            &f.conference_id,
            &f.read,
            "ZÁNZIBAR budget"
        ))
        .len(),
        1
    );
    assert!(hits(&search(
        &server,
        &f.conference_id,
        &f.read,
        "zanzibar nowhere"
    ))
    .is_empty());

    // An action item and a sticky, each at its place.
    type_action(&client, "Email the wombat society");
    add_sticky(&client, "st-1", "Quokka idea\nsecond line");
    let since = Instant::now();
    let (actions, _) = found(&server, &f.conference_id, &f.read, "wombat", since).await;
    assert_eq!(actions[0]["kind"], "action");
    assert_eq!(actions[0]["place"]["path"], json!([11, 0]));
    let (stickies, _) = found(&server, &f.conference_id, &f.read, "quokka", since).await;
    assert_eq!(stickies[0]["kind"], "sticky");
    assert_eq!(stickies[0]["place"]["sticky_id"], "st-1");

    // The topic is a passage of its own.
    let topics = hits(&search(&server, &f.conference_id, &f.read, "roadmap"));
    assert_eq!(topics[0]["kind"], "topic");
    assert!(topics[0]["snippet_html"]
        .as_str()
        .unwrap()
        .contains("&lt;b&gt;"));

    // Another conference with the same word: each token sees its own.
    let mut other = create_conference(&server.addr, "Other", 2);
    let other_chart = server.propose(&mut other, "Elsewhere");
    let other_client =
        TestClient::connect(&server.ws_url_with(&other_chart, Some(&other.edit))).await;
    other_client.wait_synced().await;
    type_paragraph(&other_client, "zanzibar in the other conference");
    let (theirs, _) = found(
        &server,
        &other.conference_id,
        &other.read,
        "zanzibar",
        Instant::now(),
    )
    .await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["chart_id"], other_chart);
    assert_eq!(
        hits(&search(&server, &f.conference_id, &f.read, "zanzibar")).len(),
        1
    );
    assert_eq!(
        hits(&search(&server, &f.conference_id, &f.read, "zanzibar"))[0]["chart_id"],
        chart
    );
    let cross = search(&server, &other.conference_id, &f.read, "zanzibar");
    assert_eq!(cross.status, 403, "{}", cross.raw);
    let none = request(
        &server.addr,
        "GET",
        &format!("/api/v1/conferences/{}/search?q=zanzibar", f.conference_id),
        &[],
        None,
    );
    assert_eq!(none.status, 401);

    // Bad input: clear 400s, never a panic.
    for q in ["", "   ", "!!! ???", "*"] {
        let r = search(&server, &f.conference_id, &f.read, q);
        assert_eq!(r.status, 400, "{q:?}: {}", r.raw);
        assert_eq!(r.code(), "invalid_input");
    }
    let long = "word ".repeat(2048);
    let r = search(&server, &f.conference_id, &f.read, &long);
    assert_eq!(r.status, 400, "{}", r.raw);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--max-search-query-bytes"));
    let bad_limit = request(
        &server.addr,
        "GET",
        &format!(
            "/api/v1/conferences/{}/search?q=x&limit=many",
            f.conference_id
        ),
        &[("Authorization", &format!("Bearer {}", f.read))],
        None,
    );
    assert_eq!(bad_limit.status, 400, "{}", bad_limit.raw);
    // A syntax error falls back to the plain words.
    let lenient = search(&server, &f.conference_id, &f.read, "\"zanzibar plan");
    assert_eq!(lenient.body["lenient"], true, "{}", lenient.raw);
    assert_eq!(hits(&lenient).len(), 1);
    let strict = search(&server, &f.conference_id, &f.read, "\"zanzibar plan\"");
    assert_eq!(strict.body["lenient"], false);
    assert_eq!(hits(&strict).len(), 1);
    // Field syntax never reaches another conference's passages.
    let probe = search(
        &server,
        &f.conference_id,
        &f.read,
        &format!("conference:{} zanzibar", other.conference_id),
    );
    assert!(
        hits(&probe).iter().all(|h| h["chart_id"] == chart),
        "{}",
        probe.raw
    );

    // A renamed topic is found under its new name.
    let session = topics[0]["session_id"].as_str().unwrap().to_owned();
    let renamed = server.api(
        "PATCH",
        &format!("/api/v1/conferences/{}/sessions/{session}", f.conference_id),
        Some(&f.organizer),
        Some(json!({"topic": "Platypus strategy"})),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.raw);
    let (named, _) = found(
        &server,
        &f.conference_id,
        &f.read,
        "platypus",
        Instant::now(),
    )
    .await;
    assert_eq!(named[0]["kind"], "topic");
    assert!(hits(&search(&server, &f.conference_id, &f.read, "roadmap")).is_empty());
    assert_eq!(
        hits(&search(&server, &f.conference_id, &f.read, "zanzibar"))[0]["topic"],
        "Platypus strategy"
    );

    // Deleting the other conference removes its passages from the index.
    let deleted = server.api(
        "DELETE",
        &format!("/api/v1/conferences/{}", other.conference_id),
        Some(&other.organizer),
        None,
    );
    assert_eq!(deleted.status, 200, "{}", deleted.raw);
    client.close().await;
    other_client.close().await;
    let mut server = server;
    assert_eq!(server.terminate(), Some(0));
    let index = easel_search::SearchIndex::open(&server.data_dir.join("search")).unwrap();
    assert!(!index.needs_rebuild(), "closed cleanly at shutdown");
    assert_eq!(
        index
            .search(&other.conference_id, "zanzibar", 10)
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        index
            .search(&f.conference_id, "zanzibar", 10)
            .unwrap()
            .total,
        1
    );
}

#[tokio::test]
async fn reindex_rebuilds_the_index_online_and_offline() {
    let mut server = TestServer::start();
    let f = server.fixture();
    let client = TestClient::connect(&server.ws_url("Reindexing")).await;
    client.wait_synced().await;
    type_paragraph(&client, "kookaburra laughs");
    found(
        &server,
        &f.conference_id,
        &f.read,
        "kookaburra",
        Instant::now(),
    )
    .await;

    let data_dir = server.data_dir.clone();
    let reindex = || {
        let out = Command::new(env!("CARGO_BIN_EXE_easel"))
            .arg("reindex")
            .arg("--data-dir")
            .arg(&data_dir)
            .output()
            .expect("run easel reindex");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let online = reindex();
    assert!(
        online.contains("by the running server") && online.contains("1 charts"),
        "{online}"
    );
    assert_eq!(
        hits(&search(&server, &f.conference_id, &f.read, "kookaburra")).len(),
        1
    );

    client.close().await;
    assert_eq!(server.terminate(), Some(0));
    // An index lost (or from another version) is rebuilt offline...
    std::fs::remove_dir_all(server.data_dir.join("search")).unwrap();
    let offline = reindex();
    assert!(
        offline.contains("offline") && offline.contains("1 charts"),
        "{offline}"
    );
    let index = easel_search::SearchIndex::open(&server.data_dir.join("search")).unwrap();
    assert!(!index.needs_rebuild());
    assert_eq!(
        index
            .search(&f.conference_id, "kookaburra", 10)
            .unwrap()
            .total,
        1
    );
    drop(index);
    // ...and by the server itself when it starts without one.
    std::fs::remove_dir_all(server.data_dir.join("search")).unwrap();
    server.restart(&[]);
    found(
        &server,
        &f.conference_id,
        &f.read,
        "kookaburra",
        Instant::now(),
    )
    .await;
}

/// Words the benchmark's charts are written in: common English of a
/// workshop, so that queries hit many passages as real ones do.
const VOCABULARY: &[&str] = &[
    "we",
    "agreed",
    "the",
    "team",
    "should",
    "try",
    "a",
    "new",
    "approach",
    "to",
    "remote",
    "onboarding",
    "people",
    "felt",
    "that",
    "meetings",
    "are",
    "too",
    "long",
    "and",
    "decisions",
    "get",
    "lost",
    "between",
    "sessions",
    "next",
    "time",
    "write",
    "them",
    "down",
    "in",
    "one",
    "place",
    "budget",
    "for",
    "travel",
    "was",
    "cut",
    "so",
    "hybrid",
    "events",
    "matter",
    "more",
    "open",
    "space",
    "works",
    "when",
    "topics",
    "come",
    "from",
    "participants",
    "law",
    "of",
    "two",
    "feet",
    "means",
    "leave",
    "if",
    "you",
    "neither",
    "learn",
    "nor",
    "contribute",
    "coffee",
    "breaks",
    "where",
    "real",
    "conversations",
    "happen",
    "documentation",
    "is",
    "outdated",
    "nobody",
    "owns",
    "wiki",
    "proposal",
    "rotate",
    "ownership",
    "every",
    "quarter",
    "tests",
    "flaky",
    "release",
    "process",
    "slow",
    "deploy",
    "friday",
    "afternoon",
    "risky",
    "mentoring",
    "juniors",
    "pairing",
    "helps",
    "pair",
    "programming",
    "ensemble",
    "sessions",
    "retrospective",
    "format",
    "changes",
    "keep",
    "energy",
    "high",
    "facilitation",
    "skills",
    "training",
    "customers",
    "feedback",
    "loop",
    "shorter",
    "metrics",
    "dashboard",
    "accessibility",
    "audit",
    "screen",
    "readers",
    "keyboard",
    "navigation",
    "security",
    "review",
    "dependencies",
    "update",
    "monthly",
    "community",
    "meetup",
    "volunteers",
    "sponsors",
    "childcare",
    "venue",
    "wifi",
    "catering",
    "vegetarian",
    "options",
    "schedule",
    "breakout",
    "rooms",
    "closing",
    "circle",
    "harvest",
    "action",
    "items",
    "follow",
    "up",
    "email",
    "summary",
    "slack",
    "channel",
    "newsletter",
];

/// A deterministic pseudo-random stream (the benchmark repeats exactly).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
    fn sentence(&mut self, words: usize) -> String {
        let mut s: Vec<&str> = (0..words)
            .map(|_| VOCABULARY[self.next() % VOCABULARY.len()])
            .collect();
        s.dedup();
        let mut out = s.join(" ");
        if let Some(first) = out.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        out.push('.');
        out
    }
}

/// Writes a workshop's worth of notes into a chart: paragraphs under the
/// template's headings, a bullet list, action items and stickies (~4 KB).
fn write_realistic_chart(client: &TestClient, rng: &mut Lcg, marker: &str) {
    let notes = client.doc.get_or_insert_xml_fragment("notes");
    let board = client.doc.get_or_insert_map("board");
    let update = {
        let mut txn = client.doc.transact_mut();
        for i in 0..12 {
            let len = notes.len(&txn);
            let p = notes.insert(&mut txn, len, XmlElementPrelim::empty("paragraph"));
            let mut text = (0..3)
                .map(|_| rng.sentence(12))
                .collect::<Vec<_>>()
                .join(" ");
            if i == 5 {
                text.push_str(&format!(" {marker}"));
            }
            p.insert(&mut txn, 0, XmlTextPrelim::new(text.as_str()));
        }
        let len = notes.len(&txn);
        let list = notes.insert(&mut txn, len, XmlElementPrelim::empty("bulletList"));
        for j in 0..5 {
            let item = list.insert(&mut txn, j, XmlElementPrelim::empty("listItem"));
            let p = item.insert(&mut txn, 0, XmlElementPrelim::empty("paragraph"));
            p.insert(&mut txn, 0, XmlTextPrelim::new(rng.sentence(8).as_str()));
        }
        let len = notes.len(&txn);
        let tasks = notes.insert(&mut txn, len, XmlElementPrelim::empty("taskList"));
        for j in 0..4 {
            let item = tasks.insert(&mut txn, j, XmlElementPrelim::empty("taskItem"));
            let p = item.insert(&mut txn, 0, XmlElementPrelim::empty("paragraph"));
            p.insert(&mut txn, 0, XmlTextPrelim::new(rng.sentence(7).as_str()));
        }
        let stickies = board.insert(&mut txn, "stickies", MapPrelim::default());
        for j in 0..6 {
            let sticky = stickies.insert(&mut txn, format!("s{j}"), MapPrelim::default());
            sticky.insert(&mut txn, "text", TextPrelim::new(rng.sentence(5).as_str()));
        }
        txn.encode_update_v1()
    };
    client.send_raw(easel_protocol::encode_update(update).to_vec());
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// The search benchmark (BENCHMARKS.md, "Search"): 300 realistic charts,
/// query latency over HTTP, and how long an edit takes to be findable.
/// `cargo test -p easel --test integration search_benchmark -- --ignored --nocapture`
#[tokio::test]
#[ignore = "benchmark: run explicitly"]
async fn search_benchmark() {
    let charts: usize = std::env::var("SEARCH_BENCH_CHARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let tmp = tempfile::tempdir().unwrap();
    let server =
        TestServer::spawn_with_env(&tmp.path().join("data"), &[], &[("EASEL_LOG", "warn")]);
    // Hourly rounds must fit the fixture's ten days: two spaces.
    let per_space = charts.div_ceil(2) as u32;
    let mut conf = create_conference(&server.addr, "Bench", per_space);
    let space = server.api(
        "POST",
        &format!("/api/v1/conferences/{}/spaces", conf.conference_id),
        Some(&conf.organizer),
        Some(json!({"name": "Second room"})),
    );
    assert_eq!(space.status, 201, "{}", space.raw);
    let mut second = conf.clone();
    second.space_id = space.body["spaces"][1]["id"].as_str().unwrap().to_owned();
    let mut rng = Lcg(7);
    let t0 = Instant::now();
    let mut ids = Vec::new();
    for i in 0..charts {
        let topic = format!("{} {i}", rng.sentence(4).trim_end_matches('.'));
        let target = if i % 2 == 0 { &mut conf } else { &mut second };
        let chart = server.propose(target, &topic);
        let client = TestClient::connect(&server.ws_url_with(&chart, Some(&conf.edit))).await;
        client.wait_synced().await;
        write_realistic_chart(&client, &mut rng, &format!("marker{i}"));
        client.close().await;
        ids.push(chart);
    }
    let last = format!("marker{}", charts - 1);
    found(
        &server,
        &conf.conference_id,
        &conf.read,
        &last,
        Instant::now(),
    )
    .await;
    eprintln!("{charts} charts written and indexed in {:?}", t0.elapsed());
    let index_bytes: u64 = std::fs::read_dir(tmp.path().join("data/search"))
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();

    // Queries: one word, two words, a phrase, a rare word, as people type them.
    let queries: Vec<String> = (0..400)
        .map(|i| match i % 4 {
            0 => VOCABULARY[rng.next() % VOCABULARY.len()].to_owned(),
            1 => format!(
                "{} {}",
                VOCABULARY[rng.next() % VOCABULARY.len()],
                VOCABULARY[rng.next() % VOCABULARY.len()]
            ),
            2 => format!(
                "\"{}\"",
                rng.sentence(2).trim_end_matches('.').to_lowercase()
            ),
            _ => format!("marker{}", rng.next() % charts),
        })
        .collect();
    let mut took = Vec::new();
    let mut total_hits = 0;
    for q in &queries {
        let t = Instant::now();
        let r = search(&server, &conf.conference_id, &conf.read, q);
        took.push(t.elapsed());
        total_hits += hits(&r).len();
    }
    took.sort();
    eprintln!(
        "queries over HTTP: n={} p50={:?} p99={:?} max={:?} (mean hits {:.1})",
        took.len(),
        percentile(&took, 0.5),
        percentile(&took, 0.99),
        took.last().unwrap(),
        total_hits as f64 / queries.len() as f64
    );

    // Edits: a new word typed into a chart, polled for every 20 ms.
    let mut lag = Vec::new();
    for i in 0..20 {
        let chart = &ids[(i * 37) % ids.len()];
        let client = TestClient::connect(&server.ws_url_with(chart, Some(&conf.edit))).await;
        client.wait_synced().await;
        let word = format!("fresh{i}word");
        let t = Instant::now();
        type_paragraph(&client, &format!("Typed just now: {word}"));
        loop {
            if !hits(&search(&server, &conf.conference_id, &conf.read, &word)).is_empty() {
                break;
            }
            assert!(t.elapsed() < WAIT, "{word} not found");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        lag.push(t.elapsed());
        client.close().await;
    }
    lag.sort();
    eprintln!(
        "edit findable after: n={} p50={:?} max={:?}",
        lag.len(),
        percentile(&lag, 0.5),
        lag.last().unwrap()
    );
    eprintln!("index size on disk: {} KiB", index_bytes / 1024);
    assert!(percentile(&lag, 0.5) < Duration::from_secs(2));
}
