//! Decisions: Authorize, BatchAuthorize, effective permissions, and the
//! permission check every other use case starts with.

use std::collections::HashMap;

use super::{AccessService, closed_error};
use crate::domain::decision::{self, shared_template_parent};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::{AccessFacts, Check, Decision, EffectivePermissions, Reason};
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

impl AccessService {
    async fn decide_with(
        &self,
        reads: &dyn Reads,
        facts: &AccessFacts,
        check: &Check,
    ) -> DomainResult<Decision> {
        let shared = match shared_template_parent(facts, check) {
            Some(parent) => {
                // Only the resource id matters here; the type was checked above.
                let template = check.resource.as_ref().map(|r| &r.id);
                match template {
                    Some(template) => {
                        reads
                            .template_shared_with(&check.account_id, parent, template)
                            .await?
                    }
                    None => false,
                }
            }
            None => false,
        };
        Ok(decision::decide(facts, check, shared))
    }

    /// Answers one check (deny by default; errors surface as errors, which the
    /// caller must treat as a deny).
    #[tracing::instrument(skip(self, check), fields(user_id = %check.user_id, account_id = %check.account_id, permission = %check.permission))]
    pub async fn authorize(&self, check: &Check) -> DomainResult<Decision> {
        let facts = self.store.access_facts(&check.account_id, &check.user_id).await?;
        self.decide_with(self.store.as_ref(), &facts, check).await
    }

    /// Answers several checks in order, loading each (user, account) once.
    #[tracing::instrument(skip(self, checks), fields(checks = checks.len()))]
    pub async fn batch_authorize(&self, checks: &[Check]) -> DomainResult<Vec<Decision>> {
        let mut facts_by_pair: HashMap<(&UserId, &AccountId), AccessFacts> = HashMap::new();
        let mut decisions = Vec::with_capacity(checks.len());
        for check in checks {
            let key = (&check.user_id, &check.account_id);
            let facts = match facts_by_pair.entry(key) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert(self.store.access_facts(&check.account_id, &check.user_id).await?)
                }
            };
            decisions.push(self.decide_with(self.store.as_ref(), facts, check).await?);
        }
        Ok(decisions)
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
