//! Easel's durable storage: one sled database holding every chart's update
//! log, its compacted snapshot, and the server's metadata documents. (The
//! `Store` type's whole API is here, though long: its methods share the key
//! layout and the ordering rules below, which split files would scatter;
//! the group commit, journal and metadata are modules of their own.)
//!
//! The hub owns the rules of *when* to write; this crate owns *how* writes
//! become durable. Its central promise, which the hub relies on for the
//! durability rule ("nothing is broadcast before it is stored"):
//!
//! > when [`Store::durable`] resolves `Ok` for a [`Ticket`], the append that
//! > produced the ticket, and every append before it, survives a crash of the
//! > process.
//!
//! Every other write (snapshots, deletions, documents) is durable when its
//! method returns.
//!
//! Flushes are group commits: see [`flusher`]. Layout on disk:
//!
//! | tree        | key                          | value                          |
//! |-------------|------------------------------|--------------------------------|
//! | `updates`   | `{chart_id}/` + seq (u64 BE) | one Yjs v1 update              |
//! | `snapshots` | `{chart_id}`                 | covered seq (u64 BE) + part count (u32 BE) |
//! | `snapshot_parts` | `{chart_id}/` + covered seq + part (u32 BE) | ≤ 16 KiB of the v1 state |
//! | `documents` | caller-defined               | caller-defined (JSON metadata) |
//! | `outbox`, `attempts` | caller-defined      | caller-defined ([`outbox`])    |
//! | `meta`      | `schema_version`             | u32 BE                         |
//! | `meta`      | `flush_generation`           | u64 BE, bumped by every sled flush (checkpoint, [`watermark`]) |
//!
//! Beside sled's files, `easel.watermark` holds a flush generation known to
//! be on disk; a database behind it has lost confirmed writes; and
//! `easel.journal` holds log entries confirmed since sled's last flush
//! ([`journal`]: appends are made durable there, sled is flushed by
//! periodic checkpoints).
//!
//! Chart ids never contain `/` (see [`validate_chart_id`]), so one chart's key
//! prefix can never be a prefix of another's.

mod faults;
mod flusher;
mod journal;
pub mod meta;
pub mod outbox;
mod watermark;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use faults::FlushFaults;
use flusher::Flusher;
pub use flusher::Ticket;

/// The on-disk layout version this build reads and writes. Bump it with a
/// migration when the layout above changes.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA_KEY: &[u8] = b"schema_version";

/// Reads of one chart that may overlap a compaction before
/// [`Store::load_chart`] gives up (a compaction takes two flushes, so one
/// retry nearly always suffices).
const MAX_READ_ATTEMPTS: u32 = 8;

/// How long an open waits for the data dir's lock. sled lets go of its lock
/// file only when its last background IO thread drops the file, a moment
/// after the `Db` itself: a store reopened in the same process (a restore,
/// a test) can meet its own predecessor's lock. Another live process holds
/// it for good and gets [`StoreError::Locked`] after this wait.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Longest accepted chart id, in bytes.
pub const MAX_CHART_ID_LEN: usize = 128;

/// Errors a store caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open data dir {path}: {source}. If it is damaged, restore a backup into an empty data dir (`easel restore`)")]
    Open { path: PathBuf, source: sled::Error },
    #[error("data dir {path} is in use by another process (is `easel serve` running on it? stop it first)")]
    Locked { path: PathBuf },
    #[error("data dir {path} has schema version {found}, this build understands {expected}")]
    SchemaVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("data dir {path} holds data but no schema version: not an Easel data dir, or damaged")]
    MissingSchema { path: PathBuf },
    #[error("data dir {path} is damaged and has lost writes that were confirmed on disk: {detail}. Restore the latest backup into an empty data dir (`easel restore`); to start from what is left instead, accepting the loss, delete {watermark}")]
    LostWrites {
        path: PathBuf,
        watermark: PathBuf,
        detail: String,
    },
    #[error("invalid chart id: {0}")]
    InvalidChartId(String),
    #[error("stored data for chart {chart} is damaged: {detail}")]
    Corrupt { chart: String, detail: String },
    #[error("chart {0} was compacted during every attempt to read it; try again")]
    Busy(String),
    #[error("flush to disk failed: {0}")]
    Flush(String),
    #[error("writing a compaction's snapshot failed: {0}")]
    Snapshot(String),
    #[error("trimming the log after a compaction failed: {0}")]
    Trim(String),
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
}

