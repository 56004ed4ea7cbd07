//! What the settings mean: [`Config::validate`] refuses a configuration
//! the service could not run with, and the accessors give durations, not
//! milliseconds. Each part's own settings type is made from these in
//! app.rs.

use std::time::Duration;

use super::{
    CACHE_ACK_TIMEOUT_RATIO, Config, MAX_BATCH_CHECKS_LIMIT, MAX_SCOPE_IDS_LIMIT, MIN_MAX_REQUEST_BYTES,
    email,
};

impl Config {
    /// Refuses settings that would make the service refuse everything.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.web.allowed_origins()?;
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
            ("ACCESS_TLS_HANDSHAKE_TIMEOUT_MS", self.tls_handshake_timeout_ms),
            ("ACCESS_SMTP_TIMEOUT_MS", self.smtp_timeout_ms),
            ("ACCESS_OUTBOX_MAX_ATTEMPTS", u64::from(self.outbox_max_attempts)),
            ("ACCESS_OUTBOX_BACKOFF_MS", self.outbox_backoff_ms),
            ("ACCESS_OUTBOX_BACKOFF_MAX_MS", self.outbox_backoff_max_ms),
            ("ACCESS_OUTBOX_LEASE_MS", self.outbox_lease_ms),
            ("ACCESS_OUTBOX_POLL_MS", self.outbox_poll_ms),
            ("ACCESS_CHANGE_STREAM_MAX_LEN", self.change_stream_max_len),
            ("ACCESS_CHANGE_POLL_MS", self.change_poll_ms),
            (
                "ACCESS_TLS_MAX_CONCURRENT_HANDSHAKES",
                self.tls_max_concurrent_handshakes as u64,
            ),
            (
                "ACCESS_HTTP2_MAX_CONCURRENT_STREAMS",
                u64::from(self.http2_max_concurrent_streams),
            ),
            (
                "ACCESS_HTTP2_KEEPALIVE_INTERVAL_MS",
                self.http2_keepalive_interval_ms,
            ),
            (
                "ACCESS_HTTP2_KEEPALIVE_TIMEOUT_MS",
                self.http2_keepalive_timeout_ms,
            ),
            ("ACCESS_TCP_KEEPALIVE_SECS", self.tcp_keepalive_secs),
            (
                "ACCESS_MAX_CONNECTION_AGE_GRACE_SECS",
                self.max_connection_age_grace_secs,
            ),
            ("ACCESS_MAX_PAGE_BYTES", self.max_page_bytes as u64),
            (
                "ACCESS_MAX_CONCURRENT_REQUESTS_PER_CALLER",
                self.max_concurrent_requests_per_caller as u64,
            ),
            ("ACCESS_MAX_SCOPE_IDS", self.max_scope_ids as u64),
            (
                "ACCESS_MAX_PENDING_INVITATIONS",
                self.max_pending_invitations as u64,
            ),
            ("ACCESS_MAX_ACCESS_END_DAYS", self.max_access_end_days),
            ("ACCESS_MAX_CLOCK_SKEW_MS", self.max_clock_skew_ms),
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
        // A write waits this long for acknowledgements, then revokes the
        // late replicas and waits out what their leases have left: an
        // acknowledgement slower than half a term is a replica in trouble,
        // not a slow network, and a longer wait only makes every write
        // behind a dead replica slower.
        anyhow::ensure!(
            self.cache_ack_timeout_ms.saturating_mul(CACHE_ACK_TIMEOUT_RATIO) <= self.cache_lease_ms,
            "ACCESS_CACHE_ACK_TIMEOUT_MS ({}) must be at most 1/{CACHE_ACK_TIMEOUT_RATIO} of ACCESS_CACHE_LEASE_MS ({})",
            self.cache_ack_timeout_ms,
            self.cache_lease_ms
        );
        anyhow::ensure!(
            self.max_scope_ids <= MAX_SCOPE_IDS_LIMIT,
            "ACCESS_MAX_SCOPE_IDS must be at most {MAX_SCOPE_IDS_LIMIT}"
        );
        anyhow::ensure!(
            self.max_request_bytes >= MIN_MAX_REQUEST_BYTES,
            "ACCESS_MAX_REQUEST_BYTES must be at least {MIN_MAX_REQUEST_BYTES}"
        );
        // A full page must still fit in one response.
        anyhow::ensure!(
            self.max_response_bytes > self.max_page_bytes,
            "ACCESS_MAX_RESPONSE_BYTES ({}) must be greater than ACCESS_MAX_PAGE_BYTES ({})",
            self.max_response_bytes,
            self.max_page_bytes
        );
        // A lease shorter than an attempt would let a second replica send
        // a message whose first attempt is still running.
        anyhow::ensure!(
            self.outbox_lease_ms > self.smtp_timeout_ms,
            "ACCESS_OUTBOX_LEASE_MS ({}) must be greater than ACCESS_SMTP_TIMEOUT_MS ({})",
            self.outbox_lease_ms,
            self.smtp_timeout_ms
        );
        // A shorter retention would delete the email of a pending invitation.
        anyhow::ensure!(
            self.outbox_retention()
                .is_none_or(|kept| kept > self.invitation_ttl()),
            "ACCESS_OUTBOX_RETENTION_DAYS ({} days) must be longer than an invitation lives \
             (ACCESS_INVITATION_TTL_SECS, {} s), or 0 to keep emails forever",
            self.outbox_retention_days,
            self.invitation_ttl_secs
        );
        self.actors.validate(self.listen_addr.ip().is_loopback())?;
        self.redis_security.validate(self.redis_url.as_deref())?;
        self.email.validate(&email::Delivery {
            relay: self.smtp_url.is_some(),
            invite_url_base: &self.invite_url_base,
            invitation_ttl_secs: self.invitation_ttl_secs,
            loopback: self.listen_addr.ip().is_loopback(),
            retention: self.outbox_retention(),
        })?;
        self.watch.validate(
            self.max_connection_age()
                .map(|_| self.max_connection_age_grace_secs),
        )?;
        Ok(())
    }

    /// The longest SMTP attempt.
    pub fn smtp_timeout(&self) -> Duration {
        Duration::from_millis(self.smtp_timeout_ms)
    }

    /// How long a sent or failed email is kept; None: forever.
    pub fn outbox_retention(&self) -> Option<Duration> {
        const DAY_SECS: u64 = 24 * 60 * 60;
        (self.outbox_retention_days > 0)
            .then(|| Duration::from_secs(self.outbox_retention_days.saturating_mul(DAY_SECS)))
    }

    /// The time a client has to complete its TLS handshake.
    pub fn tls_handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.tls_handshake_timeout_ms)
    }

    /// Requests one caller may have in flight: its own limit, never more
    /// than the process-wide one (a lowered process-wide limit lowers it too).
    pub fn max_concurrent_requests_per_caller(&self) -> usize {
        self.max_concurrent_requests_per_caller
            .min(self.max_concurrent_requests)
    }

    /// The pause between the server's HTTP/2 PINGs.
    pub fn http2_keepalive_interval(&self) -> Duration {
        Duration::from_millis(self.http2_keepalive_interval_ms)
    }

    /// How long a PING may go unacknowledged.
    pub fn http2_keepalive_timeout(&self) -> Duration {
        Duration::from_millis(self.http2_keepalive_timeout_ms)
    }

    /// Idle time before TCP keepalive probes, and between them.
    pub fn tcp_keepalive(&self) -> Duration {
        Duration::from_secs(self.tcp_keepalive_secs)
    }

    /// The age at which a connection is asked to go away; `None` (0) keeps
    /// connections for as long as clients do.
    pub fn max_connection_age(&self) -> Option<Duration> {
        (self.max_connection_age_secs > 0).then(|| Duration::from_secs(self.max_connection_age_secs))
    }

    /// The time a connection asked to go away has to finish its streams.
    pub fn max_connection_age_grace(&self) -> Duration {
        Duration::from_secs(self.max_connection_age_grace_secs)
    }

    /// How often reloadable files are looked at.
    pub fn reload_interval(&self) -> Duration {
        Duration::from_millis(self.reload_interval_ms)
    }

    /// The invitation lifetime.
    pub fn invitation_ttl(&self) -> Duration {
        Duration::from_secs(self.invitation_ttl_secs)
    }

    /// The per-request time limit.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// How often the publisher and the watches' feed read the log again.
    pub fn change_poll(&self) -> Duration {
        Duration::from_millis(self.change_poll_ms)
    }

    /// How long to wait for a pooled connection.
    pub fn db_acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.db_acquire_timeout_ms)
    }
}
