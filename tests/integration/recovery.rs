//! Backup, restore and retention through the real binary: `easel backup`
//! against a running server (through its admin socket) while a client
//! writes, `easel restore` into an empty dir, the restored server's
//! proceedings compared byte for byte and its old links used; deleting a
//! conference (API and CLI) down to the store; automatic deletion after the
//! proceedings were published.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::api_support::{create_conference, Fixture};
use crate::exports::type_paragraph;
use crate::ops::{self, metric};
use crate::support::*;

const FORMATS: [&str; 4] = ["md", "html", "json", "pdf"];

/// GET with a bearer token; the body as bytes (PDFs are not text).
fn get_bytes(addr: &str, path: &str, token: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP head");
    let head = String::from_utf8_lossy(&out[..split]).to_ascii_lowercase();
    assert!(
        !head.contains("transfer-encoding: chunked"),
        "exports are sent with a length"
    );
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, out[split + 4..].to_vec())
}

/// Every proceedings format of a conference, as served.
fn proceedings(addr: &str, conference: &Fixture) -> Vec<(&'static str, Vec<u8>)> {
    FORMATS
        .iter()
        .map(|ext| {
            let path = format!(
                "/api/v1/conferences/{}/proceedings.{ext}",
                conference.conference_id
            );
            let (status, body) = get_bytes(addr, &path, &conference.organizer);
            assert_eq!(status, 200, "proceedings.{ext}");
            (*ext, body)
        })
        .collect()
}

