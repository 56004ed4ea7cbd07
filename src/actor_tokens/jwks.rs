//! The issuer's JWKS URL: fetched over HTTPS (plain HTTP only to a loopback
//! host, for tests and sidecars), cached, fetched again when a token names
//! an unknown key (the issuer rotated) or the copy is older than its
//! maximum age, never more often than the refresh floor, and one fetch at a
//! time whatever the number of waiting tokens.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::Algorithm;

use super::TokenRefusal;
use super::keys::{KeySet, SigningKey};

/// Largest JWKS document read: a few keys are a few KB.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// How the JWKS URL is used.
#[derive(Clone, Debug)]
pub struct UrlSettings {
    /// The document's address.
    pub url: http::Uri,
    /// Shortest time between two fetches: a flood of tokens naming unknown
    /// keys costs the issuer one request per floor.
    pub refresh_floor: Duration,
    /// Age after which the keys are fetched again before use (a failed fetch
    /// keeps the old ones).
    pub max_age: Duration,
    /// Longest fetch, connection to last byte.
    pub timeout: Duration,
}

impl UrlSettings {
    /// Refuses an address that would fetch keys in the clear from another
    /// host: keys fetched over plain HTTP can be swapped on the way.
    pub fn check(&self) -> anyhow::Result<()> {
        let host = self.url.host().unwrap_or_default();
        match self.url.scheme_str() {
            Some("https") => Ok(()),
            Some("http") if is_loopback(host) => Ok(()),
            _ => anyhow::bail!(
                "ACCESS_ACTOR_TOKEN_JWKS_URL must be an https:// address (plain http:// only to a \
                 loopback host), not {}",
                self.url
            ),
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// The cached keys of a JWKS URL.
pub struct JwksUrl {
    settings: UrlSettings,
    client: HttpsClient,
    state: RwLock<Cached>,
    /// Held while fetching: one fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Cached {
    keys: Arc<KeySet>,
    /// When the keys in hand were fetched.
    fetched_at: Option<Instant>,
    /// When a fetch was last tried, whatever came of it.
    tried_at: Option<Instant>,
}

impl JwksUrl {
    /// A source for `settings`, with nothing fetched yet.
    pub fn new(settings: UrlSettings) -> anyhow::Result<Self> {
        settings.check()?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            settings,
            client: Client::builder(TokioExecutor::new()).build(connector),
            state: RwLock::new(Cached::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    fn cached(&self) -> (Arc<KeySet>, Option<Instant>, Option<Instant>) {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        (Arc::clone(&state.keys), state.fetched_at, state.tried_at)
    }

    /// The key a token names, fetching the document again when the key is
    /// unknown or the copy too old, as the floor allows.
    pub async fn key_for(
        &self,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<Option<SigningKey>, TokenRefusal> {
        let (keys, fetched_at, _) = self.cached();
        let fresh = fetched_at.is_some_and(|at| at.elapsed() < self.settings.max_age);
        if let Some(key) = keys.find(kid, algorithm)
            && fresh
        {
            return Ok(Some(key.clone()));
        }
        match self.refresh_unless_recent().await {
            Ok(()) => {}
            // Keys in hand still verify what they signed: an issuer that is
            // down for a while does not lock everyone out.
            Err(err) if !keys.is_empty() => {
                tracing::warn!(%err, "the actor token keys could not be fetched again; using the copy in hand");
                return Ok(keys.find(kid, algorithm).cloned());
            }
            Err(err) => return Err(TokenRefusal::KeysUnavailable(err.to_string())),
        }
        Ok(self.cached().0.find(kid, algorithm).cloned())
    }

    /// Fetches the document unless a fetch was tried within the floor (by
    /// this caller or one that held the lock before it).
    async fn refresh_unless_recent(&self) -> anyhow::Result<()> {
        let _one_at_a_time = self.fetching.lock().await;
        let (keys, _, tried_at) = self.cached();
        if tried_at.is_some_and(|at| at.elapsed() < self.settings.refresh_floor) {
            anyhow::ensure!(
                !keys.is_empty(),
                "the last fetch, less than {:?} ago, failed",
                self.settings.refresh_floor
            );
            return Ok(());
        }
        self.refresh().await
    }

    /// Fetches the document now and keeps its keys; a failure keeps the old ones.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let result = tokio::time::timeout(self.settings.timeout, self.fetch())
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {:?}", self.settings.timeout)));
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.tried_at = Some(Instant::now());
        let keys = result?;
        tracing::info!(keys = keys.len(), url = %self.settings.url, "actor token keys fetched");
        state.keys = Arc::new(keys);
        state.fetched_at = state.tried_at;
        Ok(())
    }

    async fn fetch(&self) -> anyhow::Result<KeySet> {
        let request = http::Request::get(self.settings.url.clone())
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::new())?;
        let response = self.client.request(request).await?;
        anyhow::ensure!(
            response.status().is_success(),
            "{} answered HTTP {}",
            self.settings.url,
            response.status()
        );
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|err| anyhow::anyhow!("reading the document: {err}"))?
            .to_bytes();
        let text = std::str::from_utf8(&body)?;
        KeySet::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> UrlSettings {
        UrlSettings {
            url: url.parse().expect("uri"),
            refresh_floor: Duration::from_secs(30),
            max_age: Duration::from_secs(3600),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(
            settings("https://idp.example.com/.well-known/jwks.json")
                .check()
                .is_ok()
        );
        assert!(settings("http://127.0.0.1:8080/jwks").check().is_ok());
        assert!(settings("http://[::1]:8080/jwks").check().is_ok());
        assert!(settings("http://localhost/jwks").check().is_ok());
        assert!(settings("http://idp.example.com/jwks").check().is_err());
        assert!(settings("http://10.0.0.1/jwks").check().is_err());
        assert!(settings("ftp://idp.example.com/jwks").check().is_err());
    }
}
