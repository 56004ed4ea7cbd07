//! Client certificate identities that stand for API keys (mTLS): a verified
//! certificate's identity (see `tls::identity_of`: URI SAN such as a SPIFFE
//! id, else DNS SAN, else CN) mapped to a caller name and scopes.
//!
//! Configuration format (ACCESS_TLS_CLIENT_IDENTITIES), the API keys' style:
//! entries separated by commas or new lines, each `name:scope+scope:identity`
//! (the identity is everything after the second ':', so URIs fit); `#`
//! starts a comment.
//!
//! ```text
//! billing:platform:spiffe://corp.example/ns/billing/sa/provisioner
//! campaigns:check:campaigns.internal.example
//! ```

use std::fmt;

use anyhow::{Context, ensure};

use super::api_keys::{Caller, Credential, entries, parse_caller};

/// Longest identity accepted in the configuration (and echoed in refusals).
pub const MAX_IDENTITY_LEN: usize = 512;

/// The configured identities; empty when none is mapped.
#[derive(Clone, Default)]
pub struct ClientIdentities {
    entries: Vec<(Box<str>, Caller)>,
}

impl fmt::Debug for ClientIdentities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.entries
                    .iter()
                    .map(|(identity, caller)| format!("{}:{}:{identity}", caller.name(), caller.scopes())),
            )
            .finish()
    }
}

impl ClientIdentities {
    /// Parses the configuration format described at the top of this module.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut parsed: Vec<(Box<str>, Caller)> = Vec::new();
        for (index, entry) in entries(text).enumerate() {
            let (caller, identity) =
                parse_caller(entry, Credential::ClientCertificate, "name:scope+scope:identity")
                    .with_context(|| format!("client identity entry {}", index + 1))?;
            let name = caller.name();
            ensure!(
                !identity.is_empty() && identity.len() <= MAX_IDENTITY_LEN,
                "client identity entry {}: '{name}' needs an identity of 1 to {MAX_IDENTITY_LEN} bytes",
                index + 1
            );
            ensure!(
                parsed.iter().all(|(other, _)| **other != *identity),
                "the client identity of '{name}' is configured twice: one identity, one caller"
            );
            ensure!(
                parsed.iter().all(|(_, other)| other.name() != name),
                "client identity name '{name}' is configured twice"
            );
            parsed.push((Box::from(identity), caller));
        }
        Ok(Self { entries: parsed })
    }

    /// Whether no identity is mapped.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller a verified certificate identity stands for (exact match).
    pub fn identify(&self, identity: &str) -> Option<Caller> {
        self.entries
            .iter()
            .find(|(known, _)| **known == *identity)
            .map(|(_, caller)| caller.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::middleware::KeyScope;

    #[test]
    fn identities_map_to_named_callers_with_scopes() {
        let text = "# platform\nbilling:platform+check:spiffe://corp.example/ns/billing/sa/api\n\
                    campaigns : check : campaigns.internal.example";
        let ids = ClientIdentities::parse(text).expect("parses");
        let billing = ids
            .identify("spiffe://corp.example/ns/billing/sa/api")
            .expect("mapped");
        assert_eq!(billing.name(), "billing");
        assert_eq!(billing.credential(), Credential::ClientCertificate);
        assert!(
            billing.holds(KeyScope::Platform)
                && billing.holds(KeyScope::Check)
                && !billing.holds(KeyScope::Admin)
        );
        assert_eq!(
            ids.identify("campaigns.internal.example")
                .map(|c| c.name().to_owned()),
            Some("campaigns".into())
        );
        assert_eq!(ids.identify("spiffe://corp.example/ns/billing/sa"), None);
        assert!(ClientIdentities::parse("").expect("empty").is_empty());
    }

    #[test]
    fn bad_entries_are_refused() {
        for (text, words) in [
            ("billing:platform", "three parts"),
            ("billing:root:x", "unknown scope 'root'"),
            ("billing:platform:", "needs an identity"),
            ("a:check:x,b:check:x", "configured twice"),
            ("a:check:x,a:check:y", "configured twice"),
        ] {
            let err = format!("{:#}", ClientIdentities::parse(text).expect_err(text));
            assert!(err.contains(words), "{text}: {err}");
        }
    }
}
