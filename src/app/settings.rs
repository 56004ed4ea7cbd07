//! Each part's own settings, made from the one [`Config`]: the only place
//! that knows both the configuration and the parts' settings types, so
//! `config` stays a leaf and no part reads the whole configuration.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::actor_tokens::{ActorTokenSettings, ActorTokens, KeySource, MfaClaims, UrlSettings, dev};
use crate::cache::{CacheSettings, LeaseSettings};
use crate::changes::{FeedSettings, PublisherSettings};
use crate::config::{ActorProofMode, Config};
use crate::domain::service::{EmailLimits, RateLimit};
use crate::email::{DispatchSettings, EmailRenderer, RelaySettings};
use crate::grpc::middleware::{ApiKeys, BrowserCallsLayer, ClientIdentities, Credentials};
use crate::grpc::{ActorTrust, WatchSettings};
use crate::reload::Reloading;
use crate::shutdown::ShutdownSettings;
use crate::tls::TlsSettings;

use super::TransportSettings;

/// Most changes the publisher appends with one script.
const PUBLISH_BATCH: usize = 500;

/// The email templates with the configured sender and link.
pub fn email_renderer(config: &Config) -> anyhow::Result<EmailRenderer> {
    EmailRenderer::new(&config.mail_from, &config.invite_url_base)
}

/// The SMTP relay, when ACCESS_SMTP_URL is set.
pub fn relay(config: &Config) -> Option<RelaySettings> {
    config.smtp_url.as_ref().map(|url| RelaySettings {
        url: url.clone(),
        timeout: config.smtp_timeout(),
    })
}

/// The limits on the emails callers can make the service write.
pub fn email_limits(config: &Config) -> EmailLimits {
    let email = &config.email;
    let limit = |max: u32, window_secs: u64| RateLimit {
        max,
        window: Duration::from_secs(window_secs),
    };
    EmailLimits {
        per_account: limit(
            email.email_limit_per_account,
            email.email_limit_per_account_window_secs,
        ),
        per_actor: limit(
            email.email_limit_per_actor,
            email.email_limit_per_actor_window_secs,
        ),
        per_recipient: limit(
            email.email_limit_per_recipient,
            email.email_limit_per_recipient_window_secs,
        ),
        resend_cooldown: Duration::from_secs(email.invitation_resend_cooldown_secs),
        rejected_request_quiet: Duration::from_secs(email.rejected_request_quiet_secs),
    }
}

/// Whether invitation emails keep their raw token in the outbox: only when
/// they will be sent, by this process (a relay) or by other replicas
/// (dispatching is off here). A process that dispatches without a relay
/// only logs them, and the token would wait in the database for nothing.
pub fn outbox_keeps_tokens(config: &Config) -> bool {
    config.smtp_url.is_some() || !config.outbox_dispatch
}

/// How the outbox dispatcher paces itself.
pub fn dispatch_settings(config: &Config) -> DispatchSettings {
    DispatchSettings {
        poll: Duration::from_millis(config.outbox_poll_ms),
        lease: Duration::from_millis(config.outbox_lease_ms),
        max_attempts: config.outbox_max_attempts,
        backoff: Duration::from_millis(config.outbox_backoff_ms),
        backoff_max: Duration::from_millis(config.outbox_backoff_max_ms),
        retention: config.outbox_retention(),
    }
}

/// How the cache layers are sized and timed.
pub fn cache_settings(config: &Config) -> CacheSettings {
    CacheSettings {
        local_max_bytes: config.cache_max_bytes,
        ttl: Duration::from_secs(config.cache_ttl_secs),
        leases: LeaseSettings {
            term: Duration::from_millis(config.cache_lease_ms),
            ack_timeout: Duration::from_millis(config.cache_ack_timeout_ms),
            max_clock_skew_ms: config.max_clock_skew_ms,
        },
        namespace: config.redis_namespace.clone(),
    }
}

/// The change stream's settings, when changes are published (Redis is
/// configured and the stream has a name).
pub fn change_publisher(config: &Config) -> Option<PublisherSettings> {
    (config.redis_url.is_some() && !config.change_stream.is_empty()).then(|| PublisherSettings {
        stream: config.change_stream.clone(),
        max_len: config.change_stream_max_len,
        poll: config.change_poll(),
        batch: PUBLISH_BATCH,
    })
}

