//! Group commit: one thread makes writes durable for everyone.
//!
//! Log appends become durable through the commit journal ([`crate::journal`]):
//! a group commit is one write (and `fdatasync`) of the journal file. Every
//! other write, and every [`crate::journal::CHECKPOINT_EVERY`], waits for a
//! *checkpoint*: a sled flush, after which the journal is emptied.
//!
//! Why a thread of our own: sled 0.34's `flush_async` deadlocks when several
//! tasks call it at once (sled #1308), and a blocking `flush` per update would
//! cost one disk sync per keystroke. Instead, writers take a [`Ticket`] (a
//! position in the global append order), ask for it to be flushed, and wait on
//! a watch channel that publishes the "flushed up to" watermark. One flush
//! covers every append made before it started, from every chart, so under load
//! hundreds of updates share one disk sync.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::faults::FlushFaults;
use crate::journal::{self, Journal, CHECKPOINT_EVERY};
use crate::watermark::{Watermark, GENERATION_KEY, INTERVAL};
use crate::StoreError;

/// The flush generation counter (see [`crate::watermark`]): bumped inside
/// every flush, recorded in the watermark file after it succeeded.
pub(crate) struct Generation {
    pub(crate) meta: sled::Tree,
    pub(crate) value: u64,
    pub(crate) mark: Watermark,
}

/// A position in the store's global append order. Ordered: a flush that
/// covers ticket N covers every ticket below N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Ticket(pub(crate) u64);

/// What the flusher thread last did, published to every waiter.
#[derive(Debug, Clone, Default)]
struct Report {
    /// Every log append with a ticket <= this is on disk (in the journal or
    /// in sled).
    flushed: u64,
    /// Every write with a ticket <= this is in sled's file (checkpointed).
    checkpointed: u64,
    /// The latest failed attempt: the ticket it tried to cover and why it
    /// failed. A waiter whose ticket it covered is told the flush failed.
    failed: Option<(u64, String)>,
    /// Failed attempts so far. A waiter only accepts a failure that
    /// happened after it started waiting, so waiting again after a failure
    /// means trying the disk again, not repeating the old verdict.
    failures: u64,
}

#[derive(Default)]
struct Requests {
    /// Highest append ticket anyone is waiting for.
    wanted: u64,
    /// Highest ticket anyone waits to see checkpointed.
    wanted_checkpoint: u64,
    /// Someone waits for a ticket an earlier attempt failed to cover: try
    /// again even though `wanted` did not grow.
    retry: bool,
    /// Set when the owning store is dropped: the thread exits.
    shutdown: bool,
    /// The thread is waiting on the condvar. A request made while it
    /// flushes is seen when it looks again, so only an idle thread needs
    /// the notify (a futex syscall per batch otherwise, thousands a second
    /// under load).
    idle: bool,
}

pub(crate) struct Flusher {
    requests: Arc<(Mutex<Requests>, Condvar)>,
    reports: watch::Receiver<Report>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Pause after a failed flush so a broken disk is not retried in a hot loop.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

impl Flusher {
    pub(crate) fn start(
        db: sled::Db,
        written: Arc<AtomicU64>,
        faults: Option<Arc<FlushFaults>>,
        generation: Generation,
        db_file: Option<std::fs::File>,
        journal: (Arc<Journal>, std::fs::File),
    ) -> Flusher {
        let requests = Arc::new((Mutex::new(Requests::default()), Condvar::new()));
        let (tx, rx) = watch::channel(Report::default());
        let thread_requests = requests.clone();
        let thread = std::thread::Builder::new()
            .name("easel-flusher".into())
            .spawn(move || {
                run(
                    db,
                    written,
                    thread_requests,
                    tx,
                    faults,
                    generation,
                    db_file,
                    journal,
                )
            })
            .expect("spawn flusher thread");
        Flusher {
            requests,
            reports: rx,
            thread: Some(thread),
        }
    }

    /// Why the latest flush failed, if no flush has succeeded since.
    pub(crate) fn failing(&self) -> Option<String> {
        let report = self.reports.borrow();
        report
            .failed
            .as_ref()
            .filter(|(covered, _)| *covered > report.flushed)
            .map(|(_, why)| why.clone())
    }

