//! The only place with queries: implements the domain's store ports on SeaORM.
//!
//! One file per aggregate holds its reads and its writes. Every read is a
//! function generic over [`ConnectionTrait`], so the store (on the pool) and a
//! transaction (seeing its own writes and locks) share one home per query;
//! writes take the transaction.

mod access_facts;
mod access_requests;
mod accounts;
mod activity;
mod catalogue;
mod codec;
mod fence;
mod invitations;
mod lookups;
mod member_list;
mod members;
mod outbox;
mod people;
mod roles;
mod sharing;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, IsolationLevel, TransactionTrait,
};

pub use access_facts::MAX_PAIRS;
pub use catalogue::seed_catalogue;
pub use fence::CacheFence;
pub use invitations::{invitation_count_statements, invitation_counts};
pub use outbox::{OutboxCounts, OutboxStore, outbox_counts, queued_after_statement};

use crate::domain::ids::{AccessRequestId, AccountId, ActivityId, Email, InvitationId, RoleName, UserId};
use crate::domain::model::{
    AccessFacts, AccessRequest, AccessRequestState, Account, AccountLimits, AccountTie, ActivityEntry,
    ActivityFilter, ActivityRecord, ChangeQuery, Delivery, EmailCounter, FedChange, Identity, Invitation,
    InvitationPageQuery, InvitationState, Membership, MembershipStatus, OutboxMessage, Person, Resource,
    ResourceType, Role, RoleHolder, Scopes, Seat, SharedResource, WriteReceipt,
};
use crate::domain::permissions::Permission;
use crate::domain::ports::{CommitFailed, MembershipChange, NewMembership, Reads, Store, Transaction};
use crate::domain::rules::member_list::{MemberPageQuery, MemberPageRows};
use crate::domain::{DomainError, DomainResult};
use crate::storage::error::from_db_err;

/// The store on a SeaORM connection pool (MySQL or SQLite).
pub struct SeaStore {
    db: DatabaseConnection,
}

impl SeaStore {
    /// Wraps a connected pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Store for SeaStore {
    async fn begin(&self) -> DomainResult<Box<dyn Transaction>> {
        // Use cases serialise on the account row lock, then re-read what they
        // decide on. Under InnoDB's default REPEATABLE READ a plain read before
        // the lock would pin an older snapshot (a revoked invitation would
        // still look pending), and locking a missing row takes gap locks that
        // deadlock two identical inserts. READ COMMITTED avoids both. SQLite
        // needs nothing: one connection serialises every transaction.
        #[allow(clippy::wildcard_enum_match_arm)] // SQLite: see above.
        let txn = match self.db.get_database_backend() {
            DbBackend::MySql => self
                .db
                .begin_with_config(Some(IsolationLevel::ReadCommitted), None)
                .await
                .map_err(from_db_err)?,
            _ => self.db.begin().await.map_err(from_db_err)?,
        };
        Ok(Box::new(SeaTransaction {
            txn,
            written: tokio::sync::Mutex::new(Vec::new()),
            activity: tokio::sync::Mutex::new(Vec::new()),
        }))
    }
}

/// One database transaction; rolled back when dropped uncommitted.
pub struct SeaTransaction {
    txn: DatabaseTransaction,
    /// Accounts locked or inserted: every use case locks the accounts it
    /// writes, so these are the revisions the commit bumps.
    written: tokio::sync::Mutex<Vec<AccountId>>,
    /// Activity entries to append at commit, once the revisions they record
    /// are known (see `activity::append_activities`).
    activity: tokio::sync::Mutex<Vec<ActivityEntry>>,
}

impl SeaTransaction {
    async fn note_written(&self, id: &AccountId) {
        let mut written = self.written.lock().await;
        if !written.contains(id) {
            written.push(id.clone());
        }
    }
}

/// What the reads run on: the pool for the store, the open transaction for a
/// transaction. One blanket [`Reads`] impl covers both.
trait Connection: Send + Sync {
    /// The connection type the queries run on.
    type Conn: ConnectionTrait + Send + Sync;
    /// The connection.
    fn conn(&self) -> &Self::Conn;
}

impl Connection for SeaStore {
    type Conn = DatabaseConnection;
    fn conn(&self) -> &DatabaseConnection {
        &self.db
    }
}

impl Connection for SeaTransaction {
    type Conn = DatabaseTransaction;
    fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait]
