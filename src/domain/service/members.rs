//! Members: list, change, deactivate, reactivate, remove, leave, transfer
//! ownership, sign-ins.

use chrono::{DateTime, Utc};

use super::member_ends::{MemberEnds, new_ends};
use super::{Page, UseCases, name_of};
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{AccountId, RoleName, UserId};
use crate::domain::model::{
    Account, EffectivePermissions, MemberRow, MemberRowStatus, Membership, MembershipStatus, Scopes, Written,
};
use crate::domain::model::{
    ActivityDetails, MemberRemovedFacts, MemberStanding, MemberUpdated, MessageFacts, OwnershipMoved,
    OwnershipTransferredFacts,
};
use crate::domain::model::{OutboxMessage, Person};
use crate::domain::page::PageRequest;
use crate::domain::permissions::{ADMIN_ROLE, Permission, PermissionSet};
use crate::domain::ports::{MembershipChange, Reads, Transaction};
use crate::domain::rules::ends::owner_never_ends;
use crate::domain::rules::guards;
use crate::domain::rules::member_list::{MemberListKey, MemberPageQuery};
use crate::domain::rules::quotas::SeatChange;

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
    pub role: Option<RoleName>,
    /// New scopes.
    pub scopes: Option<Scopes>,
    /// New extra grants.
    pub grants: Option<PermissionSet>,
    /// Changes to what ends (rule 17).
    pub ends: MemberEnds,
}

/// Lists an account's people.
#[derive(Clone, Debug)]
pub struct ListUsers {
    /// Who asks.
    pub actor: UserId,
    /// Which account.
    pub account_id: AccountId,
    /// Which page.
    pub page: PageRequest,
    /// Only rows with this status.
    pub status: Option<MemberRowStatus>,
    /// Only rows with this role (one the account has).
    pub role: Option<RoleName>,
    /// Only members whose access ends within this long from now (rule 17).
    pub ends_within: Option<chrono::Duration>,
}

/// Roles that may receive ownership (rule 7 of docs/domain.md).
const TRANSFER_TARGET_ROLES: &[&str] = &[ADMIN_ROLE, "account_manager"];