/// Chart ids are used in URLs and as key prefixes: ASCII letters, digits, `-`
/// and `_`, 1 to [`MAX_CHART_ID_LEN`] bytes.
pub fn validate_chart_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_CHART_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidChartId(id.chars().take(64).collect()))
    }
}

/// What is on disk for one chart: load = snapshot, then the log in order.
#[derive(Debug, Default)]
pub struct StoredChart {
    pub snapshot: Option<Vec<u8>>,
    pub updates: Vec<Vec<u8>>,
    /// The sequence number the next append must use.
    pub next_seq: u64,
}

/// How hard a flush works to make data durable.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// After sled's flush, fsync its log file. On Linux sled 0.34's flush
    /// ends with `sync_file_range`, which writes the pages but persists
    /// neither the file's size nor the drive's volatile write cache (only
    /// sled's own background flusher, disabled here, calls `fsync`). That
    /// survives a process crash, not a power loss. fsync acts on the file,
    /// not the descriptor, so a handle of our own covers sled's writes.
    /// Off by default: it costs 1-4 ms per flush on the development VM,
    /// and with it the kill -9 test lost acknowledged updates under CPU
    /// load (3 of 4 loaded runs; 0 of 8 without it), which we do not
    /// understand yet (docs/durability.md).
    pub fsync: bool,
}

/// A handle to the open store. Cheap to clone; all clones share one database
/// and one flusher thread, which stops when the last clone is dropped.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: sled::Db,
    updates: sled::Tree,
    snapshots: sled::Tree,
    /// Snapshots are stored in parts of at most [`SNAPSHOT_PART`] bytes:
    /// sled 0.34 moves values past ~128 KiB into separate blob files, and our
    /// crash tests lost flushed blob-sized snapshots across two crashes.
    snapshot_parts: sled::Tree,
    documents: sled::Tree,
    /// Messages to send later ([`outbox`]).
    outbox: sled::Tree,
    /// A bounded history of sending them ([`outbox`]).
    attempts: sled::Tree,
    /// Count of appends so far; a ticket is this counter's value right after
    /// an append, so "flushed up to N" covers every append with ticket <= N.
    written: Arc<AtomicU64>,
    /// Log appends waiting for the next group commit ([`journal`]).
    journal: Arc<journal::Journal>,
    flusher: Flusher,
    /// Held while a compaction trims its log: one trim at a time. Charts
    /// written in step reach their thresholds together, and dozens of
    /// blocking threads removing keys at once would take nearly all of the
    /// CPU from the async workers (the scheduler shares it per thread).
    trimming: std::sync::Mutex<()>,
}

