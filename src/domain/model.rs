//! Plain domain values: what the use cases read and write.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::domain::error::FieldViolation;
use crate::domain::ids::{AccessRequestId, AccountId, Email, InvitationId, ResourceId, RoleName, UserId};
use crate::domain::permissions::{Permission, PermissionSet};

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

/// Plan quotas (DOMAIN rule 14); None means unlimited.
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
    /// On which role.
    pub role: String,
    /// Whether the role is restricted.
    pub restricted: bool,
}

/// One account a user is tied to, as stored: by their own membership there,
/// or by owning its parent. Which ties give access is decided in `decision`
/// (DOMAIN rules 1 and 4).
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

/// Kinds of resource that checks, scopes and shares name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    /// A contact list.
    List,
    /// A campaign.
    Campaign,
    /// An automation workflow.
    Automation,
    /// A segment (Mailigen group).
    Segment,
    /// An email template.
    Template,
    /// A suppression list.
    SuppressionList,
}

impl ResourceType {
    /// Every type, for listings.
    pub const ALL: [Self; 6] = [
        Self::List,
        Self::Campaign,
        Self::Automation,
        Self::Segment,
        Self::Template,
        Self::SuppressionList,
    ];

    /// Stable storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Campaign => "campaign",
            Self::Automation => "automation",
            Self::Segment => "segment",
            Self::Template => "template",
            Self::SuppressionList => "suppression_list",
        }
    }

    /// Reads a storage name back.
    pub fn from_storage(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// A resource of another service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Its type.
    pub resource_type: ResourceType,
    /// Its id in its own service.
    pub id: ResourceId,
}

/// Resource types on which a membership is limited to chosen ids.
/// A type absent from the map is unrestricted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(BTreeMap<ResourceType, BTreeSet<ResourceId>>);

/// Most ids one scope may list.
pub const MAX_SCOPE_IDS: usize = 1000;

impl Scopes {
    /// Builds scopes from (type, ids) pairs; an empty id list is refused, since
    /// "scoped to nothing" would silently deny everything of that type.
    pub fn build(
        field: &str,
        entries: impl IntoIterator<Item = (ResourceType, Vec<ResourceId>)>,
    ) -> Result<Self, FieldViolation> {
        let mut map: BTreeMap<ResourceType, BTreeSet<ResourceId>> = BTreeMap::new();
        for (resource_type, ids) in entries {
            if ids.is_empty() {
                return Err(FieldViolation::new(
                    field,
                    format!(
                        "the {} scope lists no ids: name at least one, or leave the type out to allow all",
                        resource_type.as_str()
                    ),
                ));
            }
            map.entry(resource_type).or_default().extend(ids);
        }
        if map.values().any(|ids| ids.len() > MAX_SCOPE_IDS) {
            return Err(FieldViolation::new(
                field,
                format!("a scope may list at most {MAX_SCOPE_IDS} ids"),
            ));
        }
        Ok(Self(map))
    }

    /// Adds one scoped id (used when reading rows back).
    pub fn insert(&mut self, resource_type: ResourceType, id: ResourceId) {
        self.0.entry(resource_type).or_default().insert(id);
    }

    /// Whether `resource` is inside the scope of its type (or its type is unscoped).
    pub fn allows(&self, resource: &Resource) -> bool {
        self.0
            .get(&resource.resource_type)
            .is_none_or(|ids| ids.contains(&resource.id))
    }

    /// Whether no type is scoped.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether these scopes are at least as narrow as `outer` (used against
    /// privilege escalation: a scoped actor cannot hand out wider access).
    pub fn within(&self, outer: &Self) -> bool {
        outer.0.iter().all(|(resource_type, outer_ids)| {
            self.0
                .get(resource_type)
                .is_some_and(|ids| ids.is_subset(outer_ids))
        })
    }

    /// (type, ids) pairs in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = (ResourceType, &BTreeSet<ResourceId>)> {
        self.0.iter().map(|(t, ids)| (*t, ids))
    }
}

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

/// A membership's standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipStatus {
    /// Can act.
    Active,
    /// Kept, but grants nothing.
    Deactivated,
}

