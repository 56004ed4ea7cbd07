//! Revisions and consistency (docs/domain.md rule 11): every committed write
//! bumps the revision of each account it changed, and a check can ask to be
//! answered from state at least that new.

use crate::domain::ids::AccountId;

/// The revision of one account: how many writes have been committed to it.
/// Revisions only grow, so "at least as new" is a comparison.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountRevision {
    /// The account.
    pub account: AccountId,
    /// Its revision.
    pub revision: u64,
}

/// A set of account revisions: what a write returns (the revisions it made)
/// and what an answer was computed at. A caller passes it back on a check to
/// be answered from state at least that new. Encoded as an opaque string at
/// the edge (`grpc::convert`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConsistencyToken(pub Vec<AccountRevision>);

impl ConsistencyToken {
    /// The revision the token requires of `account`, if it names it.
    pub fn revision_of(&self, account: &AccountId) -> Option<u64> {
        self.0
            .iter()
            .filter(|r| &r.account == account)
            .map(|r| r.revision)
            .max()
    }

    /// True when the token names no account (a write that changed nothing).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How fresh the answer to a check must be.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Consistency {
    /// The fastest answer: from any cache layer, still never older than a
    /// write that has returned to its caller (the service's own guarantee).
    #[default]
    MinimizeLatency,
    /// At least as new as the revisions in the token (read-your-writes
    /// across services, even if the guarantee above were ever weakened).
    AtLeastAsFresh(ConsistencyToken),
    /// Straight from the database.
    Full,
}

/// What a committed write changed: the new revision of each account it
/// wrote, and the child accounts of those, whose decisions depend on their
/// parent (rule 4's parent owner, closure, shared templates).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteReceipt {
    /// Accounts written, with their new revisions.
    pub revisions: Vec<AccountRevision>,
    /// Children of the accounts written.
    pub children: Vec<AccountId>,
}

impl WriteReceipt {
    /// The token a caller gets back: the revisions this write made.
    pub fn token(&self) -> ConsistencyToken {
        ConsistencyToken(self.revisions.clone())
    }
}

/// What a write use case returns: its result, and the token of the
/// revisions it made, for the caller to pass back on a check (rule 11).
/// The token is empty when the call changed nothing and did not commit
/// (e.g. an idempotent CreateAccount retry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written<T> {
    /// The use case's result.
    pub value: T,
    /// The revisions this write made; empty when it made none.
    pub token: ConsistencyToken,
}

impl<T> Written<T> {
    /// A result of a committed write, with the revisions it made.
    pub fn new(value: T, token: ConsistencyToken) -> Self {
        Self { value, token }
    }

    /// A result of a call that changed nothing: the token is empty.
    pub fn unchanged(value: T) -> Self {
        Self::new(value, ConsistencyToken::default())
    }
}
