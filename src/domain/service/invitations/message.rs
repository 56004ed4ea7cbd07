//! The invitation email, as the outbox message Invite, ResendInvitation and
//! the preview write: the facts are the invitation template's variables
//! (src/email/templates/); rendering and sending happen after the commit, in
//! the dispatcher.

use chrono::{DateTime, Utc};

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{Email, InvitationId, InvitationToken, RoleName, UserId};
use crate::domain::model::{Account, OutboxMessage};
use crate::domain::model::{InvitationFacts, MessageFacts, OfferedAccount};
use crate::domain::ports::Reads;
use crate::domain::service::name_of;

/// How expiry times read in a message.
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M UTC";

/// One account an invitation email offers.
pub(super) struct Offer<'a> {
    /// The account.
    pub account: &'a Account,
    /// The role offered there.
    pub role: &'a RoleName,
    /// The invitation (None in a preview, which writes none).
    pub invitation: Option<&'a InvitationId>,
}

/// What an invitation email says; the first offer is the primary account.
pub(super) struct InvitationNotice<'a> {
    /// Who invites.
    pub actor: &'a UserId,
    /// Who is invited.
    pub email: &'a Email,
    /// The invitee's name as the inviter gave it.
    pub invitee_name: &'a str,
    /// The inviter's note.
    pub message: &'a str,
    /// The accounts offered.
    pub offers: Vec<Offer<'a>>,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// Whether this is a resend.
    pub resend: bool,
}

/// The invitation email: to the invitee, with the token the accept link
/// needs (None in a preview, and when the outbox keeps no token), written
/// by the notice's actor.
pub(super) async fn invitation_message(
    reads: &dyn Reads,
    notice: &InvitationNotice<'_>,
    token: Option<&InvitationToken>,
    at: DateTime<Utc>,
) -> DomainResult<OutboxMessage> {
    let primary = notice
        .offers
        .first()
        .ok_or_else(|| DomainError::Internal("an invitation email offers no account".into()))?;
    let (inviter_name, inviter_email) = name_of(reads, notice.actor).await?;
    let accounts = notice
        .offers
        .iter()
        .map(|offer| OfferedAccount {
            account_id: offer.account.id.to_string(),
            account_name: offer.account.name.clone(),
            role: offer.role.to_string(),
        })
        .collect();
    let facts = MessageFacts::Invitation(InvitationFacts {
        inviter_name,
        inviter_email,
        invitee_name: notice.invitee_name.to_owned(),
        email: notice.email.to_string(),
        account_id: primary.account.id.to_string(),
        account_name: primary.account.name.clone(),
        role: primary.role.to_string(),
        accounts,
        message: notice.message.to_owned(),
        expires_at: notice.expires_at.format(TIME_FORMAT).to_string(),
        resend: notice.resend,
    });
    let mut message = OutboxMessage::new(&primary.account.id, notice.email, facts, at);
    message.token = token.map(|t| t.clone().into_secret());
    message.actor = Some(notice.actor.clone());
    message.invitation_ids = notice
        .offers
        .iter()
        .filter_map(|offer| offer.invitation.cloned())
        .collect();
    Ok(message)
}
