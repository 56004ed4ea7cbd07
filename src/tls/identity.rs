//! The identity a verified client certificate stands for.

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// The identity of a client certificate (DER): its first URI subject
/// alternative name (a SPIFFE id such as `spiffe://corp.example/ns/billing/sa/api`),
/// else its first DNS name, else its subject's common name. `None` when the
/// certificate names none of them (or cannot be parsed, which rustls, having
/// verified it, would not have let through).
pub fn identity_of(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        let names = &san.value.general_names;
        let uri = names.iter().find_map(|name| {
            if let GeneralName::URI(uri) = name {
                Some(*uri)
            } else {
                None
            }
        });
        let dns = || {
            names.iter().find_map(|name| {
                if let GeneralName::DNSName(dns) = name {
                    Some(*dns)
                } else {
                    None
                }
            })
        };
        if let Some(name) = uri.or_else(dns) {
            return Some(name.to_owned());
        }
    }
    cert.subject()
        .iter_common_name()
        .find_map(|cn| cn.as_str().ok())
        .map(str::to_owned)
}
