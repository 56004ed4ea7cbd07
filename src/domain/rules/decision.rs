//! The pure Authorize rule (rules 1–5 of docs/domain.md): facts in, decision out.

use crate::domain::ids::AccountId;
use crate::domain::ids::ResourceId;
use crate::domain::model::{
    AccessFacts, AccountAccess, AccountState, AccountTie, Check, Decision, EffectivePermissions,
    MembershipStatus, Reason, Resource, ResourceFilter, ResourceType, Scopes,
};
use crate::domain::permissions::{OWNER_ROLE, Permission, PermissionSet};

/// Who the user is in the account once membership, parent ownership, closure
/// and two-factor have been considered: the part of a decision that does not
/// depend on the permission asked, so a batch works it out once for all the
/// checks of one (user, account) pair. It borrows from the facts and
/// allocates nothing.
pub struct Standing<'a> {
    /// Why every check in this standing is refused, whatever it asks.
    refusal: Option<Reason>,
    role: Option<&'a str>,
    permissions: PermissionSet,
    scopes: Option<&'a Scopes>,
    via_parent: Option<&'a AccountId>,
    facts: &'a AccessFacts,
}

/// Rule 4, the one place it is written: a user who owns an account's parent
/// acts as owner in the account while that parent is open, unless they own
/// the account themselves (then their own membership says so already).
fn acts_as_parent_owner(owns_account: bool, owned_parent_state: Option<AccountState>) -> bool {
    !owns_account && owned_parent_state == Some(AccountState::Open)
}

/// Rule 3, the one place it is written: an account that requires
/// two-factor holds back a session that has not passed it. Authorize applies
/// it to a member's standing; a person acting on their own membership
/// (leaving, signing in, asking for access) meets it through
/// `UseCases::require_session`.
pub fn two_factor_withheld(require_two_factor: bool, mfa_verified: bool) -> bool {
    require_two_factor && !mfa_verified
}

/// The user's standing in the account the facts describe (rules 1, 3 and
/// 4), for a session that did or did not pass two-factor.
pub fn standing(facts: &AccessFacts, mfa_verified: bool) -> Standing<'_> {
    let refused = |reason: Reason| Standing {
        refusal: Some(reason),
        role: None,
        permissions: PermissionSet::EMPTY,
        scopes: None,
        via_parent: None,
        facts,
    };
    let Some(account) = &facts.account else {
        return refused(Reason::AccountNotFound);
    };
    if account.state == AccountState::Closed {
        return refused(Reason::AccountClosed);
    }
    let owns_account = facts.membership.as_ref().is_some_and(|member| member.is_owner);
    let mut standing = if acts_as_parent_owner(owns_account, facts.owned_parent_state) {
        Standing {
            refusal: None,
            role: Some(OWNER_ROLE),
            permissions: PermissionSet::all(),
            scopes: None,
            via_parent: account.parent_id.as_ref(),
            facts,
        }
    } else {
        match &facts.membership {
            None => return refused(Reason::NotAMember),
            Some(member) if member.status == MembershipStatus::Deactivated => {
                return Standing {
                    role: Some(&member.role),
                    ..refused(Reason::MembershipInactive)
                };
            }
            Some(member) => Standing {
                refusal: None,
                role: Some(&member.role),
                permissions: member.permissions.with_implicit(),
                scopes: Some(&member.scopes),
                via_parent: None,
                facts,
            },
        }
    };
    // Rule 3, checked after membership so a stranger learns nothing about
    // the policy; the refusal still names the role (and parent) it stops.
    if two_factor_withheld(account.require_two_factor, mfa_verified) {
        standing.refusal = Some(Reason::MfaRequired);
        standing.permissions = PermissionSet::EMPTY;
        standing.scopes = None;
    }
    standing
}

