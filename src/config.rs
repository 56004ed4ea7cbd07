//! Typed settings: every one has a default in code and an `ACCESS_*`
//! environment override (and a command-line flag).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use clap::{Args, Parser, Subcommand};

use crate::grpc::middleware::ApiKeys;

/// Default listen address: loopback, so a plain `cargo run` exposes nothing.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:50051";
/// Default database: an embedded SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://access-service.db?mode=rwc";
/// Default invitation lifetime: 72 hours.
pub const DEFAULT_INVITATION_TTL_SECS: u64 = 72 * 60 * 60;
/// Default largest connection pool.
pub const DEFAULT_DB_MAX_CONNECTIONS: u32 = 16;
/// Default wait for a pooled connection.
pub const DEFAULT_DB_ACQUIRE_TIMEOUT_MS: u64 = 3000;
/// Default most checks in one BatchAuthorize.
pub const DEFAULT_MAX_BATCH_CHECKS: usize = 100;
/// Largest ACCESS_MAX_BATCH_CHECKS: the facts of a batch are read in one
/// statement (one consistent snapshot) of at most this many pairs.
pub const MAX_BATCH_CHECKS_LIMIT: usize = 128;
/// Default per-request time limit.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 5000;
/// Default process-wide concurrent requests.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 1024;
/// Default Redis namespace (prefix of every key and channel).
pub const DEFAULT_REDIS_NAMESPACE: &str = "access";
/// Default bound of the in-process cache: 256 MiB.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// Default longest life of a cached entry (a safety net only).
pub const DEFAULT_CACHE_TTL_SECS: u64 = 600;
/// Default replica lease term.
pub const DEFAULT_CACHE_LEASE_MS: u64 = 1000;
/// Default wait for acknowledgements before a write revokes leases.
pub const DEFAULT_CACHE_ACK_TIMEOUT_MS: u64 = 250;
/// Default name of the change stream (the Redis key is `<namespace>:{<name>}`).
pub const DEFAULT_CHANGE_STREAM: &str = "changes";
/// Default cap of the change stream: about this many newest changes are kept.
pub const DEFAULT_CHANGE_STREAM_MAX_LEN: u64 = 100_000;
/// Default pause of the change publisher and WatchChanges once caught up.
pub const DEFAULT_CHANGE_POLL_MS: u64 = 200;
/// Default log filter.
pub const DEFAULT_LOG_FILTER: &str = "info";
/// Default pause between turning health NOT_SERVING and closing the
/// listener on SIGTERM: none outside Kubernetes (the chart sets one).
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 0;
/// Default longest wait for in-flight requests once the listener is closed.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 20;

/// `access-service [serve|migrate]`.
#[derive(Debug, Parser)]
#[command(
    name = "access-service",
    version,
    about = "Who may do what in a multi-user email-marketing account, over gRPC"
)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every command.
    #[command(flatten)]
    pub config: Config,
}

/// The binary's subcommands.
#[derive(Clone, Copy, Debug, Subcommand)]
pub enum Command {
    /// Serve the gRPC API (the default).
    Serve,
    /// Apply database migrations and seed the built-in roles, then exit.
    Migrate,
}

