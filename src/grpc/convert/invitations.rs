//! Invitations: invite, accept, decline, resend, revoke, update and list.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::{named, optional_id, page, person, present, scopes, scopes_to_pb, timestamp};
use crate::domain::DomainError;
use crate::domain::error::FieldViolation;
use crate::domain::ids::{
    AccountId, Email, InvitationId, InvitationToken, RoleName, UserId, Violations, parse_name, parse_note,
};
use crate::domain::model::{Delivery, DeliveryState, Invitation, InvitationState};
use crate::domain::service::{AcceptInvitation, Invite, InviteTarget, ListInvitations, UpdateInvitation};
use crate::email::RenderedEmail;
use crate::grpc::pb;

/// An actor acting on one invitation (ResendInvitation, RevokeInvitation).
#[derive(Debug)]
pub struct InvitationTarget {
    /// Who asks.
    pub actor: UserId,
    /// The invitation acted on.
    pub invitation_id: InvitationId,
}

impl InvitationTarget {
    fn parse(actor: &str, invitation: &str) -> Result<Self, DomainError> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", actor));
        let invitation_id = v.check(InvitationId::parse("invitation_id", invitation));
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            invitation_id: present(invitation_id)?,
        })
    }
}

impl TryFrom<pb::ResendInvitationRequest> for InvitationTarget {
    type Error = DomainError;

    fn try_from(raw: pb::ResendInvitationRequest) -> Result<Self, Self::Error> {
        Self::parse(&raw.actor_user_id, &raw.invitation_id)
    }
}

impl TryFrom<pb::RevokeInvitationRequest> for InvitationTarget {
    type Error = DomainError;

    fn try_from(raw: pb::RevokeInvitationRequest) -> Result<Self, Self::Error> {
        Self::parse(&raw.actor_user_id, &raw.invitation_id)
    }
}

impl TryFrom<pb::DeclineInvitationRequest> for InvitationToken {
    type Error = DomainError;

    fn try_from(raw: pb::DeclineInvitationRequest) -> Result<Self, Self::Error> {
        Ok(Self::parse("token", &raw.token)?)
    }
}

impl TryFrom<pb::InviteRequest> for Invite {
    type Error = DomainError;

    fn try_from(raw: pb::InviteRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let email = v.check(Email::parse("email", &raw.email));
        let role = v.check(RoleName::parse("role", &raw.role));
        let primary_scopes = scopes(&mut v, &"scopes", &raw.scopes);
        let message = v.check(parse_note("message", &raw.message));
        // Optional, unlike a person's own name: empty means none was given.
        let invitee_name = if raw.invitee_name.trim().is_empty() {
            Some(String::new())
        } else {
            v.check(parse_name("invitee_name", &raw.invitee_name))
        };
        let mut targets = vec![(account_id, role, primary_scopes)];
        for (i, extra) in raw.additional_accounts.iter().enumerate() {
            let path = |leaf: &str| format!("additional_accounts[{i}].{leaf}");
            targets.push((
                v.check(named(AccountId::parse("account_id", &extra.account_id), || {
                    path("account_id")
                })),
                v.check(named(RoleName::parse("role", &extra.role), || path("role"))),
                scopes(
                    &mut v,
                    &format_args!("additional_accounts[{i}].scopes"),
                    &extra.scopes,
                ),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, (account, _, _)) in targets.iter().enumerate() {
            if let Some(account) = account
                && !seen.insert(account.clone())
            {
                v.push(FieldViolation::new(
                    format!("additional_accounts[{}].account_id", i.saturating_sub(1)),
                    format!("account '{account}' is named twice"),
                ));
            }
        }
        let member_ends_at = v.check(super::time_from_pb(
            "access_end_time",
            raw.access_end_time.as_ref(),
        ));
        v.finish()?;
        Ok(Self {
            member_ends_at: present(member_ends_at)?,
            actor: present(actor)?,
            email: present(email)?,
            targets: targets
                .into_iter()
                .map(|(account_id, role, scopes)| {
                    Ok(InviteTarget {
                        account_id: present(account_id)?,
                        role: present(role)?,
                        scopes: present(scopes)?,
                    })
                })
                .collect::<Result<_, DomainError>>()?,
            message: present(message)?,
            invitee_name: present(invitee_name)?,
            resend_if_pending: raw.resend_if_pending,
        })
    }
}

impl TryFrom<pb::AcceptInvitationRequest> for AcceptInvitation {
    type Error = DomainError;

    fn try_from(raw: pb::AcceptInvitationRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let token = v.check(InvitationToken::parse("token", &raw.token));
        let person = person(&mut v, "user", raw.user.as_ref());
        v.finish()?;
        Ok(Self {
            token: present(token)?,
            person: present(person)?,
        })
    }
}

impl TryFrom<pb::UpdateInvitationRequest> for UpdateInvitation {
    type Error = DomainError;

    fn try_from(raw: pb::UpdateInvitationRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let invitation_id = v.check(InvitationId::parse("invitation_id", &raw.invitation_id));
        let role = optional_id(&mut v, "role", &raw.role, RoleName::parse);
        let scopes = match &raw.scopes {
            Some(list) => scopes(&mut v, &"scopes.scopes", &list.scopes).map(Some),
            None => Some(None),
        };
        if raw.role.is_empty() && raw.scopes.is_none() {
            v.push(FieldViolation::new(
                "role",
                "name a new role or new scopes: there is nothing to change",
            ));
        }
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            invitation_id: present(invitation_id)?,
            role,
            scopes: present(scopes)?,
        })
    }
}

