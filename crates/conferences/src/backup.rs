//! Backups: one file with every chart (as a Yjs update) and every metadata
//! document (conferences, chart index, token hashes), with checksums; and
//! the restore into an empty data dir. `docs/operations.md` describes the
//! format from the outside.
//!
//! Why it is consistent while the server runs: [`write`] holds every
//! conference's edit lock ([`Conferences::lock_all`]) while it reads, so no
//! session is proposed, merged or deleted meanwhile and each agenda, its
//! chart index and its charts belong together. Each chart is read as one
//! state: from its actor if it is loaded (the Doc clients see), else from
//! the store with a read that is retried if a compaction overlapped it
//! (`Store::load_chart`). Chart edits go on during a backup; each chart is
//! captured at one moment, and charts are independent documents. Before the
//! end record is written the store is flushed, so a backup never holds an
//! edit the server could still lose in a crash.
//!
//! A running server owns its data dir (sled locks it), so `easel backup`
//! asks the server through its admin socket ([`crate::admin`]); on a
//! stopped server it opens the data dir itself. Both run [`write`].
//!
//! A cluster node (`--redis`) backs up the whole cluster: the documents
//! come from Redis ([`Conferences::meta`]), the charts named by the chart
//! index are read through the hub from the shared log, and the edit locks
//! it holds are cluster-wide. [`restore`] always writes a single-node data
//! dir (docs/scale-out.md, "Backups and retention").
//!
//! The file is JSON lines: a `header`, then `document` and `chart` records
//! (bytes base64, each with the SHA-256 of its bytes), then an `end` record
//! with the counts and the SHA-256 of every byte before it. [`verify`]
//! checks all of it; [`restore`] verifies first and writes nothing from a
//! damaged or truncated file.

use std::path::{Path, PathBuf};

use base64::Engine;
use easel_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use yrs::updates::decoder::Decode;

use crate::{self as conferences, Conferences};

/// How long one write of a backup may wait for its reader. A backup holds
/// every conference's edit lock, so a client that stops reading must not
/// freeze the agendas: past this the backup fails and the locks go.
const STALLED_READER: std::time::Duration = std::time::Duration::from_secs(30);

/// Names the file type in the header record.
pub const FORMAT: &str = "easel-backup";
/// The layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Errors of backing up and restoring, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("I/O on {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("writing the backup: {0}")]
    Write(std::io::Error),
    #[error("{0} is not empty: restore only into an empty or missing directory")]
    NotEmpty(PathBuf),
    #[error("line {line}: {reason}; the backup file is damaged")]
    Damaged { line: usize, reason: String },
    #[error("line {line}: checksum mismatch in {what}; the backup file is damaged")]
    Checksum { line: usize, what: String },
    #[error("the backup ends before its end record (truncated, or the backup failed part-way; see the server log)")]
    Truncated,
    #[error(
        "backup format version {0} is not supported by this build (it reads {FORMAT_VERSION})"
    )]
    Version(u32),
    #[error("reading the server's data: {0}")]
    Conferences(#[from] conferences::Error),
    #[error("chart {chart}: {error}")]
    Chart {
        chart: String,
        error: easel_hub::HubError,
    },
    #[error("storage: {0}")]
    Store(#[from] easel_store::StoreError),
}

/// One line of a backup file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Record {
    Header {
        format: String,
        version: u32,
        created: jiff::Timestamp,
        easel_version: String,
    },
    /// A metadata document: `conf/…`, `chart/…`, `token/…`.
    Document {
        key: String,
        value: String,
        sha256: String,
    },
    /// A chart's whole state as one Yjs v1 update.
    Chart {
        id: String,
        update: String,
        sha256: String,
    },
    End {
        documents: u64,
        charts: u64,
        /// SHA-256 of every byte of the file before this line.
        sha256: String,
    },
}

/// What a backup holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub documents: u64,
    pub conferences: u64,
    pub charts: u64,
    pub bytes: u64,
    /// The end record's checksum: names this backup.
    pub sha256: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Writes lines and keeps the running checksum of everything written.
struct Out<'a, W> {
    w: &'a mut W,
    hash: Sha256,
    bytes: u64,
}

