//! Chart history against the real server: versions, restore while people
//! type, durability of "Save version", exports unchanged by compaction,
//! and who may do what.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use easel_protocol as protocol;
use serde_json::{json, Value};
use yrs::{GetString, ReadTxn, Transact, XmlElementPrelim, XmlFragment, XmlTextPrelim};

use crate::api_support::{api, create_conference, request, Resp};
use crate::support::{wait_for, TestClient, TestServer};

const WAIT: Duration = Duration::from_secs(20);

/// Appends a paragraph holding `text` to the chart's notes, as an editor
/// would (the end is read in the same transaction as the insert).
fn append_paragraph(client: &TestClient, text: &str) {
    let notes = client.doc.get_or_insert_xml_fragment("notes");
    let update = {
        let mut txn = client.doc.transact_mut();
        let len = notes.len(&txn);
        let p = notes.insert(&mut txn, len, XmlElementPrelim::empty("paragraph"));
        p.insert(&mut txn, 0, XmlTextPrelim::new(text));
        txn.encode_update_v1()
    };
    client.send_raw(protocol::encode_update(update).to_vec());
}

fn notes(client: &TestClient) -> String {
    let txn = client.doc.transact();
    txn.get_xml_fragment("notes")
        .map(|f| f.get_string(&txn))
        .unwrap_or_default()
}

fn content(client: &TestClient) -> String {
    easel_chart::content_json(&client.state()).unwrap()
}

