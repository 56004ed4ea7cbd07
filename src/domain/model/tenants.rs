//! The tenants a caller (an API key, a client certificate identity) serves:
//! every account, or only some accounts and teams. Which accounts that
//! covers is decided here; the use cases hold every request to it.

use std::sync::Arc;

use crate::domain::ids::AccountId;

/// The accounts a caller may act in and read: every one, or those listed
/// and, for a listed team root, its children (a team is one level deep, so
/// an account is covered when it or its parent is listed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Tenants {
    /// Every account: an entry without a limit.
    #[default]
    Every,
    /// The listed accounts and the children of those that are team roots;
    /// sorted and without duplicates, never empty.
    Only(Arc<[AccountId]>),
}

impl Tenants {
    /// The listed accounts (and their children); `None` for an empty list,
    /// which would serve nothing.
    pub fn only(ids: impl IntoIterator<Item = AccountId>) -> Option<Self> {
        let mut ids: Vec<AccountId> = ids.into_iter().collect();
        ids.sort();
        ids.dedup();
        (!ids.is_empty()).then(|| Self::Only(ids.into()))
    }

    /// Whether the caller serves `account`, whose team parent is `parent`
    /// (`None` for a team root, and for an account that does not exist, so
    /// that an unknown account outside the list is refused exactly as a
    /// foreign one is). No I/O: the parent comes with the facts or the
    /// account the use case read anyway.
    pub fn serves(&self, account: &AccountId, parent: Option<&AccountId>) -> bool {
        match self {
            Self::Every => true,
            Self::Only(ids) => {
                ids.binary_search(account).is_ok() || parent.is_some_and(|p| ids.binary_search(p).is_ok())
            }
        }
    }

    /// Whether the caller serves every account.
    pub fn is_every(&self) -> bool {
        matches!(self, Self::Every)
    }

    /// The listed accounts, or `None` for every account.
    pub fn listed(&self) -> Option<&[AccountId]> {
        match self {
            Self::Every => None,
            Self::Only(ids) => Some(ids),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: &str) -> AccountId {
        AccountId::from_trusted(raw.to_owned())
    }

    #[test]
    fn a_listed_team_root_covers_its_children_and_nothing_else() {
        let tenants = Tenants::only([id("team"), id("solo"), id("team")]).expect("not empty");
        assert_eq!(tenants.listed().map(<[AccountId]>::len), Some(2));
        assert!(tenants.serves(&id("team"), None));
        assert!(tenants.serves(&id("child"), Some(&id("team"))));
        assert!(tenants.serves(&id("solo"), None));
        assert!(
            !tenants.serves(&id("other"), None),
            "an unknown account is not served"
        );
        assert!(!tenants.serves(&id("child"), Some(&id("other"))));
        // A listed child serves that child only, not its parent or siblings.
        let child = Tenants::only([id("child")]).expect("not empty");
        assert!(child.serves(&id("child"), Some(&id("team"))));
        assert!(!child.serves(&id("team"), None));
        assert!(!child.serves(&id("sibling"), Some(&id("team"))));
    }

    #[test]
    fn every_serves_all_and_an_empty_list_is_no_limit_at_all() {
        assert!(Tenants::Every.serves(&id("any"), None));
        assert!(Tenants::default().is_every());
        assert_eq!(Tenants::only([]), None);
    }
}