/// Every setting of the service.
#[derive(Clone, Args)]
pub struct Config {
    /// Address the gRPC server listens on (port 0 picks a free port).
    #[arg(long, env = "ACCESS_LISTEN_ADDR", default_value = DEFAULT_LISTEN_ADDR)]
    pub listen_addr: SocketAddr,
    /// Database URL: mysql://user:pass@host:3306/db or sqlite://file.db?mode=rwc.
    #[arg(long, env = "ACCESS_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// Largest database connection pool (MySQL; SQLite always uses one connection).
    #[arg(long, env = "ACCESS_DB_MAX_CONNECTIONS", default_value_t = DEFAULT_DB_MAX_CONNECTIONS)]
    pub db_max_connections: u32,
    /// How long a request waits for a database connection before UNAVAILABLE, in milliseconds.
    #[arg(long, env = "ACCESS_DB_ACQUIRE_TIMEOUT_MS", default_value_t = DEFAULT_DB_ACQUIRE_TIMEOUT_MS)]
    pub db_acquire_timeout_ms: u64,
    /// Apply migrations at start-up (turn off when a deployment job migrates).
    #[arg(long, env = "ACCESS_AUTO_MIGRATE", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_migrate: bool,
    /// How long an invitation token stays valid, in seconds.
    #[arg(long, env = "ACCESS_INVITATION_TTL_SECS", default_value_t = DEFAULT_INVITATION_TTL_SECS)]
    pub invitation_ttl_secs: u64,
    /// Most checks one BatchAuthorize call may carry.
    #[arg(long, env = "ACCESS_MAX_BATCH_CHECKS", default_value_t = DEFAULT_MAX_BATCH_CHECKS)]
    pub max_batch_checks: usize,
    /// Time limit of one request, in milliseconds (DEADLINE_EXCEEDED past it).
    #[arg(long, env = "ACCESS_REQUEST_TIMEOUT_MS", default_value_t = DEFAULT_REQUEST_TIMEOUT_MS)]
    pub request_timeout_ms: u64,
    /// Requests served at once, process-wide; more are refused with UNAVAILABLE.
    #[arg(long, env = "ACCESS_MAX_CONCURRENT_REQUESTS", default_value_t = DEFAULT_MAX_CONCURRENT_REQUESTS)]
    pub max_concurrent_requests: usize,
    /// Redis shared by every replica (redis://host:6379); unset: one replica,
    /// in-process cache only.
    #[arg(long, env = "ACCESS_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so deployments can share a Redis.
    #[arg(long, env = "ACCESS_REDIS_NAMESPACE", default_value = DEFAULT_REDIS_NAMESPACE)]
    pub redis_namespace: String,
    /// Most memory the in-process cache uses, in bytes (estimated); 0 turns it off.
    #[arg(long, env = "ACCESS_CACHE_MAX_BYTES", default_value_t = DEFAULT_CACHE_MAX_BYTES)]
    pub cache_max_bytes: u64,
    /// Longest life of a cached entry, in seconds: a safety net, freshness does not rely on it.
    #[arg(long, env = "ACCESS_CACHE_TTL_SECS", default_value_t = DEFAULT_CACHE_TTL_SECS)]
    pub cache_ttl_secs: u64,
    /// Replica lease term, in milliseconds: the longest a write waits for a
    /// replica that does not answer (or when Redis is down).
    #[arg(long, env = "ACCESS_CACHE_LEASE_MS", default_value_t = DEFAULT_CACHE_LEASE_MS)]
    pub cache_lease_ms: u64,
    /// How long a write waits for acknowledgements before revoking the leases of late replicas, in ms.
    #[arg(long, env = "ACCESS_CACHE_ACK_TIMEOUT_MS", default_value_t = DEFAULT_CACHE_ACK_TIMEOUT_MS)]
    pub cache_ack_timeout_ms: u64,
    /// Name of the Redis Stream committed changes are published to (with
    /// ACCESS_REDIS_URL; the key is `<namespace>:{<name>}`); empty: publish nothing.
    #[arg(long, env = "ACCESS_CHANGE_STREAM", default_value = DEFAULT_CHANGE_STREAM)]
    pub change_stream: String,
    /// About how many newest changes the stream keeps (XADD MAXLEN ~).
    #[arg(long, env = "ACCESS_CHANGE_STREAM_MAX_LEN", default_value_t = DEFAULT_CHANGE_STREAM_MAX_LEN)]
    pub change_stream_max_len: u64,
    /// How often, in ms, the publisher and a caught-up WatchChanges look for new changes.
    #[arg(long, env = "ACCESS_CHANGE_POLL_MS", default_value_t = DEFAULT_CHANGE_POLL_MS)]
    pub change_poll_ms: u64,
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `access_service=debug`.
    #[arg(long, env = "ACCESS_LOG", default_value = DEFAULT_LOG_FILTER)]
    pub log_filter: String,
    /// The API keys callers must present, as `name:scope+scope:sha256hex`
    /// entries separated by commas or new lines (see the README). Unset (and
    /// no file): authentication is off, allowed on a loopback address only.
    #[arg(
        long,
        env = "ACCESS_API_KEYS",
        hide_env_values = true,
        conflicts_with = "api_keys_file"
    )]
    pub api_keys: Option<String>,
    /// A file holding the API keys in the same format (a mounted Secret).
    #[arg(long, env = "ACCESS_API_KEYS_FILE")]
    pub api_keys_file: Option<PathBuf>,
    /// Log line format: `text` (coloured only on a terminal) or `json` (one
    /// object a line, with the trace and span ids).
    #[arg(long, env = "ACCESS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Address of the Prometheus metrics endpoint (HTTP, GET /metrics); unset: no endpoint.
    #[arg(long, env = "ACCESS_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// On SIGTERM, seconds between health turning NOT_SERVING and the
    /// listener closing, so load balancers stop routing here first.
    #[arg(long, env = "ACCESS_SHUTDOWN_GRACE_SECS", default_value_t = DEFAULT_SHUTDOWN_GRACE_SECS)]
    pub shutdown_grace_secs: u64,
    /// On SIGTERM, seconds in-flight requests get to finish once the listener
    /// is closed; past it they are answered UNAVAILABLE and the server stops.
    #[arg(long, env = "ACCESS_SHUTDOWN_TIMEOUT_SECS", default_value_t = DEFAULT_SHUTDOWN_TIMEOUT_SECS)]
    pub shutdown_timeout_secs: u64,
}

