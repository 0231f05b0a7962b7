//! Convergence property test: 3 to 6 yrs clients and the real server, random
//! edits to a chart's `notes` and `meta` (docs/chart-schema.md), clients that
//! go offline and keep editing, server crashes and restarts, and one client
//! that reads slowly behind a small outbound queue (when it falls behind it
//! is closed with 1013 and must resync; the run prints how often). After healing (everyone reconnects), every client and a
//! fresh client (what the server serves) hold equal state.
//!
//! Seeded: `EASEL_CONVERGENCE_SEED` (printed on every run and on failure)
//! and `EASEL_CONVERGENCE_CASES` (default 6, as in CI; try 200 locally).

use std::time::Duration;

use easel_protocol as protocol;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use yrs::types::ToJson;
use yrs::{
    Array, ArrayPrelim, Doc, GetString, Map, Out, ReadTxn, Text, Transact, XmlElementPrelim,
    XmlFragment, XmlOut, XmlTextPrelim,
};

use crate::support::*;

#[derive(Debug, Clone)]
enum Edit {
    AddParagraph {
        at: usize,
        text: String,
    },
    TypeInto {
        block: usize,
        at: usize,
        text: String,
    },
    DeleteText {
        block: usize,
        at: usize,
        len: u32,
    },
    DeleteBlock {
        block: usize,
    },
    SetMeta {
        key: u8,
        value: String,
    },
    AddParticipant {
        name: String,
    },
}

#[derive(Debug, Clone)]
enum Op {
    Edit {
        client: usize,
        edit: Edit,
    },
    GoOffline {
        client: usize,
    },
    Reconnect {
        client: usize,
    },
    /// SIGKILL and restart on the same data dir (graceful when false).
    Restart {
        crash: bool,
    },
    Pause {
        ms: u64,
    },
    /// A burst of large `meta.blob` values: enough bytes that the slow
    /// client's socket buffers and queue may overflow.
    Flood {
        client: usize,
        seed: u8,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    let text = "[a-z ]{1,12}";
    prop_oneof![
        3 => (any::<usize>(), text).prop_map(|(at, text)| Edit::AddParagraph { at, text }),
        4 => (any::<usize>(), any::<usize>(), text)
            .prop_map(|(block, at, text)| Edit::TypeInto { block, at, text }),
        2 => (any::<usize>(), any::<usize>(), 1u32..6)
            .prop_map(|(block, at, len)| Edit::DeleteText { block, at, len }),
        1 => any::<usize>().prop_map(|block| Edit::DeleteBlock { block }),
        2 => (0u8..3, "[a-z]{0,8}").prop_map(|(key, value)| Edit::SetMeta { key, value }),
        1 => "[A-Z][a-z]{1,6}".prop_map(|name| Edit::AddParticipant { name }),
    ]
}

fn op(clients: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..clients, edit()).prop_map(|(client, edit)| Op::Edit { client, edit }),
        2 => (0..clients).prop_map(|client| Op::GoOffline { client }),
        2 => (0..clients).prop_map(|client| Op::Reconnect { client }),
        1 => any::<bool>().prop_map(|crash| Op::Restart { crash }),
        2 => (0u64..30).prop_map(|ms| Op::Pause { ms }),
        1 => (0..clients, any::<u8>()).prop_map(|(client, seed)| Op::Flood { client, seed }),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (3usize..=6).prop_flat_map(|n| (Just(n), prop::collection::vec(op(n), 5..40)))
}

