//! Chart exports and proceedings through the real binary: notes typed by a
//! real WebSocket client (yrs, the `notes` XmlFragment) come out in every
//! format; the auth rules; ETag and 304; escaping of user text in HTML;
//! and `easel proceedings` on the data dir after the server stopped.

use std::process::Command;

use serde_json::json;
use yrs::{Transact, XmlElementPrelim, XmlFragment, XmlTextPrelim};

use crate::api_support::{request, Resp};
use crate::support::*;

const TOPIC: &str = "Retros <script>alert(1)</script> & \"more\"";
const TOPIC_SLUG: &str = "retros-script-alert-1-script-more";

/// Appends a paragraph to the chart's `notes`, as the TipTap editor would,
/// and sends the update.
pub(crate) fn type_paragraph(client: &TestClient, text: &str) {
    let notes = client.doc.get_or_insert_xml_fragment("notes");
    let update = {
        let mut txn = client.doc.transact_mut();
        let len = notes.len(&txn);
        let p = notes.insert(&mut txn, len, XmlElementPrelim::empty("paragraph"));
        p.insert(&mut txn, 0, XmlTextPrelim::new(text));
        txn.encode_update_v1()
    };
    client.send_raw(easel_protocol::encode_update(update).to_vec());
}

fn get(server: &TestServer, path: &str, token: Option<&str>, extra: &[(&str, &str)]) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = extra.to_vec();
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    request(&server.addr, "GET", path, &headers, None)
}

/// A server whose fixture conference has a chart with `TOPIC` and a typed
/// paragraph `text` (which begins with the plain `marker`, waited for in
/// the JSON export); returns (server, chart id).
async fn server_with_notes(text: &str, marker: &str) -> (TestServer, String) {
    let server = TestServer::start();
    let chart = server.chart_id(TOPIC);
    let client = TestClient::connect(&server.ws_url(TOPIC)).await;
    wait_for("sync", WAIT, || client.seen.lock().unwrap().synced).await;
    type_paragraph(&client, text);
    let read = server.fixture().read;
    let path = format!("/api/v1/charts/{chart}/export.json");
    wait_for("the typed text in the export", WAIT, || {
        get(&server, &path, Some(&read), &[]).raw.contains(marker)
    })
    .await;
    client.close().await;
    (server, chart)
}

