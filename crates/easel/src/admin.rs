//! The admin socket: a Unix socket in the data dir (`admin.sock`) through
//! which `easel backup` asks a running server for a backup and `easel
//! reindex` for a rebuilt search index.
//!
//! Why a socket in the data dir and not an HTTP route with an admin token:
//! sled lets only one process open a data dir, so an online backup must be
//! made by the server; and whoever may back up a data dir is whoever may
//! read it anyway. The socket is created mode 0600 inside the data dir, so
//! the file system's permissions are the credential: there is no admin
//! secret to mint, store, leak or rotate, and nothing is reachable over the
//! network.
//!
//! Protocol: the client writes one line, `backup`; the server answers
//! `ok` and the backup file's bytes, then closes, or `error: …` and closes.
//! Or `reindex`; the server answers `ok N` (charts indexed) or `error: …`.
//! A backup that fails part-way lacks its end record, which the client's
//! verification reports as truncated.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use easel_conferences::Conferences;

/// File name of the socket inside the data dir.
pub const SOCKET: &str = "admin.sock";

/// Longest command line a client may send.
const MAX_COMMAND: usize = 64;

/// Where a data dir's admin socket lives.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// Binds the admin socket and serves it until `shutdown`; the socket file
/// is removed on the way out. A leftover socket from a killed server is
/// replaced (this process holds the data dir's lock, so no other server
/// uses it). Failing to bind is logged, not fatal: only online backups need
/// it.
pub fn spawn(
    data_dir: &Path,
    conferences: Conferences,
    store: easel_store::Store,
    search: easel_search::Search,
    shutdown: CancellationToken,
) {
    let path = socket_path(data_dir);
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "admin socket not available: online backups need a stopped server");
            return;
        }
    };
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(error = %e, "admin socket permissions not set; removing it");
            let _ = std::fs::remove_file(&path);
            return;
        }
    }
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let conferences = conferences.clone();
                        let store = store.clone();
                        let search = search.clone();
                        tokio::spawn(async move { serve(stream, conferences, store, search).await });
                    }
                    Err(e) => tracing::warn!(error = %e, "admin socket accept failed"),
                }
            }
        }
        let _ = std::fs::remove_file(&path);
    });
}

async fn serve(
    stream: UnixStream,
    conferences: Conferences,
    store: easel_store::Store,
    search: easel_search::Search,
) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(read, MAX_COMMAND as u64));
    if reader.read_line(&mut line).await.is_err() {
        return;
    }
    match line.trim() {
        "backup" => {
            if write.write_all(b"ok\n").await.is_err() {
                return;
            }
            let mut out = tokio::io::BufWriter::new(write);
            let backup = easel_conferences::backup::write(&conferences, &store, &mut out)
                .instrument(tracing::info_span!("backup", via = "admin socket"));
            match backup.await {
                Ok(s) => tracing::info!(
                    conferences = s.conferences,
                    charts = s.charts,
                    documents = s.documents,
                    bytes = s.bytes,
                    sha256 = %s.sha256,
                    "online backup written"
                ),
                Err(e) => tracing::error!(error = %e, "online backup failed"),
            }
        }
        "reindex" => {
            let answer = match search.rebuild().await {
                Ok(charts) => {
                    tracing::info!(charts, "search index rebuilt (admin socket)");
                    format!("ok {charts}\n")
                }
                Err(e) => {
                    tracing::error!(error = %e, "search index rebuild failed");
                    format!("error: {e}\n")
                }
            };
            let _ = write.write_all(answer.as_bytes()).await;
        }
        other => {
            let _ = write
                .write_all(
                    format!("error: unknown command {other:?}; expected `backup` or `reindex`\n")
                        .as_bytes(),
                )
                .await;
        }
    }
}

/// Asks the server owning `data_dir` to rebuild its search index; the
/// number of charts indexed. `Ok(None)` when no server answers.
pub async fn request_reindex(data_dir: &Path) -> std::io::Result<Option<usize>> {
    let Ok(stream) = UnixStream::connect(socket_path(data_dir)).await else {
        return Ok(None);
    };
    let (read, mut write) = stream.into_split();
    write.write_all(b"reindex\n").await?;
    let mut status = String::new();
    BufReader::new(read).read_line(&mut status).await?;
    match status.trim().strip_prefix("ok ") {
        Some(n) => Ok(Some(n.parse().unwrap_or(0))),
        None => Err(std::io::Error::other(format!(
            "the server could not rebuild the index: {}",
            status.trim()
        ))),
    }
}

/// Asks the server owning `data_dir` for a backup and streams it to `out`.
/// `Ok(None)` when no server answers on the socket (none running, or a
/// stale socket of a killed one): the caller then opens the data dir itself.
pub async fn request_backup(
    data_dir: &Path,
    out: &mut (impl tokio::io::AsyncWrite + Unpin),
) -> std::io::Result<Option<()>> {
    let Ok(stream) = UnixStream::connect(socket_path(data_dir)).await else {
        return Ok(None);
    };
    let (read, mut write) = stream.into_split();
    write.write_all(b"backup\n").await?;
    let mut reader = BufReader::new(read);
    let mut status = String::new();
    reader.read_line(&mut status).await?;
    if status.trim() != "ok" {
        return Err(std::io::Error::other(format!(
            "the server refused the backup: {}",
            status.trim()
        )));
    }
    tokio::io::copy_buf(&mut reader, out).await?;
    out.flush().await?;
    Ok(Some(()))
}
