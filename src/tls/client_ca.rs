//! The client CA of mTLS (ACCESS_TLS_CLIENT_CA_FILE), read again when its
//! file changes, as the server certificate is: a CA rotated in a mounted
//! Secret reaches new handshakes without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, ensure};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use super::ClientAuth;
use crate::reload::Reloading;

/// Checks client certificates against the CA in force: each method asks the
/// verifier built from the file's current version. A handshake under way
/// while the file changes may have its hints from one version and its
/// verdict from the next; the verdict is always by a CA in force.
#[derive(Debug)]
pub(super) struct ReloadingClientVerifier {
    verifier: Reloading<Arc<dyn ClientCertVerifier>>,
    hints: HintLists,
}

impl ReloadingClientVerifier {
    /// Reads the CA file now (a bad file fails start-up), then again when it
    /// changes, looked at no more than every `interval`.
    pub(super) fn watch(
        path: PathBuf,
        auth: ClientAuth,
        interval: Duration,
        provider: Arc<CryptoProvider>,
    ) -> anyhow::Result<Self> {
        let verifier = Reloading::watch(
            "the client CA (ACCESS_TLS_CLIENT_CA_FILE)",
            vec![path],
            interval,
            move |paths| client_verifier(&paths[0], auth, &provider),
        )?;
        let hints = HintLists::new(verifier.current().root_hint_subjects().to_vec());
        Ok(Self { verifier, hints })
    }

    fn current(&self) -> Arc<Arc<dyn ClientCertVerifier>> {
        self.verifier.current()
    }
}

impl ClientCertVerifier for ReloadingClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.current().offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.current().client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.hints.intern(self.current().root_hint_subjects())
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.current().verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.current().supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.current().requires_raw_public_keys()
    }
}

/// Every distinct list of CA names the verifier has hinted, kept as long as
/// the verifier: `root_hint_subjects` lends its answer for as long as the
/// verifier is borrowed, longer than a version replaced meanwhile lives. The
/// list grows by one entry per distinct CA file, not per reload.
#[derive(Debug)]
struct HintLists {
    subjects: Vec<DistinguishedName>,
    next: OnceLock<Box<HintLists>>,
}

impl HintLists {
    fn new(subjects: Vec<DistinguishedName>) -> Self {
        Self {
            subjects,
            next: OnceLock::new(),
        }
    }

    /// The kept list equal to `subjects`, appended first if there is none.
    fn intern(&self, subjects: &[DistinguishedName]) -> &[DistinguishedName] {
        let mut list = self;
        loop {
            let same = list.subjects.len() == subjects.len()
                && list
                    .subjects
                    .iter()
                    .zip(subjects)
                    .all(|(kept, asked)| kept.as_ref() == asked.as_ref());
            if same {
                return &list.subjects;
            }
            // Lock-free append: a concurrent caller that appended first is
            // compared on the next turn.
            list = list.next.get_or_init(|| Box::new(Self::new(subjects.to_vec())));
        }
    }
}

/// The verifier of client certificates signed by the CA(s) in `path`.
fn client_verifier(
    path: &Path,
    auth: ClientAuth,
    provider: &Arc<CryptoProvider>,
) -> anyhow::Result<Arc<dyn ClientCertVerifier>> {
    let roots = Arc::new(client_roots(path)?);
    let verifier = WebPkiClientVerifier::builder_with_provider(roots, Arc::clone(provider));
    let verifier = match auth {
        ClientAuth::Required => verifier,
        ClientAuth::Optional => verifier.allow_unauthenticated(),
    };
    verifier
        .build()
        .with_context(|| format!("cannot use ACCESS_TLS_CLIENT_CA_FILE {}", path.display()))
}

fn client_roots(path: &Path) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read ACCESS_TLS_CLIENT_CA_FILE {}", path.display()))?;
    for cert in certs {
        roots.add(cert).with_context(|| {
            format!(
                "a certificate in ACCESS_TLS_CLIENT_CA_FILE {} is not usable",
                path.display()
            )
        })?;
    }
    ensure!(
        !roots.is_empty(),
        "ACCESS_TLS_CLIENT_CA_FILE {} holds no PEM certificate",
        path.display()
    );
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<DistinguishedName> {
        names
            .iter()
            .map(|name| DistinguishedName::from(name.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn hint_lists_are_kept_once_each() {
        let hints = HintLists::new(names(&["old"]));
        let new = hints.intern(&names(&["new"]));
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].as_ref(), b"new");
        let again = hints.intern(&names(&["new"]));
        assert!(std::ptr::eq(new, again), "an equal list is the one kept");
        let old = hints.intern(&names(&["old"]));
        assert!(std::ptr::eq(old, hints.subjects.as_slice()));
        assert!(hints.intern(&[]).is_empty());
        let mut kept = 0;
        let mut list = Some(&hints);
        while let Some(node) = list {
            kept += 1;
            list = node.next.get().map(|next| &**next);
        }
        assert_eq!(kept, 3, "old, new and the empty list");
    }
}