async fn easel(args: &[&std::ffi::OsStr]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_easel"))
        .args(args)
        .env("EASEL_LOG", "warn")
        .output()
        .await
        .expect("run easel")
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

async fn restore(file: &Path, dir: &Path) -> std::process::Output {
    easel(&[
        os("restore"),
        os("--data-dir"),
        dir.as_os_str(),
        file.as_os_str(),
    ])
    .await
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The writer's text after `n` pushes: `w0;w1;…`.
fn pushes(n: usize) -> String {
    (0..n).map(|i| format!("w{i};")).collect()
}

#[tokio::test]
async fn online_backup_restores_proceedings_byte_for_byte_and_old_links_work() {
    let mut server = TestServer::start();
    let f = server.fixture();
    // Charts with notes, an agenda with a finalized session, a revoked link.
    let topics = ["Backups <&> \"quotes\"", "Ünïcödé notes", "Third chart"];
    for (i, topic) in topics.iter().enumerate() {
        let c = TestClient::connect(&server.ws_url(topic)).await;
        wait_for("sync", WAIT, || c.seen.lock().unwrap().synced).await;
        type_paragraph(
            &c,
            &format!("Notes of chart {i}: résumé, 東京, <b>not bold</b>"),
        );
        let check = format!("/api/v1/charts/{}/export.json", server.chart_id(topic));
        wait_for("notes stored", WAIT, || {
            let (_, body) = get_bytes(&server.addr, &check, &f.read);
            String::from_utf8_lossy(&body).contains(&format!("Notes of chart {i}"))
        })
        .await;
        c.close().await;
    }
    let conf = server.api(
        "GET",
        &format!("/api/v1/conferences/{}", f.conference_id),
        Some(&f.read),
        None,
    );
    let final_session = conf.body["sessions"][0]["id"].as_str().unwrap().to_owned();
    for state in ["live", "final"] {
        let r = server.api(
            "PATCH",
            &format!(
                "/api/v1/conferences/{}/sessions/{final_session}",
                f.conference_id
            ),
            Some(&f.organizer),
            Some(json!({ "state": state })),
        );
        assert_eq!(r.status, 200, "{}", r.raw);
    }
    let minted = server.api(
        "POST",
        &format!("/api/v1/conferences/{}/links", f.conference_id),
        Some(&f.organizer),
        Some(json!({"role": "edit", "label": "lost phone"})),
    );
    let revoked = minted.body["token"].as_str().unwrap().to_owned();
    let revoked_id = minted.body["id"].as_str().unwrap();
    let r = server.api(
        "DELETE",
        &format!("/api/v1/conferences/{}/links/{revoked_id}", f.conference_id),
        Some(&f.organizer),
        None,
    );
    assert!(r.status < 300, "{}", r.raw);

    // A writer keeps editing another chart while the backup runs. It types
    // into a Y.Text the proceedings do not show, so they stay comparable.
    let busy = server.chart_id("Busy chart");
    let writer = TestClient::connect(&server.ws_url("Busy chart")).await;
    let observer = TestClient::connect(&server.ws_url("Busy chart")).await;
    wait_for("sync", WAIT, || writer.seen.lock().unwrap().synced).await;
    let mut written = 0;
    for _ in 0..20 {
        writer.push_text("t", &format!("w{written};"));
        written += 1;
    }
    let acked = pushes(written);
    wait_for("acknowledged writes", WAIT, || observer.text("t") == acked).await;

    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("easel.backup");
    let mut backup = tokio::process::Command::new(env!("CARGO_BIN_EXE_easel"))
        .args(["backup", "--data-dir"])
        .arg(&server.data_dir)
        .arg("-o")
        .arg(&file)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = backup.try_wait().unwrap() {
            break status;
        }
        if written < 5000 {
            writer.push_text("t", &format!("w{written};"));
            written += 1;
        }
        // Paced: edits keep coming for as long as the backup runs.
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let took = started.elapsed();
    let out = backup.wait_with_output().await.unwrap();
    assert!(status.success(), "backup failed: {}", stderr(&out));
    assert!(
        server.log().contains("online backup written"),
        "the running server made the backup: {}",
        server.log()
    );
    let all = pushes(written);
    wait_for("every write acknowledged", WAIT, || {
        observer.text("t") == all
    })
    .await;
    eprintln!(
        "online backup: {} bytes in {took:?} while {} writes landed ({})",
        std::fs::metadata(&file).unwrap().len(),
        written - 20,
        stderr(&out).trim()
    );
    let before = proceedings(&server.addr, &f);
    // Rendering is deterministic, or a byte comparison proves nothing.
    assert_eq!(before, proceedings(&server.addr, &f));
    writer.close().await;
    observer.close().await;

    // Restore: refused into a non-empty dir, then into an empty one.
    let occupied = tmp.path().join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("keep.txt"), "mine").unwrap();
    let out = restore(&file, &occupied).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(occupied.join("keep.txt")).unwrap(),
        "mine"
    );
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = restore(&file, &empty).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let restored = TestServer::spawn(&empty, &[]);
    restored.adopt_fixture(server.fixture());
    let after = proceedings(&restored.addr, &f);
    for ((ext, a), (_, b)) in before.iter().zip(&after) {
        assert!(a == b, "proceedings.{ext} differ after restore");
    }

    // The old links: edit and read open charts, the finalized chart stays
    // read-only, the revoked link stays revoked.
    let c = TestClient::connect(&restored.ws_url(topics[1])).await;
    wait_for("restored notes", WAIT, || c.seen.lock().unwrap().synced).await;
    c.push_text("t", "edited after restore;");
    let r = TestClient::connect(&restored.ws_url_with(&server.chart_id(topics[1]), Some(&f.read)))
        .await;
    wait_for("the edit, seen through the read link", WAIT, || {
        r.text("t") == "edited after restore;"
    })
    .await;
    let path = format!("/api/v1/conferences/{}", f.conference_id);
    assert_eq!(restored.api("GET", &path, Some(&f.read), None).status, 200);
    assert_eq!(restored.api("GET", &path, Some(&revoked), None).status, 401);
    let sessions = restored.api("GET", &path, Some(&f.read), None).body["sessions"].clone();
    let fin = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == final_session.as_str())
        .unwrap();
    assert_eq!(fin["state"], "final");
    let final_chart = fin["chart_id"].as_str().unwrap();
    let ro = TestClient::connect(&restored.ws_url_with(final_chart, Some(&f.edit))).await;
    wait_for("sync", WAIT, || ro.seen.lock().unwrap().synced).await;
    ro.push_text("t", "refused");
    wait_for("read-only refusal", WAIT, || !ro.denied().is_empty()).await;

    // The busy chart holds a prefix of the writes, at least every write
    // acknowledged before the backup started.
    let b = TestClient::connect(&restored.ws_url_with(&busy, Some(&f.read))).await;
    wait_for("sync", WAIT, || b.seen.lock().unwrap().synced).await;
    let text = b.text("t");
    assert!(all.starts_with(&text), "not a prefix of the writes: {text}");
    assert!(
        text.len() >= acked.len(),
        "acknowledged writes lost: {text}"
    );
    eprintln!(
        "busy chart: {} of {written} writes in the backup ({} acknowledged before it started)",
        text.matches(';').count(),
        20
    );

    // The admin socket is for the data dir's owner only, and goes away
    // with the server.
    let socket = server.data_dir.join("admin.sock");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "admin socket mode {mode:o}");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "backup file mode {mode:o}");
    }
    // Offline: the stopped server's data dir backs up directly.
    assert_eq!(server.terminate(), Some(0));
    assert!(!socket.exists(), "admin socket left behind");
    let offline = tmp.path().join("offline.backup");
    let out = easel(&[
        os("backup"),
        os("--data-dir"),
        server.data_dir.as_os_str(),
        os("-o"),
        offline.as_os_str(),
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = tmp.path().join("offline");
    let out = restore(&offline, &dir).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let again = TestServer::spawn(&dir, &[]);
    let offline_after = proceedings(&again.addr, &f);
    for ((ext, a), (_, b)) in before.iter().zip(&offline_after) {
        assert!(a == b, "proceedings.{ext} differ after an offline backup");
    }
}

#[tokio::test]
async fn backup_after_a_crash_and_restore_refuses_damaged_backups() {
    let mut server = TestServer::start();
    let c = TestClient::connect(&server.ws_url("chart")).await;
    wait_for("sync", WAIT, || c.seen.lock().unwrap().synced).await;
    c.push_text("t", "content worth keeping");
    wait_for("write", WAIT, || {
        c.seen.lock().unwrap().updates_received > 1
    })
    .await;
    c.close().await;
    // Killed: its admin socket is left behind, and nobody answers on it;
    // the backup then opens the data dir itself.
    server.kill9();
    assert!(server.data_dir.join("admin.sock").exists());
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("b");
    let out = easel(&[
        os("backup"),
        os("--data-dir"),
        server.data_dir.as_os_str(),
        os("-o"),
        file.as_os_str(),
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let good = std::fs::read_to_string(&file).unwrap();
    // A mistyped data dir is an error, not an empty backup.
    let typo = tmp.path().join("no-such-data");
    let out = easel(&[
        os("backup"),
        os("--data-dir"),
        typo.as_os_str(),
        os("-o"),
        tmp.path().join("typo.backup").as_os_str(),
    ])
    .await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not an Easel data dir"),
        "{}",
        stderr(&out)
    );
    assert!(!typo.exists() && !tmp.path().join("typo.backup").exists());

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "a flipped byte inside a chart",
            {
                // Change one base64 character of the first chart's update.
                let at = good.find("\"update\":\"").unwrap() + 20;
                let mut bytes = good.clone().into_bytes();
                bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
                String::from_utf8(bytes).unwrap()
            },
            "checksum mismatch",
        ),
        (
            "a missing end record",
            good.lines()
                .take(good.lines().count() - 1)
                .map(|l| format!("{l}\n"))
                .collect(),
            "truncated",
        ),
        (
            "a file cut mid-line",
            good[..good.len() / 2].to_owned(),
            "truncated",
        ),
        (
            "a removed record",
            {
                let mut lines: Vec<&str> = good.lines().collect();
                lines.remove(1);
                lines.iter().map(|l| format!("{l}\n")).collect()
            },
            "checksum mismatch",
        ),
        ("not a backup", "hello\n".to_owned(), "damaged"),
    ];
    for (what, content, expect) in cases {
        let bad = tmp.path().join("bad");
        std::fs::write(&bad, content).unwrap();
        let dir = tmp.path().join("restored");
        let out = restore(&bad, &dir).await;
        assert!(!out.status.success(), "{what}: restore succeeded");
        assert!(stderr(&out).contains(expect), "{what}: {}", stderr(&out));
        assert!(!dir.exists(), "{what}: a failed restore left a data dir");
    }
    let out = restore(&file, &tmp.path().join("restored")).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let restored = TestServer::spawn(&tmp.path().join("restored"), &[]);
    restored.adopt_fixture(server.fixture());
    let c = TestClient::connect(&restored.ws_url("chart")).await;
    wait_for("the acknowledged write, restored", WAIT, || {
        c.text("t") == "content worth keeping"
    })
    .await;
}

