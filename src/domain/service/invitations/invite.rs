//! Invite (to one or several accounts of a team) and its preview
//! (PreviewInvitationEmail), which walk one [`Vetting`] so the preview
//! refuses exactly what Invite refuses before it writes.

use super::message::{InvitationNotice, Offer, invitation_message};
use super::{
    Invite, InviteTarget, IssuedInvitations, not_one_team, pending_with_another_end,
    pending_with_other_terms, team_root,
};
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{AccountId, InvitationId, InvitationToken, RoleName};
use crate::domain::model::{
    Account, AccountState, Invitation, InvitationState, MembershipStatus, OutboxMessage, Role, Written,
};
use crate::domain::model::{ActivityDetails, InvitationResent, InvitationTerms};
use crate::domain::permissions::Permission;
use crate::domain::ports::Transaction;
use crate::domain::rules::ends::check_end;
use crate::domain::rules::guards;
use crate::domain::rules::quotas::SeatChange;
use crate::domain::service::{UseCases, closed_error, now, ttl};

/// How the vetting reads the invitation's accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AccountReads {
    /// Invite: each account locked for the change, in id order, so two
    /// multi-account invitations cannot deadlock.
    Locked,
    /// The preview, which writes nothing: plain reads, in request order.
    Plain,
}

/// The checks Invite makes before it writes, which are all its preview
/// makes, in one place so the two cannot drift apart:
/// 1. every account exists and is open (read as [`AccountReads`] says, so
///    the refusal names the first bad account in that order);
/// 2. the accounts are of one team;
/// 3. then target by target, in request order ([`Vetting::next`]):
///    `users.invite` there, the role exists, and rule 6 for the target
///    ([`guards::check_invitation_target`]).
///
/// Invite checks the invitee and writes between one target and the next, so
/// a request meets its refusals in one order whichever RPC carries it.
struct Vetting<'a> {
    /// The request.
    cmd: &'a Invite,
    /// Its accounts, in request order: open, of one team.
    accounts: Vec<Account>,
    /// The index of the next target to check.
    next: usize,
}

impl<'a> Vetting<'a> {
    /// Steps 1 and 2.
    async fn start(
        use_cases: &UseCases,
        tx: &dyn Transaction,
        cmd: &'a Invite,
        reads: AccountReads,
    ) -> DomainResult<Self> {
        let accounts = match reads {
            AccountReads::Locked => {
                let mut order: Vec<&AccountId> = cmd.targets.iter().map(|t| &t.account_id).collect();
                order.sort();
                let mut locked = Vec::with_capacity(order.len());
                for id in order {
                    locked.push(use_cases.lock_open_account(tx, id).await?);
                }
                cmd.targets
                    .iter()
                    .map(|target| {
                        locked
                            .iter()
                            .find(|a| a.id == target.account_id)
                            .cloned()
                            .ok_or_else(|| DomainError::Internal("target account not locked".into()))
                    })
                    .collect::<DomainResult<Vec<_>>>()?
            }
            AccountReads::Plain => {
                let mut read = Vec::with_capacity(cmd.targets.len());
                for target in &cmd.targets {
                    let account = tx.account(&target.account_id).await?;
                    use_cases.within_tenants_read(&target.account_id, account.as_ref())?;
                    let account = account
                        .ok_or_else(|| DomainError::not_found("account", target.account_id.as_str()))?;
                    if account.state == AccountState::Closed {
                        return Err(closed_error(&account.id));
                    }
                    read.push(account);
                }
                read
            }
        };
        let root = accounts.first().map(team_root);
        if accounts.iter().any(|a| Some(team_root(a)) != root) {
            return Err(not_one_team());
        }
        Ok(Self {
            cmd,
            accounts,
            next: 0,
        })
    }

    /// Step 3 for the next target: the target, its account and the role it
    /// offers there once they pass; `None` after the last.
    async fn next(
        &mut self,
        use_cases: &UseCases,
        tx: &dyn Transaction,
    ) -> DomainResult<Option<(&'a InviteTarget, &Account, Role)>> {
        let index = self.next;
        let (Some(target), Some(account)) = (self.cmd.targets.get(index), self.accounts.get(index)) else {
            return Ok(None);
        };
        self.next += 1;
        let actor = use_cases
            .require(tx, &self.cmd.actor, &account.id, Permission::USERS_INVITE)
            .await?;
        let role = UseCases::resolve_role(tx, &account.id, &target.role).await?;
        guards::check_invitation_target(&actor, &role, &target.scopes, index)?;
        Ok(Some((target, account, role)))
    }
}

