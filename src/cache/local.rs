//! The in-process layer: facts of (account, user) in memory, bounded by an
//! estimate of their size (moka), each valid only while no newer revision of
//! its account (or of its parent) has been heard of.
//!
//! Invalidation is by revision rather than by deleting entries: a write
//! raises the newest revision this process knows for each account it wrote
//! ([`LocalLayer::note`]), and an entry read at an older revision (of its
//! account, or of its parent for a child) is never served again. The same
//! check stops a fill that read the database before a write from storing
//! the older facts after it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use moka::sync::Cache as Moka;

use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::{AccessFacts, AccountRevision};

use super::stats::CacheStats;

/// Accounts whose newest revision is remembered before the whole layer is
/// dropped and started again (about 100 bytes each).
const MAX_KNOWN_ACCOUNTS: usize = 1_000_000;

/// What makes local entries valid: the newest revision heard of per account,
/// and the epoch, bumped when everything is dropped so fills that started
/// before cannot land after.
#[derive(Debug, Default)]
struct Known {
    epoch: u64,
    revisions: HashMap<AccountId, u64>,
}

impl Known {
    fn required(&self, account: &AccountId) -> u64 {
        self.revisions.get(account).copied().unwrap_or(0)
    }

    /// Whether facts of `account` are at least as new as every write heard of.
    fn current(&self, account: &AccountId, facts: &AccessFacts) -> bool {
        if facts.revision < self.required(account) {
            return false;
        }
        match facts
            .account
            .as_ref()
            .and_then(|a| a.parent_id.as_ref().zip(a.parent_revision))
        {
            Some((parent, revision)) => revision >= self.required(parent),
            None => true,
        }
    }
}

/// Separates the two ids in a key: no id holds a control character (ids
/// refuse them), so two distinct pairs never make the same key.
const KEY_SEPARATOR: char = '\0';

/// The key of (account, user): one string rather than a pair of ids, so a
/// lookup can borrow it from a reused buffer instead of cloning both ids
/// (two allocations a check, on the path that must cost no more than an
/// empty RPC).
fn write_key(into: &mut String, account: &AccountId, user: &UserId) {
    into.clear();
    into.push_str(account.as_str());
    into.push(KEY_SEPARATOR);
    into.push_str(user.as_str());
}

