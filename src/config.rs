//! Typed settings: every one has a default in code and an `ACCESS_*`
//! environment override (and a command-line flag).
//!
//! A leaf: it imports no other part of the service and builds nothing.
//! app.rs turns these values into each part's own settings type and hands
//! each part what it needs.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

pub use actors::{ActorConfig, ActorProofMode};
pub use cli::{Cli, Command, DevTokenArgs, HashKeyArgs, HealthArgs};
pub use email::EmailBounds;
pub use redis_security::RedisSecurityConfig;
pub use watch::WatchConfig;
pub use web::WebConfig;

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
/// Largest ACCESS_MAX_SCOPE_IDS: every resource type scoped to the most
/// ids one type may list.
pub const MAX_SCOPE_IDS_LIMIT: usize = 6 * 1000;
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
/// ACCESS_CACHE_ACK_TIMEOUT_MS is at most the lease term divided by this.
pub const CACHE_ACK_TIMEOUT_RATIO: u64 = 2;
/// Default name of the change stream (the Redis key is `<namespace>:{<name>}`).
pub const DEFAULT_CHANGE_STREAM: &str = "changes";
/// Default cap of the change stream: about this many newest changes are kept.
pub const DEFAULT_CHANGE_STREAM_MAX_LEN: u64 = 100_000;
/// Default pause of the change publisher and the watches' feed once caught up.
pub const DEFAULT_CHANGE_POLL_MS: u64 = 200;
/// Default log filter.
pub const DEFAULT_LOG_FILTER: &str = "info";
/// Default pause between turning health NOT_SERVING and closing the
/// listener on SIGTERM: none outside Kubernetes (the chart sets one).
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 0;
/// Default longest wait for in-flight requests once the listener is closed.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 20;
/// Default interval between looks at files read again when they change
/// (the TLS certificate and key, the API key file).
pub const DEFAULT_RELOAD_INTERVAL_MS: u64 = 5000;
/// Shortest API key accepted, in bytes: `openssl rand -hex 32` makes 64.
pub const DEFAULT_API_KEY_MIN_LENGTH: usize = 32;
/// Default time a client has to complete its TLS handshake.
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// Default most TLS handshakes in progress at once.
pub const DEFAULT_TLS_MAX_CONCURRENT_HANDSHAKES: usize = 256;
/// Default most HTTP/2 streams open at once on one connection (RFC 9113
/// recommends no fewer than 100).
pub const DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS: u32 = 100;
/// Default pause between the server's HTTP/2 PINGs on a connection.
pub const DEFAULT_HTTP2_KEEPALIVE_INTERVAL_MS: u64 = 30_000;
/// Default wait for a PING's acknowledgement before the connection is closed.
pub const DEFAULT_HTTP2_KEEPALIVE_TIMEOUT_MS: u64 = 10_000;
/// Default idle time before TCP keepalive probes, and between them.
pub const DEFAULT_TCP_KEEPALIVE_SECS: u64 = 60;
/// Default age at which a connection is asked to go away (GOAWAY), as
/// SpiceDB does, so clients spread over replicas the autoscaler adds.
pub const DEFAULT_MAX_CONNECTION_AGE_SECS: u64 = 30;
/// Default time a connection asked to go away has to finish its streams.
pub const DEFAULT_MAX_CONNECTION_AGE_GRACE_SECS: u64 = 10;
/// Default largest request message: 256 KiB (the largest valid Invite is
/// far smaller).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 256 * 1024;
/// Smallest ACCESS_MAX_REQUEST_BYTES accepted: below it, valid requests
/// (a BatchAuthorize of the largest size) would not fit.
pub const MIN_MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Default largest response message: 4 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Default most bytes of rows one ListUsers page carries: 1 MiB.
pub const DEFAULT_MAX_PAGE_BYTES: usize = 1024 * 1024;
/// Default most requests one caller (API key or client identity) has in
/// flight at once: a quarter of the process-wide default.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS_PER_CALLER: usize = 256;
/// Default most scope ids one membership, or one account of an invitation,
/// lists over every resource type together.
pub const DEFAULT_MAX_SCOPE_IDS: usize = 1000;
/// Default most pending invitations (expired ones included) one account holds.
pub const DEFAULT_MAX_PENDING_INVITATIONS: usize = 1000;
/// Default furthest end an access may be given, in days ahead (rule 17).
pub const DEFAULT_MAX_ACCESS_END_DAYS: u64 = 366;
/// Default largest clock difference tolerated between a replica and the
/// database, and allowed to an end just past (rule 17), in milliseconds.
pub const DEFAULT_MAX_CLOCK_SKEW_MS: u64 = 2_000;