/// How the feed every watch follows reads the log.
pub fn feed_settings(config: &Config) -> FeedSettings {
    FeedSettings {
        poll: config.change_poll(),
        page: config.watch.watch_page_size,
    }
}

/// The bounds of every watch.
pub fn watch_settings(config: &Config) -> WatchSettings {
    WatchSettings {
        max_open: config.watch.watch_max_open,
        max_open_per_caller: config.watch.max_open_per_caller(),
        buffer: config.watch.watch_buffer,
        max_age: config.watch.max_age(),
        page: config.watch.watch_page_size,
    }
}

/// How connections are kept and bounded.
pub fn transport(config: &Config) -> TransportSettings {
    TransportSettings {
        max_concurrent_streams: config.http2_max_concurrent_streams,
        http2_keepalive_interval: config.http2_keepalive_interval(),
        http2_keepalive_timeout: config.http2_keepalive_timeout(),
        tcp_keepalive: config.tcp_keepalive(),
        max_connection_age: config.max_connection_age(),
        max_connection_age_grace: config.max_connection_age_grace(),
        accept_http1: config.web.grpc_web,
    }
}

/// gRPC-Web on the gRPC port, or not (ACCESS_GRPC_WEB*).
pub fn browser_calls(config: &Config) -> anyhow::Result<BrowserCallsLayer> {
    if config.web.grpc_web {
        BrowserCallsLayer::on(&config.web.allowed_origins()?)
    } else {
        Ok(BrowserCallsLayer::off())
    }
}

/// The largest messages every service decodes and encodes.
#[derive(Clone, Copy, Debug)]
pub struct MessageLimits {
    /// Largest request message, in bytes.
    pub request: usize,
    /// Largest response message, in bytes.
    pub response: usize,
}

/// The message limits of ACCESS_MAX_REQUEST_BYTES and ACCESS_MAX_RESPONSE_BYTES.
pub fn message_limits(config: &Config) -> MessageLimits {
    MessageLimits {
        request: config.max_request_bytes,
        response: config.max_response_bytes,
    }
}

/// The shutdown sequence's timings.
pub fn shutdown_settings(config: &Config) -> ShutdownSettings {
    ShutdownSettings {
        grace: Duration::from_secs(config.shutdown_grace_secs),
        timeout: Duration::from_secs(config.shutdown_timeout_secs),
    }
}