/// What a stopped server's data dir still holds of a conference.
fn traces(data_dir: &Path, conference_id: &str, charts: &[String]) -> Vec<String> {
    let store = easel_store::Store::open(data_dir).expect("open the stopped server's store");
    let mut found = Vec::new();
    for (key, value) in store.scan_documents("").unwrap() {
        if key == format!("conf/{conference_id}")
            || String::from_utf8_lossy(&value).contains(conference_id)
        {
            found.push(key);
        }
    }
    let stored = store.chart_ids().unwrap();
    for chart in charts {
        if stored.contains(chart) {
            found.push(format!("chart data {chart}"));
        }
    }
    found
}

#[tokio::test]
async fn deleting_a_conference_closes_its_charts_and_removes_every_trace() {
    let mut server = TestServer::start();
    let keep = server.fixture();
    let kept_chart = server.chart_id("kept");
    let mut gone = create_conference(&server.addr, "To delete", 3);
    let charts = vec![
        server.propose(&mut gone, "first"),
        server.propose(&mut gone, "second"),
    ];
    let mut clients = Vec::new();
    for chart in &charts {
        let c = TestClient::connect(&server.ws_url_with(chart, Some(&gone.edit))).await;
        wait_for("sync", WAIT, || c.seen.lock().unwrap().synced).await;
        c.push_text("t", "doomed notes");
        clients.push(c);
    }
    let bystander = TestClient::connect(&server.ws_url("kept")).await;
    wait_for("sync", WAIT, || bystander.seen.lock().unwrap().synced).await;
    bystander.push_text("t", "kept notes");
    wait_for("writes", WAIT, || {
        clients
            .iter()
            .all(|c| c.seen.lock().unwrap().updates_received > 1)
    })
    .await;

    let path = format!("/api/v1/conferences/{}", gone.conference_id);
    // A live agenda stream of the conference, open while it is deleted.
    let mut events = TcpStream::connect(&server.addr).unwrap();
    events
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        events,
        "GET {path}/events?token={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        gone.read
    )
    .unwrap();
    let mut first = [0u8; 4096];
    let n = events.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).contains("200 OK"));
    for token in [&gone.edit, &gone.read, &keep.organizer] {
        assert_eq!(server.api("DELETE", &path, Some(token), None).status, 403);
    }
    let loaded = || metric(&ops::get(&server.addr, "/metrics").1, "easel_charts_loaded");
    assert_eq!(loaded(), 3);
    let r = server.api("DELETE", &path, Some(&gone.organizer), None);
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(loaded(), 1, "the deleted charts left memory at once");
    assert_eq!(r.body["charts"], 2);
    assert_eq!(r.body["links"], 3, "organizer, edit and read");
    for c in &clients {
        wait_for("deleted chart closes its connections", WAIT, || {
            c.closed().is_some()
        })
        .await;
        assert_eq!(c.closed().unwrap().0, 4410, "{:?}", c.closed());
    }
    assert!(
        bystander.closed().is_none(),
        "another conference's chart stays open"
    );
    let mut rest = Vec::new();
    events
        .read_to_end(&mut rest)
        .expect("the event stream ends (EOF), it does not hang");
    assert_eq!(
        server.api("GET", &path, Some(&gone.organizer), None).status,
        401
    );
    let url = server.ws_url_with(&charts[0], Some(&gone.edit));
    assert!(
        TestClient::try_connect(&url).await.is_err(),
        "the links are gone"
    );
    assert_eq!(
        server
            .api(
                "GET",
                &format!("/api/v1/conferences/{}", keep.conference_id),
                Some(&keep.read),
                None
            )
            .status,
        200
    );
    bystander.close().await;
    assert_eq!(server.terminate(), Some(0));
    assert_eq!(
        traces(&server.data_dir, &gone.conference_id, &charts),
        Vec::<String>::new()
    );
    let kept = traces(
        &server.data_dir,
        &keep.conference_id,
        std::slice::from_ref(&kept_chart),
    );
    assert!(
        kept.contains(&format!("chart data {kept_chart}")),
        "{kept:?}"
    );

    // The CLI deletes from a stopped server's data dir.
    let out = easel(&[
        os("conference"),
        os("delete"),
        os("--conference"),
        os(&keep.conference_id),
        os("--data-dir"),
        server.data_dir.as_os_str(),
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        traces(&server.data_dir, &keep.conference_id, &[kept_chart]),
        Vec::<String>::new()
    );
    let out = easel(&[
        os("conference"),
        os("delete"),
        os("--conference"),
        os(&keep.conference_id),
        os("--data-dir"),
        server.data_dir.as_os_str(),
    ])
    .await;
    assert!(!out.status.success(), "a second delete finds nothing");
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
}

