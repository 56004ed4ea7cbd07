//! The pure Authorize rule (DOMAIN rules 1–5): facts in, decision out.

use crate::domain::ids::AccountId;
use crate::domain::model::{
    AccessFacts, AccountState, Check, Decision, EffectivePermissions, MembershipStatus, Reason, ResourceType,
    Scopes,
};
use crate::domain::permissions::{OWNER_ROLE, PermissionSet, SHARED_TEMPLATE_READ_ONLY};

/// Who the user is in the account once membership, parent ownership, closure
/// and two-factor have been considered: the part of a decision that does not
/// depend on the permission asked.
struct Standing<'a> {
    role: String,
    permissions: PermissionSet,
    scopes: Option<&'a Scopes>,
    via_parent: Option<AccountId>,
}

fn deny(reason: Reason, role: Option<String>) -> Decision {
    Decision {
        allowed: false,
        reason,
        role,
        via_parent: None,
    }
}

fn standing(facts: &AccessFacts, mfa_verified: bool) -> Result<Standing<'_>, Decision> {
    let Some(account) = &facts.account else {
        return Err(deny(Reason::AccountNotFound, None));
    };
    if account.state == AccountState::Closed {
        return Err(deny(Reason::AccountClosed, None));
    }
    // Rule 4: a parent owner acts as owner in the child, whatever their own
    // membership there says.
    let standing = if facts.owns_parent {
        Standing {
            role: OWNER_ROLE.to_owned(),
            permissions: PermissionSet::all(),
            scopes: None,
            via_parent: account.parent_id.clone(),
        }
    } else {
        match &facts.membership {
            None => return Err(deny(Reason::NotAMember, None)),
            Some(member) if member.status == MembershipStatus::Deactivated => {
                return Err(deny(Reason::MembershipInactive, Some(member.role.clone())));
            }
            Some(member) => Standing {
                role: member.role.clone(),
                permissions: member.permissions,
                scopes: Some(&member.scopes),
                via_parent: None,
            },
        }
    };
    // Rule 3, checked after membership so a stranger learns nothing about the policy.
    if account.require_two_factor && !mfa_verified {
        return Err(Decision {
            allowed: false,
            reason: Reason::MfaRequired,
            role: Some(standing.role),
            via_parent: standing.via_parent,
        });
    }
    Ok(standing)
}

/// The parent account to ask about shared templates, when the check is about
/// a template in a child account; `None` when sharing cannot matter.
pub fn shared_template_parent<'a>(facts: &'a AccessFacts, check: &Check) -> Option<&'a AccountId> {
    let resource = check.resource.as_ref()?;
    if resource.resource_type != ResourceType::Template {
        return None;
    }
    facts.account.as_ref()?.parent_id.as_ref()
}

/// Decides one check. `shared_from_parent` says whether the checked template
/// is shared to this (child) account by its parent.
pub fn decide(facts: &AccessFacts, check: &Check, shared_from_parent: bool) -> Decision {
    let standing = match standing(facts, check.mfa_verified) {
        Ok(standing) => standing,
        Err(decision) => return decision,
    };
    let verdict = |reason: Reason| Decision {
        allowed: reason == Reason::Allowed,
        reason,
        role: Some(standing.role.clone()),
        via_parent: standing.via_parent.clone(),
    };
    if !standing.permissions.contains(check.permission) {
        return verdict(Reason::PermissionNotGranted);
    }
    if let Some(resource) = &check.resource {
        // Rule 5: a template shared down from the parent is usable, never changeable.
        if shared_from_parent && SHARED_TEMPLATE_READ_ONLY.contains(&check.permission.name()) {
            return verdict(Reason::SharedTemplateReadOnly);
        }
        // Rule 2: a check without a resource stays allowed on scoped types.
        if standing.scopes.is_some_and(|scopes| !scopes.allows(resource)) {
            return verdict(Reason::OutOfScope);
        }
    }
    verdict(Reason::Allowed)
}

