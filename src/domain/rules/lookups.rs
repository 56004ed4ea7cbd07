//! The lookups, pure: each judges the facts of every pair it covers with
//! the standing Authorize judges one check with (`decision::standing`), so
//! an account, a resource or a person is in a lookup exactly when
//! Authorize would allow it.

use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::{
    AccessFacts, AccountLookup, MemberLookup, Reason, Resource, ResourceLookup, ResourceType,
};
use crate::domain::permissions::Permission;
use crate::domain::rules::decision::standing;

/// The resources of `resource_type` the user the facts describe may act
/// on with `permission` in `account`.
pub fn resources(
    facts: &AccessFacts,
    account: &AccountId,
    permission: Permission,
    resource_type: ResourceType,
    mfa_verified: bool,
) -> ResourceLookup {
    let standing = standing(facts, mfa_verified);
    ResourceLookup {
        filter: standing.resource_filter(permission, resource_type),
        reason: standing.reason(permission, None),
        role: standing.role().map(str::to_owned),
        via_parent: standing.via_parent().cloned(),
        computed_at: facts.computed_at(account),
    }
}

/// The entry of `account` in a user's account lookup, if Authorize would
/// allow the user `permission` there (with no resource named).
pub fn account(
    account: &AccountId,
    facts: &AccessFacts,
    permission: Permission,
    resource_type: Option<ResourceType>,
    mfa_verified: bool,
) -> Option<AccountLookup> {
    let standing = standing(facts, mfa_verified);
    (standing.reason(permission, None) == Reason::Allowed).then(|| AccountLookup {
        account: account.clone(),
        role: standing.role().unwrap_or_default().to_owned(),
        via_parent: standing.via_parent().cloned(),
        computed_at: facts.computed_at(account),
        resources: resource_type.map(|resource_type| standing.resource_filter(permission, resource_type)),
    })
}

/// The entry of `user` in an account's member lookup, if Authorize would
/// allow them `permission` (on `resource`) once their session has passed
/// two-factor: the policy holds back sessions, not people.
pub fn member(
    user: &UserId,
    facts: &AccessFacts,
    permission: Permission,
    resource: Option<&Resource>,
) -> Option<MemberLookup> {
    let standing = standing(facts, true);
    (standing.reason(permission, resource) == Reason::Allowed).then(|| MemberLookup {
        user: user.clone(),
        role: standing.role().unwrap_or_default().to_owned(),
        via_parent: standing.via_parent().cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::ResourceId;
    use crate::domain::model::{
        AccountFacts, AccountState, MemberAccess, MembershipStatus, ResourceFilter, Scopes,
    };
    use crate::domain::permissions::{OWNER_ROLE, builtin_role};

    fn id(raw: &str) -> ResourceId {
        ResourceId::from_trusted(raw.into())
    }

    /// A member of a child account whose parent shares templates t1 and t2.
    fn child_member(role: &str, scopes: Scopes) -> AccessFacts {
        AccessFacts {
            revision: 3,
            account: Some(AccountFacts {
                parent_id: Some(AccountId::from_trusted("team".into())),
                parent_revision: Some(2),
                shared_templates: vec![id("t1"), id("t2")],
                shared_suppression_lists: Vec::new(),
                state: AccountState::Open,
                require_two_factor: false,
            }),
            membership: Some(MemberAccess {
                role: role.to_owned(),
                is_owner: role == OWNER_ROLE,
                status: MembershipStatus::Active,
                permissions: builtin_role(role).unwrap().permissions(),
                scopes,
            }),
            owned_parent_state: None,
        }
    }

    fn filter(facts: &AccessFacts, permission: &str, resource_type: ResourceType) -> ResourceFilter {
        let account = AccountId::from_trusted("child".into());
        resources(
            facts,
            &account,
            Permission::lookup(permission).unwrap(),
            resource_type,
            false,
        )
        .filter
    }

    #[test]
    fn shared_templates_are_usable_not_changeable() {
        let facts = child_member("admin", Scopes::default());
        let usable = ResourceFilter::All {
            excluded: vec![],
            shared: vec![id("t1"), id("t2")],
        };
        assert_eq!(filter(&facts, "templates.view", ResourceType::Template), usable);
        assert_eq!(filter(&facts, "campaigns.edit", ResourceType::Template), usable);
        assert_eq!(
            filter(&facts, "templates.edit", ResourceType::Template),
            ResourceFilter::All {
                excluded: vec![id("t1"), id("t2")],
                shared: vec![],
            }
        );
    }

    #[test]
    fn a_scope_limits_the_filter_to_its_ids_shared_ones_included() {
        let scopes = Scopes::build("scopes", [(ResourceType::Template, vec![id("t1"), id("own")])]).unwrap();
        let facts = child_member("designer", scopes);
        assert_eq!(
            filter(&facts, "templates.view", ResourceType::Template),
            ResourceFilter::Only {
                ids: vec![id("own"), id("t1")],
                shared: vec![id("t1")],
            }
        );
        assert_eq!(
            filter(&facts, "templates.edit", ResourceType::Template),
            ResourceFilter::Only {
                ids: vec![id("own")],
                shared: vec![],
            }
        );
        assert_eq!(
            filter(&facts, "templates.publish", ResourceType::Template),
            ResourceFilter::None
        );
    }

    #[test]
    fn the_filter_admits_exactly_what_authorize_allows() {
        let scopes = Scopes::build("scopes", [(ResourceType::List, vec![id("4"), id("9")])]).unwrap();
        let facts = child_member("list_manager", scopes);
        let account = AccountId::from_trusted("child".into());
        for permission in ["lists.edit", "lists.view", "campaigns.send"] {
            let permission = Permission::lookup(permission).unwrap();
            let lookup = resources(&facts, &account, permission, ResourceType::List, false);
            for raw in ["4", "5", "9"] {
                let resource = Resource {
                    resource_type: ResourceType::List,
                    id: id(raw),
                };
                let allowed = standing(&facts, false).reason(permission, Some(&resource)) == Reason::Allowed;
                assert_eq!(
                    lookup.filter.admits(&resource.id),
                    allowed,
                    "{permission} on {raw}"
                );
            }
        }
    }

    #[test]
    fn a_two_factor_gate_leaves_the_account_out_for_an_unverified_session() {
        let mut facts = child_member("viewer", Scopes::default());
        facts.account.as_mut().unwrap().require_two_factor = true;
        let account = AccountId::from_trusted("child".into());
        let permission = Permission::lookup("reports.view").unwrap();
        assert!(super::account(&account, &facts, permission, None, false).is_none());
        let entry = super::account(&account, &facts, permission, None, true).unwrap();
        assert_eq!(entry.role, "viewer");
        // A member listing names the person all the same.
        assert!(member(&UserId::from_trusted("u".into()), &facts, permission, None).is_some());
    }
}