impl Store {
    /// Opens (or creates) the data dir and starts the flusher thread.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Self::open_with_options(path, StoreOptions::default())
    }

    /// [`Store::open`] with explicit durability options.
    pub fn open_with_options(
        path: impl AsRef<Path>,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        Self::open_inner(path.as_ref(), None, options)
    }

    /// [`Store::open`] with a fault hook on the flush path, for tests that
    /// prove what clients see when the disk is slow or failing. The binary
    /// never calls this.
    pub fn open_with_faults(
        path: impl AsRef<Path>,
        faults: Arc<FlushFaults>,
    ) -> Result<Store, StoreError> {
        Self::open_inner(path.as_ref(), Some(faults), StoreOptions::default())
    }

    fn open_inner(
        path: &Path,
        faults: Option<Arc<FlushFaults>>,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        let path = path.to_path_buf();
        let db = open_sled(&path)?;
        let meta = db.open_tree("meta")?;
        let updates = db.open_tree("updates")?;
        let snapshots = db.open_tree("snapshots")?;
        let snapshot_parts = db.open_tree("snapshot_parts")?;
        let documents = db.open_tree("documents")?;
        let outbox = db.open_tree("outbox")?;
        let attempts = db.open_tree("attempts")?;
        let mut mark = watermark::Watermark::new(&path);
        let generation = watermark::decode(meta.get(watermark::GENERATION_KEY)?);
        let lost = |detail: String| StoreError::LostWrites {
            path: path.clone(),
            watermark: mark.path().to_path_buf(),
            detail,
        };
        if let Some(confirmed) = mark.read().map_err(&lost)? {
            if meta.get(SCHEMA_KEY)?.is_none() {
                return Err(lost(format!(
                    "the database is empty, but flush generation {confirmed} was confirmed earlier"
                )));
            }
            if generation < confirmed {
                return Err(lost(format!(
                    "the database ends at flush generation {generation}, but {confirmed} was confirmed earlier (sled drops what fails its checksum: a truncated or garbled file)"
                )));
            }
        }
        match meta.get(SCHEMA_KEY)? {
            Some(v) => {
                let found = v
                    .as_ref()
                    .try_into()
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::MissingSchema { path: path.clone() })?;
                if found != SCHEMA_VERSION {
                    return Err(StoreError::SchemaVersion {
                        path,
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
            None => {
                if !updates.is_empty() || !snapshots.is_empty() || !documents.is_empty() {
                    return Err(StoreError::MissingSchema { path });
                }
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                db.flush()?;
            }
        }
        // Recovery may have rebuilt state from log segments that were written
        // but never confirmed stable before a crash. Clients will be served
        // that state, so make it durable now, before anyone can see it.
        if db.was_recovered() {
            db.flush()?;
            // sled's flush only calls sync_file_range (see `StoreOptions::fsync`).
            if options.fsync {
                std::fs::File::open(path.join("db"))
                    .and_then(|f| f.sync_all())
                    .map_err(|e| StoreError::Flush(format!("fsync after recovery: {e}")))?;
            }
        }
        // Log entries confirmed through the journal since the last
        // checkpoint before a crash: back into sled, and into its file,
        // before anyone reads a chart.
        let mut journal_file = journal::open(&path)
            .map_err(|e| StoreError::Flush(format!("cannot open the commit journal: {e}")))?;
        let bytes = journal::read(&mut journal_file)
            .map_err(|e| StoreError::Flush(format!("cannot read the commit journal: {e}")))?;
        if !bytes.is_empty() {
            let records = journal::decode(&bytes);
            let mut replayed = 0usize;
            for (key, value) in &records {
                if covered_by_snapshot(&snapshots, key)? {
                    continue;
                }
                updates.insert(*key, *value)?;
                replayed += 1;
            }
            db.flush()?;
            if options.fsync {
                std::fs::File::open(path.join("db"))
                    .and_then(|f| f.sync_all())
                    .map_err(|e| StoreError::Flush(format!("fsync after replay: {e}")))?;
            }
            journal::clear(&journal_file)
                .map_err(|e| StoreError::Flush(format!("cannot empty the commit journal: {e}")))?;
            tracing::info!(records = records.len(), replayed, "commit journal replayed");
        }
        let written = Arc::new(AtomicU64::new(0));
        let journal = Arc::new(journal::Journal::new(written.clone(), updates.clone()));
        mark.record(generation, true);
        let db_file = if options.fsync {
            Some(std::fs::File::open(path.join("db")).map_err(|e| {
                StoreError::Flush(format!("cannot open sled's log file to fsync it: {e}"))
            })?)
        } else {
            None
        };
        let flusher = Flusher::start(
            db.clone(),
            written.clone(),
            faults,
            flusher::Generation {
                meta: meta.clone(),
                value: generation,
                mark,
            },
            db_file,
            (journal.clone(), journal_file),
        );
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                db,
                updates,
                snapshots,
                snapshot_parts,
                documents,
                outbox,
                attempts,
                written,
                journal,
                flusher,
                trimming: std::sync::Mutex::new(()),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn ticket_after_write(&self) -> Ticket {
        Ticket(self.inner.written.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// Reads a chart: its snapshot and the log entries the snapshot does not
    /// already cover. Blocking (it may read from disk): call it off the async
    /// threads.
    ///
    /// Safe to call while the chart's actor compacts it (backups and exports
    /// read charts that may be loaded): a compaction swaps the snapshot header
    /// before it removes the log it covers, so a read that saw the same header
    /// before and after saw a snapshot and a log that belong together. A read
    /// that overlapped a swap is retried.
    pub fn load_chart(&self, chart: &str) -> Result<StoredChart, StoreError> {
        validate_chart_id(chart)?;
        // A chart reloading after a failure has appends not yet committed:
        // its next sequence number must come after them.
        self.inner.journal.settle()?;
        let mut attempt = 0;
        loop {
            let before = self.inner.snapshots.get(chart)?;
            let result = self.load_chart_once(chart);
            if self.inner.snapshots.get(chart)? == before {
                return result;
            }
            attempt += 1;
            if attempt == MAX_READ_ATTEMPTS {
                return Err(StoreError::Busy(chart.into()));
            }
            tracing::debug!(chart, attempt, "chart compacted while read; reading again");
        }
    }

    fn load_chart_once(&self, chart: &str) -> Result<StoredChart, StoreError> {
        let mut stored = StoredChart::default();
        let mut covered = None;
        if let Some(raw) = self.inner.snapshots.get(chart)? {
            let corrupt = |detail: &str| StoreError::Corrupt {
                chart: chart.into(),
                detail: detail.into(),
            };
            if raw.len() != 12 {
                return Err(corrupt("snapshot header has the wrong length"));
            }
            let seq = u64::from_be_bytes(raw[..8].try_into().expect("8 bytes"));
            let parts = u32::from_be_bytes(raw[8..12].try_into().expect("4 bytes"));
            let mut state = Vec::new();
            let mut found = 0u32;
            for part in self
                .inner
                .snapshot_parts
                .scan_prefix(snapshot_prefix(chart, seq))
            {
                state.extend_from_slice(&part?.1);
                found += 1;
            }
            if found != parts {
                return Err(corrupt(&format!("snapshot has {found} of {parts} parts")));
            }
            covered = Some(seq);
            stored.next_seq = seq + 1;
            stored.snapshot = Some(state);
        }
        for entry in self.inner.updates.scan_prefix(log_prefix(chart)) {
            let (key, value) = entry?;
            let seq = seq_of(chart, &key)?;
            if covered.is_some_and(|c| seq <= c) {
                // Left behind by a compaction that crashed after writing its
                // snapshot: already inside the snapshot.
                continue;
            }
            if seq != stored.next_seq {
                // Sequence numbers are dense from 0 (or from just after the
                // snapshot): a gap means entries were lost or the scan
                // skipped them. Look them up directly.
                for missing in stored.next_seq..seq.min(stored.next_seq + 16) {
                    let found = self.inner.updates.get(log_key(chart, missing))?.is_some();
                    tracing::warn!(chart, missing, found_by_get = found, "gap in chart log");
                }
            }
            stored.next_seq = seq + 1;
            stored.updates.push(value.to_vec());
        }
        Ok(stored)
    }

    /// Appends one update to a chart's log: queued for the next group
    /// commit, which puts it into sled and the commit journal. Durable once
    /// [`Store::durable`] says so; every read of the store sees it.
    pub fn append(&self, chart: &str, seq: u64, update: &[u8]) -> Result<Ticket, StoreError> {
        let key = log_key(chart, seq);
        Ok(self.inner.journal.push(&key, update))
    }

    /// Waits until everything up to `ticket` is flushed to disk. Many callers
    /// share one flush (group commit).
    pub async fn durable(&self, ticket: Ticket) -> Result<(), StoreError> {
        self.inner.flusher.wait(ticket, false).await
    }

    /// Waits until every write up to `ticket` is in sled's own file (a
    /// checkpoint), which every write other than a log append needs: the
    /// commit journal only carries log entries.
    async fn checkpointed(&self, ticket: Ticket) -> Result<(), StoreError> {
        self.inner.flusher.wait(ticket, true).await
    }

    /// Replaces the first part of a chart's log with a snapshot that covers
    /// it, in two durable steps so a crash at any point loses nothing: the
    /// snapshot (tagged with the last seq it covers) is written and flushed
    /// first; only then are the covered log entries removed.
    pub async fn compact(
        &self,
        chart: &str,
        snapshot: &[u8],
        covers_upto: u64,
    ) -> Result<(), StoreError> {
        // 1. the parts, under this snapshot's own seq so they never overwrite
        //    the parts of the snapshot currently in force. Inserted one by
        //    one, on a blocking thread: see [`Store::remove_compacted`] for
        //    why not as one sled batch.
        let count = u32::try_from(snapshot.len().div_ceil(SNAPSHOT_PART))
            .map_err(|_| StoreError::Snapshot("too many parts".into()))?;
        {
            let store = self.clone();
            let (chart, snapshot) = (chart.to_owned(), snapshot.to_vec());
            tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
                for (i, chunk) in snapshot.chunks(SNAPSHOT_PART).enumerate() {
                    let mut key = snapshot_prefix(&chart, covers_upto);
                    key.extend_from_slice(&(i as u32).to_be_bytes());
                    store.inner.snapshot_parts.insert(key, chunk)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| StoreError::Snapshot(e.to_string()))??;
        }
        let ticket = self.ticket_after_write();
        self.checkpointed(ticket).await?;
        // 2. the header that makes them the snapshot in force;
        let mut header = Vec::with_capacity(12);
        header.extend_from_slice(&covers_upto.to_be_bytes());
        header.extend_from_slice(&count.to_be_bytes());
        self.inner.snapshots.insert(chart, header)?;
        let ticket = self.ticket_after_write();
        self.checkpointed(ticket).await?;
        // 3. then what it replaces: the old parts and the covered log. A
        //    removal costs sled about what an insert did, thousands per
        //    compaction: on a blocking thread, so the async workers (every
        //    connection's socket) never stall behind it.
        let store = self.clone();
        let chart = chart.to_owned();
        tokio::task::spawn_blocking(move || store.remove_compacted(&chart, covers_upto))
            .await
            .map_err(|e| StoreError::Trim(e.to_string()))?
    }

    /// Step 3 of [`Store::compact`]: removes the replaced snapshot's parts
    /// and the log entries the new snapshot covers. Blocking.
    fn remove_compacted(&self, chart: &str, covers_upto: u64) -> Result<(), StoreError> {
        // Covered entries still queued must be in sled to be removed here,
        // not inserted after the trim.
        self.inner.journal.settle()?;
        let _one_at_a_time = self
            .inner
            .trimming
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // One key at a time, not as a `sled::Batch`: sled 0.34 applies a
        // batch under a process-wide write lock that every other tree
        // operation then waits for, so a compaction's thousands of
        // removals (or a batch queued behind a checkpoint's flush, which
        // holds the same lock for reading) stalled every chart's appends.
        // Nothing here needs the batch's atomicity: readers skip log
        // entries the snapshot in force covers, a read that overlaps the
        // header swap is retried (`load_chart`), and what a crash leaves
        // behind the next compaction removes.
        let current = snapshot_prefix(chart, covers_upto);
        for key in self
            .inner
            .snapshot_parts
            .scan_prefix(log_prefix(chart))
            .keys()
        {
            let key = key?;
            // Parts of any snapshot but this one: the one it replaced, and
            // any a crashed compaction wrote but never put in force.
            if !key.starts_with(&current) {
                self.inner.snapshot_parts.remove(key)?;
            }
        }
        for key in self
            .inner
            .updates
            .range(log_key(chart, 0)..=log_key(chart, covers_upto))
            .keys()
        {
            self.inner.updates.remove(key?)?;
        }
        Ok(())
    }

    /// Removes a chart entirely (retention, tests). Durable before returning.
    pub async fn delete_chart(&self, chart: &str) -> Result<(), StoreError> {
        validate_chart_id(chart)?;
        // Checkpoint first, so the commit journal holds none of this chart's
        // entries: a replay after a crash must not bring them back.
        self.flush().await?;
        let mut batch = sled::Batch::default();
        for key in self.inner.updates.scan_prefix(log_prefix(chart)).keys() {
            batch.remove(key?);
        }
        self.inner.updates.apply_batch(batch)?;
        self.inner.snapshots.remove(chart)?;
        let mut batch = sled::Batch::default();
        for key in self
            .inner
            .snapshot_parts
            .scan_prefix(log_prefix(chart))
            .keys()
        {
            batch.remove(key?);
        }
        self.inner.snapshot_parts.apply_batch(batch)?;
        let ticket = self.ticket_after_write();
        self.checkpointed(ticket).await
    }

    /// Every chart id that has anything stored.
    pub fn chart_ids(&self) -> Result<Vec<String>, StoreError> {
        self.inner.journal.settle()?;
        let mut ids: Vec<String> = Vec::new();
        for key in self.inner.snapshots.iter().keys() {
            ids.push(String::from_utf8_lossy(&key?).into_owned());
        }
        for key in self.inner.updates.iter().keys() {
            let key = key?;
            if let Some(pos) = key.iter().position(|&b| b == b'/') {
                let id = String::from_utf8_lossy(&key[..pos]).into_owned();
                if ids.last() != Some(&id) {
                    ids.push(id);
                }
            }
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Reads a metadata document (conferences, tokens, ...).
    pub fn get_document(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.inner.documents.get(key)?.map(|v| v.to_vec()))
    }

    /// Writes a metadata document and waits until it is durable.
    pub async fn put_document(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.documents.insert(key, value)?;
        let ticket = self.ticket_after_write();
        self.checkpointed(ticket).await
    }

    /// Writes a metadata document without waiting for it to be durable; the
    /// next [`Store::flush`] covers it (restore writes many, flushes once).
    pub fn insert_document(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.documents.insert(key, value)?;
        self.ticket_after_write();
        Ok(())
    }

    /// Writes a metadata document only if its current value is `expected`
    /// (`None`: absent), atomically, and waits until it is durable.
    /// `Ok(false)`: the value was something else; nothing was written.
    pub async fn put_document_if(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, StoreError> {
        if self
            .inner
            .documents
            .compare_and_swap(key, expected, Some(value))?
            .is_err()
        {
            return Ok(false);
        }
        let ticket = self.ticket_after_write();
        self.checkpointed(ticket).await?;
        Ok(true)
    }

    /// Removes a metadata document and waits until that is durable.
    pub async fn remove_document(&self, key: &str) -> Result<(), StoreError> {
        self.inner.documents.remove(key)?;
        let ticket = self.ticket_after_write();
        self.checkpointed(ticket).await
    }

    /// All metadata documents whose key starts with `prefix`, in key order.
    pub fn scan_documents(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner
            .documents
            .scan_prefix(prefix)
            .map(|entry| {
                let (k, v) = entry?;
                Ok((String::from_utf8_lossy(&k).into_owned(), v.to_vec()))
            })
            .collect()
    }

    /// Bytes the data dir takes on disk, for metrics.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.inner.db.size_on_disk()?)
    }

    /// Why the disk is refusing writes, while the latest flush failed and
    /// none succeeded since. sled 0.34 keeps an IO error (a full disk
    /// included) and refuses every later write until the process restarts,
    /// so readiness reports this and operators restart once space is back.
    pub fn failing(&self) -> Option<String> {
        self.inner.flusher.failing()
    }

    /// Forces a flush of everything written so far and waits for it.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let ticket = Ticket(self.inner.written.load(Ordering::SeqCst));
        self.checkpointed(ticket).await
    }
}

/// Whether a journal record's log entry is inside its chart's snapshot
/// (the compaction that wrote the snapshot may have trimmed it since).
fn covered_by_snapshot(snapshots: &sled::Tree, key: &[u8]) -> Result<bool, StoreError> {
    let Some(slash) = key.iter().position(|&b| b == b'/') else {
        return Ok(false);
    };
    let Some(seq) = key
        .get(slash + 1..)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_be_bytes)
    else {
        return Ok(false);
    };
    Ok(match snapshots.get(&key[..slash])? {
        Some(header) if header.len() >= 8 => {
            u64::from_be_bytes(header[..8].try_into().expect("8 bytes")) >= seq
        }
        _ => false,
    })
}

fn log_prefix(chart: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(chart.len() + 1);
    key.extend_from_slice(chart.as_bytes());
    key.push(b'/');
    key
}

/// Opens sled on `path`, waiting up to [`LOCK_WAIT`] for its lock.
fn open_sled(path: &Path) -> Result<sled::Db, StoreError> {
    let started = std::time::Instant::now();
    loop {
        let opened = sled::Config::new()
            .path(path)
            // Our flusher thread is the only one that flushes: sled's own
            // background flusher would call flush concurrently with it.
            .flush_every_ms(None)
            .mode(sled::Mode::HighThroughput)
            .open();
        match opened {
            Ok(db) => return Ok(db),
            // sled reports lock contention only in the message (0.34).
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if started.elapsed() >= LOCK_WAIT {
                    return Err(StoreError::Locked {
                        path: path.to_path_buf(),
                    });
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(source) => {
                return Err(StoreError::Open {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// Largest part of a stored snapshot, well under sled's blob threshold.
const SNAPSHOT_PART: usize = 16 * 1024;

fn snapshot_prefix(chart: &str, covers: u64) -> Vec<u8> {
    let mut key = log_prefix(chart);
    key.extend_from_slice(&covers.to_be_bytes());
    key
}

fn log_key(chart: &str, seq: u64) -> Vec<u8> {
    let mut key = log_prefix(chart);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn seq_of(chart: &str, key: &[u8]) -> Result<u64, StoreError> {
    key.get(chart.len() + 1..)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt {
            chart: chart.into(),
            detail: "log key has no sequence number".into(),
        })
}

#[cfg(test)]
mod tests;