/// How log lines are written (ACCESS_LOG_FORMAT).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines; ANSI colours only when stdout is a terminal.
    #[default]
    Text,
    /// One JSON object a line, with the OpenTelemetry trace and span ids of
    /// the current span, for log pipelines that join logs to traces.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        // Built from the same constants as the flags, without reading the
        // environment: tests set their configuration explicitly.
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            db_max_connections: DEFAULT_DB_MAX_CONNECTIONS,
            db_acquire_timeout_ms: DEFAULT_DB_ACQUIRE_TIMEOUT_MS,
            auto_migrate: true,
            invitation_ttl_secs: DEFAULT_INVITATION_TTL_SECS,
            max_batch_checks: DEFAULT_MAX_BATCH_CHECKS,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            redis_url: None,
            redis_namespace: DEFAULT_REDIS_NAMESPACE.to_owned(),
            cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
            cache_ttl_secs: DEFAULT_CACHE_TTL_SECS,
            cache_lease_ms: DEFAULT_CACHE_LEASE_MS,
            cache_ack_timeout_ms: DEFAULT_CACHE_ACK_TIMEOUT_MS,
            change_stream: DEFAULT_CHANGE_STREAM.to_owned(),
            change_stream_max_len: DEFAULT_CHANGE_STREAM_MAX_LEN,
            change_poll_ms: DEFAULT_CHANGE_POLL_MS,
            log_filter: DEFAULT_LOG_FILTER.to_owned(),
            log_format: LogFormat::Text,
            api_keys: None,
            api_keys_file: None,
            metrics_addr: None,
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS,
            shutdown_timeout_secs: DEFAULT_SHUTDOWN_TIMEOUT_SECS,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen_addr", &self.listen_addr)
            .field("database_url", &redact_url(&self.database_url))
            .field("db_max_connections", &self.db_max_connections)
            .field("auto_migrate", &self.auto_migrate)
            .field("invitation_ttl_secs", &self.invitation_ttl_secs)
            .field("max_batch_checks", &self.max_batch_checks)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redis_namespace", &self.redis_namespace)
            .field("cache_max_bytes", &self.cache_max_bytes)
            .field("cache_lease_ms", &self.cache_lease_ms)
            .field("change_stream", &self.change_stream)
            .field("change_stream_max_len", &self.change_stream_max_len)
            .field("change_poll_ms", &self.change_poll_ms)
            // Hashes only, but still nobody's business in a log.
            .field("api_keys", &self.api_keys.as_ref().map(|_| "<set>"))
            .field("api_keys_file", &self.api_keys_file)
            .field("metrics_addr", &self.metrics_addr)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("shutdown_timeout_secs", &self.shutdown_timeout_secs)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Refuses settings that would make the service refuse everything.
    pub fn validate(&self) -> anyhow::Result<()> {
        let positive = [
            ("ACCESS_DB_MAX_CONNECTIONS", self.db_max_connections as u64),
            ("ACCESS_INVITATION_TTL_SECS", self.invitation_ttl_secs),
            ("ACCESS_MAX_BATCH_CHECKS", self.max_batch_checks as u64),
            ("ACCESS_REQUEST_TIMEOUT_MS", self.request_timeout_ms),
            (
                "ACCESS_MAX_CONCURRENT_REQUESTS",
                self.max_concurrent_requests as u64,
            ),
            ("ACCESS_CACHE_TTL_SECS", self.cache_ttl_secs),
            ("ACCESS_CACHE_LEASE_MS", self.cache_lease_ms),
            ("ACCESS_CACHE_ACK_TIMEOUT_MS", self.cache_ack_timeout_ms),
            ("ACCESS_CHANGE_STREAM_MAX_LEN", self.change_stream_max_len),
            ("ACCESS_CHANGE_POLL_MS", self.change_poll_ms),
        ];
        for (name, value) in positive {
            anyhow::ensure!(value > 0, "{name} must be greater than 0");
        }
        // The name becomes the stream key's hash tag: braces would break it.
        anyhow::ensure!(
            !self
                .change_stream
                .chars()
                .any(|c| c == '{' || c == '}' || c.is_whitespace() || c.is_control()),
            "ACCESS_CHANGE_STREAM must not contain braces, spaces or control characters"
        );
        // A batch's facts are one statement, one snapshot, up to this many checks.
        anyhow::ensure!(
            self.max_batch_checks <= MAX_BATCH_CHECKS_LIMIT,
            "ACCESS_MAX_BATCH_CHECKS must be at most {MAX_BATCH_CHECKS_LIMIT}"
        );
        Ok(())
    }

    /// The configured API keys (from ACCESS_API_KEYS or the file
    /// ACCESS_API_KEYS_FILE names), refusing a malformed entry, and a key
    /// set that would leave a non-loopback listener open to anyone.
    pub fn api_keys(&self) -> anyhow::Result<ApiKeys> {
        let keys = match (&self.api_keys, &self.api_keys_file) {
            (Some(_), Some(_)) => {
                anyhow::bail!("set ACCESS_API_KEYS or ACCESS_API_KEYS_FILE, not both")
            }
            (Some(text), None) => ApiKeys::parse(text).context("bad ACCESS_API_KEYS")?,
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read ACCESS_API_KEYS_FILE {}", path.display()))?;
                let keys = ApiKeys::parse(&text)
                    .with_context(|| format!("bad ACCESS_API_KEYS_FILE {}", path.display()))?;
                // A file was named for a reason: an empty one is a mistake, not "no auth".
                anyhow::ensure!(
                    !keys.is_empty(),
                    "ACCESS_API_KEYS_FILE {} holds no key",
                    path.display()
                );
                keys
            }
            (None, None) => ApiKeys::default(),
        };
        anyhow::ensure!(
            !keys.is_empty() || self.listen_addr.ip().is_loopback(),
            "no API key is configured (ACCESS_API_KEYS or ACCESS_API_KEYS_FILE), so callers would not be \
             authenticated: refusing to listen on {}, which is not a loopback address. Configure keys \
             (see the README), or listen on 127.0.0.1 or [::1]",
            self.listen_addr
        );
        Ok(keys)
    }

    /// The invitation lifetime.
    pub fn invitation_ttl(&self) -> Duration {
        Duration::from_secs(self.invitation_ttl_secs)
    }

    /// The per-request time limit.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// How the cache layers are sized and timed.
    pub fn cache_settings(&self) -> crate::cache::CacheSettings {
        crate::cache::CacheSettings {
            local_max_bytes: self.cache_max_bytes,
            ttl: Duration::from_secs(self.cache_ttl_secs),
            leases: crate::cache::LeaseSettings {
                term: Duration::from_millis(self.cache_lease_ms),
                ack_timeout: Duration::from_millis(self.cache_ack_timeout_ms),
            },
            namespace: self.redis_namespace.clone(),
        }
    }

    /// How often the publisher and a caught-up WatchChanges read the log again.
    pub fn change_poll(&self) -> Duration {
        Duration::from_millis(self.change_poll_ms)
    }

    /// The change stream's settings, when changes are published (Redis is
    /// configured and the stream has a name).
    pub fn change_publisher(&self) -> Option<crate::changes::PublisherSettings> {
        (self.redis_url.is_some() && !self.change_stream.is_empty()).then(|| {
            crate::changes::PublisherSettings {
                stream: self.change_stream.clone(),
                max_len: self.change_stream_max_len,
                poll: self.change_poll(),
                batch: 500,
            }
        })
    }

    /// The shutdown sequence's timings.
    pub fn shutdown_settings(&self) -> crate::shutdown::ShutdownSettings {
        crate::shutdown::ShutdownSettings {
            grace: Duration::from_secs(self.shutdown_grace_secs),
            timeout: Duration::from_secs(self.shutdown_timeout_secs),
        }
    }

    /// How long to wait for a pooled connection.
    pub fn db_acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.db_acquire_timeout_ms)
    }
}

