//! Scale-out: three real `easel` nodes sharing charts through a real
//! `redis-server` (Debian's, started here on a free loopback port with its
//! own temp dir and `--appendonly yes --appendfsync always`), with real
//! WebSocket clients on different nodes. This is the docker-compose
//! `cluster` topology without Docker and without the load balancer (the
//! tests pick the node a client talks to, which is what a balancer does).
//!
//! Metadata (conferences, tokens, the chart index) lives in Redis too: the
//! nodes start on empty data dirs, and the fixture conference and its
//! charts are created through node 0's API only; every other node knows
//! them through Redis.
//!
//! Without `/usr/bin/redis-server` the tests print a loud SKIP, except in CI
//! (`CI` set), where `scripts/install-deps.sh` installs it and its absence
//! fails them.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::api_support::Fixture;
use crate::support::*;

const REDIS_SERVER: &str = "/usr/bin/redis-server";
const REDIS_CLI: &str = "/usr/bin/redis-cli";

/// A real redis-server on a free loopback port, durable as the docs demand.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    binds: Vec<String>,
}

impl RedisServer {
    /// None (after a loud message) when redis-server is not installed here.
    pub fn start() -> Option<RedisServer> {
        Self::start_on(&[])
    }

    /// [`RedisServer::start`], also listening on `extra_binds` (addresses
    /// of veth links a test made).
    pub fn start_on(extra_binds: &[&str]) -> Option<RedisServer> {
        if !Path::new(REDIS_SERVER).exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{REDIS_SERVER} is missing in CI: scripts/install-deps.sh installs redis-server"
            );
            eprintln!(
                "\n######## SKIP: {REDIS_SERVER} not installed; cluster test not run ########\n"
            );
            return None;
        }
        let port = free_port();
        let mut redis = RedisServer {
            child: None,
            port,
            dir: tempfile::tempdir().expect("tempdir"),
            binds: std::iter::once("127.0.0.1")
                .chain(extra_binds.iter().copied())
                .map(str::to_owned)
                .collect(),
        };
        redis.spawn();
        Some(redis)
    }

    fn spawn(&mut self) {
        let child = Command::new(REDIS_SERVER)
            .arg("--bind")
            .args(&self.binds)
            // Protected mode refuses clients from any address but loopback
            // when there is no password; the extra binds are a test's own
            // veth links.
            .args([
                "--protected-mode",
                if self.binds.len() > 1 { "no" } else { "yes" },
            ])
            .args(["--port", &self.port.to_string()])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--logfile", "redis.log"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        assert!(
            poll_blocking(Duration::from_secs(10), || self.cli(&["PING"]) == "PONG"),
            "redis-server did not start"
        );
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: Redis gets no chance to write anything more.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port and dir (the AOF is replayed).
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// One command through redis-cli; its output, trimmed ("" if down).
    pub fn cli(&self, args: &[&str]) -> String {
        Command::new(REDIS_CLI)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Redis plus N easel nodes that share its charts, conferences and tokens,
/// with the fixture conference created through node 0.
pub struct Cluster {
    pub redis: RedisServer,
    pub nodes: Vec<TestServer>,
    pub fixture: Fixture,
    /// Test chart name -> chart id.
    pub charts: std::collections::HashMap<String, String>,
    pub node_args: Vec<String>,
    _dirs: tempfile::TempDir,
}

impl Cluster {
    /// None when redis-server is not installed (see the module docs).
    pub fn start(nodes: usize, charts: &[&str], extra: &[&str]) -> Option<Cluster> {
        let redis = RedisServer::start()?;
        let mut node_args = vec!["--redis".to_owned(), redis.url()];
        node_args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = node_args.iter().map(String::as_str).collect();
        let dirs = tempfile::tempdir().expect("tempdir");
        let nodes: Vec<TestServer> = (0..nodes)
            .map(|i| TestServer::spawn(&dirs.path().join(format!("node{i}")), &args))
            .collect();
        let charts = charts
            .iter()
            .map(|name| (name.to_string(), nodes[0].chart_id(name)))
            .collect();
        let fixture = nodes[0].fixture();
        Some(Cluster {
            redis,
            nodes,
            fixture,
            charts,
            node_args,
            _dirs: dirs,
        })
    }

    /// WebSocket URL of a seeded chart on node `n`, with the edit token.
    pub fn url(&self, n: usize, chart: &str) -> String {
        format!(
            "ws://{}/sync/{}?token={}",
            self.nodes[n].addr, self.charts[chart], self.fixture.edit
        )
    }

    /// Stops node `n` (if it still runs) and starts it again on its data dir.
    pub fn restart_node(&mut self, n: usize) {
        self.nodes[n].terminate();
        let args: Vec<&str> = self.node_args.iter().map(String::as_str).collect();
        self.nodes[n].restart(&args);
    }

    /// Every node's log, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            out.push_str(&format!(
                "----- node {i} -----\n{}{}\n",
                n.previous_logs(),
                n.log()
            ));
        }
        out
    }
}

