//! `easel`: the command line. Parses flags, sets up logging, and calls into
//! the library; every behaviour lives in `easel::run` and friends.

use anyhow::Context;
use clap::{Parser, Subcommand};
use easel::ServeConfig;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "easel",
    version,
    about = "Real-time collaborative flip charts for Open Space conferences"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: WebSocket sync hub, HTTP API and web client.
    // Boxed: the settings are most of the enum's size.
    Serve(Box<ServeConfig>),
    /// Set up conferences on a data dir while the server is stopped.
    #[command(subcommand)]
    Conference(ConferenceCommand),
    /// Compile a conference's proceedings from a data dir while the server
    /// is stopped (the same document as `GET .../proceedings.{ext}`).
    Proceedings {
        /// Conference id (see `easel conference list`).
        conference: String,
        /// md, html, json or pdf.
        #[arg(long, default_value = "pdf")]
        format: String,
        /// File to write.
        #[arg(short = 'o', long = "output")]
        output: std::path::PathBuf,
        /// Data dir of the server (must not be in use by a running server).
        #[arg(long, env = "EASEL_DATA_DIR", default_value = "./easel-data")]
        data_dir: std::path::PathBuf,
        /// A cluster's Redis (`redis://HOST:PORT`): read its conference
        /// while the nodes run; `--data-dir` is not used.
        #[arg(long, env = "EASEL_REDIS")]
        redis: Option<String>,
    },
    /// Write a consistent backup of a data dir: every chart and all metadata,
    /// with checksums. Works while the server runs (through its admin socket
    /// in the data dir) and while it is stopped. The file is verified after
    /// writing.
    Backup {
        /// Data dir of the server.
        #[arg(long, env = "EASEL_DATA_DIR", default_value = "./easel-data")]
        data_dir: std::path::PathBuf,
        /// Backup file to write (replaced only when the backup is complete).
        #[arg(short = 'o', long = "output")]
        output: std::path::PathBuf,
    },
    /// Rebuild the search index of a data dir from its charts: through the
    /// running server's admin socket if one answers, else by opening the
    /// data dir (server stopped).
    Reindex {
        /// Data dir of the server.
        #[arg(long, env = "EASEL_DATA_DIR", default_value = "./easel-data")]
        data_dir: std::path::PathBuf,
    },
    /// Restore a backup into an empty (or missing) data dir, after checking
    /// every checksum; then start `easel serve` on it.
    Restore {
        /// Data dir to create; refused if it exists and is not empty.
        #[arg(long)]
        data_dir: std::path::PathBuf,
        /// Backup file written by `easel backup`.
        file: std::path::PathBuf,
    },
}

/// Options every `easel conference` command shares.
#[derive(clap::Args)]
struct DataDirArgs {
    /// Data dir of the server (must not be in use by a running server).
    #[arg(long, env = "EASEL_DATA_DIR", default_value = "./easel-data")]
    data_dir: std::path::PathBuf,
    /// A cluster's Redis (`redis://HOST:PORT`): work on the conferences
    /// every node serves, while they run; `--data-dir` is not used.
    #[arg(long, env = "EASEL_REDIS")]
    redis: Option<String>,
    /// Base URL for printed links.
    #[arg(
        long,
        env = "EASEL_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    public_url: String,
}

#[derive(Subcommand)]
enum ConferenceCommand {
    /// Create a conference; prints the organizer token and link (once).
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// IANA time zone the agenda is planned in, e.g. Europe/Lisbon.
        #[arg(long)]
        tz: String,
        /// First day, YYYY-MM-DD (default: today in that zone).
        #[arg(long)]
        start: Option<jiff::civil::Date>,
        /// Last day, YYYY-MM-DD, inclusive (default: the start day).
        #[arg(long)]
        end: Option<jiff::civil::Date>,
        #[command(flatten)]
        dir: DataDirArgs,
    },
    /// Mint a new capability link for a conference; prints it (once).
    Link {
        /// Conference id (see `easel conference list`).
        #[arg(long)]
        conference: String,
        /// organizer, edit or read.
        #[arg(long, default_value = "edit")]
        role: String,
        #[arg(long, default_value = "")]
        label: String,
        #[command(flatten)]
        dir: DataDirArgs,
    },
    /// List the conferences of a data dir.
    List {
        #[command(flatten)]
        dir: DataDirArgs,
    },
    /// Delete a conference with all its charts and links, for good. (On a
    /// running server, organizers use `DELETE /api/v1/conferences/{id}`.)
    Delete {
        /// Conference id (see `easel conference list`).
        #[arg(long)]
        conference: String,
        #[command(flatten)]
        dir: DataDirArgs,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => {
            init_tracing(config.log_json);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(serve(*config))
        }
        Command::Conference(cmd) => {
            init_tracing(false);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let lines = runtime.block_on(conference(cmd))?;
            #[allow(clippy::print_stdout)]
            for line in lines {
                println!("{line}");
            }
            Ok(())
        }
        Command::Backup { data_dir, output } => {
            init_tracing(false);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let summary = runtime.block_on(backup(&data_dir, &output))?;
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "wrote {} ({} bytes): {} conferences, {} charts, {} documents; sha256 {}",
                    output.display(),
                    summary.bytes,
                    summary.conferences,
                    summary.charts,
                    summary.documents,
                    summary.sha256
                );
            }
            Ok(())
        }
        Command::Reindex { data_dir } => {
            init_tracing(false);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let (charts, how) = runtime.block_on(reindex(&data_dir))?;
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "search index of {} rebuilt ({how}): {charts} charts",
                    data_dir.display()
                );
            }
            Ok(())
        }
        Command::Restore { data_dir, file } => {
            init_tracing(false);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let summary = runtime
                .block_on(easel_conferences::backup::restore(&file, &data_dir))
                .with_context(|| {
                    format!("restoring {} into {}", file.display(), data_dir.display())
                })?;
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "restored {} conferences, {} charts, {} documents into {} (backup sha256 {})",
                    summary.conferences,
                    summary.charts,
                    summary.documents,
                    data_dir.display(),
                    summary.sha256
                );
            }
            Ok(())
        }
        Command::Proceedings {
            conference,
            format,
            output,
            data_dir,
            redis,
        } => {
            init_tracing(false);
            let format = easel::api::exports::parse_format(&format)
                .with_context(|| format!("unknown format {format:?}: use md, html, json or pdf"))?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let bytes = runtime.block_on(proceedings(
                &data_dir,
                redis.as_deref(),
                &conference,
                format,
            ))?;
            std::fs::write(&output, &bytes)
                .with_context(|| format!("writing {}", output.display()))?;
            #[allow(clippy::print_stderr)]
            {
                eprintln!("wrote {} ({} bytes)", output.display(), bytes.len());
            }
            Ok(())
        }
    }
}