/// The URL with any password replaced, safe to log.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***@{}", &url[..scheme_end], &url[at + 1..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_code() {
        let config = Config::default();
        assert_eq!(config.listen_addr.to_string(), DEFAULT_LISTEN_ADDR);
        assert_eq!(config.invitation_ttl(), Duration::from_secs(72 * 3600));
        assert!(config.auto_migrate);
    }

    #[test]
    fn zero_limits_are_refused_at_start_up() {
        assert!(Config::default().validate().is_ok());
        let config = Config {
            max_concurrent_requests: 0,
            ..Config::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("ACCESS_MAX_CONCURRENT_REQUESTS"), "{err}");
    }

    #[test]
    fn the_change_stream_name_keeps_its_hash_tag_whole() {
        for bad in ["a}b", "{x", "two words"] {
            let config = Config {
                change_stream: bad.to_owned(),
                ..Config::default()
            };
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains("ACCESS_CHANGE_STREAM"), "{bad}: {err}");
        }
        // Published only with Redis, and not when the name is empty.
        assert!(Config::default().change_publisher().is_none());
        let with_redis = Config {
            redis_url: Some("redis://127.0.0.1:6379".to_owned()),
            ..Config::default()
        };
        assert_eq!(
            with_redis.change_publisher().map(|p| p.stream),
            Some(DEFAULT_CHANGE_STREAM.to_owned())
        );
        let unnamed = Config {
            change_stream: String::new(),
            ..with_redis
        };
        assert!(unnamed.validate().is_ok() && unnamed.change_publisher().is_none());
    }

    #[test]
    fn log_format_is_text_unless_json_is_asked_for() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|cli| cli.config.log_format);
        assert_eq!(Config::default().log_format, LogFormat::Text);
        assert_eq!(
            parse(&["access-service", "--log-format", "json"]).ok(),
            Some(LogFormat::Json)
        );
        assert!(parse(&["access-service", "--log-format", "yaml"]).is_err());
    }

    #[test]
    fn without_keys_only_loopback_may_listen() {
        for addr in ["127.0.0.1:0", "[::1]:50051"] {
            let config = Config {
                listen_addr: addr.parse().unwrap(),
                ..Config::default()
            };
            assert!(config.api_keys().unwrap().is_empty(), "{addr}");
        }
        for addr in ["0.0.0.0:50051", "[::]:50051", "10.1.2.3:50051"] {
            let config = Config {
                listen_addr: addr.parse().unwrap(),
                ..Config::default()
            };
            let err = config.api_keys().unwrap_err().to_string();
            assert!(err.contains("no API key") && err.contains(addr), "{err}");
            let config = Config {
                api_keys: Some(format!("web:admin:{}", ApiKeys::hash_of("k"))),
                ..config
            };
            assert_eq!(config.api_keys().unwrap().len(), 1, "{addr} with a key");
        }
    }

    #[test]
    fn keys_come_from_one_place() {
        let line = format!("web:admin:{}", ApiKeys::hash_of("k"));
        let path = std::env::temp_dir().join(format!("access-keys-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, format!("# rotated 2026-11\n{line}\n")).unwrap();
        let from_file = Config {
            api_keys_file: Some(path.clone()),
            ..Config::default()
        };
        assert_eq!(from_file.api_keys().unwrap().len(), 1);
        let both = Config {
            api_keys: Some(line),
            ..from_file.clone()
        };
        assert!(both.api_keys().unwrap_err().to_string().contains("not both"));
        std::fs::write(&path, "# nothing yet\n").unwrap();
        let err = from_file.api_keys().unwrap_err().to_string();
        assert!(err.contains("holds no key"), "{err}");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact_url("mysql://app:s3cret@db:3306/access"),
            "mysql://app:***@db:3306/access"
        );
        assert_eq!(redact_url("sqlite://x.db?mode=rwc"), "sqlite://x.db?mode=rwc");
    }
}
