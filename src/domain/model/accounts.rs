//! People and accounts: who the identity provider knows, the tenants, their
//! quotas and seats, and the ties that give a user access to an account.

use chrono::{DateTime, Utc};

use super::members::MembershipStatus;
use crate::domain::ids::{AccountId, Email, InvitationId, UserId};

/// A person as the identity provider knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Identity provider id.
    pub user_id: UserId,
    /// Canonical email.
    pub email: Email,
    /// Display name.
    pub name: String,
}

/// A user as the store knows them, with whether their email was proven
/// (docs/domain.md rule 9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Id, email and name.
    pub person: Person,
    /// Whether the email was proven: an invitation sent to it was accepted.
    pub email_proven: bool,
}

/// Whether an account can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountState {
    /// Works normally.
    Open,
    /// Closed: authorizes nothing; data kept.
    Closed,
}

/// A tenant workspace.
#[derive(Clone, Debug)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// Display name.
    pub name: String,
    /// The team parent, for a child account.
    pub parent_id: Option<AccountId>,
    /// Open or closed.
    pub state: AccountState,
    /// The one owner.
    pub owner: Person,
    /// Checks need a two-factor session.
    pub require_two_factor: bool,
    /// Plan quotas.
    pub limits: AccountLimits,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
}

impl Account {
    /// The account with its owner named by user id only, for a caller not
    /// known to be a member: an owner's name and email are theirs to show.
    #[must_use]
    pub fn without_owner_contact(mut self) -> Self {
        self.owner.name = String::new();
        self.owner.email = Email::from_trusted(String::new());
        self
    }
}

/// Plan quotas (rule 14 of docs/domain.md); None means unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountLimits {
    /// Most seats: active members plus pending invitations.
    pub max_members: Option<u32>,
    /// Most seats on restricted roles.
    pub max_restricted_members: Option<u32>,
}

/// One seat in use: an active member or a pending invitation.
#[derive(Clone, Debug)]
pub struct Seat {
    /// Who holds it.
    pub email: Email,
    /// The member holding it, or None for a pending invitation.
    pub user_id: Option<UserId>,
    /// The invitation holding it, or None for a member.
    pub invitation_id: Option<InvitationId>,
    /// Whether the holder is the owner (who can never be removed).
    pub is_owner: bool,
    /// On which role.
    pub role: String,
    /// Whether the role is restricted.
    pub restricted: bool,
}

/// One account a user is tied to, as stored: by their own membership there,
/// or by owning its parent. Which ties give access is decided in `decision`
/// (rules 1 and 4 of docs/domain.md).
#[derive(Clone, Debug)]
pub struct AccountTie {
    /// The account.
    pub account: Account,
    /// The user's own membership there.
    pub membership: Option<OwnMembership>,
    /// The state of the account's parent when the user owns that parent.
    pub owned_parent_state: Option<AccountState>,
}

/// A user's own membership in an account, as the account list needs it.
#[derive(Clone, Debug)]
pub struct OwnMembership {
    /// Name of the role.
    pub role: String,
    /// Active or deactivated.
    pub status: MembershipStatus,
    /// Whether this is the owner membership.
    pub is_owner: bool,
    /// When it ends, if it does (rule 17; never the owner's).
    pub ends_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// An account a user can switch to.
#[derive(Clone, Debug)]
pub struct AccountAccess {
    /// The account.
    pub account: Account,
    /// The user's role there.
    pub role: String,
    /// Set when reached as owner of this parent.
    pub via_parent: Option<AccountId>,
}
