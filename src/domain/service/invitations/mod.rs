//! Invitations: invite (to one or several accounts of a team) and preview
//! the email (`invite`), the invitee's accept and decline (`answer`), the
//! inviter's list, resend, revoke and update (`manage`), and the email they
//! send (`message`). This file holds the commands and the refusals the
//! parts share.

mod answer;
mod invite;
mod manage;
mod message;

pub use manage::UpdateInvitation;

use chrono::Utc;

use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{AccountId, Email, InvitationToken, RoleName, UserId};
use crate::domain::model::{Account, Invitation, InvitationState, MemberRow, Reason, Role, Scopes};
use crate::domain::page::PageRequest;
use crate::domain::permissions::{Permission, PermissionSet};
use crate::domain::ports::Transaction;
use crate::domain::rules::{decision, guards};
use crate::domain::service::{UseCases, now};

/// One account of an invitation, with its role and scopes.
#[derive(Clone, Debug)]
pub struct InviteTarget {
    /// Where to.
    pub account_id: AccountId,
    /// Role name.
    pub role: RoleName,
    /// Resource restrictions.
    pub scopes: Scopes,
}

/// Invites an email address to one or several accounts of one team.
#[derive(Clone, Debug)]
pub struct Invite {
    /// Who invites.
    pub actor: UserId,
    /// Who is invited.
    pub email: Email,
    /// The accounts, the first one primary; never empty.
    pub targets: Vec<InviteTarget>,
    /// Note for the email.
    pub message: String,
    /// The invitee's name, if the inviter gave one (else empty).
    pub invitee_name: String,
    /// Reissue the token of a live pending invitation instead of returning it.
    pub resend_if_pending: bool,
    /// When the membership accepting it creates ends, if it does (rule 17).
    pub member_ends_at: Option<chrono::DateTime<Utc>>,
}

/// Accepts an invitation.
#[derive(Clone, Debug)]
pub struct AcceptInvitation {
    /// The secret from the invitation link.
    pub token: InvitationToken,
    /// The accepting person.
    pub person: crate::domain::model::Person,
}

/// Lists an account's invitations.
#[derive(Clone, Debug)]
pub struct ListInvitations {
    /// Who asks.
    pub actor: UserId,
    /// Which account.
    pub account_id: AccountId,
    /// Only this (effective) state.
    pub state: Option<InvitationState>,
    /// Which page.
    pub page: PageRequest,
}

/// Invitations as returned to the inviter: one per target, in request order.
#[derive(Clone, Debug)]
pub struct IssuedInvitations {
    /// The invitations.
    pub invitations: Vec<Invitation>,
    /// The secret, when this call issued one (it opens every invitation that carries it).
    pub token: Option<InvitationToken>,
}

/// What accepting produced: one (invitation, membership) pair per account.
pub type Accepted = Vec<(Invitation, MemberRow)>;

/// NOT_FOUND (docs/errors.md): the token names no invitation, as an
/// unknown id names nothing; a token that names one in the wrong state is
/// FAILED_PRECONDITION (`not_pending`).
fn unknown_token() -> DomainError {
    DomainError::SecretNotFound {
        reason: ErrorReason::InvitationTokenUnknown,
        message:
            "this invitation link is not valid: it may have been mistyped or replaced by a newer invitation"
                .to_owned(),
    }
}

fn not_pending(invitation: &Invitation, now: chrono::DateTime<Utc>) -> DomainError {
    match invitation.effective_state(now) {
        InvitationState::Accepted => DomainError::precondition(
            ErrorReason::InvitationAlreadyAccepted,
            "this invitation was already accepted",
        ),
        InvitationState::Revoked => DomainError::precondition(
            ErrorReason::InvitationRevoked,
            "this invitation was cancelled: ask the account's administrator for a new one",
        ),
        InvitationState::Declined => {
            DomainError::precondition(ErrorReason::InvitationDeclined, "this invitation was declined")
        }
        InvitationState::Expired => DomainError::precondition(
            ErrorReason::InvitationExpired,
            format!(
                "this invitation expired on {}: ask the account's administrator to resend it",
                invitation.expires_at.format("%Y-%m-%d %H:%M UTC")
            ),
        )
        .with(
            "expired_at",
            invitation
                .expires_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        InvitationState::Pending => {
            DomainError::Internal("a pending invitation reported as not pending".into())
        }
    }
}

/// An invitation asked again with another access end than the pending one
/// offers: UpdateInvitation does not move ends, so the way out is to revoke
/// it and invite again.
fn pending_with_another_end(pending: &Invitation) -> DomainError {
    DomainError::precondition(
        ErrorReason::InvitationPendingWithOtherTerms,
        format!(
            "'{}' already has a pending invitation to account '{}' whose access {}: revoke it and invite again with the end you want",
            pending.email,
            pending.account_id,
            pending.member_ends_at.map_or_else(
                || "never ends".to_owned(),
                |at| format!("ends at {}", at.to_rfc3339())
            ),
        ),
    )
    .with("invitation_id", pending.id.as_str())
    .with("pending_role", pending.role.as_str())
}

/// Rule 10: a pending invitation offering another role or other scopes is
/// neither returned as if it answered the request nor silently changed.
fn pending_with_other_terms(pending: &Invitation) -> DomainError {
    DomainError::precondition(
        ErrorReason::InvitationPendingWithOtherTerms,
        format!(
            "'{}' already has a pending invitation to account '{}' as {}{}: change it with UpdateInvitation, or revoke it and invite again",
            pending.email,
            pending.account_id,
            pending.role,
            if pending.scopes.is_empty() {
                ""
            } else {
                " with scopes"
            },
        ),
    )
    .with("invitation_id", pending.id.as_str())
    .with("pending_role", pending.role.as_str())
}

/// Several accounts of one invitation must be of one team.
fn not_one_team() -> DomainError {
    DomainError::precondition(
        ErrorReason::NotOneTeam,
        "one invitation can cover several accounts only when they belong to the same team",
    )
}

/// The team an account belongs to: its parent, or itself when top-level.
fn team_root(account: &Account) -> &AccountId {
    account.parent_id.as_ref().unwrap_or(&account.id)
}

impl UseCases {
    /// Rule 10: whether the invitation's inviter, as they stand now, could
    /// still send it: an active member (or the parent's owner) holding
    /// `users.invite` who covers the `role` and scopes it offers (rule 6).
    /// Judged on their standing, not a session (they are not acting), so an
    /// account's two-factor requirement does not count against them.
    async fn inviter_still_grants(
        tx: &dyn Transaction,
        invitation: &Invitation,
        role: &Role,
    ) -> DomainResult<bool> {
        let facts = tx
            .access_facts(&invitation.account_id, &invitation.invited_by)
            .await?;
        let inviter = decision::effective_permissions(&facts, &invitation.account_id, true, now());
        Ok(inviter.reason == Reason::Allowed
            && inviter.permissions.contains(Permission::USERS_INVITE)
            && guards::check_grantable(&inviter, role, PermissionSet::EMPTY, &invitation.scopes).is_ok())
    }
}

/// Rule 10: the invitation's inviter no longer holds what it offers
/// (demoted, narrowed, deactivated or removed since), and nobody who does
/// has sent it again.
fn inviter_lacks_reach(invitation: &Invitation) -> DomainError {
    DomainError::precondition(
        ErrorReason::InviterLacksReach,
        format!(
            "this invitation to account '{}' can no longer be accepted: the person who sent it no \
             longer holds what it offers; ask the account's administrator to send it again",
            invitation.account_id
        ),
    )
}
