//! The change stream as a caller reads it (WatchChanges): who may watch
//! what, where a watch resumes, each page it reads while catching up and
//! what it is owed of the changes a replica reads once for every watch.
//! The stream itself (catching up, then following the replica's feed) is
//! the gRPC layer's; the Redis publisher reads the same log through the
//! same port.

use std::sync::Arc;

use super::UseCases;
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::{ActivityId, UserId};
use crate::domain::model::{ActivityRecord, ChangeQuery, ChangeScope, FedChange, PlatformActor};
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
    /// Where the watch stands, as its caller would resume it.
    pub position: WatchPosition,
}

/// Where a watch stands, in the terms of a request that resumes it: the
/// last change it passed on, or, before any, the position it was asked to
/// start from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchPosition {
    /// No change passed on and none named: resume with the same request.
    Start,
    /// One account, no change passed on since this revision.
    AfterRevision(u64),
    /// After this change.
    AfterId(ActivityId),
}

/// Why the server ends a watch that has not failed: the watcher resumes
/// from the position the end carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchCut {
    /// It fell more than `buffer` changes behind the replica's new changes.
    TooSlow {
        /// How far a watch may fall behind (ACCESS_WATCH_BUFFER).
        buffer: usize,
    },
    /// It lived its `max_age_secs`.
    MaxAge {
        /// The longest life of a watch (ACCESS_WATCH_MAX_AGE_SECS).
        max_age_secs: u64,
    },
}

impl Watch {
    /// The end of this watch for `why`, carrying where to resume: after
    /// the last change it passed on (`resume_after_id`), or, before any,
    /// from where it was asked to start (`resume_after_revision`, or
    /// nothing: the same request).
    pub fn cut(&self, why: WatchCut) -> DomainError {
        let resume = match &self.position {
            WatchPosition::AfterId(_) => "resume with after_id set to resume_after_id",
            WatchPosition::AfterRevision(_) => "resume with after_revision set to resume_after_revision",
            WatchPosition::Start => "resume with the same request (no change was sent yet)",
        };
        let error = match why {
            WatchCut::TooSlow { buffer } => DomainError::aborted(
                ErrorReason::WatchReaderTooSlow,
                format!(
                    "this watch fell more than {buffer} changes behind the server's new changes (the \
                     reader is too slow, so the server stopped buffering for it): {resume}; nothing is \
                     missed or repeated"
                ),
            )
            .with("buffer", buffer),
            WatchCut::MaxAge { max_age_secs } => DomainError::aborted(
                ErrorReason::WatchMaxAge,
                format!(
                    "this watch reached its maximum age of {max_age_secs} s: {resume}; nothing is missed \
                     or repeated"
                ),
            )
            .with("max_age_seconds", max_age_secs),
        };
        match &self.position {
            WatchPosition::AfterId(id) => error.with("resume_after_id", id.as_str()),
            WatchPosition::AfterRevision(revision) => error.with("resume_after_revision", revision),
            WatchPosition::Start => error,
        }
    }
}

/// The refusal of a watch past the replica's cap of `limit` open watches.
pub fn watch_limit_reached(limit: usize) -> DomainError {
    DomainError::exhausted(
        ErrorReason::WatchLimitReached,
        format!(
            "this server has {limit} watches open, its limit: retry later, or on another replica \
             (WatchChanges streams end on their own after a while)"
        ),
    )
    .with("limit", limit)
}