fn save(server: &TestServer, chart: &str, token: &str, label: &str) -> Value {
    let r = server.api(
        "POST",
        &format!("/api/v1/charts/{chart}/versions"),
        Some(token),
        Some(json!({ "label": label })),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    r.body
}

fn versions(server: &TestServer, chart: &str, token: &str) -> Vec<Value> {
    let r = server.api(
        "GET",
        &format!("/api/v1/charts/{chart}/versions"),
        Some(token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body["versions"].as_array().unwrap().clone()
}

fn get_bytes(server: &TestServer, path: &str, token: &str) -> Resp {
    let auth = format!("Bearer {token}");
    request(&server.addr, "GET", path, &[("Authorization", &auth)], None)
}

/// Two clients append paragraphs without pause while an edit link restores
/// an earlier version: both converge, without reconnecting, to the
/// version's content plus every paragraph typed after they received the
/// restore; what the restore replaced is kept as a version.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restore_while_two_clients_type_converges_and_keeps_later_edits() {
    let server = TestServer::start();
    let (chart, edit) = server.new_chart();
    let url = server.ws_url_with(&chart, Some(&edit));
    let a = Arc::new(TestClient::connect(&url).await);
    let b = Arc::new(TestClient::connect(&url).await);
    a.wait_synced().await;
    b.wait_synced().await;
    for i in 0..3 {
        append_paragraph(&a, &format!("kept-{i}"));
    }
    wait_for("b has the kept paragraphs", WAIT, || {
        notes(&b).contains("kept-2")
    })
    .await;
    let version = save(&server, &chart, &edit, "before the detour");
    let version_id = version["id"].as_str().unwrap().to_owned();
    for i in 0..3 {
        append_paragraph(&b, &format!("detour-{i}"));
    }
    wait_for("a has the detour", WAIT, || notes(&a).contains("detour-2")).await;

    // Both type; each paragraph records whether its author had already
    // received the restore (its notes no longer hold the detour).
    let typing = |client: Arc<TestClient>, who: &'static str| {
        tokio::spawn(async move {
            let mut after = Vec::new();
            for i in 0..120 {
                let seen_restore = !notes(&client).contains("detour-0");
                let text = format!("{who}-{i}");
                append_paragraph(&client, &text);
                if seen_restore {
                    after.push(text);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            after
        })
    };
    let ta = typing(a.clone(), "alice");
    let tb = typing(b.clone(), "bob");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let addr = server.addr.clone();
    let path = format!("/api/v1/charts/{chart}/versions/{version_id}/restore");
    let token = edit.clone();
    let restored =
        tokio::task::spawn_blocking(move || api(&addr, "POST", &path, Some(&token), None))
            .await
            .unwrap();
    assert_eq!(restored.status, 200, "{}", restored.raw);
    let after_a = ta.await.unwrap();
    let after_b = tb.await.unwrap();
    assert!(
        after_a.len() > 20 && after_b.len() > 20,
        "both typed after the restore: {} and {}",
        after_a.len(),
        after_b.len()
    );

    // Neither client reconnected, and a newcomer sees the same.
    assert!(a.closed().is_none() && b.closed().is_none());
    let c = TestClient::connect(&url).await;
    c.wait_synced().await;
    wait_for("all three converge", WAIT, || {
        let (x, y, z) = (content(&a), content(&b), content(&c));
        x == y && y == z && after_b.iter().all(|t| x.contains(t.as_str()))
    })
    .await;
    let text = notes(&c);
    for i in 0..3 {
        assert!(text.contains(&format!("kept-{i}")), "{text}");
        assert!(!text.contains(&format!("detour-{i}")), "{text}");
    }
    for t in after_a.iter().chain(after_b.iter()) {
        assert!(text.contains(&format!(">{t}<")), "{t} lost: {text}");
    }

    // The replaced state and the restored one are versions; restoring the
    // "before" one brings the detour back (a restore can be undone).
    let listed = versions(&server, &chart, &edit);
    let triggers: Vec<&str> = listed
        .iter()
        .map(|v| v["trigger"].as_str().unwrap())
        .collect();
    assert_eq!(
        triggers,
        ["manual", "before_restore", "restore"],
        "{listed:?}"
    );
    assert_eq!(listed[2]["restored_from"], version_id.as_str());
    assert_eq!(listed[2]["by_role"], "edit");
    let before_id = restored.body["before"]["id"].as_str().unwrap();
    let undo = server.api(
        "POST",
        &format!("/api/v1/charts/{chart}/versions/{before_id}/restore"),
        Some(&edit),
        None,
    );
    assert_eq!(undo.status, 200, "{}", undo.raw);
    wait_for("the detour is back", WAIT, || {
        notes(&c).contains("detour-2")
    })
    .await;
    c.close().await;
}

/// "Save version" answered, then SIGKILL at once: after the restart the
/// version is listed and exports exactly what the chart showed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_version_survives_kill_9_right_after_the_answer() {
    let mut server = TestServer::start();
    let (chart, edit) = server.new_chart();
    let client = TestClient::connect(&server.ws_url_with(&chart, Some(&edit))).await;
    client.wait_synced().await;
    append_paragraph(&client, "written before the save");
    let path = format!("/api/v1/charts/{chart}/export.md");
    wait_for("the edit is stored", WAIT, || {
        get_bytes(&server, &path, &edit)
            .raw
            .contains("written before the save")
    })
    .await;
    let live = get_bytes(&server, &path, &edit).raw;
    let saved = save(&server, &chart, &edit, "kill me now");
    server.kill9();
    client.abort();
    server.restart(&[]);
    let listed = versions(&server, &chart, &edit);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], saved["id"]);
    assert_eq!(listed[0]["label"], "kill me now");
    let id = saved["id"].as_str().unwrap();
    let export = get_bytes(
        &server,
        &format!("/api/v1/charts/{chart}/versions/{id}/export.md"),
        &edit,
    );
    assert_eq!(export.status, 200);
    assert_eq!(export.raw, live);
}

