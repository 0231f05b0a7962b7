//! Connection churn: thousands of connects and disconnects with presence,
//! half of them closing cleanly and half just dropping the socket. After
//! the churn the server must be back where it started: every presence
//! state of a closed connection removed (and that removal broadcast to who
//! stays), idle charts unloaded, file descriptors and memory returned.
//!
//! `EASEL_CHURN_CONNECTIONS` (default 2000, as in CI) sets the count.

use std::time::Duration;

use crate::support::*;

const CHARTS: usize = 10;
const PARALLEL: usize = 50;

/// Connects `count` clients in waves of [`PARALLEL`], spread over the
/// charts; each announces its presence, then closes (even) or drops its
/// socket (odd). Waves on `urls[0]` wait until `watcher` saw their presence.
async fn churn(urls: &[String], count: usize, watcher: &TestClient) {
    let mut done = 0;
    while done < count {
        let wave = PARALLEL.min(count - done);
        let mut clients = Vec::with_capacity(wave);
        for i in 0..wave {
            let url = &urls[(done + i) % urls.len()];
            clients.push(TestClient::connect(url).await);
        }
        for (i, c) in clients.iter().enumerate() {
            c.set_awareness(
                1,
                &format!("{{\"user\":{{\"name\":\"churn{}\"}}}}", done + i),
            );
        }
        let on_watched: Vec<u64> = clients
            .iter()
            .enumerate()
            .filter(|(i, _)| (done + i) % urls.len() == 0)
            .map(|(_, c)| c.doc.client_id().get())
            .collect();
        wait_for("watcher sees the wave's presence", WAIT, || {
            let seen = watcher.awareness();
            on_watched.iter().all(|id| seen.contains_key(id))
        })
        .await;
        for (i, c) in clients.into_iter().enumerate() {
            if i % 2 == 0 {
                c.close().await;
            } else {
                c.abort();
            }
        }
        done += wave;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_returns_memory_fds_presence_and_charts() {
    let count: usize = std::env::var("EASEL_CHURN_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let server =
        TestServer::start_with(&["--idle-unload-secs", "1", "--connections-per-minute", "0"]);
    let urls: Vec<String> = (0..CHARTS)
        .map(|i| server.ws_url(&format!("churn{i}")))
        .collect();
    let watcher = TestClient::connect(&urls[0]).await;
    // Warm up allocator pools and lazy statics, then take the baseline.
    churn(&urls, 200, &watcher).await;
    let settled = |what: &'static str| {
        let server = &server;
        let watcher = &watcher;
        async move {
            wait_for(what, Duration::from_secs(20), || {
                watcher.awareness().is_empty()
                    && server.metric("easel_connections") == 1
                    && server.metric("easel_charts_loaded") == 1
            })
            .await
        }
    };
    settled("warm-up settles").await;
    let fds_before = server.open_fds();
    let rss_before = server.rss_kib();
    let started = std::time::Instant::now();
    churn(&urls, count, &watcher).await;
    let elapsed = started.elapsed();
    let rss_peak = server.rss_kib();
    // Presence of every closed connection removed and broadcast to the
    // watcher; every other chart idle and unloaded.
    settled("presence removed, charts unloaded").await;
    wait_for("file descriptors returned", Duration::from_secs(10), || {
        server.open_fds() <= fds_before
    })
    .await;
    let rss_after = server.rss_kib();
    eprintln!(
        "churn: {count} connections in {:.1} s; fds {fds_before} -> {}; RSS {rss_before} KiB before, {rss_peak} KiB at the end of churn, {rss_after} KiB settled",
        elapsed.as_secs_f64(),
        server.open_fds()
    );
    assert!(
        rss_after <= rss_before + 8 * 1024,
        "server memory did not return: {rss_before} KiB -> {rss_after} KiB"
    );
    assert!(watcher.closed().is_none());
}
