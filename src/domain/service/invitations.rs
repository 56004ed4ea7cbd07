//! Invitations: invite (to one or several accounts of a team), accept,
//! decline, resend, revoke, change, list.

use chrono::Utc;

use super::accounts::SeatChange;
use super::notices::{self, InvitationNotice, Offer};
use super::{Page, UseCases, activity, closed_error, ttl};
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{AccountId, Email, InvitationId, InvitationToken, RoleName, UserId};
use crate::domain::model::{
    AccountState, Invitation, InvitationPageQuery, InvitationState, MemberRow, MemberRowStatus, Scopes,
    Written,
};
use crate::domain::model::{
    ActivityDetails, InvitationAccepted, InvitationNamed, InvitationResent, InvitationTerms,
};
use crate::domain::page::{NewestFirstKey, PageRequest};
use crate::domain::permissions::{Permission, PermissionSet};
use crate::domain::ports::NewMembership;
use crate::domain::rules::guards;
use crate::domain::rules::people::Claim;

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

pub(super) fn not_pending(invitation: &Invitation, now: chrono::DateTime<Utc>) -> DomainError {
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
pub(super) fn not_one_team() -> DomainError {
    DomainError::precondition(
        ErrorReason::NotOneTeam,
        "one invitation can cover several accounts only when they belong to the same team",
    )
}

/// The team an account belongs to: its parent, or itself when top-level.
pub(super) fn team_root(account: &crate::domain::model::Account) -> &AccountId {
    account.parent_id.as_ref().unwrap_or(&account.id)
}

impl UseCases {
    /// Invites `email` to every target account; returns one invitation per
    /// target and, when one was issued, the token that opens them. When every
    /// target already has a live pending invitation (and no resend is asked
    /// for), nothing changes: nothing is committed and the token is empty.
    #[tracing::instrument(skip(self, cmd), fields(actor = %cmd.actor, accounts = cmd.targets.len()))]
    pub async fn invite(&self, cmd: Invite) -> DomainResult<Written<IssuedInvitations>> {
        let now = super::now();
        let tx = self.store.begin().await?;
        // Lock in id order, so two multi-account invitations cannot deadlock.
        let mut order: Vec<&AccountId> = cmd.targets.iter().map(|t| &t.account_id).collect();
        order.sort();
        let mut accounts = Vec::with_capacity(order.len());
        for id in order {
            accounts.push(self.lock_open_account(tx.as_ref(), id).await?);
        }
        let root = accounts.first().map(team_root).cloned();
        if accounts.iter().any(|a| Some(team_root(a)) != root.as_ref()) {
            return Err(not_one_team());
        }
        let token = InvitationToken::generate()?;
        let token_hash = token.hash();
        let expires_at = now + ttl(&self.settings)?;
        let mut token_used = false;
        let mut invitations = Vec::with_capacity(cmd.targets.len());
        // What this call's token opens (new or reissued), and whether any was
        // a resend: the email names these, not the ones returned unchanged.
        let mut offered: Vec<(AccountId, RoleName, InvitationId)> = Vec::new();
        let mut resent = false;
        for (index, target) in cmd.targets.iter().enumerate() {
            let account = accounts
                .iter()
                .find(|a| a.id == target.account_id)
                .ok_or_else(|| DomainError::Internal("target account not locked".into()))?;
            let actor = self
                .require(tx.as_ref(), &cmd.actor, &account.id, Permission::USERS_INVITE)
                .await?;
            let role = Self::resolve_role(tx.as_ref(), &account.id, &target.role).await?;
            guards::check_invitation_target(&actor, &role, &target.scopes, index)?;
            if let Some(person) = tx.person_by_email(&cmd.email).await? {
                match tx.membership_status(&account.id, &person.user_id).await? {
                    Some(crate::domain::model::MembershipStatus::Active) => {
                        return Err(DomainError::exists(
                            ErrorReason::AlreadyAMember,
                            format!(
                                "'{}' is already an active member of account '{}'",
                                cmd.email, account.id
                            ),
                        ));
                    }
                    Some(crate::domain::model::MembershipStatus::Deactivated) => {
                        return Err(DomainError::precondition(
                            ErrorReason::MemberDeactivated,
                            format!(
                                "'{}' is a deactivated member of account '{}': reactivate them instead",
                                cmd.email, account.id
                            ),
                        ));
                    }
                    None => {}
                }
            }
            if let Some(mut existing) = tx.pending_invitation(&account.id, &cmd.email).await? {
                // Rule 10: the pending invitation answers this request only when
                // it offers what was asked; it is then the invitation
                // check_grantable judged above, so a resend re-grants nothing
                // the actor could not grant (rule 6).
                if existing.role != role.name || existing.scopes != target.scopes {
                    return Err(pending_with_other_terms(&existing));
                }
                // Rule 10: a live pending invitation is returned as it is, unless
                // a resend is asked for; an expired one is revived with a new token.
                if existing.effective_state(now) == InvitationState::Pending && !cmd.resend_if_pending {
                    invitations.push(existing);
                    continue;
                }
                tx.reissue_invitation(&existing.id, &token_hash, expires_at, now)
                    .await?;
                existing.expires_at = expires_at;
                existing.send_count += 1;
                tx.append_activity(&activity(
                    &account.id,
                    &cmd.actor,
                    cmd.email.as_str(),
                    ActivityDetails::InvitationResend(InvitationResent {
                        invitation_id: existing.id.to_string(),
                        send_count: existing.send_count,
                    }),
                    now,
                ))
                .await?;
                token_used = true;
                resent = true;
                offered.push((account.id.clone(), role.name.clone(), existing.id.clone()));
                invitations.push(existing);
                continue;
            }
            self.check_seats(
                tx.as_ref(),
                account,
                SeatChange {
                    seats: 1,
                    restricted: usize::from(role.restricted),
                },
            )
            .await?;
            let invitation = Invitation {
                id: InvitationId::generate(),
                account_id: account.id.clone(),
                email: cmd.email.clone(),
                role: role.name.clone(),
                scopes: target.scopes.clone(),
                state: InvitationState::Pending,
                invited_by: cmd.actor.clone(),
                message: cmd.message.clone(),
                invitee_name: cmd.invitee_name.clone(),
                send_count: 1,
                expires_at,
                created_at: now,
                delivery: None,
            };
            tx.insert_invitation(&invitation, &role.id, &token_hash).await?;
            tx.append_activity(&activity(
                &account.id,
                &cmd.actor,
                cmd.email.as_str(),
                ActivityDetails::InvitationCreate(InvitationTerms {
                    invitation_id: invitation.id.to_string(),
                    role: role.name.to_string(),
                    scoped: !target.scopes.is_empty(),
                }),
                now,
            ))
            .await?;
            token_used = true;
            offered.push((account.id.clone(), role.name.clone(), invitation.id.clone()));
            invitations.push(invitation);
        }
        if !token_used {
            // Every invitation was returned as it was: roll back, bump no revision.
            return Ok(Written::unchanged(IssuedInvitations {
                invitations,
                token: None,
            }));
        }
        let notice = InvitationNotice {
            actor: &cmd.actor,
            email: &cmd.email,
            invitee_name: &cmd.invitee_name,
            message: &cmd.message,
            offers: offered
                .iter()
                .filter_map(|(account_id, role, id)| {
                    let account = accounts.iter().find(|a| &a.id == account_id)?;
                    Some(Offer {
                        account,
                        role,
                        invitation: Some(id),
                    })
                })
                .collect(),
            expires_at,
            resend: resent,
        };
        let message = notices::invitation_message(tx.as_ref(), &notice, Some(&token), now).await?;
        tx.enqueue_message(&message).await?;
        let revisions = self.commit(tx).await?;
        Ok(Written::new(
            IssuedInvitations {
                invitations,
                token: Some(token),
            },
            revisions,
        ))
    }

    /// Turns the pending invitations a token opens into memberships of the accepting person.
    #[tracing::instrument(skip(self, cmd), fields(user_id = %cmd.person.user_id))]
    pub async fn accept_invitation(&self, cmd: AcceptInvitation) -> DomainResult<Written<Accepted>> {
        let now = super::now();
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
        // The token was sent to the address the person claims (checked above).
        Self::ensure_person(tx.as_ref(), &cmd.person, Claim::Proven, now).await?;
        let mut accepted = Vec::with_capacity(live.len());
        for mut invitation in live {
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
            let role = Self::resolve_role(tx.as_ref(), &invitation.account_id, &invitation.role).await?;
            tx.insert_membership(&NewMembership {
                account_id: invitation.account_id.clone(),
                user_id: cmd.person.user_id.clone(),
                role_id: role.id.clone(),
                is_owner: false,
                scopes: invitation.scopes.clone(),
                invited_by: Some(invitation.invited_by.clone()),
                joined_at: now,
            })
            .await?;
            tx.finish_invitation(
                &invitation.id,
                InvitationState::Accepted,
                Some(&cmd.person.user_id),
                now,
            )
            .await?;
            tx.append_activity(&activity(
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
            };
            accepted.push((invitation, member));
        }
        let token = self.commit(tx).await?;
        Ok(Written::new(accepted, token))
    }

    /// The invitee turns down every pending invitation the token opens.
    #[tracing::instrument(skip(self, token))]
    pub async fn decline_invitation(
        &self,
        token: &InvitationToken,
    ) -> DomainResult<Written<Vec<Invitation>>> {
        let now = super::now();
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
        let mut declined = Vec::with_capacity(pending.len());
        for mut invitation in pending {
            tx.finish_invitation(&invitation.id, InvitationState::Declined, None, now)
                .await?;
            // The invitee may have no user id yet: the log names them by email.
            tx.append_activity(&activity(
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

    /// The account's invitations, newest first, one page read from the
    /// store after the page key (not the whole account).
    #[tracing::instrument(skip(self, query), fields(actor = %query.actor, account_id = %query.account_id))]
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
                    now: super::now(),
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
