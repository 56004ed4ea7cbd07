//! The test PKI of the TLS tests: certificate authorities and certificates
//! made with rcgen, the files a server reads, and TLS clients.

use std::path::PathBuf;

use access_service::Config;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// A certificate authority of the test's own.
pub(crate) struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, in PEM.
pub(crate) struct Leaf {
    pub(crate) cert: String,
    pub(crate) key: String,
}

impl Ca {
    pub(crate) fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    pub(crate) fn pem(&self) -> String {
        self.issuer.pem()
    }

    pub(crate) fn issue(
        &self,
        common_name: &str,
        sans: Vec<SanType>,
        purpose: ExtendedKeyUsagePurpose,
    ) -> Leaf {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// A server certificate for `localhost` (what the clients below check).
    pub(crate) fn server(&self) -> Leaf {
        let sans = vec![SanType::DnsName("localhost".try_into().expect("a DNS name"))];
        self.issue("localhost", sans, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate whose identity is the URI `uri`.
    pub(crate) fn client_uri(&self, uri: &str) -> Leaf {
        let sans = vec![SanType::URI(uri.try_into().expect("an IA5 URI"))];
        self.issue("ignored-cn", sans, ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// The files a server reads, removed with the directory when dropped.
pub(crate) struct Files {
    dir: PathBuf,
}

impl Files {
    pub(crate) fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("access-tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a directory for the test's files");
        Self { dir }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `name` as an operator (or Kubernetes) replaces a file: a new
    /// file renamed over the old one.
    pub(crate) fn put(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        let next = self.path(&format!("{name}.next"));
        std::fs::write(&next, text).expect("write");
        std::fs::rename(&next, &path).expect("rename");
        path
    }

    /// The server's certificate and key files, set in `config`.
    pub(crate) fn serve_with(&self, leaf: &Leaf, config: &mut Config) {
        config.tls_key_file = Some(self.put("server.key", &leaf.key));
        config.tls_cert_file = Some(self.put("server.pem", &leaf.cert));
        // Every handshake looks at the files: the reload test need not wait.
        config.reload_interval_ms = 0;
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TLS connection to `addr` trusting `ca`, presenting `client` if given.
pub(crate) async fn tls_channel(
    addr: std::net::SocketAddr,
    ca: &str,
    client: Option<&Leaf>,
) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some(leaf) = client {
        tls = tls.identity(Identity::from_pem(&leaf.cert, &leaf.key));
    }
    Channel::from_shared(format!("https://{addr}"))
        .expect("a URI")
        .tls_config(tls)
        .map_err(|err| format!("{err:?}"))?
        .connect()
        .await
        .map_err(|err| format!("{err:?}"))
}