/// Default sender of the service's emails.
pub const DEFAULT_MAIL_FROM: &str = "Access Service <no-reply@localhost>";
/// Default page the invitation link opens (`?token=...` is added).
pub const DEFAULT_INVITE_URL_BASE: &str = "http://localhost:8080/invitations/accept";
/// Default longest SMTP attempt (connect, dialogue, data).
pub const DEFAULT_SMTP_TIMEOUT_MS: u64 = 30_000;
/// Default attempts before a message is failed.
pub const DEFAULT_OUTBOX_MAX_ATTEMPTS: u32 = 8;
/// Default delay before the first retry (doubled for each further one).
pub const DEFAULT_OUTBOX_BACKOFF_MS: u64 = 5_000;
/// Default longest delay between attempts: one hour.
pub const DEFAULT_OUTBOX_BACKOFF_MAX_MS: u64 = 3_600_000;
/// Default lease of a message being sent: two minutes.
pub const DEFAULT_OUTBOX_LEASE_MS: u64 = 120_000;
/// Default pause between outbox polls when nothing is due.
pub const DEFAULT_OUTBOX_POLL_MS: u64 = 1_000;
/// Default days a sent or failed email is kept: 30.
pub const DEFAULT_OUTBOX_RETENTION_DAYS: u64 = 30;

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
    /// TLS to Redis (with a rediss:// URL).
    #[command(flatten)]
    pub redis_security: RedisSecurityConfig,
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
    /// How long a write waits for acknowledgements before revoking the leases
    /// of late replicas, in ms: at most half of ACCESS_CACHE_LEASE_MS.
    #[arg(long, env = "ACCESS_CACHE_ACK_TIMEOUT_MS", default_value_t = DEFAULT_CACHE_ACK_TIMEOUT_MS)]
    pub cache_ack_timeout_ms: u64,
    /// Name of the Redis Stream committed changes are published to (with
    /// ACCESS_REDIS_URL; the key is `<namespace>:{<name>}`); empty: publish nothing.
    #[arg(long, env = "ACCESS_CHANGE_STREAM", default_value = DEFAULT_CHANGE_STREAM)]
    pub change_stream: String,
    /// About how many newest changes the stream keeps (XADD MAXLEN ~).
    #[arg(long, env = "ACCESS_CHANGE_STREAM_MAX_LEN", default_value_t = DEFAULT_CHANGE_STREAM_MAX_LEN)]
    pub change_stream_max_len: u64,
    /// How often, in ms, the publisher and the feed every WatchChanges of
    /// this replica follows look for new changes.
    #[arg(long, env = "ACCESS_CHANGE_POLL_MS", default_value_t = DEFAULT_CHANGE_POLL_MS)]
    pub change_poll_ms: u64,
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `access_service=debug`.
    #[arg(long, env = "ACCESS_LOG", default_value = DEFAULT_LOG_FILTER)]
    pub log_filter: String,
    /// The API keys callers must present, as `name:scope+scope:sha256hex`
    /// entries separated by commas or new lines (see docs/operations.md). Unset (and
    /// no file): authentication is off, allowed on a loopback address only.
    #[arg(
        long,
        env = "ACCESS_API_KEYS",
        hide_env_values = true,
        conflicts_with = "api_keys_file"
    )]
    pub api_keys: Option<String>,
    /// A file holding the API keys in the same format (a mounted Secret),
    /// read again when it changes (a bad version keeps the keys in force).
    #[arg(long, env = "ACCESS_API_KEYS_FILE")]
    pub api_keys_file: Option<PathBuf>,
    /// Shortest API key accepted, in bytes: a shorter key presented is
    /// refused like an unknown one, before it is hashed, even when its hash
    /// is configured.
    #[arg(long, env = "ACCESS_API_KEY_MIN_LENGTH", default_value_t = DEFAULT_API_KEY_MIN_LENGTH)]
    pub api_key_min_length: usize,
    /// PEM certificate chain of the gRPC listener (server certificate first);
    /// with ACCESS_TLS_KEY_FILE it turns TLS on. Read again when it changes.
    #[arg(long, env = "ACCESS_TLS_CERT_FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of that certificate. Read again when it changes.
    #[arg(long, env = "ACCESS_TLS_KEY_FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,
    /// PEM CA certificate(s) that sign client certificates: turns mTLS on.
    /// Read again when it changes.
    #[arg(long, env = "ACCESS_TLS_CLIENT_CA_FILE")]
    pub tls_client_ca_file: Option<PathBuf>,
    /// With a client CA: whether every client must present a certificate
    /// (`required`) or may (`optional`, the others use API keys).
    #[arg(long, env = "ACCESS_TLS_CLIENT_AUTH", value_enum, default_value_t = ClientAuth::Required)]
    pub tls_client_auth: ClientAuth,
    /// Client certificate identities that stand for API keys, as
    /// `name:scope+scope:type:value` entries separated by commas or new lines,
    /// the type saying which of the certificate's names the value is matched
    /// against: `uri` (a URI SAN), `dns` (a DNS SAN) or `cn` (the subject CN).
    /// An entry without a type is refused. Needs a client CA.
    #[arg(long, env = "ACCESS_TLS_CLIENT_IDENTITIES")]
    pub tls_client_identities: Option<String>,
    /// Time a client has to complete its TLS handshake, in milliseconds.
    #[arg(long, env = "ACCESS_TLS_HANDSHAKE_TIMEOUT_MS", default_value_t = DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS)]
    pub tls_handshake_timeout_ms: u64,
    /// Most TLS handshakes in progress at once; past it, accepting waits
    /// (new connections queue in the kernel's backlog) until one ends.
    #[arg(long, env = "ACCESS_TLS_MAX_CONCURRENT_HANDSHAKES", default_value_t = DEFAULT_TLS_MAX_CONCURRENT_HANDSHAKES)]
    pub tls_max_concurrent_handshakes: usize,
    /// Most HTTP/2 streams (calls, open WatchChanges included) one connection
    /// may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
    #[arg(long, env = "ACCESS_HTTP2_MAX_CONCURRENT_STREAMS", default_value_t = DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS)]
    pub http2_max_concurrent_streams: u32,
    /// Pause between the server's HTTP/2 PINGs on each connection, in milliseconds.
    #[arg(long, env = "ACCESS_HTTP2_KEEPALIVE_INTERVAL_MS", default_value_t = DEFAULT_HTTP2_KEEPALIVE_INTERVAL_MS)]
    pub http2_keepalive_interval_ms: u64,
    /// How long a PING may go unacknowledged before the connection (and
    /// every stream on it) is closed, in milliseconds.
    #[arg(long, env = "ACCESS_HTTP2_KEEPALIVE_TIMEOUT_MS", default_value_t = DEFAULT_HTTP2_KEEPALIVE_TIMEOUT_MS)]
    pub http2_keepalive_timeout_ms: u64,
    /// Idle time before TCP keepalive probes start on an accepted
    /// connection, and the pause between probes, in seconds.
    #[arg(long, env = "ACCESS_TCP_KEEPALIVE_SECS", default_value_t = DEFAULT_TCP_KEEPALIVE_SECS)]
    pub tcp_keepalive_secs: u64,
    /// Age in seconds at which a connection is asked to go away (HTTP/2
    /// GOAWAY), so long-lived clients reconnect and spread over replicas;
    /// 0 keeps connections for as long as clients do.
    #[arg(long, env = "ACCESS_MAX_CONNECTION_AGE_SECS", default_value_t = DEFAULT_MAX_CONNECTION_AGE_SECS)]
    pub max_connection_age_secs: u64,
    /// Seconds a connection asked to go away has to finish its streams
    /// before it is closed.
    #[arg(long, env = "ACCESS_MAX_CONNECTION_AGE_GRACE_SECS", default_value_t = DEFAULT_MAX_CONNECTION_AGE_GRACE_SECS)]
    pub max_connection_age_grace_secs: u64,
    /// Largest request message accepted, in bytes (RESOURCE_EXHAUSTED past it).
    #[arg(long, env = "ACCESS_MAX_REQUEST_BYTES", default_value_t = DEFAULT_MAX_REQUEST_BYTES)]
    pub max_request_bytes: usize,
    /// Largest response message sent, in bytes; must exceed ACCESS_MAX_PAGE_BYTES.
    #[arg(long, env = "ACCESS_MAX_RESPONSE_BYTES", default_value_t = DEFAULT_MAX_RESPONSE_BYTES)]
    pub max_response_bytes: usize,
    /// Most bytes of rows one ListUsers page carries (estimated from the
    /// rows' text and scope ids); a page reaching it ends early, with a
    /// next_page_token.
    #[arg(long, env = "ACCESS_MAX_PAGE_BYTES", default_value_t = DEFAULT_MAX_PAGE_BYTES)]
    pub max_page_bytes: usize,
    /// Most requests one caller (API key or client certificate identity)
    /// has in flight at once, at most ACCESS_MAX_CONCURRENT_REQUESTS; more
    /// are refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "ACCESS_MAX_CONCURRENT_REQUESTS_PER_CALLER", default_value_t = DEFAULT_MAX_CONCURRENT_REQUESTS_PER_CALLER)]
    pub max_concurrent_requests_per_caller: usize,
    /// Most scope ids one membership, or one account of an invitation,
    /// lists over every resource type together.
    #[arg(long, env = "ACCESS_MAX_SCOPE_IDS", default_value_t = DEFAULT_MAX_SCOPE_IDS)]
    pub max_scope_ids: usize,
    /// Most pending invitations (expired ones included) one account holds,
    /// whatever its plan allows.
    #[arg(long, env = "ACCESS_MAX_PENDING_INVITATIONS", default_value_t = DEFAULT_MAX_PENDING_INVITATIONS)]
    pub max_pending_invitations: usize,
    /// Furthest end a membership, grant or scope entry may be given, in
    /// days from now: an end further ahead is refused (END_TOO_FAR).
    #[arg(long, env = "ACCESS_MAX_ACCESS_END_DAYS", default_value_t = DEFAULT_MAX_ACCESS_END_DAYS)]
    pub max_access_end_days: u64,
    /// Largest difference, in milliseconds, between this replica's clock and
    /// the database's before the replica refuses to start (checked again in
    /// the fence loop, which then logs an error); also how far in the past
    /// an end may be given and still be taken (a caller's clock behind ours).
    #[arg(long, env = "ACCESS_MAX_CLOCK_SKEW_MS", default_value_t = DEFAULT_MAX_CLOCK_SKEW_MS)]
    pub max_clock_skew_ms: u64,
    /// How often files read again when they change (TLS certificate and key,
    /// client CA, ACCESS_API_KEYS_FILE) are looked at, at most, in milliseconds.
    #[arg(long, env = "ACCESS_RELOAD_INTERVAL_MS", default_value_t = DEFAULT_RELOAD_INTERVAL_MS)]
    pub reload_interval_ms: u64,
    /// A second, plaintext listener serving only grpc.health.v1.Health, for
    /// probes that cannot speak TLS (the kubelet's gRPC probe); unset: none.
    #[arg(long, env = "ACCESS_HEALTH_ADDR")]
    pub health_addr: Option<SocketAddr>,
    /// Log line format: `text` (coloured only on a terminal) or `json` (one
    /// object a line, with the trace and span ids).
    #[arg(long, env = "ACCESS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// With OTLP export on, the share (0 to 1) of the requests that start a
    /// trace here; a caller's `traceparent` decides for its own requests.
    /// Unset: OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, else every request.
    #[arg(long, env = "ACCESS_TRACE_SAMPLE_RATIO", value_parser = parse_ratio)]
    pub trace_sample_ratio: Option<f64>,
    /// The standard OpenTelemetry migration switch, a comma-separated list:
    /// `rpc` puts the stable RPC conventions on request spans, `rpc/dup` both
    /// them and the older experimental names; unset: the older names.
    #[arg(long, env = "OTEL_SEMCONV_STABILITY_OPT_IN", default_value = "")]
    pub semconv_stability_opt_in: String,
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
    /// SMTP relay for the service's emails: smtp://host:25 (plain),
    /// smtp://host:587?tls=required (STARTTLS), smtps://host:465 (TLS),
    /// with user:password@ when it needs a login. Unset: emails are written
    /// to the log and stay queued in the outbox.
    #[arg(long, env = "ACCESS_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of the emails: an address, or `Name <address>`.
    #[arg(long, env = "ACCESS_MAIL_FROM", default_value = DEFAULT_MAIL_FROM)]
    pub mail_from: String,
    /// Page the invitation email links to; the link adds `token=<secret>` to its query.
    #[arg(long, env = "ACCESS_INVITE_URL_BASE", default_value = DEFAULT_INVITE_URL_BASE)]
    pub invite_url_base: String,
    /// Longest SMTP attempt, in milliseconds.
    #[arg(long, env = "ACCESS_SMTP_TIMEOUT_MS", default_value_t = DEFAULT_SMTP_TIMEOUT_MS)]
    pub smtp_timeout_ms: u64,
    /// Attempts at sending one email before it is marked failed.
    #[arg(long, env = "ACCESS_OUTBOX_MAX_ATTEMPTS", default_value_t = DEFAULT_OUTBOX_MAX_ATTEMPTS)]
    pub outbox_max_attempts: u32,
    /// Delay before the first retry of an email, in milliseconds; doubled for each further one.
    #[arg(long, env = "ACCESS_OUTBOX_BACKOFF_MS", default_value_t = DEFAULT_OUTBOX_BACKOFF_MS)]
    pub outbox_backoff_ms: u64,
    /// Longest delay between two attempts, in milliseconds.
    #[arg(long, env = "ACCESS_OUTBOX_BACKOFF_MAX_MS", default_value_t = DEFAULT_OUTBOX_BACKOFF_MAX_MS)]
    pub outbox_backoff_max_ms: u64,
    /// How long a replica holds an email it is sending, in milliseconds;
    /// must exceed ACCESS_SMTP_TIMEOUT_MS. A replica that dies mid-send
    /// leaves it to another one after this.
    #[arg(long, env = "ACCESS_OUTBOX_LEASE_MS", default_value_t = DEFAULT_OUTBOX_LEASE_MS)]
    pub outbox_lease_ms: u64,
    /// Pause between looks at the outbox when nothing is due, in milliseconds.
    #[arg(long, env = "ACCESS_OUTBOX_POLL_MS", default_value_t = DEFAULT_OUTBOX_POLL_MS)]
    pub outbox_poll_ms: u64,
    /// Days a sent or failed email is kept before the dispatcher deletes it
    /// (its facts name people); 0 keeps them forever. Must be longer than
    /// an invitation lives, so a pending one always shows its delivery.
    #[arg(long, env = "ACCESS_OUTBOX_RETENTION_DAYS", default_value_t = DEFAULT_OUTBOX_RETENTION_DAYS)]
    pub outbox_retention_days: u64,
    /// Run the outbox dispatcher in this process (turn off to leave sending
    /// to other replicas).
    #[arg(long, env = "ACCESS_OUTBOX_DISPATCH", default_value_t = true, action = clap::ArgAction::Set)]
    pub outbox_dispatch: bool,
    /// Who is acting: actor tokens or the caller's word.
    #[command(flatten)]
    pub actors: ActorConfig,
    /// How far the emails may go: development without a relay, rate limits.
    #[command(flatten)]
    pub email: EmailBounds,
    /// WatchChanges streams: how many, how far behind, how long.
    #[command(flatten)]
    pub watch: WatchConfig,
    /// gRPC-Web for browsers.
    #[command(flatten)]
    pub web: WebConfig,
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

