//! The invitee's answer: accept (every pending invitation the token opens
//! becomes a membership) or decline.

use super::{AcceptInvitation, Accepted, inviter_lacks_reach, not_pending, unknown_token};
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{AccountId, Email, InvitationToken, UserId};
use crate::domain::model::{
    AccessEnds, AccountState, Invitation, InvitationState, MemberRow, MemberRowStatus, Written,
};
use crate::domain::model::{ActivityDetails, InvitationAccepted, InvitationNamed};
use crate::domain::permissions::PermissionSet;
use crate::domain::ports::NewMembership;
use crate::domain::rules::actors;
use crate::domain::rules::people::Claim;
use crate::domain::service::{UseCases, closed_error, now};

impl UseCases {
    /// Turns the pending invitations a token opens into memberships of the accepting person.
    #[tracing::instrument(level = "debug", skip(self, cmd), fields(user_id = %cmd.person.user_id))]
    pub async fn accept_invitation(&self, cmd: AcceptInvitation) -> DomainResult<Written<Accepted>> {
        let now = now();
        // Rule 15: with a verified actor token, the identity provider (not
        // the caller) says the address is the person's.
        if let Some(proven) = self.session.token()
            && !actors::proves_email(proven, &cmd.person.email)
        {
            return Err(email_not_proven(&cmd.person.email));
        }
        let token_hash = cmd.token.hash();
        let tx = self.store.begin().await?;
        let first_read = tx.invitations_by_token_hash(&token_hash).await?;
        let mut account_ids: Vec<AccountId> = first_read.iter().map(|i| i.account_id.clone()).collect();
        account_ids.sort();
        account_ids.dedup();
        let mut accounts = Vec::with_capacity(account_ids.len());
        for id in &account_ids {
            let account = tx
                .lock_account(id)
                .await?
                .ok_or_else(|| DomainError::Internal("invitation of a missing account".into()))?;
            // A token of another tenant opens nothing for this caller.
            if !self.serves(&account) {
                return Err(unknown_token());
            }
            accounts.push(account);
        }
        // Re-read under the account locks: a concurrent revoke or resend wins or loses as a whole.
        let mut invitations = tx.invitations_by_token_hash(&token_hash).await?;
        invitations.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        let Some(first) = invitations.first() else {
            return Err(unknown_token());
        };
        let live: Vec<Invitation> = invitations
            .iter()
            .filter(|i| i.effective_state(now) == InvitationState::Pending)
            .cloned()
            .collect();
        if live.is_empty() {
            let blocking = invitations
                .iter()
                .find(|i| i.effective_state(now) == InvitationState::Expired)
                .unwrap_or(first);
            return Err(not_pending(blocking, now));
        }
        if live.iter().any(|i| i.email != cmd.person.email) {
            return Err(DomainError::denied(
                ErrorReason::InvitationEmailMismatch,
                "this invitation was sent to another email address: sign in with the invited address",
            ));
        }
        if let Some(closed) = accounts.iter().find(|a| a.state == AccountState::Closed) {
            return Err(closed_error(&closed.id));
        }
        // Rule 10: an invitation grants only what its inviter could grant
        // now; one who lost that reach since does not lend it on.
        let mut offers = Vec::with_capacity(live.len());
        for invitation in live {
            let role = Self::resolve_role(tx.as_ref(), &invitation.account_id, &invitation.role).await?;
            if !Self::inviter_still_grants(tx.as_ref(), &invitation, &role).await? {
                return Err(inviter_lacks_reach(&invitation));
            }
            offers.push((invitation, role));
        }
        // The token was sent to the address the person claims (checked above).
        Self::ensure_person(tx.as_ref(), &cmd.person, Claim::Proven, now).await?;
        let mut accepted = Vec::with_capacity(offers.len());
        for (mut invitation, role) in offers {
            if tx
                .membership_status(&invitation.account_id, &cmd.person.user_id)
                .await?
                .is_some()
            {
                return Err(DomainError::exists(
                    ErrorReason::AlreadyAMember,
                    format!(
                        "user '{}' is already a member of account '{}'",
                        cmd.person.user_id, invitation.account_id
                    ),
                ));
            }
            tx.insert_membership(&NewMembership {
                account_id: invitation.account_id.clone(),
                user_id: cmd.person.user_id.clone(),
                role_id: role.id.clone(),
                is_owner: false,
                scopes: invitation.scopes.clone(),
                invited_by: Some(invitation.invited_by.clone()),
                joined_at: now,
                ends_at: invitation.member_ends_at,
            })
            .await?;
            tx.finish_invitation(
                &invitation.id,
                InvitationState::Accepted,
                Some(&cmd.person.user_id),
                now,
            )
            .await?;
            tx.append_activity(&self.activity(
                &invitation.account_id,
                &cmd.person.user_id,
                cmd.person.user_id.as_str(),
                ActivityDetails::InvitationAccept(InvitationAccepted {
                    invitation_id: invitation.id.to_string(),
                    role: role.name.to_string(),
                }),
                now,
            ))
            .await?;
            invitation.state = InvitationState::Accepted;
            let member = MemberRow {
                user_id: Some(cmd.person.user_id.clone()),
                name: cmd.person.name.clone(),
                email: cmd.person.email.clone(),
                role: role.name.to_string(),
                status: MemberRowStatus::Active,
                is_owner: false,
                scopes: invitation.scopes.clone(),
                invited_by: Some(invitation.invited_by.clone()),
                joined_at: Some(now),
                last_sign_in_at: None,
                invitation_id: None,
                grants: PermissionSet::EMPTY,
                ends: AccessEnds {
                    membership: invitation.member_ends_at,
                    ..AccessEnds::default()
                },
            };
            accepted.push((invitation, member));
        }
        let token = self.commit(tx).await?;
        Ok(Written::new(accepted, token))
    }