/// What a user may do in one account, as far as the store knows: the input
/// of every decision.
#[derive(Clone, Debug)]
pub struct AccessFacts {
    /// The account, if it exists.
    pub account: Option<AccountFacts>,
    /// The user's own membership there.
    pub membership: Option<MemberAccess>,
    /// The state of the account's parent when the user owns that parent;
    /// what it gives is DOMAIN rule 4, decided in `decision`.
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
    /// Extra grants on top of the role.
    pub grants: PermissionSet,
    /// Who invited them.
    pub invited_by: Option<UserId>,
    /// When the membership began.
    pub joined_at: DateTime<Utc>,
    /// Last sign-in to this account.
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// A membership's effective grants.
#[derive(Clone, Debug)]
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

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationState {
    /// Waiting (see [`Invitation::effective_state`] for expiry).
    Pending,
    /// Turned into a membership.
    Accepted,
    /// Cancelled.
    Revoked,
    /// Pending past its expiry (never stored; derived).
    Expired,
    /// Turned down by the invitee.
    Declined,
}

impl InvitationState {
    /// Stable storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Declined => "declined",
        }
    }

    /// Reads a storage name back.
    pub fn from_storage(name: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Accepted,
            Self::Revoked,
            Self::Expired,
            Self::Declined,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// An offer of a membership to an email address.
#[derive(Clone, Debug)]
pub struct Invitation {
    /// Its id.
    pub id: InvitationId,
    /// The account it is for.
    pub account_id: AccountId,
    /// Who is invited.
    pub email: Email,
    /// Role name offered.
    pub role: RoleName,
    /// Scopes offered.
    pub scopes: Scopes,
    /// Stored state (pending, accepted, revoked).
    pub state: InvitationState,
    /// Inviter.
    pub invited_by: UserId,
    /// Note for the email.
    pub message: String,
    /// How many times it was sent.
    pub send_count: u32,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl Invitation {
    /// The state a caller sees: a pending invitation past its expiry is expired.
    pub fn effective_state(&self, now: DateTime<Utc>) -> InvitationState {
        if self.state == InvitationState::Pending && self.expires_at <= now {
            InvitationState::Expired
        } else {
            self.state
        }
    }
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
    /// Extra grants on top of the role.
    pub grants: PermissionSet,
}

impl MemberRow {
    /// The DOMAIN rule 13 order: owner, active, pending, deactivated; then by email.
    pub fn sort_key(&self) -> (u8, &str) {
        let rank = match (self.is_owner, self.status) {
            (true, _) => 0,
            (false, MemberRowStatus::Active) => 1,
            (false, MemberRowStatus::Pending | MemberRowStatus::InvitationExpired) => 2,
            (false, MemberRowStatus::Deactivated) => 3,
        };
        (rank, self.email.as_str())
    }
}

/// A parent account's template shared to its children.
#[derive(Clone, Debug)]
pub struct SharedTemplate {
    /// The parent that owns the template.
    pub parent_account_id: AccountId,
    /// The template's id in the template service.
    pub template_id: ResourceId,
    /// Shared with every child, present and future.
    pub all_children: bool,
    /// The chosen children otherwise.
    pub child_account_ids: Vec<AccountId>,
    /// Who shared it.
    pub shared_by: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Where an access request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessRequestState {
    /// Waiting for a decision.
    Pending,
    /// Granted: the permission became an extra grant.
    Approved,
    /// Refused.
    Rejected,
}

impl AccessRequestState {
    /// Stable storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Reads a storage name back.
    pub fn from_storage(name: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Rejected]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// A member's request for a permission they lack.
#[derive(Clone, Debug)]
pub struct AccessRequest {
    /// Its id.
    pub id: AccessRequestId,
    /// Where.
    pub account_id: AccountId,
    /// Who asks.
    pub user_id: UserId,
    /// For what.
    pub permission: Permission,
    /// Why.
    pub note: String,
    /// Where it stands.
    pub state: AccessRequestState,
    /// Who decided.
    pub decided_by: Option<UserId>,
    /// When asked.
    pub created_at: DateTime<Utc>,
    /// When decided.
    pub decided_at: Option<DateTime<Utc>>,
}

/// What an activity-log entry records: a closed set, since only the use
/// cases write the log. Stored and shown by its stable name, e.g. `invitation.create`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActivityAction {
    /// `account.create`: an account was created.
    AccountCreate,
    /// `account.policy`: the account's two-factor policy changed.
    AccountPolicy,
    /// `account.limits`: the account's plan quotas changed.
    AccountLimits,
    /// `account.close`: the account was closed.
    AccountClose,
    /// `account.transfer`: ownership moved to another member.
    AccountTransfer,
    /// `member.update`: a member's role, scopes or grants changed.
    MemberUpdate,
    /// `member.remove`: a member was removed.
    MemberRemove,
    /// `member.leave`: a member left.
    MemberLeave,
    /// `member.sign_in`: a member signed in.
    MemberSignIn,
    /// `member.deactivate`: a member was deactivated.
    MemberDeactivate,
    /// `member.reactivate`: a deactivated member was reactivated.
    MemberReactivate,
    /// `invitation.create`: an invitation was sent.
    InvitationCreate,
    /// `invitation.accept`: an invitation was accepted.
    InvitationAccept,
    /// `invitation.decline`: an invitation was declined.
    InvitationDecline,
    /// `invitation.resend`: an invitation was sent again with a new token.
    InvitationResend,
    /// `invitation.revoke`: an invitation was cancelled.
    InvitationRevoke,
    /// `invitation.update`: an invitation's role or scopes changed.
    InvitationUpdate,
    /// `role.create`: a custom role was created.
    RoleCreate,
    /// `role.update`: a custom role changed.
    RoleUpdate,
    /// `role.delete`: a custom role was deleted.
    RoleDelete,
    /// `access_request.create`: a member asked for a permission.
    AccessRequestCreate,
    /// `access_request.approve`: an access request was approved.
    AccessRequestApprove,
    /// `access_request.reject`: an access request was rejected.
    AccessRequestReject,
    /// `template.share`: a parent shared a template with its children.
    TemplateShare,
    /// `template.unshare`: a parent stopped sharing a template.
    TemplateUnshare,
}

impl ActivityAction {
    /// Every action, in the order of the enum.
    pub const ALL: [Self; 25] = [
        Self::AccountCreate,
        Self::AccountPolicy,
        Self::AccountLimits,
        Self::AccountClose,
        Self::AccountTransfer,
        Self::MemberUpdate,
        Self::MemberRemove,
        Self::MemberLeave,
        Self::MemberSignIn,
        Self::MemberDeactivate,
        Self::MemberReactivate,
        Self::InvitationCreate,
        Self::InvitationAccept,
        Self::InvitationDecline,
        Self::InvitationResend,
        Self::InvitationRevoke,
        Self::InvitationUpdate,
        Self::RoleCreate,
        Self::RoleUpdate,
        Self::RoleDelete,
        Self::AccessRequestCreate,
        Self::AccessRequestApprove,
        Self::AccessRequestReject,
        Self::TemplateShare,
        Self::TemplateUnshare,
    ];

    /// Stable storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountCreate => "account.create",
            Self::AccountPolicy => "account.policy",
            Self::AccountLimits => "account.limits",
            Self::AccountClose => "account.close",
            Self::AccountTransfer => "account.transfer",
            Self::MemberUpdate => "member.update",
            Self::MemberRemove => "member.remove",
            Self::MemberLeave => "member.leave",
            Self::MemberSignIn => "member.sign_in",
            Self::MemberDeactivate => "member.deactivate",
            Self::MemberReactivate => "member.reactivate",
            Self::InvitationCreate => "invitation.create",
            Self::InvitationAccept => "invitation.accept",
            Self::InvitationDecline => "invitation.decline",
            Self::InvitationResend => "invitation.resend",
            Self::InvitationRevoke => "invitation.revoke",
            Self::InvitationUpdate => "invitation.update",
            Self::RoleCreate => "role.create",
            Self::RoleUpdate => "role.update",
            Self::RoleDelete => "role.delete",
            Self::AccessRequestCreate => "access_request.create",
            Self::AccessRequestApprove => "access_request.approve",
            Self::AccessRequestReject => "access_request.reject",
            Self::TemplateShare => "template.share",
            Self::TemplateUnshare => "template.unshare",
        }
    }

    /// Reads a storage name back.
    pub fn from_storage(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// One activity-log entry (DOMAIN rule 12), as a use case writes it and as
/// the log reads it back.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityEntry {
    /// The account it happened in.
    pub account_id: AccountId,
    /// Who did it.
    pub actor: UserId,
    /// What was done.
    pub action: ActivityAction,
    /// What it was done to (a user id, an email, a template id).
    pub target: String,
    /// Details as a small JSON object.
    pub details: serde_json::Value,
    /// When.
    pub at: DateTime<Utc>,
}

/// An activity-log entry read back: the entry and the id the store gave it
/// (increasing, so it is also the page key). Entries being written have no id yet.
#[derive(Clone, Debug)]
pub struct ActivityRecord {
    /// Increasing id (the page key).
    pub id: i64,
    /// The entry.
    pub entry: ActivityEntry,
}

/// Filters of an activity listing.
#[derive(Clone, Debug, Default)]
pub struct ActivityFilter {
    /// Only this actor.
    pub actor: Option<UserId>,
    /// Only this action, by its stored name: a name no entry carries
    /// matches nothing (an empty page), it is not an error.
    pub action: Option<String>,
    /// Not before.
    pub start: Option<DateTime<Utc>>,
    /// Before.
    pub end: Option<DateTime<Utc>>,
    /// Only entries older than this id (the page token).
    pub before_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_actions_read_back_by_their_unique_names() {
        let mut names = BTreeSet::new();
        for action in ActivityAction::ALL {
            assert!(names.insert(action.as_str()), "{action:?} shares its name");
            assert_eq!(ActivityAction::from_storage(action.as_str()), Some(action));
        }
        assert_eq!(ActivityAction::from_storage("no.such.action"), None);
    }
}