/// Whether clients must present a certificate when a client CA is configured
/// (ACCESS_TLS_CLIENT_AUTH).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientAuth {
    /// Every connection presents a certificate signed by the client CA.
    #[default]
    Required,
    /// A certificate is checked when presented; clients without one
    /// authenticate with an API key.
    Optional,
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
            redis_security: RedisSecurityConfig::default(),
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
            trace_sample_ratio: None,
            semconv_stability_opt_in: String::new(),
            api_keys: None,
            api_keys_file: None,
            api_key_min_length: DEFAULT_API_KEY_MIN_LENGTH,
            tls_cert_file: None,
            tls_key_file: None,
            tls_client_ca_file: None,
            tls_client_auth: ClientAuth::Required,
            tls_client_identities: None,
            tls_handshake_timeout_ms: DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS,
            tls_max_concurrent_handshakes: DEFAULT_TLS_MAX_CONCURRENT_HANDSHAKES,
            http2_max_concurrent_streams: DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
            http2_keepalive_interval_ms: DEFAULT_HTTP2_KEEPALIVE_INTERVAL_MS,
            http2_keepalive_timeout_ms: DEFAULT_HTTP2_KEEPALIVE_TIMEOUT_MS,
            tcp_keepalive_secs: DEFAULT_TCP_KEEPALIVE_SECS,
            max_connection_age_secs: DEFAULT_MAX_CONNECTION_AGE_SECS,
            max_connection_age_grace_secs: DEFAULT_MAX_CONNECTION_AGE_GRACE_SECS,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
            max_concurrent_requests_per_caller: DEFAULT_MAX_CONCURRENT_REQUESTS_PER_CALLER,
            max_scope_ids: DEFAULT_MAX_SCOPE_IDS,
            max_pending_invitations: DEFAULT_MAX_PENDING_INVITATIONS,
            max_access_end_days: DEFAULT_MAX_ACCESS_END_DAYS,
            max_clock_skew_ms: DEFAULT_MAX_CLOCK_SKEW_MS,
            reload_interval_ms: DEFAULT_RELOAD_INTERVAL_MS,
            health_addr: None,
            metrics_addr: None,
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS,
            shutdown_timeout_secs: DEFAULT_SHUTDOWN_TIMEOUT_SECS,
            smtp_url: None,
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
            invite_url_base: DEFAULT_INVITE_URL_BASE.to_owned(),
            smtp_timeout_ms: DEFAULT_SMTP_TIMEOUT_MS,
            outbox_max_attempts: DEFAULT_OUTBOX_MAX_ATTEMPTS,
            outbox_backoff_ms: DEFAULT_OUTBOX_BACKOFF_MS,
            outbox_backoff_max_ms: DEFAULT_OUTBOX_BACKOFF_MAX_MS,
            outbox_lease_ms: DEFAULT_OUTBOX_LEASE_MS,
            outbox_poll_ms: DEFAULT_OUTBOX_POLL_MS,
            outbox_retention_days: DEFAULT_OUTBOX_RETENTION_DAYS,
            outbox_dispatch: true,
            actors: ActorConfig::default(),
            email: EmailBounds::default(),
            watch: WatchConfig::default(),
            web: WebConfig::default(),
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
            .field(
                "max_concurrent_requests_per_caller",
                &self.max_concurrent_requests_per_caller,
            )
            .field("http2_max_concurrent_streams", &self.http2_max_concurrent_streams)
            .field("max_connection_age_secs", &self.max_connection_age_secs)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("max_page_bytes", &self.max_page_bytes)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redis_security", &self.redis_security)
            .field("redis_namespace", &self.redis_namespace)
            .field("cache_max_bytes", &self.cache_max_bytes)
            .field("cache_lease_ms", &self.cache_lease_ms)
            .field("change_stream", &self.change_stream)
            .field("change_stream_max_len", &self.change_stream_max_len)
            .field("change_poll_ms", &self.change_poll_ms)
            // Hashes only, but still nobody's business in a log.
            .field("api_keys", &self.api_keys.as_ref().map(|_| "<set>"))
            .field("api_keys_file", &self.api_keys_file)
            .field("tls_cert_file", &self.tls_cert_file)
            .field("tls_client_ca_file", &self.tls_client_ca_file)
            .field("tls_client_auth", &self.tls_client_auth)
            .field("health_addr", &self.health_addr)
            .field("metrics_addr", &self.metrics_addr)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("shutdown_timeout_secs", &self.shutdown_timeout_secs)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("invite_url_base", &self.invite_url_base)
            .field("outbox_max_attempts", &self.outbox_max_attempts)
            .field("outbox_lease_ms", &self.outbox_lease_ms)
            .field("outbox_retention_days", &self.outbox_retention_days)
            .field("outbox_dispatch", &self.outbox_dispatch)
            .field("actors", &self.actors)
            .field("email", &self.email)
            .field("watch", &self.watch)
            .field("web", &self.web)
            .finish_non_exhaustive()
    }
}

/// A sampling ratio: a number from 0 to 1.
fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(format!(
            "{text:?} is not a ratio from 0 to 1 (0.01 traces one request in a hundred)"
        )),
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

mod actors;
mod cli;
mod email;
mod redis_security;
mod settings;
#[cfg(test)]
mod tests;
mod watch;
mod web;