impl<'a> Standing<'a> {
    /// Why a check of `permission` (on `resource`, if it names one) is
    /// answered the way it is: rules 2 and 5 on top of the standing.
    pub fn reason(&self, permission: Permission, resource: Option<&Resource>) -> Reason {
        if let Some(refusal) = self.refusal {
            return refusal;
        }
        if !self.permissions.contains(permission) {
            return Reason::PermissionNotGranted;
        }
        if let Some(resource) = resource {
            // Rule 5: a template or suppression list shared down from the
            // parent is usable, never changeable.
            if let Some(read_only) = shared_read_only(resource.resource_type, permission)
                && self.facts.shared_from_parent(resource)
            {
                return read_only;
            }
            // Rule 2: a check without a resource stays allowed on scoped types.
            if self.scopes.is_some_and(|scopes| !scopes.allows(resource)) {
                return Reason::OutOfScope;
            }
        }
        Reason::Allowed
    }

    /// The resources of `resource_type` a check of `permission` is allowed
    /// on in this standing, all at once: what [`Standing::reason`] says of
    /// each one (rules 2 and 5), as a filter.
    pub fn resource_filter(&self, permission: Permission, resource_type: ResourceType) -> ResourceFilter {
        if self.reason(permission, None) != Reason::Allowed {
            return ResourceFilter::None;
        }
        let shared: &[ResourceId] = match (&self.facts.account, resource_type) {
            (Some(account), ResourceType::Template) => &account.shared_templates,
            (Some(account), ResourceType::SuppressionList) => &account.shared_suppression_lists,
            _ => &[],
        };
        // Rule 5: shared resources are refused to what would change them,
        // and usable (still within a scope) for the rest.
        let (refused, usable): (&[ResourceId], &[ResourceId]) =
            if shared_read_only(resource_type, permission).is_some() {
                (shared, &[])
            } else {
                (&[], shared)
            };
        match self.scopes.and_then(|scopes| scopes.ids_of(resource_type)) {
            Some(ids) => ResourceFilter::Only {
                ids: ids
                    .iter()
                    .filter(|id| refused.binary_search(id).is_err())
                    .cloned()
                    .collect(),
                shared: usable.iter().filter(|id| ids.contains(*id)).cloned().collect(),
            },
            None => ResourceFilter::All {
                excluded: refused.to_vec(),
                shared: usable.to_vec(),
            },
        }
    }

    /// The role every answer in this standing names, if any.
    pub fn role(&self) -> Option<&'a str> {
        self.role
    }

    /// The parent account whose ownership this standing comes from.
    pub fn via_parent(&self) -> Option<&'a AccountId> {
        self.via_parent
    }
}

/// The accounts a user can switch to, by account id: open accounts where
/// they are an active member, or whose open parent they own (rule 4, which
/// outranks their own membership there).
pub fn accessible_accounts(ties: Vec<AccountTie>) -> Vec<AccountAccess> {
    let mut accounts: Vec<AccountAccess> = ties
        .into_iter()
        .filter_map(|tie| {
            if tie.account.state == AccountState::Closed {
                return None;
            }
            let owns_account = tie.membership.as_ref().is_some_and(|member| member.is_owner);
            if acts_as_parent_owner(owns_account, tie.owned_parent_state) {
                return Some(AccountAccess {
                    via_parent: tie.account.parent_id.clone(),
                    account: tie.account,
                    role: OWNER_ROLE.to_owned(),
                });
            }
            let member = tie.membership.filter(|m| m.status == MembershipStatus::Active)?;
            Some(AccountAccess {
                account: tie.account,
                role: member.role,
                via_parent: None,
            })
        })
        .collect();
    accounts.sort_by(|a, b| a.account.id.cmp(&b.account.id));
    accounts
}

/// Rule 5: the refusal a shared resource of `resource_type` gives to
/// `permission` in a child, or None when sharing does not withhold it.
fn shared_read_only(resource_type: ResourceType, permission: Permission) -> Option<Reason> {
    match resource_type {
        ResourceType::Template => PermissionSet::SHARED_TEMPLATE_READ_ONLY
            .contains(permission)
            .then_some(Reason::SharedTemplateReadOnly),
        ResourceType::SuppressionList => PermissionSet::SHARED_SUPPRESSION_LIST_READ_ONLY
            .contains(permission)
            .then_some(Reason::SharedSuppressionListReadOnly),
        ResourceType::List | ResourceType::Campaign | ResourceType::Automation | ResourceType::Segment => {
            None
        }
    }
}