    /// The invitee turns down every pending invitation the token opens.
    #[tracing::instrument(level = "debug", skip(self, token))]
    pub async fn decline_invitation(
        &self,
        token: &InvitationToken,
    ) -> DomainResult<Written<Vec<Invitation>>> {
        let now = now();
        let token_hash = token.hash();
        let tx = self.store.begin().await?;
        let mut ids: Vec<AccountId> = tx
            .invitations_by_token_hash(&token_hash)
            .await?
            .into_iter()
            .map(|i| i.account_id)
            .collect();
        ids.sort();
        ids.dedup();
        for id in &ids {
            // A token of another tenant opens nothing for this caller.
            if tx
                .account(id)
                .await?
                .is_some_and(|account| !self.serves(&account))
            {
                return Err(unknown_token());
            }
            self.lock_open_account(tx.as_ref(), id).await?;
        }
        let invitations = tx.invitations_by_token_hash(&token_hash).await?;
        let first = invitations.first().ok_or_else(unknown_token)?;
        let pending: Vec<Invitation> = invitations
            .iter()
            .filter(|i| i.state == InvitationState::Pending)
            .cloned()
            .collect();
        if pending.is_empty() {
            return Err(not_pending(first, now));
        }
        if let Some(proven) = self.session.token()
            && let Some(other) = pending.iter().find(|i| !actors::proves_email(proven, &i.email))
        {
            return Err(email_not_proven(&other.email));
        }
        let mut declined = Vec::with_capacity(pending.len());
        for mut invitation in pending {
            tx.finish_invitation(&invitation.id, InvitationState::Declined, None, now)
                .await?;
            // The invitee may have no user id yet: the log names them by email.
            tx.append_activity(&self.activity(
                &invitation.account_id,
                &UserId::from_trusted(invitation.email.as_str().to_owned()),
                invitation.email.as_str(),
                ActivityDetails::InvitationDecline(InvitationNamed {
                    invitation_id: invitation.id.to_string(),
                }),
                now,
            ))
            .await?;
            invitation.state = InvitationState::Declined;
            declined.push(invitation);
        }
        let revisions = self.commit(tx).await?;
        Ok(Written::new(declined, revisions))
    }
}

/// The refusal of an answer whose actor token does not prove `email`, the
/// invited address (rule 15).
fn email_not_proven(email: &Email) -> DomainError {
    DomainError::denied(
        ErrorReason::EmailNotVerified,
        format!(
            "the actor token does not prove the address {email}: sign in at the identity provider \
             with the invited address, verified there, and try again"
        ),
    )
}
