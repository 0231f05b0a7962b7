//! Shared test support: the real `easel` binary on port 0, and a y-websocket
//! client built on yrs and tokio-tungstenite, speaking the protocol exactly
//! as the npm provider does (step 1 on connect, answer step 1 with step 2,
//! apply step 2 and updates, relay awareness).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use easel_protocol::{self as protocol, FrameDecoder, Message};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::updates::decoder::Decode;
use yrs::{ClientID, Doc, GetString, ReadTxn, Text, Transact, Update};

/// The real server binary, started on a free loopback port.
pub struct TestServer {
    pub child: Child,
    pub addr: String,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    stderr_log: PathBuf,
    old_logs: Vec<PathBuf>,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let mut s = Self::spawn(&data, args);
        s._tmp = Some(tmp);
        s
    }

    /// Starts on an existing data dir (a restart).
    pub fn spawn(data_dir: &Path, args: &[&str]) -> TestServer {
        Self::spawn_with_env(data_dir, args, &[])
    }

    /// [`TestServer::spawn`] with extra environment variables (they win
    /// over the defaults, e.g. `EASEL_LOG`).
    pub fn spawn_with_env(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> TestServer {
        Self::spawn_via(&[], "127.0.0.1:0", data_dir, args, env)
    }

    /// [`TestServer::spawn_with_env`] through a wrapper command (`prefix`,
    /// e.g. `ip netns exec NS`, which execs the server in place) and on
    /// another listen address.
    pub fn spawn_via(
        prefix: &[&str],
        listen: &str,
        data_dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> TestServer {
        let stderr_log = data_dir.with_extension(format!("log{}", rand_suffix()));
        let log = std::fs::File::create(&stderr_log).expect("log file");
        let bin = env!("CARGO_BIN_EXE_easel");
        let mut command = match prefix.split_first() {
            Some((wrapper, rest)) => {
                let mut c = Command::new(wrapper);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = command
            .arg("serve")
            .args(["--listen", listen, "--no-demo", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env("EASEL_LOG", "easel=debug,easel_hub=debug,info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start easel");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("read banner");
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .filter(|_| line.contains("http://"))
            .unwrap_or_else(|| {
                let log = std::fs::read_to_string(&stderr_log).unwrap_or_default();
                panic!("no banner from easel: {line:?}\n{log}")
            })
            .to_string();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        TestServer {
            child,
            addr,
            data_dir: data_dir.to_path_buf(),
            _tmp: None,
            stderr_log,
            old_logs: Vec::new(),
        }
    }

    /// URL of the chart a test calls `chart`: a real session's chart in this
    /// data dir's fixture conference (see `api_support.rs`), with the
    /// fixture's edit token.
    pub fn ws_url(&self, chart: &str) -> String {
        let id = self.chart_id(chart);
        format!(
            "ws://{}/sync/{}?token={}",
            self.addr,
            id,
            self.fixture().edit
        )
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for exit; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let mut status = None;
        let exited = poll_blocking(Duration::from_secs(20), || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        if !exited {
            self.kill9();
        }
        status.and_then(|s| s.code())
    }

    /// Restart on the same data dir after a kill.
    pub fn restart(&mut self, args: &[&str]) {
        let tmp = self._tmp.take();
        let mut next = Self::spawn(&self.data_dir.clone(), args);
        next._tmp = tmp;
        next.old_logs = std::mem::take(&mut self.old_logs);
        next.old_logs.push(self.stderr_log.clone());
        if next.old_logs.len() > 3 {
            let _ = std::fs::remove_file(next.old_logs.remove(0));
        }
        std::mem::swap(self, &mut next);
        // `next` is the old process now: keep its log (listed in
        // `old_logs`) when it is dropped.
        next.stderr_log = PathBuf::new();
        std::mem::forget(next.child.stdout.take());
    }

    /// Logs of earlier processes on this data dir (before restarts).
    pub fn previous_logs(&self) -> String {
        let mut out = String::new();
        for p in &self.old_logs {
            out.push_str(&std::fs::read_to_string(p).unwrap_or_default());
            out.push_str("\n----- restart -----\n");
        }
        out
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr_log);
        for p in &self.old_logs {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    (std::process::id() as u64) << 20 | N.fetch_add(1, Ordering::Relaxed)
}

/// What a test client has observed.
#[derive(Default)]
pub struct Seen {
    pub awareness: HashMap<u64, String>,
    /// Awareness messages received (each may carry several clients).
    pub awareness_messages: usize,
    pub denied: Vec<String>,
    pub closed: Option<(u16, String)>,
    pub updates_received: usize,
    /// The server's SyncStep2 (its whole state) has been applied.
    pub synced: bool,
}

/// A y-websocket client on yrs.
pub struct TestClient {
    pub doc: Doc,
    pub seen: Arc<Mutex<Seen>>,
    out: mpsc::UnboundedSender<WsMessage>,
    task: tokio::task::JoinHandle<()>,
}

impl TestClient {
    pub async fn connect(url: &str) -> TestClient {
        Self::connect_with_doc(url, Doc::new()).await
    }

    pub async fn try_connect(url: &str) -> Result<TestClient, String> {
        Self::try_connect_with_doc(url, Doc::new()).await
    }

    pub async fn connect_with_doc(url: &str, doc: Doc) -> TestClient {
        Self::try_connect_with_doc(url, doc).await.expect("connect")
    }

    pub async fn try_connect_with_doc(url: &str, doc: Doc) -> Result<TestClient, String> {
        Self::try_connect_slow(url, doc, Duration::ZERO).await
    }

    /// A client that waits `read_delay` before handling each frame it
    /// receives: a slow consumer that still reads.
    pub async fn try_connect_slow(
        url: &str,
        doc: Doc,
        read_delay: Duration,
    ) -> Result<TestClient, String> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<WsMessage>();
        let seen = Arc::new(Mutex::new(Seen::default()));
        // Like y-websocket: announce our state vector first.
        let sv = doc.transact().state_vector();
        out.send(WsMessage::Binary(protocol::encode_sync_step1(&sv)))
            .unwrap();
        let task_doc = doc.clone();
        let task_seen = seen.clone();
        let task_out = out.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    msg = out_rx.recv() => {
                        let Some(msg) = msg else { break };
                        if sink.send(msg).await.is_err() {
                            // The server may cut us while we write (a reset
                            // after an oversized frame): that is a close too.
                            let mut s = task_seen.lock().unwrap();
                            if s.closed.is_none() { s.closed = Some((1006, "connection lost".into())); }
                            break;
                        }
                    }
                    frame = stream.next() => {
                        match frame {
                            Some(Ok(WsMessage::Binary(bytes))) => {
                                if !read_delay.is_zero() {
                                    // Deliberate: this client is slow to read.
                                    tokio::time::sleep(read_delay).await;
                                }
                                handle(&task_doc, &task_seen, &task_out, bytes)
                            }
                            Some(Ok(WsMessage::Close(frame))) => {
                                let (code, reason) = frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((CloseCode::Status.into(), String::new()));
                                task_seen.lock().unwrap().closed = Some((code, reason));
                                break;
                            }
                            Some(Ok(_)) => {}
                            Some(Err(_)) | None => {
                                let mut s = task_seen.lock().unwrap();
                                if s.closed.is_none() { s.closed = Some((1006, "connection lost".into())); }
                                break;
                            }
                        }
                    }
                }
            }
        });
        Ok(TestClient {
            doc,
            seen,
            out,
            task,
        })
    }

    pub fn send_raw(&self, bytes: Vec<u8>) {
        let _ = self.out.send(WsMessage::Binary(bytes.into()));
    }

    /// Inserts text locally and sends the update, as an editor would.
    pub fn insert(&self, name: &str, index: u32, text: &str) {
        let t = self.doc.get_or_insert_text(name);
        let update = {
            let mut txn = self.doc.transact_mut();
            t.insert(&mut txn, index, text);
            txn.encode_update_v1()
        };
        self.send_raw(protocol::encode_update(update).to_vec());
    }

    /// Appends at the end of the text. The length is read in the same
    /// transaction as the insert: this client's task applies the server's
    /// updates concurrently, and a length read a moment earlier can point
    /// into the middle of text that arrived since (splitting someone else's
    /// words, which the crash test once mistook for lost updates).
    pub fn push_text(&self, name: &str, text: &str) {
        let t = self.doc.get_or_insert_text(name);
        let update = {
            let mut txn = self.doc.transact_mut();
            let len = t.len(&txn);
            t.insert(&mut txn, len, text);
            txn.encode_update_v1()
        };
        self.send_raw(protocol::encode_update(update).to_vec());
    }

    pub fn text(&self, name: &str) -> String {
        let t = self.doc.get_or_insert_text(name);
        let txn = self.doc.transact();
        t.get_string(&txn)
    }

    pub fn set_awareness(&self, clock: u32, json: &str) {
        let mut clients = HashMap::new();
        clients.insert(
            ClientID::new(self.doc.client_id().get()),
            AwarenessUpdateEntry {
                clock,
                json: json.into(),
            },
        );
        self.send_raw(protocol::encode_awareness(AwarenessUpdate { clients }).to_vec());
    }

    pub fn awareness(&self) -> HashMap<u64, String> {
        self.seen.lock().unwrap().awareness.clone()
    }

    pub fn closed(&self) -> Option<(u16, String)> {
        self.seen.lock().unwrap().closed.clone()
    }

    pub fn denied(&self) -> Vec<String> {
        self.seen.lock().unwrap().denied.clone()
    }

    pub fn is_synced(&self) -> bool {
        self.seen.lock().unwrap().synced
    }

    /// Waits for the server's whole state (its SyncStep2).
    pub async fn wait_synced(&self) {
        wait_for("the server's SyncStep2", WAIT, || self.is_synced()).await;
    }

    pub fn state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&Default::default())
    }

    pub async fn close(self) {
        let _ = self.out.send(WsMessage::Close(None));
        let _ = tokio::time::timeout(Duration::from_secs(2), self.task).await;
    }

    /// Drops the connection without a close frame.
    pub fn abort(self) {
        self.task.abort();
    }
}

