//! Decisions: Authorize, BatchAuthorize, effective permissions, and the
//! permission check every other use case starts with.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{UseCases, closed_error, now};
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::{
    AccessFacts, Account, BatchDecisions, Check, CheckBatch, Consistency, Decision, EffectivePermissions,
    Ended, Expiry, Grounds, Reason, Resource,
};
use crate::domain::permissions::Permission;
use crate::domain::ports::Transaction;
use crate::domain::rules::actors::{self, StaleSignIn};
use crate::domain::rules::decision;

impl UseCases {
    /// The facts of one (account, user) pair, as fresh as `consistency`
    /// requires; refused when the account is outside the caller's tenants
    /// (judged from the facts themselves: no read of its own).
    pub(super) async fn facts_of(
        &self,
        account: &AccountId,
        user: &UserId,
        consistency: &Consistency,
    ) -> DomainResult<Arc<AccessFacts>> {
        let facts = self
            .cache
            .access_facts_of(&[(account, user)], consistency)
            .await?
            .pop()
            .ok_or_else(|| DomainError::Internal("the cache returned no facts for the pair".into()))?;
        self.within_tenants_facts(account, &facts)?;
        Ok(facts)
    }

    /// Answers one check (deny by default; errors surface as errors, which the
    /// caller must treat as a deny).
    #[tracing::instrument(level = "debug", skip(self, check, consistency), fields(user_id = %check.user_id, account_id = %check.account_id, permission = %check.permission))]
    pub async fn authorize(&self, check: &Check, consistency: &Consistency) -> DomainResult<Decision> {
        let facts = self
            .facts_of(&check.account_id, &check.user_id, consistency)
            .await?;
        Ok(decision::decide(&facts, check, now()))
    }

    /// Answers several checks in order from one read of facts for all their
    /// distinct (user, account) pairs. Each pair is judged once for each
    /// two-factor state its checks come with; a check then costs a test of
    /// its permission (and resource) against that standing.
    #[tracing::instrument(level = "debug", skip(self, batch, consistency), fields(checks = batch.checks.len(), pairs = batch.pairs.len()))]
    pub async fn batch_authorize(
        &self,
        batch: &CheckBatch,
        consistency: &Consistency,
    ) -> DomainResult<BatchDecisions> {
        let pairs: Vec<(&AccountId, &UserId)> = batch.pairs.iter().map(|(a, u)| (a, u)).collect();
        let facts = self.cache.access_facts_of(&pairs, consistency).await?;
        if facts.len() != pairs.len() {
            return Err(DomainError::Internal("the cache returned too few facts".into()));
        }
        // One account outside the caller's tenants refuses the whole batch,
        // before anything is judged.
        for ((account, _), facts) in pairs.iter().zip(&facts) {
            self.within_tenants_facts(account, facts)?;
        }
        // One instant for the whole batch, so its answers agree on what has ended.
        let now = now();
        // Standings by pair and two-factor state: slot 2 × pair + mfa.
        let mut slots: Vec<Option<usize>> = vec![None; 2 * pairs.len()];
        let mut standings: Vec<decision::Standing<'_>> = Vec::with_capacity(pairs.len());
        let mut grounds = Vec::with_capacity(pairs.len());
        let mut answers = Vec::with_capacity(batch.checks.len());
        for check in &batch.checks {
            let (Some(facts), Some(slot)) = (
                facts.get(check.pair),
                slots.get_mut(2 * check.pair + usize::from(check.mfa_verified)),
            ) else {
                return Err(DomainError::Internal(
                    "a check names a pair the batch lacks".into(),
                ));
            };
            let index = *slot.get_or_insert_with(|| {
                let standing = decision::standing(facts, check.mfa_verified, now);
                grounds.push(Grounds {
                    role: standing.role().map(str::to_owned),
                    via_parent: standing.via_parent().cloned(),
                    computed_at: facts.computed_at(pairs[check.pair].0),
                });
                standings.push(standing);
                standings.len() - 1
            });
            let (reason, expired) = standings[index].judge(check.permission, check.resource.as_ref());
            answers.push((index, reason, expired));
        }
        Ok(BatchDecisions { grounds, answers })
    }