#[tokio::test]
async fn published_proceedings_are_deleted_after_the_retention_delay() {
    let server = TestServer::start_with(&["--delete-published-after", "2s"]);
    let unpublished = server.fixture();
    server.chart_id("never published");
    let mut published = create_conference(&server.addr, "Published", 2);
    let chart = server.propose(&mut published, "notes");
    let mut withdrawn = create_conference(&server.addr, "Withdrawn", 2);
    server.propose(&mut withdrawn, "notes");
    let c = TestClient::connect(&server.ws_url_with(&chart, Some(&published.edit))).await;
    wait_for("sync", WAIT, || c.seen.lock().unwrap().synced).await;

    let set_public = |conf: &Fixture, public: bool| {
        let r = server.api(
            "PATCH",
            &format!("/api/v1/conferences/{}", conf.conference_id),
            Some(&conf.organizer),
            Some(json!({"proceedings_public": public})),
        );
        assert_eq!(r.status, 200, "{}", r.raw);
    };
    set_public(&published, true);
    let published_at = Instant::now();
    set_public(&withdrawn, true);
    set_public(&withdrawn, false);
    let public_path = format!("/api/v1/conferences/{}", published.conference_id);
    assert_eq!(
        server.api("GET", &public_path, None, None).status,
        200,
        "public, and not yet due"
    );
    wait_for("retention deletes the published conference", WAIT, || {
        server.api("GET", &public_path, None, None).status == 401
    })
    .await;
    let waited = published_at.elapsed();
    assert!(
        waited >= Duration::from_secs(2),
        "deleted early: {waited:?}"
    );
    wait_for("its chart closes", WAIT, || c.closed().is_some()).await;
    assert_eq!(c.closed().unwrap().0, 4410);
    eprintln!("retention: deleted {waited:?} after publication (delay 2s)");
    // Deliberate: two more retention passes (every 500 ms), which must
    // leave the conferences that are not due.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for conf in [&unpublished, &withdrawn] {
        let path = format!("/api/v1/conferences/{}", conf.conference_id);
        assert_eq!(
            server.api("GET", &path, Some(&conf.read), None).status,
            200,
            "{} is not due",
            conf.conference_id
        );
    }
}