/// Everything the user may do in the account, for UIs.
pub fn effective_permissions(facts: &AccessFacts, mfa_verified: bool) -> EffectivePermissions {
    match standing(facts, mfa_verified) {
        Ok(standing) => EffectivePermissions {
            reason: Reason::Allowed,
            role: Some(standing.role),
            permissions: standing.permissions,
            scopes: standing.scopes.cloned().unwrap_or_default(),
            via_parent: standing.via_parent,
        },
        Err(decision) => EffectivePermissions {
            reason: decision.reason,
            role: decision.role,
            permissions: PermissionSet::EMPTY,
            scopes: Scopes::default(),
            via_parent: decision.via_parent,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ResourceId, UserId};
    use crate::domain::model::{AccountFacts, MemberAccess, Resource};
    use crate::domain::permissions::{Permission, builtin_role};

    fn facts(role: &str, status: MembershipStatus) -> AccessFacts {
        AccessFacts {
            account: Some(AccountFacts {
                parent_id: None,
                state: AccountState::Open,
                require_two_factor: false,
            }),
            membership: Some(MemberAccess {
                role: role.to_owned(),
                is_owner: role == OWNER_ROLE,
                status,
                permissions: builtin_role(role).unwrap().permissions(),
                scopes: Scopes::default(),
            }),
            owns_parent: false,
        }
    }

    fn check(permission: &str, resource: Option<(ResourceType, &str)>) -> Check {
        Check {
            user_id: UserId::from_trusted("u".into()),
            account_id: AccountId::from_trusted("a".into()),
            permission: Permission::lookup(permission).unwrap(),
            resource: resource.map(|(resource_type, id)| Resource {
                resource_type,
                id: ResourceId::from_trusted(id.into()),
            }),
            mfa_verified: false,
        }
    }

    #[test]
    fn closed_account_denies_even_the_owner() {
        let mut f = facts(OWNER_ROLE, MembershipStatus::Active);
        f.account.as_mut().unwrap().state = AccountState::Closed;
        let d = decide(&f, &check("account.view", None), false);
        assert_eq!((d.allowed, d.reason), (false, Reason::AccountClosed));
    }

    #[test]
    fn deactivated_member_is_denied_with_their_role_named() {
        let d = decide(
            &facts("admin", MembershipStatus::Deactivated),
            &check("account.view", None),
            false,
        );
        assert_eq!(d.reason, Reason::MembershipInactive);
        assert_eq!(d.role.as_deref(), Some("admin"));
    }

    #[test]
    fn scope_limits_only_checks_naming_a_resource_of_the_scoped_type() {
        let mut f = facts("list_manager", MembershipStatus::Active);
        let scopes = Scopes::build(
            "scopes",
            [(
                ResourceType::List,
                vec![
                    ResourceId::from_trusted("4".into()),
                    ResourceId::from_trusted("9".into()),
                ],
            )],
        )
        .unwrap();
        f.membership.as_mut().unwrap().scopes = scopes;
        assert!(decide(&f, &check("lists.edit", Some((ResourceType::List, "9"))), false).allowed);
        assert_eq!(
            decide(&f, &check("lists.edit", Some((ResourceType::List, "5"))), false).reason,
            Reason::OutOfScope
        );
        assert!(decide(&f, &check("lists.edit", None), false).allowed);
        assert!(
            decide(
                &f,
                &check("segments.edit", Some((ResourceType::Segment, "5"))),
                false
            )
            .allowed
        );
    }

    #[test]
    fn shared_template_is_read_only_but_usable() {
        let f = facts("admin", MembershipStatus::Active);
        let template = Some((ResourceType::Template, "t1"));
        assert!(decide(&f, &check("templates.view", template), true).allowed);
        assert!(decide(&f, &check("campaigns.edit", template), true).allowed);
        for permission in SHARED_TEMPLATE_READ_ONLY {
            let d = decide(&f, &check(permission, template), true);
            assert_eq!(d.reason, Reason::SharedTemplateReadOnly, "{permission}");
        }
        assert!(decide(&f, &check("templates.edit", template), false).allowed);
    }

    #[test]
    fn two_factor_policy_applies_to_members_only_after_membership() {
        let mut f = facts("viewer", MembershipStatus::Active);
        f.account.as_mut().unwrap().require_two_factor = true;
        assert_eq!(
            decide(&f, &check("reports.view", None), false).reason,
            Reason::MfaRequired
        );
        let mut verified = check("reports.view", None);
        verified.mfa_verified = true;
        assert!(decide(&f, &verified, false).allowed);
        f.membership = None;
        assert_eq!(
            decide(&f, &check("reports.view", None), false).reason,
            Reason::NotAMember
        );
    }
}