/// Backs up a data dir into `output`: through the running server's admin
/// socket if one answers, else by opening the data dir. Written to a
/// temporary file that replaces `output` only once it verified.
async fn backup(
    data_dir: &std::path::Path,
    output: &std::path::Path,
) -> anyhow::Result<easel_conferences::backup::Summary> {
    let mut partial = output.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let result = async {
        // Owner-only: the backup holds every note and the token hashes.
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .await
            .with_context(|| format!("creating {}", partial.display()))?;
        let online = easel::admin::request_backup(data_dir, &mut file)
            .await
            .context("online backup through the server's admin socket")?;
        if online.is_none() {
            // Opening a missing dir would create an empty store and back
            // that up: a typo must not yield an empty, valid backup.
            anyhow::ensure!(
                data_dir.join("db").exists(),
                "{} is not an Easel data dir (no server answers on its admin socket and it holds no database)",
                data_dir.display()
            );
            let store = easel::open_store(data_dir).await?;
            let hub = easel_hub::Hub::new(store.clone(), easel_hub::HubConfig::default());
            let conferences = easel_conferences::Conferences::new(store.clone(), hub.clone());
            let mut out = tokio::io::BufWriter::new(&mut file);
            let written = easel_conferences::backup::write(&conferences, &store, &mut out).await;
            drop(out);
            hub.shutdown().await;
            written?;
        }
        file.sync_all().await?;
        drop(file);
        let summary = easel_conferences::backup::verify(&partial)
            .await
            .context("the backup did not verify")?;
        tokio::fs::rename(&partial, output)
            .await
            .with_context(|| format!("renaming to {}", output.display()))?;
        anyhow::Ok(summary)
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&partial).await;
    }
    result
}

/// Rebuilds the search index: by the running server, else here.
async fn reindex(data_dir: &std::path::Path) -> anyhow::Result<(usize, &'static str)> {
    if let Some(n) = easel::admin::request_reindex(data_dir)
        .await
        .context("reindex through the server's admin socket")?
    {
        return Ok((n, "by the running server"));
    }
    anyhow::ensure!(
        data_dir.join("db").exists(),
        "{} is not an Easel data dir (no server answers on its admin socket and it holds no database)",
        data_dir.display()
    );
    let opened = open_conferences(data_dir, None).await?;
    let result = async {
        let config = ServeConfig::for_data_dir(data_dir);
        let index = easel_search::SearchIndex::open(&config.search_dir())?;
        let records = easel_search::all_records(&opened.conferences).await?;
        index.replace_all(&records)?;
        index.close()?;
        anyhow::Ok(records.len())
    }
    .await;
    opened.close().await;
    Ok((result?, "offline"))
}

/// Removes a deleted conference from a stopped server's search index. (A
/// running cluster's nodes hear of the deletion and remove it themselves.)
fn unindex_conference(data_dir: &std::path::Path, conference: &str) -> anyhow::Result<()> {
    let config = ServeConfig::for_data_dir(data_dir);
    if !config.search_dir().exists() {
        return Ok(());
    }
    let index = easel_search::SearchIndex::open(&config.search_dir())?;
    index.apply(&[easel_search::Change::RemoveConference(
        conference.to_owned(),
    )])?;
    // Only a clean index stays clean: one that needed a rebuild still does.
    if !index.needs_rebuild() {
        index.close()?;
    }
    Ok(())
}

