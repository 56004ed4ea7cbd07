//! Every Redis key and channel name, built here and nowhere else: the
//! cache (its layers and the coherence protocol) and the change stream's
//! publisher both import it, so neither depends on the other.
//!
//! An account's keys share the hash tag `{a:<account>}`, so on Redis Cluster
//! they live in one slot and one script can read and write them together.
//! The coherence keys (leases, revocations, epoch) share `{coherence}`.

use crate::domain::ids::AccountId;

/// Key builder for one namespace (`ACCESS_REDIS_NAMESPACE`), so that several
/// deployments (or test runs) can share a Redis without meeting.
#[derive(Clone, Debug)]
pub struct Keys {
    namespace: String,
}

impl Keys {
    /// Keys under `namespace`.
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
        }
    }

    /// Hash of an account's cached facts, one field per user id.
    pub fn facts(&self, account: &AccountId) -> String {
        format!("{}:{{a:{account}}}:facts", self.namespace)
    }

    /// An account's generation: bumped by every write that can change a
    /// decision in the account, compared by fills and lookups.
    pub fn generation(&self, account: &AccountId) -> String {
        format!("{}:{{a:{account}}}:gen", self.namespace)
    }

    /// Sorted set of replica leases, scored by expiry (Redis time, ms).
    pub fn leases(&self) -> String {
        format!("{}:{{coherence}}:leases", self.namespace)
    }

    /// Set of replicas whose lease a writer revoked.
    pub fn revoked(&self) -> String {
        format!("{}:{{coherence}}:revoked", self.namespace)
    }

    /// The cache epoch: bumped when no replica held a live lease, which is
    /// when writes may have committed without reaching Redis.
    pub fn epoch(&self) -> String {
        format!("{}:{{coherence}}:epoch", self.namespace)
    }

    /// The last database fence generation whose epoch move was made.
    pub fn fence(&self) -> String {
        format!("{}:{{coherence}}:fence", self.namespace)
    }

    /// Channel every write's invalidation is published on.
    pub fn invalidations(&self) -> String {
        format!("{}:invalidations", self.namespace)
    }

    /// Channel a replica receives acknowledgements of its writes on.
    pub fn acks(&self, replica: &str) -> String {
        format!("{}:acks:{replica}", self.namespace)
    }

    /// The change stream (`ACCESS_CHANGE_STREAM`), e.g. `access:{changes}`.
    pub fn change_stream(&self, name: &str) -> String {
        format!("{}:{{{name}}}", self.namespace)
    }

    /// The last change published to the stream `name`: beside it (one hash
    /// tag), so one script moves both.
    pub fn change_cursor(&self, name: &str) -> String {
        format!("{}:{{{name}}}:cursor", self.namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The part of a key Redis Cluster hashes: between the first `{` and the next `}`.
    fn hash_tag(key: &str) -> &str {
        let open = key.find('{').unwrap();
        let close = open + key[open..].find('}').unwrap();
        &key[open + 1..close]
    }

    #[test]
    fn an_accounts_keys_share_one_slot_and_coherence_keys_another() {
        let keys = Keys::new("access");
        for id in ["acme", "we}ird{id"] {
            let account = AccountId::from_trusted(id.into());
            assert_eq!(
                hash_tag(&keys.facts(&account)),
                hash_tag(&keys.generation(&account))
            );
        }
        assert_eq!(hash_tag(&keys.leases()), hash_tag(&keys.revoked()));
        assert_eq!(hash_tag(&keys.leases()), hash_tag(&keys.epoch()));
        assert_eq!(hash_tag(&keys.leases()), hash_tag(&keys.fence()));
        assert_eq!(
            hash_tag(&keys.change_stream("changes")),
            hash_tag(&keys.change_cursor("changes"))
        );
    }
}
