//! Invitations: invite (and preview its email), the invitee's accept and
//! decline, the admin's resend, revoke, update and list.

use chrono::Utc;
use tonic::{Request, Status};

use super::GrpcHandlers;
use crate::domain::DomainError;
use crate::domain::ids::InvitationToken;
use crate::domain::model::Written;
use crate::domain::service::{AcceptInvitation, Invite, ListInvitations, UpdateInvitation};
use crate::grpc::convert::{self, InvitationTarget, invitation_to_pb};
use crate::grpc::middleware::{KeyScope, caller_of, record_subject};
use crate::grpc::pb;

impl GrpcHandlers {
    pub(super) async fn invite(
        &self,
        mut request: Request<pb::InviteRequest>,
    ) -> Result<pb::InviteResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let shown = token_shown(&request)?;
        let cmd = Invite::try_from(request.into_inner())?;
        self.scope_ids_refused(&cmd)?;
        let Written { value: issued, token } = use_cases.invite(cmd).await?;
        let now = Utc::now();
        let mut invitations = issued.invitations.into_iter().map(|i| invitation_to_pb(i, now));
        Ok(pb::InviteResponse {
            invitation: invitations.next(),
            token: issued
                .token
                .filter(|_| shown)
                .map(InvitationToken::into_secret)
                .unwrap_or_default(),
            additional_invitations: invitations.collect(),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn preview_invitation_email(
        &self,
        mut request: Request<pb::PreviewInvitationEmailRequest>,
    ) -> Result<pb::PreviewInvitationEmailResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let within = |err: DomainError| err.nested_in("invite");
        let cmd = Invite::try_from(request.into_inner().invite.unwrap_or_default()).map_err(within)?;
        self.scope_ids_refused(&cmd).map_err(within)?;
        let message = use_cases.preview_invitation(cmd).await.map_err(within)?;
        let email = self
            .renderer
            .render(&message.into_stored())
            .map_err(|err| DomainError::Internal(format!("cannot render the invitation email: {err:#}")))?;
        Ok(convert::preview_to_pb(email))
    }

    pub(super) async fn accept_invitation(
        &self,
        mut request: Request<pb::AcceptInvitationRequest>,
    ) -> Result<pb::AcceptInvitationResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let cmd = AcceptInvitation::try_from(request.into_inner())?;
        let Written {
            value: accepted,
            token,
        } = use_cases.accept_invitation(cmd).await?;
        let now = Utc::now();
        let (invitations, members): (Vec<_>, Vec<_>) = accepted
            .into_iter()
            .map(|(invitation, member)| (invitation_to_pb(invitation, now), pb::Member::from(member)))
            .unzip();
        let mut invitations = invitations.into_iter();
        let mut members = members.into_iter();
        Ok(pb::AcceptInvitationResponse {
            invitation: invitations.next(),
            member: members.next(),
            additional_invitations: invitations.collect(),
            additional_members: members.collect(),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn decline_invitation(
        &self,
        mut request: Request<pb::DeclineInvitationRequest>,
    ) -> Result<pb::DeclineInvitationResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let invitation_token = InvitationToken::try_from(request.into_inner())?;
        let Written {
            value: declined,
            token,
        } = use_cases.decline_invitation(&invitation_token).await?;
        let now = Utc::now();
        Ok(pb::DeclineInvitationResponse {
            invitations: declined.into_iter().map(|i| invitation_to_pb(i, now)).collect(),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn resend_invitation(
        &self,
        mut request: Request<pb::ResendInvitationRequest>,
    ) -> Result<pb::ResendInvitationResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let shown = token_shown(&request)?;
        let InvitationTarget { actor, invitation_id } = InvitationTarget::try_from(request.into_inner())?;
        let Written {
            value: (invitation, secret),
            token,
        } = use_cases.resend_invitation(&actor, &invitation_id).await?;
        Ok(pb::ResendInvitationResponse {
            invitation: Some(invitation_to_pb(invitation, Utc::now())),
            token: if shown {
                secret.into_secret()
            } else {
                String::new()
            },
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn revoke_invitation(
        &self,
        mut request: Request<pb::RevokeInvitationRequest>,
    ) -> Result<pb::RevokeInvitationResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let InvitationTarget { actor, invitation_id } = InvitationTarget::try_from(request.into_inner())?;
        let Written {
            value: invitation,
            token,
        } = use_cases.revoke_invitation(&actor, &invitation_id).await?;
        Ok(pb::RevokeInvitationResponse {
            invitation: Some(invitation_to_pb(invitation, Utc::now())),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn update_invitation(
        &self,
        mut request: Request<pb::UpdateInvitationRequest>,
    ) -> Result<pb::UpdateInvitationResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let cmd = UpdateInvitation::try_from(request.into_inner())?;
        convert::scope_ids_refused(self.max_scope_ids, "scopes.scopes", cmd.scopes.as_ref())?;
        let Written {
            value: invitation,
            token,
        } = use_cases.update_invitation(cmd).await?;
        Ok(pb::UpdateInvitationResponse {
            invitation: Some(invitation_to_pb(invitation, Utc::now())),
            consistency_token: convert::token_to_pb(&token),
        })
    }

    pub(super) async fn list_invitations(
        &self,
        mut request: Request<pb::ListInvitationsRequest>,
    ) -> Result<pb::ListInvitationsResponse, Status> {
        let use_cases = self.acting(&mut request).await?;
        let query = ListInvitations::try_from(request.into_inner())?;
        record_subject(Some(&query.account_id), None);
        let page = use_cases.list_invitations(query).await?;
        let now = Utc::now();
        Ok(pb::ListInvitationsResponse {
            invitations: page.rows.into_iter().map(|i| invitation_to_pb(i, now)).collect(),
            next_page_token: page.next_page_token,
        })
    }
}

/// Whether the caller may see the raw invitation token an answer would
/// carry: only a key (or certificate identity) holding `invitation_tokens`,
/// a system that delivers invitations itself. Anyone else (the web app
/// acting for an admin, say) gets an empty token: the secret that makes its
/// holder a member travels only in the email to the invited address, so a
/// key acting for an admin cannot mint memberships for addresses it does
/// not own.
fn token_shown<T>(request: &Request<T>) -> Result<bool, Status> {
    Ok(caller_of(request)?.holds(KeyScope::InvitationTokens))
}

impl GrpcHandlers {
    /// Refuses an invitation one of whose accounts lists more scope ids
    /// than ACCESS_MAX_SCOPE_IDS, naming that account's field.
    fn scope_ids_refused(&self, cmd: &Invite) -> Result<(), DomainError> {
        for (i, target) in cmd.targets.iter().enumerate() {
            let field = match i {
                0 => "scopes".to_owned(),
                i => format!("additional_accounts[{}].scopes", i - 1),
            };
            convert::scope_ids_refused(self.max_scope_ids, &field, Some(&target.scopes))?;
        }
        Ok(())
    }
}
