//! Detects a database that silently lost flushed data.
//!
//! sled 0.34 treats a record that fails its checksum as the torn tail of a
//! crash and recovers only what came before it, without an error. A
//! truncated or garbled `db` file therefore opens as an older, often empty,
//! database, and a server would serve empty charts (and even create a new
//! demo conference) as if nothing were wrong.
//!
//! So every sled flush (a checkpoint, see [`crate::journal`]) also stores a
//! generation counter in sled (`meta` tree,
//! `flush_generation`), and a small file next to sled's, `easel.watermark`,
//! records a generation that a flush has confirmed, rewritten at most once
//! per [`INTERVAL`] and at shutdown. On open, a database whose generation is
//! below the file's has lost confirmed writes: the store refuses to open.
//! A crash never trips this (the file only ever names flushed generations);
//! damage to the last [`INTERVAL`] of writes is not detected.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest time between two watermark rewrites under steady writes.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

pub(crate) const GENERATION_KEY: &[u8] = b"flush_generation";

const FILE: &str = "easel.watermark";

pub(crate) struct Watermark {
    path: PathBuf,
    dir: PathBuf,
    last_write: Option<Instant>,
}

impl Watermark {
    pub(crate) fn new(data_dir: &Path) -> Watermark {
        Watermark {
            path: data_dir.join(FILE),
            dir: data_dir.to_path_buf(),
            last_write: None,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The confirmed generation, if the file exists. `Err` holds why the
    /// file cannot be read or parsed.
    pub(crate) fn read(&self) -> Result<Option<u64>, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("{} is not a number", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", self.path.display())),
        }
    }

    /// Records `generation` (already flushed) if the last record is older
    /// than [`INTERVAL`], or always when `force`.
    pub(crate) fn record(&mut self, generation: u64, force: bool) {
        if !force && self.last_write.is_some_and(|t| t.elapsed() < INTERVAL) {
            return;
        }
        self.last_write = Some(Instant::now());
        if let Err(e) = self.write(generation) {
            tracing::warn!(error = %e, path = %self.path.display(), "cannot update the watermark file");
        }
    }

    /// Write to a temporary file, sync, rename over: the file is always
    /// either the old or the new number, never a torn one.
    fn write(&self, generation: u64) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{generation}")?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        std::fs::File::open(&self.dir)?.sync_all()
    }
}

pub(crate) fn decode(raw: Option<sled::IVec>) -> u64 {
    raw.and_then(|v| v.as_ref().try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}
