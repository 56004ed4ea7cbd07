//! The inviter's side after Invite, for someone holding users.invite: list
//! an account's invitations, and resend (a new token), revoke, or change the
//! role and scopes of a pending one. Each change needs the actor to cover
//! what the invitation offers (rule 6).

use chrono::Utc;

use super::message::{InvitationNotice, Offer, invitation_message};
use super::{ListInvitations, not_pending};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{InvitationId, InvitationToken, RoleName, UserId};
use crate::domain::model::{
    Account, EffectivePermissions, Invitation, InvitationPageQuery, InvitationState, Role, Scopes, Written,
};
use crate::domain::model::{ActivityDetails, InvitationNamed, InvitationResent, InvitationTerms};
use crate::domain::page::NewestFirstKey;
use crate::domain::permissions::{Permission, PermissionSet};
use crate::domain::ports::Transaction;
use crate::domain::rules::guards;
use crate::domain::rules::quotas::SeatChange;
use crate::domain::service::{Page, UseCases, now, ttl};

/// Changes a pending invitation.
#[derive(Clone, Debug)]
pub struct UpdateInvitation {
    /// Who changes it.
    pub actor: UserId,
    /// Which one.
    pub invitation_id: InvitationId,
    /// New role name.
    pub role: Option<RoleName>,
    /// New scopes.
    pub scopes: Option<Scopes>,
}

/// What a change does to a pending invitation, for rule 6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InvitationChange {
    /// Issues a new token: grants the invitation again.
    Resend,
    /// Revokes or edits it: acts on what it offers.
    Edit,
}

impl UseCases {
    /// Loads an invitation and locks its account; the actor needs users.invite
    /// there and must cover what the invitation offers (rule 6): resending
    /// grants it again, revoking or editing acts on it. Returns the role it offers.
    async fn invitation_for_change(
        &self,
        tx: &dyn Transaction,
        actor: &UserId,
        id: &InvitationId,
        change: InvitationChange,
    ) -> DomainResult<(Account, Invitation, Role, EffectivePermissions)> {
        let first_read = tx
            .invitation(id)
            .await?
            .ok_or_else(|| DomainError::not_found("invitation", id.as_str()))?;
        self.hide_from_strangers(tx, actor, &first_read.account_id, "invitation", id.as_str())
            .await?;
        let account = self.lock_open_account(tx, &first_read.account_id).await?;
        let actor_access = self
            .require(tx, actor, &account.id, Permission::USERS_INVITE)
            .await?;
        let invitation = tx
            .invitation(id)
            .await?
            .ok_or_else(|| DomainError::not_found("invitation", id.as_str()))?;
        if invitation.state != InvitationState::Pending {
            return Err(not_pending(&invitation, Utc::now()));
        }
        let role = Self::resolve_role(tx, &account.id, &invitation.role).await?;
        match change {
            InvitationChange::Resend => {
                guards::check_grantable(&actor_access, &role, PermissionSet::EMPTY, &invitation.scopes)?;
            }
            InvitationChange::Edit => {
                guards::invitation_outranks(&actor_access, &role, &invitation.scopes)?;
            }
        }
        Ok((account, invitation, role, actor_access))
    }

