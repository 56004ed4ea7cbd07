//! Decisions: Authorize, BatchAuthorize, effective permissions, and the
//! permission check every other use case starts with.

use std::collections::HashMap;

use super::{UseCases, closed_error};
use crate::domain::decision::{self, shared_template_asked};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{AccountId, ResourceId, UserId};
use crate::domain::model::{Check, Decision, EffectivePermissions, Reason};
use crate::domain::permissions::Permission;
use crate::domain::ports::{Reads, Transaction};

fn reason_code(reason: Reason) -> &'static str {
    match reason {
        Reason::Allowed => "ALLOWED",
        Reason::NotAMember => "NOT_A_MEMBER",
        Reason::MembershipInactive => "MEMBERSHIP_INACTIVE",
        Reason::PermissionNotGranted => "PERMISSION_NOT_GRANTED",
        Reason::OutOfScope => "OUT_OF_SCOPE",
        Reason::AccountClosed => "ACCOUNT_CLOSED",
        Reason::MfaRequired => "MFA_REQUIRED",
        Reason::SharedTemplateReadOnly => "SHARED_TEMPLATE_READ_ONLY",
        Reason::AccountNotFound => "ACCOUNT_NOT_FOUND",
    }
}

impl UseCases {
    /// Decides `checks` in order with one read of facts for all their
    /// distinct (user, account) pairs, and one more only when some check
    /// names a template whose sharing could change its answer.
    async fn decide_all(&self, reads: &dyn Reads, checks: &[Check]) -> DomainResult<Vec<Decision>> {
        let mut pair_slot: HashMap<(&AccountId, &UserId), usize> = HashMap::with_capacity(checks.len());
        let mut pairs = Vec::with_capacity(checks.len());
        let slots: Vec<usize> = checks
            .iter()
            .map(|check| {
                let key = (&check.account_id, &check.user_id);
                *pair_slot.entry(key).or_insert_with(|| {
                    pairs.push(key);
                    pairs.len() - 1
                })
            })
            .collect();
        let facts = reads.access_facts_of(&pairs).await?;
        let facts_of = |slot: usize| {
            facts
                .get(slot)
                .ok_or_else(|| DomainError::Internal("the store returned too few facts".into()))
        };
        let mut ask_slot: HashMap<(&AccountId, &ResourceId), usize> = HashMap::new();
        let mut asks = Vec::new();
        let mut asked = Vec::with_capacity(checks.len());
        for (check, &slot) in checks.iter().zip(&slots) {
            asked.push(shared_template_asked(facts_of(slot)?, check).map(|template| {
                let key = (&check.account_id, template);
                *ask_slot.entry(key).or_insert_with(|| {
                    asks.push(key);
                    asks.len() - 1
                })
            }));
        }
        let shared = if asks.is_empty() {
            Vec::new()
        } else {
            reads.templates_shared_with(&asks).await?
        };
        checks
            .iter()
            .zip(slots)
            .zip(asked)
            .map(|((check, slot), ask)| {
                let shared = ask.is_some_and(|ask| shared.get(ask).copied().unwrap_or(false));
                Ok(decision::decide(facts_of(slot)?, check, shared))
            })
            .collect()
    }

    /// Answers one check (deny by default; errors surface as errors, which the
    /// caller must treat as a deny).
    #[tracing::instrument(skip(self, check), fields(user_id = %check.user_id, account_id = %check.account_id, permission = %check.permission))]
    pub async fn authorize(&self, check: &Check) -> DomainResult<Decision> {
        self.decide_all(self.store.as_ref(), std::slice::from_ref(check))
            .await?
            .pop()
            .ok_or_else(|| DomainError::Internal("no decision for the check".into()))
    }

    /// Answers several checks in order, reading the facts of every distinct
    /// (user, account) pair together.
    #[tracing::instrument(skip(self, checks), fields(checks = checks.len()))]
    pub async fn batch_authorize(&self, checks: &[Check]) -> DomainResult<Vec<Decision>> {
        self.decide_all(self.store.as_ref(), checks).await
    }

    /// Everything `user` may do in `account`.
    #[tracing::instrument(skip(self), fields(user_id = %user, account_id = %account))]
    pub async fn effective_permissions(
        &self,
        user: &UserId,
        account: &AccountId,
        mfa_verified: bool,
    ) -> DomainResult<EffectivePermissions> {
        let facts = self.store.access_facts(account, user).await?;
        Ok(decision::effective_permissions(&facts, mfa_verified))
    }

    /// Opens a read of `account` for a listing, refused unless `actor` may see
    /// its people (`users.view`); the listing reads in the same transaction.
    pub(super) async fn begin_viewing(
        &self,
        actor: &UserId,
        account: &AccountId,
    ) -> DomainResult<Box<dyn Transaction>> {
        let tx = self.store.begin().await?;
        self.require(tx.as_ref(), actor, account, Permission::USERS_VIEW)
            .await?;
        Ok(tx)
    }

    /// Refuses unless `actor` holds `permission` in `account`, judged inside
    /// the transaction so the answer cannot go stale before the write.
    /// Returns the actor's effective grants, for escalation checks.
    pub(super) async fn require(
        &self,
        tx: &dyn Transaction,
        actor: &UserId,
        account: &AccountId,
        permission: Permission,
    ) -> DomainResult<EffectivePermissions> {
        let facts = tx.access_facts(account, actor).await?;
        // The actor's two-factor state is the calling session's business: the
        // caller authorizes the session with Authorize before acting.
        let check = Check {
            user_id: actor.clone(),
            account_id: account.clone(),
            permission,
            resource: None,
            mfa_verified: true,
        };
        let decision = decision::decide(&facts, &check, false);
        match decision.reason {
            Reason::Allowed => Ok(decision::effective_permissions(&facts, true)),
            Reason::AccountNotFound => Err(DomainError::not_found("account", account.as_str())),
            Reason::AccountClosed => Err(closed_error(account)),
            reason @ (Reason::NotAMember
            | Reason::MembershipInactive
            | Reason::PermissionNotGranted
            | Reason::OutOfScope
            | Reason::MfaRequired
            | Reason::SharedTemplateReadOnly) => Err(DomainError::denied(
                reason_code(reason),
                format!(
                    "user '{actor}' may not {permission} in account '{account}' ({})",
                    reason_code(reason)
                ),
            )),
        }
    }
}
