//! The commit journal: how a log append becomes durable without a sled flush.
//!
//! Why: sled 0.34's flush seals its IO buffer and hands the write to its IO
//! thread pool, whose thread wakes, writes, `sync_file_range`s and wakes the
//! flusher again. At the rates where a chart's batches hold one update, every
//! update would pay that: measured against a build that skips the wait, about
//! 25 points of server CPU at 4 updates/s per typist and three times the p99
//! at 8/s. The disk sync itself measures as cheap.
//!
//! So an append goes into this journal's buffer; a group commit, on the
//! flusher thread, inserts the buffer's records into sled's memory and
//! writes them to `easel.journal` with one `write` (and one `fdatasync`
//! when the store fsyncs). sled itself is flushed by a *checkpoint*: every
//! [`CHECKPOINT_EVERY`], for every write that is not a log append
//! (snapshots, deletions, metadata), and after any failure. A checkpoint
//! covers everything inserted before it started, so it empties the journal
//! file.
//!
//! Why the flusher inserts into sled, not the appending chart: a sled insert
//! is about half of what a chart actor spends per batch (its tree walk alone
//! 7% of the server's samples in a profile of the saturation ramp), and the
//! actors share one thread that every update crosses twice. On the flusher it
//! runs beside the disk syncs, and the actors' thread is free sooner: in
//! side-by-side pairs the mean commit wait is 4-6 ms this way against about
//! 11 ms with the insert on the actors' thread.
//!
//! A record is in sled before its commit is confirmed, so anything confirmed
//! is readable; a reader that must also see what is not yet confirmed (a
//! chart's reload, a compaction's trim) calls [`Journal::settle`] first.
//!
//! Opening the store replays the journal into sled: each complete record
//! whose entry a snapshot does not already cover is inserted again (an
//! insert of the same key and bytes is harmless), then sled is flushed and
//! the journal emptied. A record cut short by a crash ends the replay: it
//! was never confirmed, and nothing after it was written.
//!
//! Record: `len: u32 LE | crc32(body): u32 LE | body`, body =
//! `key_len: u16 LE | key | value`. Keys are `updates` tree keys.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::flusher::Ticket;

pub(crate) const FILE: &str = "easel.journal";

/// Longest time sled's memory runs ahead of its file while appends come
/// in. Bounds the journal's size and the replay after a crash.
pub(crate) const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// The append side: records waiting for the next group commit.
pub(crate) struct Journal {
    pending: Mutex<Vec<u8>>,
    written: Arc<AtomicU64>,
    /// Held from taking records until they are in sled (the flusher's
    /// [`Journal::take_into`]), so [`Journal::settle`] never misses a
    /// record that is neither pending nor inserted yet.
    inserting: Mutex<()>,
    /// The log tree the records go into.
    updates: sled::Tree,
}

impl Journal {
    pub(crate) fn new(written: Arc<AtomicU64>, updates: sled::Tree) -> Journal {
        Journal {
            pending: Mutex::new(Vec::new()),
            written,
            inserting: Mutex::new(()),
            updates,
        }
    }

    /// Queues one log entry for the next commit, which inserts it into sled
    /// and writes it to the journal file. The ticket is taken under the same
    /// lock the flusher takes the buffer with, so a commit that covers a
    /// ticket holds its record.
    pub(crate) fn push(&self, key: &[u8], value: &[u8]) -> Ticket {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        encode(&mut pending, key, value);
        Ticket(self.written.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// Takes what is queued, appends it to `carry` and inserts all of
    /// `carry` into sled; returns the ticket every record taken is at or
    /// below. On success `carry` holds the records to write to the file; on
    /// failure it keeps them, to be inserted again by the next attempt (an
    /// insert of the same key and bytes is harmless), so a record taken is
    /// never confirmed before it is in sled.
    pub(crate) fn take_into(&self, carry: &mut Vec<u8>) -> (u64, sled::Result<()>) {
        let _inserting = self.inserting.lock().unwrap_or_else(|e| e.into_inner());
        let target = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if carry.is_empty() {
                // The next group is likely about this size: one allocation
                // for it rather than a run of doublings under the
                // appenders' lock.
                let next = Vec::with_capacity(pending.len());
                *carry = std::mem::replace(&mut *pending, next);
            } else {
                carry.append(&mut pending);
            }
            self.written.load(Ordering::SeqCst)
        };
        (target, insert(&self.updates, carry))
    }

    /// Inserts into sled every record not yet there, including those still
    /// waiting for their commit: after this a read of the log sees every
    /// append made before the call. The records stay queued for their
    /// commit.
    pub(crate) fn settle(&self) -> sled::Result<()> {
        let _inserting = self.inserting.lock().unwrap_or_else(|e| e.into_inner());
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        insert(&self.updates, &pending)
    }
}

/// Inserts every complete record of `records` into `tree`.
pub(crate) fn insert(tree: &sled::Tree, records: &[u8]) -> sled::Result<()> {
    for (key, value) in decode(records) {
        tree.insert(key, value)?;
    }
    Ok(())
}

pub(crate) fn encode(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let body_len = 2 + key.len() + value.len();
    let start = out.len();
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(key.len() as u16).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    let crc = crc32fast::hash(&out[start + 8..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The complete records at the start of `bytes`, in order; stops at the
/// first one that is cut short or fails its checksum.
pub(crate) fn decode(bytes: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut records = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 8 {
        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        let Some(body) = rest.get(8..8 + len) else {
            break;
        };
        if len < 2 || crc32fast::hash(body) != crc {
            break;
        }
        let key_len = u16::from_le_bytes(body[..2].try_into().expect("2 bytes")) as usize;
        let Some(key) = body.get(2..2 + key_len) else {
            break;
        };
        records.push((key, &body[2 + key_len..]));
        rest = &rest[8 + len..];
    }
    records
}

/// Opens (creating) the journal file for appending.
pub(crate) fn open(data_dir: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(data_dir.join(FILE))
}

/// Reads the whole journal file.
pub(crate) fn read(file: &mut File) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Empties the journal after a checkpoint, durably: a journal that came
/// back after a crash could hold entries of a chart deleted since.
pub(crate) fn clear(file: &File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.sync_data()
}

/// Appends one group commit's records.
pub(crate) fn write(file: &mut File, records: &[u8], sync: bool) -> std::io::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    file.write_all(records)?;
    if sync {
        file.sync_data()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_tail_ends_the_replay() {
        let mut bytes = Vec::new();
        encode(&mut bytes, b"chart/\0\0\0\0\0\0\0\x01", b"first");
        encode(&mut bytes, b"chart/\0\0\0\0\0\0\0\x02", b"");
        let whole = bytes.len();
        encode(&mut bytes, b"chart/\0\0\0\0\0\0\0\x03", b"third");
        let records = decode(&bytes);
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].1, b"first");
        assert_eq!(records[1].1, b"");
        // A crash in the middle of the last record's write.
        assert_eq!(decode(&bytes[..bytes.len() - 2]).len(), 2);
        // A garbled byte in the last record.
        let mut garbled = bytes.clone();
        *garbled.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&garbled).len(), 2);
        assert_eq!(decode(&bytes[..whole]).len(), 2);
        assert!(decode(&[1, 2, 3]).is_empty());
    }
}
