//! What the domain needs from the outside world. Implemented by `storage`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::error::DomainResult;
use crate::domain::ids::{AccountId, Email, InvitationId, ResourceId, UserId};
use crate::domain::model::{
    AccessFacts, Account, ActivityEntry, Invitation, MemberRow, MembershipStatus, Person, Role, Scopes,
    SharedTemplate,
};

/// Reads, available both on the store and inside a transaction (where they
/// see the transaction's own writes and locks).
#[async_trait]
pub trait Reads: Send + Sync {
    /// One account with its owner.
    async fn account(&self, id: &AccountId) -> DomainResult<Option<Account>>;
    /// Everything a decision about `user` in `account` needs.
    async fn access_facts(&self, account: &AccountId, user: &UserId) -> DomainResult<AccessFacts>;
    /// Whether `parent` shares `template` with its child `child`.
    async fn template_shared_with(
        &self,
        child: &AccountId,
        parent: &AccountId,
        template: &ResourceId,
    ) -> DomainResult<bool>;
    /// A built-in role, or a custom role of `account`, by name.
    async fn role_by_name(&self, account: &AccountId, name: &str) -> DomainResult<Option<Role>>;
    /// A user by id.
    async fn person(&self, id: &UserId) -> DomainResult<Option<Person>>;
    /// A user by canonical email.
    async fn person_by_email(&self, email: &Email) -> DomainResult<Option<Person>>;
    /// The status of a user's membership in an account.
    async fn membership_status(
        &self,
        account: &AccountId,
        user: &UserId,
    ) -> DomainResult<Option<MembershipStatus>>;
    /// Every member and every pending invitation of an account, unsorted;
    /// invitations past their expiry at `now` are marked expired.
    async fn member_rows(&self, account: &AccountId, now: DateTime<Utc>) -> DomainResult<Vec<MemberRow>>;
    /// The pending (possibly expired) invitation of `email` to `account`.
    async fn pending_invitation(
        &self,
        account: &AccountId,
        email: &Email,
    ) -> DomainResult<Option<Invitation>>;
    /// The invitation whose token hashes to `token_hash`.
    async fn invitation_by_token_hash(&self, token_hash: &str) -> DomainResult<Option<Invitation>>;
    /// The child accounts of a parent.
    async fn child_account_ids(&self, parent: &AccountId) -> DomainResult<Vec<AccountId>>;
    /// Templates a parent shares, ordered by template id.
    async fn shared_templates_from(&self, parent: &AccountId) -> DomainResult<Vec<SharedTemplate>>;
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
    /// Writes a new user.
    async fn insert_person(&self, person: &Person, at: DateTime<Utc>) -> DomainResult<()>;
    /// Writes a membership with its scopes.
    async fn insert_membership(&self, membership: &NewMembership) -> DomainResult<()>;
    /// Writes a new pending invitation.
    async fn insert_invitation(
        &self,
        invitation: &Invitation,
        role_id: &str,
        token_hash: &str,
    ) -> DomainResult<()>;
    /// Gives a pending invitation a new token and expiry, and counts one more send.
    async fn reissue_invitation(
        &self,
        id: &InvitationId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> DomainResult<()>;
    /// Marks a pending invitation accepted by `user`.
    async fn accept_invitation(
        &self,
        id: &InvitationId,
        user: &UserId,
        at: DateTime<Utc>,
    ) -> DomainResult<()>;
    /// Creates or replaces the sharing of one template.
    async fn save_shared_template(&self, shared: &SharedTemplate) -> DomainResult<()>;
    /// Removes the sharing of one template; false when it was not shared.
    async fn delete_shared_template(&self, parent: &AccountId, template: &ResourceId) -> DomainResult<bool>;
    /// Appends one activity-log entry.
    async fn append_activity(&self, entry: &ActivityEntry) -> DomainResult<()>;
    /// Makes every write of the transaction durable at once.
    async fn commit(self: Box<Self>) -> DomainResult<()>;
}