/// Applies one edit to a doc; returns the update to send (if it changed
/// anything). Indices wrap around what exists, so every edit is valid.
fn apply(doc: &Doc, edit: &Edit) -> Option<Vec<u8>> {
    let notes = doc.get_or_insert_xml_fragment("notes");
    let meta = doc.get_or_insert_map("meta");
    let mut txn = doc.transact_mut();
    let blocks = notes.len(&txn) as usize;
    let text_of = |txn: &yrs::TransactionMut, block: usize| match notes
        .get(txn, (block % blocks.max(1)) as u32)?
    {
        XmlOut::Element(el) => match el.get(txn, 0)? {
            XmlOut::Text(t) => Some(t),
            _ => None,
        },
        XmlOut::Text(t) => Some(t),
        _ => None,
    };
    match edit {
        Edit::AddParagraph { at, text } => {
            let p = notes.insert(
                &mut txn,
                (at % (blocks + 1)) as u32,
                XmlElementPrelim::empty("paragraph"),
            );
            p.push_back(&mut txn, XmlTextPrelim::new(text.as_str()));
        }
        Edit::TypeInto { block, at, text } => {
            let t = text_of(&txn, *block)?;
            let len = t.len(&txn);
            t.insert(&mut txn, (*at as u32) % (len + 1), text);
        }
        Edit::DeleteText { block, at, len } => {
            let t = text_of(&txn, *block)?;
            let have = t.len(&txn);
            if have == 0 {
                return None;
            }
            let at = (*at as u32) % have;
            t.remove_range(&mut txn, at, (*len).min(have - at));
        }
        Edit::DeleteBlock { block } => {
            if blocks == 0 {
                return None;
            }
            notes.remove_range(&mut txn, (block % blocks) as u32, 1);
        }
        Edit::SetMeta { key, value } => {
            let key = ["topic", "room", "host"][*key as usize % 3];
            meta.insert(&mut txn, key, value.as_str());
        }
        Edit::AddParticipant { name } => match meta.get(&txn, "participants") {
            Some(Out::YArray(list)) => {
                list.push_back(&mut txn, name.as_str());
            }
            _ => {
                meta.insert(&mut txn, "participants", ArrayPrelim::from([name.as_str()]));
            }
        },
    }
    Some(txn.encode_update_v1())
}

/// What two replicas must agree on: the state vector and the content.
fn view(doc: &Doc) -> String {
    let notes = doc.get_or_insert_xml_fragment("notes");
    let meta = doc.get_or_insert_map("meta");
    let txn = doc.transact();
    // Keys sorted: a map's JSON follows hash order.
    let meta_json: std::collections::BTreeMap<String, String> = meta
        .iter(&txn)
        .map(|(k, v)| {
            let mut json = String::new();
            v.to_json(&txn).to_json(&mut json);
            if json.len() > 64 {
                json = format!("{}… ({} bytes)", &json[..16], json.len());
            }
            (k.to_string(), json)
        })
        .collect();
    // Sorted: the state vector's own Debug follows hash order.
    let sv: std::collections::BTreeMap<u64, u32> = txn
        .state_vector()
        .iter()
        .map(|(client, clock)| (client.get(), *clock))
        .collect();
    format!(
        "sv={sv:?}\nnotes={}\nmeta={meta_json:?}",
        notes.get_string(&txn)
    )
}

enum Replica {
    Online(TestClient),
    Offline(Doc),
}

impl Replica {
    fn doc(&self) -> Doc {
        match self {
            Replica::Online(c) => c.doc.clone(),
            Replica::Offline(d) => d.clone(),
        }
    }
}

/// Client 0 is the slow one: it sleeps before handling each frame.
async fn connect(server: &TestServer, client: usize, doc: Doc) -> TestClient {
    let delay = if client == 0 {
        Duration::from_millis(20)
    } else {
        Duration::ZERO
    };
    TestClient::try_connect_slow(&server.ws_url("prop"), doc, delay)
        .await
        .expect("connect")
}

const FLOOD_UPDATES: u8 = 24;
const FLOOD_BYTES: usize = 48 * 1024;

/// Clients found closed with 1013 (too slow) when healing began.
static CLOSED_AS_SLOW: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