impl<T: Connection> Reads for T {
    async fn account(&self, id: &AccountId) -> DomainResult<Option<Account>> {
        accounts::find_account(self.conn(), id, false).await
    }

    async fn access_facts(&self, account: &AccountId, user: &UserId) -> DomainResult<AccessFacts> {
        access_facts::access_facts(self.conn(), account, user).await
    }

    async fn access_facts_of(&self, pairs: &[(&AccountId, &UserId)]) -> DomainResult<Vec<AccessFacts>> {
        access_facts::access_facts_of(self.conn(), pairs).await
    }

    async fn role_by_name(&self, account: &AccountId, name: &RoleName) -> DomainResult<Option<Role>> {
        roles::role_by_name(self.conn(), account, name.as_str()).await
    }

    async fn roles(&self, account: &AccountId) -> DomainResult<Vec<Role>> {
        roles::roles_of(self.conn(), account).await
    }

    async fn role_holders(&self, role_id: &str) -> DomainResult<Vec<RoleHolder>> {
        roles::role_holders(self.conn(), role_id).await
    }

    async fn identity(&self, id: &UserId) -> DomainResult<Option<Identity>> {
        people::identity(self.conn(), id).await
    }

    async fn identity_by_email(&self, email: &Email) -> DomainResult<Option<Identity>> {
        people::identity_by_email(self.conn(), email).await
    }

    async fn active_anywhere(&self, user: &UserId) -> DomainResult<bool> {
        people::active_anywhere(self.conn(), user).await
    }

    async fn person_by_email(&self, email: &Email) -> DomainResult<Option<Person>> {
        people::person_by_email(self.conn(), email).await
    }

    async fn membership_status(
        &self,
        account: &AccountId,
        user: &UserId,
    ) -> DomainResult<Option<MembershipStatus>> {
        members::status_of(self.conn(), account, user).await
    }

    async fn membership(&self, account: &AccountId, user: &UserId) -> DomainResult<Option<Membership>> {
        members::membership(self.conn(), account, user).await
    }

    async fn member_page(
        &self,
        account: &AccountId,
        query: &MemberPageQuery,
    ) -> DomainResult<MemberPageRows> {
        member_list::member_page(self.conn(), account, query).await
    }

    async fn seats(&self, account: &AccountId) -> DomainResult<Vec<Seat>> {
        members::seats(self.conn(), account).await
    }

    async fn pending_invitation_count(&self, account: &AccountId) -> DomainResult<usize> {
        invitations::pending_count(self.conn(), account).await
    }

    async fn pending_invitation(
        &self,
        account: &AccountId,
        email: &Email,
    ) -> DomainResult<Option<Invitation>> {
        invitations::pending_invitation(self.conn(), account, email).await
    }

    async fn invitation(&self, id: &InvitationId) -> DomainResult<Option<Invitation>> {
        invitations::invitation(self.conn(), id).await
    }

    async fn invitations_by_token_hash(&self, token_hash: &str) -> DomainResult<Vec<Invitation>> {
        invitations::by_token_hash(self.conn(), token_hash).await
    }

    async fn invitation_page(
        &self,
        account: &AccountId,
        query: &InvitationPageQuery,
    ) -> DomainResult<Vec<Invitation>> {
        invitations::page(self.conn(), account, query).await
    }

    async fn deliveries(&self, invitations: &[InvitationId]) -> DomainResult<Vec<(InvitationId, Delivery)>> {
        outbox::deliveries(self.conn(), invitations).await
    }

    async fn child_account_ids(&self, parent: &AccountId) -> DomainResult<Vec<AccountId>> {
        accounts::child_account_ids(self.conn(), parent).await
    }

    async fn shared_resources_from(
        &self,
        parent: &AccountId,
        resource_type: ResourceType,
    ) -> DomainResult<Vec<SharedResource>> {
        sharing::shared_resources_from(self.conn(), parent, resource_type).await
    }

    async fn account_ties(&self, user: &UserId) -> DomainResult<Vec<AccountTie>> {
        accounts::account_ties(self.conn(), user).await
    }

    async fn account_facts_of_user(
        &self,
        user: &UserId,
        after: Option<&AccountId>,
        limit: usize,
    ) -> DomainResult<Vec<(AccountId, AccessFacts)>> {
        lookups::account_facts_of_user(self.conn(), user, after, limit).await
    }

