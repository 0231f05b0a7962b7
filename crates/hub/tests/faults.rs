//! The durability rule under a slow or failing disk, through the hub's real
//! connection and chart code, with the store's flush fault hook
//! ([`easel_store::FlushFaults`]). Clients are channels (the hub's socket is
//! any `Stream + Sink` of frames), so faults can be switched on and off
//! exactly between two edits.
//!
//! What must hold: no client, the writer included, sees an update before a
//! flush covering it succeeded; when a flush fails the writers are closed
//! with 1013; once flushes work again, every client converges on the same
//! state without a server restart.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use easel_hub::{Access, ConnInfo, Frame, Hub, HubConfig};
use easel_protocol::{self as protocol, FrameDecoder, Message};
use easel_store::{FlushFaults, Store};
use futures_util::{Sink, Stream};
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

/// The hub's end of an in-memory socket.
struct ChannelSocket {
    from_client: mpsc::Receiver<Frame>,
    to_client: PollSender<Frame>,
}

impl Stream for ChannelSocket {
    type Item = Result<Frame, Infallible>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.from_client.poll_recv(cx).map(|f| f.map(Ok))
    }
}

impl Sink<Frame> for ChannelSocket {
    type Error = tokio_util::sync::PollSendError<Frame>;
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.to_client.poll_reserve(cx)
    }
    fn start_send(mut self: Pin<&mut Self>, item: Frame) -> Result<(), Self::Error> {
        self.to_client.send_item(item)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.to_client.close();
        Poll::Ready(Ok(()))
    }
}

/// A y-websocket client over channels: answers step 1, applies what it gets
/// and remembers when each update arrived and how it was closed.
struct Peer {
    doc: Doc,
    tx: mpsc::Sender<Frame>,
    rx: mpsc::Receiver<Frame>,
    /// Arrival time of every update or step 2 that changed the doc.
    received: Vec<Instant>,
    closed: Option<u16>,
}

impl Peer {
    async fn connect(hub: &Hub, chart: &str, doc: Doc) -> Peer {
        let (tx, from_client) = mpsc::channel(64);
        let (to_client, rx) = mpsc::channel(1024);
        let socket = ChannelSocket {
            from_client,
            to_client: PollSender::new(to_client),
        };
        let hub = hub.clone();
        let chart = chart.to_owned();
        let info = ConnInfo {
            access: Access::Edit,
            link: Access::Edit,
            grant: None,
        };
        tokio::spawn(async move { hub.serve(&chart, info, socket).await });
        let sv = doc.transact().state_vector();
        tx.send(Frame::Binary(protocol::encode_sync_step1(&sv)))
            .await
            .unwrap();
        Peer {
            doc,
            tx,
            rx,
            received: Vec::new(),
            closed: None,
        }
    }

