//! The emails changes send (docs/email.md): each use case that must tell someone
//! writes one [`OutboxMessage`] next to its activity entry, in the same
//! transaction, so nothing is sent for a change that rolled back and nothing
//! is lost for one that committed. The facts here are the templates'
//! variables (src/email/templates/); the rendering and sending happen after
//! the commit, in the dispatcher.

use chrono::{DateTime, Utc};

use super::invitations::{not_one_team, team_root};
use super::{Invite, UseCases, ttl};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{Email, InvitationId, InvitationToken, RoleName, UserId};
use crate::domain::model::{
    AccessDecidedFacts, AccessRequest, AccessRequestedFacts, Account, InvitationFacts, MemberRemovedFacts,
    MessageFacts, OfferedAccount, OutboxMessage, OwnershipTransferredFacts, Person,
};
use crate::domain::permissions::Permission;
use crate::domain::ports::{Reads, Transaction};
use crate::domain::rules::guards;

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

/// A person's display name, or their id when the store has none.
async fn name_of(reads: &dyn Reads, user: &UserId) -> DomainResult<(String, String)> {
    Ok(match reads.identity(user).await? {
        Some(identity) if !identity.person.name.is_empty() => {
            (identity.person.name, identity.person.email.to_string())
        }
        Some(identity) => (user.to_string(), identity.person.email.to_string()),
        None => (user.to_string(), String::new()),
    })
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
    message.invitation_ids = notice
        .offers
        .iter()
        .filter_map(|offer| offer.invitation.cloned())
        .collect();
    Ok(message)
}

/// To the owner: a member asks for a permission.
pub(super) async fn access_requested(
    reads: &dyn Reads,
    account: &Account,
    request: &AccessRequest,
) -> DomainResult<OutboxMessage> {
    let (requester_name, requester_email) = name_of(reads, &request.user_id).await?;
    let facts = MessageFacts::AccessRequested(AccessRequestedFacts {
        account_id: account.id.to_string(),
        account_name: account.name.clone(),
        owner_name: account.owner.name.clone(),
        requester_name,
        requester_email,
        permission: request.permission.name().to_owned(),
        note: request.note.clone(),
        request_id: request.id.to_string(),
    });
    Ok(OutboxMessage::new(
        &account.id,
        &account.owner.email,
        facts,
        request.created_at,
    ))
}

/// To the requester: their access request was decided.
pub(super) async fn access_decided(
    reads: &dyn Reads,
    account: &Account,
    request: &AccessRequest,
    approved: bool,
    decided_by: &UserId,
    at: DateTime<Utc>,
) -> DomainResult<Option<OutboxMessage>> {
    // A requester the store no longer knows has no address to write to.
    let Some(requester) = reads.identity(&request.user_id).await? else {
        return Ok(None);
    };
    let (decider_name, _) = name_of(reads, decided_by).await?;
    let facts = MessageFacts::AccessDecided(AccessDecidedFacts {
        account_id: account.id.to_string(),
        account_name: account.name.clone(),
        requester_name: requester.person.name,
        permission: request.permission.name().to_owned(),
        approved,
        decided_by: decider_name,
    });
    Ok(Some(OutboxMessage::new(
        &account.id,
        &requester.person.email,
        facts,
        at,
    )))
}

/// To the new owner: the account is theirs.
pub(super) fn ownership_transferred(
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
pub(super) async fn member_removed(
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

impl UseCases {
    /// What Invite would send for `cmd`, without writing or sending
    /// anything: the checks Invite makes before writing (open accounts of
    /// one team, `users.invite`, a grantable role), then the same message
    /// the real invitation writes, with no token (the accept link shows a
    /// placeholder). Refusals that depend on the invitee's state (already a
    /// member, a pending invitation with other terms, quotas) are Invite's.
    #[tracing::instrument(skip(self, cmd), fields(actor = %cmd.actor, accounts = cmd.targets.len()))]
    pub async fn preview_invitation(&self, cmd: Invite) -> DomainResult<OutboxMessage> {
        let now = super::now();
        // Reads only, never committed: dropping it rolls nothing back.
        let tx: Box<dyn Transaction> = self.store.begin().await?;
        let mut accounts = Vec::with_capacity(cmd.targets.len());
        for target in &cmd.targets {
            let account = tx
                .account(&target.account_id)
                .await?
                .ok_or_else(|| DomainError::not_found("account", target.account_id.as_str()))?;
            if account.state == crate::domain::model::AccountState::Closed {
                return Err(super::closed_error(&account.id));
            }
            accounts.push(account);
        }
        let root = accounts.first().map(team_root).cloned();
        if accounts.iter().any(|a| Some(team_root(a)) != root.as_ref()) {
            return Err(not_one_team());
        }
        let mut roles = Vec::with_capacity(cmd.targets.len());
        for (index, (target, account)) in cmd.targets.iter().zip(&accounts).enumerate() {
            let actor = self
                .require(tx.as_ref(), &cmd.actor, &account.id, Permission::USERS_INVITE)
                .await?;
            let role = Self::resolve_role(tx.as_ref(), &account.id, &target.role).await?;
            guards::check_invitation_target(&actor, &role, &target.scopes, index)?;
            roles.push(role.name);
        }
        let notice = InvitationNotice {
            actor: &cmd.actor,
            email: &cmd.email,
            invitee_name: &cmd.invitee_name,
            message: &cmd.message,
            offers: accounts
                .iter()
                .zip(&roles)
                .map(|(account, role)| Offer {
                    account,
                    role,
                    invitation: None,
                })
                .collect(),
            expires_at: now + ttl(&self.settings)?,
            resend: false,
        };
        invitation_message(tx.as_ref(), &notice, None, now).await
    }
}