impl<W: AsyncWrite + Unpin> Out<'_, W> {
    async fn line(&mut self, record: &Record) -> Result<(), BackupError> {
        let mut line = serde_json::to_vec(record).expect("records serialize");
        line.push(b'\n');
        self.hash.update(&line);
        self.bytes += line.len() as u64;
        match tokio::time::timeout(STALLED_READER, self.w.write_all(&line)).await {
            Ok(written) => written.map_err(BackupError::Write),
            Err(_) => Err(BackupError::Write(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the backup's reader stopped reading",
            ))),
        }
    }
}

/// Writes a consistent backup of everything `conferences` (and its hub and
/// store) hold to `w`. See the module docs for why it is consistent.
pub async fn write<W: AsyncWrite + Unpin>(
    conferences: &Conferences,
    store: &Store,
    w: &mut W,
) -> Result<Summary, BackupError> {
    let mut out = Out {
        w,
        hash: Sha256::new(),
        bytes: 0,
    };
    out.line(&Record::Header {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        created: jiff::Timestamp::now(),
        easel_version: env!("CARGO_PKG_VERSION").into(),
    })
    .await?;
    let mut summary = Summary::default();
    let guards = conferences.lock_all().await?;
    let documents = conferences
        .meta()
        .scan("")
        .await
        .map_err(conferences::Error::from)?;
    for (key, value) in documents {
        if key.starts_with("conf/") {
            summary.conferences += 1;
        }
        out.line(&Record::Document {
            sha256: hex(&Sha256::digest(&value)),
            value: b64().encode(&value),
            key,
        })
        .await?;
        summary.documents += 1;
    }
    // A cluster node's store holds no charts (they are in Redis): the
    // chart index names them.
    let charts = if conferences.hub().shared().is_some() {
        conferences.indexed_charts().await?
    } else {
        store.chart_ids()?
    };
    for id in charts {
        let state =
            conferences
                .hub()
                .chart_state(&id)
                .await
                .map_err(|error| BackupError::Chart {
                    chart: id.clone(),
                    error,
                })?;
        out.line(&Record::Chart {
            sha256: hex(&Sha256::digest(&state)),
            update: b64().encode(&state),
            id,
        })
        .await?;
        summary.charts += 1;
    }
    // A chart read from its actor may include this batch's edits before
    // their flush: make them durable before the backup claims them.
    store.flush().await?;
    drop(guards);
    let sha256 = hex(&out.hash.clone().finalize());
    out.line(&Record::End {
        documents: summary.documents,
        charts: summary.charts,
        sha256: sha256.clone(),
    })
    .await?;
    out.w.flush().await.map_err(BackupError::Write)?;
    summary.bytes = out.bytes;
    summary.sha256 = sha256;
    Ok(summary)
}

/// What [`read`] hands each verified record to.
enum Item {
    Document(String, Vec<u8>),
    Chart(String, Vec<u8>),
}

