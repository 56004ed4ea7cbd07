//! The one place a Redis client is made, for the cache and the change
//! publisher alike: plain `redis://`, or `rediss://` over rustls with the
//! certificate authority and client certificate of the settings. Users and
//! passwords (Redis ACL) come in the URL: `rediss://user:password@host:6380`.

use anyhow::Context;

use crate::config::RedisSecurityConfig;

/// A client of the Redis at `url`; reads the TLS files now, so a bad one
/// fails start-up rather than the first connection.
pub fn client(url: &str, tls: &RedisSecurityConfig) -> anyhow::Result<redis::Client> {
    if !tls.any() {
        return Ok(redis::Client::open(url)?);
    }
    let read = |path: &std::path::Path, what: &str| {
        std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
    };
    let root_cert = tls
        .redis_ca_file
        .as_deref()
        .map(|path| read(path, "ACCESS_REDIS_CA_FILE"))
        .transpose()?;
    let client_tls = match (&tls.redis_client_cert_file, &tls.redis_client_key_file) {
        (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
            client_cert: read(cert, "ACCESS_REDIS_CLIENT_CERT_FILE")?,
            client_key: read(key, "ACCESS_REDIS_CLIENT_KEY_FILE")?,
        }),
        _ => None,
    };
    Ok(redis::Client::build_with_tls(
        url,
        redis::TlsCertificates {
            client_tls,
            root_cert,
        },
    )?)
}
