//! Operations: health, readiness, metrics that move under load, a graceful
//! SIGTERM that tells clients (1012), drains and loses nothing, and the
//! chart threads an operator sets.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::support::*;

/// A plain HTTP/1.1 GET; returns (status, body).
pub(crate) fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

pub(crate) fn metric(body: &str, name: &str) -> u64 {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing"))
}

#[tokio::test]
async fn health_and_readiness() {
    let server = TestServer::start();
    assert_eq!(get(&server.addr, "/healthz").0, 200);
    assert_eq!(get(&server.addr, "/readyz").0, 200);
}

#[tokio::test]
async fn metrics_move_under_load() {
    let server = TestServer::start();
    let (_, before) = get(&server.addr, "/metrics");
    assert_eq!(metric(&before, "easel_connections"), 0);
    let a = TestClient::connect(&server.ws_url("m")).await;
    let b = TestClient::connect(&server.ws_url("m")).await;
    for i in 0..20 {
        a.push_text("t", &format!("{i};"));
    }
    wait_for("b got all", WAIT, || b.text("t").matches(';').count() == 20).await;
    let (status, after) = get(&server.addr, "/metrics");
    assert_eq!(status, 200);
    assert_eq!(metric(&after, "easel_connections"), 2);
    assert!(
        metric(&after, "easel_updates_in_total") >= metric(&before, "easel_updates_in_total") + 20
    );
    // Updates go to both clients (the sender gets its echo); a batch's
    // updates may travel merged in one message.
    assert!(metric(&after, "easel_messages_out_total") >= 4);
    assert!(metric(&after, "easel_charts_loaded") >= 1);
    assert!(metric(&after, "easel_flush_wait_seconds_count") >= 1);
    assert!(metric(&after, "easel_store_bytes") > 0);
    // A refused upgrade counts as an auth failure.
    let refused = TestClient::try_connect(&format!(
        "ws://{}/sync/{}?token=wrong",
        server.addr,
        server.chart_id("m")
    ))
    .await;
    assert!(refused.is_err());
    let (_, later) = get(&server.addr, "/metrics");
    assert!(metric(&later, "easel_auth_failures_total") >= 1);
    let _ = (a, b);
}

#[tokio::test]
async fn sigterm_during_writes_closes_with_1012_and_loses_nothing() {
    let mut server = TestServer::start();
    let writer = TestClient::connect(&server.ws_url("bye")).await;
    let observer = TestClient::connect(&server.ws_url("bye")).await;
    for i in 0..200 {
        writer.push_text("t", &format!("{i};"));
        if i == 100 {
            wait_for("edits flowing", WAIT, || observer.text("t").contains("50;")).await;
        }
        if i == 150 {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(server.child.id().to_string())
                .status();
        }
    }
    let code = server.terminate();
    assert_eq!(code, Some(0), "exit status after SIGTERM\n{}", server.log());
    wait_for("observer told", WAIT, || observer.closed().is_some()).await;
    let (close_code, reason) = observer.closed().unwrap();
    assert_eq!(
        close_code, 1012,
        "clients are told the server restarts ({reason})"
    );
    let seen = observer.text("t");
    server.restart(&[]);
    let check = TestClient::connect(&server.ws_url("bye")).await;
    wait_for("everything the observer saw survived", WAIT, || {
        let have = check.text("t");
        seen.split(';')
            .filter(|t| !t.is_empty())
            .all(|t| have.split(';').any(|h| h == t))
    })
    .await;
}

/// `--chart-threads N` runs the chart actors on N threads named
/// `easel-charts` (what `top -H` shows, docs/config.md; a chart's load from
/// disk runs on a helper thread of the same name); 0 runs them on the
/// connections' threads. Either way clients sync as before.
#[tokio::test]
async fn chart_threads_are_what_the_flag_says() {
    for threads in [3usize, 0] {
        let n = threads.to_string();
        let server = TestServer::start_with(&["--chart-threads", &n]);
        let a = TestClient::connect(&server.ws_url("threads")).await;
        let b = TestClient::connect(&server.ws_url("threads")).await;
        a.push_text("t", "on chart threads");
        wait_for("sync", WAIT, || b.text("t") == "on chart threads").await;
        let named = server.threads_named("easel-charts");
        if threads == 0 {
            assert_eq!(named, 0, "--chart-threads 0 started chart threads");
        } else {
            assert!(
                named >= threads,
                "--chart-threads {threads}: {named} threads"
            );
        }
    }
}
