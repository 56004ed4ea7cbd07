//! The pure Authorize rule (rules 1–5 and 17 of docs/domain.md): facts and
//! the time in, decision out.

use chrono::{DateTime, Utc};

use crate::domain::ids::AccountId;
use crate::domain::ids::ResourceId;
use crate::domain::model::{
    AccessEnds, AccessFacts, AccountState, Check, Decision, EffectivePermissions, Ended, Expiry,
    MembershipStatus, Reason, Resource, ResourceFilter, ResourceType, Scopes, has_passed,
};
use crate::domain::permissions::{OWNER_ROLE, Permission, PermissionSet};

/// Who the user is in the account once membership, parent ownership, closure
/// and two-factor have been considered: the part of a decision that does not
/// depend on the permission asked, so a batch works it out once for all the
/// checks of one (user, account) pair. It borrows from the facts and
/// allocates nothing unless a membership's end has passed.
pub struct Standing<'a> {
    /// Why every check in this standing is refused, whatever it asks.
    refusal: Option<Reason>,
    role: Option<&'a str>,
    /// What the membership holds at `now`: timed grants past their end left out.
    permissions: PermissionSet,
    scopes: Option<&'a Scopes>,
    /// The ends of the membership's timed grants and scope entries (rule 17).
    ends: Option<&'a AccessEnds>,
    /// The membership's own end, when it has passed.
    expired: Option<Expiry>,
    via_parent: Option<&'a AccountId>,
    facts: &'a AccessFacts,
    now: DateTime<Utc>,
}

/// Rule 4, the one place it is written: a user who owns an account's parent
/// acts as owner in the account while that parent is open, unless they own
/// the account themselves (then their own membership says so already).
pub(super) fn acts_as_parent_owner(owns_account: bool, owned_parent_state: Option<AccountState>) -> bool {
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

/// The user's standing in the account the facts describe (rules 1, 3, 4
/// and 17), for a session that did or did not pass two-factor, at `now`.
pub fn standing(facts: &AccessFacts, mfa_verified: bool, now: DateTime<Utc>) -> Standing<'_> {
    let refused = |reason: Reason| Standing {
        refusal: Some(reason),
        role: None,
        permissions: PermissionSet::EMPTY,
        scopes: None,
        ends: None,
        expired: None,
        via_parent: None,
        facts,
        now,
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
            ends: None,
            expired: None,
            via_parent: account.parent_id.as_ref(),
            facts,
            now,
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
            // Rule 17: past its end a membership grants nothing; the
            // owner's never ends, whatever is stored.
            Some(member) if member.ends.membership_ended(member.is_owner, now) => {
                return Standing {
                    role: Some(&member.role),
                    expired: member.ends.membership.map(|at| Expiry {
                        what: Ended::Membership,
                        at,
                    }),
                    ..refused(Reason::AccessExpired)
                };
            }
            Some(member) => Standing {
                refusal: None,
                role: Some(&member.role),
                permissions: member
                    .permissions
                    .union(member.ends.live_grants(now))
                    .with_implicit(),
                scopes: Some(&member.scopes),
                ends: Some(&member.ends),
                expired: None,
                via_parent: None,
                facts,
                now,
            },
        }
    };
    // Rule 3, checked after membership so a stranger learns nothing about
    // the policy; the refusal still names the role (and parent) it stops.
    if two_factor_withheld(account.require_two_factor, mfa_verified) {
        standing.refusal = Some(Reason::MfaRequired);
        standing.permissions = PermissionSet::EMPTY;
        standing.scopes = None;
        standing.ends = None;
    }
    standing
}

impl<'a> Standing<'a> {
    /// Why a check of `permission` (on `resource`, if it names one) is
    /// answered the way it is: rules 2, 5 and 17 on top of the standing.
    pub fn reason(&self, permission: Permission, resource: Option<&Resource>) -> Reason {
        self.judge(permission, resource).0
    }