fn invitation_state_filter(raw: i32) -> Result<Option<InvitationState>, FieldViolation> {
    match pb::InvitationState::try_from(raw) {
        Ok(pb::InvitationState::Unspecified) => Ok(None),
        Ok(pb::InvitationState::Pending) => Ok(Some(InvitationState::Pending)),
        Ok(pb::InvitationState::Accepted) => Ok(Some(InvitationState::Accepted)),
        Ok(pb::InvitationState::Revoked) => Ok(Some(InvitationState::Revoked)),
        Ok(pb::InvitationState::Expired) => Ok(Some(InvitationState::Expired)),
        Ok(pb::InvitationState::Declined) => Ok(Some(InvitationState::Declined)),
        Err(_) => Err(FieldViolation::new(
            "state",
            format!("{raw} is not an InvitationState value"),
        )),
    }
}

impl TryFrom<pb::ListInvitationsRequest> for ListInvitations {
    type Error = DomainError;

    fn try_from(raw: pb::ListInvitationsRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let state = v.check(invitation_state_filter(raw.state));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            state: present(state)?,
            page: present(page)?,
        })
    }
}

/// An invitation as the caller sees it at `now` (expiry applied).
pub fn invitation_to_pb(invitation: Invitation, now: DateTime<Utc>) -> pb::Invitation {
    let state = match invitation.effective_state(now) {
        InvitationState::Pending => pb::InvitationState::Pending,
        InvitationState::Accepted => pb::InvitationState::Accepted,
        InvitationState::Revoked => pb::InvitationState::Revoked,
        InvitationState::Expired => pb::InvitationState::Expired,
        InvitationState::Declined => pb::InvitationState::Declined,
    };
    pb::Invitation {
        scopes: scopes_to_pb(&invitation.scopes),
        id: invitation.id.to_string(),
        account_id: invitation.account_id.to_string(),
        email: invitation.email.to_string(),
        role: invitation.role.to_string(),
        state: state.into(),
        invited_by: invitation.invited_by.to_string(),
        message: invitation.message,
        invitee_name: invitation.invitee_name,
        send_count: i32::try_from(invitation.send_count).unwrap_or(i32::MAX),
        expire_time: Some(timestamp(invitation.expires_at)),
        create_time: Some(timestamp(invitation.created_at)),
        delivery: invitation.delivery.map(delivery_to_pb),
    }
}

fn delivery_to_pb(delivery: Delivery) -> pb::InvitationDelivery {
    let state = match delivery.state {
        DeliveryState::Queued => pb::DeliveryState::Queued,
        DeliveryState::Sent => pb::DeliveryState::Sent,
        DeliveryState::Failed => pb::DeliveryState::Failed,
    };
    pb::InvitationDelivery {
        state: state.into(),
        attempts: i32::try_from(delivery.attempts).unwrap_or(i32::MAX),
        last_error: delivery.last_error,
    }
}

/// The preview of an invitation email, as PreviewInvitationEmail answers it.
pub fn preview_to_pb(email: RenderedEmail) -> pb::PreviewInvitationEmailResponse {
    pb::PreviewInvitationEmailResponse {
        from: email.from,
        to: email.to,
        subject: email.subject,
        text_body: email.text,
        html_body: email.html,
    }
}
