//! Smoke run of the generator against the baseline server, in process: it
//! connects, types, receives, and the counts add up. No timing assertions.

use std::time::Duration;

use easel_loadgen::{Common, Target, TrafficConfig};

fn common(port: u16) -> Common {
    Common {
        target: Target {
            url: format!("ws://127.0.0.1:{port}/sync"),
            token: None,
            source_ips: 1,
            peer_url: None,
        },
        charts: Vec::new(),
        chart_prefix: "smoke".into(),
        server_pid: Some(std::process::id()),
        seed: 7,
        decode: true,
        connect_concurrency: 8,
    }
}

async fn baseline() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(easel_baseline::Baseline::new().run(listener));
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_counts_add_up_against_the_baseline() {
    let port = baseline().await;
    // 23 clients in rooms of 5: four full rooms and one of 3.
    let cfg = TrafficConfig {
        clients: 23,
        room_size: 5,
        writers_per_room: 2,
        rates: vec![10.0, 20.0],
        warmup: Duration::from_millis(300),
        step: Duration::from_millis(700),
        awareness_hz: 2.0,
        stop_p99_ms: None,
        retries: 0,
        pad: 10,
        drain: Duration::from_millis(1500),
    };
    let r = easel_loadgen::traffic(&common(port), &cfg, 2).await;
    assert_eq!(r.conns.connected, 23);
    assert_eq!(r.conns.connect_failures, 0);
    assert_eq!(r.conns.disconnects, 0);
    assert_eq!(r.bad_updates, 0);
    assert_eq!(r.steps.len(), 2);
    for s in &r.steps {
        assert!(s.sent > 0, "{s:?}");
        // 8 typists in rooms of 5 (4 receivers each), 2 in the room of 3 (2 each).
        let per_send = (8.0 * 4.0 + 2.0 * 2.0) / 10.0;
        let expected = (s.sent as f64 * per_send).round() as u64;
        let slack = expected / 20 + 4;
        assert!(
            s.expected.abs_diff(expected) <= slack,
            "expected {} vs {expected}: {s:?}",
            s.expected
        );
        assert_eq!(s.delivered, s.expected, "{s:?}");
        assert_eq!(s.missing, 0, "{s:?}");
        assert!(s.latency.count == s.delivered, "{s:?}");
        assert!(s.awareness_recv_per_s > 0.0, "{s:?}");
        assert!(s.server_rss_mb.unwrap_or(0.0) > 0.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_and_populate_run_against_the_baseline() {
    let port = baseline().await;
    let c = common(port);
    let p = easel_loadgen::populate(&c, 3, 5, 50).await;
    assert_eq!(p.sent, 15);
    assert_eq!(p.delivered, 15);
    // The baseline has no document: joiners never get a SyncStep2 from the
    // server itself, so this only checks the storm runs and ends.
    let j = easel_loadgen::join_storm(&c, 20_000, 5, Duration::from_millis(500)).await;
    assert_eq!(j.connect_failures, 0);
    assert_eq!(j.joiners, 5);
}

/// A failing step is measured once more before the ramp stops; a limit no
/// step can meet (p99 <= 0 ms) makes every step fail, so the ramp must stop
/// after the first rate's two attempts and never reach the second rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_step_is_measured_again_then_the_ramp_stops() {
    let port = baseline().await;
    let cfg = TrafficConfig {
        clients: 10,
        room_size: 5,
        writers_per_room: 2,
        rates: vec![10.0, 20.0],
        warmup: Duration::from_millis(200),
        step: Duration::from_millis(400),
        awareness_hz: 0.0,
        stop_p99_ms: Some(0.0),
        retries: 1,
        pad: 0,
        drain: Duration::from_millis(500),
    };
    let r = easel_loadgen::traffic(&common(port), &cfg, 2).await;
    let seen: Vec<(f64, u32)> = r
        .steps
        .iter()
        .map(|s| (s.rate_per_writer, s.attempt))
        .collect();
    assert_eq!(seen, vec![(10.0, 1), (10.0, 2)], "{:?}", r.steps);
    assert!(r.steps.iter().all(|s| s.sent > 0 && s.delivered > 0));
}
