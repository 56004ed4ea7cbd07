//! Settings of what this service trusts in Redis: the connection over TLS
//! (`rediss://` URLs: which certificate authority to trust, the client
//! certificate Redis may require), and the keys that sign cache entries,
//! so that write access to Redis is not enough to plant an allow.

use std::path::PathBuf;

use clap::Args;

/// The Redis TLS and entry-signing settings.
#[derive(Clone, Debug, Default, Args)]
pub struct RedisSecurityConfig {
    /// File of the keys that sign and check cache entries in Redis: one
    /// base64 key of at least 32 bytes a line; the first signs, every one
    /// is accepted (add the new key first, then drop the old one, to
    /// rotate). Unset: entries are not signed.
    #[arg(long, env = "ACCESS_REDIS_ENTRY_KEYS_FILE")]
    pub redis_entry_keys_file: Option<PathBuf>,
    /// PEM file of the certificate authority Redis's certificate is checked
    /// against, with a `rediss://` ACCESS_REDIS_URL; unset: the system's roots.
    #[arg(long, env = "ACCESS_REDIS_CA_FILE")]
    pub redis_ca_file: Option<PathBuf>,
    /// PEM file of the certificate this service shows Redis (with a
    /// `rediss://` URL, when Redis asks for client certificates).
    #[arg(
        long,
        env = "ACCESS_REDIS_CLIENT_CERT_FILE",
        requires = "redis_client_key_file"
    )]
    pub redis_client_cert_file: Option<PathBuf>,
    /// PEM file of that certificate's private key.
    #[arg(
        long,
        env = "ACCESS_REDIS_CLIENT_KEY_FILE",
        requires = "redis_client_cert_file"
    )]
    pub redis_client_key_file: Option<PathBuf>,
}

impl RedisSecurityConfig {
    /// Whether any TLS file is set.
    pub fn any(&self) -> bool {
        self.redis_ca_file.is_some()
            || self.redis_client_cert_file.is_some()
            || self.redis_client_key_file.is_some()
    }

    /// Refuses files without a `rediss://` URL (they would be ignored), and
    /// a certificate without its key or the other way round.
    pub fn validate(&self, url: Option<&str>) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.redis_client_cert_file.is_some() == self.redis_client_key_file.is_some(),
            "ACCESS_REDIS_CLIENT_CERT_FILE and ACCESS_REDIS_CLIENT_KEY_FILE go together"
        );
        if self.any() {
            anyhow::ensure!(
                url.is_some_and(|url| url.starts_with("rediss://")),
                "ACCESS_REDIS_CA_FILE and ACCESS_REDIS_CLIENT_*_FILE need a rediss:// ACCESS_REDIS_URL"
            );
        }
        Ok(())
    }
}
