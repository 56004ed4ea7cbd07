//! The change stream's queries (WatchChanges and the Redis publisher): the
//! changes of the activity log (rule 12 of docs/domain.md), read in commit
//! order.

use crate::domain::ids::AccountId;

/// Whose changes a change query or a watch reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeScope {
    /// One account.
    Account(AccountId),
    /// A team: the parent account and its children (those it has when each
    /// read runs, so a child created later joins).
    Team(AccountId),
    /// Every account (the platform).
    All,
}

/// Which changes to read: those of a scope after a point, in commit order.
#[derive(Clone, Debug)]
pub struct ChangeQuery {
    /// Whose.
    pub scope: ChangeScope,
    /// Only changes whose revision is above this one (meaningful for one account).
    pub after_revision: Option<u64>,
    /// Only changes after this internal position ([`ActivityRecord::seq`](super::ActivityRecord::seq)).
    pub after_seq: Option<i64>,
}