    /// Everything `user` may do in `account`.
    #[tracing::instrument(level = "debug", skip(self, consistency), fields(user_id = %user, account_id = %account))]
    pub async fn effective_permissions(
        &self,
        user: &UserId,
        account: &AccountId,
        mfa_verified: bool,
        consistency: &Consistency,
    ) -> DomainResult<EffectivePermissions> {
        let facts = self.facts_of(account, user, consistency).await?;
        Ok(decision::effective_permissions(
            &facts,
            account,
            mfa_verified,
            now(),
        ))
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
        self.within_tenants_facts(account, &facts)?;
        let now = now();
        let decided = actor_decision(&facts, actor, account, permission, self.session.mfa_verified, now);
        if decided.reason == Reason::Allowed {
            Ok(decision::effective_permissions(
                &facts,
                account,
                self.session.mfa_verified,
                now,
            ))
        } else {
            Err(refusal_of(&decided, actor, account, permission))
        }
    }

    /// [`require`](Self::require) for an act on one resource: the resource
    /// must also lie inside the actor's scope of its type (rule 2, as
    /// Authorize judges a check naming it), else `OUT_OF_SCOPE`.
    pub(super) async fn require_on(
        &self,
        tx: &dyn Transaction,
        actor: &UserId,
        account: &AccountId,
        permission: Permission,
        resource: &Resource,
    ) -> DomainResult<EffectivePermissions> {
        let grants = self.require(tx, actor, account, permission).await?;
        if grants.scopes.allows(resource) {
            Ok(grants)
        } else {
            Err(refusal(Reason::OutOfScope, actor, account, permission))
        }
    }

    /// Rule 3 for a person acting on their own membership (leaving,
    /// recording a sign-in, asking for access), who needs no permission to
    /// do it: in `account`, which requires two-factor, a session that has not
    /// passed it is refused as [`UseCases::require`] refuses it (MFA_REQUIRED).
    /// Called once the person is known to be tied to the account, so a
    /// stranger learns nothing about the policy.
    pub(super) fn require_session(&self, person: &UserId, account: &Account, verb: &str) -> DomainResult<()> {
        if decision::two_factor_withheld(account.require_two_factor, self.session.mfa_verified) {
            Err(mfa_required(person, &format!("{verb} account '{}'", account.id)))
        } else {
            Ok(())
        }
    }

    /// Rule 15: a sensitive act (`act`, for the refusal) needs a sign-in no
    /// older than the configured age when the actor is proven by a token.
    /// Called once the actor's permission is established, so the prompt to
    /// sign in again never comes before a refusal that signing in would not
    /// lift.
    pub(super) fn require_recent_sign_in(&self, actor: &UserId, act: &str) -> DomainResult<()> {
        let max_age = chrono::Duration::from_std(self.settings.reauthentication_max_age)
            .unwrap_or(chrono::Duration::MAX);
        let Some(stale) = actors::stale_sign_in(&self.session.proof, now(), max_age) else {
            return Ok(());
        };
        let max_secs = self.settings.reauthentication_max_age.as_secs();
        let error = DomainError::denied(
            ErrorReason::ReauthenticationRequired,
            format!(
                "user '{actor}' must sign in again to {act}: this act needs a sign-in within the \
                 last {max_secs} seconds, and the actor token's {}",
                match stale {
                    StaleSignIn::Unknown => "carries no auth_time".to_owned(),
                    StaleSignIn::At(at) => format!("is from {}", at.to_rfc3339()),
                }
            ),
        )
        .with("max_age_seconds", max_secs);
        Err(match stale {
            StaleSignIn::Unknown => error,
            StaleSignIn::At(at) => error.with("signed_in_at", at.to_rfc3339()),
        })
    }