fn handle(
    doc: &Doc,
    seen: &Arc<Mutex<Seen>>,
    out: &mpsc::UnboundedSender<WsMessage>,
    bytes: Bytes,
) {
    for msg in FrameDecoder::new(&bytes) {
        let msg = msg.expect("server sent an undecodable message");
        let step2 = matches!(msg, Message::SyncStep2(_));
        match msg {
            Message::SyncStep1(sv) => {
                let diff = doc.transact().encode_state_as_update_v1(&sv);
                let _ = out.send(WsMessage::Binary(protocol::encode_sync_step2(diff)));
            }
            Message::SyncStep2(u) | Message::Update(u) => {
                let update = Update::decode_v1(&u).expect("server sent a bad update");
                doc.transact_mut().apply_update(update).expect("apply");
                let mut s = seen.lock().unwrap();
                s.updates_received += 1;
                s.synced |= step2;
            }
            Message::Awareness(a) => {
                let mut s = seen.lock().unwrap();
                s.awareness_messages += 1;
                for (id, e) in a.clients {
                    if &*e.json == "null" {
                        s.awareness.remove(&id.get());
                    } else {
                        s.awareness.insert(id.get(), e.json.to_string());
                    }
                }
            }
            Message::Auth => {
                // Re-decode to get the reason: [2, 0, reason].
                let mut s = seen.lock().unwrap();
                s.denied
                    .push(String::from_utf8_lossy(&bytes[3..]).into_owned());
            }
            _ => {}
        }
    }
}

