//! Webhooks against the real binary: a receiver on loopback (allowed with
//! `--webhook-allow-private-targets`) checks every signature with its own
//! HMAC; a receiver that is down while the server is killed -9 still gets
//! the event after the restart; a failing receiver gets it on the fourth
//! try; chart edits are debounced; bad registrations are refused.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::api_support::Fixture;
use crate::support::{wait_for, TestClient, TestServer};

/// 32 key bytes, as a receiver would be configured.
const SECRET: &str = "whsec_c2lnbmluZy1rZXktb2YtdGhlLXRlc3QtcmVjZWl2ZXIh";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

#[derive(Default)]
struct ReceiverState {
    got: Mutex<Vec<Received>>,
    /// Answer 500 to this many requests first.
    fail_first: Mutex<u32>,
    /// Requests to `/moved`.
    moved_hits: Mutex<u32>,
}

/// A webhook receiver on loopback that records what it gets.
struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(fail_first: u32) -> Receiver {
        Self::start_on("127.0.0.1:0".parse().unwrap(), fail_first).await
    }

    async fn start_on(addr: SocketAddr, fail_first: u32) -> Receiver {
        let state = Arc::new(ReceiverState::default());
        *state.fail_first.lock().unwrap() = fail_first;
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .route("/moved", post(moved))
            .route("/elsewhere", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, state, task }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn got(&self) -> Vec<Received> {
        self.state.got.lock().unwrap().clone()
    }

    fn of_type(&self, kind: &str) -> Vec<Received> {
        self.got()
            .into_iter()
            .filter(|r| r.json()["type"] == kind)
            .collect()
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    state.got.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8(body.to_vec()).expect("UTF-8 body"),
    });
    let mut fail = state.fail_first.lock().unwrap();
    if *fail > 0 {
        *fail -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

/// Answers with a redirect to `/elsewhere` (which records what reaches it).
async fn moved(
    State(state): State<Arc<ReceiverState>>,
) -> (StatusCode, [(&'static str, &'static str); 1]) {
    *state.moved_hits.lock().unwrap() += 1;
    (StatusCode::TEMPORARY_REDIRECT, [("location", "/elsewhere")])
}

/// Verifies a request the way a receiver following Standard Webhooks
/// would: HMAC-SHA256 over `{id}.{timestamp}.{body}` with the secret's
/// key bytes, compared in constant time, timestamp within five minutes.
fn verify(r: &Received, secret: &str) {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let ts: i64 = r.timestamp.parse().expect("numeric webhook-timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - ts).abs() <= 300, "timestamp {ts} too far from {now}");
    assert!(r.id.starts_with("msg_"), "webhook-id {:?}", r.id);
    let mut matched = false;
    for candidate in r.signature.split(' ') {
        let Some(sig) = candidate.strip_prefix("v1,") else {
            continue;
        };
        let sig = STANDARD.decode(sig).expect("base64 signature");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
        matched |= mac.verify_slice(&sig).is_ok();
    }
    assert!(
        matched,
        "no valid signature in {:?} for {:?}",
        r.signature, r.body
    );
    // A changed body must not verify.
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{} ", r.id, r.timestamp, r.body).as_bytes());
    let sig = STANDARD
        .decode(
            r.signature
                .split(' ')
                .next()
                .unwrap()
                .strip_prefix("v1,")
                .unwrap(),
        )
        .unwrap();
    assert!(mac.verify_slice(&sig).is_err());
}

fn hooks_path(f: &Fixture) -> String {
    format!("/api/v1/conferences/{}/webhooks", f.conference_id)
}

fn register(server: &TestServer, f: &Fixture, url: &str, events: &[&str]) -> String {
    let r = server.api(
        "POST",
        &hooks_path(f),
        Some(&f.organizer),
        Some(json!({"url": url, "events": events, "secret": SECRET})),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    assert_eq!(r.body["secret"], SECRET);
    r.body["webhook"]["id"].as_str().unwrap().to_owned()
}

fn deliveries(server: &TestServer, f: &Fixture, wid: &str) -> Vec<Value> {
    let r = server.api(
        "GET",
        &format!("{}/{wid}/deliveries", hooks_path(f)),
        Some(&f.organizer),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body.as_array().unwrap().clone()
}

const FAST: &[&str] = &[
    "--webhook-allow-private-targets",
    "--webhook-retry-base-ms",
    "150",
    "--webhook-retry-max-ms",
    "1000",
    "--webhook-timeout-ms",
    "3000",
];

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agenda_events_arrive_signed_and_the_secret_is_not_served_again() {
    let receiver = Receiver::start(0).await;
    let server = TestServer::start_with(FAST);
    let mut f = server.fixture();
    let wid = register(
        &server,
        &f,
        &receiver.url(),
        &[
            "session.created",
            "session.finalized",
            "proceedings.published",
        ],
    );
    let listed = server.api("GET", &hooks_path(&f), Some(&f.organizer), None);
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body[0]["id"], wid.as_str());
    assert!(
        !listed.raw.contains(SECRET),
        "the secret is served again: {}",
        listed.raw
    );
    // Only the organizer may see or change webhooks.
    let as_editor = server.api("GET", &hooks_path(&f), Some(&f.edit), None);
    assert_eq!(as_editor.status, 403, "{}", as_editor.raw);

    let topic = "Webhooks <b>&amp; \"quotes\"";
    let chart = server.propose(&mut f, topic);
    let conf = server.api(
        "GET",
        &format!("/api/v1/conferences/{}", f.conference_id),
        Some(&f.organizer),
        None,
    );
    let session = conf.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["chart_id"] == chart.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let patch = |body: Value, path: &str| {
        let r = server.api("PATCH", path, Some(&f.organizer), Some(body));
        assert_eq!(r.status, 200, "{}", r.raw);
    };
    let base = format!("/api/v1/conferences/{}", f.conference_id);
    patch(
        json!({"state": "live"}),
        &format!("{base}/sessions/{session}"),
    );
    patch(
        json!({"state": "final"}),
        &format!("{base}/sessions/{session}"),
    );
    patch(json!({"proceedings_public": true}), &base);

    wait_for("three agenda events", WAIT, || receiver.got().len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = receiver.got();
    assert_eq!(got.len(), 3, "{got:#?}");
    for r in &got {
        verify(r, SECRET);
    }
    let created = &receiver.of_type("session.created")[0].json();
    assert_eq!(created["data"]["conference_id"], f.conference_id.as_str());
    assert_eq!(created["data"]["session"]["topic"], topic);
    assert_eq!(created["data"]["session"]["chart_id"], chart.as_str());
    assert!(created["timestamp"].as_str().unwrap().ends_with('Z'));
    let finalized = &receiver.of_type("session.finalized")[0].json();
    assert_eq!(finalized["data"]["session"]["state"], "final");
    let published = &receiver.of_type("proceedings.published")[0].json();
    assert_eq!(published["data"]["conference_id"], f.conference_id.as_str());
    let ids: std::collections::BTreeSet<_> = got.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), 3, "each event has its own id");

    // The delivery log shows each attempt.
    let bad_limit = server.api(
        "GET",
        &format!("{}/{wid}/deliveries?limit=lots", hooks_path(&f)),
        Some(&f.organizer),
        None,
    );
    assert_eq!(bad_limit.status, 400, "{}", bad_limit.raw);
    assert_eq!(bad_limit.code(), "invalid_input");
    let log = deliveries(&server, &f, &wid);
    assert_eq!(log.len(), 3, "{log:#?}");
    for a in &log {
        assert_eq!(a["status"], 204);
        assert_eq!(a["attempt"], 1);
        assert!(a["next_retry"].is_null());
        assert!(ids.contains(a["event_id"].as_str().unwrap()));
    }

    // Removed: no more deliveries, and it is gone from the list.
    let del = server.api(
        "DELETE",
        &format!("{}/{wid}", hooks_path(&f)),
        Some(&f.organizer),
        None,
    );
    assert_eq!(del.status, 204, "{}", del.raw);
    server.propose(&mut f, "after removal");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.got().len(), 3);
    let listed = server.api("GET", &hooks_path(&f), Some(&f.organizer), None);
    assert_eq!(listed.body, json!([]));
    receiver.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_three_times_gets_it_on_the_fourth_try() {
    let receiver = Receiver::start(3).await;
    let server = TestServer::start_with(FAST);
    let mut f = server.fixture();
    let wid = register(&server, &f, &receiver.url(), &["session.created"]);
    server.propose(&mut f, "Retried");
    wait_for("four attempts", WAIT, || receiver.got().len() >= 4).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = receiver.got();
    assert_eq!(got.len(), 4, "no attempt after the success: {got:#?}");
    for r in &got {
        verify(r, SECRET);
        assert_eq!(r.id, got[0].id, "every attempt carries the event's id");
        assert_eq!(r.body, got[0].body, "every attempt sends the same body");
    }
    let log = deliveries(&server, &f, &wid);
    let attempts: Vec<(u64, u64)> = log
        .iter()
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        vec![(4, 204), (3, 500), (2, 500), (1, 500)],
        "{log:#?}"
    );
    assert!(
        log[1]["next_retry"].is_string(),
        "a failed attempt shows its retry"
    );
    assert!(log[0]["next_retry"].is_null());
    assert_eq!(server.metric("easel_webhook_pending"), 0);
    receiver.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_survives_kill_9_before_its_delivery() {
    // A port with nobody listening: every attempt before the kill fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut server = TestServer::start_with(FAST);
    let mut f = server.fixture();
    register(
        &server,
        &f,
        &format!("http://{port}/hook"),
        &["session.created"],
    );
    server.propose(&mut f, "Survives the crash");
    assert_eq!(server.metric("easel_webhook_pending"), 1);
    server.kill9();
    let receiver = Receiver::start_on(port, 0).await;
    server.restart(FAST);
    wait_for("the event after restart", WAIT, || {
        !receiver.of_type("session.created").is_empty()
    })
    .await;
    let got = receiver.of_type("session.created");
    verify(&got[0], SECRET);
    assert_eq!(
        got[0].json()["data"]["session"]["topic"],
        "Survives the crash"
    );
    receiver.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_updates_are_debounced_per_chart() {
    let receiver = Receiver::start(0).await;
    let mut args = FAST.to_vec();
    args.extend(["--webhook-chart-debounce-ms", "1000"]);
    let server = TestServer::start_with(&args);
    let f = server.fixture();
    register(&server, &f, &receiver.url(), &["chart.updated"]);
    let chart = server.chart_id("debounced");
    let client = TestClient::connect(&server.ws_url("debounced")).await;
    client.wait_synced().await;
    // 60 edits over about 1.5 s: one window closes in the middle.
    let started = std::time::Instant::now();
    for i in 0..60 {
        client.push_text("t", &format!("{i},"));
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let editing = started.elapsed();
    wait_for("a chart.updated event", WAIT, || {
        !receiver.of_type("chart.updated").is_empty()
    })
    .await;
    // Every window has closed by then.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let events = receiver.of_type("chart.updated");
    // One window per started second of editing, plus the one the report
    // template opened when the session was proposed (on a slow machine
    // the edits take longer, and so more windows).
    let windows = editing.as_millis() as usize / 1000 + 2;
    assert!(
        !events.is_empty() && events.len() <= windows,
        "60 edits in {editing:?} with a 1 s window gave {} events (at most {windows})",
        events.len()
    );
    for e in &events {
        verify(e, SECRET);
        let body = e.json();
        assert_eq!(body["data"]["chart_id"], chart.as_str());
        assert_eq!(body["data"]["conference_id"], f.conference_id.as_str());
    }
    client.close().await;
    receiver.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_webhook_registrations_are_refused_and_nothing_is_stored() {
    // Without --webhook-allow-private-targets: the default.
    let server = TestServer::start();
    let f = server.fixture();
    let good_secret = SECRET;
    let cases: &[(Value, &str)] = &[
        (
            json!({"url": "http://localhost:9/hook", "events": ["session.created"]}),
            "resolves to",
        ),
        (
            json!({"url": "http://[::1]/hook", "events": ["session.created"]}),
            "loopback",
        ),
        (
            json!({"url": "http://[::ffff:127.0.0.1]/", "events": ["session.created"]}),
            "loopback",
        ),
        (
            json!({"url": "http://169.254.169.254/latest/meta-data", "events": ["session.created"]}),
            "link-local",
        ),
        (
            json!({"url": "http://10.1.2.3/", "events": ["session.created"]}),
            "private",
        ),
        (
            json!({"url": "http://2130706433/", "events": ["session.created"]}),
            "loopback",
        ),
        (
            json!({"url": "ftp://example.org/hook", "events": ["session.created"]}),
            "only http and https",
        ),
        (
            json!({"url": "file:///etc/passwd", "events": ["session.created"]}),
            "only http and https",
        ),
        (
            json!({"url": "http://user:pw@example.org/", "events": ["session.created"]}),
            "user name or password",
        ),
        (
            json!({"url": "not a url", "events": ["session.created"]}),
            "not a valid URL",
        ),
        (
            json!({"url": "https://example.org/", "events": ["session.created"], "secret": "whsec_c2hvcnQ="}),
            "5 bytes",
        ),
        (
            json!({"url": "https://example.org/", "events": ["session.created"], "secret": "hunter2"}),
            "whsec_",
        ),
        (
            json!({"url": "https://example.org/", "events": ["session.deleted"], "secret": good_secret}),
            "unknown event type",
        ),
        (
            json!({"url": "https://example.org/", "events": [], "secret": good_secret}),
            "at least one",
        ),
    ];
    for (body, expect) in cases {
        let r = server.api(
            "POST",
            &hooks_path(&f),
            Some(&f.organizer),
            Some(body.clone()),
        );
        assert_eq!(r.status, 400, "{body}: {}", r.raw);
        assert_eq!(r.code(), "invalid_input", "{body}: {}", r.raw);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(expect),
            "{body}: {message:?} should say {expect:?}"
        );
    }
    // Not an organizer: refused before anything is looked at.
    let r = server.api(
        "POST",
        &hooks_path(&f),
        Some(&f.edit),
        Some(json!({"url": "https://example.org/", "events": ["session.created"]})),
    );
    assert_eq!(r.status, 403, "{}", r.raw);
    let listed = server.api("GET", &hooks_path(&f), Some(&f.organizer), None);
    assert_eq!(listed.body, json!([]), "nothing stored");
    let missing = server.api(
        "GET",
        &format!("{}/wh-nope/deliveries", hooks_path(&f)),
        Some(&f.organizer),
        None,
    );
    assert_eq!(missing.status, 404, "{}", missing.raw);
}

/// A chart edited inside a debounce window when the server is killed
/// still gets its `chart.updated` after the restart: the window's marker
/// is in the outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_window_open_at_kill_9_is_sent_after_restart() {
    let receiver = Receiver::start(0).await;
    let mut args = FAST.to_vec();
    args.extend(["--webhook-chart-debounce-ms", "60000"]);
    let mut server = TestServer::start_with(&args);
    let f = server.fixture();
    register(&server, &f, &receiver.url(), &["chart.updated"]);
    let chart = server.chart_id("edited before the crash");
    let client = TestClient::connect(&server.ws_url("edited before the crash")).await;
    client.wait_synced().await;
    for i in 0..5 {
        client.push_text("t", &format!("{i},"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Long enough for the window's marker to be flushed; the window itself
    // (a minute) is far from closing.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(receiver.of_type("chart.updated").is_empty());
    client.abort();
    server.kill9();
    server.restart(&args);
    wait_for("chart.updated after restart", WAIT, || {
        !receiver.of_type("chart.updated").is_empty()
    })
    .await;
    let got = receiver.of_type("chart.updated");
    verify(&got[0], SECRET);
    assert_eq!(got[0].json()["data"]["chart_id"], chart.as_str());
    receiver.task.abort();
}

/// A redirect is a failed attempt, never followed: the URL the server
/// was pointed to is the only one it talks to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed() {
    let receiver = Receiver::start(0).await;
    let server = TestServer::start_with(FAST);
    let mut f = server.fixture();
    let url = format!("http://{}/moved", receiver.addr);
    let wid = register(&server, &f, &url, &["session.created"]);
    server.propose(&mut f, "Redirected");
    wait_for("two attempts at the redirecting URL", WAIT, || {
        *receiver.state.moved_hits.lock().unwrap() >= 2
    })
    .await;
    assert!(
        receiver.got().is_empty(),
        "the redirect was followed: {:?}",
        receiver.got()
    );
    let log = deliveries(&server, &f, &wid);
    let first = log.last().unwrap();
    assert_eq!(first["status"], 307, "{log:#?}");
    assert_eq!(first["error"], "redirects are not followed");
    assert!(first["next_retry"].is_string());
    receiver.task.abort();
}
