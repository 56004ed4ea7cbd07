//! Client certificate identities that stand for API keys (mTLS): one name
//! of a verified certificate, of the type the entry names, mapped to a
//! caller name and scopes.
//!
//! Configuration format (ACCESS_TLS_CLIENT_IDENTITIES), the API keys' style:
//! entries separated by commas or new lines, each `name:scope+scope:type:value`;
//! `#` starts a comment. An identity may be bound to tenants as a key is,
//! account ids in brackets after its scopes (`name:read+write[acme]:type:value`).
//! The type says which of the certificate's names the
//! value is matched against, and only those:
//!
//! - `uri:` a URI subject alternative name, such as a SPIFFE id (exact);
//! - `dns:` a DNS subject alternative name (ASCII case ignored);
//! - `cn:` the subject's common name (exact), only when an entry asks for it.
//!
//! Every URI SAN and DNS SAN of a certificate is a candidate; a DNS name or a
//! CN that reads like a configured URI does not match it. A certificate
//! whose names match the entries of two callers is refused. An entry
//! without a type is refused at start-up.
//!
//! ```text
//! billing:platform:uri:spiffe://corp.example/ns/billing/sa/provisioner
//! campaigns:check:dns:campaigns.internal.example
//! ```

use std::fmt;

use anyhow::{Context, bail, ensure};

use super::api_keys::{Caller, Credential, entries, parse_caller};
use crate::tls::CertificateNames;

/// Longest identity value accepted in the configuration, and longest
/// description of a certificate's names echoed in a refusal.
pub const MAX_IDENTITY_LEN: usize = 512;

/// The entry shape, as refusals describe it.
const SHAPE: &str = "name:scope+scope:type:value";

/// Which of a certificate's names an entry is matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityType {
    /// A URI subject alternative name (`uri:`).
    Uri,
    /// A DNS subject alternative name (`dns:`).
    Dns,
    /// The subject's common name (`cn:`).
    Cn,
}

impl IdentityType {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "uri" => Some(Self::Uri),
            "dns" => Some(Self::Dns),
            "cn" => Some(Self::Cn),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Uri => "uri",
            Self::Dns => "dns",
            Self::Cn => "cn",
        }
    }
}

/// One configured identity: a typed name and the caller it stands for.
#[derive(Clone)]
struct Entry {
    kind: IdentityType,
    value: Box<str>,
    caller: Caller,
}

impl Entry {
    fn matches(&self, names: &CertificateNames) -> bool {
        let value = &*self.value;
        match self.kind {
            IdentityType::Uri => names.uris.iter().any(|uri| **uri == *value),
            IdentityType::Dns => names.dns_names.iter().any(|dns| dns.eq_ignore_ascii_case(value)),
            IdentityType::Cn => names.common_names.iter().any(|cn| **cn == *value),
        }
    }

    /// Whether `self` and `other` name the same identity.
    fn same_identity(&self, other: &Self) -> bool {
        self.kind == other.kind
            && match self.kind {
                IdentityType::Dns => self.value.eq_ignore_ascii_case(&other.value),
                IdentityType::Uri | IdentityType::Cn => self.value == other.value,
            }
    }
}

/// Why a certificate stands for no caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unmatched {
    /// None of its names is configured (with its type).
    Unknown,
    /// Its names match the entries of more than one caller.
    Ambiguous,
}

/// The configured identities; empty when none is mapped.
#[derive(Clone, Default)]
pub struct ClientIdentities {
    entries: Vec<Entry>,
}

impl fmt::Debug for ClientIdentities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|entry| {
                format!(
                    "{}:{}:{}",
                    entry.caller.describe(),
                    entry.kind.as_str(),
                    entry.value
                )
            }))
            .finish()
    }
}