/// Charts the scale variant of the backup test fills (the CI default is
/// small; `EASEL_BACKUP_TEST_CHARTS=300` for the figures in the docs).
fn backup_test_charts() -> usize {
    std::env::var("EASEL_BACKUP_TEST_CHARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_of_many_charts_while_writers_and_the_organizer_work() {
    let n = backup_test_charts();
    let mut server = TestServer::start();
    let mut conferences = Vec::new();
    let mut charts = Vec::new();
    for c in 0..n.div_ceil(200) {
        let rounds = (n - c * 200).min(200);
        let mut conf = create_conference(&server.addr, &format!("Scale {c}"), rounds as u32);
        for i in 0..rounds {
            let chart = server.propose(&mut conf, &format!("Session {c}-{i}"));
            charts.push((
                chart,
                conf.edit.clone(),
                format!("Notes {c}-{i}: {}", "lorem ipsum ".repeat(80)),
            ));
        }
        conferences.push(conf);
    }
    for (chart, token, text) in &charts {
        let client = TestClient::connect(&server.ws_url_with(chart, Some(token))).await;
        wait_for("sync", WAIT, || client.seen.lock().unwrap().synced).await;
        type_paragraph(&client, text);
        wait_for("stored", WAIT, || {
            client.seen.lock().unwrap().updates_received > 1
        })
        .await;
        client.close().await;
    }
    let writers: Vec<TestClient> = {
        let mut w = Vec::new();
        for (chart, token, _) in charts.iter().take(8) {
            let c = TestClient::connect(&server.ws_url_with(chart, Some(token))).await;
            wait_for("sync", WAIT, || c.seen.lock().unwrap().synced).await;
            w.push(c);
        }
        w
    };
    let organizer = &conferences[0];
    let patch = format!("/api/v1/conferences/{}", organizer.conference_id);

    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("scale.backup");
    let started = Instant::now();
    let mut backup = tokio::process::Command::new(env!("CARGO_BIN_EXE_easel"))
        .args(["backup", "--data-dir"])
        .arg(&server.data_dir)
        .arg("-o")
        .arg(&file)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut writes = 0;
    let mut agenda_edits = Vec::new();
    let status = loop {
        if let Some(status) = backup.try_wait().unwrap() {
            break status;
        }
        for w in &writers {
            w.push_text("t", "x");
            writes += 1;
        }
        let edit = Instant::now();
        let r = server.api(
            "PATCH",
            &patch,
            Some(&organizer.organizer),
            Some(json!({"description": format!("edit {}", agenda_edits.len())})),
        );
        assert_eq!(r.status, 200, "{}", r.raw);
        agenda_edits.push(edit.elapsed());
        // Paced: edits keep coming for as long as the backup runs.
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let took = started.elapsed();
    let out = backup.wait_with_output().await.unwrap();
    assert!(status.success(), "{}", stderr(&out));
    let slowest = agenda_edits.iter().max().copied().unwrap_or_default();
    eprintln!(
        "backup of {n} charts: {} bytes in {took:?} (process start and verification included); \
         {writes} chart writes and {} agenda edits meanwhile, slowest agenda edit {slowest:?}",
        std::fs::metadata(&file).unwrap().len(),
        agenda_edits.len()
    );
    // Nothing left that a later proceedings comparison would trip over.
    for w in writers {
        w.close().await;
    }
    let before: Vec<_> = conferences
        .iter()
        .map(|c| proceedings(&server.addr, c))
        .collect();
    assert_eq!(server.terminate(), Some(0));

    let dir = tmp.path().join("restored");
    let restore_started = Instant::now();
    let out = restore(&file, &dir).await;
    assert!(out.status.success(), "{}", stderr(&out));
    eprintln!("restore of {n} charts: {:?}", restore_started.elapsed());
    let restored = TestServer::spawn(&dir, &[]);
    for (conf, before) in conferences.iter().zip(&before) {
        let after = proceedings(&restored.addr, conf);
        for ((ext, a), (_, b)) in before.iter().zip(&after) {
            // The organizer's last description edit may have landed after
            // the backup read the agenda: compare what the backup promises,
            // the charts, through the notes every format carries.
            if conf.conference_id == organizer.conference_id {
                let a = String::from_utf8_lossy(a);
                let b = String::from_utf8_lossy(b);
                for (_, _, text) in &charts {
                    assert_eq!(
                        a.contains(text.as_str()),
                        b.contains(text.as_str()),
                        "{ext}"
                    );
                }
            } else {
                assert!(a == b, "proceedings.{ext} differ after restore");
            }
        }
    }
}

/// Chart data of a stopped server's store that no chart index entry names.
fn unindexed_chart_data(data_dir: &Path) -> Vec<String> {
    let store = easel_store::Store::open(data_dir).expect("open the stopped server's store");
    let indexed: Vec<String> = store
        .scan_documents("chart/")
        .unwrap()
        .into_iter()
        .map(|(k, _)| k.trim_start_matches("chart/").to_owned())
        .collect();
    store
        .chart_ids()
        .unwrap()
        .into_iter()
        .filter(|c| !indexed.contains(c))
        .collect()
}

/// kill -9 in the middle of deleting a conference, at several moments: the
/// restarted server finishes the deletion by itself (its startup sweep),
/// or the conference is still whole and deleting it again removes every
/// trace; never is chart data left that nothing refers to. A chart whose
/// index entry is gone (what a crash between the two steps of removing a
/// chart leaves) is swept at startup too.
#[tokio::test]
async fn a_crash_in_the_middle_of_a_deletion_leaves_nothing_behind() {
    let mut server = TestServer::start();
    let keep = server.fixture();
    let kept_chart = server.chart_id("kept");
    for (cycle, delay_ms) in [0u64, 5, 15, 40].into_iter().enumerate() {
        let mut gone = create_conference(&server.addr, &format!("Doomed {cycle}"), 40);
        let mut charts = Vec::new();
        for i in 0..24 {
            charts.push(server.propose(&mut gone, &format!("topic {i}")));
        }
        let c = TestClient::connect(&server.ws_url_with(&charts[0], Some(&gone.edit))).await;
        c.wait_synced().await;
        c.push_text("t", "doomed notes");
        wait_for("write", WAIT, || {
            c.seen.lock().unwrap().updates_received > 1
        })
        .await;
        c.abort();
        let addr = server.addr.clone();
        let path = format!("/api/v1/conferences/{}", gone.conference_id);
        let token = gone.organizer.clone();
        // A raw request: the kill cuts it off, and no answer is expected.
        let deleting = std::thread::spawn(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            let _ = write!(
                s,
                "DELETE {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            );
            let _ = s.read_to_end(&mut Vec::new());
        });
        std::thread::sleep(Duration::from_millis(delay_ms));
        server.kill9();
        let _ = deleting.join();
        server.restart(&[]);
        let path = format!("/api/v1/conferences/{}", gone.conference_id);
        let still = server.api("GET", &path, Some(&gone.organizer), None).status;
        let resumed = server
            .log()
            .contains("finished a deletion that a crash interrupted");
        eprintln!("cycle {cycle}: killed {delay_ms} ms into the deletion; conference answers {still} after restart; sweep finished it: {resumed}");
        // 200: the kill came before anything was removed; 401: the links
        // (and so, the sweep having run, everything) are gone.
        assert!(still == 200 || still == 401, "{still}");
        if still == 200 {
            let r = server.api("DELETE", &path, Some(&gone.organizer), None);
            assert_eq!(r.status, 200, "{}", r.raw);
        }
        assert_eq!(server.terminate(), Some(0));
        assert_eq!(
            traces(&server.data_dir, &gone.conference_id, &charts),
            Vec::<String>::new(),
            "cycle {cycle}: traces of the deleted conference"
        );
        assert_eq!(unindexed_chart_data(&server.data_dir), Vec::<String>::new());
        server.restart(&[]);
    }

    // What a crash between "index entry removed" and "data removed" leaves.
    ops::get(&server.addr, "/metrics");
    assert_eq!(server.terminate(), Some(0));
    {
        let store = easel_store::Store::open(&server.data_dir).unwrap();
        store
            .remove_document(&format!("chart/{kept_chart}"))
            .await
            .unwrap();
        store.flush().await.unwrap();
    }
    assert_eq!(
        unindexed_chart_data(&server.data_dir),
        vec![kept_chart.clone()]
    );
    server.restart(&[]);
    ops::get(&server.addr, "/metrics");
    assert_eq!(server.terminate(), Some(0));
    assert_eq!(unindexed_chart_data(&server.data_dir), Vec::<String>::new());
    let log = server.previous_logs() + &server.log();
    assert!(
        log.contains("removed chart data that no conference refers to"),
        "the sweep says what it removed:\n{log}"
    );
    let _ = keep;
}