    /// Issues a new token and expiry (the old token dies), counting one more send.
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %actor, invitation_id = %id))]
    pub async fn resend_invitation(
        &self,
        actor: &UserId,
        id: &InvitationId,
    ) -> DomainResult<Written<(Invitation, InvitationToken)>> {
        let now = now();
        let tx = self.store.begin().await?;
        let (account, mut invitation, _, _) = self
            .invitation_for_change(tx.as_ref(), actor, id, InvitationChange::Resend)
            .await?;
        self.resend_cooled_down(tx.as_ref(), &invitation, now).await?;
        let token = InvitationToken::generate()?;
        let expires_at = now + ttl(&self.settings)?;
        // Resending vouches for the offer anew: the resender is its inviter
        // now, whose reach acceptance judges (rule 10).
        tx.reissue_invitation(id, &token.hash(), expires_at, actor, now)
            .await?;
        invitation.invited_by = actor.clone();
        invitation.expires_at = expires_at;
        invitation.send_count += 1;
        tx.append_activity(&self.activity(
            &account.id,
            actor,
            invitation.email.as_str(),
            ActivityDetails::InvitationResend(InvitationResent {
                invitation_id: id.to_string(),
                send_count: invitation.send_count,
            }),
            now,
        ))
        .await?;
        let notice = InvitationNotice {
            actor,
            email: &invitation.email,
            invitee_name: &invitation.invitee_name,
            message: &invitation.message,
            offers: vec![Offer {
                account: &account,
                role: &invitation.role,
                invitation: Some(id),
            }],
            expires_at,
            resend: true,
        };
        let kept = self.settings.outbox_keeps_tokens.then_some(&token);
        let message = invitation_message(tx.as_ref(), &notice, kept, now).await?;
        self.within_email_limits(tx.as_ref(), &message, now).await?;
        tx.enqueue_message(&message).await?;
        let revisions = self.commit(tx).await?;
        Ok(Written::new((invitation, token), revisions))
    }

    /// Cancels a pending invitation (Mailjet's "delete access" before acceptance).
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %actor, invitation_id = %id))]
    pub async fn revoke_invitation(
        &self,
        actor: &UserId,
        id: &InvitationId,
    ) -> DomainResult<Written<Invitation>> {
        let now = now();
        let tx = self.store.begin().await?;
        let (account, mut invitation, _, _) = self
            .invitation_for_change(tx.as_ref(), actor, id, InvitationChange::Edit)
            .await?;
        tx.finish_invitation(id, InvitationState::Revoked, None, now)
            .await?;
        tx.append_activity(&self.activity(
            &account.id,
            actor,
            invitation.email.as_str(),
            ActivityDetails::InvitationRevoke(InvitationNamed {
                invitation_id: id.to_string(),
            }),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        invitation.state = InvitationState::Revoked;
        Ok(Written::new(invitation, token))
    }

    /// Changes the role or scopes a pending invitation offers.
    #[tracing::instrument(level = "debug", skip(self, cmd), fields(actor = %cmd.actor, invitation_id = %cmd.invitation_id))]
    pub async fn update_invitation(&self, cmd: UpdateInvitation) -> DomainResult<Written<Invitation>> {
        let now = now();
        let tx = self.store.begin().await?;
        let (account, mut invitation, old_role, actor) = self
            .invitation_for_change(
                tx.as_ref(),
                &cmd.actor,
                &cmd.invitation_id,
                InvitationChange::Edit,
            )
            .await?;
        let role = match &cmd.role {
            Some(name) => Self::resolve_role(tx.as_ref(), &account.id, name).await?,
            None => old_role.clone(),
        };
        let scopes = cmd.scopes.clone().unwrap_or_else(|| invitation.scopes.clone());
        // Scopes kept from the invitation are judged against the new role
        // too: the refusal then names the role that makes them meaningless.
        let field = if cmd.scopes.is_some() {
            "scopes.scopes"
        } else {
            "role"
        };
        guards::scope_without_permission(&role, PermissionSet::EMPTY, &scopes, field)?;
        guards::check_grantable(&actor, &role, PermissionSet::EMPTY, &scopes)?;
        self.check_seats(
            tx.as_ref(),
            &account,
            SeatChange {
                seats: 0,
                restricted: usize::from(role.restricted && !old_role.restricted),
            },
        )
        .await?;
        // The offer is the actor's now, whose reach acceptance judges (rule 10).
        tx.update_invitation(&invitation.id, &role, &scopes, &cmd.actor, now)
            .await?;
        tx.append_activity(&self.activity(
            &account.id,
            &cmd.actor,
            invitation.email.as_str(),
            ActivityDetails::InvitationUpdate(InvitationTerms {
                invitation_id: invitation.id.to_string(),
                role: role.name.to_string(),
                scoped: !scopes.is_empty(),
            }),
            now,
        ))
        .await?;
        let token = self.commit(tx).await?;
        invitation.role = role.name;
        invitation.scopes = scopes;
        invitation.invited_by = cmd.actor;
        Ok(Written::new(invitation, token))
    }

    /// The account's invitations, newest first, one page read from the
    /// store after the page key (not the whole account).
    #[tracing::instrument(level = "debug", skip(self, query), fields(actor = %query.actor, account_id = %query.account_id))]
    pub async fn list_invitations(&self, query: ListInvitations) -> DomainResult<Page<Invitation>> {
        let after = query
            .page
            .after
            .as_deref()
            .map(NewestFirstKey::decode)
            .transpose()?;
        let tx = self.begin_viewing(&query.actor, &query.account_id).await?;
        let invitations = tx
            .invitation_page(
                &query.account_id,
                &InvitationPageQuery {
                    state: query.state,
                    after,
                    // One more than the page says whether another follows.
                    limit: query.page.size + 1,
                    now: now(),
                },
            )
            .await?;
        let (mut rows, next_page_token) = query.page.cut(invitations, |i| {
            NewestFirstKey::spell(i.created_at, i.id.as_str())
        });
        // The page's rows only: the delivery read stays bounded by the page size.
        let ids: Vec<InvitationId> = rows.iter().map(|i| i.id.clone()).collect();
        for (id, delivery) in tx.deliveries(&ids).await? {
            if let Some(row) = rows.iter_mut().find(|i| i.id == id) {
                row.delivery = Some(delivery);
            }
        }
        drop(tx);
        Ok(Page {
            rows,
            next_page_token,
        })
    }
}