    /// [`reason`](Self::reason), with what ended when the reason is
    /// [`Reason::AccessExpired`].
    pub fn judge(&self, permission: Permission, resource: Option<&Resource>) -> (Reason, Option<Expiry>) {
        if let Some(refusal) = self.refusal {
            return (refusal, self.expired.clone());
        }
        if !self.permissions.contains(permission) {
            // Rule 17: held only through a grant whose end has passed.
            return match self.ends.and_then(|ends| ends.ended_grant(permission, self.now)) {
                Some(expiry) => (Reason::AccessExpired, Some(expiry)),
                None => (Reason::PermissionNotGranted, None),
            };
        }
        if let Some(resource) = resource {
            // Rule 5: a template or suppression list shared down from the
            // parent is usable, never changeable.
            if let Some(read_only) = shared_read_only(resource.resource_type, permission)
                && self.facts.shared_from_parent(resource)
            {
                return (read_only, None);
            }
            // Rule 2: a check without a resource stays allowed on scoped types.
            if self.scopes.is_some_and(|scopes| !scopes.allows(resource)) {
                return (Reason::OutOfScope, None);
            }
            // Rule 17: an id whose scope entry has ended is out of reach.
            if let Some(expiry) = self.ends.and_then(|ends| ends.ended_scope(resource, self.now)) {
                return (Reason::AccessExpired, Some(expiry));
            }
        }
        (Reason::Allowed, None)
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
                // Rule 17: an entry past its end is out of reach, as Authorize judges it.
                ids: ids
                    .iter()
                    .filter(|id| refused.binary_search(id).is_err() && !self.entry_ended(resource_type, id))
                    .cloned()
                    .collect(),
                shared: usable
                    .iter()
                    .filter(|id| ids.contains(*id) && !self.entry_ended(resource_type, id))
                    .cloned()
                    .collect(),
            },
            None => ResourceFilter::All {
                excluded: refused.to_vec(),
                shared: usable.to_vec(),
            },
        }
    }

    /// Whether the scope entry (`resource_type`, `id`) has ended (rule 17).
    fn entry_ended(&self, resource_type: ResourceType, id: &ResourceId) -> bool {
        self.ends
            .and_then(|ends| ends.scope_end(resource_type, id))
            .is_some_and(|end| has_passed(end, self.now))
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

/// Decides one check from the facts and the time alone: no I/O, so a
/// decision never mixes two states of the store, and no clock, so a cached
/// fact is judged against the instant of the call, not of its caching.
pub fn decide(facts: &AccessFacts, check: &Check, now: DateTime<Utc>) -> Decision {
    let standing = standing(facts, check.mfa_verified, now);
    let (reason, expired) = standing.judge(check.permission, check.resource.as_ref());
    Decision {
        allowed: reason == Reason::Allowed,
        reason,
        role: standing.role.map(str::to_owned),
        via_parent: standing.via_parent.cloned(),
        computed_at: facts.computed_at(&check.account_id),
        expired,
    }
}

/// Everything the user may do in the account at `now`, for UIs: a scope
/// entry past its end is left out of its type's ids (the type stays scoped).
pub fn effective_permissions(
    facts: &AccessFacts,
    account: &AccountId,
    mfa_verified: bool,
    now: DateTime<Utc>,
) -> EffectivePermissions {
    let standing = standing(facts, mfa_verified, now);
    let scopes = match (standing.scopes, standing.ends) {
        (Some(scopes), Some(ends)) => scopes.without(
            ends.scopes
                .iter()
                .filter(|(_, _, end)| has_passed(*end, now))
                .map(|(t, id, _)| (*t, id)),
        ),
        (scopes, _) => scopes.cloned().unwrap_or_default(),
    };
    let ends = match (&standing.expired, standing.ends) {
        (Some(expired), _) => vec![expired.clone()],
        (None, Some(ends)) => ends.in_force(now),
        (None, None) => Vec::new(),
    };
    EffectivePermissions {
        reason: standing.refusal.unwrap_or(Reason::Allowed),
        role: standing.role.map(str::to_owned),
        permissions: standing.permissions,
        scopes,
        via_parent: standing.via_parent.cloned(),
        computed_at: facts.computed_at(account),
        ends,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::ResourceId;
    use crate::domain::ids::UserId;
    use crate::domain::model::{AccountFacts, MemberAccess, Resource};
    use crate::domain::permissions::builtin_role;

    /// The instant these tests decide at.
    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    /// [`super::decide`] at [`t0`].
    fn decide(facts: &AccessFacts, check: &Check) -> Decision {
        super::decide(facts, check, t0())
    }

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
                ends: AccessEnds::default(),
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

    fn list(id: &str) -> Option<(ResourceType, &str)> {
        Some((ResourceType::List, id))
    }

    #[test]
    fn an_ended_membership_grants_nothing_and_says_so() {
        let mut f = facts("admin", MembershipStatus::Active);
        f.membership.as_mut().unwrap().ends.membership = Some(t0() + chrono::Duration::milliseconds(1));
        assert!(decide(&f, &check("account.view", None)).allowed);
        // The end instant itself is past.
        f.membership.as_mut().unwrap().ends.membership = Some(t0());
        let d = decide(&f, &check("account.view", None));
        assert_eq!(
            (d.allowed, d.reason, d.role.as_deref()),
            (false, Reason::AccessExpired, Some("admin"))
        );
        assert_eq!(
            d.expired,
            Some(Expiry {
                what: Ended::Membership,
                at: t0()
            })
        );
        let effective = effective_permissions(&f, &AccountId::from_trusted("a".into()), false, t0());
        assert_eq!(
            (effective.reason, effective.permissions),
            (Reason::AccessExpired, PermissionSet::EMPTY)
        );
    }

    #[test]
    fn the_owner_membership_never_ends() {
        let mut f = facts(OWNER_ROLE, MembershipStatus::Active);
        f.membership.as_mut().unwrap().ends.membership = Some(t0() - chrono::Duration::days(1));
        assert!(decide(&f, &check("account.transfer", None)).allowed);
    }

    #[test]
    fn an_ended_grant_denies_only_what_it_alone_granted() {
        let mut f = facts("viewer", MembershipStatus::Active);
        let export = Permission::lookup("reports.export").unwrap();
        let view = Permission::lookup("reports.view").unwrap();
        f.membership.as_mut().unwrap().ends.grants = vec![(export, t0()), (view, t0())];
        let d = decide(&f, &check("reports.export", None));
        assert_eq!(d.reason, Reason::AccessExpired);
        assert_eq!(d.expired.map(|e| e.what), Some(Ended::Grant(export)));
        // The role still holds reports.view.
        assert!(decide(&f, &check("reports.view", None)).allowed);
        f.membership.as_mut().unwrap().ends.grants = vec![(export, t0() + chrono::Duration::seconds(1))];
        assert!(decide(&f, &check("reports.export", None)).allowed);
        let effective = effective_permissions(&f, &AccountId::from_trusted("a".into()), false, t0());
        assert!(effective.permissions.contains(export));
        assert_eq!(effective.ends.len(), 1);
    }

    #[test]
    fn an_ended_scope_entry_never_widens_the_scope() {
        let mut f = facts("list_manager", MembershipStatus::Active);
        let four = ResourceId::from_trusted("4".into());
        let member = f.membership.as_mut().unwrap();
        member.scopes = Scopes::build("scopes", [(ResourceType::List, vec![four.clone()])]).unwrap();
        member.ends.scopes = vec![(ResourceType::List, four.clone(), t0())];
        let d = decide(&f, &check("lists.edit", list("4")));
        assert_eq!(d.reason, Reason::AccessExpired);
        assert_eq!(
            d.expired.map(|e| e.what),
            Some(Ended::Scope(ResourceType::List, four))
        );
        assert_eq!(
            decide(&f, &check("lists.edit", list("5"))).reason,
            Reason::OutOfScope
        );
        let effective = effective_permissions(&f, &AccountId::from_trusted("a".into()), false, t0());
        let ids = effective.scopes.ids_of(ResourceType::List).map(|ids| ids.len());
        assert_eq!(ids, Some(0), "the type stays scoped, to nothing");
    }
}
