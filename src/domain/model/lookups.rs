//! The lookups: the accounts where a user may do a permission, the
//! resources they may act on, and the people who may do it in an account.
//! Each answer is the one Authorize would give for every pair it covers.

use super::consistency::ConsistencyToken;
use super::decisions::Reason;
use crate::domain::ids::{AccountId, ResourceId, UserId};

/// The resources of one type a user may act on with one permission, as a
/// filter the caller applies to its own query: a resource is allowed
/// exactly when a check naming it would be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceFilter {
    /// Every resource but `excluded` (shared from the parent, and not
    /// changeable with this permission).
    All {
        /// Refused all the same, sorted.
        excluded: Vec<ResourceId>,
        /// Shared from the parent and allowed, sorted.
        shared: Vec<ResourceId>,
    },
    /// Only these (the user's scope on the type).
    Only {
        /// Allowed, sorted, shared ones included.
        ids: Vec<ResourceId>,
        /// Shared from the parent and allowed, sorted.
        shared: Vec<ResourceId>,
    },
    /// Nothing.
    None,
}

impl ResourceFilter {
    /// Whether the filter lets the resource with `id` through.
    pub fn admits(&self, id: &ResourceId) -> bool {
        match self {
            Self::All { excluded, .. } => excluded.binary_search(id).is_err(),
            Self::Only { ids, .. } => ids.binary_search(id).is_ok(),
            Self::None => false,
        }
    }
}

/// The answer about the resources of one type in one account.
#[derive(Clone, Debug)]
pub struct ResourceLookup {
    /// What the user may act on.
    pub filter: ResourceFilter,
    /// Allowed when the user holds the permission there at all; otherwise
    /// why not (the filter is then `None`).
    pub reason: Reason,
    /// The deciding role.
    pub role: Option<String>,
    /// Parent account whose ownership applies.
    pub via_parent: Option<AccountId>,
    /// The revisions of the state the answer was computed from.
    pub computed_at: ConsistencyToken,
}

/// An account where the user may do the permission.
#[derive(Clone, Debug)]
pub struct AccountLookup {
    /// The account.
    pub account: AccountId,
    /// The role that grants it.
    pub role: String,
    /// Parent account whose ownership applies.
    pub via_parent: Option<AccountId>,
    /// The revisions the entry was computed from.
    pub computed_at: ConsistencyToken,
    /// The resources of the type asked about, when one was.
    pub resources: Option<ResourceFilter>,
}

/// A person who may do the permission in an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberLookup {
    /// Who.
    pub user: UserId,
    /// The role that grants it.
    pub role: String,
    /// The parent account, for the parent's owner.
    pub via_parent: Option<AccountId>,
}
