//! The use cases: every rule that needs the store lives here, one file (or
//! folder) per area; the pure rules they apply are `domain::rules`. This file
//! holds the service itself, its settings and the small helpers every area
//! shares.
//!
//! A use case that must tell someone writes one [`OutboxMessage`] next to its
//! activity entry, in the same transaction, so nothing is sent for a change
//! that rolled back and nothing is lost for one that committed. Each area
//! builds its own messages (`invitations/message.rs`, `access_requests.rs`,
//! `members.rs`): their facts are the variables of the templates in
//! src/email/templates/; the dispatcher renders and sends after the commit.
//!
//! [`OutboxMessage`]: crate::domain::model::OutboxMessage

mod access_requests;
mod accounts;
mod activity;
mod changes;
mod decisions;
mod email_limits;
mod invitations;
mod lookups;
mod members;
mod people;
mod roles;
mod sharing;
mod tenants;

pub use access_requests::{ListAccessRequests, RequestAccess};
pub use accounts::{CreateAccount, ListAccounts};
pub use activity::ListActivity;
pub use changes::{
    Watch, WatchChanges, WatchCut, WatchPosition, Watcher, caller_watch_limit,
    every_account_is_the_platforms, watch_limit_reached,
};
pub use email_limits::{EmailLimits, RateLimit};
pub use invitations::{
    AcceptInvitation, Accepted, Invite, InviteTarget, IssuedInvitations, ListInvitations, UpdateInvitation,
};
pub use lookups::{LookupAccounts, LookupMembers, MemberPage};
pub use members::{ListUsers, UpdateMember};
pub use roles::{CreateRole, UpdateRole};
pub use sharing::{ListSharedResources, ShareResource, Shareable, SharedId, UnshareResource};

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::{
    Account, AccountState, ActivityDetails, ActivityEntry, ActorSession, ConsistencyToken, Tenants, Via,
};
use crate::domain::ports::{FactsCache, Reads, Store, Transaction};

/// Settings the use cases depend on.
#[derive(Clone, Debug)]
pub struct DomainSettings {
    /// How long an invitation token stays valid.
    pub invitation_ttl: Duration,
    /// Most checks one BatchAuthorize may carry.
    pub max_batch_checks: usize,
    /// Longest time since an actor token's sign-in (`auth_time`) for a
    /// sensitive act (rule 15).
    pub reauthentication_max_age: Duration,
    /// Most pending invitations (expired ones included) one account holds,
    /// whatever its plan.
    pub max_pending_invitations: usize,
    /// Most bytes of rows one ListUsers page carries.
    pub max_page_bytes: usize,
    /// The limits on the emails callers can make the service write.
    pub email: EmailLimits,
    /// Whether an invitation's outbox row keeps the raw token its accept
    /// link needs: only when the email will be sent (a relay is configured
    /// here, or sending is left to other replicas). Without, the email is
    /// only logged, so the token would sit in the database for nothing.
    pub outbox_keeps_tokens: bool,
}

/// A page of rows and the token for the next one (empty on the last page).
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The rows.
    pub rows: Vec<T>,
    /// Token for the next page.
    pub next_page_token: String,
}

/// The access-control use cases.
#[derive(Clone)]
pub struct UseCases {
    store: Arc<dyn Store>,
    /// Where decisions read facts, and what every commit must reach before
    /// its use case returns.
    cache: Arc<dyn FactsCache>,
    settings: DomainSettings,
    /// The session of the actor on whose behalf these use cases run (rule
    /// 3): unverified unless [`UseCases::in_session`] says otherwise.
    session: ActorSession,
    /// The caller these use cases serve, recorded on every activity entry
    /// they write: the service itself unless [`UseCases::via`] names one.
    via: Via,
    /// The tenants of the caller these use cases serve: every account
    /// unless [`UseCases::for_tenants`] says otherwise (`tenants.rs`).
    tenants: Tenants,
}

/// The current time at the store's precision (milliseconds), so what a
/// call returns equals what a later read returns.
fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(3)
}

/// A person's display name (or their id when the store has none) and
/// address, as the emails name them.
async fn name_of(reads: &dyn Reads, user: &UserId) -> DomainResult<(String, String)> {
    Ok(match reads.identity(user).await? {
        Some(identity) if !identity.person.name.is_empty() => {
            (identity.person.name, identity.person.email.to_string())
        }
        Some(identity) => (user.to_string(), identity.person.email.to_string()),
        None => (user.to_string(), String::new()),
    })
}

