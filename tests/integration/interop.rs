//! Interop: the stock npm `y-websocket` provider (tests/interop/client.mjs,
//! installed by scripts/install-deps.sh) and our yrs client edit the same
//! chart through the real binary and converge on Y.Text, Y.Map, Y.Array and
//! Y.XmlFragment.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;

use crate::support::*;
use serde_json::{json, Value};
use yrs::types::ToJson;
use yrs::{Array, GetString, Map, Transact, XmlFragment};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

/// A stock y-websocket client in a Node process, driven by JSON lines.
struct NodeClient {
    child: Child,
    stdin: ChildStdin,
    events: mpsc::Receiver<Value>,
}

impl NodeClient {
    fn start(url: &str, room: &str, token: Option<&str>) -> NodeClient {
        let dir = interop_dir();
        assert!(
            dir.join("node_modules/y-websocket").exists(),
            "tests/interop/node_modules is missing: run scripts/install-deps.sh"
        );
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("client.mjs"))
            .args(["--url", url, "--room", room, "--name", "node"]);
        if let Some(t) = token {
            cmd.args(["--token", t]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            }
        });
        NodeClient {
            child,
            stdin,
            events,
        }
    }

    fn send(&mut self, cmd: Value) {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Waits for the next event named `name`, skipping others.
    fn expect(&mut self, name: &str) -> Value {
        loop {
            let v = self
                .events
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no {name} event from node client"));
            if v["event"] == name {
                return v;
            }
            if v["event"] == "error" {
                panic!("node client error: {v}");
            }
        }
    }

    fn dump(&mut self) -> Value {
        self.send(
            json!({"cmd": "dump", "text": ["t"], "map": ["m"], "array": ["a"], "xml": ["notes"]}),
        );
        self.expect("dump")
    }
}

impl Drop for NodeClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Deletes the report template the server seeded into a new chart, so the
/// interop checks compare exactly what the clients wrote (the template's
/// XML attributes render differently in yrs and Yjs string dumps).
async fn clear_template(server: &TestServer, chart: &str) {
    let cleaner = TestClient::connect(&server.ws_url(chart)).await;
    wait_for("template synced", WAIT, || {
        cleaner
            .doc
            .get_or_insert_xml_fragment("notes")
            .len(&cleaner.doc.transact())
            > 0
    })
    .await;
    let update = {
        let notes = cleaner.doc.get_or_insert_xml_fragment("notes");
        let mut txn = cleaner.doc.transact_mut();
        let len = notes.len(&txn);
        notes.remove_range(&mut txn, 0, len);
        txn.encode_update_v1()
    };
    cleaner.send_raw(easel_protocol::encode_update(update).to_vec());
    wait_for("template deleted", WAIT, || {
        cleaner.seen.lock().unwrap().updates_received >= 2
    })
    .await;
    cleaner.close().await;
}

fn rust_dump(c: &TestClient) -> Value {
    let doc = &c.doc;
    let t = doc.get_or_insert_text("t");
    let m = doc.get_or_insert_map("m");
    let a = doc.get_or_insert_array("a");
    let x = doc.get_or_insert_xml_fragment("notes");
    let txn = doc.transact();
    json!({
        "text": t.get_string(&txn),
        "map": serde_json::to_value(m.to_json(&txn)).unwrap(),
        "array": serde_json::to_value(a.to_json(&txn)).unwrap(),
        "xml": x.get_string(&txn),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_y_websocket_and_yrs_converge() {
    let server = TestServer::start();
    let chart = server.chart_id("interop");
    let token = server.fixture().edit;
    clear_template(&server, "interop").await;
    let base = format!("ws://{}/sync", server.addr);
    let rust = TestClient::connect(&server.ws_url("interop")).await;
    let mut node = NodeClient::start(&base, &chart, Some(&token));
    node.expect("ready");
    node.send(json!({"cmd": "wait_synced"}));
    node.expect("synced");

    // Node edits every shared type.
    node.send(json!({"cmd": "text_insert", "name": "t", "index": 0, "text": "from node;"}));
    node.send(json!({"cmd": "map_set", "name": "m", "key": "node", "value": {"n": 1}}));
    node.send(json!({"cmd": "array_push", "name": "a", "values": [1, "two"]}));
    node.send(json!({"cmd": "xml_push", "name": "notes", "tag": "paragraph", "text": "node para"}));
    // Rust edits every shared type, concurrently.
    rust.push_text("t", "from rust;");
    {
        let m = rust.doc.get_or_insert_map("m");
        let a = rust.doc.get_or_insert_array("a");
        let x = rust.doc.get_or_insert_xml_fragment("notes");
        let update = {
            let mut txn = rust.doc.transact_mut();
            m.insert(&mut txn, "rust", 2.5);
            a.push_back(&mut txn, "rust item");
            let p = x.push_back(&mut txn, yrs::XmlElementPrelim::empty("paragraph"));
            p.push_back(&mut txn, yrs::XmlTextPrelim::new("rust para"));
            txn.encode_update_v1()
        };
        rust.send_raw(easel_protocol::encode_update(update).to_vec());
    }

    let mut last = (Value::Null, Value::Null);
    let converged = poll(WAIT, || {
        let n = node.dump();
        let r = rust_dump(&rust);
        let node_view = json!({"text": n["text"]["t"], "map": n["map"]["m"], "array": n["array"]["a"], "xml": n["xml"]["notes"]});
        let complete = r["text"]
            .as_str()
            .is_some_and(|s| s.contains("node") && s.contains("rust"))
            && r["xml"]
                .as_str()
                .is_some_and(|s| s.contains("node para") && s.contains("rust para"));
        last = (node_view, r);
        last.0 == last.1 && complete
    })
    .await;
    assert!(
        converged,
        "no convergence:\nnode: {}\nrust: {}",
        last.0, last.1
    );
    let r = &last.1;
    assert_eq!(r["map"]["node"], json!({"n": 1}));
    assert_eq!(r["map"]["rust"], json!(2.5));
    assert_eq!(r["array"].as_array().map(Vec::len), Some(3));

    // Presence crosses over too.
    node.send(json!({"cmd": "awareness", "state": {"user": {"name": "Node"}}}));
    wait_for("rust sees node presence", WAIT, || {
        rust.awareness().values().any(|s| s.contains("Node"))
    })
    .await;
    let _ = last;
}

/// The stock-client suite (tests/interop/test) against the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_client_suite_against_easel() {
    let server = TestServer::start();
    let dir = interop_dir();
    assert!(
        dir.join("node_modules").exists(),
        "run scripts/install-deps.sh first"
    );
    // The suite's room is a real session's chart, entered with an edit
    // token. The suite counts the XML nodes it creates, so the report
    // template the server seeded is deleted first.
    let room = server.chart_id("stock-suite");
    clear_template(&server, "stock-suite").await;
    let status = tokio::process::Command::new("npm")
        .arg("test")
        .current_dir(&dir)
        .env("EASEL_URL", format!("ws://{}/sync", server.addr))
        .env("EASEL_ROOM", &room)
        .env("EASEL_TOKEN", server.fixture().edit)
        .status()
        .await
        .expect("npm");
    assert!(
        status.success(),
        "stock y-websocket suite failed against easel"
    );
}