async fn run_case(clients: usize, ops: &[Op]) -> Result<(), String> {
    let args = ["--outbound-queue", "4"];
    let mut server = TestServer::start_with(&args);
    let mut replicas = Vec::new();
    for i in 0..clients {
        // Distinct, stable client ids above the template's id 1.
        let doc = Doc::with_client_id(1000 + i as u64);
        replicas.push(Replica::Online(connect(&server, i, doc).await));
    }
    for op in ops {
        match op {
            Op::Edit { client, edit } => {
                let replica = &replicas[*client];
                if let Some(update) = apply(&replica.doc(), edit) {
                    if let Replica::Online(c) = replica {
                        c.send_raw(protocol::encode_update(update).to_vec());
                    }
                }
            }
            Op::GoOffline { client } => {
                let doc = replicas[*client].doc();
                if let Replica::Online(c) =
                    std::mem::replace(&mut replicas[*client], Replica::Offline(doc))
                {
                    c.abort();
                }
            }
            Op::Reconnect { client } => {
                let doc = replicas[*client].doc();
                if let Replica::Online(c) =
                    std::mem::replace(&mut replicas[*client], Replica::Offline(doc.clone()))
                {
                    c.abort();
                }
                replicas[*client] = Replica::Online(connect(&server, *client, doc).await);
            }
            Op::Restart { crash } => {
                if *crash {
                    server.kill9();
                } else {
                    server.terminate();
                }
                server.restart(&args);
                for (i, r) in replicas.iter_mut().enumerate() {
                    if let Replica::Online(_) = r {
                        let doc = r.doc();
                        if let Replica::Online(c) =
                            std::mem::replace(r, Replica::Offline(doc.clone()))
                        {
                            c.abort();
                        }
                        *r = Replica::Online(connect(&server, i, doc).await);
                    }
                }
            }
            // A generated step: the pause is what lets edits and deliveries
            // interleave differently from case to case.
            Op::Pause { ms } => tokio::time::sleep(Duration::from_millis(*ms)).await,
            Op::Flood { client, seed } => {
                let replica = &replicas[*client];
                let doc = replica.doc();
                let meta = doc.get_or_insert_map("meta");
                for i in 0..FLOOD_UPDATES {
                    let fill = char::from(b'a' + (seed.wrapping_add(i)) % 26);
                    let update = {
                        let mut txn = doc.transact_mut();
                        meta.insert(&mut txn, "blob", fill.to_string().repeat(FLOOD_BYTES));
                        txn.encode_update_v1()
                    };
                    if let Replica::Online(c) = replica {
                        c.send_raw(protocol::encode_update(update).to_vec());
                    }
                }
            }
        }
    }
    // Heal: everyone reconnects (the slow client too, if it was closed).
    for (i, r) in replicas.iter_mut().enumerate() {
        if let Replica::Online(c) = r {
            if c.closed().is_some_and(|(code, _)| code == 1013) {
                CLOSED_AS_SLOW.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let doc = r.doc();
        if let Replica::Online(c) = std::mem::replace(r, Replica::Offline(doc.clone())) {
            c.abort();
        }
        *r = Replica::Online(connect(&server, i, doc).await);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let fresh = TestClient::connect(&server.ws_url("prop")).await;
        poll(WAIT, || fresh.is_synced() || fresh.closed().is_some()).await;
        // Replicas still resyncing catch up while the fresh one stays live.
        poll(Duration::from_secs(1), || {
            let want = view(&fresh.doc);
            replicas.iter().all(|r| view(&r.doc()) == want)
        })
        .await;
        let want = view(&fresh.doc);
        let views: Vec<String> = replicas.iter().map(|r| view(&r.doc())).collect();
        let closed: Vec<_> = replicas
            .iter()
            .map(|r| match r {
                Replica::Online(c) => c.closed(),
                Replica::Offline(_) => None,
            })
            .collect();
        fresh.abort();
        if views.iter().all(|v| *v == want) {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            let mut report = format!("server (fresh client):\n{want}\n");
            for (i, (v, c)) in views.iter().zip(closed).enumerate() {
                if *v != want {
                    report.push_str(&format!("client {i} differs (closed: {c:?}):\n{v}\n"));
                }
            }
            return Err(report);
        }
        // A client closed during healing (slow, or a flush hiccup)
        // reconnects, as a real provider does.
        for (i, r) in replicas.iter_mut().enumerate() {
            if let Replica::Online(c) = r {
                if c.closed().is_some() {
                    let doc = c.doc.clone();
                    *r = Replica::Online(connect(&server, i, doc).await);
                }
            }
        }
    }
}

#[test]
fn clients_and_server_converge_after_faults() {
    let cases: u32 = std::env::var("EASEL_CONVERGENCE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let seed: u64 = std::env::var("EASEL_CONVERGENCE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_nanos() as u64)
        });
    eprintln!("convergence: EASEL_CONVERGENCE_SEED={seed} EASEL_CONVERGENCE_CASES={cases}");
    let mut seed_bytes = [0u8; 32];
    for (i, chunk) in seed_bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&(seed.wrapping_add(i as u64)).to_le_bytes());
    }
    let config = Config {
        cases,
        // Each case runs the real server: keep shrinking short.
        max_shrink_iters: 16,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let result = runner.run(&scenario(), |(clients, ops)| {
        rt.block_on(run_case(clients, &ops))
            .map_err(TestCaseError::fail)
    });
    eprintln!(
        "convergence: {} clients were found closed as too slow (1013) before healing",
        CLOSED_AS_SLOW.load(std::sync::atomic::Ordering::Relaxed)
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, (clients, ops))) => panic!(
            "replicas diverged; reproduce with EASEL_CONVERGENCE_SEED={seed}\n\
             {clients} clients, ops: {ops:#?}\n{why}"
        ),
        Err(e) => panic!("EASEL_CONVERGENCE_SEED={seed}: {e}"),
    }
}
