//! The escalation and outranking rules in one place: what an actor may hand
//! out (rule 6 of docs/domain.md) and whom an actor may act on (rules 6 and 8). Every use
//! case that grants, approves or touches another member goes through here.

use crate::domain::error::{DomainError, DomainResult, ErrorReason, FieldViolation};
use crate::domain::ids::UserId;
use crate::domain::model::{EffectivePermissions, Membership, Role, RoleHolder, Scopes};
use crate::domain::permissions::{OWNER_ROLE, Permission, PermissionSet};
use crate::domain::rules::reach::{Reach, Uncovered};

/// Refuses owner-only permissions (account.transfer) wherever they would be
/// handed out (a role, extra grants, an access request): one condition, one
/// answer, FAILED_PRECONDITION OWNER_ONLY_PERMISSION with metadata
/// "permission" and "field" (where the caller put it). The request is well
/// formed; the rule that the owner alone holds it is what refuses.
pub fn owner_only_refused(
    permissions: PermissionSet,
    field: &'static str,
    message: &'static str,
) -> DomainResult<()> {
    match permissions
        .intersection(PermissionSet::owner_only())
        .iter()
        .next()
    {
        None => Ok(()),
        Some(permission) => Err(
            DomainError::precondition(ErrorReason::OwnerOnlyPermission, message)
                .with("permission", permission.name())
                .with("field", field),
        ),
    }
}

/// Rule 2: a scope on a resource type the role (with the extra grants)
/// holds no permission for would be accepted and narrow nothing (a viewer
/// limited to list 4 sees no list either way), so it is refused,
/// INVALID_ARGUMENT naming `field` with reason SCOPE_WITHOUT_PERMISSION.
/// Rule 2's table says which permission areas go with which type.
pub fn scope_without_permission(
    role: &Role,
    grants: PermissionSet,
    scopes: &Scopes,
    field: &str,
) -> DomainResult<()> {
    let permissions = role.permissions.union(grants).with_implicit();
    match scopes.unreached_type(permissions) {
        None => Ok(()),
        Some(resource_type) => Err(FieldViolation::new(
            field,
            format!(
                "role '{}' holds no permission of the {} areas, so a {} scope would narrow nothing: drop the scope or give a role that works on {}s",
                role.name,
                resource_type.areas().join(" or "),
                resource_type.as_str(),
                resource_type.as_str(),
            ),
        )
        .with_reason(ErrorReason::ScopeWithoutPermission)
        .into()),
    }
}

/// What the actor covers, as rule 6 compares it.
fn reach(actor: &EffectivePermissions) -> Reach<'_> {
    Reach {
        permissions: actor.permissions,
        scopes: &actor.scopes,
    }
}

/// Rule 6: refuses handing out `target` unless the actor's permissions and
/// scopes cover it.
fn grant_refused(actor: &EffectivePermissions, target: &Reach<'_>) -> DomainResult<()> {
    let uncovered = reach(actor).uncovered(target);
    if uncovered.is_empty() {
        Ok(())
    } else {
        // The missing permissions, for a program; a refusal about scopes
        // alone names none.
        let names = uncovered.permissions.names();
        let mut refusal = DomainError::denied(
            ErrorReason::PrivilegeEscalation,
            format!(
                "you cannot grant what you do not hold yourself: {}",
                uncovered.describe()
            ),
        );
        if let Some(first) = names.first() {
            refusal = refusal
                .with("permission", first)
                .with("permissions", names.join(","));
        }
        Err(refusal)
    }
}

/// Rule 6 for a role's definition: its permissions must be the actor's own.
/// A role reaches nothing until someone holds it, and each holder is judged
/// with their own scopes ([`role_edit_refused`], [`check_grantable`]), so the
/// definition is judged as the actor would hold it.
pub fn escalation_refused(actor: &EffectivePermissions, permissions: PermissionSet) -> DomainResult<()> {
    grant_refused(
        actor,
        &Reach {
            permissions,
            scopes: &actor.scopes,
        },
    )
}

/// Rule 6 for the `index`th account of an invitation (Invite and its
/// preview): its scopes narrow a permission of the role, and the actor
/// covers what it hands out. The first account is the request's own fields,
/// the others its additional_accounts, in order (grpc/convert/invitations.rs).
pub fn check_invitation_target(
    actor: &EffectivePermissions,
    role: &Role,
    scopes: &Scopes,
    index: usize,
) -> DomainResult<()> {
    let field = match index.checked_sub(1) {
        None => "scopes".to_owned(),
        Some(extra) => format!("additional_accounts[{extra}].scopes"),
    };
    scope_without_permission(role, PermissionSet::EMPTY, scopes, &field)?;
    check_grantable(actor, role, PermissionSet::EMPTY, scopes)
}

