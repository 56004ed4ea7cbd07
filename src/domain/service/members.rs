//! Members: change, deactivate, reactivate, remove, leave, transfer
//! ownership, sign-ins, and the accounts a user can switch to.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{AccessService, Page, SeatChange, activity};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::{
    Account, AccountAccess, EffectivePermissions, MemberRow, MemberRowStatus, Membership, MembershipStatus,
    Scopes,
};
use crate::domain::page::PageRequest;
use crate::domain::permissions::{ADMIN_ROLE, PermissionSet};
use crate::domain::ports::{MembershipChange, Transaction};

/// Changes a member's role, scopes or extra grants.
#[derive(Clone, Debug)]
pub struct UpdateMember {
    /// Who changes.
    pub actor: UserId,
    /// Where.
    pub account_id: AccountId,
    /// Whom.
    pub user_id: UserId,
    /// New role name.
    pub role: Option<String>,
    /// New scopes.
    pub scopes: Option<Scopes>,
    /// New extra grants.
    pub grants: Option<PermissionSet>,
}

/// Lists the accounts a user can switch to.
#[derive(Clone, Debug)]
pub struct ListAccounts {
    /// Whose.
    pub user_id: UserId,
    /// Which page.
    pub page: PageRequest,
}

/// Roles that may receive ownership (DOMAIN rule 7).
const TRANSFER_TARGET_ROLES: &[&str] = &[ADMIN_ROLE, "account_manager"];

fn member_row(membership: &Membership, status: MembershipStatus) -> MemberRow {
    MemberRow {
        user_id: Some(membership.person.user_id.clone()),
        name: membership.person.name.clone(),
        email: membership.person.email.clone(),
        role: membership.role.name.clone(),
        status: match status {
            MembershipStatus::Active => MemberRowStatus::Active,
            MembershipStatus::Deactivated => MemberRowStatus::Deactivated,
        },
        is_owner: membership.is_owner,
        scopes: membership.scopes.clone(),
        invited_by: membership.invited_by.clone(),
        joined_at: Some(membership.joined_at),
        last_sign_in_at: membership.last_sign_in_at,
        invitation_id: None,
        grants: membership.grants,
    }
}