/// Decides one check from the facts alone: no I/O, so a decision never
/// mixes two states of the store.
pub fn decide(facts: &AccessFacts, check: &Check) -> Decision {
    let standing = standing(facts, check.mfa_verified);
    let reason = standing.reason(check.permission, check.resource.as_ref());
    Decision {
        allowed: reason == Reason::Allowed,
        reason,
        role: standing.role.map(str::to_owned),
        via_parent: standing.via_parent.cloned(),
        computed_at: facts.computed_at(&check.account_id),
    }
}

/// Everything the user may do in the account, for UIs.
pub fn effective_permissions(
    facts: &AccessFacts,
    account: &AccountId,
    mfa_verified: bool,
) -> EffectivePermissions {
    let standing = standing(facts, mfa_verified);
    EffectivePermissions {
        reason: standing.refusal.unwrap_or(Reason::Allowed),
        role: standing.role.map(str::to_owned),
        permissions: standing.permissions,
        scopes: standing.scopes.cloned().unwrap_or_default(),
        via_parent: standing.via_parent.cloned(),
        computed_at: facts.computed_at(account),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;
    use crate::domain::ids::{Email, ResourceId};
    use crate::domain::model::{
        Account, AccountFacts, AccountLimits, MemberAccess, OwnMembership, Person, Resource,
    };
    use crate::domain::permissions::builtin_role;

    fn facts(role: &str, status: MembershipStatus) -> AccessFacts {
        AccessFacts {
            revision: 1,
            account: Some(AccountFacts {
                parent_id: None,
                parent_revision: None,
                shared_templates: Vec::new(),
                shared_suppression_lists: Vec::new(),
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
            owned_parent_state: None,
        }
    }

    /// Decides as in a child account whose parent shares template "t1" into it.
    fn decide_shared(facts: &AccessFacts, check: &Check) -> Decision {
        let mut facts = facts.clone();
        let account = facts.account.as_mut().unwrap();
        account.parent_id = Some(AccountId::from_trusted("team".into()));
        account.parent_revision = Some(1);
        account.shared_templates = vec![ResourceId::from_trusted("t1".into())];
        account.shared_suppression_lists = vec![ResourceId::from_trusted("s1".into())];
        decide(&facts, check)
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
        let d = decide(&f, &check("account.view", None));
        assert_eq!((d.allowed, d.reason), (false, Reason::AccountClosed));
    }

    #[test]
    fn deactivated_member_is_denied_with_their_role_named() {
        let d = decide(
            &facts("admin", MembershipStatus::Deactivated),
            &check("account.view", None),
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
        assert!(decide(&f, &check("lists.edit", Some((ResourceType::List, "9")))).allowed);
        assert_eq!(
            decide(&f, &check("lists.edit", Some((ResourceType::List, "5")))).reason,
            Reason::OutOfScope
        );
        assert!(decide(&f, &check("lists.edit", None)).allowed);
        assert!(decide(&f, &check("segments.edit", Some((ResourceType::Segment, "5")))).allowed);
    }

    #[test]
    fn shared_template_is_read_only_but_usable() {
        let f = facts("admin", MembershipStatus::Active);
        let template = Some((ResourceType::Template, "t1"));
        assert!(decide_shared(&f, &check("templates.view", template)).allowed);
        assert!(decide_shared(&f, &check("campaigns.edit", template)).allowed);
        for permission in crate::domain::permissions::SHARED_TEMPLATE_READ_ONLY {
            let d = decide_shared(&f, &check(permission.name(), template));
            assert_eq!(d.reason, Reason::SharedTemplateReadOnly, "{permission}");
        }
        assert!(decide(&f, &check("templates.edit", template)).allowed);
    }

    #[test]
    fn shared_suppression_list_is_viewable_not_editable() {
        let f = facts("admin", MembershipStatus::Active);
        let list = Some((ResourceType::SuppressionList, "s1"));
        assert!(decide_shared(&f, &check("suppressions.view", list)).allowed);
        let d = decide_shared(&f, &check("suppressions.edit", list));
        assert_eq!(d.reason, Reason::SharedSuppressionListReadOnly);
        // Same id, other type: a template "s1" is not the shared list.
        let template = Some((ResourceType::Template, "s1"));
        assert!(decide_shared(&f, &check("templates.edit", template)).allowed);
        assert!(decide(&f, &check("suppressions.edit", list)).allowed);
    }

    #[test]
    fn two_factor_policy_applies_to_members_only_after_membership() {
        let mut f = facts("viewer", MembershipStatus::Active);
        f.account.as_mut().unwrap().require_two_factor = true;
        assert_eq!(
            decide(&f, &check("reports.view", None)).reason,
            Reason::MfaRequired
        );
        let mut verified = check("reports.view", None);
        verified.mfa_verified = true;
        assert!(decide(&f, &verified).allowed);
        f.membership = None;
        assert_eq!(
            decide(&f, &check("reports.view", None)).reason,
            Reason::NotAMember
        );
    }

    #[test]
    fn parent_owner_acts_as_owner_while_the_parent_is_open() {
        let mut f = facts("viewer", MembershipStatus::Active);
        f.account.as_mut().unwrap().parent_id = Some(AccountId::from_trusted("team".into()));
        f.owned_parent_state = Some(AccountState::Open);
        let d = decide(&f, &check("account.close", None));
        assert_eq!((d.allowed, d.role.as_deref()), (true, Some(OWNER_ROLE)));
        assert_eq!(d.via_parent.as_ref().map(AccountId::as_str), Some("team"));
        f.owned_parent_state = Some(AccountState::Closed);
        let d = decide(&f, &check("account.close", None));
        assert_eq!(
            (d.reason, d.role.as_deref()),
            (Reason::PermissionNotGranted, Some("viewer"))
        );
    }

    #[test]
    fn implicit_permissions_are_added_to_what_is_stored() {
        let mut f = facts("viewer", MembershipStatus::Active);
        f.membership.as_mut().unwrap().permissions = PermissionSet::EMPTY;
        assert!(decide(&f, &check("account.view", None)).allowed);
    }

    fn tie(id: &str, parent: Option<&str>, state: AccountState) -> AccountTie {
        AccountTie {
            account: Account {
                id: AccountId::from_trusted(id.into()),
                name: id.into(),
                parent_id: parent.map(|p| AccountId::from_trusted(p.into())),
                state,
                owner: Person {
                    user_id: UserId::from_trusted("o".into()),
                    email: Email::from_trusted("o@example.com".into()),
                    name: String::new(),
                },
                require_two_factor: false,
                limits: AccountLimits::default(),
                created_at: chrono::DateTime::UNIX_EPOCH,
                closed_at: None,
            },
            membership: None,
            owned_parent_state: None,
        }
    }

    fn own(role: &str, status: MembershipStatus) -> Option<OwnMembership> {
        Some(OwnMembership {
            role: role.into(),
            status,
            is_owner: role == OWNER_ROLE,
        })
    }

    #[test]
    fn account_list_applies_rules_one_and_four() {
        let mut team = tie("team", None, AccountState::Open);
        team.membership = own(OWNER_ROLE, MembershipStatus::Active);
        let mut child = tie("child", Some("team"), AccountState::Open);
        child.membership = own("viewer", MembershipStatus::Active);
        child.owned_parent_state = Some(AccountState::Open);
        let mut closed = tie("closed", None, AccountState::Closed);
        closed.membership = own("admin", MembershipStatus::Active);
        let mut inactive = tie("inactive", None, AccountState::Open);
        inactive.membership = own("admin", MembershipStatus::Deactivated);
        let mut orphan = tie("orphan", Some("gone"), AccountState::Open);
        orphan.owned_parent_state = Some(AccountState::Closed);
        let listed: Vec<(String, String, Option<String>)> =
            accessible_accounts(vec![team, child, closed, inactive, orphan])
                .into_iter()
                .map(|a| {
                    (
                        a.account.id.as_str().to_owned(),
                        a.role,
                        a.via_parent.map(|p| p.as_str().to_owned()),
                    )
                })
                .collect();
        assert_eq!(
            listed,
            vec![
                ("child".into(), OWNER_ROLE.into(), Some("team".into())),
                ("team".into(), OWNER_ROLE.into(), None),
            ]
        );
    }
}