/// Connects until the server has sent its state (a chart whose node just
/// lost Redis closes joiners with 1013 until it is back).
pub async fn connect_synced(url: &str, doc: yrs::Doc) -> TestClient {
    let deadline = Instant::now() + WAIT;
    let mut last = String::from("no connection");
    loop {
        let tried = TestClient::try_connect_with_doc(url, doc.clone()).await;
        if let Err(e) = &tried {
            last = e.clone();
        }
        if let Ok(c) = tried {
            poll(Duration::from_secs(2), || {
                c.is_synced() || c.closed().is_some()
            })
            .await;
            if c.is_synced() {
                return c;
            }
            last = format!("closed: {:?}", c.closed());
            c.abort();
        }
        assert!(
            Instant::now() < deadline,
            "could not connect to {url} ({last})"
        );
        // Between attempts: the node is refusing joiners for now.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_presence_cross_nodes() {
    let Some(cluster) = Cluster::start(3, &["shared", "late"], &[]) else {
        return;
    };
    let a = TestClient::connect(&cluster.url(0, "shared")).await;
    let b = TestClient::connect(&cluster.url(1, "shared")).await;
    let c = TestClient::connect(&cluster.url(2, "shared")).await;
    a.push_text("t", "from-0;");
    b.push_text("t", "from-1;");
    c.push_text("t", "from-2;");
    let all = |x: &TestClient| tokens(&x.text("t")).len() == 3;
    let converged = poll(WAIT, || {
        all(&a) && all(&b) && all(&c) && a.text("t") == b.text("t") && b.text("t") == c.text("t")
    })
    .await;
    assert!(
        converged,
        "no convergence: {:?} / {:?} / {:?}\n{}",
        a.text("t"),
        b.text("t"),
        c.text("t"),
        cluster.logs()
    );

    // Presence: a state set on node 0 shows on nodes 1 and 2, an update too,
    // and a closed connection's state is removed everywhere.
    let a_id = a.doc.client_id().get();
    a.set_awareness(1, r#"{"user":{"name":"Ana"}}"#);
    wait_for("node 1 sees Ana", WAIT, || {
        b.awareness().get(&a_id).is_some_and(|s| s.contains("Ana"))
    })
    .await;
    wait_for("node 2 sees Ana", WAIT, || {
        c.awareness().get(&a_id).is_some_and(|s| s.contains("Ana"))
    })
    .await;
    let c_id = c.doc.client_id().get();
    c.set_awareness(1, r#"{"user":{"name":"Cy"}}"#);
    wait_for("node 0 sees Cy", WAIT, || a.awareness().contains_key(&c_id)).await;
    a.set_awareness(2, r#"{"user":{"name":"Ana B."}}"#);
    wait_for("node 2 sees the update", WAIT, || {
        c.awareness()
            .get(&a_id)
            .is_some_and(|s| s.contains("Ana B."))
    })
    .await;
    a.close().await;
    wait_for("removal reaches node 1", WAIT, || {
        !b.awareness().contains_key(&a_id)
    })
    .await;
    wait_for("removal reaches node 2", WAIT, || {
        !c.awareness().contains_key(&a_id)
    })
    .await;

    // A node that loads the chart only now learns the others' presence at
    // once (it asks), not at their next renewal (every 15 s).
    let x = TestClient::connect(&cluster.url(0, "late")).await;
    let x_id = x.doc.client_id().get();
    x.set_awareness(1, r#"{"user":{"name":"Early"}}"#);
    wait_for("x sees itself", WAIT, || x.awareness().contains_key(&x_id)).await;
    let y = TestClient::connect(&cluster.url(2, "late")).await;
    let started = Instant::now();
    wait_for("late node learns presence", Duration::from_secs(5), || {
        y.awareness().contains_key(&x_id)
    })
    .await;
    eprintln!("late node learned presence in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_killed_mid_edit_loses_no_acknowledged_update() {
    let cycles: usize = std::env::var("EASEL_CLUSTER_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let Some(mut cluster) = Cluster::start(3, &["crash"], &["--compact-after-updates", "50"])
    else {
        return;
    };
    let mut acked_total = 0;
    for cycle in 0..cycles {
        // Writers on node 0 (the one killed). Acknowledged = another client
        // saw it: the observer on node 1, and also one on node 0 itself
        // (the durability rule: node 0 shows nothing Redis has not kept).
        let observer = connect_synced(&cluster.url(1, "crash"), yrs::Doc::new()).await;
        let local = connect_synced(&cluster.url(0, "crash"), yrs::Doc::new()).await;
        let mut writers = Vec::new();
        for _ in 0..4 {
            writers.push(connect_synced(&cluster.url(0, "crash"), yrs::Doc::new()).await);
        }
        let mut typed = BTreeSet::new();
        for n in 0..30 {
            for (w, c) in writers.iter().enumerate() {
                let t = format!("c{cycle}w{w}n{n}");
                c.push_text("t", &format!("{t};"));
                typed.insert(t);
            }
            if n == 15 {
                // Halfway: make sure this cycle acknowledges something, so
                // the kill below always has something to lose.
                let this = format!("c{cycle}w");
                wait_for("first acknowledgements", WAIT, || {
                    observer.text("t").contains(&this)
                })
                .await;
            }
            // Paced, so the kill below lands in a stream of edits.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let seen_local = tokens(&local.text("t"));
        let acked: BTreeSet<String> = tokens(&observer.text("t"))
            .into_iter()
            .chain(seen_local)
            .filter(|t| t.starts_with(&format!("c{cycle}w")))
            .collect();
        cluster.nodes[0].kill9();
        local.abort();
        let docs: Vec<yrs::Doc> = writers.iter().map(|w| w.doc.clone()).collect();
        for w in writers {
            w.abort();
        }
        // A client on a third node must have every acknowledged update.
        let check = connect_synced(&cluster.url(2, "crash"), yrs::Doc::new()).await;
        let lost = missing(&check, &acked).await;
        eprintln!(
            "cycle {cycle}: typed {} acked {} present {} lost {}",
            typed.len(),
            acked.len(),
            acked.len() - lost.len(),
            lost.len()
        );
        assert!(
            lost.is_empty(),
            "cycle {cycle}: lost acknowledged updates {lost:?}\n{}",
            cluster.logs()
        );
        acked_total += acked.len();

        // The killed node's clients reconnect to another node and resync:
        // what they typed but nobody saw is merged too.
        let mut again = Vec::new();
        for doc in docs {
            again.push(connect_synced(&cluster.url(1, "crash"), doc).await);
        }
        let converged = poll(WAIT, || {
            let have = tokens(&check.text("t"));
            typed.iter().all(|t| have.contains(t))
        })
        .await;
        assert!(
            converged,
            "cycle {cycle}: after resync, missing {:?} (check client closed: {:?})\n{}",
            typed
                .difference(&tokens(&check.text("t")))
                .collect::<Vec<_>>(),
            check.closed(),
            cluster.logs()
        );
        for c in again {
            c.abort();
        }
        observer.abort();
        check.abort();
        cluster.restart_node(0);
    }
    assert!(
        acked_total > 0,
        "nothing was acknowledged; the test proves nothing"
    );
    // Compaction ran (threshold 50) and kept the log short.
    let xlen: usize = cluster
        .redis
        .cli(&[
            "XLEN",
            &format!("easel:{{{}}}:log", cluster.charts["crash"]),
        ])
        .parse()
        .unwrap_or(usize::MAX);
    let snap = cluster.redis.cli(&[
        "HEXISTS",
        &format!("easel:{{{}}}:snap", cluster.charts["crash"]),
        "state",
    ]);
    eprintln!("log entries left after compactions: {xlen}; snapshot present: {snap}");
    assert_eq!(snap, "1", "no snapshot was written");
    assert!(
        xlen < 4 * 30 * cycles,
        "log never compacted: {xlen} entries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_keeps_acknowledged_updates_and_nodes_recover() {
    let Some(mut cluster) = Cluster::start(3, &["outage"], &[]) else {
        return;
    };
    let writer = connect_synced(&cluster.url(0, "outage"), yrs::Doc::new()).await;
    // One observer on the writer's node, one on another.
    let local = connect_synced(&cluster.url(0, "outage"), yrs::Doc::new()).await;
    let observer = connect_synced(&cluster.url(1, "outage"), yrs::Doc::new()).await;
    for n in 0..100 {
        writer.push_text("t", &format!("before{n};"));
        if n == 60 {
            // Mid-edit: Redis dies with appends in flight.
            cluster.redis.kill9();
        }
        // Paced, so Redis dies with appends in flight.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    wait_for("an acknowledgement from before the kill", WAIT, || {
        !observer.text("t").is_empty() || !local.text("t").is_empty()
    })
    .await;
    let acked: BTreeSet<String> = tokens(&observer.text("t"))
        .into_iter()
        .chain(tokens(&local.text("t")))
        .collect();
    assert!(
        !acked.is_empty(),
        "nothing was acknowledged before the kill"
    );
    // While Redis is down nothing new is shown: the observer's view stays.
    writer.push_text("t", "during;");
    // Deliberate: nothing may arrive within this window.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !observer.text("t").contains("during"),
        "an update was shown that Redis never confirmed"
    );
    let writer_doc = writer.doc.clone();
    cluster.redis.restart();

    // Every acknowledged update survived the Redis crash: node 2 loads the
    // chart from Redis only now.
    let check = connect_synced(&cluster.url(2, "outage"), yrs::Doc::new()).await;
    let lost = missing(&check, &acked).await;
    eprintln!(
        "acked {} before the Redis kill; lost {}",
        acked.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "lost {lost:?}\n{}", cluster.logs());

    // The writer's node closed it (1013) when its append failed; like any
    // y-websocket client it reconnects and resyncs, and its unconfirmed
    // edits arrive now.
    wait_for("writer closed with 1013", WAIT, || {
        writer.closed().is_some_and(|(code, _)| code == 1013)
    })
    .await;
    let again = connect_synced(&cluster.url(0, "outage"), writer_doc).await;
    let all_typed = |text: &str| {
        let t = tokens(text);
        (0..100).all(|n| t.contains(&format!("before{n}"))) && t.contains("during")
    };
    wait_for("unconfirmed edits resynced", WAIT, || {
        all_typed(&check.text("t"))
    })
    .await;
    // Edits flow across nodes again, also to the observer whose connection
    // stayed open through the outage (its node resumed following the log).
    again.push_text("t", "after;");
    wait_for("old connection sees new edits", WAIT, || {
        observer.text("t").contains("after")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_on_busy_nodes_loses_nothing() {
    // Every node crosses the threshold over and over while clients on all
    // of them keep typing: leases decide who compacts, and entries that
    // arrive during a compaction must survive it.
    let Some(cluster) = Cluster::start(3, &["busy"], &["--compact-after-updates", "10"]) else {
        return;
    };
    let mut writers = Vec::new();
    for n in 0..3 {
        for _ in 0..2 {
            writers.push(connect_synced(&cluster.url(n, "busy"), yrs::Doc::new()).await);
        }
    }
    let mut typed = BTreeSet::new();
    for n in 0..60 {
        for (w, c) in writers.iter().enumerate() {
            let t = format!("w{w}n{n}");
            c.push_text("t", &format!("{t};"));
            typed.insert(t);
        }
        // Paced: a steady stream of edits on every node, not one burst.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    for (i, w) in writers.iter().enumerate() {
        let done = poll(WAIT, || tokens(&w.text("t")) == typed).await;
        assert!(
            done,
            "writer {i} misses {:?} (closed: {:?})\n{}",
            typed.difference(&tokens(&w.text("t"))).collect::<Vec<_>>(),
            w.closed(),
            cluster
                .logs()
                .lines()
                .filter(|l| l.contains("ERROR") || l.contains("WARN"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    // A node that loads the chart now reads snapshot + what is left of the log.
    let mut cluster = cluster;
    for w in writers {
        w.close().await;
    }
    cluster.restart_node(2);
    let fresh = connect_synced(&cluster.url(2, "busy"), yrs::Doc::new()).await;
    wait_for("fresh load has everything", WAIT, || {
        tokens(&fresh.text("t")) == typed
    })
    .await;
    let key = format!("easel:{{{}}}:log", cluster.charts["busy"]);
    let xlen: usize = cluster
        .redis
        .cli(&["XLEN", &key])
        .parse()
        .unwrap_or(usize::MAX);
    let compactions: u64 = cluster
        .nodes
        .iter()
        .take(2)
        .map(|n| {
            let m = crate::api_support::request(&n.addr, "GET", "/metrics", &[], None).raw;
            m.lines()
                .find(|l| l.starts_with("easel_compactions_total "))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum();
    eprintln!(
        "{} updates; log left {xlen}; compactions on nodes 0+1: {compactions}",
        typed.len()
    );
    assert!(compactions > 0, "no node compacted");
    assert!(xlen < typed.len(), "log was never trimmed: {xlen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_redis_that_would_lose_acknowledged_updates() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // The test Redis is durable; make it not, as a default install is.
    assert_eq!(
        redis.cli(&["CONFIG", "SET", "appendfsync", "everysec"]),
        "OK"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = |url: &str| {
        Command::new(env!("CARGO_BIN_EXE_easel"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--no-demo",
                "--data-dir",
            ])
            .arg(tmp.path().join("data"))
            .args(["--redis", url, "--redis-timeout-ms", "500"])
            .output()
            .expect("run easel")
    };
    let out = run(&redis.url());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started on a non-durable Redis");
    assert!(
        stderr.contains("appendfsync") && stderr.contains("docs/scale-out.md"),
        "unclear error: {stderr}"
    );
    // Nothing listens there: a clear error, not a hang or a panic.
    let out = run(&format!("redis://127.0.0.1:{}", free_port()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("cannot reach Redis"),
        "unclear error: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_unloaded_on_one_node_reloads_what_others_wrote_meanwhile() {
    let Some(cluster) = Cluster::start(2, &["idle"], &["--idle-unload-secs", "1"]) else {
        return;
    };
    let a = connect_synced(&cluster.url(0, "idle"), yrs::Doc::new()).await;
    a.push_text("t", "first;");
    wait_for("stored", WAIT, || {
        a.seen.lock().unwrap().updates_received >= 2
    })
    .await;
    a.close().await;
    // Node 0 unloads the chart (and stops following it) while node 1 writes.
    let b = connect_synced(&cluster.url(1, "idle"), yrs::Doc::new()).await;
    let node0 = &cluster.nodes[0];
    let unloads = || {
        crate::api_support::request(&node0.addr, "GET", "/metrics", &[], None)
            .raw
            .lines()
            .find(|l| l.starts_with("easel_chart_unloads_total "))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    wait_for("node 0 unloads the chart", WAIT, || unloads() >= 1).await;
    b.push_text("t", "while-away;");
    wait_for("b's edit stored", WAIT, || {
        b.text("t").contains("while-away")
    })
    .await;
    let again = connect_synced(&cluster.url(0, "idle"), yrs::Doc::new()).await;
    wait_for("reload from Redis has both", WAIT, || {
        let t = tokens(&again.text("t"));
        t.contains("first") && t.contains("while-away")
    })
    .await;
    // And it follows again: a new edit on node 1 arrives on node 0.
    b.push_text("t", "after;");
    wait_for("following again", WAIT, || {
        again.text("t").contains("after")
    })
    .await;
}

/// Waits (up to `WAIT`) for `check` to hold every acknowledged word; returns
/// those it still lacks.
pub async fn missing(check: &TestClient, acked: &BTreeSet<String>) -> Vec<String> {
    poll(WAIT, || {
        let have = tokens(&check.text("t"));
        acked.iter().all(|t| have.contains(t))
    })
    .await;
    let have = tokens(&check.text("t"));
    acked
        .iter()
        .filter(|t| !have.contains(*t))
        .cloned()
        .collect()
}

/// `/api/v1/conferences/{id}{rest}`.
fn conf_path(id: &str, rest: &str) -> String {
    format!("/api/v1/conferences/{id}{rest}")
}

/// The session of `chart` in an agenda.
fn session_of(agenda: &serde_json::Value, chart: &str) -> serde_json::Value {
    agenda["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["chart_id"] == chart)
        .cloned()
        .unwrap_or_else(|| panic!("no session with chart {chart} in {agenda}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conferences_links_and_agenda_are_shared_across_nodes() {
    let Some(cluster) = Cluster::start(3, &[], &[]) else {
        return;
    };
    let [a, b, c] = [0, 1, 2].map(|n| cluster.nodes[n].addr.clone());
    // Conference, space, rounds and links: all through node A's API.
    let mut conf = crate::api_support::create_conference(&a, "Shared", 10);
    let id = conf.conference_id.clone();
    // The links minted on A work on B and C, and only for this conference.
    for addr in [&b, &c] {
        let r = crate::api_support::api(addr, "GET", &conf_path(&id, ""), Some(&conf.edit), None);
        assert_eq!(r.status, 200, "{addr}: {}", r.raw);
        assert_eq!(r.body["name"], "Shared");
        let r = crate::api_support::api(
            addr,
            "GET",
            &conf_path(&id, "/links"),
            Some(&conf.organizer),
            None,
        );
        assert_eq!(r.status, 200, "{addr}: {}", r.raw);
        assert_eq!(
            r.body.as_array().map(Vec::len),
            Some(3),
            "organizer, edit, read: {}",
            r.raw
        );
    }

    // A live agenda on A sees a topic proposed on B.
    let (status, mut events) =
        crate::api::EventStream::open(&a, &conf_path(&id, &format!("/events?token={}", conf.read)))
            .await;
    assert_eq!(status, 200);
    let first = events.next_agenda().await.expect("first agenda");
    assert!(first["sessions"].as_array().unwrap().is_empty());
    let chart = cluster.nodes[1].propose(&mut conf, "Proposed on B");
    let ev = events
        .next_agenda()
        .await
        .expect("agenda after the proposal");
    assert_eq!(session_of(&ev, &chart)["topic"], "Proposed on B");
    assert!(ev["version"].as_u64() > first["version"].as_u64());
    let r = crate::api_support::api(&a, "GET", &conf_path(&id, ""), Some(&conf.read), None);
    assert_eq!(session_of(&r.body, &chart)["topic"], "Proposed on B");

    // Its chart opens on every node with A's edit link: a writer on C, a
    // reader on A.
    let reader = connect_synced(
        &format!("ws://{a}/sync/{chart}?token={}", conf.read),
        yrs::Doc::new(),
    )
    .await;
    let writer = connect_synced(
        &format!("ws://{c}/sync/{chart}?token={}", conf.edit),
        yrs::Doc::new(),
    )
    .await;
    writer.push_text("t", "from C;");
    wait_for("A's reader sees C's edit", WAIT, || {
        reader.text("t") == "from C;"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_on_one_node_closes_the_token_everywhere() {
    let Some(cluster) = Cluster::start(3, &["revoke"], &[]) else {
        return;
    };
    let f = &cluster.fixture;
    let chart = &cluster.charts["revoke"];
    let [a, b, c] = [0, 1, 2].map(|n| cluster.nodes[n].addr.clone());
    // Minted on B.
    let (token, link) = mint_link(&b, f, "edit");
    let url = |addr: &str| format!("ws://{addr}/sync/{chart}?token={token}");
    // Open on A and on B; a bystander with another link on A.
    let on_a = connect_synced(&url(&a), yrs::Doc::new()).await;
    let on_b = connect_synced(&url(&b), yrs::Doc::new()).await;
    let bystander = connect_synced(&cluster.url(0, "revoke"), yrs::Doc::new()).await;
    let (status, mut stream) = crate::api::EventStream::open(
        &a,
        &conf_path(&f.conference_id, &format!("/events?token={token}")),
    )
    .await;
    assert_eq!(status, 200);
    stream.next_agenda().await.expect("first agenda");

    // An announcement no node can read (no payload) silences nobody: the
    // nodes skip it and follow on.
    let bogus = cluster
        .redis
        .cli(&["XADD", "easel:{meta}:events", "*", "n", "someone"]);
    assert!(!bogus.is_empty(), "XADD failed");

    // Revoked on C.
    let r = crate::api_support::api(
        &c,
        "DELETE",
        &conf_path(&f.conference_id, &format!("/links/{link}")),
        Some(&f.organizer),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    for (node, client) in [("A", &on_a), ("B", &on_b)] {
        wait_for(&format!("closed on {node}"), WAIT, || {
            client.closed().is_some()
        })
        .await;
        assert_eq!(client.closed().unwrap().0, 4401, "on {node}");
    }
    assert!(
        stream.next_agenda().await.is_none(),
        "the revoked token's event stream on A did not end"
    );
    // Refused by every node, for charts and for the API.
    for addr in [&a, &b, &c] {
        assert_eq!(
            crate::access::ws_status(&url(addr), None, None).await,
            401,
            "{addr}"
        );
        let r = crate::api_support::api(
            addr,
            "GET",
            &conf_path(&f.conference_id, ""),
            Some(&token),
            None,
        );
        assert_eq!(r.status, 401, "{addr}: {}", r.raw);
    }
    // Other links keep going.
    bystander.push_text("t", "still here;");
    wait_for("bystander served", WAIT, || {
        bystander.seen.lock().unwrap().updates_received >= 2
    })
    .await;
    assert!(bystander.closed().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizing_on_one_node_makes_writers_on_others_read_only() {
    let Some(cluster) = Cluster::start(3, &["final"], &[]) else {
        return;
    };
    let f = &cluster.fixture;
    let chart = cluster.charts["final"].clone();
    let agenda = crate::api_support::api(
        &cluster.nodes[0].addr,
        "GET",
        &conf_path(&f.conference_id, ""),
        Some(&f.organizer),
        None,
    )
    .body;
    let session = session_of(&agenda, &chart)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let set = |node: usize, state: &str| {
        let r = crate::api_support::api(
            &cluster.nodes[node].addr,
            "PATCH",
            &conf_path(&f.conference_id, &format!("/sessions/{session}")),
            Some(&f.organizer),
            Some(serde_json::json!({"state": state})),
        );
        assert_eq!(r.status, 200, "{}", r.raw);
    };
    let writer = connect_synced(&cluster.url(1, "final"), yrs::Doc::new()).await;
    let observer = connect_synced(
        &format!(
            "ws://{}/sync/{chart}?token={}",
            cluster.nodes[2].addr, f.read
        ),
        yrs::Doc::new(),
    )
    .await;
    writer.push_text("t", "before;");
    wait_for("observer sees the edit", WAIT, || {
        observer.text("t") == "before;"
    })
    .await;

    // Finalized on A: B's open editor is refused from then on. B learns it
    // through Redis a moment after A answered: probe until it does.
    set(0, "live");
    set(0, "final");
    let started = Instant::now();
    let mut probes = 0;
    wait_for("B's writer turns read-only", WAIT, || {
        probes += 1;
        writer.push_text("t", &format!("probe{probes};"));
        !writer.denied().is_empty()
    })
    .await;
    eprintln!(
        "finalize on A reached B's open connection after {:?} ({probes} probes)",
        started.elapsed()
    );
    let denied = writer.denied().len();
    writer.push_text("t", "after;");
    wait_for("B's next edit refused too", WAIT, || {
        writer.denied().len() > denied
    })
    .await;
    // Deliberate: the refused edit must not arrive within this window.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !observer.text("t").contains("after;"),
        "an edit refused on B was stored: {:?}",
        observer.text("t")
    );
    // A new editor on C is read-only too.
    let late = connect_synced(&cluster.url(2, "final"), yrs::Doc::new()).await;
    late.push_text("t", "late;");
    wait_for("C's new writer is refused", WAIT, || {
        !late.denied().is_empty()
    })
    .await;

    // Reopened on C: B's editor writes again.
    set(2, "live");
    let again = connect_synced(&cluster.url(1, "final"), yrs::Doc::new()).await;
    again.push_text("t", "reopened;");
    // What the editors typed while it was final is sent again when the
    // session reopens (each node asks its editors to resync), so nothing
    // typed is lost.
    wait_for("edits flow again", WAIT, || {
        let t = observer.text("t");
        t.contains("reopened;") && t.contains("late;") && t.contains("after;")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_agenda_edits_on_two_nodes_all_survive() {
    let Some(cluster) = Cluster::start(2, &[], &[]) else {
        return;
    };
    const EACH: usize = 15;
    let conf =
        crate::api_support::create_conference(&cluster.nodes[0].addr, "Busy", 2 * EACH as u32);
    let before = crate::api_support::api(
        &cluster.nodes[1].addr,
        "GET",
        &conf_path(&conf.conference_id, ""),
        Some(&conf.read),
        None,
    )
    .body["version"]
        .as_u64()
        .unwrap();
    // Two people posting into the marketplace at once, on different nodes:
    // each write is load, validate, store of the same agenda document.
    let started = Instant::now();
    let posters: Vec<_> = (0..2)
        .map(|n| {
            let addr = cluster.nodes[n].addr.clone();
            let conf = conf.clone();
            std::thread::spawn(move || {
                (0..EACH)
                    .map(|i| {
                        let round = &conf.rounds[n * EACH + i];
                        let r = crate::api_support::api(
                            &addr,
                            "POST",
                            &conf_path(&conf.conference_id, "/sessions"),
                            Some(&conf.edit),
                            Some(serde_json::json!({
                                "topic": format!("node{n}-{i}"), "convener": "t",
                                "round_id": round, "space_id": conf.space_id
                            })),
                        );
                        (r.status, r.raw)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for p in posters {
        for (status, raw) in p.join().expect("poster") {
            assert_eq!(status, 201, "{raw}");
        }
    }
    let took = started.elapsed();
    eprintln!(
        "{} proposals on two nodes at once took {took:?} ({:?} per proposal, serialized by the conference lock)",
        2 * EACH,
        took / (2 * EACH as u32)
    );
    let after = crate::api_support::api(
        &cluster.nodes[1].addr,
        "GET",
        &conf_path(&conf.conference_id, ""),
        Some(&conf.read),
        None,
    )
    .body;
    let topics: BTreeSet<String> = after["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["topic"].as_str().unwrap().to_owned())
        .collect();
    let want: BTreeSet<String> = (0..2)
        .flat_map(|n| (0..EACH).map(move |i| format!("node{n}-{i}")))
        .collect();
    assert_eq!(topics, want, "lost updates");
    assert_eq!(after["version"].as_u64(), Some(before + 2 * EACH as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_on_one_node_closes_charts_everywhere_and_empties_redis() {
    let Some(cluster) = Cluster::start(3, &[], &[]) else {
        return;
    };
    let [a, b, c] = [0, 1, 2].map(|n| cluster.nodes[n].addr.clone());
    let mut conf = crate::api_support::create_conference(&a, "Doomed", 2);
    let chart = cluster.nodes[0].propose(&mut conf, "to delete");
    let on_b = connect_synced(
        &format!("ws://{b}/sync/{chart}?token={}", conf.edit),
        yrs::Doc::new(),
    )
    .await;
    on_b.push_text("t", "written;");
    wait_for("stored", WAIT, || {
        on_b.seen.lock().unwrap().updates_received >= 2
    })
    .await;
    let r = crate::api_support::api(
        &c,
        "DELETE",
        &conf_path(&conf.conference_id, ""),
        Some(&conf.organizer),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    wait_for("B's client closed", WAIT, || on_b.closed().is_some()).await;
    assert_eq!(on_b.closed().unwrap().0, 4410);
    for addr in [&a, &b, &c] {
        let r = crate::api_support::api(
            addr,
            "GET",
            &conf_path(&conf.conference_id, ""),
            Some(&conf.organizer),
            None,
        );
        assert_eq!(
            r.status, 401,
            "{addr}: the organizer link outlived its conference: {}",
            r.raw
        );
    }
    // Nothing of the conference is left in Redis: documents, index, chart.
    let left = cluster.redis.cli(&["KEYS", "*"]);
    for gone in [conf.conference_id.as_str(), chart.as_str()] {
        assert!(!left.contains(gone), "{gone} still in Redis:\n{left}");
    }
    let index = cluster
        .redis
        .cli(&["ZRANGE", "easel:{meta}:keys", "0", "-1"]);
    assert!(
        !index.contains(&conf.conference_id) && !index.contains(&chart),
        "{index}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_survive_a_redis_restart_and_announcements_still_arrive() {
    let Some(mut cluster) = Cluster::start(2, &["restart"], &[]) else {
        return;
    };
    let f = cluster.fixture.clone();
    let chart = cluster.charts["restart"].clone();
    let (a, b) = (cluster.nodes[0].addr.clone(), cluster.nodes[1].addr.clone());
    let (token, link) = mint_link(&a, &f, "read");
    let on_b = connect_synced(
        &format!("ws://{b}/sync/{chart}?token={token}"),
        yrs::Doc::new(),
    )
    .await;
    // Node B's announcement follower loses its connection and comes back;
    // the reader's connection stays open (nobody writes).
    cluster.redis.restart();
    // The link was acknowledged before Redis was killed (SIGKILL): it
    // survived, so node B still accepts it once Redis is back.
    let conference = conf_path(&f.conference_id, "");
    let get = || crate::api_support::api(&b, "GET", &conference, Some(&token), None);
    let mut r = get();
    poll(WAIT, || {
        if r.status == 503 {
            r = get();
        }
        r.status != 503
    })
    .await;
    assert_eq!(r.status, 200, "the minted link was lost: {}", r.raw);
    let revoke = || {
        crate::api_support::api(
            &a,
            "DELETE",
            &conf_path(&f.conference_id, &format!("/links/{link}")),
            Some(&f.organizer),
            None,
        )
    };
    // Node A answers 503 until its own connection is back.
    let mut r = revoke();
    poll(WAIT, || {
        if r.status != 200 {
            r = revoke();
        }
        r.status == 200
    })
    .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    wait_for("B's reader closed", WAIT, || on_b.closed().is_some()).await;
    assert_eq!(
        on_b.closed().unwrap().0,
        4401,
        "closed, but not by the revocation\n{}",
        cluster.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_through_one_node_holds_the_whole_cluster() {
    let Some(cluster) = Cluster::start(2, &["kept"], &[]) else {
        return;
    };
    let f = cluster.fixture.clone();
    let chart = cluster.charts["kept"].clone();
    // Written through node 1; a second conference created on node 1 too.
    let writer = connect_synced(&cluster.url(1, "kept"), yrs::Doc::new()).await;
    writer.push_text("t", "in redis;");
    wait_for("stored", WAIT, || {
        writer.seen.lock().unwrap().updates_received >= 2
    })
    .await;
    let other = crate::api_support::create_conference(&cluster.nodes[1].addr, "Other", 1);
    // Backed up through node 0's admin socket.
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("cluster.backup");
    let run = |args: Vec<&std::ffi::OsStr>| {
        let out = Command::new(env!("CARGO_BIN_EXE_easel"))
            .args(args)
            .env("EASEL_LOG", "warn")
            .output()
            .expect("run easel");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let said = run(vec![
        "backup".as_ref(),
        "--data-dir".as_ref(),
        cluster.nodes[0].data_dir.as_os_str(),
        "-o".as_ref(),
        file.as_os_str(),
    ]);
    assert!(said.contains("2 conferences"), "{said}");
    // Restored, it is a single node holding both conferences and the chart.
    let dir = tmp.path().join("restored");
    run(vec![
        "restore".as_ref(),
        "--data-dir".as_ref(),
        dir.as_os_str(),
        file.as_os_str(),
    ]);
    let single = TestServer::spawn(&dir, &[]);
    for (conf, token) in [
        (&f.conference_id, &f.read),
        (&other.conference_id, &other.read),
    ] {
        let r = single.api("GET", &conf_path(conf, ""), Some(token), None);
        assert_eq!(r.status, 200, "{}", r.raw);
    }
    let reader = TestClient::connect(&single.ws_url_with(&chart, Some(&f.read))).await;
    wait_for("restored chart", WAIT, || reader.text("t") == "in redis;").await;
}

/// Reads `presence` events until `chart` has `want` people.
async fn until_present(events: &mut crate::api::EventStream, chart: &str, want: u64) {
    let mut last = serde_json::Value::Null;
    let got = tokio::time::timeout(WAIT, async {
        loop {
            let ev = events.next_event("presence").await.expect("stream open");
            if ev["charts"][chart] == want {
                return;
            }
            last = ev;
        }
    })
    .await;
    assert!(got.is_ok(), "{chart} never had {want} people; last {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_per_chart_are_counted_across_nodes() {
    let Some(mut cluster) = Cluster::start(3, &["counted"], &["--awareness-timeout-secs", "2"])
    else {
        return;
    };
    let f = cluster.fixture.clone();
    let chart = cluster.charts["counted"].clone();
    let (status, mut events) = crate::api::EventStream::open(
        &cluster.nodes[0].addr,
        &conf_path(&f.conference_id, &format!("/events?token={}", f.read)),
    )
    .await;
    assert_eq!(status, 200);
    events.next_agenda().await.expect("agenda");
    until_present(&mut events, &chart, 0).await;
    // One person on each node; node 0's board counts all of them.
    let on_1 = connect_synced(&cluster.url(1, "counted"), yrs::Doc::new()).await;
    until_present(&mut events, &chart, 1).await;
    let _on_2 = connect_synced(&cluster.url(2, "counted"), yrs::Doc::new()).await;
    until_present(&mut events, &chart, 2).await;
    let _on_0 = connect_synced(&cluster.url(0, "counted"), yrs::Doc::new()).await;
    until_present(&mut events, &chart, 3).await;
    // Node 2's answer too, once node 0's table reached it.
    let node2 = cluster.nodes[2].addr.clone();
    wait_for("node 2 counts 3", WAIT, || {
        let r = crate::api_support::api(
            &node2,
            "GET",
            &conf_path(&f.conference_id, "/presence"),
            Some(&f.read),
            None,
        );
        r.body["charts"][&chart] == 3
    })
    .await;
    // Leaving on node 1 counts at once; a node that dies stops counting
    // after the awareness timeout.
    on_1.close().await;
    until_present(&mut events, &chart, 2).await;
    cluster.nodes[2].kill9();
    let started = Instant::now();
    until_present(&mut events, &chart, 1).await;
    eprintln!(
        "a killed node's people stopped counting after {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_on_every_node_deletes_a_published_conference_once() {
    let Some(cluster) = Cluster::start(2, &[], &["--delete-published-after", "1s"]) else {
        return;
    };
    let a = cluster.nodes[0].addr.clone();
    let mut conf = crate::api_support::create_conference(&a, "Published", 2);
    let chart = cluster.nodes[1].propose(&mut conf, "kept briefly");
    let path = conf_path(&conf.conference_id, "");
    let r = crate::api_support::api(
        &a,
        "PATCH",
        &path,
        Some(&conf.organizer),
        Some(serde_json::json!({"proceedings_public": true})),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    // Both nodes run retention passes; one deletes, the other finds it gone.
    wait_for("deleted", WAIT, || {
        cluster.nodes.iter().all(|n| {
            crate::api_support::api(&n.addr, "GET", &path, Some(&conf.organizer), None).status
                == 401
        })
    })
    .await;
    // Deliberate: two retention intervals (250 ms), so every node has run a
    // pass after the deletion; none may delete again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let logs = cluster.logs();
    assert_eq!(
        logs.matches("retention: conference deleted").count(),
        1,
        "deleted once, by one node\n{logs}"
    );
    assert!(
        !logs.contains("retention pass failed"),
        "a node's pass failed\n{logs}"
    );
    let left = cluster.redis.cli(&["KEYS", "*"]);
    for gone in [conf.conference_id.as_str(), chart.as_str()] {
        assert!(!left.contains(gone), "{gone} still in Redis:\n{left}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conference_commands_work_on_a_running_cluster() {
    let Some(cluster) = Cluster::start(2, &[], &[]) else {
        return;
    };
    let url = cluster.redis.url();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_easel"))
            .arg("conference")
            .args(args)
            .args(["--redis", &url, "--data-dir", "/nonexistent/easel-data"])
            .env("EASEL_LOG", "warn")
            .output()
            .expect("run easel");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let value_after = |text: &str, label: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(label))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {label:?} in {text}"))
    };
    let created = cli(&["create", "--name", "From the CLI", "--tz", "UTC"]);
    let organizer = value_after(&created, "Organizer token (shown only now):");
    let id = created
        .split("(id ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .expect("conference id")
        .to_owned();
    // Both running nodes know it at once, with the printed token.
    for node in &cluster.nodes {
        let r = crate::api_support::api(
            &node.addr,
            "GET",
            &conf_path(&id, ""),
            Some(&organizer),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.raw);
        assert_eq!(r.body["name"], "From the CLI");
    }
    let minted = cli(&["link", "--conference", &id, "--role", "read"]);
    let read = value_after(&minted, "Token:");
    let r = crate::api_support::api(
        &cluster.nodes[1].addr,
        "GET",
        &conf_path(&id, ""),
        Some(&read),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(cli(&["list"]).contains(&id));
    // The proceedings of a running cluster's conference, with a session
    // proposed through node 1 (its chart read from Redis).
    let mut f = cluster.fixture.clone();
    cluster.nodes[1].propose(&mut f, "Proposed for the proceedings");
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("proceedings.json");
    let out = Command::new(env!("CARGO_BIN_EXE_easel"))
        .args(["proceedings", &f.conference_id, "--format", "json", "-o"])
        .arg(&file)
        .args(["--redis", &url, "--data-dir", "/nonexistent/easel-data"])
        .env("EASEL_LOG", "warn")
        .output()
        .expect("run easel");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(&file).expect("proceedings written");
    assert!(json.contains("Proposed for the proceedings"), "{json}");
    cli(&["delete", "--conference", &id]);
    let r = crate::api_support::api(
        &cluster.nodes[0].addr,
        "GET",
        &conf_path(&id, ""),
        Some(&organizer),
        None,
    );
    assert_eq!(r.status, 401, "{}", r.raw);
    assert!(!cli(&["list"]).contains(&id));
}

/// Mints a link of `role` ("to revoke") on the node at `addr`; returns its
/// token and its id.
fn mint_link(addr: &str, f: &crate::api_support::Fixture, role: &str) -> (String, String) {
    let r = crate::api_support::api(
        addr,
        "POST",
        &conf_path(&f.conference_id, "/links"),
        Some(&f.organizer),
        Some(serde_json::json!({"role": role, "label": "to revoke"})),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    let token = r.body["token"].as_str().unwrap().to_owned();
    let link = r.body["id"].as_str().unwrap().to_owned();
    (token, link)
}