thread_local! {
    /// Each thread's buffer for the key of a lookup.
    static LOOKUP_KEY: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The in-process layer; `None` entries when disabled (ACCESS_CACHE_MAX_BYTES=0).
pub struct LocalLayer {
    entries: Option<Moka<String, Arc<AccessFacts>>>,
    known: RwLock<Known>,
    stats: Arc<CacheStats>,
}

/// Approximate bytes an entry holds, for the memory bound.
fn weight(key: &str, facts: &Arc<AccessFacts>) -> u32 {
    // Fixed parts: the key and facts structs, the Arc, moka's node and its
    // indexes, and allocator slack. Calibrated against the resident memory
    // `access-bench --cache-memory-entries 1000000` measures (about 750
    // bytes a typical entry), so ACCESS_CACHE_MAX_BYTES bounds real memory.
    const FIXED: usize = 64 + std::mem::size_of::<AccessFacts>() + 480;
    let mut bytes = FIXED + key.len();
    if let Some(account) = &facts.account {
        bytes += account.parent_id.as_ref().map_or(0, |p| p.as_str().len());
        bytes += account
            .shared_templates
            .iter()
            .chain(&account.shared_suppression_lists)
            .map(|t| t.as_str().len() + 24)
            .sum::<usize>();
    }
    if let Some(member) = &facts.membership {
        bytes += member.role.len();
        bytes += member
            .scopes
            .iter()
            .map(|(_, ids)| 48 + ids.iter().map(|id| id.as_str().len() + 48).sum::<usize>())
            .sum::<usize>();
    }
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl LocalLayer {
    /// A layer holding at most about `max_bytes` of entries, each for at most `ttl`.
    pub fn new(max_bytes: u64, ttl: Duration, stats: Arc<CacheStats>) -> Self {
        let entries = (max_bytes > 0).then(|| {
            Moka::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &String, facts: &Arc<AccessFacts>| weight(key, facts))
                .time_to_live(ttl)
                .build()
        });
        Self {
            entries,
            known: RwLock::new(Known::default()),
            stats,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Known> {
        self.known
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Known> {
        self.known
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The facts of (account, user), if held and current.
    pub fn get(&self, account: &AccountId, user: &UserId) -> Option<Arc<AccessFacts>> {
        let entries = self.entries.as_ref()?;
        let facts = LOOKUP_KEY.with_borrow_mut(|key| {
            write_key(key, account, user);
            entries.get(key.as_str())
        })?;
        self.read().current(account, &facts).then_some(facts)
    }

    /// Whether facts of `account` read elsewhere are at least as new as every
    /// write this process has heard of.
    pub fn current(&self, account: &AccountId, facts: &AccessFacts) -> bool {
        self.read().current(account, facts)
    }

    /// The epoch to pass to [`LocalLayer::insert`]: read it before reading
    /// the facts from anywhere else.
    pub fn epoch(&self) -> u64 {
        self.read().epoch
    }

    /// Keeps facts read elsewhere, unless everything was dropped since
    /// `epoch` or a newer revision has been heard of since they were read.
    pub fn insert(&self, account: &AccountId, user: &UserId, facts: Arc<AccessFacts>, epoch: u64) {
        let Some(entries) = &self.entries else {
            return;
        };
        // Held across the insert, so a note or a clear cannot slip between
        // the check and the insert.
        let known = self.read();
        if known.epoch == epoch && known.current(account, &facts) {
            let mut key = String::with_capacity(account.as_str().len() + 1 + user.as_str().len());
            write_key(&mut key, account, user);
            entries.insert(key, facts);
        }
    }

    /// Those of `revisions` newer than every write of their account this
    /// process has heard of.
    pub fn unheard(&self, revisions: &[AccountRevision]) -> Vec<AccountRevision> {
        let known = self.read();
        revisions
            .iter()
            .filter(|r| r.revision > known.required(&r.account))
            .cloned()
            .collect()
    }

    /// A write committed these revisions: older entries are no longer served.
    pub fn note(&self, revisions: &[AccountRevision]) {
        let mut known = self.write();
        for r in revisions {
            let slot = known.revisions.entry(r.account.clone()).or_insert(0);
            *slot = (*slot).max(r.revision);
        }
        if known.revisions.len() > MAX_KNOWN_ACCOUNTS {
            // Forgetting revisions is safe only with every entry gone too.
            known.revisions.clear();
            self.clear_locked(&mut known);
        }
    }

    /// Drops every entry: after a lapse, when invalidations may have been
    /// missed. The revisions heard of are kept: they are true of the
    /// database whatever happened since, and still refuse older entries.
    pub fn clear(&self) {
        let mut known = self.write();
        self.clear_locked(&mut known);
    }

    fn clear_locked(&self, known: &mut Known) {
        known.epoch += 1;
        if let Some(entries) = &self.entries {
            entries.invalidate_all();
        }
        self.stats.local_clear(1);
    }

    /// Entries held, and their estimated bytes (after pending maintenance).
    pub fn size(&self) -> (u64, u64) {
        match &self.entries {
            Some(entries) => {
                entries.run_pending_tasks();
                (entries.entry_count(), entries.weighted_size())
            }
            None => (0, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{AccountFacts, AccountState};

    fn facts(revision: u64, parent_revision: Option<u64>) -> AccessFacts {
        AccessFacts {
            revision,
            account: Some(AccountFacts {
                parent_id: parent_revision.map(|_| AccountId::from_trusted("team".into())),
                parent_revision,
                shared_templates: Vec::new(),
                shared_suppression_lists: Vec::new(),
                state: AccountState::Open,
                require_two_factor: false,
            }),
            membership: None,
            owned_parent_state: None,
        }
    }

    fn ids() -> (AccountId, UserId) {
        (
            AccountId::from_trusted("a".into()),
            UserId::from_trusted("u".into()),
        )
    }

    fn revision(account: &str, revision: u64) -> AccountRevision {
        AccountRevision {
            account: AccountId::from_trusted(account.into()),
            revision,
        }
    }

    fn layer() -> LocalLayer {
        LocalLayer::new(1 << 20, Duration::from_secs(60), Arc::default())
    }

    #[test]
    fn a_write_heard_of_hides_older_entries_and_refuses_older_fills() {
        let (a, u) = ids();
        let local = layer();
        local.insert(&a, &u, Arc::new(facts(5, None)), local.epoch());
        assert_eq!(local.get(&a, &u).map(|f| f.revision), Some(5));
        local.note(&[revision("a", 6)]);
        assert!(local.get(&a, &u).is_none(), "older than the write");
        // A fill that read the database before the write, landing after it.
        local.insert(&a, &u, Arc::new(facts(5, None)), local.epoch());
        assert!(local.get(&a, &u).is_none());
        local.insert(&a, &u, Arc::new(facts(6, None)), local.epoch());
        assert_eq!(local.get(&a, &u).map(|f| f.revision), Some(6));
    }

    #[test]
    fn a_parent_write_hides_its_childrens_entries() {
        let (a, u) = ids();
        let local = layer();
        local.insert(&a, &u, Arc::new(facts(5, Some(2))), local.epoch());
        local.note(&[revision("team", 3)]);
        assert!(local.get(&a, &u).is_none());
    }

    #[test]
    fn a_fill_from_before_a_clear_is_dropped() {
        let (a, u) = ids();
        let local = layer();
        let epoch = local.epoch();
        local.clear();
        local.insert(&a, &u, Arc::new(facts(5, None)), epoch);
        assert!(local.get(&a, &u).is_none());
    }

    #[test]
    fn pairs_that_join_to_the_same_text_are_different_keys() {
        let local = layer();
        let id = |account: &str, user: &str| {
            (
                AccountId::from_trusted(account.into()),
                UserId::from_trusted(user.into()),
            )
        };
        let (ab, c) = id("ab", "c");
        let (a, bc) = id("a", "bc");
        local.insert(&ab, &c, Arc::new(facts(5, None)), local.epoch());
        assert_eq!(local.get(&ab, &c).map(|f| f.revision), Some(5));
        assert!(local.get(&a, &bc).is_none());
    }
}