fn member_row(membership: &Membership, status: MembershipStatus, now: DateTime<Utc>) -> MemberRow {
    let ended = membership.ends.membership_ended(membership.is_owner, now);
    MemberRow {
        user_id: Some(membership.person.user_id.clone()),
        name: membership.person.name.clone(),
        email: membership.person.email.clone(),
        role: membership.role.name.to_string(),
        status: match status {
            MembershipStatus::Active if ended => MemberRowStatus::Expired,
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
        ends: membership.ends.clone(),
    }
}

impl UseCases {
    /// Changes a member's role, scopes or extra grants (never name or email: rule 9).
    #[tracing::instrument(level = "debug", skip(self, cmd), fields(actor = %cmd.actor, account_id = %cmd.account_id, user_id = %cmd.user_id))]
    pub async fn update_member(&self, cmd: UpdateMember) -> DomainResult<Written<MemberRow>> {
        let now = super::now();
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), &cmd.account_id).await?;
        let actor = self
            .require(tx.as_ref(), &cmd.actor, &account.id, Permission::USERS_EDIT)
            .await?;
        let member = if cmd.actor == cmd.user_id {
            // Changing oneself is allowed, within what one holds (checked below).
            tx.membership(&account.id, &cmd.user_id)
                .await?
                .ok_or_else(|| DomainError::not_found("member", cmd.user_id.as_str()))?
        } else {
            target_member(
                tx.as_ref(),
                &cmd.actor,
                &actor,
                &account.id,
                &cmd.user_id,
                "change",
            )
            .await?
        };
        if member.is_owner && cmd.ends.sets_any() {
            return Err(owner_never_ends("ends"));
        }
        if member.is_owner {
            return Err(DomainError::precondition(
                ErrorReason::OwnerProtected,
                "the owner's role changes only through TransferOwnership",
            ));
        }
        let role = match &cmd.role {
            Some(name) => Self::resolve_role(tx.as_ref(), &account.id, name).await?,
            None => member.role.clone(),
        };
        let scopes = cmd.scopes.clone().unwrap_or_else(|| member.scopes.clone());
        let grants = cmd.grants.unwrap_or(member.grants);
        guards::owner_only_refused(
            grants,
            "extra_permissions",
            "account.transfer belongs to the owner alone and cannot be granted",
        )?;
        // Kept scopes are judged against a new role or grants too: the
        // refusal then names the field that made them meaningless.
        let field = if cmd.scopes.is_some() {
            "scopes.scopes"
        } else if cmd.role.is_some() {
            "role"
        } else {
            "extra_permissions.permissions"
        };
        guards::scope_without_permission(&role, grants, &scopes, field)?;
        guards::check_grantable(&actor, &role, grants, &scopes)?;
        let ends = new_ends(
            &member,
            &cmd.ends,
            grants,
            &scopes,
            now,
            self.settings.access_ends,
        )?;
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
        if role.id == member.role.id
            && scopes == member.scopes
            && grants == member.grants
            && ends == member.ends
        {
            // Nothing changes: a retry logs nothing (rule 12), as
            // DeactivateMember does; the commit still reaches every replica.
            let token = self.commit(tx).await?;
            let status = member.status;
            return Ok(Written::new(member_row(&member, status, now), token));
        }
        let change = MembershipChange {
            role_id: cmd.role.as_ref().map(|_| role.id.clone()),
            scopes: cmd.scopes.clone(),
            grants: cmd.grants,
            status: None,
            ends: Some(ends.clone()),
        };
        tx.update_membership(&account.id, &cmd.user_id, &change, now)
            .await?;
        tx.append_activity(&self.activity(
            &account.id,
            &cmd.actor,
            cmd.user_id.as_str(),
            ActivityDetails::MemberUpdate(MemberUpdated {
                role: role.name.to_string(),
                previous_role: member.role.name.to_string(),
                scoped: !scopes.is_empty(),
                extra_permissions: grants.names().into_iter().map(String::from).collect(),
            }),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        let mut updated = member;
        updated.role = role;
        updated.scopes = scopes;
        updated.grants = grants;
        updated.ends = ends;
        let status = updated.status;
        Ok(Written::new(member_row(&updated, status, now), token))
    }

    async fn set_member_status(
        &self,
        actor: &UserId,
        account_id: &AccountId,
        user: &UserId,
        status: MembershipStatus,
    ) -> DomainResult<Written<MemberRow>> {
        let now = super::now();
        let (verb, logged): (_, fn(MemberStanding) -> ActivityDetails) = match status {
            MembershipStatus::Active => ("reactivate", ActivityDetails::MemberReactivate),
            MembershipStatus::Deactivated => ("deactivate", ActivityDetails::MemberDeactivate),
        };
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), account_id).await?;
        let actor_access = self
            .require(tx.as_ref(), actor, account_id, Permission::USERS_REMOVE)
            .await?;
        let member = target_member(tx.as_ref(), actor, &actor_access, account_id, user, verb).await?;
        if member.status == status {
            // Already there: nothing changes and nothing is logged, but the
            // commit still bumps the revision and reaches every replica, so a
            // retry never answers OK while the first call's invalidation may
            // still be on its way.
            let token = self.commit(tx).await?;
            return Ok(Written::new(member_row(&member, status, now), token));
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
        tx.append_activity(&self.activity(
            account_id,
            actor,
            user.as_str(),
            logged(MemberStanding::of(&member)),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        Ok(Written::new(member_row(&member, status, now), token))
    }

    /// Suspends a member: every check denies with MEMBERSHIP_INACTIVE.
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %actor, account_id = %account, user_id = %user))]
    pub async fn deactivate_member(
        &self,
        actor: &UserId,
        account: &AccountId,
        user: &UserId,
    ) -> DomainResult<Written<MemberRow>> {
        self.set_member_status(actor, account, user, MembershipStatus::Deactivated)
            .await
    }

    /// Restores a deactivated member (counts against the member limit again).
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %actor, account_id = %account, user_id = %user))]
    pub async fn reactivate_member(
        &self,
        actor: &UserId,
        account: &AccountId,
        user: &UserId,
    ) -> DomainResult<Written<MemberRow>> {
        self.set_member_status(actor, account, user, MembershipStatus::Active)
            .await
    }

    /// Deletes another member's membership.
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %actor, account_id = %account_id, user_id = %user))]
    pub async fn remove_member(
        &self,
        actor: &UserId,
        account_id: &AccountId,
        user: &UserId,
    ) -> DomainResult<Written<()>> {
        let now = super::now();
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), account_id).await?;
        let actor_access = self
            .require(tx.as_ref(), actor, account_id, Permission::USERS_REMOVE)
            .await?;
        let member = match target_member(tx.as_ref(), actor, &actor_access, account_id, user, "remove").await
        {
            Ok(member) => member,
            // Gone already, perhaps by a first call whose invalidation is
            // still on its way: answered once that is visible everywhere.
            Err(err @ DomainError::NotFound { .. }) => {
                self.already_done(tx).await?;
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        if member.role.name.as_str() == ADMIN_ROLE {
            self.require_recent_sign_in(actor, &format!("remove admin '{user}'"))?;
        }
        tx.delete_membership(account_id, user).await?;
        tx.append_activity(&self.activity(
            account_id,
            actor,
            user.as_str(),
            ActivityDetails::MemberRemove(MemberStanding::of(&member)),
            now,
        ))
        .await?;
        tx.enqueue_message(&member_removed(tx.as_ref(), &account, &member.person, actor, now).await?)
            .await?;
        let token = self.commit(tx).await?;
        Ok(Written::new((), token))
    }

    /// The caller leaves an account; the owner cannot (rule 8), and in an
    /// account requiring two-factor only a session that passed it may (rule 3).
    #[tracing::instrument(level = "debug", skip(self), fields(user_id = %user, account_id = %account_id))]
    pub async fn leave_account(&self, user: &UserId, account_id: &AccountId) -> DomainResult<Written<()>> {
        let now = super::now();
        let tx = self.store.begin().await?;
        // A closed account keeps its data as it was: nobody leaves it either.
        let account = self.lock_open_account(tx.as_ref(), account_id).await?;
        let member = tx
            .membership(account_id, user)
            .await?
            .ok_or_else(|| DomainError::not_found("member", user.as_str()))?;
        self.require_session(user, &account, "leave")?;
        if member.is_owner {
            return Err(DomainError::precondition(
                ErrorReason::OwnerCannotLeave,
                "the owner cannot leave the account: transfer ownership to an admin first",
            ));
        }
        tx.delete_membership(account_id, user).await?;
        tx.append_activity(&self.activity(
            account_id,
            user,
            user.as_str(),
            ActivityDetails::MemberLeave(MemberStanding::of(&member)),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        Ok(Written::new((), token))
    }

    /// Rule 7: ownership goes to an active admin or account manager; the old owner becomes admin.
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %actor, account_id = %account_id, new_owner = %new_owner))]
    pub async fn transfer_ownership(
        &self,
        actor: &UserId,
        account_id: &AccountId,
        new_owner: &UserId,
    ) -> DomainResult<Written<Account>> {
        let now = super::now();
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), account_id).await?;
        self.require(tx.as_ref(), actor, account_id, Permission::ACCOUNT_TRANSFER)
            .await?;
        let old_owner = account.owner.clone();
        if &old_owner.user_id == new_owner {
            return Err(DomainError::precondition(
                ErrorReason::AlreadyOwner,
                format!("'{new_owner}' already owns account '{account_id}'"),
            ));
        }
        let target = tx
            .membership(account_id, new_owner)
            .await?
            .ok_or_else(|| DomainError::not_found("member", new_owner.as_str()))?;
        let deactivated = target.status != MembershipStatus::Active;
        if !TRANSFER_TARGET_ROLES.contains(&target.role.name.as_str()) {
            return Err(DomainError::precondition(
                ErrorReason::TransferTargetNotAdmin,
                format!(
                    "ownership can go only to an active admin or account_manager; '{new_owner}' is {}: change their role first{}",
                    target.role.name,
                    if deactivated { " and reactivate them" } else { "" }
                ),
            ));
        }
        // The role fits, so the only thing in the way is the deactivation:
        // say so, rather than send the caller to change a role that is right.
        if deactivated {
            return Err(DomainError::precondition(
                ErrorReason::MemberDeactivated,
                format!(
                    "'{new_owner}' is a deactivated {} of account '{account_id}': reactivate them (ReactivateMember) first, then transfer ownership",
                    target.role.name
                ),
            ));
        }
        self.require_recent_sign_in(actor, &format!("transfer ownership of account '{account_id}'"))?;
        let admin = Self::resolve_role(tx.as_ref(), account_id, &RoleName::from_trusted(ADMIN_ROLE)).await?;
        tx.move_ownership(account_id, &old_owner.user_id, new_owner, &admin.id, now)
            .await?;
        tx.append_activity(&self.activity(
            account_id,
            actor,
            new_owner.as_str(),
            ActivityDetails::AccountTransfer(OwnershipMoved {
                previous_owner: old_owner.user_id.to_string(),
                new_owner: new_owner.to_string(),
            }),
            now,
        ))
        .await?;
        tx.enqueue_message(&ownership_transferred(&account, &old_owner, &target.person, now))
            .await?;
        let token = self.commit(tx).await?;
        let mut account = account;
        account.owner = target.person;
        Ok(Written::new(account, token))
    }

    /// Records a member's sign-in to an account (shown as "last sign-in"):
    /// one that passed two-factor, where the account requires it (rule 3).
    #[tracing::instrument(level = "debug", skip(self), fields(user_id = %user, account_id = %account_id))]
    pub async fn record_sign_in(
        &self,
        user: &UserId,
        account_id: &AccountId,
    ) -> DomainResult<Written<DateTime<Utc>>> {
        let now = super::now();
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), account_id).await?;
        match tx.membership_status(account_id, user).await? {
            // Signing in is acting in the account: a session that has not
            // passed the two-factor it requires is no sign-in to record.
            Some(MembershipStatus::Active) => self.require_session(user, &account, "sign in to")?,
            // The member is the subject here, as in TransferOwnership and
            // Invite: FAILED_PRECONDITION MEMBER_DEACTIVATED. MEMBERSHIP_INACTIVE
            // is the actor's refusal (PERMISSION_DENIED); one reason, one code.
            Some(MembershipStatus::Deactivated) => {
                return Err(DomainError::precondition(
                    ErrorReason::MemberDeactivated,
                    format!("'{user}' is deactivated in account '{account_id}': reactivate them first"),
                ));
            }
            None => return Err(DomainError::not_found("member", user.as_str())),
        }
        tx.record_sign_in(account_id, user, now).await?;
        tx.append_activity(&self.activity(
            account_id,
            user,
            user.as_str(),
            ActivityDetails::MemberSignIn,
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        Ok(Written::new(now, token))
    }

    /// The account's people in the order of docs/domain.md rule 13, one page at a time.
    #[tracing::instrument(level = "debug", skip(self, query), fields(actor = %query.actor, account_id = %query.account_id))]
    pub async fn list_users(&self, query: ListUsers) -> DomainResult<Page<MemberRow>> {
        let now = super::now();
        let page = MemberPageQuery {
            status: query.status,
            role: query.role.as_ref().map(|role| role.as_str().to_owned()),
            after: query
                .page
                .after
                .as_deref()
                .map(MemberListKey::decode)
                .transpose()?,
            // One row more than the page says whether another page follows.
            limit: query.page.size + 1,
            max_bytes: self.settings.max_page_bytes,
            now,
            ends_before: query.ends_within.map(|within| now + within),
        };
        let tx = self.begin_viewing(&query.actor, &query.account_id).await?;
        if let Some(role) = &query.role {
            // A role the account does not have would filter everything out:
            // an empty list that reads as "nobody has it". Refuse it as every
            // other request naming a role does (INVALID_ARGUMENT on `role`).
            Self::resolve_role(tx.as_ref(), &query.account_id, role).await?;
        }
        let read = tx.member_page(&query.account_id, &page).await?;
        drop(tx);
        let key = |row: &MemberRow| MemberListKey::of(row).map(|key| key.encode()).unwrap_or_default();
        let (rows, next_page_token) = if read.cut_at_budget {
            query.page.cut_short(read.rows, key)
        } else {
            query.page.cut(read.rows, key)
        };
        Ok(Page {
            rows,
            next_page_token,
        })
    }
}