/// Many versions taken between many compactions (a tiny threshold), then a
/// restart: every version's Markdown, HTML, JSON and PDF exports are byte
/// for byte what they were when first fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_leaves_every_versions_exports_byte_for_byte_the_same() {
    let mut server = TestServer::start_with(&["--compact-after-updates", "4"]);
    let (chart, edit) = server.new_chart();
    let client = TestClient::connect(&server.ws_url_with(&chart, Some(&edit))).await;
    client.wait_synced().await;
    let probe = TestClient::connect(&server.ws_url_with(&chart, Some(&edit))).await;
    probe.wait_synced().await;
    let mut ids = Vec::new();
    for round in 0..12 {
        for i in 0..3 {
            append_paragraph(&client, &format!("r{round}-p{i} <b>&amp;</b>"));
            let want = format!("r{round}-p{i}");
            // One batch per edit: wait until it came back to another client.
            wait_for("the probe sees it", WAIT, || notes(&probe).contains(&want)).await;
        }
        ids.push(
            save(&server, &chart, &edit, &format!("round {round}"))["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let fetch = |server: &TestServer| {
        let mut all = BTreeMap::new();
        for id in &ids {
            for ext in ["md", "html", "json", "pdf"] {
                let r = get_bytes(
                    server,
                    &format!("/api/v1/charts/{chart}/versions/{id}/export.{ext}"),
                    &edit,
                );
                assert_eq!(r.status, 200, "{}", r.raw);
                all.insert((id.clone(), ext), r.headers["etag"].clone());
            }
        }
        all
    };
    let first = fetch(&server);
    // Compactions ran while the versions were taken.
    assert!(server.metric("easel_compactions_total") >= 3);
    for i in 0..40 {
        append_paragraph(&client, &format!("after-{i}"));
    }
    wait_for("the probe sees the rest", WAIT, || {
        notes(&probe).contains("after-39")
    })
    .await;
    client.close().await;
    probe.close().await;
    server.restart(&[]);
    let second = fetch(&server);
    assert_eq!(first, second, "an export of a version changed");
    // The ETag is the SHA-256 of the bytes; spot-check the bytes themselves.
    let md = |s: &TestServer| {
        get_bytes(
            s,
            &format!("/api/v1/charts/{chart}/versions/{}/export.md", ids[0]),
            &edit,
        )
        .raw
    };
    let text = md(&server);
    assert!(text.contains("r0-p2"), "{text}");
    assert!(!text.contains("r1-p0"), "{text}");
}

/// Read links browse versions but cannot save or restore (403 with
/// `restore_not_allowed`), and cannot write over the WebSocket; a version
/// id of another chart or conference is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_links_cannot_restore_and_versions_stay_with_their_chart() {
    let server = TestServer::start();
    let f = server.fixture();
    let (chart, edit) = server.new_chart();
    let (other_chart, _) = server.new_chart();
    let v = save(&server, &chart, &edit, "mine")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let v_other = save(&server, &other_chart, &edit, "other chart")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut second = create_conference(&server.addr, "Elsewhere", 2);
    let foreign_chart = server.propose(&mut second, "foreign");
    let v_foreign = save(&server, &foreign_chart, &second.edit, "foreign")["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Readers may list, export and compare.
    assert_eq!(versions(&server, &chart, &f.read).len(), 1);
    let diff = server.api(
        "GET",
        &format!("/api/v1/charts/{chart}/versions/{v}/diff"),
        Some(&f.read),
        None,
    );
    assert_eq!(diff.status, 200, "{}", diff.raw);
    // But not restore, nor save.
    let restore = server.api(
        "POST",
        &format!("/api/v1/charts/{chart}/versions/{v}/restore"),
        Some(&f.read),
        None,
    );
    assert_eq!(restore.status, 403, "{}", restore.raw);
    assert_eq!(restore.code(), "restore_not_allowed");
    let save_r = server.api(
        "POST",
        &format!("/api/v1/charts/{chart}/versions"),
        Some(&f.read),
        Some(json!({"label": "x"})),
    );
    assert_eq!(save_r.status, 403);
    assert_eq!(versions(&server, &chart, &edit).len(), 1);

    // Over the WebSocket a read link cannot write at all.
    let editor = TestClient::connect(&server.ws_url_with(&chart, Some(&edit))).await;
    let reader = TestClient::connect(&server.ws_url_with(&chart, Some(&f.read))).await;
    editor.wait_synced().await;
    reader.wait_synced().await;
    append_paragraph(&reader, "written by a reader");
    wait_for("the reader is told", WAIT, || !reader.denied().is_empty()).await;
    append_paragraph(&editor, "written by the editor");
    wait_for("the editor's edit arrives", WAIT, || {
        notes(&reader).contains("by the editor")
    })
    .await;
    assert!(!notes(&editor).contains("by a reader"));

    // A version of another chart, of another conference, or none at all.
    for (id, token, status) in [
        (&v_other, &edit, 404),
        (&v_foreign, &edit, 404),
        (&"v-nonexistent".to_owned(), &edit, 404),
        (&v, &second.edit, 403),
    ] {
        for (method, path) in [
            (
                "POST",
                format!("/api/v1/charts/{chart}/versions/{id}/restore"),
            ),
            (
                "GET",
                format!("/api/v1/charts/{chart}/versions/{id}/export.md"),
            ),
            ("GET", format!("/api/v1/charts/{chart}/versions/{id}/diff")),
        ] {
            let r = server.api(method, &path, Some(token), None);
            assert_eq!(r.status, status, "{method} {path}: {}", r.raw);
        }
    }
    let cross = server.api(
        "GET",
        &format!("/api/v1/charts/{chart}/versions/{v}/diff?against={v_other}"),
        Some(&edit),
        None,
    );
    assert_eq!(cross.status, 404, "{}", cross.raw);
    editor.close().await;
    reader.close().await;
}

/// The cap drops the oldest automatic version first and a saved one only
/// when nothing else is left; finalizing takes a version; deleting the
/// conference deletes every version; proceedings `?as_of=` are built
/// from versions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cap_finalize_as_of_and_deletion() {
    let server = TestServer::start_with(&["--max-versions-per-chart", "3"]);
    let mut conf = create_conference(&server.addr, "History", 4);
    let chart = server.propose(&mut conf, "capped");
    let client = TestClient::connect(&server.ws_url_with(&chart, Some(&conf.edit))).await;
    client.wait_synced().await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let first = id(&save(&server, &chart, &conf.edit, "one"));
    append_paragraph(&client, "as of the second");
    wait_for("stored", WAIT, || {
        get_bytes(
            &server,
            &format!("/api/v1/charts/{chart}/export.md"),
            &conf.edit,
        )
        .raw
        .contains("as of the second")
    })
    .await;
    let second_v = save(&server, &chart, &conf.edit, "two");
    let between = second_v["at"].as_str().unwrap().to_owned();
    // A restore adds two automatic versions: four in all, cap three.
    let r = server.api(
        "POST",
        &format!("/api/v1/charts/{chart}/versions/{first}/restore"),
        Some(&conf.organizer),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    let triggers = |vs: &[Value]| -> Vec<String> {
        vs.iter()
            .map(|v| v["trigger"].as_str().unwrap().to_owned())
            .collect()
    };
    let listed = versions(&server, &chart, &conf.edit);
    assert_eq!(
        triggers(&listed),
        ["manual", "manual", "restore"],
        "{listed:?}"
    );
    // Only saved ones left past the cap: the oldest saved one goes.
    save(&server, &chart, &conf.edit, "three");
    save(&server, &chart, &conf.edit, "four");
    let listed = versions(&server, &chart, &conf.edit);
    let labels: Vec<&str> = listed
        .iter()
        .map(|v| v["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["two", "three", "four"], "{listed:?}");

    // Proceedings as of the second save hold its text; as of before any
    // version, the chart is empty.
    let path = |as_of: &str| {
        format!(
            "/api/v1/conferences/{}/proceedings.md?as_of={}",
            conf.conference_id,
            as_of.replace('+', "%2B").replace(':', "%3A")
        )
    };
    let at = get_bytes(&server, &path(&between), &conf.edit);
    assert_eq!(at.status, 200, "{}", at.raw);
    assert!(at.raw.contains("as of the second"), "{}", at.raw);
    let early = get_bytes(&server, &path("2020-01-01T00:00:00Z"), &conf.edit);
    assert!(!early.raw.contains("as of the second"), "{}", early.raw);
    let bad = get_bytes(&server, &path("yesterday"), &conf.edit);
    assert_eq!(bad.status, 400, "{}", bad.raw);
    let no_round = get_bytes(&server, &path("round:nope"), &conf.edit);
    assert_eq!(no_round.status, 404, "{}", no_round.raw);

    // Finalizing takes a version.
    let session = server.api(
        "GET",
        &format!("/api/v1/charts/{chart}"),
        Some(&conf.organizer),
        None,
    );
    let session_id = session.body["session"]["id"].as_str().unwrap().to_owned();
    for state in ["live", "final"] {
        let r = server.api(
            "PATCH",
            &format!(
                "/api/v1/conferences/{}/sessions/{session_id}",
                conf.conference_id
            ),
            Some(&conf.organizer),
            Some(json!({ "state": state })),
        );
        assert_eq!(r.status, 200, "{}", r.raw);
    }
    let listed = versions(&server, &chart, &conf.edit);
    let labels: Vec<&str> = listed
        .iter()
        .map(|v| v["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["three", "four", "Finalized"], "{listed:?}");
    assert_eq!(listed[2]["trigger"], "finalized");
    // A final chart cannot be restored.
    let v = id(&listed[0]);
    let r = server.api(
        "POST",
        &format!("/api/v1/charts/{chart}/versions/{v}/restore"),
        Some(&conf.organizer),
        None,
    );
    assert_eq!(r.status, 409, "{}", r.raw);
    client.close().await;

    // Deleting the conference deletes the versions with the charts; another
    // conference's stay.
    let mut other = create_conference(&server.addr, "Other", 2);
    let other_chart = server.propose(&mut other, "stays");
    save(&server, &other_chart, &other.edit, "stays");
    let r = server.api(
        "DELETE",
        &format!("/api/v1/conferences/{}", conf.conference_id),
        Some(&conf.organizer),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    let mut server = server;
    server.terminate();
    let store = easel_store::Store::open(&server.data_dir).unwrap();
    let keys = |prefix: &str| store.scan_documents(prefix).unwrap().len();
    assert_eq!(keys(&format!("version/{chart}/")), 0);
    assert_eq!(keys(&format!("vstate/{chart}/")), 0);
    assert_eq!(keys(&format!("version/{other_chart}/")), 1);
    assert_eq!(keys(&format!("vstate/{other_chart}/")), 1);
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(name: &str, mut ms: Vec<f64>) -> String {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    format!(
        "{name}: n={} median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms[ms.len() - 1]
    )
}

/// The figures in BENCHMARKS.md ("Chart history"): a chart of ~100 KB of
/// state with 100 versions; bytes per version, and the time to take,
/// list, export and restore one, through the real server's API.
///
/// `cargo test -p easel --test integration history_costs -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: run by hand for BENCHMARKS.md"]
async fn history_costs_for_a_100_kb_chart_with_100_versions() {
    use std::time::Instant;
    let server = TestServer::start();
    let (chart, edit) = server.new_chart();
    let client = TestClient::connect(&server.ws_url_with(&chart, Some(&edit))).await;
    client.wait_synced().await;
    let probe = TestClient::connect(&server.ws_url_with(&chart, Some(&edit))).await;
    probe.wait_synced().await;
    let mut n = 0;
    while client.state().len() < 100_000 {
        append_paragraph(
            &client,
            &format!("{n:05} Sessions on open space facilitation, with notes a person would type."),
        );
        n += 1;
        if n % 50 == 0 {
            let want = format!("{:05} ", n - 1);
            wait_for("stored", WAIT, || notes(&probe).contains(&want)).await;
        }
    }
    let last = format!("{:05} ", n - 1);
    wait_for("stored", WAIT, || notes(&probe).contains(&last)).await;
    let state_bytes = client.state().len();
    let mut save_ms = Vec::new();
    let mut ids = Vec::new();
    for i in 0..100 {
        append_paragraph(&client, &format!("edit before version {i}"));
        let want = format!("edit before version {i}");
        wait_for("stored", WAIT, || notes(&probe).contains(&want)).await;
        let t = Instant::now();
        let v = save(&server, &chart, &edit, &format!("v{i}"));
        save_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    let mut list_ms = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        assert_eq!(versions(&server, &chart, &edit).len(), 100);
        list_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let listed = versions(&server, &chart, &edit);
    let mut stored: Vec<f64> = listed
        .iter()
        .map(|v| v["stored_bytes"].as_f64().unwrap())
        .collect();
    stored.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mut export_ms: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate().step_by(5) {
        for ext in ["md", "html", "json", "pdf"] {
            if ext == "pdf" && i % 10 != 0 {
                continue;
            }
            let t = Instant::now();
            let r = get_bytes(
                &server,
                &format!("/api/v1/charts/{chart}/versions/{id}/export.{ext}"),
                &edit,
            );
            assert_eq!(r.status, 200);
            export_ms
                .entry(ext)
                .or_default()
                .push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let mut diff_ms = Vec::new();
    for id in ids.iter().step_by(10) {
        let t = Instant::now();
        let r = server.api(
            "GET",
            &format!("/api/v1/charts/{chart}/versions/{id}/diff"),
            Some(&edit),
            None,
        );
        assert_eq!(r.status, 200);
        diff_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut restore_ms = Vec::new();
    for id in ids.iter().step_by(5) {
        let t = Instant::now();
        let r = server.api(
            "POST",
            &format!("/api/v1/charts/{chart}/versions/{id}/restore"),
            Some(&edit),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.raw);
        restore_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    eprintln!("chart state: {state_bytes} bytes ({n} paragraphs)");
    eprintln!(
        "stored per version: median {:.0} bytes, max {:.0} bytes (deflated state)",
        percentile(&stored, 0.5),
        stored[stored.len() - 1]
    );
    eprintln!("{}", summary("save version (POST, durable)", save_ms));
    eprintln!("{}", summary("list 100 versions (GET)", list_ms));
    for (ext, ms) in export_ms {
        eprintln!("{}", summary(&format!("export a version .{ext}"), ms));
    }
    eprintln!("{}", summary("diff a version against live", diff_ms));
    eprintln!(
        "{}",
        summary("restore (two versions + the update)", restore_ms)
    );
    client.close().await;
    probe.close().await;
}

/// A round that ended (plus the grace) gets a version of each of its
/// charts, once; a round still to come gets none; `?as_of=round:` reads
/// that version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_end_takes_a_version_of_its_charts_once() {
    let server = TestServer::start_with(&["--round-end-version-grace", "1s"]);
    let now = jiff::Timestamp::now();
    let day = |d: i64| {
        now.checked_add(jiff::SignedDuration::from_hours(24 * d))
            .unwrap()
            .strftime("%Y-%m-%d")
            .to_string()
    };
    let created = server.api(
        "POST",
        "/api/v1/conferences",
        None,
        Some(json!({"name": "Now", "time_zone": "UTC", "start_date": day(-1), "end_date": day(1)})),
    );
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["conference"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let org = created.body["organizer_token"].as_str().unwrap().to_owned();
    let space = server.api(
        "POST",
        &format!("/api/v1/conferences/{id}/spaces"),
        Some(&org),
        Some(json!({"name": "Room"})),
    );
    let space_id = space.body["spaces"][0]["id"].as_str().unwrap().to_owned();
    let at = |mins: i64| {
        now.checked_add(jiff::SignedDuration::from_mins(mins))
            .unwrap()
            .round(jiff::Unit::Minute)
            .unwrap()
            .to_string()
    };
    let mut rounds = Vec::new();
    for start in [-40, 60] {
        let r = server.api(
            "POST",
            &format!("/api/v1/conferences/{id}/rounds"),
            Some(&org),
            Some(json!({"starts_at": at(start), "duration_minutes": 20, "kind": "breakout"})),
        );
        assert_eq!(r.status, 201, "{}", r.raw);
        let round = r.body["rounds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| {
                x["starts_at"]
                    .as_str()
                    .unwrap()
                    .starts_with(&at(start)[..16])
            })
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        rounds.push(round);
    }
    let mut charts = Vec::new();
    for (i, round) in rounds.iter().enumerate() {
        let r = server.api(
            "POST",
            &format!("/api/v1/conferences/{id}/sessions"),
            Some(&org),
            Some(json!({"topic": format!("t{i}"), "convener": "x", "round_id": round, "space_id": space_id})),
        );
        assert_eq!(r.status, 201, "{}", r.raw);
        charts.push(r.body["session"]["chart_id"].as_str().unwrap().to_owned());
    }
    let client = TestClient::connect(&server.ws_url_with(&charts[0], Some(&org))).await;
    client.wait_synced().await;
    append_paragraph(&client, "said in the ended round");
    // The watcher runs every 250 ms here; the ended round's chart gets
    // one version (the edit may land before or after it).
    let mut listed = Vec::new();
    for _ in 0..100 {
        listed = versions(&server, &charts[0], &org);
        if !listed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["trigger"], "round_end");
    assert_eq!(listed[0]["round_id"], rounds[0].as_str());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(versions(&server, &charts[0], &org).len(), 1, "taken once");
    assert!(
        versions(&server, &charts[1], &org).is_empty(),
        "a round to come has none"
    );
    let path = format!(
        "/api/v1/conferences/{id}/proceedings.json?as_of=round:{}",
        rounds[0]
    );
    let r = get_bytes(&server, &path, &org);
    assert_eq!(r.status, 200, "{}", r.raw);
    client.close().await;
}