/// What callers authenticate with: the API keys (from ACCESS_API_KEYS,
/// or the file ACCESS_API_KEYS_FILE names, read again when it changes)
/// and the client certificate identities. Refuses a malformed entry, and
/// a configuration that would leave a non-loopback listener open to anyone.
pub fn credentials(config: &Config) -> anyhow::Result<Credentials> {
    let keys = match (&config.api_keys, &config.api_keys_file) {
        (Some(_), Some(_)) => {
            anyhow::bail!("set ACCESS_API_KEYS or ACCESS_API_KEYS_FILE, not both")
        }
        (Some(text), None) => Reloading::fixed(ApiKeys::parse(text).context("bad ACCESS_API_KEYS")?),
        (None, Some(path)) => Reloading::watch(
            "ACCESS_API_KEYS_FILE",
            vec![path.clone()],
            config.reload_interval(),
            |paths| read_api_keys_file(&paths[0]),
        )?,
        (None, None) => Reloading::fixed(ApiKeys::default()),
    };
    let identities = match &config.tls_client_identities {
        Some(text) => ClientIdentities::parse(text).context("bad ACCESS_TLS_CLIENT_IDENTITIES")?,
        None => ClientIdentities::default(),
    };
    anyhow::ensure!(
        identities.is_empty() || config.tls_client_ca_file.is_some(),
        "ACCESS_TLS_CLIENT_IDENTITIES needs ACCESS_TLS_CLIENT_CA_FILE (and TLS): without a client CA no \
         certificate is verified, so no identity could be trusted"
    );
    let credentials = Credentials {
        keys: Arc::new(keys),
        identities: Arc::new(identities),
        min_key_len: config.api_key_min_length,
    };
    anyhow::ensure!(
        !credentials.is_open() || config.listen_addr.ip().is_loopback(),
        "no API key is configured (ACCESS_API_KEYS or ACCESS_API_KEYS_FILE), nor any client \
         certificate identity (ACCESS_TLS_CLIENT_IDENTITIES), so callers would not be authenticated: \
         refusing to listen on {}, which is not a loopback address. Configure keys or identities (see \
         docs/operations.md), or listen on 127.0.0.1 or [::1]",
        config.listen_addr
    );
    Ok(credentials)
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

/// The TLS settings of the listener; `None`: plaintext.
pub fn tls(config: &Config) -> anyhow::Result<Option<TlsSettings>> {
    let (Some(cert_file), Some(key_file)) = (&config.tls_cert_file, &config.tls_key_file) else {
        anyhow::ensure!(
            config.tls_cert_file.is_none() && config.tls_key_file.is_none(),
            "set both ACCESS_TLS_CERT_FILE and ACCESS_TLS_KEY_FILE, or neither"
        );
        anyhow::ensure!(
            config.tls_client_ca_file.is_none(),
            "ACCESS_TLS_CLIENT_CA_FILE needs TLS: set ACCESS_TLS_CERT_FILE and ACCESS_TLS_KEY_FILE too"
        );
        return Ok(None);
    };
    Ok(Some(TlsSettings {
        cert_file: cert_file.clone(),
        key_file: key_file.clone(),
        client_ca_file: config.tls_client_ca_file.clone(),
        client_auth: config.tls_client_auth,
        reload_interval: config.reload_interval(),
    }))
}

/// How the acting person is known (rule 15): the actor token verifier when
/// an issuer is configured (its keys fetched or read now), and whether
/// every call for a person must carry a token.
pub async fn actor_trust(config: &Config) -> anyhow::Result<ActorTrust> {
    let actors = &config.actors;
    let require_token = actors.mode() == ActorProofMode::Token;
    if !actors.verifies_tokens() {
        return Ok(ActorTrust {
            tokens: None,
            require_token,
        });
    }
    anyhow::ensure!(
        !actors
            .actor_token_issuers
            .iter()
            .any(|issuer| issuer == dev::DEV_ISSUER)
            || config.listen_addr.ip().is_loopback(),
        "ACCESS_ACTOR_TOKEN_ISSUERS names {}, the issuer of `access-service dev-token`: a development \
         key vouches for nobody off loopback, and {} is not a loopback address",
        dev::DEV_ISSUER,
        config.listen_addr
    );
    let keys = match (&actors.actor_token_jwks_url, &actors.actor_token_jwks_file) {
        (Some(url), _) => KeySource::Url(UrlSettings {
            url: url
                .parse()
                .with_context(|| format!("ACCESS_ACTOR_TOKEN_JWKS_URL {url} is not a URL"))?,
            refresh_floor: Duration::from_secs(actors.actor_token_jwks_refresh_floor_secs),
            max_age: Duration::from_secs(actors.actor_token_jwks_max_age_secs),
            timeout: Duration::from_millis(actors.actor_token_jwks_timeout_ms),
        }),
        (None, Some(path)) => KeySource::File {
            path: path.clone(),
            reload_interval: config.reload_interval(),
        },
        (None, None) => {
            anyhow::bail!("actor tokens need ACCESS_ACTOR_TOKEN_JWKS_URL or ACCESS_ACTOR_TOKEN_JWKS_FILE")
        }
    };
    let tokens = ActorTokens::start(ActorTokenSettings {
        issuers: actors.actor_token_issuers.clone(),
        audiences: actors.actor_token_audiences.clone(),
        keys,
        leeway: Duration::from_secs(actors.actor_token_leeway_secs),
        mfa: MfaClaims {
            amr: actors.actor_token_mfa_amr.clone(),
            acr: actors.actor_token_mfa_acr.clone(),
        },
    })
    .await
    .context("actor tokens")?;
    Ok(ActorTrust {
        tokens: Some(tokens),
        require_token,
    })
}