fn pdf_text(bytes_path: &std::path::Path) -> Option<String> {
    let out = Command::new("pdftotext")
        .arg(bytes_path)
        .arg("-")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn typed_notes_come_out_in_every_format() {
    let text = "Typed through yrs: Grüße, ελληνικά";
    let (server, chart) = server_with_notes(text, text).await;
    let f = server.fixture();
    for (ext, ctype) in [
        ("md", "text/markdown; charset=utf-8"),
        ("html", "text/html; charset=utf-8"),
        ("json", "application/json"),
    ] {
        for (path, name) in [
            (format!("/api/v1/charts/{chart}/export.{ext}"), TOPIC_SLUG),
            (
                format!("/api/v1/conferences/{}/proceedings.{ext}", f.conference_id),
                "fixture",
            ),
        ] {
            let r = get(&server, &path, Some(&f.read), &[]);
            assert_eq!(r.status, 200, "{path}: {}", r.raw);
            assert_eq!(r.headers["content-type"], ctype, "{path}");
            assert_eq!(
                r.headers["content-disposition"],
                format!("attachment; filename=\"{name}.{ext}\""),
                "{path}"
            );
            assert!(r.headers["etag"].starts_with('"'), "strong ETag on {path}");
            assert!(
                r.raw.contains(text),
                "{path} lacks the typed text:\n{}",
                r.raw
            );
        }
    }
    // JSON is the versioned schema and carries the session's place.
    let json = get(
        &server,
        &format!("/api/v1/conferences/{}/proceedings.json", f.conference_id),
        Some(&f.read),
        &[],
    );
    assert_eq!(json.body["schema"], "easel.proceedings/v2", "{}", json.raw);
    assert!(json.raw.contains("2030-01-01T00:00:00Z"), "{}", json.raw);

    // PDF: right type, and the typed text is in it.
    let pdf = get(
        &server,
        &format!("/api/v1/charts/{chart}/export.pdf"),
        Some(&f.edit),
        &[],
    );
    assert_eq!(pdf.status, 200, "{}", pdf.raw);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    // (The test's HTTP client keeps bodies as lossy text; the CLI test
    // checks a byte-exact PDF with pdftotext.)
    assert!(pdf.raw.starts_with("%PDF"));

    // HTML inline edition.
    let inline = get(
        &server,
        &format!("/api/v1/charts/{chart}/export.html?inline=1"),
        Some(&f.read),
        &[],
    );
    assert_eq!(inline.status, 200);
    assert!(inline.headers["content-disposition"].starts_with("inline;"));
    assert!(inline.headers["content-security-policy"].contains("default-src 'none'"));

    // Unknown format: the API's error shape.
    let bad = get(
        &server,
        &format!("/api/v1/charts/{chart}/export.exe"),
        Some(&f.read),
        &[],
    );
    assert_eq!(bad.status, 404, "{}", bad.raw);
    assert_eq!(bad.code(), "not_found");
}

#[tokio::test]
async fn script_in_a_topic_is_escaped_in_html() {
    let (server, chart) = server_with_notes("Marker <img src=x onerror=alert(2)>", "Marker").await;
    let f = server.fixture();
    for path in [
        format!("/api/v1/charts/{chart}/export.html"),
        format!("/api/v1/conferences/{}/proceedings.html", f.conference_id),
    ] {
        let r = get(&server, &path, Some(&f.read), &[]);
        assert_eq!(r.status, 200);
        assert!(!r.raw.contains("<script>alert(1)"), "{path} unescaped");
        assert!(!r.raw.contains("<img src=x"), "{path} unescaped");
        assert!(
            r.raw.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn exports_check_tokens_and_public_flag() {
    let server = TestServer::start();
    let chart = server.chart_id("auth");
    let f = server.fixture();
    let chart_path = format!("/api/v1/charts/{chart}/export.md");
    let proc_path = format!("/api/v1/conferences/{}/proceedings.md", f.conference_id);

    let other = server.api(
        "POST",
        "/api/v1/conferences",
        None,
        Some(json!({"name": "Other", "time_zone": "UTC", "start_date": "2030-01-01", "end_date": "2030-01-01"})),
    );
    assert_eq!(other.status, 201, "{}", other.raw);
    let other_token = other.body["organizer_token"].as_str().unwrap().to_owned();

    for path in [&chart_path, &proc_path] {
        let none = get(&server, path, None, &[]);
        assert_eq!(none.status, 401, "{path}: {}", none.raw);
        assert_eq!(none.code(), "unauthorized");
        let wrong = get(&server, path, Some(&other_token), &[]);
        assert_eq!(wrong.status, 403, "{path}: {}", wrong.raw);
        assert_eq!(wrong.code(), "forbidden");
        let bogus = get(&server, path, Some("not-a-token"), &[]);
        assert_eq!(bogus.status, 401, "{path}: {}", bogus.raw);
        for token in [&f.read, &f.edit, &f.organizer] {
            let ok = get(&server, path, Some(token), &[]);
            assert_eq!(ok.status, 200, "{path}: {}", ok.raw);
        }
        // Token in the query, as a browser download link carries it.
        let q = get(&server, &format!("{path}?token={}", f.read), None, &[]);
        assert_eq!(q.status, 200, "{path}: {}", q.raw);
    }

    // Public proceedings: readable without a token; chart exports are not.
    let patch = server.api(
        "PATCH",
        &format!("/api/v1/conferences/{}", f.conference_id),
        Some(&f.organizer),
        Some(json!({"proceedings_public": true})),
    );
    assert_eq!(patch.status, 200, "{}", patch.raw);
    let public = get(&server, &proc_path, None, &[]);
    assert_eq!(public.status, 200, "{}", public.raw);
    assert!(public.raw.contains("auth"));
    assert_eq!(get(&server, &chart_path, None, &[]).status, 401);
    // Another conference's token is still refused.
    assert_eq!(
        get(&server, &proc_path, Some(&other_token), &[]).status,
        403
    );

    // Both routes are in the OpenAPI document.
    let doc = server.api("GET", "/api/v1/openapi.json", None, None);
    for p in [
        "/charts/{chart_id}/export.{format}",
        "/conferences/{conference_id}/proceedings.{format}",
    ] {
        assert!(
            doc.body["paths"][p]["get"].is_object(),
            "{p} not in openapi.json"
        );
    }
}

#[tokio::test]
async fn etag_and_if_none_match() {
    let server = TestServer::start();
    let name = "etag";
    let chart = server.chart_id(name);
    let f = server.fixture();
    let path = format!("/api/v1/charts/{chart}/export.html");
    let first = get(&server, &path, Some(&f.read), &[]);
    assert_eq!(first.status, 200);
    let tag = first.headers["etag"].clone();
    assert!(!tag.starts_with("W/"), "strong ETag: {tag}");
    assert_eq!(get(&server, &path, Some(&f.read), &[]).headers["etag"], tag);

    let cached = get(&server, &path, Some(&f.read), &[("If-None-Match", &tag)]);
    assert_eq!(cached.status, 304);
    assert_eq!(cached.raw, "");
    assert_eq!(cached.headers["etag"], tag);
    let other = get(
        &server,
        &path,
        Some(&f.read),
        &[("If-None-Match", "\"nope\"")],
    );
    assert_eq!(other.status, 200);

    // An edit changes the document and so the tag.
    let client = TestClient::connect(&server.ws_url(name)).await;
    wait_for("sync", WAIT, || client.seen.lock().unwrap().synced).await;
    type_paragraph(&client, "changed");
    wait_for("a new ETag", WAIT, || {
        let r = get(&server, &path, Some(&f.read), &[("If-None-Match", &tag)]);
        r.status == 200 && r.headers["etag"] != tag && r.raw.contains("changed")
    })
    .await;
    client.close().await;
}

#[tokio::test]
async fn cli_compiles_proceedings_after_the_server_stopped() {
    let text = "Written before shutdown";
    let (mut server, _chart) = server_with_notes(text, text).await;
    let f = server.fixture();
    assert_eq!(server.terminate(), Some(0));
    let out = tempfile::tempdir().unwrap();
    for ext in ["md", "pdf"] {
        let file = out.path().join(format!("proceedings.{ext}"));
        let status = Command::new(env!("CARGO_BIN_EXE_easel"))
            .args(["proceedings", &f.conference_id, "--format", ext, "-o"])
            .arg(&file)
            .arg("--data-dir")
            .arg(&server.data_dir)
            .output()
            .expect("run easel proceedings");
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let bytes = std::fs::read(&file).unwrap();
        if ext == "md" {
            let md = String::from_utf8(bytes).unwrap();
            assert!(md.contains(text), "{md}");
            assert!(md.contains("Fixture"), "{md}");
        } else {
            assert!(bytes.starts_with(b"%PDF"));
            if let Some(pdf) = pdf_text(&file) {
                assert!(pdf.contains(text), "pdftotext: {pdf}");
            }
        }
    }
    // Unknown conference: a clear failure, not an empty file.
    let missing = Command::new(env!("CARGO_BIN_EXE_easel"))
        .args(["proceedings", "conf-nope", "--format", "md", "-o"])
        .arg(out.path().join("x.md"))
        .arg("--data-dir")
        .arg(&server.data_dir)
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(!out.path().join("x.md").exists());
}
