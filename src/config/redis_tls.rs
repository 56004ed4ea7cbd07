//! Settings of the connection to Redis over TLS (`rediss://` URLs): which
//! certificate authority to trust, and the client certificate Redis may
//! require (its `tls-auth-clients`, on by default).

use std::path::PathBuf;

use clap::Args;

/// The Redis TLS settings.
#[derive(Clone, Debug, Default, Args)]
pub struct RedisTlsConfig {
    /// PEM file of the certificate authority Redis's certificate is checked
    /// against, with a `rediss://` ACCESS_REDIS_URL; unset: the system's roots.
    #[arg(long, env = "ACCESS_REDIS_CA_FILE")]
    pub redis_ca_file: Option<PathBuf>,
    /// PEM file of the certificate this service shows Redis (with a
    /// `rediss://` URL, when Redis asks for client certificates).
    #[arg(long, env = "ACCESS_REDIS_CLIENT_CERT_FILE", requires = "redis_client_key_file")]
    pub redis_client_cert_file: Option<PathBuf>,
    /// PEM file of that certificate's private key.
    #[arg(long, env = "ACCESS_REDIS_CLIENT_KEY_FILE", requires = "redis_client_cert_file")]
    pub redis_client_key_file: Option<PathBuf>,
}

impl RedisTlsConfig {
    /// Whether any file is set.
    pub fn any(&self) -> bool {
        self.redis_ca_file.is_some() || self.redis_client_cert_file.is_some() || self.redis_client_key_file.is_some()
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
