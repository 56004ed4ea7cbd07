//! What the domain and the adapters need from the outside world: the store,
//! the outbox and the cache in front of the store. `storage` implements
//! the store's ports, `cache` the [`FactsCache`].

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{AccessRequestId, AccountId, ActivityId, Email, InvitationId, RoleName, UserId};
use crate::domain::model::{
    AccessEnds, AccessFacts, AccessRequest, AccessRequestState, Account, AccountAccess, AccountLimits,
    AccountTie, ActivityEntry, ActivityFilter, ActivityRecord, ChangeQuery, Consistency, Delivery,
    EmailCounter, FedChange, Identity, Invitation, InvitationPageQuery, InvitationState, Membership,
    MembershipStatus, OutboxMessage, Person, Resource, ResourceType, Role, RoleHolder, Scopes, Seat,
    SharedResource, StoredFacts, WriteReceipt,
};
use crate::domain::permissions::{Permission, PermissionSet};
use crate::domain::rules::account_list::accessible_accounts;
use crate::domain::rules::member_list::{MemberPageQuery, MemberPageRows};

/// Reads, available both on the store and inside a transaction (where they
/// see the transaction's own writes and locks).
#[async_trait]
pub trait Reads: Send + Sync {
    /// One account with its owner.
    async fn account(&self, id: &AccountId) -> DomainResult<Option<Account>>;
    /// Everything a decision about `user` in `account` needs, read in one
    /// consistent snapshot (one statement).
    async fn access_facts(&self, account: &AccountId, user: &UserId) -> DomainResult<AccessFacts>;
    /// The facts of several (account, user) pairs, in the order asked, read
    /// together (BatchAuthorize): a bounded number of statements however
    /// many pairs there are.
    async fn access_facts_of(&self, pairs: &[(&AccountId, &UserId)]) -> DomainResult<Vec<AccessFacts>>;
    /// A built-in role, or a custom role of `account`, by name.
    async fn role_by_name(&self, account: &AccountId, name: &RoleName) -> DomainResult<Option<Role>>;
    /// The built-in roles, then the account's custom roles, by name.
    async fn roles(&self, account: &AccountId) -> DomainResult<Vec<Role>>;
    /// The members and pending invitees on a role, by email.
    async fn role_holders(&self, role_id: &str) -> DomainResult<Vec<RoleHolder>>;
    /// A user by id, with whether their email was proven.
    async fn identity(&self, id: &UserId) -> DomainResult<Option<Identity>>;
    /// The user holding a canonical email, with whether it was proven.
    async fn identity_by_email(&self, email: &Email) -> DomainResult<Option<Identity>>;
    /// Whether the user is an active member (the owner included) of any account.
    async fn active_anywhere(&self, user: &UserId) -> DomainResult<bool>;
    /// A user by canonical email.
    async fn person_by_email(&self, email: &Email) -> DomainResult<Option<Person>>;
    /// The status of a user's membership in an account.
    async fn membership_status(
        &self,
        account: &AccountId,
        user: &UserId,
    ) -> DomainResult<Option<MembershipStatus>>;
    /// A membership with its role, scopes and grants.
    async fn membership(&self, account: &AccountId, user: &UserId) -> DomainResult<Option<Membership>>;
    /// One page of an account's user list: at most `query.limit` rows in the
    /// order of rule 13 of docs/domain.md (`rules::member_list`), strictly after `query.after`,
    /// matching the filters; invitations past their expiry at `query.now` are
    /// marked expired. Reads a bounded number of statements whatever the
    /// account's size: the order, the filters and the cut are the store's to
    /// run where the rows are.
    async fn member_page(&self, account: &AccountId, query: &MemberPageQuery)
    -> DomainResult<MemberPageRows>;
    /// Seats in use: active members and pending (even expired) invitations.
    async fn seats(&self, account: &AccountId) -> DomainResult<Vec<Seat>>;
    /// How many pending (possibly expired) invitations `account` holds.
    async fn pending_invitation_count(&self, account: &AccountId) -> DomainResult<usize>;
    /// The pending (possibly expired) invitation of `email` to `account`.
    async fn pending_invitation(
        &self,
        account: &AccountId,
        email: &Email,
    ) -> DomainResult<Option<Invitation>>;
    /// One invitation by id.
    async fn invitation(&self, id: &InvitationId) -> DomainResult<Option<Invitation>>;
    /// Every invitation whose token hashes to `token_hash` (one per account invited together).
    async fn invitations_by_token_hash(&self, token_hash: &str) -> DomainResult<Vec<Invitation>>;
    /// One page of an account's invitations, newest first (ties by id,
    /// descending), after the query's key: at most `query.limit` rows, read
    /// with an index range scan whatever the account's size.
    async fn invitation_page(
        &self,
        account: &AccountId,
        query: &InvitationPageQuery,
    ) -> DomainResult<Vec<Invitation>>;
    /// The delivery of the latest email offering each of these invitations
    /// (those no email was written for are left out), in one statement or two.
    async fn deliveries(&self, invitations: &[InvitationId]) -> DomainResult<Vec<(InvitationId, Delivery)>>;
    /// The child accounts of a parent.
    async fn child_account_ids(&self, parent: &AccountId) -> DomainResult<Vec<AccountId>>;
    /// Resources of one type a parent shares, ordered by resource id.
    async fn shared_resources_from(
        &self,
        parent: &AccountId,
        resource_type: ResourceType,
    ) -> DomainResult<Vec<SharedResource>>;
    /// Every account the user has a membership in (any status) or whose
    /// parent they own (any state), unsorted and unjudged.
    async fn account_ties(&self, user: &UserId) -> DomainResult<Vec<AccountTie>>;
    /// The facts of `user` in the first `limit` accounts, by id after
    /// `after`, they have a membership in (any status) or whose parent they
    /// own: one statement however many accounts (the lookups).
    async fn account_facts_of_user(
        &self,
        user: &UserId,
        after: Option<&AccountId>,
        limit: usize,
    ) -> DomainResult<Vec<(AccountId, AccessFacts)>>;
    /// The facts of `account` itself (no membership), and of the first
    /// `limit`, by user id after `after`, of its active members and its
    /// parent's owner: one statement however many members (the lookups).
    async fn member_facts(
        &self,
        account: &AccountId,
        after: Option<&UserId>,
        limit: usize,
    ) -> DomainResult<(AccessFacts, Vec<(UserId, AccessFacts)>)>;
    /// Accounts where the user has an active membership that has not ended
    /// at `now`, or owns the open parent: the ties, judged by the domain's
    /// rules (not meant to be overridden).
    async fn accounts_of(
        &self,
        user: &UserId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<Vec<AccountAccess>> {
        Ok(accessible_accounts(self.account_ties(user).await?, now))
    }
    /// One access request.
    async fn access_request(&self, id: &AccessRequestId) -> DomainResult<Option<AccessRequest>>;
    /// An account's access requests, newest first.
    async fn access_requests(&self, account: &AccountId) -> DomainResult<Vec<AccessRequest>>;
    /// Activity entries, newest first, at most `limit`.
    async fn activity(
        &self,
        account: &AccountId,
        filter: &ActivityFilter,
        limit: usize,
    ) -> DomainResult<Vec<ActivityRecord>>;
    /// Changes (activity entries with a revision) of a scope after a point,
    /// in commit order, at most `limit`.
    async fn changes(&self, query: &ChangeQuery, limit: usize) -> DomainResult<Vec<ActivityRecord>>;
    /// The account and internal position of the change with this id; `None`
    /// when no change has it.
    async fn change_position(&self, id: &ActivityId) -> DomainResult<Option<(AccountId, i64)>>;
    /// Changes of every account after the internal position `after_seq`,
    /// in commit order, at most `limit`, each with its account's team
    /// parent, in one statement: what a replica's feed reads once for every
    /// watch.
    async fn fed_changes(&self, after_seq: i64, limit: usize) -> DomainResult<Vec<FedChange>>;
    /// The internal position of the newest change; 0 while there is none.
    async fn last_change_seq(&self) -> DomainResult<i64>;
}

/// The store: reads, and transactions for writes.
#[async_trait]
pub trait Store: Reads {
    /// Starts a transaction. Dropping it without `commit` rolls everything back.
    async fn begin(&self) -> DomainResult<Box<dyn Transaction>>;
}

/// A new membership to write.
#[derive(Clone, Debug)]
pub struct NewMembership {
    /// Where.
    pub account_id: AccountId,
    /// Who.
    pub user_id: UserId,
    /// Storage id of the role.
    pub role_id: String,
    /// Whether this is the owner membership.
    pub is_owner: bool,
    /// Resource restrictions.
    pub scopes: Scopes,
    /// Inviter, if any.
    pub invited_by: Option<UserId>,
    /// Start.
    pub joined_at: DateTime<Utc>,
    /// When the membership ends, if it does (rule 17).
    pub ends_at: Option<DateTime<Utc>>,
}

/// A change to a membership; None leaves a part as it is.
#[derive(Clone, Debug, Default)]
pub struct MembershipChange {
    /// New role id.
    pub role_id: Option<String>,
    /// New scopes.
    pub scopes: Option<Scopes>,
    /// New extra grants.
    pub grants: Option<PermissionSet>,
    /// New status.
    pub status: Option<MembershipStatus>,
    /// The ends after the change, all of them (rule 17): the membership's,
    /// and those of the grants and scope entries it keeps. Required with new
    /// grants or scopes, so a rewrite never drops an end (the store refuses
    /// one without it).
    pub ends: Option<AccessEnds>,
}

/// One unit of work: every write of a use case and its activity entry commit together.
#[async_trait]
pub trait Transaction: Reads {
    /// Reads an account and locks it until commit, so concurrent changes to
    /// the same account are serialised.
    async fn lock_account(&self, id: &AccountId) -> DomainResult<Option<Account>>;
    /// Writes a new account (its owner membership is written separately).
    async fn insert_account(&self, account: &Account) -> DomainResult<()>;
    /// Sets the account's two-factor policy.
    async fn set_require_two_factor(&self, account: &AccountId, required: bool) -> DomainResult<()>;
    /// Sets the account's quotas.
    async fn set_limits(&self, account: &AccountId, limits: AccountLimits) -> DomainResult<()>;
    /// Marks the account closed.
    async fn close_account(&self, account: &AccountId, at: DateTime<Utc>) -> DomainResult<()>;
    /// Writes a new user.
    async fn insert_person(&self, identity: &Identity, at: DateTime<Utc>) -> DomainResult<()>;
    /// Replaces a known user's email, name and proof, everywhere the email is kept.
    async fn update_identity(&self, identity: &Identity) -> DomainResult<()>;
    /// Writes a membership with its scopes.
    async fn insert_membership(&self, membership: &NewMembership) -> DomainResult<()>;
    /// Changes a membership.
    async fn update_membership(
        &self,
        account: &AccountId,
        user: &UserId,
        change: &MembershipChange,
        at: DateTime<Utc>,
    ) -> DomainResult<()>;
    /// Deletes a membership with its scopes and grants.
    async fn delete_membership(&self, account: &AccountId, user: &UserId) -> DomainResult<()>;
    /// Moves the owner slot from `from` to `to`; `from` becomes `admin_role_id`.
    async fn move_ownership(
        &self,
        account: &AccountId,
        from: &UserId,
        to: &UserId,
        admin_role_id: &str,
        at: DateTime<Utc>,
    ) -> DomainResult<()>;
    /// Records a sign-in.
    async fn record_sign_in(&self, account: &AccountId, user: &UserId, at: DateTime<Utc>)
    -> DomainResult<()>;
    /// Writes a new pending invitation.
    async fn insert_invitation(
        &self,
        invitation: &Invitation,
        role_id: &str,
        token_hash: &str,
    ) -> DomainResult<()>;
    /// Gives a pending invitation a new token and expiry, and counts one
    /// more send; `invited_by` is who sent it this time.
    async fn reissue_invitation(
        &self,
        id: &InvitationId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        invited_by: &UserId,
        at: DateTime<Utc>,
    ) -> DomainResult<()>;
    /// Changes the role and scopes a pending invitation offers;
    /// `invited_by` is who offers them now.
    async fn update_invitation(
        &self,
        id: &InvitationId,
        role: &Role,
        scopes: &Scopes,
        invited_by: &UserId,
        at: DateTime<Utc>,
    ) -> DomainResult<()>;
    /// Ends a pending invitation: accepted (by `user`), revoked or declined.
    async fn finish_invitation(
        &self,
        id: &InvitationId,
        state: InvitationState,
        user: Option<&UserId>,
        at: DateTime<Utc>,
    ) -> DomainResult<()>;
    /// Writes a custom role with its permissions.
    async fn insert_role(&self, account: &AccountId, role: &Role, at: DateTime<Utc>) -> DomainResult<()>;
    /// Replaces a custom role's description and permissions.
    async fn update_role(&self, role: &Role) -> DomainResult<()>;
    /// Deletes a custom role.
    async fn delete_role(&self, role_id: &str) -> DomainResult<()>;
    /// Writes a new access request.
    async fn insert_access_request(&self, request: &AccessRequest) -> DomainResult<()>;
    /// Records the decision on a pending access request.
    async fn decide_access_request(
        &self,
        id: &AccessRequestId,
        state: AccessRequestState,
        by: &UserId,
        at: DateTime<Utc>,
    ) -> DomainResult<()>;
    /// Adds one extra grant to a membership, ending at `ends_at` if given
    /// (a grant present already takes that end).
    async fn add_grant(
        &self,
        account: &AccountId,
        user: &UserId,
        permission: Permission,
        ends_at: Option<DateTime<Utc>>,
    ) -> DomainResult<()>;
    /// Creates or replaces the sharing of one resource.
    async fn save_shared_resource(&self, shared: &SharedResource) -> DomainResult<()>;
    /// Removes the sharing of one resource; false when it was not shared.
    async fn delete_shared_resource(&self, parent: &AccountId, resource: &Resource) -> DomainResult<bool>;
    /// Appends one activity-log entry, written at commit with the revision
    /// the commit gives its account (which it bumps).
    async fn append_activity(&self, entry: &ActivityEntry) -> DomainResult<()>;
    /// Writes a message to the outbox, to be sent once (and only if) the
    /// transaction commits.
    async fn enqueue_message(&self, message: &OutboxMessage) -> DomainResult<()>;
    /// Serialises, until this transaction ends and across replicas, every
    /// transaction counting the emails of these counters: one that counts
    /// them next waits here, so the counts this one reads stay true until
    /// its own email is written (or it rolls back).
    async fn lock_email_counters(&self, counters: &[EmailCounter<'_>]) -> DomainResult<()>;
    /// When the `nth` newest email (1 is the newest) that `counter` counts,
    /// of those written after `since`, was written; `None` when fewer were.
    async fn nth_newest_email(
        &self,
        counter: EmailCounter<'_>,
        since: DateTime<Utc>,
        nth: u32,
    ) -> DomainResult<Option<DateTime<Utc>>>;
    /// When the newest email offering this invitation was written; `None`
    /// when the outbox keeps none.
    async fn latest_invitation_email(&self, id: &InvitationId) -> DomainResult<Option<DateTime<Utc>>>;
    /// Makes every write of the transaction durable at once, bumping the
    /// revision of every account locked or inserted in it (rule 11), and
    /// says what changed.
    async fn commit(self: Box<Self>) -> Result<WriteReceipt, CommitFailed>;
    /// Ends the transaction writing nothing, and says the revisions the
    /// accounts it locked have now (with their children): what a retry that
    /// finds its work done makes visible everywhere again before answering.
    async fn finish_unchanged(self: Box<Self>) -> DomainResult<WriteReceipt>;
}

/// A commit that failed: why, and what it would have changed should the
/// database have made it durable all the same.
#[derive(Debug)]
pub struct CommitFailed {
    /// What went wrong, for the caller.
    pub error: DomainError,
    /// Set when COMMIT itself was sent and failed: its outcome is unknown
    /// (the connection may have been lost after the database committed,
    /// before its reply came back), so the caches must be told as if it
    /// had committed. `None`: nothing was committed.
    pub maybe_committed: Option<WriteReceipt>,
}

impl From<DomainError> for CommitFailed {
    fn from(error: DomainError) -> Self {
        Self {
            error,
            maybe_committed: None,
        }
    }
}

/// Where decisions get their facts: the cache layers in front of the store
/// (which the cache reads itself). Its one promise (rule 11, changes are
/// visible at once): once [`FactsCache::commit_visible_everywhere`] has
/// returned, no answer it gives, on any replica, is older than that commit.
#[async_trait]
pub trait FactsCache: Send + Sync {
    /// The facts of each (account, user) pair, in the order asked, as fresh
    /// as `consistency` requires; what no cache layer holds is read from
    /// the store in one snapshot.
    async fn access_facts_of(
        &self,
        pairs: &[(&AccountId, &UserId)],
        consistency: &Consistency,
    ) -> DomainResult<Vec<Arc<AccessFacts>>>;
    /// Commits `tx`, then returns once no replica can answer from state
    /// older than it. Both run to their end even if the caller goes away (a
    /// deadline, a reset connection): a commit whose invalidation were
    /// dropped would leave replicas answering from older state.
    async fn commit_visible_everywhere(&self, tx: Box<dyn Transaction>) -> DomainResult<WriteReceipt>;
    /// Returns once no replica can answer from state older than `receipt`,
    /// whose revisions are committed already: how a retry that finds its
    /// work done redoes the first call's invalidation, which may still be on
    /// its way. Runs to its end even if the caller goes away.
    async fn make_visible_everywhere(&self, receipt: WriteReceipt) -> DomainResult<()>;
}

/// A message a dispatcher holds the lease of.
#[derive(Clone, Debug)]
pub struct ClaimedMessage {
    /// The message as written (token included while it is still kept).
    pub message: OutboxMessage<StoredFacts>,
    /// Attempts made, this one included.
    pub attempts: u32,
    /// When it was written, in the store's milliseconds (the log-only mode's cursor).
    pub created_ms: i64,
}

/// The dispatcher's side of the outbox (the use cases write to it with
/// [`Transaction::enqueue_message`]): exactly one attempt in flight per
/// message across replicas, by leases the store takes and settles
/// conditionally.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Takes the lease of the next due message whose lease is free (or
    /// expired: its holder died or hung) until `lease_until`, counting one
    /// attempt. None when nothing is due.
    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> DomainResult<Option<ClaimedMessage>>;
    /// Up to `limit` queued messages written after `after` (created time and
    /// id), oldest first: what the log-only mode (no SMTP relay) shows. A read
    /// only: the messages stay queued, with their tokens, for a relay.
    async fn queued_after(
        &self,
        after: Option<(i64, String)>,
        limit: u64,
    ) -> DomainResult<Vec<ClaimedMessage>>;
    /// Deletes up to `limit` messages settled (sent, or failed for good)
    /// and written before `cutoff`, with their invitation links, in one
    /// transaction; returns how many. Their facts name people, so they are
    /// kept no longer than the retention; queued messages are never deleted.
    async fn prune_settled(&self, cutoff: DateTime<Utc>, limit: u64) -> DomainResult<u64>;
    /// Settles a message `owner` still holds as sent, erasing its token.
    /// False when the lease was lost (expired and taken over).
    async fn mark_sent(&self, id: &str, owner: &str, at: DateTime<Utc>) -> DomainResult<bool>;
    /// Settles a failed attempt: another one at `next_attempt_at`, or, with
    /// `None`, failed for good (the token erased). False when the lease was lost.
    async fn mark_failed(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> DomainResult<bool>;
}