/// Loads the member an actor wants to change, refusing what rules 6 and 8
/// forbid: acting on oneself, touching the owner, or touching someone whose
/// permissions or scopes the actor does not cover.
async fn target_member(
    tx: &dyn Transaction,
    actor: &UserId,
    actor_access: &EffectivePermissions,
    account: &AccountId,
    user: &UserId,
    verb: &str,
) -> DomainResult<Membership> {
    guards::acting_on_self_refused(actor, user, verb)?;
    let member = tx
        .membership(account, user)
        .await?
        .ok_or_else(|| DomainError::not_found("member", user.as_str()))?;
    guards::member_target_refused(actor_access, &member, user, verb)?;
    Ok(member)
}

/// To the new owner: the account is theirs.
fn ownership_transferred(
    account: &Account,
    previous_owner: &Person,
    new_owner: &Person,
    at: DateTime<Utc>,
) -> OutboxMessage {
    let facts = MessageFacts::OwnershipTransferred(OwnershipTransferredFacts {
        account_id: account.id.to_string(),
        account_name: account.name.clone(),
        previous_owner_name: previous_owner.name.clone(),
        new_owner_name: new_owner.name.clone(),
    });
    OutboxMessage::new(&account.id, &new_owner.email, facts, at)
}

/// To the removed member: they no longer have access.
async fn member_removed(
    reads: &dyn Reads,
    account: &Account,
    member: &Person,
    removed_by: &UserId,
    at: DateTime<Utc>,
) -> DomainResult<OutboxMessage> {
    let (remover_name, _) = name_of(reads, removed_by).await?;
    let facts = MessageFacts::MemberRemoved(MemberRemovedFacts {
        account_id: account.id.to_string(),
        account_name: account.name.clone(),
        member_name: member.name.clone(),
        removed_by: remover_name,
    });
    Ok(OutboxMessage::new(&account.id, &member.email, facts, at))
}
