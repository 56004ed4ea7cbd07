//! Decisions: Authorize, BatchAuthorize, effective permissions, and the
//! permission check every other use case starts with.

use std::collections::HashMap;

use super::{UseCases, closed_error};
use crate::domain::decision;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::{
    AccessFacts, Account, ActorSession, Check, Consistency, Decision, EffectivePermissions, Reason,
};
use crate::domain::permissions::Permission;
use crate::domain::ports::Transaction;

impl UseCases {
    /// Decides `checks` in order from one read of facts for all their
    /// distinct (user, account) pairs, as fresh as `consistency` requires.
    async fn decide_all(&self, checks: &[Check], consistency: &Consistency) -> DomainResult<Vec<Decision>> {
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
        let facts = self
            .cache
            .access_facts_of(self.store.as_ref(), &pairs, consistency)
            .await?;
        checks
            .iter()
            .zip(slots)
            .map(|(check, slot)| {
                let facts = facts
                    .get(slot)
                    .ok_or_else(|| DomainError::Internal("the cache returned too few facts".into()))?;
                Ok(decision::decide(facts, check))
            })
            .collect()
    }

    /// Answers one check (deny by default; errors surface as errors, which the
    /// caller must treat as a deny).
    #[tracing::instrument(skip(self, check, consistency), fields(user_id = %check.user_id, account_id = %check.account_id, permission = %check.permission))]
    pub async fn authorize(&self, check: &Check, consistency: &Consistency) -> DomainResult<Decision> {
        self.decide_all(std::slice::from_ref(check), consistency)
            .await?
            .pop()
            .ok_or_else(|| DomainError::Internal("no decision for the check".into()))
    }

    /// Answers several checks in order, reading the facts of every distinct
    /// (user, account) pair together.
    #[tracing::instrument(skip(self, checks, consistency), fields(checks = checks.len()))]
    pub async fn batch_authorize(
        &self,
        checks: &[Check],
        consistency: &Consistency,
    ) -> DomainResult<Vec<Decision>> {
        self.decide_all(checks, consistency).await
    }

    /// Everything `user` may do in `account`.
    #[tracing::instrument(skip(self, consistency), fields(user_id = %user, account_id = %account))]
    pub async fn effective_permissions(
        &self,
        user: &UserId,
        account: &AccountId,
        mfa_verified: bool,
        consistency: &Consistency,
    ) -> DomainResult<EffectivePermissions> {
        let mut facts = self
            .cache
            .access_facts_of(self.store.as_ref(), &[(account, user)], consistency)
            .await?;
        let facts = facts
            .pop()
            .unwrap_or_else(|| std::sync::Arc::new(AccessFacts::no_account()));
        Ok(decision::effective_permissions(&facts, account, mfa_verified))
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
        let reason = actor_decision(&facts, actor, account, permission, self.session).reason;
        if reason == Reason::Allowed {
            Ok(decision::effective_permissions(
                &facts,
                account,
                self.session.mfa_verified,
            ))
        } else {
            Err(refusal(reason, actor, account, permission))
        }
    }

    /// For something found by its own opaque id (an invitation, an access
    /// request): a caller with no tie to the account holding it learns
    /// nothing, not even that it exists, so the refusal is `kind` not found.
    pub(super) async fn hide_from_strangers(
        &self,
        tx: &dyn Transaction,
        actor: &UserId,
        account: &AccountId,
        kind: &'static str,
        id: &str,
    ) -> DomainResult<()> {
        let facts = tx.access_facts(account, actor).await?;
        if tied(&facts) {
            Ok(())
        } else {
            Err(DomainError::not_found(kind, id))
        }
    }

    /// One account as `actor` may see it: in full to a member (holding
    /// account.view; a closed account to anyone tied to it), owner named by id
    /// only when nobody asks.
    pub async fn get_account(&self, actor: Option<&UserId>, id: &AccountId) -> DomainResult<Account> {
        let tx = self.store.begin().await?;
        let account = tx
            .account(id)
            .await?
            .ok_or_else(|| DomainError::not_found("account", id.as_str()))?;
        let Some(actor) = actor else {
            return Ok(account.without_owner_contact());
        };
        let facts = tx.access_facts(id, actor).await?;
        let reason = actor_decision(&facts, actor, id, Permission::ACCOUNT_VIEW, self.session).reason;
        if reason == Reason::Allowed || (reason == Reason::AccountClosed && tied(&facts)) {
            Ok(account)
        } else if reason == Reason::AccountClosed {
            // A closed account is seen by those tied to it; to anyone else it is no account of theirs.
            Err(refusal(Reason::NotAMember, actor, id, Permission::ACCOUNT_VIEW))
        } else {
            Err(refusal(reason, actor, id, Permission::ACCOUNT_VIEW))
        }
    }
}

/// The decision on an actor's own permission, judged with the actor's
/// session facts exactly as Authorize judges a check (rule 3): an account
/// that requires two-factor refuses an actor whose session has not passed
/// it, with the reason Authorize gives.
fn actor_decision(
    facts: &AccessFacts,
    actor: &UserId,
    account: &AccountId,
    permission: Permission,
    session: ActorSession,
) -> Decision {
    decision::decide(
        facts,
        &Check {
            user_id: actor.clone(),
            account_id: account.clone(),
            permission,
            resource: None,
            mfa_verified: session.mfa_verified,
        },
    )
}

/// Whether the user has any tie to the account: a membership (of any
/// status) or ownership of its parent.
fn tied(facts: &AccessFacts) -> bool {
    facts.account.is_some() && (facts.membership.is_some() || facts.owned_parent_state.is_some())
}

/// The error for an actor refused `permission` in `account`.
fn refusal(reason: Reason, actor: &UserId, account: &AccountId, permission: Permission) -> DomainError {
    match reason {
        Reason::AccountNotFound => DomainError::not_found("account", account.as_str()),
        Reason::AccountClosed => closed_error(account),
        Reason::MfaRequired => DomainError::denied(
            reason.code(),
            format!(
                "user '{actor}' may not {permission} in account '{account}' (MFA_REQUIRED): the account \
                 requires two-factor, and the actor's session has not been vouched as having passed it"
            ),
        ),
        Reason::Allowed
        | Reason::NotAMember
        | Reason::MembershipInactive
        | Reason::PermissionNotGranted
        | Reason::OutOfScope
        | Reason::SharedTemplateReadOnly
        | Reason::SharedSuppressionListReadOnly => DomainError::denied(
            reason.code(),
            format!(
                "user '{actor}' may not {permission} in account '{account}' ({})",
                reason.code()
            ),
        ),
    }
}