/// How often [`poll`] and [`poll_blocking`] look again.
const POLL_EVERY: Duration = Duration::from_millis(10);

/// Polls `cond` until it holds or `timeout` passes; whether it held.
pub async fn poll(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// [`poll`] for code outside the runtime (process and thread waits).
pub fn poll_blocking(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(POLL_EVERY);
    }
}

/// Polls `cond` until it holds, failing the test after `timeout`.
pub async fn wait_for(what: &str, timeout: Duration, cond: impl FnMut() -> bool) {
    if !poll(timeout, cond).await {
        panic!("timed out waiting for {what}");
    }
}

pub const WAIT: Duration = Duration::from_secs(10);

impl TestServer {
    /// The server process's resident memory, in KiB (from /proc).
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
            })
            .unwrap_or(0)
    }

    /// Threads of the server process named `name` (from /proc).
    pub fn threads_named(&self, name: &str) -> usize {
        std::fs::read_dir(format!("/proc/{}/task", self.child.id()))
            .map(|tasks| {
                tasks
                    .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                    .filter(|comm| comm.trim_end() == name)
                    .count()
            })
            .unwrap_or(0)
    }

    /// Open file descriptors of the server process (from /proc).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// One counter or gauge from `/metrics`.
    pub fn metric(&self, name: &str) -> u64 {
        let (_, body) = crate::ops::get(&self.addr, "/metrics");
        crate::ops::metric(&body, name)
    }
}

/// The `;`-separated words the kill tests type, as a set: a word is one
/// acknowledged-or-not update.
pub fn tokens(text: &str) -> std::collections::BTreeSet<String> {
    text.split(';')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}