    /// For something found by its own opaque id (an invitation, an access
    /// request): a caller with no tie to the account holding it learns
    /// nothing, not even that it exists, so the refusal is `kind` not found;
    /// so is the refusal of an account outside the caller's tenants.
    pub(super) async fn hide_from_strangers(
        &self,
        tx: &dyn Transaction,
        actor: &UserId,
        account: &AccountId,
        kind: &'static str,
        id: &str,
    ) -> DomainResult<()> {
        let facts = tx.access_facts(account, actor).await?;
        if tied(&facts) && self.within_tenants_facts(account, &facts).is_ok() {
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
        let account = tx.account(id).await?;
        self.within_tenants_read(id, account.as_ref())?;
        let account = account.ok_or_else(|| DomainError::not_found("account", id.as_str()))?;
        let Some(actor) = actor else {
            return Ok(account.without_owner_contact());
        };
        let facts = tx.access_facts(id, actor).await?;
        let decided = actor_decision(
            &facts,
            actor,
            id,
            Permission::ACCOUNT_VIEW,
            self.session.mfa_verified,
            now(),
        );
        let reason = decided.reason;
        if reason == Reason::Allowed || (reason == Reason::AccountClosed && tied(&facts)) {
            Ok(account)
        } else if reason == Reason::AccountClosed {
            // A closed account is seen by those tied to it; to anyone else it is no account of theirs.
            Err(refusal(Reason::NotAMember, actor, id, Permission::ACCOUNT_VIEW))
        } else {
            Err(refusal_of(&decided, actor, id, Permission::ACCOUNT_VIEW))
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
    mfa_verified: bool,
    now: DateTime<Utc>,
) -> Decision {
    decision::decide(
        facts,
        &Check {
            user_id: actor.clone(),
            account_id: account.clone(),
            permission,
            resource: None,
            mfa_verified,
        },
        now,
    )
}

/// The error for an actor refused by `decided`: [`refusal`], naming what
/// ended when the access expired.
fn refusal_of(
    decided: &Decision,
    actor: &UserId,
    account: &AccountId,
    permission: Permission,
) -> DomainError {
    let error = refusal(decided.reason, actor, account, permission);
    match &decided.expired {
        Some(expiry) => expired_details(error, expiry),
        None => error,
    }
}

/// ErrorInfo metadata naming what ended and when.
pub(super) fn expired_details(error: DomainError, expiry: &Expiry) -> DomainError {
    let error = error.with("ended", expiry.what.kind()).with(
        "ended_at",
        expiry.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    );
    match expiry.what {
        Ended::Membership => error,
        Ended::Grant(_) | Ended::Scope(..) => error.with("subject", expiry.what.subject()),
    }
}

/// Whether the user has any tie to the account: a membership (of any
/// status) or ownership of its parent.
fn tied(facts: &AccessFacts) -> bool {
    facts.account.is_some() && (facts.membership.is_some() || facts.owned_parent_state.is_some())
}

/// The error for an actor refused `permission` in `account`.
fn refusal(reason: Reason, actor: &UserId, account: &AccountId, permission: Permission) -> DomainError {
    let denied = match reason {
        Reason::AccountNotFound => return DomainError::not_found("account", account.as_str()),
        Reason::AccountClosed => return closed_error(account),
        Reason::MfaRequired => {
            return mfa_required(actor, &format!("{permission} in account '{account}'"));
        }
        // Callers refuse only what the decision denied: this would be a bug.
        Reason::Allowed => {
            return DomainError::Internal(format!(
                "user '{actor}' refused {permission} in account '{account}' by a decision that allows it"
            ));
        }
        Reason::NotAMember => ErrorReason::NotAMember,
        Reason::MembershipInactive => ErrorReason::MembershipInactive,
        Reason::PermissionNotGranted => ErrorReason::PermissionNotGranted,
        Reason::OutOfScope => ErrorReason::OutOfScope,
        Reason::SharedTemplateReadOnly => ErrorReason::SharedTemplateReadOnly,
        Reason::SharedSuppressionListReadOnly => ErrorReason::SharedSuppressionListReadOnly,
        Reason::AccessExpired => ErrorReason::AccessExpired,
    };
    DomainError::denied(
        denied,
        format!("user '{actor}' may not {permission} in account '{account}' ({denied})"),
    )
}

/// The error for an actor whose session has not passed the two-factor an
/// account requires, refused `act` (what they tried, and where).
fn mfa_required(actor: &UserId, act: &str) -> DomainError {
    DomainError::denied(
        ErrorReason::MfaRequired,
        format!(
            "user '{actor}' may not {act} (MFA_REQUIRED): the account requires two-factor, \
             and the actor's session has not been vouched as having passed it"
        ),
    )
}
