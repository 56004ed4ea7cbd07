//! Access requests: a member asks for a permission; someone with users.edit decides.

use chrono::{DateTime, Utc};

use super::{Page, UseCases, name_of};
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{AccessRequestId, AccountId, UserId};
use crate::domain::model::{
    AccessDecided, AccessDecidedFacts, AccessRequested, AccessRequestedFacts, ActivityDetails, MessageFacts,
};
use crate::domain::model::{
    AccessRequest, AccessRequestState, Account, MembershipStatus, OutboxMessage, Written,
};
use crate::domain::page::{NewestFirstKey, PageRequest};
use crate::domain::permissions::{Permission, PermissionSet};
use crate::domain::ports::Reads;
use crate::domain::rules::ends::check_end;
use crate::domain::rules::guards;

/// A member asks for a permission.
#[derive(Clone, Debug)]
pub struct RequestAccess {
    /// Who asks.
    pub user_id: UserId,
    /// Where.
    pub account_id: AccountId,
    /// For what.
    pub permission: Permission,
    /// Why.
    pub note: String,
}

/// Lists an account's access requests.
#[derive(Clone, Debug)]
pub struct ListAccessRequests {
    /// Who asks.
    pub actor: UserId,
    /// Which account.
    pub account_id: AccountId,
    /// Only this state.
    pub state: Option<AccessRequestState>,
    /// Which page.
    pub page: PageRequest,
}

/// When an approved grant ends (rule 17).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantEnd {
    /// This many days after the approval.
    Days(u32),
    /// At this instant.
    At(chrono::DateTime<chrono::Utc>),
}

impl UseCases {
    /// Files a request; a second request for the same permission returns the
    /// pending one. The requester acts, in the session the caller vouches for (rule 3).
    #[tracing::instrument(level = "debug", skip(self, cmd), fields(user_id = %cmd.user_id, account_id = %cmd.account_id, permission = %cmd.permission))]
    pub async fn request_access(&self, cmd: RequestAccess) -> DomainResult<Written<AccessRequest>> {
        let now = super::now();
        if PermissionSet::owner_only().contains(cmd.permission) {
            return Err(DomainError::precondition(
                ErrorReason::OwnerOnlyPermission,
                format!(
                    "{} belongs to the owner alone and cannot be requested",
                    cmd.permission
                ),
            )
            .with("permission", cmd.permission.name())
            .with("field", "permission"));
        }
        let tx = self.store.begin().await?;
        let account = self.lock_open_account(tx.as_ref(), &cmd.account_id).await?;
        // The requester is the actor: refused as every actor is (the
        // reasons Authorize gives), a deactivated member as such, not as a stranger.
        let member = match tx.membership(&cmd.account_id, &cmd.user_id).await? {
            Some(member) if member.status == MembershipStatus::Active => member,
            Some(_) => {
                return Err(DomainError::denied(
                    ErrorReason::MembershipInactive,
                    format!(
                        "'{}' is deactivated in account '{}': only active members can request access",
                        cmd.user_id, cmd.account_id
                    ),
                ));
            }
            None => {
                return Err(DomainError::denied(
                    ErrorReason::NotAMember,
                    format!(
                        "only active members of account '{}' can request access there",
                        cmd.account_id
                    ),
                ));
            }
        };
        self.require_session(&cmd.user_id, &account, "request access in")?;
        if member
            .role
            .permissions
            .union(member.grants)
            .contains(cmd.permission)
        {
            return Err(DomainError::precondition(
                ErrorReason::AlreadyGranted,
                format!("'{}' already holds {}", cmd.user_id, cmd.permission),
            ));
        }
        let earlier = tx.access_requests(&cmd.account_id).await?;
        let same = |r: &&AccessRequest| r.user_id == cmd.user_id && r.permission == cmd.permission;
        if let Some(open) = earlier
            .iter()
            .filter(same)
            .find(|r| r.state == AccessRequestState::Pending)
        {
            return Ok(Written::unchanged(open.clone()));
        }
        // Asked again soon after a rejection: filed (the owner sees it in
        // the list) without emailing the owner again.
        let quiet = self.settings.email.rejected_request_quiet;
        let quiet_since = now - chrono::Duration::from_std(quiet).unwrap_or_default();
        let rejected_lately = !quiet.is_zero()
            && earlier.iter().filter(same).any(|r| {
                r.state == AccessRequestState::Rejected && r.decided_at.is_some_and(|at| at > quiet_since)
            });
        let request = AccessRequest {
            id: AccessRequestId::generate(),
            account_id: cmd.account_id.clone(),
            user_id: cmd.user_id.clone(),
            permission: cmd.permission,
            note: cmd.note.clone(),
            state: AccessRequestState::Pending,
            decided_by: None,
            created_at: now,
            decided_at: None,
        };
        tx.insert_access_request(&request).await?;
        tx.append_activity(&self.activity(
            &cmd.account_id,
            &cmd.user_id,
            cmd.permission.name(),
            ActivityDetails::AccessRequestCreate(AccessRequested {
                request_id: request.id.to_string(),
                note: request.note.clone(),
            }),
            now,
        ))
        .await?;
        if !rejected_lately {
            let message = access_requested(tx.as_ref(), &account, &request).await?;
            self.within_email_limits(tx.as_ref(), &message, now).await?;
            tx.enqueue_message(&message).await?;
        }
        let token = self.commit(tx).await?;
        Ok(Written::new(request, token))
    }

