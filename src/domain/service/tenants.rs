//! Callers bound to tenants: the one judgement every use case that names an
//! account passes through, and the refusal it gives.
//!
//! The grpc layer hands each request's use cases the tenants of its caller
//! ([`UseCases::for_tenants`]); the use cases judge them where they first
//! read the account anyway, so the judgement costs no I/O: the facts of a
//! decision and of an actor's permission ([`UseCases::require`]), the
//! account a write locks ([`UseCases::lock_open_account`]), the account a
//! read opens. An account named by the request is refused alike whether it
//! exists or not (`OUTSIDE_CALLER_TENANTS`); something named by an opaque id
//! of its own (an invitation, its token, an access request) is, outside the
//! caller's tenants, as unknown as a made-up id.

use super::UseCases;
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::AccountId;
use crate::domain::model::{AccessFacts, Account, Tenants};
use crate::domain::ports::Reads;

impl UseCases {
    /// These use cases serving only `tenants` (the caller's). Cheap: the
    /// store and cache are shared.
    #[must_use]
    pub fn for_tenants(&self, tenants: Tenants) -> Self {
        Self {
            tenants,
            ..self.clone()
        }
    }

    /// The tenants these use cases serve.
    pub fn tenants(&self) -> &Tenants {
        &self.tenants
    }

    /// Refuses `account` (whose team parent is `parent`; `None` when it is a
    /// team root or does not exist) unless the caller serves it.
    pub(super) fn within_tenants(&self, account: &AccountId, parent: Option<&AccountId>) -> DomainResult<()> {
        if self.tenants.serves(account, parent) {
            Ok(())
        } else {
            Err(outside_tenants(account))
        }
    }

    /// [`within_tenants`](Self::within_tenants) for an account as read by id
    /// (`None`: there is none).
    pub(super) fn within_tenants_read(&self, id: &AccountId, read: Option<&Account>) -> DomainResult<()> {
        self.within_tenants(id, read.and_then(|account| account.parent_id.as_ref()))
    }

    /// [`within_tenants`](Self::within_tenants) with the facts of a decision
    /// about `account`, which hold its parent.
    pub(super) fn within_tenants_facts(&self, account: &AccountId, facts: &AccessFacts) -> DomainResult<()> {
        self.within_tenants(account, facts.account.as_ref().and_then(|a| a.parent_id.as_ref()))
    }

    /// [`within_tenants`](Self::within_tenants) for an account a use case has
    /// not read otherwise: reads it only when the caller is bound to tenants.
    pub(super) async fn within_tenants_of(&self, reads: &dyn Reads, id: &AccountId) -> DomainResult<()> {
        if self.tenants.is_every() {
            return Ok(());
        }
        self.within_tenants_read(id, reads.account(id).await?.as_ref())
    }

    /// Whether the caller serves `account`, for what is hidden rather than
    /// refused outside its tenants.
    pub(super) fn serves(&self, account: &Account) -> bool {
        self.tenants.serves(&account.id, account.parent_id.as_ref())
    }
}

/// The refusal of an account outside the caller's tenants: the same whether
/// or not the account exists, and naming none of the caller's tenants.
pub(super) fn outside_tenants(account: &AccountId) -> DomainError {
    DomainError::denied(
        ErrorReason::OutsideCallerTenants,
        format!(
            "this caller's API key or certificate identity is bound to tenants, and account '{account}' \
             is not one of them: use the key of the tenant it belongs to"
        ),
    )
}

/// The refusal of a new team root to a caller bound to tenants, which may
/// create only children of its teams.
pub(super) fn root_outside_tenants() -> DomainError {
    DomainError::denied(
        ErrorReason::OutsideCallerTenants,
        "this caller's API key or certificate identity is bound to tenants: it may create child \
         accounts of its teams (set parent_account_id), not new team roots",
    )
}