    /// Handles frames arriving within `within`.
    async fn pump(&mut self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.closed.is_none() {
            let Ok(Some(frame)) = tokio::time::timeout_at(deadline, self.rx.recv()).await else {
                return;
            };
            match frame {
                Frame::Binary(bytes) => {
                    for msg in FrameDecoder::new(&bytes) {
                        match msg.expect("server sent a bad message") {
                            Message::SyncStep1(sv) => {
                                let diff = self.doc.transact().encode_state_as_update_v1(&sv);
                                let _ = self
                                    .tx
                                    .send(Frame::Binary(protocol::encode_sync_step2(diff)))
                                    .await;
                            }
                            Message::SyncStep2(u) | Message::Update(u) => {
                                let before = self.doc.transact().state_vector();
                                let update = Update::decode_v1(&u).unwrap();
                                self.doc.transact_mut().apply_update(update).unwrap();
                                if self.doc.transact().state_vector() != before {
                                    self.received.push(Instant::now());
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Frame::Close(reason) => self.closed = Some(reason.map_or(1005, |r| r.code)),
                _ => {}
            }
        }
    }

    /// Pumps until `cond` holds, failing after `timeout`.
    async fn pump_until(&mut self, what: &str, timeout: Duration, cond: impl Fn(&Peer) -> bool) {
        let deadline = Instant::now() + timeout;
        while !cond(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            self.pump(Duration::from_millis(20)).await;
        }
    }

    async fn type_text(&self, text: &str) {
        let t = self.doc.get_or_insert_text("t");
        let update = {
            let mut txn = self.doc.transact_mut();
            let len = t.len(&txn);
            t.insert(&mut txn, len, text);
            txn.encode_update_v1()
        };
        self.tx
            .send(Frame::Binary(protocol::encode_update(update)))
            .await
            .unwrap();
    }

    fn text(&self) -> String {
        self.doc
            .get_or_insert_text("t")
            .get_string(&self.doc.transact())
    }
}

fn hub_with_faults(dir: &std::path::Path) -> (Hub, Arc<FlushFaults>) {
    hub_with_faults_on(dir, HubConfig::default())
}

fn hub_with_faults_on(dir: &std::path::Path, config: HubConfig) -> (Hub, Arc<FlushFaults>) {
    let faults = Arc::new(FlushFaults::default());
    let store = Store::open_with_faults(dir, faults.clone()).unwrap();
    (Hub::new(store, config), faults)
}

/// The chart actors on threads of their own, as the binary runs them.
fn on_chart_threads() -> HubConfig {
    HubConfig {
        chart_threads: 1,
        ..HubConfig::default()
    }
}

fn state(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_flush_broadcasts_nothing_tells_writers_and_recovers() {
    failing_flush_case(HubConfig::default()).await;
}

/// The same with the actors on the chart runtime: the rule holds across the
/// two runtimes, and a hub dropped inside a runtime (its chart runtime with
/// it) lets go of the store so it can be opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_flush_case_holds_on_chart_threads() {
    failing_flush_case(on_chart_threads()).await;
}

async fn failing_flush_case(config: HubConfig) {
    let dir = tempfile::tempdir().unwrap();
    let (hub, faults) = hub_with_faults_on(dir.path(), config.clone());
    let mut writer = Peer::connect(&hub, "c", Doc::new()).await;
    let mut reader = Peer::connect(&hub, "c", Doc::new()).await;
    writer.type_text("before;").await;
    reader
        .pump_until("first edit", WAIT, |p| p.text() == "before;")
        .await;
    writer.pump(Duration::from_millis(100)).await;
    let writer_seen = writer.received.len();

    faults.set_failing(true);
    writer.type_text("during;").await;
    writer
        .pump_until("writer closed", WAIT, |p| p.closed.is_some())
        .await;
    assert_eq!(
        writer.closed,
        Some(1013),
        "writer must be told to reconnect"
    );
    assert!(faults.failed() >= 1, "the flush was never attempted");
    assert_eq!(
        writer.received.len(),
        writer_seen,
        "the writer got its own unflushed edit back"
    );
    // A newcomer must not be served the unflushed state either.
    let mut newcomer = Peer::connect(&hub, "c", Doc::new()).await;
    newcomer.pump(Duration::from_millis(500)).await;
    reader.pump(Duration::from_millis(100)).await;
    assert_eq!(reader.text(), "before;", "an unflushed edit was broadcast");
    assert!(
        !newcomer.text().contains("during"),
        "a newcomer was served unflushed state: {:?}",
        newcomer.text()
    );

    // Space returns: the writer reconnects with its offline edit.
    faults.set_failing(false);
    let mut again = Peer::connect(&hub, "c", writer.doc.clone()).await;
    again.type_text("after;").await;
    let want = "before;during;after;";
    for (name, peer) in [
        ("reconnected writer", &mut again),
        ("reader", &mut reader),
        ("newcomer", &mut newcomer),
    ] {
        peer.pump_until(&format!("{name} converges"), WAIT, |p| p.text() == want)
            .await;
        assert!(
            peer.closed.is_none(),
            "{name} was closed: {:?}",
            peer.closed
        );
    }
    assert_eq!(state(&reader.doc), state(&newcomer.doc));
    hub.shutdown().await;
    drop(hub);
    drop((writer, reader, newcomer, faults));
    // And it is on disk: a fresh store loads all of it. sled's file lock goes
    // with the last handle, which a finishing connection task may still hold
    // for a moment after shutdown.
    let deadline = std::time::Instant::now() + WAIT;
    let store = loop {
        match Store::open(dir.path()) {
            Ok(store) => break store,
            Err(_) if std::time::Instant::now() < deadline => {
                // Between attempts: the lock is about to be let go.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("reopening the store: {e}"),
        }
    };
    let hub = Hub::new(store, config);
    let mut fresh = Peer::connect(&hub, "c", Doc::new()).await;
    fresh
        .pump_until("reloaded from disk", WAIT, |p| p.text() == want)
        .await;
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_flush_delays_every_delivery_and_batches_edits() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, faults) = hub_with_faults(dir.path());
    let mut writer = Peer::connect(&hub, "slow", Doc::new()).await;
    let mut reader = Peer::connect(&hub, "slow", Doc::new()).await;
    writer.type_text("warm;").await;
    reader
        .pump_until("warm-up", WAIT, |p| p.text() == "warm;")
        .await;
    writer.pump(Duration::from_millis(100)).await;

    let delay = Duration::from_millis(400);
    faults.set_delay(delay);
    let flushes_before = faults.succeeded();
    let edits = 40;
    let sent = Instant::now();
    for i in 0..edits {
        writer.type_text(&format!("e{i};")).await;
    }
    let want = writer.text();
    reader
        .pump_until("slow edits arrive", WAIT, |p| p.text() == want)
        .await;
    let first = reader.received[1..]
        .first()
        .copied()
        .expect("reader got the edits");
    assert!(
        first.duration_since(sent) >= delay,
        "an edit was delivered {:?} after it was sent, before a {:?} flush could finish",
        first.duration_since(sent),
        delay
    );
    // Group commit: 40 edits queued behind a slow disk share a few flushes.
    let flushes = faults.succeeded() - flushes_before;
    assert!(
        flushes < edits / 4,
        "{flushes} flushes for {edits} edits: no group commit under a slow disk"
    );
    eprintln!(
        "slow flush: {edits} edits, {flushes} flushes, first delivery after {:?}",
        first.duration_since(sent)
    );
    faults.set_delay(Duration::ZERO);
    hub.shutdown().await;
}

/// Edits queued behind one flush are stored as one merged log entry, not
/// one entry each (every sled insert, and its removal at compaction, costs
/// about as much as applying the edit), and the log still replays to
/// exactly what the clients have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_stored_as_merged_log_entries() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(FlushFaults::default());
    let store = Store::open_with_faults(dir.path(), faults.clone()).unwrap();
    let hub = Hub::new(store.clone(), HubConfig::default());
    let writer = Peer::connect(&hub, "merged", Doc::new()).await;
    let mut reader = Peer::connect(&hub, "merged", Doc::new()).await;
    writer.type_text("warm;").await;
    reader
        .pump_until("warm-up", WAIT, |p| p.text() == "warm;")
        .await;
    let entries_before = store.load_chart("merged").unwrap().updates.len();

    // A slow disk: the edits typed while one flush runs form the next batch.
    faults.set_delay(Duration::from_millis(300));
    let edits = 40;
    for i in 0..edits {
        writer.type_text(&format!("e{i};")).await;
    }
    let want = writer.text();
    reader
        .pump_until("edits arrive", WAIT, |p| p.text() == want)
        .await;
    faults.set_delay(Duration::ZERO);

    let stored = store.load_chart("merged").unwrap();
    let entries = stored.updates.len() - entries_before;
    assert!(
        entries < edits / 4,
        "{entries} log entries for {edits} edits: batches are not merged"
    );
    let replayed = easel_hub::chart::replay(&stored).unwrap();
    assert_eq!(
        replayed
            .get_or_insert_text("t")
            .get_string(&replayed.transact()),
        want
    );
    assert_eq!(state(&replayed), state(&reader.doc));
    eprintln!("{edits} edits stored as {entries} log entries");
    hub.shutdown().await;
}

/// The change feed: one notice per durable batch that changed a document,
/// naming the chart; a sync without edits (a join) sends none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_edits_are_announced_on_the_change_feed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let hub = Hub::new(store.clone(), HubConfig::default());
    let mut feed = hub.subscribe_changes();
    let writer = Peer::connect(&hub, "fed", Doc::new()).await;
    let mut reader = Peer::connect(&hub, "fed", Doc::new()).await;
    assert!(
        feed.try_recv().is_err(),
        "joining announced a change that nobody made"
    );
    writer.type_text("hello").await;
    let notice = tokio::time::timeout(WAIT, feed.recv())
        .await
        .expect("a notice after an edit")
        .unwrap();
    assert_eq!(&*notice.chart_id, "fed");
    reader
        .pump_until("edit arrives", WAIT, |p| p.text() == "hello")
        .await;
    // The notice comes after the batch is durable.
    let stored = easel_hub::chart::replay(&store.load_chart("fed").unwrap()).unwrap();
    assert_eq!(
        stored
            .get_or_insert_text("t")
            .get_string(&stored.transact()),
        "hello"
    );
    hub.shutdown().await;
}