    /// Approves (the permission becomes an extra grant) or rejects a pending request.
    #[tracing::instrument(level = "debug", skip(self), fields(actor = %actor, request_id = %id))]
    pub async fn decide_access_request(
        &self,
        actor: &UserId,
        id: &AccessRequestId,
        approve: bool,
        grant_end: Option<GrantEnd>,
    ) -> DomainResult<Written<AccessRequest>> {
        let now = super::now();
        let ends_at = match grant_end {
            None => None,
            Some(GrantEnd::Days(days)) => Some(now + chrono::Duration::days(i64::from(days))),
            Some(GrantEnd::At(at)) => Some(at),
        };
        if let Some(end) = ends_at {
            let field = match grant_end {
                Some(GrantEnd::Days(_)) => "grant_days",
                _ => "grant_end_time",
            };
            check_end(field, end, now, self.settings.access_ends)?;
        }
        let tx = self.store.begin().await?;
        let first_read = tx
            .access_request(id)
            .await?
            .ok_or_else(|| DomainError::not_found("access request", id.as_str()))?;
        let account_id = first_read.account_id.clone();
        self.hide_from_strangers(tx.as_ref(), actor, &account_id, "access request", id.as_str())
            .await?;
        let account = self.lock_open_account(tx.as_ref(), &account_id).await?;
        let actor_access = self
            .require(tx.as_ref(), actor, &account_id, Permission::USERS_EDIT)
            .await?;
        let mut request = tx
            .access_request(id)
            .await?
            .ok_or_else(|| DomainError::not_found("access request", id.as_str()))?;
        if request.state != AccessRequestState::Pending {
            return Err(DomainError::precondition(
                ErrorReason::AlreadyDecided,
                format!("access request '{id}' was already {}", request.state.as_str()),
            ));
        }
        if &request.user_id == actor {
            return Err(DomainError::denied(
                ErrorReason::SelfApproval,
                "you cannot decide your own access request",
            ));
        }
        let state = if approve {
            let requester = tx
                .membership(&account_id, &request.user_id)
                .await?
                .filter(|m| m.status == MembershipStatus::Active)
                .ok_or_else(|| {
                    DomainError::precondition(
                        ErrorReason::RequesterNotActive,
                        format!(
                            "'{}' is no longer an active member: reject the request instead",
                            request.user_id
                        ),
                    )
                })?;
            guards::check_approvable(&actor_access, request.permission, &requester.scopes)?;
            tx.add_grant(&account_id, &request.user_id, request.permission, ends_at)
                .await?;
            AccessRequestState::Approved
        } else {
            AccessRequestState::Rejected
        };
        tx.decide_access_request(id, state, actor, now).await?;
        let logged: fn(AccessDecided) -> ActivityDetails = if approve {
            ActivityDetails::AccessRequestApprove
        } else {
            ActivityDetails::AccessRequestReject
        };
        tx.append_activity(&self.activity(
            &account_id,
            actor,
            request.user_id.as_str(),
            logged(AccessDecided {
                request_id: id.to_string(),
                permission: request.permission.name().to_owned(),
            }),
            now,
        ))
        .await?;
        if let Some(message) = access_decided(tx.as_ref(), &account, &request, approve, actor, now).await? {
            tx.enqueue_message(&message).await?;
        }
        let token = self.commit(tx).await?;
        request.state = state;
        request.decided_by = Some(actor.clone());
        request.decided_at = Some(now);
        Ok(Written::new(request, token))
    }

    /// The account's access requests, newest first.
    #[tracing::instrument(level = "debug", skip(self, query), fields(actor = %query.actor, account_id = %query.account_id))]
    pub async fn list_access_requests(&self, query: ListAccessRequests) -> DomainResult<Page<AccessRequest>> {
        let tx = self.store.begin().await?;
        self.require(
            tx.as_ref(),
            &query.actor,
            &query.account_id,
            Permission::USERS_EDIT,
        )
        .await?;
        let mut requests = tx.access_requests(&query.account_id).await?;
        drop(tx);
        requests.retain(|r| query.state.is_none_or(|state| r.state == state));
        let (rows, next_page_token) = query
            .page
            .apply(requests, |r| NewestFirstKey::spell(r.created_at, r.id.as_str()));
        Ok(Page {
            rows,
            next_page_token,
        })
    }
}

/// To the owner: a member asks for a permission.
async fn access_requested(
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
    let mut message = OutboxMessage::new(&account.id, &account.owner.email, facts, request.created_at);
    message.actor = Some(request.user_id.clone());
    Ok(message)
}

/// To the requester: their access request was decided.
async fn access_decided(
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