/// The refusal of a watch past `caller`'s cap of `limit` open watches.
pub fn caller_watch_limit(caller: &str, limit: usize) -> DomainError {
    DomainError::exhausted(
        ErrorReason::CallerWatchLimit,
        format!(
            "caller '{}' has {limit} watches open on this server, its limit: close one first (one watch \
             of a team or of every account covers many)",
            crate::domain::error::echo(caller)
        ),
    )
    .with("limit", limit)
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
    #[tracing::instrument(level = "debug", skip(self))]
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
        let position = match (&request.after, request.after_revision) {
            (Some(id), _) => WatchPosition::AfterId(id.clone()),
            (None, Some(revision)) => WatchPosition::AfterRevision(revision),
            (None, None) => WatchPosition::Start,
        };
        Ok(Watch {
            watcher: request.watcher,
            query: ChangeQuery {
                scope: request.scope,
                after_revision: request.after_revision,
                after_seq,
            },
            position,
        })
    }

    /// The next changes of a watch read from the store, at most `limit`,
    /// oldest first (how a watch catches up), and moves the watch past them.
    pub async fn next_changes(&self, watch: &mut Watch, limit: usize) -> DomainResult<Vec<ActivityRecord>> {
        let rows = self.store.changes(&watch.query, limit).await?;
        self.pass_on(watch, rows).await
    }

    /// Of changes read once for every watch (oldest first), the ones `watch`
    /// is owed: in its scope and after its position. Moves the watch past them.
    pub async fn owed_changes(
        &self,
        watch: &mut Watch,
        fed: &[Arc<FedChange>],
    ) -> DomainResult<Vec<ActivityRecord>> {
        let owed = fed
            .iter()
            .filter(|change| watch.query.admits(change))
            .map(|change| change.record.clone())
            .collect();
        self.pass_on(watch, owed).await
    }

    /// Hands `changes` to the watcher and moves the watch past them. A
    /// person's right is checked again whenever there is something to
    /// send: a member removed while watching stops seeing changes
    /// (PERMISSION_DENIED ends the stream). The platform's is not: its
    /// key's tenants are fixed for the watch, and an account never changes
    /// parent, so what it passed once it passes for good.
    async fn pass_on(
        &self,
        watch: &mut Watch,
        changes: Vec<ActivityRecord>,
    ) -> DomainResult<Vec<ActivityRecord>> {
        let Some(last) = changes.last() else {
            return Ok(changes);
        };
        if let Watcher::Member(_) = watch.watcher {
            let tx = self.store.begin().await?;
            self.may_watch(tx.as_ref(), &watch.watcher, &watch.query.scope)
                .await?;
        }
        watch.query.after_seq = Some(last.seq);
        watch.position = WatchPosition::AfterId(last.id.clone());
        Ok(changes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::AccountId;

    fn watch(position: WatchPosition) -> Watch {
        Watch {
            watcher: Watcher::Member(UserId::from_trusted("olivia".to_owned())),
            query: ChangeQuery {
                scope: ChangeScope::Account(AccountId::from_trusted("acme".to_owned())),
                after_revision: None,
                after_seq: None,
            },
            position,
        }
    }

    #[test]
    fn a_cut_carries_where_to_resume() {
        let id = ActivityId::from_trusted("0123456789abcdef0123456789abcdef".to_owned());
        let cut = watch(WatchPosition::AfterId(id)).cut(WatchCut::TooSlow { buffer: 8 });
        let DomainError::Aborted { reason, metadata, .. } = &cut else {
            panic!("{cut:?}")
        };
        assert_eq!(*reason, ErrorReason::WatchReaderTooSlow);
        assert_eq!(metadata.get("buffer"), Some("8"));
        assert_eq!(
            metadata.get("resume_after_id"),
            Some("0123456789abcdef0123456789abcdef")
        );
        let cut = watch(WatchPosition::AfterRevision(7)).cut(WatchCut::MaxAge { max_age_secs: 10 });
        let metadata = cut.metadata().expect("metadata");
        assert_eq!(metadata.get("resume_after_revision"), Some("7"));
        assert_eq!(metadata.get("max_age_seconds"), Some("10"));
        assert_eq!(metadata.get("resume_after_id"), None);
        let cut = watch(WatchPosition::Start).cut(WatchCut::MaxAge { max_age_secs: 10 });
        let metadata = cut.metadata().expect("metadata");
        assert_eq!(metadata.get("resume_after_id"), None);
        assert_eq!(metadata.get("resume_after_revision"), None);
        assert!(cut.to_string().contains("same request"), "{cut}");
    }
}
