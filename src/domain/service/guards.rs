//! The escalation and outranking rules in one place: what an actor may hand
//! out (rule 6 of docs/domain.md) and whom an actor may act on (rules 6 and 8). Every use
//! case that grants, approves or touches another member goes through here.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::{EffectivePermissions, Membership, Role, Scopes};
use crate::domain::permissions::{OWNER_ROLE, Permission, PermissionSet};
use crate::domain::ports::Transaction;

/// Refuses owner-only permissions (account.transfer) wherever they would be
/// handed out; `field` and `message` say where the caller put them.
pub(super) fn owner_only_refused(
    permissions: PermissionSet,
    field: &'static str,
    message: &'static str,
) -> DomainResult<()> {
    if permissions.intersection(PermissionSet::owner_only()).is_empty() {
        Ok(())
    } else {
        Err(DomainError::invalid(field, message))
    }
}

/// Rule 6: refuses `permissions` unless the actor holds every one of them.
pub(super) fn escalation_refused(actor: PermissionSet, permissions: PermissionSet) -> DomainResult<()> {
    let missing = permissions.difference(actor);
    let names = missing.names();
    match names.first() {
        None => Ok(()),
        Some(first) => Err(DomainError::denied(
            "PRIVILEGE_ESCALATION",
            format!(
                "you cannot grant permissions you do not hold: {}",
                names.join(", ")
            ),
        )
        .with("permission", first)
        .with("permissions", names.join(","))),
    }
}

/// Rule 6: an actor hands out only what the actor holds, never the owner role.
pub(super) fn check_grantable(
    actor: &EffectivePermissions,
    role: &Role,
    grants: PermissionSet,
    scopes: &Scopes,
) -> DomainResult<()> {
    if role.name == OWNER_ROLE {
        return Err(DomainError::precondition(
            "OWNER_ROLE_NOT_ASSIGNABLE",
            "the owner role cannot be given; use TransferOwnership",
        ));
    }
    escalation_refused(actor.permissions, role.permissions.union(grants))?;
    if !scopes.within(&actor.scopes) {
        return Err(DomainError::denied(
            "PRIVILEGE_ESCALATION",
            "the scopes reach resources outside your own scopes",
        ));
    }
    Ok(())
}

/// Rule 6: one approves an access request only for a permission one holds.
pub(super) fn check_approvable(actor: &EffectivePermissions, permission: Permission) -> DomainResult<()> {
    if actor.permissions.contains(permission) {
        Ok(())
    } else {
        Err(DomainError::denied(
            "PRIVILEGE_ESCALATION",
            format!("you cannot grant {permission}: you do not hold it"),
        )
        .with("permission", permission)
        .with("permissions", permission))
    }
}

/// Loads the member an actor wants to change, refusing what rules 6 and 8 forbid:
/// acting on oneself, touching the owner, or touching someone who outranks the actor.
pub(super) async fn target_member(
    tx: &dyn Transaction,
    actor: &UserId,
    actor_access: &EffectivePermissions,
    account: &AccountId,
    user: &UserId,
    verb: &str,
) -> DomainResult<Membership> {
    if actor == user {
        return Err(DomainError::precondition(
            "CANNOT_ACT_ON_SELF",
            format!("you cannot {verb} yourself; use LeaveAccount to leave the account"),
        ));
    }
    let member = tx
        .membership(account, user)
        .await?
        .ok_or_else(|| DomainError::not_found("member", user.as_str()))?;
    if member.is_owner {
        return Err(DomainError::precondition(
            "OWNER_PROTECTED",
            format!("the owner cannot be {verb}d; transfer ownership first"),
        ));
    }
    let outranks = member
        .role
        .permissions
        .union(member.grants)
        .difference(actor_access.permissions);
    if !outranks.is_empty() {
        return Err(DomainError::denied(
            "OUTRANKED",
            format!(
                "'{user}' holds permissions you do not ({}): only someone holding them can {verb} this member",
                outranks.names().join(", ")
            ),
        ));
    }
    Ok(member)
}
