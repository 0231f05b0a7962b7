//! The board through the real binary: a stock Yjs client (y-websocket, in
//! Node) runs the documented JavaScript example and a yrs client sends the
//! bytes pycrdt wrote for the documented Python example; both boards come
//! out in every export, in the proceedings, and as `board.svg` and
//! `board.png`, under the chart exports' access rules.

use std::process::Command;

use serde_json::json;

use crate::api_support::{request, Resp};
use crate::support::*;

fn get(server: &TestServer, path: &str, token: Option<&str>) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    request(&server.addr, "GET", path, &headers, None)
}

fn interop_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

#[tokio::test]
async fn boards_from_stock_clients_show_in_every_export_and_as_images() {
    let server = TestServer::start();
    let f = server.fixture();
    let js_chart = server.chart_id("js board");
    let py_chart = server.chart_id("py board");

    // JavaScript: the documented example in a stock Yjs + y-websocket client.
    let out = Command::new("node")
        .arg(interop_dir().join("board-example.mjs"))
        .args(["--url", &format!("ws://{}/sync", server.addr)])
        .args(["--room", &js_chart, "--token", &f.edit])
        .output()
        .expect("node");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("written"),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Python: the bytes pycrdt wrote for the documented example.
    let client = TestClient::connect(&server.ws_url("py board")).await;
    wait_for("sync", WAIT, || client.seen.lock().unwrap().synced).await;
    let pycrdt = include_bytes!("../../crates/chart/tests/fixtures/pycrdt_example.bin");
    client.send_raw(easel_protocol::encode_update(pycrdt.to_vec()).to_vec());

    for (chart, texts) in [
        (&js_chart, ["Async stand-ups", "Fewer meetings"]),
        (&py_chart, ["Shorter feedback", "Ship on Fridays?"]),
    ] {
        let json_path = format!("/api/v1/charts/{chart}/export.json");
        wait_for("the board in the export", WAIT, || {
            get(&server, &json_path, Some(&f.read))
                .raw
                .contains(texts[0])
        })
        .await;
        for ext in ["md", "html", "json"] {
            let r = get(
                &server,
                &format!("/api/v1/charts/{chart}/export.{ext}"),
                Some(&f.read),
            );
            assert_eq!(r.status, 200, "{}", r.raw);
            for t in texts {
                assert!(
                    r.raw.contains(t),
                    "{ext} of {chart} lacks {t:?}:\n{}",
                    r.raw
                );
            }
        }
        let svg = get(
            &server,
            &format!("/api/v1/charts/{chart}/board.svg"),
            Some(&f.read),
        );
        assert_eq!(svg.status, 200);
        assert_eq!(svg.headers["content-type"], "image/svg+xml");
        assert!(svg
            .raw
            .starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        for t in texts {
            assert!(svg.raw.contains(t), "board.svg lacks {t:?}");
        }
        let png = get(
            &server,
            &format!("/api/v1/charts/{chart}/board.png"),
            Some(&f.edit),
        );
        assert_eq!(png.status, 200);
        assert_eq!(png.headers["content-type"], "image/png");
        // The body is read as lossy UTF-8: 0x89 becomes U+FFFD.
        assert!(png.raw.starts_with("\u{FFFD}PNG\r\n"), "not a PNG");
        let pdf = get(
            &server,
            &format!("/api/v1/charts/{chart}/export.pdf"),
            Some(&f.read),
        );
        assert_eq!(pdf.status, 200);
        assert!(pdf.raw.starts_with("%PDF-"));
    }
    let md = get(
        &server,
        &format!("/api/v1/conferences/{}/proceedings.md", f.conference_id),
        Some(&f.read),
    );
    assert!(
        md.raw
            .contains("* **Orange**\n  * Cluster 1\n    * Fewer meetings / more pairing — *Linus*"),
        "{}",
        md.raw
    );
    assert!(
        md.raw.contains("    * Shorter feedback loops — *Ada*"),
        "{}",
        md.raw
    );
    client.close().await;
}

#[tokio::test]
async fn board_images_follow_the_chart_exports_access_rules() {
    let server = TestServer::start();
    let f = server.fixture();
    let chart = server.chart_id("board access");
    let other = server.api(
        "POST",
        "/api/v1/conferences",
        None,
        Some(json!({"name": "Other", "time_zone": "UTC", "start_date": "2030-01-01", "end_date": "2030-01-01"})),
    );
    let other_token = other.body["organizer_token"].as_str().unwrap().to_owned();
    for ext in ["svg", "png"] {
        let path = format!("/api/v1/charts/{chart}/board.{ext}");
        let none = get(&server, &path, None);
        assert_eq!((none.status, none.code()), (401, "unauthorized"));
        let wrong = get(&server, &path, Some(&other_token));
        assert_eq!((wrong.status, wrong.code()), (403, "forbidden"));
        for token in [&f.read, &f.edit, &f.organizer] {
            let ok = get(&server, &path, Some(token));
            assert_eq!(ok.status, 200, "{path}: {}", ok.raw);
            // ETag and 304, like the exports.
            let tag = ok.headers["etag"].clone();
            let again = request(
                &server.addr,
                "GET",
                &path,
                &[
                    ("Authorization", &format!("Bearer {token}")),
                    ("If-None-Match", &tag),
                ],
                None,
            );
            assert_eq!(again.status, 304);
        }
    }
    let bad = get(
        &server,
        &format!("/api/v1/charts/{chart}/board.gif"),
        Some(&f.read),
    );
    assert_eq!((bad.status, bad.code()), (404, "not_found"));
    let doc = server.api("GET", "/api/v1/openapi.json", None, None);
    assert!(doc.body["paths"]["/charts/{chart_id}/board.{format}"]["get"].is_object());
}