/// Rule 6: an actor hands out only what the actor covers, never the owner role.
pub fn check_grantable(
    actor: &EffectivePermissions,
    role: &Role,
    grants: PermissionSet,
    scopes: &Scopes,
) -> DomainResult<()> {
    if role.name == OWNER_ROLE {
        return Err(DomainError::precondition(
            ErrorReason::OwnerRoleNotAssignable,
            "the owner role cannot be given; use TransferOwnership",
        ));
    }
    grant_refused(
        actor,
        &Reach {
            permissions: role.permissions.union(grants),
            scopes,
        },
    )
}

/// Rule 6: approving gives `permission` to the requester over the
/// requester's own scopes, which the actor must cover.
pub fn check_approvable(
    actor: &EffectivePermissions,
    permission: Permission,
    requester_scopes: &Scopes,
) -> DomainResult<()> {
    grant_refused(
        actor,
        &Reach {
            permissions: PermissionSet::of(&[permission]),
            scopes: requester_scopes,
        },
    )
}

/// Rule 6 for a role held by others: each holder reaches the role's
/// permissions (with their own grants) over their own scopes, before the
/// change and after it; the actor must cover both, so a role is neither
/// widened past the actor nor taken from holders who outrank the actor.
pub fn role_edit_refused(
    actor: &EffectivePermissions,
    before: PermissionSet,
    after: PermissionSet,
    holders: &[RoleHolder],
) -> DomainResult<()> {
    for holder in holders {
        for permissions in [before, after] {
            grant_refused(
                actor,
                &Reach {
                    permissions: permissions.union(holder.grants),
                    scopes: &holder.scopes,
                },
            )?;
        }
    }
    Ok(())
}

/// Rule 6 for a pending invitation an actor revokes or edits: the actor
/// must cover what it offers, as for a member ([`member_target_refused`]).
pub fn invitation_outranks(actor: &EffectivePermissions, role: &Role, scopes: &Scopes) -> DomainResult<()> {
    let outranks = reach(actor).uncovered(&Reach {
        permissions: role.permissions,
        scopes,
    });
    if outranks.is_empty() {
        Ok(())
    } else {
        Err(DomainError::denied(
            ErrorReason::Outranked,
            format!(
                "the invitation offers what you do not hold{}: only someone holding it can change or revoke it",
                visible_detail(actor, &outranks)
            ),
        ))
    }
}

/// What an outranking target holds, for an actor allowed to see people's
/// roles (users.view); nothing for anyone else, who may act on members
/// (users.remove, say) without seeing what they hold.
fn visible_detail(actor: &EffectivePermissions, outranks: &Uncovered) -> String {
    if actor.permissions.contains(Permission::USERS_VIEW) {
        format!(" ({})", outranks.describe())
    } else {
        String::new()
    }
}

/// Rule 8: an actor never acts on themself through the member RPCs
/// (`verb` says which); leaving is LeaveAccount's.
pub fn acting_on_self_refused(actor: &UserId, user: &UserId, verb: &str) -> DomainResult<()> {
    if actor == user {
        return Err(DomainError::precondition(
            ErrorReason::CannotActOnSelf,
            format!("you cannot {verb} yourself; use LeaveAccount to leave the account"),
        ));
    }
    Ok(())
}

/// Rules 6 and 8 for the member `user` an actor wants to change: the owner
/// is untouchable, and the actor must cover the member's permissions and
/// scopes.
pub fn member_target_refused(
    actor_access: &EffectivePermissions,
    member: &Membership,
    user: &UserId,
    verb: &str,
) -> DomainResult<()> {
    if member.is_owner {
        return Err(DomainError::precondition(
            ErrorReason::OwnerProtected,
            format!("the owner cannot be {verb}d; transfer ownership first"),
        ));
    }
    let outranks = reach(actor_access).uncovered(&Reach {
        permissions: member.role.permissions.union(member.grants),
        scopes: &member.scopes,
    });
    if !outranks.is_empty() {
        return Err(DomainError::denied(
            ErrorReason::Outranked,
            format!(
                "'{user}' reaches what you do not{}: only someone covering it can {verb} this member",
                visible_detail(actor_access, &outranks)
            ),
        ));
    }
    Ok(())
}