impl AccessService {
    /// Loads the member an actor wants to change, refusing what rules 6 and 8 forbid:
    /// acting on oneself, touching the owner, or touching someone who outranks the actor.
    async fn target_member(
        &self,
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

    /// Changes a member's role, scopes or extra grants (never name or email: rule 9).
    #[tracing::instrument(skip(self, cmd), fields(actor = %cmd.actor, account_id = %cmd.account_id, user_id = %cmd.user_id))]
    pub async fn update_member(&self, cmd: UpdateMember) -> DomainResult<MemberRow> {
        let now = super::now();
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), &cmd.account_id).await?;
        let actor = self
            .require(tx.as_ref(), &cmd.actor, &account.id, "users.edit")
            .await?;
        let member = if cmd.actor == cmd.user_id {
            // Changing oneself is allowed, within what one holds (checked below).
            tx.membership(&account.id, &cmd.user_id)
                .await?
                .ok_or_else(|| DomainError::not_found("member", cmd.user_id.as_str()))?
        } else {
            self.target_member(
                tx.as_ref(),
                &cmd.actor,
                &actor,
                &account.id,
                &cmd.user_id,
                "change",
            )
            .await?
        };
        if member.is_owner {
            return Err(DomainError::precondition(
                "OWNER_PROTECTED",
                "the owner's role changes only through TransferOwnership",
            ));
        }
        let role = match &cmd.role {
            Some(name) => Self::resolve_role(tx.as_ref(), &account.id, name).await?,
            None => member.role.clone(),
        };
        let scopes = cmd.scopes.clone().unwrap_or_else(|| member.scopes.clone());
        let grants = cmd.grants.unwrap_or(member.grants);
        if !grants.intersection(PermissionSet::owner_only()).is_empty() {
            return Err(DomainError::invalid(
                "extra_permissions",
                "account.transfer belongs to the owner alone and cannot be granted",
            ));
        }
        Self::check_grantable(&actor, &role, grants, &scopes)?;
        if member.status == MembershipStatus::Active {
            self.check_seats(
                tx.as_ref(),
                &account,
                SeatChange {
                    seats: 0,
                    restricted: usize::from(role.restricted && !member.role.restricted),
                },
            )
            .await?;
        }
        let change = MembershipChange {
            role_id: cmd.role.as_ref().map(|_| role.id.clone()),
            scopes: cmd.scopes.clone(),
            grants: cmd.grants,
            status: None,
        };
        tx.update_membership(&account.id, &cmd.user_id, &change, now)
            .await?;
        tx.append_activity(&activity(
            &account.id,
            &cmd.actor,
            "member.update",
            cmd.user_id.as_str(),
            json!({
                "role": role.name,
                "previous_role": member.role.name,
                "scoped": !scopes.is_empty(),
                "extra_permissions": grants.names(),
            }),
            now,
        ))
        .await?;
        tx.commit().await?;
        let mut updated = member;
        updated.role = role;
        updated.scopes = scopes;
        updated.grants = grants;
        let status = updated.status;
        Ok(member_row(&updated, status))
    }

    async fn set_member_status(
        &self,
        actor: &UserId,
        account_id: &AccountId,
        user: &UserId,
        status: MembershipStatus,
    ) -> DomainResult<MemberRow> {
        let now = super::now();
        let (verb, action) = match status {
            MembershipStatus::Active => ("reactivate", "member.reactivate"),
            MembershipStatus::Deactivated => ("deactivate", "member.deactivate"),
        };
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), account_id).await?;
        let actor_access = self
            .require(tx.as_ref(), actor, account_id, "users.remove")
            .await?;
        let member = self
            .target_member(tx.as_ref(), actor, &actor_access, account_id, user, verb)
            .await?;
        if member.status == status {
            // Already there: nothing changes, nothing is logged.
            return Ok(member_row(&member, status));
        }
        if status == MembershipStatus::Active {
            self.check_seats(
                tx.as_ref(),
                &account,
                SeatChange {
                    seats: 1,
                    restricted: usize::from(member.role.restricted),
                },
            )
            .await?;
        }
        let change = MembershipChange {
            status: Some(status),
            ..MembershipChange::default()
        };
        tx.update_membership(account_id, user, &change, now).await?;
        tx.append_activity(&activity(
            account_id,
            actor,
            action,
            user.as_str(),
            json!({ "email": member.person.email.as_str(), "role": member.role.name }),
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(member_row(&member, status))
    }

    /// Suspends a member: every check denies with MEMBERSHIP_INACTIVE.
    #[tracing::instrument(skip(self), fields(actor = %actor, account_id = %account, user_id = %user))]
    pub async fn deactivate_member(
        &self,
        actor: &UserId,
        account: &AccountId,
        user: &UserId,
    ) -> DomainResult<MemberRow> {
        self.set_member_status(actor, account, user, MembershipStatus::Deactivated)
            .await
    }

    /// Restores a deactivated member (counts against the member limit again).
    #[tracing::instrument(skip(self), fields(actor = %actor, account_id = %account, user_id = %user))]
    pub async fn reactivate_member(
        &self,
        actor: &UserId,
        account: &AccountId,
        user: &UserId,
    ) -> DomainResult<MemberRow> {
        self.set_member_status(actor, account, user, MembershipStatus::Active)
            .await
    }

    /// Deletes another member's membership.
    #[tracing::instrument(skip(self), fields(actor = %actor, account_id = %account_id, user_id = %user))]
    pub async fn remove_member(
        &self,
        actor: &UserId,
        account_id: &AccountId,
        user: &UserId,
    ) -> DomainResult<()> {
        let now = super::now();
        let tx = self.store.begin().await?;
        self.lock_open_account(tx.as_ref(), account_id).await?;
        let actor_access = self
            .require(tx.as_ref(), actor, account_id, "users.remove")
            .await?;
        let member = self
            .target_member(tx.as_ref(), actor, &actor_access, account_id, user, "remove")
            .await?;
        tx.delete_membership(account_id, user).await?;
        tx.append_activity(&activity(
            account_id,
            actor,
            "member.remove",
            user.as_str(),
            json!({ "email": member.person.email.as_str(), "role": member.role.name }),
            now,
        ))
        .await?;
        tx.commit().await
    }

    /// The caller leaves an account; the owner cannot (rule 8).
    #[tracing::instrument(skip(self), fields(user_id = %user, account_id = %account_id))]
    pub async fn leave_account(&self, user: &UserId, account_id: &AccountId) -> DomainResult<()> {
        let now = super::now();
        let tx = self.store.begin().await?;
        // A closed account keeps its data as it was: nobody leaves it either.
        self.lock_open_account(tx.as_ref(), account_id).await?;
        let member = tx
            .membership(account_id, user)
            .await?
            .ok_or_else(|| DomainError::not_found("member", user.as_str()))?;
        if member.is_owner {
            return Err(DomainError::precondition(
                "OWNER_CANNOT_LEAVE",
                "the owner cannot leave the account: transfer ownership to an admin first",
            ));
        }
        tx.delete_membership(account_id, user).await?;
        tx.append_activity(&activity(
            account_id,
            user,
            "member.leave",
            user.as_str(),
            json!({ "email": member.person.email.as_str(), "role": member.role.name }),
            now,
        ))
        .await?;
        tx.commit().await
    }

    /// Rule 7: ownership goes to an active admin or account manager; the old owner becomes admin.
    #[tracing::instrument(skip(self), fields(actor = %actor, account_id = %account_id, new_owner = %new_owner))]
    pub async fn transfer_ownership(
        &self,
        actor: &UserId,
        account_id: &AccountId,
        new_owner: &UserId,
    ) -> DomainResult<Account> {
        let now = super::now();
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), account_id).await?;
        self.require(tx.as_ref(), actor, account_id, "account.transfer")
            .await?;
        let old_owner = account.owner.clone();
        if &old_owner.user_id == new_owner {
            return Err(DomainError::precondition(
                "ALREADY_OWNER",
                format!("'{new_owner}' already owns account '{account_id}'"),
            ));
        }
        let target = tx
            .membership(account_id, new_owner)
            .await?
            .ok_or_else(|| DomainError::not_found("member", new_owner.as_str()))?;
        if target.status != MembershipStatus::Active
            || !TRANSFER_TARGET_ROLES.contains(&target.role.name.as_str())
        {
            return Err(DomainError::precondition(
                "TRANSFER_TARGET_NOT_ADMIN",
                format!(
                    "ownership can go only to an active admin or account_manager; '{new_owner}' is {} ({}): change their role first",
                    target.role.name,
                    if target.status == MembershipStatus::Active {
                        "active"
                    } else {
                        "deactivated"
                    }
                ),
            ));
        }
        let admin = Self::resolve_role(tx.as_ref(), account_id, ADMIN_ROLE).await?;
        tx.move_ownership(account_id, &old_owner.user_id, new_owner, &admin.id, now)
            .await?;
        tx.append_activity(&activity(
            account_id,
            actor,
            "account.transfer",
            new_owner.as_str(),
            json!({ "previous_owner": old_owner.user_id.as_str(), "new_owner": new_owner.as_str() }),
            now,
        ))
        .await?;
        tx.commit().await?;
        let mut account = account;
        account.owner = target.person;
        Ok(account)
    }

    /// Records a member's sign-in to an account (shown as "last sign-in").
    #[tracing::instrument(skip(self), fields(user_id = %user, account_id = %account_id))]
    pub async fn record_sign_in(&self, user: &UserId, account_id: &AccountId) -> DomainResult<DateTime<Utc>> {
        let now = super::now();
        let tx = self.store.begin().await?;
        self.lock_open_account(tx.as_ref(), account_id).await?;
        match tx.membership_status(account_id, user).await? {
            Some(MembershipStatus::Active) => {}
            Some(MembershipStatus::Deactivated) => {
                return Err(DomainError::precondition(
                    "MEMBERSHIP_INACTIVE",
                    format!("'{user}' is deactivated in account '{account_id}'"),
                ));
            }
            None => return Err(DomainError::not_found("member", user.as_str())),
        }
        tx.record_sign_in(account_id, user, now).await?;
        tx.append_activity(&activity(
            account_id,
            user,
            "member.sign_in",
            user.as_str(),
            json!({}),
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(now)
    }

    /// The open accounts a user can switch to, children reached as parent owner included.
    #[tracing::instrument(skip(self, query), fields(user_id = %query.user_id))]
    pub async fn list_accounts(&self, query: ListAccounts) -> DomainResult<Page<AccountAccess>> {
        let accounts = self.store.accounts_of(&query.user_id).await?;
        let (rows, next_page_token) = query.page.apply(accounts, |a| a.account.id.as_str().to_owned());
        Ok(Page {
            rows,
            next_page_token,
        })
    }

    /// Closes an account (owner, or anyone holding account.close: Mailchimp admins
    /// yes, Mailigen account managers no). Everything denies afterwards; data stays.
    #[tracing::instrument(skip(self), fields(actor = %actor, account_id = %account_id))]
    pub async fn close_account(&self, actor: &UserId, account_id: &AccountId) -> DomainResult<Account> {
        let now = super::now();
        let tx = self.store.begin().await?;
        let mut account = self.lock_open_account(tx.as_ref(), account_id).await?;
        self.require(tx.as_ref(), actor, account_id, "account.close")
            .await?;
        tx.close_account(account_id, now).await?;
        tx.append_activity(&activity(
            account_id,
            actor,
            "account.close",
            account_id.as_str(),
            json!({}),
            now,
        ))
        .await?;
        tx.commit().await?;
        account.state = crate::domain::model::AccountState::Closed;
        account.closed_at = Some(now);
        Ok(account)
    }

    /// Sets the plan quotas (rule 14): lowering below current use is refused,
    /// naming what must be removed first.
    #[tracing::instrument(skip(self), fields(actor = %actor, account_id = %account_id))]
    pub async fn set_account_limits(
        &self,
        actor: &UserId,
        account_id: &AccountId,
        limits: crate::domain::model::AccountLimits,
    ) -> DomainResult<Account> {
        let now = super::now();
        let tx = self.store.begin().await?;
        let mut account = self.lock_open_account(tx.as_ref(), account_id).await?;
        self.require(tx.as_ref(), actor, account_id, "billing.edit")
            .await?;
        let seats = tx.seats(account_id).await?;
        if let Some(max) = limits.max_members
            && seats.len() > max as usize
        {
            return Err(DomainError::precondition(
                "LIMIT_BELOW_USAGE",
                format!(
                    "account '{account_id}' has {} members (active members and pending invitations); remove or revoke {} of them before lowering the limit to {max}",
                    seats.len(),
                    seats.len() - max as usize
                ),
            ));
        }
        let restricted: Vec<String> = seats
            .iter()
            .filter(|s| s.restricted)
            .map(|s| format!("{} ({})", s.email, s.role))
            .collect();
        if let Some(max) = limits.max_restricted_members
            && restricted.len() > max as usize
        {
            return Err(DomainError::precondition(
                "LIMIT_BELOW_USAGE",
                format!(
                    "{} members use restricted or custom roles: {}; change the role of, or remove, {} of them before lowering the limit to {max}",
                    restricted.len(),
                    restricted.join(", "),
                    restricted.len() - max as usize
                ),
            ));
        }
        tx.set_limits(account_id, limits).await?;
        tx.append_activity(&activity(
            account_id,
            actor,
            "account.limits",
            account_id.as_str(),
            json!({ "max_members": limits.max_members, "max_restricted_members": limits.max_restricted_members }),
            now,
        ))
        .await?;
        tx.commit().await?;
        account.limits = limits;
        Ok(account)
    }
}
