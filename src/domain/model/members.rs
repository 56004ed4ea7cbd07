//! Roles and memberships: what a member holds in an account, and the rows of
//! an account's user list.

use chrono::{DateTime, Utc};

use super::accounts::Person;
use super::ends::AccessEnds;
use super::resources::Scopes;
use crate::domain::ids::{Email, InvitationId, RoleName, UserId};
use crate::domain::permissions::PermissionSet;

/// A role as stored: built-in or one of an account's custom roles.
#[derive(Clone, Debug)]
pub struct Role {
    /// Storage id (the name, for built-in roles).
    pub id: String,
    /// The name callers use.
    pub name: RoleName,
    /// One line for role pickers.
    pub description: String,
    /// Its permissions, implicit ones included.
    pub permissions: PermissionSet,
    /// Built-in (seeded, immutable).
    pub builtin: bool,
    /// Counts toward the restricted-role limit.
    pub restricted: bool,
}

impl Role {
    /// A role read back from storage, given the implicit permissions every
    /// role holds whether or not its stored rows list them: the store returns
    /// what it has, the domain adds what the rule says.
    #[must_use]
    pub fn with_implicit_permissions(mut self) -> Self {
        self.permissions = self.permissions.with_implicit();
        self
    }
}

/// Someone a custom role reaches: a member on it, or the invitee of a
/// pending invitation offering it.
#[derive(Clone, Debug)]
pub struct RoleHolder {
    /// Who.
    pub email: Email,
    /// Their extra grants (none for an invitee).
    pub grants: PermissionSet,
    /// Their scopes.
    pub scopes: Scopes,
}

/// A membership's standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipStatus {
    /// Can act.
    Active,
    /// Kept, but grants nothing.
    Deactivated,
}

/// A membership as stored, for changes to it.
#[derive(Clone, Debug)]
pub struct Membership {
    /// The member.
    pub person: Person,
    /// The role.
    pub role: Role,
    /// Active or deactivated.
    pub status: MembershipStatus,
    /// Whether this is the owner membership.
    pub is_owner: bool,
    /// Resource restrictions.
    pub scopes: Scopes,
    /// Extra grants on top of the role, timed ones included.
    pub grants: PermissionSet,
    /// The membership's end and those of its timed grants and scope entries.
    pub ends: AccessEnds,
    /// Who invited them.
    pub invited_by: Option<UserId>,
    /// When the membership began.
    pub joined_at: DateTime<Utc>,
    /// Last sign-in to this account.
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// A membership's effective grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberAccess {
    /// Name of the role.
    pub role: String,
    /// Whether this is the owner membership.
    pub is_owner: bool,
    /// Active or deactivated.
    pub status: MembershipStatus,
    /// Role permissions ∪ extra grants, as stored; the decision adds the implicit ones.
    pub permissions: PermissionSet,
    /// Resource restrictions.
    pub scopes: Scopes,
    /// What of this access ends, and when (rule 17); timed grants are here,
    /// not in `permissions`.
    pub ends: AccessEnds,
}

/// The standing of a row in the user list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MemberRowStatus {
    /// Active member (the owner included).
    Active,
    /// Invited, waiting.
    Pending,
    /// Invited, expired.
    InvitationExpired,
    /// Deactivated member.
    Deactivated,
    /// Member whose membership has ended (rule 17), kept until removed or renewed.
    Expired,
}

/// One row of an account's user list: a member or a pending invitation.
#[derive(Clone, Debug)]
pub struct MemberRow {
    /// The member, or None for an invitation.
    pub user_id: Option<UserId>,
    /// Display name (empty for an invitation).
    pub name: String,
    /// Email.
    pub email: Email,
    /// Role name.
    pub role: String,
    /// Standing.
    pub status: MemberRowStatus,
    /// Whether this is the owner.
    pub is_owner: bool,
    /// Resource restrictions.
    pub scopes: Scopes,
    /// Inviter.
    pub invited_by: Option<UserId>,
    /// Membership start.
    pub joined_at: Option<DateTime<Utc>>,
    /// Last sign-in to this account.
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// For invitation rows.
    pub invitation_id: Option<InvitationId>,
    /// Extra grants on top of the role, timed ones included.
    pub grants: PermissionSet,
    /// What of the member's access ends (none for an invitation row).
    pub ends: AccessEnds,
}

impl MemberRow {
    /// The order of docs/domain.md rule 13: owner, active, pending, deactivated; then by email.
    pub fn sort_key(&self) -> (u8, &str) {
        let rank = match (self.is_owner, self.status) {
            (true, _) => 0,
            // An ended membership keeps its place: the store orders the
            // list, and what has ended depends on the instant it is read.
            (false, MemberRowStatus::Active | MemberRowStatus::Expired) => 1,
            (false, MemberRowStatus::Pending | MemberRowStatus::InvitationExpired) => 2,
            (false, MemberRowStatus::Deactivated) => 3,
        };
        (rank, self.email.as_str())
    }
}