    async fn member_facts(
        &self,
        account: &AccountId,
        after: Option<&UserId>,
        limit: usize,
    ) -> DomainResult<(AccessFacts, Vec<(UserId, AccessFacts)>)> {
        lookups::member_facts(self.conn(), account, after, limit).await
    }

    async fn access_request(&self, id: &AccessRequestId) -> DomainResult<Option<AccessRequest>> {
        access_requests::access_request(self.conn(), id).await
    }

    async fn access_requests(&self, account: &AccountId) -> DomainResult<Vec<AccessRequest>> {
        access_requests::access_requests_of(self.conn(), account).await
    }

    async fn activity(
        &self,
        account: &AccountId,
        filter: &ActivityFilter,
        limit: usize,
    ) -> DomainResult<Vec<ActivityRecord>> {
        activity::activity(self.conn(), account, filter, limit).await
    }

    async fn changes(&self, query: &ChangeQuery, limit: usize) -> DomainResult<Vec<ActivityRecord>> {
        activity::changes(self.conn(), query, limit).await
    }

    async fn change_position(&self, id: &ActivityId) -> DomainResult<Option<(AccountId, i64)>> {
        activity::change_position(self.conn(), id).await
    }

    async fn fed_changes(&self, after_seq: i64, limit: usize) -> DomainResult<Vec<FedChange>> {
        activity::fed_changes(self.conn(), after_seq, limit).await
    }

    async fn last_change_seq(&self) -> DomainResult<i64> {
        activity::last_change_seq(self.conn()).await
    }
}

// The trait is one impl block, so the writes delegate to their aggregate's file.
#[async_trait]
impl Transaction for SeaTransaction {
    async fn lock_account(&self, id: &AccountId) -> DomainResult<Option<Account>> {
        let account = accounts::find_account(&self.txn, id, true).await?;
        if account.is_some() {
            self.note_written(id).await;
        }
        Ok(account)
    }

    async fn insert_account(&self, account: &Account) -> DomainResult<()> {
        accounts::insert_account(&self.txn, account).await?;
        self.note_written(&account.id).await;
        Ok(())
    }

    async fn set_require_two_factor(&self, account: &AccountId, required: bool) -> DomainResult<()> {
        accounts::set_require_two_factor(&self.txn, account, required).await
    }

    async fn set_limits(&self, account: &AccountId, limits: AccountLimits) -> DomainResult<()> {
        accounts::set_limits(&self.txn, account, limits).await
    }

    async fn close_account(&self, account: &AccountId, at: DateTime<Utc>) -> DomainResult<()> {
        accounts::close_account(&self.txn, account, at).await
    }

    async fn insert_person(&self, identity: &Identity, at: DateTime<Utc>) -> DomainResult<()> {
        people::insert_person(&self.txn, identity, at).await
    }

    async fn update_identity(&self, identity: &Identity) -> DomainResult<()> {
        people::update_identity(&self.txn, identity).await
    }

    async fn insert_membership(&self, membership: &NewMembership) -> DomainResult<()> {
        members::insert_membership(&self.txn, membership).await
    }

    async fn update_membership(
        &self,
        account: &AccountId,
        user: &UserId,
        change: &MembershipChange,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        members::update_membership(&self.txn, account, user, change, at).await
    }

    async fn delete_membership(&self, account: &AccountId, user: &UserId) -> DomainResult<()> {
        members::delete_membership(&self.txn, account, user).await
    }

    async fn move_ownership(
        &self,
        account: &AccountId,
        from: &UserId,
        to: &UserId,
        admin_role_id: &str,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        members::move_ownership(&self.txn, account, from, to, admin_role_id, at).await
    }

    async fn record_sign_in(
        &self,
        account: &AccountId,
        user: &UserId,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        members::record_sign_in(&self.txn, account, user, at).await
    }

    async fn insert_invitation(
        &self,
        invitation: &Invitation,
        role_id: &str,
        token_hash: &str,
    ) -> DomainResult<()> {
        invitations::insert_invitation(&self.txn, invitation, role_id, token_hash).await
    }

    async fn reissue_invitation(
        &self,
        id: &InvitationId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        invited_by: &UserId,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        invitations::reissue_invitation(&self.txn, id, token_hash, expires_at, invited_by, at).await
    }

    async fn update_invitation(
        &self,
        id: &InvitationId,
        role: &Role,
        scopes: &Scopes,
        invited_by: &UserId,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        invitations::update_invitation(&self.txn, id, role, scopes, invited_by, at).await
    }

