//! TLS on the gRPC listener (rustls with ring, no OpenSSL): the server's
//! certificate chain and key from PEM files, read again when they change;
//! optionally client certificates (mTLS) checked against a CA, read again
//! too (`client_ca.rs`), whose verified names (URI SANs, DNS SANs, CN, each
//! typed) can stand for an API key (see `grpc::middleware::ClientIdentities`).

mod client_ca;
mod identity;
mod incoming;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use client_ca::ReloadingClientVerifier;
pub use identity::{CertificateNames, names_of};
pub use incoming::{TlsConn, TlsConnectionInfo, incoming};

pub use crate::config::ClientAuth;
use crate::reload::Reloading;

/// The TLS settings of the listener.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// PEM certificate chain, the server's own certificate first.
    pub cert_file: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of that certificate.
    pub key_file: PathBuf,
    /// PEM certificates of the CA that signs client certificates; none: no mTLS.
    pub client_ca_file: Option<PathBuf>,
    /// Whether a client certificate is required (with a client CA).
    pub client_auth: ClientAuth,
    /// How often the certificate files are looked at for a change, at most.
    pub reload_interval: Duration,
}

/// The ring provider, named so that nothing depends on a process-wide default
/// (the tree links one crypto backend, but a second would make that ambiguous).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the acceptor of the listener: reads the certificate, key and client
/// CA now (a bad file fails start-up), and serves HTTP/2 only (ALPN `h2`).
pub fn acceptor(settings: &TlsSettings) -> anyhow::Result<TlsAcceptor> {
    let provider = provider();
    let resolver = ReloadingCert(Reloading::watch(
        "the TLS certificate (ACCESS_TLS_CERT_FILE, ACCESS_TLS_KEY_FILE)",
        vec![settings.cert_file.clone(), settings.key_file.clone()],
        settings.reload_interval,
        {
            let provider = Arc::clone(&provider);
            move |paths| certified_key(&paths[0], &paths[1], &provider)
        },
    )?);
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .context("the TLS provider supports no protocol version")?;
    let builder = match &settings.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(path) => builder.with_client_cert_verifier(Arc::new(ReloadingClientVerifier::watch(
            path.clone(),
            settings.client_auth,
            settings.reload_interval,
            Arc::clone(&provider),
        )?)),
    };
    let mut config = builder.with_cert_resolver(Arc::new(resolver));
    // gRPC is HTTP/2 only: a client offering only HTTP/1.1 is refused in the handshake.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Reads a PEM chain and its key, checking that they belong together.
fn certified_key(
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "cannot read certificates from ACCESS_TLS_CERT_FILE {}",
                cert_file.display()
            )
        })?;
    ensure!(
        !chain.is_empty(),
        "ACCESS_TLS_CERT_FILE {} holds no PEM certificate",
        cert_file.display()
    );
    let key = PrivateKeyDer::from_pem_file(key_file).with_context(|| {
        format!(
            "cannot read a private key from ACCESS_TLS_KEY_FILE {}",
            key_file.display()
        )
    })?;
    CertifiedKey::from_der(chain, key, provider).with_context(|| {
        format!(
            "the key in {} does not fit the certificate in {} (or its type is not supported)",
            key_file.display(),
            cert_file.display()
        )
    })
}

/// The server certificate, read again from its files when they change: each
/// new handshake gets the version in force, connections already open keep
/// theirs.
#[derive(Debug)]
struct ReloadingCert(Reloading<CertifiedKey>);

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current())
    }
}
