//! What the settings mean: [`Config::validate`] refuses a configuration
//! the service could not run with, and each part of the service takes its
//! own typed settings from here (durations, not milliseconds).

use std::time::Duration;

use anyhow::Context;

use super::{Config, MAX_BATCH_CHECKS_LIMIT};
use crate::grpc::middleware::{ApiKeys, ClientIdentities, Credentials};
use crate::reload::Reloading;
use crate::tls::TlsSettings;

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
            ("ACCESS_TLS_HANDSHAKE_TIMEOUT_MS", self.tls_handshake_timeout_ms),
            ("ACCESS_SMTP_TIMEOUT_MS", self.smtp_timeout_ms),
            ("ACCESS_OUTBOX_MAX_ATTEMPTS", u64::from(self.outbox_max_attempts)),
            ("ACCESS_OUTBOX_BACKOFF_MS", self.outbox_backoff_ms),
            ("ACCESS_OUTBOX_BACKOFF_MAX_MS", self.outbox_backoff_max_ms),
            ("ACCESS_OUTBOX_LEASE_MS", self.outbox_lease_ms),
            ("ACCESS_OUTBOX_POLL_MS", self.outbox_poll_ms),
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
        self.email_renderer()?;
        Ok(())
    }

    /// The email templates with the configured sender and link.
    pub fn email_renderer(&self) -> anyhow::Result<crate::email::EmailRenderer> {
        crate::email::EmailRenderer::new(&self.mail_from, &self.invite_url_base)
    }

    /// The longest SMTP attempt.
    pub fn smtp_timeout(&self) -> Duration {
        Duration::from_millis(self.smtp_timeout_ms)
    }

    /// How the outbox dispatcher paces itself.
    pub fn dispatch_settings(&self) -> crate::email::DispatchSettings {
        crate::email::DispatchSettings {
            poll: Duration::from_millis(self.outbox_poll_ms),
            lease: Duration::from_millis(self.outbox_lease_ms),
            max_attempts: self.outbox_max_attempts,
            backoff: Duration::from_millis(self.outbox_backoff_ms),
            backoff_max: Duration::from_millis(self.outbox_backoff_max_ms),
            retention: self.outbox_retention(),
        }
    }

    /// How long a sent or failed email is kept; None: forever.
    pub fn outbox_retention(&self) -> Option<Duration> {
        const DAY_SECS: u64 = 24 * 60 * 60;
        (self.outbox_retention_days > 0)
            .then(|| Duration::from_secs(self.outbox_retention_days.saturating_mul(DAY_SECS)))
    }

    /// What callers authenticate with: the API keys (from ACCESS_API_KEYS,
    /// or the file ACCESS_API_KEYS_FILE names, read again when it changes)
    /// and the client certificate identities. Refuses a malformed entry, and
    /// a configuration that would leave a non-loopback listener open to anyone.
    pub fn credentials(&self) -> anyhow::Result<Credentials> {
        let keys = match (&self.api_keys, &self.api_keys_file) {
            (Some(_), Some(_)) => {
                anyhow::bail!("set ACCESS_API_KEYS or ACCESS_API_KEYS_FILE, not both")
            }
            (Some(text), None) => Reloading::fixed(ApiKeys::parse(text).context("bad ACCESS_API_KEYS")?),
            (None, Some(path)) => Reloading::watch(
                "ACCESS_API_KEYS_FILE",
                vec![path.clone()],
                self.reload_interval(),
                |paths| read_api_keys_file(&paths[0]),
            )?,
            (None, None) => Reloading::fixed(ApiKeys::default()),
        };
        let identities = match &self.tls_client_identities {
            Some(text) => ClientIdentities::parse(text).context("bad ACCESS_TLS_CLIENT_IDENTITIES")?,
            None => ClientIdentities::default(),
        };
        anyhow::ensure!(
            identities.is_empty() || self.tls_client_ca_file.is_some(),
            "ACCESS_TLS_CLIENT_IDENTITIES needs ACCESS_TLS_CLIENT_CA_FILE (and TLS): without a client CA no \
             certificate is verified, so no identity could be trusted"
        );
        let credentials = Credentials {
            keys: std::sync::Arc::new(keys),
            identities: std::sync::Arc::new(identities),
        };
        anyhow::ensure!(
            !credentials.is_open() || self.listen_addr.ip().is_loopback(),
            "no API key is configured (ACCESS_API_KEYS or ACCESS_API_KEYS_FILE), nor any client \
             certificate identity (ACCESS_TLS_CLIENT_IDENTITIES), so callers would not be authenticated: \
             refusing to listen on {}, which is not a loopback address. Configure keys or identities (see \
             the README), or listen on 127.0.0.1 or [::1]",
            self.listen_addr
        );
        Ok(credentials)
    }

    /// The TLS settings of the listener; `None`: plaintext.
    pub fn tls(&self) -> anyhow::Result<Option<TlsSettings>> {
        let (Some(cert_file), Some(key_file)) = (&self.tls_cert_file, &self.tls_key_file) else {
            anyhow::ensure!(
                self.tls_cert_file.is_none() && self.tls_key_file.is_none(),
                "set both ACCESS_TLS_CERT_FILE and ACCESS_TLS_KEY_FILE, or neither"
            );
            anyhow::ensure!(
                self.tls_client_ca_file.is_none(),
                "ACCESS_TLS_CLIENT_CA_FILE needs TLS: set ACCESS_TLS_CERT_FILE and ACCESS_TLS_KEY_FILE too"
            );
            return Ok(None);
        };
        Ok(Some(TlsSettings {
            cert_file: cert_file.clone(),
            key_file: key_file.clone(),
            client_ca_file: self.tls_client_ca_file.clone(),
            client_auth: self.tls_client_auth,
            reload_interval: self.reload_interval(),
        }))
    }

    /// The time a client has to complete its TLS handshake.
    pub fn tls_handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.tls_handshake_timeout_ms)
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

/// Reads and parses an API key file; an empty one is a mistake, not "no auth".
fn read_api_keys_file(path: &std::path::Path) -> anyhow::Result<ApiKeys> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read ACCESS_API_KEYS_FILE {}", path.display()))?;
    let keys =
        ApiKeys::parse(&text).with_context(|| format!("bad ACCESS_API_KEYS_FILE {}", path.display()))?;
    anyhow::ensure!(
        !keys.is_empty(),
        "ACCESS_API_KEYS_FILE {} holds no key",
        path.display()
    );
    Ok(keys)
}
