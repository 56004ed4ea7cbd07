//! The change stream as a caller reads it (WatchChanges): who may watch
//! what, where a watch resumes, and each batch it reads. The loop that
//! follows new commits is the gRPC layer's (it owns the stream); the Redis
//! publisher reads the same log through the same port.

use super::UseCases;
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{ActivityId, UserId};
use crate::domain::model::{ActivityRecord, ChangeQuery, ChangeScope, PlatformActor};
use crate::domain::permissions::Permission;

/// Who watches.
#[derive(Clone, Debug)]
pub enum Watcher {
    /// A person, through an admin tool: may watch one account where they
    /// hold `users.view` (the rule of ListActivity, which shows the same
    /// entries), or a team whose parent they own (rule 4 makes the parent's
    /// owner an owner in every child, present and future).
    Member(UserId),
    /// The platform (a key with the `platform` scope): may watch anything,
    /// and alone may watch every account.
    Platform(PlatformActor),
}

/// A request to watch changes.
#[derive(Clone, Debug)]
pub struct WatchChanges {
    /// Who watches.
    pub watcher: Watcher,
    /// Whose changes.
    pub scope: ChangeScope,
    /// One account: resume after this revision (changes with a higher one).
    pub after_revision: Option<u64>,
    /// Resume after the change with this id (any scope).
    pub after: Option<ActivityId>,
}

/// A watch that passed its checks: what it reads next.
#[derive(Clone, Debug)]
pub struct Watch {
    /// Who watches (re-checked as changes arrive).
    pub watcher: Watcher,
    /// The next read.
    pub query: ChangeQuery,
}

/// The refusal of a watch of every account without the platform scope
/// (with an actor or without one: naming an actor would not help).
pub fn every_account_is_the_platforms() -> DomainError {
    DomainError::denied(
        ErrorReason::ScopeMissing,
        "watching every account is the platform's: it needs an API key with the 'platform' scope",
    )
    .with("scope", "platform")
}

/// The refusal of a watch of every account to a caller bound to tenants.
fn every_account_outside_tenants() -> DomainError {
    DomainError::denied(
        ErrorReason::OutsideCallerTenants,
        "this caller's API key or certificate identity is bound to tenants: it may watch an account \
         or a team it serves, not every account",
    )
}

impl UseCases {
    /// Checks that the watcher may watch the scope and finds where the watch
    /// resumes. Nothing is read yet.
    #[tracing::instrument(skip(self))]
    pub async fn watch_changes(&self, request: WatchChanges) -> DomainResult<Watch> {
        let tx = self.store.begin().await?;
        self.may_watch(tx.as_ref(), &request.watcher, &request.scope)
            .await?;
        let after_seq = match &request.after {
            None => None,
            Some(id) => {
                let not_here = || {
                    DomainError::invalid(
                        "after_id",
                        "is not the id of a change in this scope (ids come from the events this RPC sends)",
                    )
                };
                let (account, seq) = tx.change_position(id).await?.ok_or_else(not_here)?;
                let in_scope = match &request.scope {
                    ChangeScope::All => true,
                    ChangeScope::Account(watched) => *watched == account,
                    ChangeScope::Team(parent) => {
                        account == *parent
                            || tx
                                .account(&account)
                                .await?
                                .is_some_and(|a| a.parent_id.as_ref() == Some(parent))
                    }
                };
                if !in_scope {
                    return Err(not_here());
                }
                Some(seq)
            }
        };
        Ok(Watch {
            watcher: request.watcher,
            query: ChangeQuery {
                scope: request.scope,
                after_revision: request.after_revision,
                after_seq,
            },
        })
    }

    /// The next changes of a watch, at most `limit`, oldest first, and moves
    /// the watch past them. The watcher's right is checked again whenever
    /// there is something to send: a member removed while watching stops
    /// seeing changes (PERMISSION_DENIED ends the stream).
    pub async fn next_changes(&self, watch: &mut Watch, limit: usize) -> DomainResult<Vec<ActivityRecord>> {
        let rows = self.store.changes(&watch.query, limit).await?;
        if let Some(last) = rows.last() {
            let tx = self.store.begin().await?;
            self.may_watch(tx.as_ref(), &watch.watcher, &watch.query.scope)
                .await?;
            watch.query.after_seq = Some(last.seq);
        }
        Ok(rows)
    }

    async fn may_watch(
        &self,
        tx: &dyn crate::domain::ports::Transaction,
        watcher: &Watcher,
        scope: &ChangeScope,
    ) -> DomainResult<()> {
        match scope {
            ChangeScope::All if !self.tenants().is_every() => return Err(every_account_outside_tenants()),
            ChangeScope::All => {}
            // A team's changes are its children's too: the parent's tenant covers them.
            ChangeScope::Account(account) | ChangeScope::Team(account) => {
                self.within_tenants_of(tx, account).await?;
            }
        }
        let actor = match watcher {
            Watcher::Platform(_) => return Ok(()),
            Watcher::Member(actor) => actor,
        };
        match scope {
            ChangeScope::All => Err(every_account_is_the_platforms()),
            ChangeScope::Account(account) => {
                self.require(tx, actor, account, Permission::USERS_VIEW).await?;
                Ok(())
            }
            ChangeScope::Team(parent) => {
                self.require(tx, actor, parent, Permission::USERS_VIEW).await?;
                let account = tx
                    .account(parent)
                    .await?
                    .ok_or_else(|| DomainError::not_found("account", parent.as_str()))?;
                if account.owner.user_id == *actor {
                    Ok(())
                } else {
                    Err(DomainError::denied(
                        ErrorReason::TeamOwnerOnly,
                        format!(
                            "only the owner of '{parent}' may watch its team (the owner alone reaches every \
                             child, present and future); watch one account instead"
                        ),
                    ))
                }
            }
        }
    }
}
