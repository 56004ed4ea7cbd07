//! Authorization: the facts a decision reads and the answers it gives.

use super::accounts::AccountState;
use super::members::MemberAccess;
use super::resources::{Resource, Scopes};
use crate::domain::ids::{AccountId, UserId};
use crate::domain::permissions::{Permission, PermissionSet};

/// What a user may do in one account, as far as the store knows: the input
/// of every decision.
#[derive(Clone, Debug)]
pub struct AccessFacts {
    /// The account, if it exists.
    pub account: Option<AccountFacts>,
    /// The user's own membership there.
    pub membership: Option<MemberAccess>,
    /// The state of the account's parent when the user owns that parent;
    /// what it gives is docs/domain.md rule 4, decided in `decision`.
    pub owned_parent_state: Option<AccountState>,
}

/// The account facts a decision needs.
#[derive(Clone, Debug)]
pub struct AccountFacts {
    /// Team parent, for a child account.
    pub parent_id: Option<AccountId>,
    /// Open or closed.
    pub state: AccountState,
    /// Two-factor required.
    pub require_two_factor: bool,
}

/// Why a check was answered the way it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Granted.
    Allowed,
    /// No membership.
    NotAMember,
    /// Membership deactivated.
    MembershipInactive,
    /// Not in the role or grants.
    PermissionNotGranted,
    /// Resource outside the scope.
    OutOfScope,
    /// Account closed.
    AccountClosed,
    /// Two-factor needed.
    MfaRequired,
    /// Shared template, read-only in a child.
    SharedTemplateReadOnly,
    /// No such account.
    AccountNotFound,
}

/// The answer to one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the action may go ahead.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
    /// The role that decided, if any.
    pub role: Option<String>,
    /// The parent account whose ownership decided, for parent owners in a child.
    pub via_parent: Option<AccountId>,
}

/// One authorization question.
#[derive(Clone, Debug)]
pub struct Check {
    /// Who.
    pub user_id: UserId,
    /// Where.
    pub account_id: AccountId,
    /// What.
    pub permission: Permission,
    /// On what, optionally.
    pub resource: Option<Resource>,
    /// The session passed two-factor.
    pub mfa_verified: bool,
}

/// Everything a user may do in an account.
#[derive(Clone, Debug)]
pub struct EffectivePermissions {
    /// Allowed when the user can act at all.
    pub reason: Reason,
    /// The deciding role.
    pub role: Option<String>,
    /// Granted permissions (empty unless allowed).
    pub permissions: PermissionSet,
    /// Restrictions.
    pub scopes: Scopes,
    /// Parent account whose ownership applies.
    pub via_parent: Option<AccountId>,
}