impl ClientIdentities {
    /// Parses the configuration format described at the top of this module.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut parsed: Vec<Entry> = Vec::new();
        for (index, text) in entries(text).enumerate() {
            let entry = parse_entry(text).with_context(|| format!("client identity entry {}", index + 1))?;
            let name = entry.caller.name();
            ensure!(
                parsed.iter().all(|other| !other.same_identity(&entry)),
                "the client identity of '{name}' ({}:{}) is configured twice: one identity, one caller",
                entry.kind.as_str(),
                entry.value
            );
            ensure!(
                parsed.iter().all(|other| other.caller.name() != name),
                "client identity name '{name}' is configured twice"
            );
            parsed.push(entry);
        }
        Ok(Self { entries: parsed })
    }

    /// Whether no identity is mapped.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller a verified certificate's names stand for: the one caller
    /// whose entry one of them matches, with the entry's type.
    pub fn identify(&self, names: &CertificateNames) -> Result<Caller, Unmatched> {
        let mut matched = self.entries.iter().filter(|entry| entry.matches(names));
        let entry = matched.next().ok_or(Unmatched::Unknown)?;
        if matched.next().is_some() {
            return Err(Unmatched::Ambiguous);
        }
        Ok(entry.caller.clone())
    }
}

fn parse_entry(text: &str) -> anyhow::Result<Entry> {
    let (caller, identity) = parse_caller(text, Credential::ClientCertificate, SHAPE)?;
    let name = caller.name();
    let typed = identity
        .split_once(':')
        .and_then(|(kind, value)| Some((IdentityType::parse(kind.trim())?, value.trim())));
    let Some((kind, value)) = typed else {
        bail!(
            "'{name}': the identity must name its type: uri:<URI SAN>, dns:<DNS SAN> or cn:<subject CN> \
             (for example {name}:{}:uri:spiffe://corp.example/ns/billing/sa/api); an identity without a \
             type is not accepted",
            caller.scopes()
        );
    };
    ensure!(
        !value.is_empty() && value.len() <= MAX_IDENTITY_LEN,
        "'{name}' needs an identity of 1 to {MAX_IDENTITY_LEN} bytes after '{}:'",
        kind.as_str()
    );
    match kind {
        IdentityType::Uri => ensure!(
            value.contains(':'),
            "'{name}': a uri: identity is a URI with a scheme, such as spiffe://corp.example/ns/billing/sa/api"
        ),
        IdentityType::Dns => ensure!(
            value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '*')),
            "'{name}': a dns: identity is a DNS name (letters, digits, '-', '.'), such as billing.corp.example"
        ),
        IdentityType::Cn => {}
    }
    Ok(Entry {
        kind,
        value: Box::from(value),
        caller,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::middleware::KeyScope;

    fn names(uris: &[&str], dns_names: &[&str], common_names: &[&str]) -> CertificateNames {
        let boxed = |names: &[&str]| names.iter().map(|name| Box::from(*name)).collect();
        CertificateNames {
            uris: boxed(uris),
            dns_names: boxed(dns_names),
            common_names: boxed(common_names),
        }
    }

    fn name_of(ids: &ClientIdentities, names: &CertificateNames) -> Result<String, Unmatched> {
        ids.identify(names).map(|caller| caller.name().to_owned())
    }

    #[test]
    fn identities_map_to_named_callers_with_scopes() {
        let text = "# platform\nbilling:platform+check:uri:spiffe://corp.example/ns/billing/sa/api\n\
                    campaigns : check : dns : campaigns.internal.example, mailer:check:cn:Mailer Service";
        let ids = ClientIdentities::parse(text).expect("parses");
        let billing = ids
            .identify(&names(&["spiffe://corp.example/ns/billing/sa/api"], &[], &["x"]))
            .expect("mapped");
        assert_eq!(billing.name(), "billing");
        assert_eq!(billing.credential(), Credential::ClientCertificate);
        assert!(
            billing.holds(KeyScope::Platform)
                && billing.holds(KeyScope::Check)
                && !billing.holds(KeyScope::Write)
        );
        assert_eq!(
            name_of(&ids, &names(&[], &["campaigns.internal.example"], &[])),
            Ok("campaigns".into())
        );
        assert_eq!(
            name_of(&ids, &names(&[], &["Campaigns.Internal.Example"], &[])),
            Ok("campaigns".into()),
            "DNS names ignore ASCII case"
        );
        assert_eq!(
            name_of(&ids, &names(&[], &[], &["Mailer Service"])),
            Ok("mailer".into())
        );
        assert_eq!(
            name_of(&ids, &names(&["spiffe://corp.example/ns/billing/sa"], &[], &[])),
            Err(Unmatched::Unknown)
        );
        assert!(ClientIdentities::parse("").expect("empty").is_empty());
    }

    #[test]
    fn an_identity_may_be_bound_to_tenants() {
        let ids =
            ClientIdentities::parse("acme:read+write[acme]:uri:spiffe://corp/acme\nall:read:dns:all.corp")
                .expect("parses");
        assert_eq!(
            format!("{ids:?}"),
            r#"["acme:read+write[acme]:uri:spiffe://corp/acme", "all:read:dns:all.corp"]"#
        );
        let acme = ids
            .identify(&names(&["spiffe://corp/acme"], &[], &[]))
            .expect("mapped");
        let id = |raw: &str| crate::domain::ids::AccountId::from_trusted(raw.to_owned());
        assert!(acme.tenants().serves(&id("acme"), None));
        assert!(!acme.tenants().serves(&id("globex"), None));
        let all = ids.identify(&names(&[], &["all.corp"], &[])).expect("mapped");
        assert!(all.tenants().is_every());
        let err = format!(
            "{:#}",
            ClientIdentities::parse("acme:read[]:uri:spiffe://corp/acme").expect_err("empty")
        );
        assert!(
            err.contains("client identity entry 1") && err.contains("brackets are empty"),
            "{err}"
        );
    }

    #[test]
    fn every_uri_and_dns_name_is_a_candidate() {
        let ids =
            ClientIdentities::parse("billing:platform:uri:spiffe://corp/billing,web:check:dns:web.corp")
                .expect("parses");
        let later_uri = names(&["spiffe://corp/other", "spiffe://corp/billing"], &[], &[]);
        assert_eq!(name_of(&ids, &later_uri), Ok("billing".into()));
        let later_dns = names(&[], &["a.corp", "web.corp"], &[]);
        assert_eq!(name_of(&ids, &later_dns), Ok("web".into()));
    }

    #[test]
    fn a_name_matches_only_entries_of_its_type() {
        let ids = ClientIdentities::parse(
            "billing:platform:uri:spiffe://corp/billing\nweb:check:dns:web.corp\nops:check:cn:ops",
        )
        .expect("parses");
        for impostor in [
            names(&[], &["spiffe://corp/billing"], &[]),
            names(&[], &[], &["spiffe://corp/billing"]),
            names(&["web.corp"], &[], &["web.corp"]),
            names(&["ops"], &["ops"], &[]),
        ] {
            assert_eq!(name_of(&ids, &impostor), Err(Unmatched::Unknown), "{impostor}");
        }
    }

    #[test]
    fn names_that_match_two_callers_match_none() {
        let ids =
            ClientIdentities::parse("billing:platform:uri:spiffe://corp/billing,web:check:dns:web.corp")
                .expect("parses");
        let both = names(&["spiffe://corp/billing"], &["web.corp"], &[]);
        assert_eq!(name_of(&ids, &both), Err(Unmatched::Ambiguous));
    }

    #[test]
    fn bad_entries_are_refused() {
        for (text, words) in [
            ("billing:platform", "three parts"),
            ("billing:root:uri:x:y", "unknown scope 'root'"),
            ("billing:platform:uri:", "needs an identity"),
            ("billing:platform:spiffe://corp/billing", "must name its type"),
            ("billing:platform:billing.corp", "must name its type"),
            ("billing:platform:URI:spiffe://corp/billing", "must name its type"),
            ("billing:platform:uri:billing", "a URI with a scheme"),
            ("billing:platform:dns:spiffe://corp/billing", "a DNS name"),
            ("a:check:uri:x:y,b:check:uri:x:y", "configured twice"),
            ("a:check:dns:a.corp,b:check:dns:A.CORP", "configured twice"),
            ("a:check:uri:x:y,a:check:uri:x:z", "configured twice"),
        ] {
            let err = format!("{:#}", ClientIdentities::parse(text).expect_err(text));
            assert!(err.contains(words), "{text}: {err}");
        }
        // One value under two types is two identities.
        ClientIdentities::parse("a:check:dns:ops.corp,b:check:cn:ops.corp").expect("two identities");
        let err = format!(
            "{:#}",
            ClientIdentities::parse("billing:platform:spiffe://corp/billing").expect_err("untyped")
        );
        assert!(
            err.contains("client identity entry 1") && err.contains("billing:platform:uri:spiffe://"),
            "the refusal names the fix: {err}"
        );
    }
}