    /// Waits until `ticket` is durable: a log append's ticket through the
    /// journal (`checkpoint` false), any other write's through a checkpoint.
    pub(crate) async fn wait(&self, ticket: Ticket, checkpoint: bool) -> Result<(), StoreError> {
        let done = |r: &Report| {
            if checkpoint {
                r.checkpointed
            } else {
                r.flushed
            }
        };
        let mut reports = self.reports.clone();
        let (failures_before, failed_before) = {
            let report = reports.borrow_and_update();
            if done(&report) >= ticket.0 {
                return Ok(());
            }
            let failed = report
                .failed
                .as_ref()
                .is_some_and(|(covered, _)| *covered >= ticket.0);
            (report.failures, failed)
        };
        {
            let (lock, cvar) = &*self.requests;
            let mut req = lock.lock().unwrap_or_else(|e| e.into_inner());
            let wanted = if checkpoint {
                &mut req.wanted_checkpoint
            } else {
                &mut req.wanted
            };
            *wanted = (*wanted).max(ticket.0);
            // Only a ticket an attempt already failed to cover asks for
            // another attempt. Charts wait in any order: one waiting below
            // another's request is not a retry, and a retry is a
            // checkpoint (a sled flush instead of a journal write).
            if failed_before {
                req.retry = true;
            }
            if req.idle {
                cvar.notify_one();
            }
        }
        loop {
            {
                let report = reports.borrow_and_update();
                if done(&report) >= ticket.0 {
                    return Ok(());
                }
                if let Some((covered, why)) = &report.failed {
                    if *covered >= ticket.0 && report.failures > failures_before {
                        return Err(StoreError::Flush(why.clone()));
                    }
                }
            }
            if reports.changed().await.is_err() {
                return Err(StoreError::Flush("flusher stopped".into()));
            }
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        {
            let (lock, cvar) = &*self.requests;
            let mut req = lock.lock().unwrap_or_else(|e| e.into_inner());
            req.shutdown = true;
            cvar.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    db: sled::Db,
    written: Arc<AtomicU64>,
    requests: Arc<(Mutex<Requests>, Condvar)>,
    reports: watch::Sender<Report>,
    faults: Option<Arc<FlushFaults>>,
    generation: Generation,
    db_file: Option<std::fs::File>,
    journal: (Arc<Journal>, std::fs::File),
) {
    let Generation {
        meta,
        value: mut generation,
        mark,
    } = generation;
    let (journal, mut journal_file) = journal;
    let marker = Marker::start(mark);
    let (lock, cvar) = &*requests;
    let mut flushed = 0u64;
    let mut checkpointed = 0u64;
    let mut last_checkpoint = Instant::now();
    // After a failed or partial journal write the file may end in a torn
    // record that would hide every later one from a replay: only a
    // checkpoint (which empties the file) may follow. If emptying it fails,
    // the journal is out of use and every commit is a checkpoint.
    let mut need_checkpoint = false;
    let mut journal_usable = true;
    // The highest ticket a failed attempt tried to cover: waiters up to it
    // were told; only a newer request triggers another attempt.
    let mut failed_upto = 0u64;
    // Records taken from the journal whose insert into sled failed: kept
    // for the next attempt, which inserts them again before any commit can
    // confirm them.
    let mut carry = Vec::new();
    loop {
        let checkpoint = {
            let mut req = lock.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if req.shutdown {
                    break;
                }
                let append_due =
                    req.wanted > flushed.max(failed_upto) || (req.retry && req.wanted > flushed);
                let checkpoint_due = req.wanted_checkpoint > checkpointed.max(failed_upto)
                    || (req.retry && req.wanted_checkpoint > checkpointed);
                let behind = written.load(Ordering::SeqCst) > checkpointed;
                let periodic = behind && last_checkpoint.elapsed() >= CHECKPOINT_EVERY;
                if append_due || checkpoint_due || periodic {
                    break;
                }
                req.idle = true;
                req = if behind {
                    let left = CHECKPOINT_EVERY.saturating_sub(last_checkpoint.elapsed());
                    cvar.wait_timeout(req, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                } else {
                    cvar.wait(req).unwrap_or_else(|e| e.into_inner())
                };
                req.idle = false;
            }
            if req.shutdown {
                break;
            }
            let checkpoint = req.wanted_checkpoint > checkpointed
                || req.retry
                || need_checkpoint
                || !journal_usable
                || last_checkpoint.elapsed() >= CHECKPOINT_EVERY;
            req.retry = false;
            checkpoint
        };
        let started = Instant::now();
        let injected = faults.as_deref().map(FlushFaults::before_flush);
        let (target, result, insert_failed) = if checkpoint {
            // Records taken here go into sled before the flush, which then
            // covers them: they need no journal write.
            let (target, inserted) = journal.take_into(&mut carry);
            let insert_failed = inserted.is_err();
            let next = generation + 1;
            let result = match (injected, inserted) {
                (Some(Err(injected)), _) => Err(injected),
                (_, Err(e)) => Err(format!("inserting the log into sled: {e}")),
                _ => meta
                    .insert(GENERATION_KEY, &next.to_be_bytes())
                    .and_then(|_| db.flush())
                    .map_err(|e| e.to_string())
                    .and_then(|_| sync_file(db_file.as_ref())),
            };
            if result.is_ok() {
                generation = next;
                marker.confirmed(next);
                checkpointed = target;
                last_checkpoint = Instant::now();
                need_checkpoint = false;
                if journal_usable {
                    if let Err(e) = journal::clear(&journal_file) {
                        tracing::error!(error = %e, "cannot empty the commit journal; every commit now flushes sled");
                        journal_usable = false;
                    }
                }
            }
            (target, result, insert_failed)
        } else {
            let (target, inserted) = journal.take_into(&mut carry);
            let insert_failed = inserted.is_err();
            let result = match (injected, inserted) {
                (Some(Err(injected)), _) => Err(injected),
                (_, Err(e)) => Err(format!("inserting the log into sled: {e}")),
                _ => journal::write(&mut journal_file, &carry, db_file.is_some())
                    .map_err(|e| format!("commit journal: {e}")),
            };
            (target, result, insert_failed)
        };
        if !insert_failed {
            // In sled now (a failed write or flush is the checkpoint's to
            // cover, as for any record in sled).
            carry.clear();
        }
        match result {
            Ok(()) => {
                if let Some(f) = &faults {
                    f.after_flush();
                }
                flushed = flushed.max(target);
                reports.send_modify(|r| {
                    r.flushed = flushed;
                    r.checkpointed = checkpointed;
                });
                tracing::trace!(
                    flushed,
                    checkpoint,
                    us = started.elapsed().as_micros() as u64,
                    "flush"
                );
            }
            Err(e) => {
                failed_upto = target;
                // A failed checkpoint took the journal's records (sled holds
                // them) and a failed journal write may have left a torn
                // record: either way only a checkpoint may confirm them.
                need_checkpoint = true;
                tracing::error!(error = %e, "flush failed");
                reports.send_modify(|r| {
                    r.failed = Some((target, e));
                    r.failures += 1;
                });
                std::thread::sleep(RETRY_PAUSE);
            }
        }
    }
    // Final flush on shutdown: a clean stop loses nothing even if a waiter
    // was dropped before its flush ran.
    let mark = marker.stop();
    let next = generation + 1;
    if let (_, Err(e)) = journal.take_into(&mut carry) {
        tracing::error!(error = %e, "inserting the last log records into sled failed");
    }
    match meta
        .insert(GENERATION_KEY, &next.to_be_bytes())
        .and_then(|_| db.flush())
    {
        Ok(_) => {
            if journal_usable {
                if let Err(e) = journal::clear(&journal_file) {
                    tracing::warn!(error = %e, "commit journal not emptied at shutdown; the next start replays it");
                }
            }
            match mark {
                Some(mut mark) => mark.record(next, true),
                None => tracing::error!("the watermark thread died; easel.watermark not updated"),
            }
        }
        Err(e) => tracing::error!(error = %e, "final flush failed"),
    }
}

/// Writes the watermark file on a thread of its own, at most once per
/// [`INTERVAL`]. The file only has to trail what is on disk; written by the
/// flusher itself, its two fsyncs and a rename (up to hundreds of ms on a
/// busy shared disk) held up every flush behind it once a second.
struct Marker {
    state: Arc<(Mutex<MarkState>, Condvar)>,
    thread: std::thread::JoinHandle<Watermark>,
}

#[derive(Default)]
struct MarkState {
    /// The newest flushed generation not yet written to the file.
    latest: Option<u64>,
    /// Set by [`Marker::stop`]: the thread returns the watermark.
    stop: bool,
    /// The thread waits for a newer generation (rather than for the end of
    /// its interval): only then does a flush need to wake it. Waking it on
    /// every flush would cost a futex call and two context switches per group
    /// commit, over a thousand a second under load, for nothing.
    waiting: bool,
}

impl Marker {
    fn start(mut mark: Watermark) -> Marker {
        let state = Arc::new((Mutex::new(MarkState::default()), Condvar::new()));
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("easel-watermark".into())
            .spawn(move || {
                let (lock, cvar) = &*shared;
                loop {
                    let generation = {
                        let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
                        loop {
                            if st.stop {
                                return mark;
                            }
                            if let Some(g) = st.latest.take() {
                                break g;
                            }
                            st.waiting = true;
                            st = cvar.wait(st).unwrap_or_else(|e| e.into_inner());
                            st.waiting = false;
                        }
                    };
                    mark.record(generation, true);
                    let next_write = std::time::Instant::now() + INTERVAL;
                    let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
                    while !st.stop {
                        let now = std::time::Instant::now();
                        if now >= next_write {
                            break;
                        }
                        st = cvar
                            .wait_timeout(st, next_write - now)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                }
            })
            .expect("spawn watermark thread");
        Marker { state, thread }
    }

    /// `generation` is flushed: record it (soon, or with a later one).
    fn confirmed(&self, generation: u64) {
        let (lock, cvar) = &*self.state;
        let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
        st.latest = Some(generation);
        if st.waiting {
            cvar.notify_one();
        }
    }

    /// Stops the thread and hands the watermark back for the final record.
    fn stop(self) -> Option<Watermark> {
        {
            let (lock, cvar) = &*self.state;
            lock.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
            cvar.notify_one();
        }
        self.thread.join().ok()
    }
}

/// fsyncs sled's log file after sled's own flush, when the store was
/// opened with [`crate::StoreOptions::fsync`]; see there for why.
///
/// `fdatasync`, not `fsync`: it persists the data and the file size (all a
/// reader of the log needs) but skips a journal commit when only the
/// modification time changed, which on a shared ext4 disk waits for other
/// programs' writes too (the flush tail under load).
fn sync_file(file: Option<&std::fs::File>) -> Result<(), String> {
    match file {
        Some(f) => f.sync_data().map_err(|e| format!("fdatasync: {e}")),
        None => Ok(()),
    }
}