    async fn finish_invitation(
        &self,
        id: &InvitationId,
        state: InvitationState,
        user: Option<&UserId>,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        invitations::finish_invitation(&self.txn, id, state, user, at).await
    }

    async fn insert_role(&self, account: &AccountId, role: &Role, at: DateTime<Utc>) -> DomainResult<()> {
        roles::insert_role(&self.txn, account, role, at).await
    }

    async fn update_role(&self, role: &Role) -> DomainResult<()> {
        roles::update_role(&self.txn, role).await
    }

    async fn delete_role(&self, role_id: &str) -> DomainResult<()> {
        roles::delete_role(&self.txn, role_id).await
    }

    async fn insert_access_request(&self, request: &AccessRequest) -> DomainResult<()> {
        access_requests::insert_access_request(&self.txn, request).await
    }

    async fn decide_access_request(
        &self,
        id: &AccessRequestId,
        state: AccessRequestState,
        by: &UserId,
        at: DateTime<Utc>,
    ) -> DomainResult<()> {
        access_requests::decide_access_request(&self.txn, id, state, by, at).await
    }

    async fn add_grant(
        &self,
        account: &AccountId,
        user: &UserId,
        permission: Permission,
    ) -> DomainResult<()> {
        members::add_grant(&self.txn, account, user, permission).await
    }

    async fn save_shared_resource(&self, shared: &SharedResource) -> DomainResult<()> {
        sharing::save_shared_resource(&self.txn, shared).await
    }

    async fn delete_shared_resource(&self, parent: &AccountId, resource: &Resource) -> DomainResult<bool> {
        sharing::delete_shared_resource(&self.txn, parent, resource).await
    }

    async fn append_activity(&self, entry: &ActivityEntry) -> DomainResult<()> {
        // Every change bumps its account's revision, which the entry records.
        // Every use case has locked that account already (checked by running
        // the whole suite with this as an error); noting it here keeps a
        // future one that forgets from logging a change with no revision.
        self.note_written(&entry.account_id).await;
        self.activity.lock().await.push(entry.clone());
        Ok(())
    }

    async fn enqueue_message(&self, message: &OutboxMessage) -> DomainResult<()> {
        outbox::enqueue(&self.txn, message).await
    }

    async fn lock_email_counters(&self, counters: &[EmailCounter<'_>]) -> DomainResult<()> {
        outbox::lock_email_counters(&self.txn, counters).await
    }

    async fn nth_newest_email(
        &self,
        counter: EmailCounter<'_>,
        since: DateTime<Utc>,
        nth: u32,
    ) -> DomainResult<Option<DateTime<Utc>>> {
        outbox::nth_newest_email(&self.txn, counter, since, nth).await
    }

    async fn latest_invitation_email(&self, id: &InvitationId) -> DomainResult<Option<DateTime<Utc>>> {
        outbox::latest_invitation_email(&self.txn, id).await
    }

    async fn commit(self: Box<Self>) -> Result<WriteReceipt, CommitFailed> {
        let written = std::mem::take(&mut *self.written.lock().await);
        let receipt = accounts::bump_revisions(&self.txn, &written).await?;
        let entries = std::mem::take(&mut *self.activity.lock().await);
        activity::append_activities(&self.txn, &entries, &receipt).await?;
        if let Err(err) = self.txn.commit().await {
            // The database may have committed before the connection failed.
            tracing::warn!(error = %err, "COMMIT failed: its outcome is unknown");
            return Err(CommitFailed {
                error: DomainError::Unavailable(
                    "the database did not confirm the commit: the change may or may not have been made; \
                     read it back before retrying"
                        .into(),
                ),
                maybe_committed: Some(receipt),
            });
        }
        Ok(receipt)
    }

    async fn finish_unchanged(self: Box<Self>) -> DomainResult<WriteReceipt> {
        let locked = std::mem::take(&mut *self.written.lock().await);
        let receipt = accounts::current_revisions(&self.txn, &locked).await?;
        self.txn.rollback().await.map_err(from_db_err)?;
        Ok(receipt)
    }
}

/// Turns a conditional write that matched no row (or several) into an
/// internal error: the use case checked beforehand, so this is a bug or a race.
fn expect_one(rows_affected: u64, what: &str) -> DomainResult<()> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(DomainError::Internal(format!(
            "expected to {what}, but {rows_affected} rows changed"
        )))
    }
}