/// Reads and checks a backup file line by line, handing each verified item
/// to `each`. Everything is checked: the header, every record's checksum,
/// every chart id and update, the counts and the whole-file checksum.
async fn read(
    path: &Path,
    mut each: impl FnMut(Item) -> Result<(), BackupError>,
) -> Result<Summary, BackupError> {
    let io = |error| BackupError::Io {
        path: path.to_path_buf(),
        error,
    };
    let file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut reader = tokio::io::BufReader::new(file);
    let mut hash = Sha256::new();
    let mut summary = Summary::default();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).await.map_err(io)?;
        if n == 0 {
            return Err(BackupError::Truncated);
        }
        summary.bytes += n as u64;
        line_no += 1;
        let damaged = |reason: String| BackupError::Damaged {
            line: line_no,
            reason,
        };
        if buf.last() != Some(&b'\n') {
            return Err(BackupError::Truncated);
        }
        let record: Record = serde_json::from_slice(&buf)
            .map_err(|e| damaged(format!("not a backup record ({e})")))?;
        let decode = |text: &str| {
            b64()
                .decode(text)
                .map_err(|e| damaged(format!("bad base64 ({e})")))
        };
        let checked = |bytes: &[u8], sha: &str, what: String| {
            if hex(&Sha256::digest(bytes)) == sha {
                Ok(())
            } else {
                Err(BackupError::Checksum {
                    line: line_no,
                    what,
                })
            }
        };
        match record {
            Record::Header {
                format, version, ..
            } => {
                if line_no != 1 || format != FORMAT {
                    return Err(damaged("misplaced or foreign header".into()));
                }
                if version != FORMAT_VERSION {
                    return Err(BackupError::Version(version));
                }
            }
            _ if line_no == 1 => {
                return Err(damaged(format!("not an Easel backup (no {FORMAT} header)")))
            }
            Record::Document { key, value, sha256 } => {
                let value = decode(&value)?;
                checked(&value, &sha256, format!("document {key}"))?;
                if key.starts_with("conf/") {
                    summary.conferences += 1;
                }
                summary.documents += 1;
                each(Item::Document(key, value))?;
            }
            Record::Chart { id, update, sha256 } => {
                let update = decode(&update)?;
                checked(&update, &sha256, format!("chart {id}"))?;
                easel_store::validate_chart_id(&id).map_err(|e| damaged(e.to_string()))?;
                // The same bounded walk as client input before yrs decodes:
                // a damaged or hostile file must not make yrs reserve
                // gigabytes (or abort) while restoring.
                easel_protocol::check_update(&update)
                    .map_err(|e| damaged(format!("chart {id} is not a Yjs update ({e})")))?;
                yrs::Update::decode_v1(&update)
                    .map_err(|e| damaged(format!("chart {id} is not a Yjs update ({e})")))?;
                summary.charts += 1;
                each(Item::Chart(id, update))?;
            }
            Record::End {
                documents,
                charts,
                sha256,
            } => {
                if hex(&hash.clone().finalize()) != sha256 {
                    return Err(BackupError::Checksum {
                        line: line_no,
                        what: "the whole file".into(),
                    });
                }
                if (documents, charts) != (summary.documents, summary.charts) {
                    return Err(damaged(format!(
                        "end record counts {documents} documents and {charts} charts, the file holds {} and {}",
                        summary.documents, summary.charts
                    )));
                }
                summary.sha256 = sha256;
                let mut rest = Vec::new();
                tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut rest)
                    .await
                    .map_err(io)?;
                if !rest.is_empty() {
                    return Err(damaged("data after the end record".into()));
                }
                return Ok(summary);
            }
        }
        hash.update(&buf);
    }
}

/// Checks a backup file completely without writing anything.
pub async fn verify(path: &Path) -> Result<Summary, BackupError> {
    read(path, |_| Ok(())).await
}

/// Restores a backup into `data_dir`, which must be missing or empty.
/// The file is verified completely first; the data is written into a
/// sibling directory that is renamed into place only when everything is
/// durable, so a failed restore leaves `data_dir` as it was.
pub async fn restore(file: &Path, data_dir: &Path) -> Result<Summary, BackupError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| BackupError::Io { path, error }
    };
    if data_dir.exists() {
        let mut entries = std::fs::read_dir(data_dir).map_err(io(data_dir))?;
        if entries.next().is_some() {
            return Err(BackupError::NotEmpty(data_dir.to_path_buf()));
        }
    }
    verify(file).await?;
    let mut staging = data_dir.as_os_str().to_owned();
    staging.push(format!(".restoring-{}", std::process::id()));
    let staging = PathBuf::from(staging);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    let result = restore_into(file, &staging).await;
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    if data_dir.exists() {
        std::fs::remove_dir(data_dir).map_err(io(data_dir))?;
    }
    std::fs::rename(&staging, data_dir).map_err(io(data_dir))?;
    Ok(summary)
}

async fn restore_into(file: &Path, staging: &Path) -> Result<Summary, BackupError> {
    let dir = staging.to_path_buf();
    let store = tokio::task::spawn_blocking(move || Store::open(&dir))
        .await
        .map_err(|e| BackupError::Write(std::io::Error::other(e.to_string())))??;
    // Written unflushed, then made durable by one flush at the end: the
    // staging dir is only renamed into place after that flush.
    let summary = read(file, |item| {
        match item {
            Item::Document(key, value) => store.insert_document(&key, &value)?,
            Item::Chart(id, update) => {
                store.append(&id, 0, &update)?;
            }
        }
        Ok(())
    })
    .await?;
    store.flush().await?;
    drop(store);
    Ok(summary)
}
