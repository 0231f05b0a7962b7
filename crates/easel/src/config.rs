//! Settings for `easel serve`: every one a flag with an `EASEL_` env twin and
//! a default, shown in `--help` and listed in `docs/config.md`. The struct is
//! passed down explicitly; nothing reads the environment later.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use easel_hub::HubConfig;

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on (HTTP, WebSocket and the web client).
    #[arg(long, env = "EASEL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory of the embedded sled store. Created if missing.
    #[arg(long, env = "EASEL_DATA_DIR", default_value = "./easel-data")]
    pub data_dir: PathBuf,

    /// Largest inbound WebSocket message, in bytes.
    #[arg(long, env = "EASEL_MAX_FRAME_BYTES", default_value_t = 1024 * 1024)]
    pub max_frame_bytes: usize,

    /// Largest stored size of one chart (snapshot + log), in bytes.
    #[arg(long, env = "EASEL_MAX_CHART_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_chart_bytes: usize,

    /// Board: stickies per chart kept in exports (the first in id order).
    #[arg(long, env = "EASEL_MAX_BOARD_STICKIES", default_value_t = 500)]
    pub max_board_stickies: usize,

    /// Board: characters of a sticky's text kept in exports.
    #[arg(long, env = "EASEL_MAX_STICKY_CHARS", default_value_t = 2000)]
    pub max_sticky_chars: usize,

    /// Board: ink strokes per chart kept in exports (the first in id order).
    #[arg(long, env = "EASEL_MAX_BOARD_STROKES", default_value_t = 2000)]
    pub max_board_strokes: usize,

    /// Board: points of one stroke kept in exports.
    #[arg(long, env = "EASEL_MAX_STROKE_POINTS", default_value_t = 10_000)]
    pub max_stroke_points: usize,

    /// Board: points over all strokes of a chart kept in exports.
    #[arg(long, env = "EASEL_MAX_BOARD_POINTS", default_value_t = 200_000)]
    pub max_board_points: usize,

    /// Board: arrows per chart kept in exports (the first in id order).
    #[arg(long, env = "EASEL_MAX_BOARD_ARROWS", default_value_t = 1000)]
    pub max_board_arrows: usize,

    /// Board: characters of an author name kept in exports.
    #[arg(long, env = "EASEL_MAX_BOARD_AUTHOR_CHARS", default_value_t = 100)]
    pub max_board_author_chars: usize,

    /// Messages queued for one connection before it is closed as too slow (1013).
    #[arg(long, env = "EASEL_OUTBOUND_QUEUE", default_value_t = 512)]
    pub outbound_queue: usize,

    /// Connections one chart accepts at once.
    #[arg(long, env = "EASEL_MAX_CLIENTS_PER_CHART", default_value_t = 1000)]
    pub max_clients_per_chart: usize,

    /// Seconds a chart with no connections stays in memory.
    #[arg(long, env = "EASEL_IDLE_UNLOAD_SECS", default_value_t = 60)]
    pub idle_unload_secs: u64,

    /// Seconds after which an unrenewed presence (awareness) state is removed.
    #[arg(long, env = "EASEL_AWARENESS_TIMEOUT_SECS", default_value_t = 30)]
    pub awareness_timeout_secs: u64,

    /// Largest JSON state of one awareness entry, in bytes.
    #[arg(long, env = "EASEL_MAX_AWARENESS_BYTES", default_value_t = 8 * 1024)]
    pub max_awareness_bytes: usize,

    /// Protocol errors tolerated on one connection before it is closed (1002).
    #[arg(long, env = "EASEL_MAX_PROTOCOL_ERRORS", default_value_t = 16)]
    pub max_protocol_errors: u32,

    /// Log entries after which a chart is compacted into one snapshot (each
    /// chart adds up to a quarter, fixed per chart id, to spread the work).
    #[arg(long, env = "EASEL_COMPACT_AFTER_UPDATES", default_value_t = 2000)]
    pub compact_after_updates: u64,

    /// Seconds between WebSocket pings; a peer silent for two intervals is dropped.
    #[arg(long, env = "EASEL_PING_INTERVAL_SECS", default_value_t = 20)]
    pub ping_interval_secs: u64,

    /// Threads that run the chart actors (CRDT work and commits), apart from
    /// the connections. 0: they share the connections' threads. Default: a
    /// quarter of the CPUs, at least one.
    #[arg(long, env = "EASEL_CHART_THREADS", default_value_t = default_chart_threads())]
    pub chart_threads: usize,

    /// Directory of the built web client, served at `/`.
    #[arg(long, env = "EASEL_WEB_DIR", default_value = "web-client/dist")]
    pub web_dir: PathBuf,

    /// Origins allowed to open WebSockets, comma-separated; `scheme://host:*`
    /// matches any port. Requests without `Origin` (non-browser clients) and
    /// same-origin requests (matching the `Host` header) are always allowed.
    /// Unset: `http://localhost:*`, `http://127.0.0.1:*`, `http://[::1]:*`.
    #[arg(long, env = "EASEL_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Base URL put into printed and returned links, e.g.
    /// `https://easel.example.org`. Unset: `http://` + the request's `Host`
    /// (or the listen address at startup).
    #[arg(long, env = "EASEL_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Largest REST API request body, in bytes (413 beyond).
    #[arg(long, env = "EASEL_MAX_API_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_api_body_bytes: usize,

    /// Sections a conference's report template may have.
    #[arg(long, env = "EASEL_MAX_TEMPLATE_SECTIONS", default_value_t = 50)]
    pub max_template_sections: usize,

    /// Characters a report template section's heading may have.
    #[arg(long, env = "EASEL_MAX_TEMPLATE_HEADING_CHARS", default_value_t = 200)]
    pub max_template_heading_chars: usize,

    /// Longest search query, in bytes (400 beyond).
    #[arg(long, env = "EASEL_MAX_SEARCH_QUERY_BYTES", default_value_t = 500)]
    pub max_search_query_bytes: usize,

    /// Most hits one search answers with (a request's `limit` is capped to it).
    #[arg(long, env = "EASEL_MAX_SEARCH_HITS", default_value_t = 50)]
    pub max_search_hits: usize,

    /// Milliseconds from a chart's first unindexed edit until search sees it
    /// (the indexer reads a chart at most once per this window).
    #[arg(long, env = "EASEL_SEARCH_DEBOUNCE_MS", default_value_t = 500)]
    pub search_debounce_ms: u64,

    /// Failed token checks allowed per client address per minute (burst of
    /// the same size); past it, requests carrying a token get 429. 0: off.
    #[arg(long, env = "EASEL_AUTH_FAILURES_PER_MINUTE", default_value_t = 30)]
    pub auth_failures_per_minute: u32,

    /// WebSocket upgrades and event-stream subscriptions allowed per client
    /// address per minute (burst of the same size; a venue behind one NAT
    /// address needs a high value). 0: off.
    #[arg(long, env = "EASEL_CONNECTIONS_PER_MINUTE", default_value_t = 600)]
    pub connections_per_minute: u32,

    /// Conferences one client address may create per minute (the only
    /// write that needs no token). 0: off.
    #[arg(
        long,
        env = "EASEL_CONFERENCE_CREATES_PER_MINUTE",
        default_value_t = 10
    )]
    pub conference_creates_per_minute: u32,

    /// Largest number of dots an organizer may give each voter.
    #[arg(long, env = "EASEL_MAX_DOTS", default_value_t = 50)]
    pub max_dots: u32,

    /// Most names one bulk request may mint personal links for.
    #[arg(long, env = "EASEL_MAX_VOTER_NAMES", default_value_t = 2000)]
    pub max_voter_names: usize,

    /// Largest request body of a bulk personal links request, in bytes
    /// (413 beyond).
    #[arg(long, env = "EASEL_MAX_VOTER_NAMES_BYTES", default_value_t = 1024 * 1024)]
    pub max_voter_names_bytes: usize,

    /// Do not create the "Demo Open Space" conference when the data dir
    /// has none.
    #[arg(long, env = "EASEL_NO_DEMO", default_value_t = false)]
    pub no_demo: bool,

    /// fdatasync the commit journal after each group commit (and sled's log
    /// file after each checkpoint), so edits clients were shown survive a
    /// power loss too, not only a process crash. `--fsync false` makes a
    /// commit a plain write; see docs/durability.md.
    #[arg(long, env = "EASEL_FSYNC", default_value_t = true, action = clap::ArgAction::Set)]
    pub fsync: bool,

    /// Log as JSON lines instead of human-readable text.
    #[arg(long, env = "EASEL_LOG_JSON", default_value_t = false)]
    pub log_json: bool,

    /// Failed token checks one client address may make in a burst before
    /// it gets 429 (the bucket then refills at
    /// `--auth-failures-per-minute`). 0: the same as the per-minute rate.
    #[arg(long, env = "EASEL_AUTH_FAILURE_BURST", default_value_t = 0)]
    pub auth_failure_burst: u32,

    /// Versions kept per chart (round ends, finalize, restores, "Save
    /// version"). When full, the oldest automatic version goes; a version
    /// someone saved by hand goes only when nothing else is left.
    #[arg(long, env = "EASEL_MAX_VERSIONS_PER_CHART", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_versions_per_chart: u32,

    /// How long after a round ends its charts' versions are taken, so the
    /// last sentences typed as people leave are in them (units s, m, h, d).
    #[arg(long, env = "EASEL_ROUND_END_VERSION_GRACE", default_value = "2m", value_parser = parse_duration)]
    pub round_end_version_grace: Duration,

    /// Retention: delete a conference with all its charts and links this
    /// long after its proceedings were made public, e.g. `90d`, `12h`
    /// (units s, m, h, d). Unset: never delete automatically.
    #[arg(long, env = "EASEL_DELETE_PUBLISHED_AFTER", value_parser = parse_duration)]
    pub delete_published_after: Option<Duration>,

    /// The organizer dashboard marks a session overdue when it is not
    /// final this long after its round ended, e.g. `15m`, `1h` (units s,
    /// m, h, d).
    #[arg(long, env = "EASEL_OVERDUE_AFTER", value_parser = parse_duration, default_value = "15m")]
    pub overdue_after: Duration,

    /// Join a cluster: charts live in this Redis (`redis://HOST:PORT`),
    /// shared by every node started with the same URL. Redis must run with
    /// `appendonly yes` and `appendfsync always` (docs/scale-out.md).
    /// Unset: charts live in the local data dir.
    #[arg(long, env = "EASEL_REDIS")]
    pub redis: Option<String>,

    /// Milliseconds a Redis command may take before it counts as failed;
    /// a batch not confirmed in time is not shown and its writers resync.
    #[arg(long, env = "EASEL_REDIS_TIMEOUT_MS", default_value_t = 5000)]
    pub redis_timeout_ms: u64,

    /// Seconds a node may hold a chart's compaction lease in Redis.
    #[arg(long, env = "EASEL_REDIS_LEASE_SECS", default_value_t = 30)]
    pub redis_lease_secs: u64,

    /// Milliseconds a conference's edit lock in Redis outlives a node that
    /// died holding it (a live holder renews it); edits on other nodes wait
    /// up to twice this for it.
    #[arg(long, env = "EASEL_REDIS_LOCK_MS", default_value_t = 10_000)]
    pub redis_lock_ms: u64,

    /// Announcements between nodes (revocations, finalized charts, agenda
    /// changes) that Redis keeps, approximately; a node away for longer
    /// than this many announcements misses the oldest.
    #[arg(long, env = "EASEL_REDIS_EVENTS_MAX", default_value_t = 100_000)]
    pub redis_events_max: usize,

    /// Let webhooks go to loopback, private, link-local and other
    /// non-public addresses (a closed network, tests). Off: only public
    /// addresses, checked at registration and at every delivery
    /// (docs/security.md).
    #[arg(
        long,
        env = "EASEL_WEBHOOK_ALLOW_PRIVATE_TARGETS",
        default_value_t = false
    )]
    pub webhook_allow_private_targets: bool,

    /// Milliseconds a webhook delivery may take to resolve and connect.
    #[arg(long, env = "EASEL_WEBHOOK_CONNECT_TIMEOUT_MS", default_value_t = 3000)]
    pub webhook_connect_timeout_ms: u64,

    /// Milliseconds a webhook delivery may take in all, until the
    /// receiver's response headers; longer counts as a failed attempt.
    #[arg(long, env = "EASEL_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,

    /// Attempts per webhook delivery, the first included; then it is
    /// given up (and shown so in the delivery log).
    #[arg(long, env = "EASEL_WEBHOOK_MAX_ATTEMPTS", default_value_t = 10)]
    pub webhook_max_attempts: u32,

    /// Milliseconds before the second attempt of a failed delivery; each
    /// further wait doubles, up to `--webhook-retry-max-ms`, less a random
    /// part of up to half (jitter).
    #[arg(long, env = "EASEL_WEBHOOK_RETRY_BASE_MS", default_value_t = 10_000)]
    pub webhook_retry_base_ms: u64,

    /// Longest wait between two attempts of a delivery, in milliseconds.
    #[arg(long, env = "EASEL_WEBHOOK_RETRY_MAX_MS", default_value_t = 3_600_000)]
    pub webhook_retry_max_ms: u64,

    /// Webhook deliveries in flight at once (over all endpoints).
    #[arg(long, env = "EASEL_WEBHOOK_CONCURRENCY", default_value_t = 8)]
    pub webhook_concurrency: usize,

    /// Webhook endpoints one conference may register.
    #[arg(long, env = "EASEL_WEBHOOKS_PER_CONFERENCE", default_value_t = 10)]
    pub webhooks_per_conference: usize,

    /// Delivery attempts kept in each endpoint's delivery log.
    #[arg(long, env = "EASEL_WEBHOOK_HISTORY", default_value_t = 100)]
    pub webhook_history: usize,

    /// At most one `chart.updated` event per chart per this many
    /// milliseconds: the first change opens the window, one event at its
    /// end covers every change made in it.
    #[arg(
        long,
        env = "EASEL_WEBHOOK_CHART_DEBOUNCE_MS",
        default_value_t = 30_000
    )]
    pub webhook_chart_debounce_ms: u64,
}

