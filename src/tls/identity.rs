//! The names a verified client certificate holds, each with its type: a
//! caller is matched through one type of name only (see
//! `grpc::middleware::ClientIdentities`), so a DNS name or a common name
//! never stands for a URI that happens to read the same.

use std::fmt;

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// The names of a client certificate, in the certificate's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertificateNames {
    /// Its URI subject alternative names (SPIFFE ids such as
    /// `spiffe://corp.example/ns/billing/sa/api`).
    pub uris: Vec<Box<str>>,
    /// Its DNS subject alternative names.
    pub dns_names: Vec<Box<str>>,
    /// Its subject's common names (almost always one).
    pub common_names: Vec<Box<str>>,
}

impl CertificateNames {
    /// Whether the certificate holds no name of these types.
    pub fn is_empty(&self) -> bool {
        self.uris.is_empty() && self.dns_names.is_empty() && self.common_names.is_empty()
    }
}

/// `uri:…, dns:…, cn:…`: the names in the configuration's typed form.
impl fmt::Display for CertificateNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let typed = (self.uris.iter().map(|name| ("uri", name)))
            .chain(self.dns_names.iter().map(|name| ("dns", name)))
            .chain(self.common_names.iter().map(|name| ("cn", name)));
        for (index, (kind, name)) in typed.enumerate() {
            let separator = if index == 0 { "" } else { ", " };
            write!(f, "{separator}{kind}:{name}")?;
        }
        Ok(())
    }
}

/// The names of a client certificate (DER). `None` when it holds none of
/// them (or cannot be parsed, which rustls, having verified it, would not
/// have let through).
pub fn names_of(der: &[u8]) -> Option<CertificateNames> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut names = CertificateNames::default();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            // Other kinds (e-mail, IP address, directory name) stand for no caller.
            if let GeneralName::URI(uri) = name {
                names.uris.push(Box::from(*uri));
            } else if let GeneralName::DNSName(dns) = name {
                names.dns_names.push(Box::from(*dns));
            }
        }
    }
    names.common_names = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .map(Box::from)
        .collect();
    (!names.is_empty()).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_in_the_typed_form_of_the_configuration() {
        let names = CertificateNames {
            uris: vec!["spiffe://corp/a".into()],
            dns_names: vec!["a.corp".into(), "b.corp".into()],
            common_names: vec!["a".into()],
        };
        assert_eq!(
            names.to_string(),
            "uri:spiffe://corp/a, dns:a.corp, dns:b.corp, cn:a"
        );
        assert!(CertificateNames::default().is_empty());
    }
}