/// Renders a conference's proceedings from a data dir (server stopped).
async fn proceedings(
    data_dir: &std::path::Path,
    redis: Option<&str>,
    conference: &str,
    format: easel_proceedings::Format,
) -> anyhow::Result<Vec<u8>> {
    let opened = open_conferences(data_dir, redis).await?;
    let result =
        easel_conferences::proceedings::render_proceedings(&opened.conferences, conference, format)
            .await;
    opened.close().await;
    Ok(result?.1)
}

/// Conferences for a command that runs beside (or instead of) a server.
struct Opened {
    conferences: easel_conferences::Conferences,
    hub: easel_hub::Hub,
    /// The store a `--redis` command opened for itself; removed on close.
    scratch: Option<std::path::PathBuf>,
}

impl Opened {
    async fn close(self) {
        self.hub.shutdown().await;
        if let Some(scratch) = self.scratch {
            let _ = std::fs::remove_dir_all(scratch);
        }
    }
}

/// A stopped server's data dir, or with `redis` a running cluster's
/// conferences and charts.
async fn open_conferences(
    data_dir: &std::path::Path,
    redis: Option<&str>,
) -> anyhow::Result<Opened> {
    let Some(url) = redis else {
        let store = easel::open_store(data_dir).await?;
        let hub = easel_hub::Hub::new(store.clone(), easel_hub::HubConfig::default());
        return Ok(Opened {
            conferences: easel_conferences::Conferences::new(store, hub.clone()),
            hub,
            scratch: None,
        });
    };
    let mut config = ServeConfig::for_data_dir(data_dir);
    config.redis = Some(url.to_owned());
    let cluster = config.cluster_config().context("--redis is set")?;
    let log = easel_cluster::RedisLog::connect(cluster).await?;
    let meta = log.metadata().await?;
    // The hub needs a store for what a node keeps locally; this process
    // keeps nothing, so a scratch dir serves and goes.
    let scratch = std::env::temp_dir().join(format!("easel-cli-{}", std::process::id()));
    let store = easel::open_store(&scratch).await?;
    let hub = easel_hub::Hub::with_shared_log(store, config.hub_config(), log);
    Ok(Opened {
        conferences: easel_conferences::Conferences::with_meta(meta, hub.clone()),
        hub,
        scratch: Some(scratch),
    })
}

async fn conference(cmd: ConferenceCommand) -> anyhow::Result<Vec<String>> {
    let dir = match &cmd {
        ConferenceCommand::Create { dir, .. }
        | ConferenceCommand::Link { dir, .. }
        | ConferenceCommand::List { dir }
        | ConferenceCommand::Delete { dir, .. } => dir,
    };
    let opened = open_conferences(&dir.data_dir, dir.redis.as_deref()).await?;
    let conferences = &opened.conferences;
    let base = dir.public_url.trim_end_matches('/').to_owned();
    // Every way out closes the hub and removes a scratch store.
    let result = async {
        match &cmd {
            ConferenceCommand::Create {
                name,
                tz,
                start,
                end,
                ..
            } => {
                let zone = easel_agenda::Zone::parse(tz)?;
                let start = start.unwrap_or_else(|| {
                    jiff::Timestamp::now()
                        .to_zoned(zone.time_zone().clone())
                        .date()
                });
                let conf = easel_agenda::Conference::new(
                    easel::access::new_id("conf-"),
                    name,
                    zone.name(),
                    start,
                    end.unwrap_or(start),
                )?;
                easel::demo::create_conference(conferences, &base, conf).await
            }
            ConferenceCommand::Link {
                conference,
                role,
                label,
                ..
            } => {
                let role = match role.as_str() {
                    "organizer" => easel::access::Role::Organizer,
                    "edit" => easel::access::Role::Edit,
                    "read" => easel::access::Role::Read,
                    other => anyhow::bail!("unknown role {other:?}: use organizer, edit or read"),
                };
                easel::demo::mint_link(conferences, &base, conference, role, label).await
            }
            ConferenceCommand::Delete { conference, .. } => {
                let d = conferences
                    .delete(conference)
                    .await
                    .with_context(|| format!("deleting conference {conference}"))?;
                if dir.redis.is_none() {
                    unindex_conference(&dir.data_dir, conference)
                        .context("removing the conference from the search index")?;
                }
                Ok(vec![format!(
                    "deleted conference {conference}: {} charts, {} links",
                    d.charts, d.links
                )])
            }
            ConferenceCommand::List { .. } => {
                let mut lines = Vec::new();
                for id in conferences.list_ids().await? {
                    let c = conferences.load(&id).await?;
                    lines.push(format!("{id}\t{}", c.conference.name()));
                }
                Ok(lines)
            }
        }
    }
    .await;
    opened.close().await;
    result
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    // The one line a newcomer (and the integration tests) look for.
    #[allow(clippy::print_stdout)]
    {
        println!("Easel listening on http://{addr}");
    }
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        signal.cancel();
    });
    // After the banner: the demo conference's links, or a hint.
    #[allow(clippy::print_stdout)]
    let notice = |lines: &[String]| {
        for line in lines {
            println!("{line}");
        }
    };
    easel::run_with_notice(config, listener, shutdown, notice).await
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("EASEL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