fn closed_error(account: &AccountId) -> DomainError {
    DomainError::precondition(
        ErrorReason::AccountClosed,
        format!("account '{account}' is closed: it can no longer be changed"),
    )
}

fn ttl(settings: &DomainSettings) -> DomainResult<chrono::Duration> {
    chrono::Duration::from_std(settings.invitation_ttl)
        .map_err(|_| DomainError::Internal("invitation TTL out of range".into()))
}

impl UseCases {
    /// Wires the use cases to a store.
    pub fn new(store: Arc<dyn Store>, cache: Arc<dyn FactsCache>, settings: DomainSettings) -> Self {
        Self {
            store,
            cache,
            settings,
            session: ActorSession::default(),
            via: Via::service(),
            tenants: Tenants::Every,
        }
    }

    /// These use cases serving the caller `via`: every activity entry they
    /// write records it beside the actor. Without it they record the service
    /// itself ([`Via::service`]), which is right only for writes no caller
    /// asked for.
    #[must_use]
    pub fn via(&self, via: Via) -> Self {
        Self { via, ..self.clone() }
    }

    /// The activity entry of a change this use case makes, recording the
    /// caller it serves.
    fn activity(
        &self,
        account_id: &AccountId,
        actor: &UserId,
        target: impl Into<String>,
        details: ActivityDetails,
        at: DateTime<Utc>,
    ) -> ActivityEntry {
        ActivityEntry {
            account_id: account_id.clone(),
            actor: actor.clone(),
            via: self.via.clone(),
            target: target.into(),
            details,
            at,
        }
    }

    /// These use cases acting for an actor whose session is `session`: every
    /// permission the actor needs is then judged with that session's facts,
    /// as Authorize judges a check (rule 3). Cheap: the store and cache are
    /// shared.
    #[must_use]
    pub fn in_session(&self, session: ActorSession) -> Self {
        Self {
            session,
            ..self.clone()
        }
    }

    /// Commits a use case's writes, then waits until no replica can answer
    /// from older state (rule 11): the one way every write ends. Returns the
    /// token of the revisions it made, which the use case hands back with its
    /// result as a [`Written`](crate::domain::model::Written).
    async fn commit(&self, tx: Box<dyn Transaction>) -> DomainResult<ConsistencyToken> {
        Ok(self.cache.commit_visible_everywhere(tx).await?.token())
    }

    /// Ends a call that finds its work already done (a retry, say) once
    /// that work is visible everywhere: the first call's invalidation may
    /// still be on its way, and a caller told "already done" must not then
    /// read older state from any replica (rule 11). Nothing is written; the
    /// locked accounts' revisions are announced again.
    async fn already_done(&self, tx: Box<dyn Transaction>) -> DomainResult<()> {
        let receipt = tx.finish_unchanged().await?;
        self.cache.make_visible_everywhere(receipt).await
    }

    /// The settings in force.
    pub fn settings(&self) -> &DomainSettings {
        &self.settings
    }

    /// Locks an account to close it: `None` when it is closed already.
    /// Refuses accounts outside the caller's tenants (known or not), then
    /// unknown ones.
    async fn lock_account_to_close(
        &self,
        tx: &dyn Transaction,
        id: &AccountId,
    ) -> DomainResult<Option<Account>> {
        let account = tx.lock_account(id).await?;
        self.within_tenants_read(id, account.as_ref())?;
        let account = account.ok_or_else(|| DomainError::not_found("account", id.as_str()))?;
        Ok((account.state != AccountState::Closed).then_some(account))
    }

    /// Locks an account for a change; refuses accounts outside the caller's
    /// tenants (known or not), then unknown and closed accounts.
    async fn lock_open_account(&self, tx: &dyn Transaction, id: &AccountId) -> DomainResult<Account> {
        let account = tx.lock_account(id).await?;
        self.within_tenants_read(id, account.as_ref())?;
        let account = account.ok_or_else(|| DomainError::not_found("account", id.as_str()))?;
        if account.state == AccountState::Closed {
            return Err(closed_error(id));
        }
        Ok(account)
    }
}