/// Parses `90d`, `12h`, `30m`, `45s` (a whole number and one unit).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?}: add a unit: s, m, h or d (e.g. 90d)"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a whole number and a unit, e.g. 90d"))?;
    let secs = match unit.trim() {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?}; use s, m, h or d"
            ))
        }
    };
    match secs {
        None => Err(format!("{text:?}: too long")),
        // Zero would delete proceedings the moment they are published.
        Some(0) => Err(format!(
            "{text:?}: must be longer than 0; leave it unset to never delete"
        )),
        Some(secs) => Ok(Duration::from_secs(secs)),
    }
}

impl ServeConfig {
    /// Defaults for a given data dir, as tests and embedders want them.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            c: ServeConfig,
        }
        let mut c = Wrapper::parse_from(["easel"]).c;
        c.data_dir = data_dir.into();
        c
    }

    /// How to join the cluster, if `--redis` is set.
    pub fn cluster_config(&self) -> Option<easel_cluster::ClusterConfig> {
        Some(easel_cluster::ClusterConfig {
            url: self.redis.clone()?,
            timeout: Duration::from_millis(self.redis_timeout_ms.max(1)),
            lease: Duration::from_secs(self.redis_lease_secs.max(1)),
            meta_lock: Duration::from_millis(self.redis_lock_ms.max(1)),
            meta_events_max: self.redis_events_max,
        })
    }

    pub fn webhook_config(&self) -> easel_webhooks::Config {
        easel_webhooks::Config {
            policy: easel_webhooks::vet::TargetPolicy {
                allow_private: self.webhook_allow_private_targets,
            },
            connect_timeout: Duration::from_millis(self.webhook_connect_timeout_ms.max(1)),
            timeout: Duration::from_millis(self.webhook_timeout_ms.max(1)),
            max_attempts: self.webhook_max_attempts.max(1),
            retry_base: Duration::from_millis(self.webhook_retry_base_ms),
            retry_max: Duration::from_millis(self.webhook_retry_max_ms),
            concurrency: self.webhook_concurrency.max(1),
            history: self.webhook_history.max(1),
            chart_debounce: Duration::from_millis(self.webhook_chart_debounce_ms),
        }
    }

    /// Where the search index lives: `search/` in the data dir.
    pub fn search_dir(&self) -> PathBuf {
        self.data_dir.join("search")
    }

    pub fn search_config(&self) -> easel_search::SearchConfig {
        easel_search::SearchConfig {
            debounce: Duration::from_millis(self.search_debounce_ms),
            // A cluster node heard no other node's edits while it was down.
            rebuild_on_start: self.redis.is_some(),
        }
    }

    /// What exports keep of a chart's board.
    pub fn board_limits(&self) -> easel_chart::BoardLimits {
        easel_chart::BoardLimits {
            max_stickies: self.max_board_stickies,
            max_sticky_chars: self.max_sticky_chars,
            max_strokes: self.max_board_strokes,
            max_stroke_points: self.max_stroke_points,
            max_board_points: self.max_board_points,
            max_arrows: self.max_board_arrows,
            max_author_chars: self.max_board_author_chars,
        }
    }

    pub fn hub_config(&self) -> HubConfig {
        HubConfig {
            max_frame_bytes: self.max_frame_bytes,
            max_chart_bytes: self.max_chart_bytes,
            outbound_queue: self.outbound_queue,
            max_clients_per_chart: self.max_clients_per_chart,
            idle_unload: Duration::from_secs(self.idle_unload_secs),
            awareness_timeout: Duration::from_secs(self.awareness_timeout_secs),
            max_awareness_bytes: self.max_awareness_bytes,
            max_protocol_errors: self.max_protocol_errors,
            compact_after_updates: self.compact_after_updates,
            ping_interval: Duration::from_secs(self.ping_interval_secs.max(1)),
            chart_threads: self.chart_threads,
        }
    }
}

/// A quarter of the CPUs, at least one: chart work is a fraction of what the
/// connections cost (the sockets' system calls): at the saturation knee one
/// chart thread used 3.5 s of CPU in 12 s against 7.1 s for two connection
/// workers.
fn default_chart_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().div_ceil(4))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_duration(" 12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("90").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("3w").is_err());
        assert!(parse_duration("0d").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }
}