impl UseCases {
    /// Invites `email` to every target account; returns one invitation per
    /// target and, when one was issued, the token that opens them. When every
    /// target already has a live pending invitation (and no resend is asked
    /// for), nothing changes: nothing is committed and the token is empty.
    #[tracing::instrument(level = "debug", skip(self, cmd), fields(actor = %cmd.actor, accounts = cmd.targets.len()))]
    pub async fn invite(&self, cmd: Invite) -> DomainResult<Written<IssuedInvitations>> {
        let now = now();
        if let Some(end) = cmd.member_ends_at {
            check_end("access_end_time", end, now, self.settings.access_ends)?;
        }
        let tx = self.store.begin().await?;
        let mut vetting = Vetting::start(self, tx.as_ref(), &cmd, AccountReads::Locked).await?;
        let token = InvitationToken::generate()?;
        let token_hash = token.hash();
        let expires_at = now + ttl(&self.settings)?;
        let mut token_used = false;
        let mut invitations = Vec::with_capacity(cmd.targets.len());
        // What this call's token opens (new or reissued), and whether any was
        // a resend: the email names these, not the ones returned unchanged.
        let mut offered: Vec<(AccountId, RoleName, InvitationId)> = Vec::new();
        let mut resent = false;
        while let Some((target, account, role)) = vetting.next(self, tx.as_ref()).await? {
            if let Some(person) = tx.person_by_email(&cmd.email).await? {
                match tx.membership_status(&account.id, &person.user_id).await? {
                    Some(MembershipStatus::Active) => {
                        return Err(DomainError::exists(
                            ErrorReason::AlreadyAMember,
                            format!(
                                "'{}' is already an active member of account '{}'",
                                cmd.email, account.id
                            ),
                        ));
                    }
                    Some(MembershipStatus::Deactivated) => {
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
                // The end is a term too (compared as stored: to the ms).
                let end_ms = |end: Option<chrono::DateTime<chrono::Utc>>| end.map(|at| at.timestamp_millis());
                if end_ms(existing.member_ends_at) != end_ms(cmd.member_ends_at) {
                    return Err(pending_with_another_end(&existing));
                }
                // Rule 10: a live pending invitation is returned as it is, unless
                // a resend is asked for or its inviter can no longer grant it
                // (it could not be accepted); an expired one is revived with a
                // new token. A reissued invitation is the actor's from then on.
                if existing.effective_state(now) == InvitationState::Pending
                    && !cmd.resend_if_pending
                    && Self::inviter_still_grants(tx.as_ref(), &existing, &role).await?
                {
                    invitations.push(existing);
                    continue;
                }
                // Sending it again is a resend, held to the cooldown of its last email.
                self.resend_cooled_down(tx.as_ref(), &existing, now).await?;
                tx.reissue_invitation(&existing.id, &token_hash, expires_at, &cmd.actor, now)
                    .await?;
                existing.invited_by = cmd.actor.clone();
                existing.expires_at = expires_at;
                existing.send_count += 1;
                tx.append_activity(&self.activity(
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
            pending_invitations_refused(tx.as_ref(), account, self.settings.max_pending_invitations).await?;
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
                member_ends_at: cmd.member_ends_at,
                delivery: None,
            };
            tx.insert_invitation(&invitation, &role.id, &token_hash).await?;
            tx.append_activity(&self.activity(
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
        let accounts = vetting.accounts;
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
        let kept = self.settings.outbox_keeps_tokens.then_some(&token);
        let message = invitation_message(tx.as_ref(), &notice, kept, now).await?;
        self.within_email_limits(tx.as_ref(), &message, now).await?;
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

    /// What Invite would send for `cmd`, without writing or sending
    /// anything: the checks Invite makes before writing ([`Vetting`]), then
    /// the same message the real invitation writes, with no token (the
    /// accept link shows a placeholder). Refusals that depend on the invitee's state (already a
    /// member, a pending invitation with other terms, quotas) are Invite's.
    #[tracing::instrument(level = "debug", skip(self, cmd), fields(actor = %cmd.actor, accounts = cmd.targets.len()))]
    pub async fn preview_invitation(&self, cmd: Invite) -> DomainResult<OutboxMessage> {
        let now = now();
        // Reads only, never committed: dropping it rolls nothing back.
        let tx: Box<dyn Transaction> = self.store.begin().await?;
        let mut roles = Vec::with_capacity(cmd.targets.len());
        let mut vetting = Vetting::start(self, tx.as_ref(), &cmd, AccountReads::Plain).await?;
        while let Some((_, _, role)) = vetting.next(self, tx.as_ref()).await? {
            roles.push(role.name);
        }
        let accounts = vetting.accounts;
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

/// Refuses one more pending invitation to `account` when it holds `max`
/// already, plan or no plan: each is stored, listed and mailed.
async fn pending_invitations_refused(
    tx: &dyn Transaction,
    account: &Account,
    max: usize,
) -> DomainResult<()> {
    let pending = tx.pending_invitation_count(&account.id).await?;
    if pending < max {
        return Ok(());
    }
    Err(DomainError::exhausted(
        ErrorReason::PendingInvitationLimitReached,
        format!(
            "account '{}' has {pending} pending invitations, the most this server allows: revoke some, \
             or wait for them to be accepted or declined",
            account.id
        ),
    )
    .with("limit", max)
    .with("current", pending))
}
