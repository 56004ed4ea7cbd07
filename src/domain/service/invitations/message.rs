//! The invitation email, as the outbox message Invite, ResendInvitation and
//! the preview write: the facts are the invitation template's variables
//! (src/email/templates/); rendering and sending happen after the commit, in
//! the dispatcher.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{Email, InvitationId, InvitationToken, RoleName, UserId};
use crate::domain::model::{Account, MessageKind, OutboxMessage};
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
/// needs (None in a preview).
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
    let accounts: Vec<_> = notice
        .offers
        .iter()
        .map(|offer| {
            json!({
                "account_id": offer.account.id.as_str(),
                "account_name": offer.account.name,
                "role": offer.role.as_str(),
            })
        })
        .collect();
    let facts = json!({
        "inviter_name": inviter_name,
        "inviter_email": inviter_email,
        "invitee_name": notice.invitee_name,
        "email": notice.email.as_str(),
        "account_id": primary.account.id.as_str(),
        "account_name": primary.account.name,
        "role": primary.role.as_str(),
        "accounts": accounts,
        "message": notice.message,
        "expires_at": notice.expires_at.format(TIME_FORMAT).to_string(),
        "resend": notice.resend,
    });
    let mut message = OutboxMessage::new(
        MessageKind::Invitation,
        &primary.account.id,
        notice.email,
        facts,
        at,
    );
    message.token = token.map(|t| t.clone().into_secret());
    message.invitation_ids = notice
        .offers
        .iter()
        .filter_map(|offer| offer.invitation.cloned())
        .collect();
    Ok(message)
}
