//! The activity log (rule 12 in docs/domain.md): what the use cases record.

use crate::domain::ids::{AccountId, ActivityId, UserId};
use crate::domain::model::Via;
use chrono::{DateTime, Utc};

mod details;

pub use details::{
    AccessDecided, AccessRequested, AccountClosed, AccountCreated, ActivityDetails, InvitationAccepted,
    InvitationNamed, InvitationResent, InvitationTerms, LimitsChanged, MemberStanding, MemberUpdated,
    OwnershipMoved, PolicyChanged, RolePermissions, SharedWith, StoredDetails,
};

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
    /// `suppression_list.share`: a parent shared a suppression list with its children.
    SuppressionListShare,
    /// `suppression_list.unshare`: a parent stopped sharing a suppression list.
    SuppressionListUnshare,
}

impl ActivityAction {
    /// Every action, in the order of the enum.
    pub const ALL: [Self; 27] = [
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
        Self::SuppressionListShare,
        Self::SuppressionListUnshare,
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
            Self::SuppressionListShare => "suppression_list.share",
            Self::SuppressionListUnshare => "suppression_list.unshare",
        }
    }

    /// Reads a storage name back.
    pub fn from_storage(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// The platform (its provisioning or billing system) acting on an account
/// without a person, named by the API key it called with: it sets the plan
/// quotas (rule 14). The edge makes one only for a caller holding the
/// `platform` scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformActor(String);

impl PlatformActor {
    /// The platform system named `name` (an API key's name, already validated
    /// as short and free of spaces by the configuration).
    pub fn new(name: &str) -> Self {
        Self(name.to_owned())
    }

    /// How the activity log names it: `platform: <name>`. The space keeps it
    /// from ever equalling a user id (ids hold no spaces), so the log cannot
    /// mistake the platform for a person or a person for the platform.
    pub fn as_actor(&self) -> UserId {
        UserId::from_trusted(format!("platform: {}", self.0))
    }
}

impl std::fmt::Display for PlatformActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "platform: {}", self.0)
    }
}

/// One activity-log entry (rule 12 of docs/domain.md): as a use case writes
/// it, with typed details (the default), and as the log reads it back, with
/// the details as stored ([`StoredDetails`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityEntry<D = ActivityDetails> {
    /// The account it happened in.
    pub account_id: AccountId,
    /// Who did it: the person (or the platform) on whose behalf.
    pub actor: UserId,
    /// The caller it came through: the API key or client certificate
    /// identity that vouched for the actor, or the service itself.
    pub via: Via,
    /// What it was done to (a user id, an email, a template id).
    pub target: String,
    /// What was done, with the facts of that action.
    pub details: D,
    /// When.
    pub at: DateTime<Utc>,
}

impl ActivityEntry {
    /// What was done: the action its details are of.
    pub fn action(&self) -> ActivityAction {
        self.details.action()
    }
}

impl ActivityEntry<StoredDetails> {
    /// What was done, as stored.
    pub fn action(&self) -> ActivityAction {
        self.details.action()
    }
}

impl ActivityAction {
    /// Whether entries of this action are changes, published on the change
    /// stream. Sign-ins are not: they change nothing another service keeps
    /// (the last sign-in is shown by ListUsers), and they would bury the
    /// changes as they bury the log (rule 12 of docs/domain.md: sign-ins are
    /// not changes).
    pub fn is_change(self) -> bool {
        self != Self::MemberSignIn
    }
}

/// An activity-log entry read back: the entry with what the store gave it.
/// Entries being written have none of it yet.
#[derive(Clone, Debug)]
pub struct ActivityRecord {
    /// Opaque id, shown to callers (and the change event's id).
    pub id: ActivityId,
    /// The store's internal order: changes are numbered in commit order.
    /// Never shown to callers (it would count the history).
    pub seq: i64,
    /// The account's revision after the write that logged the entry; 0 for
    /// entries that are not changes (sign-ins) and entries logged before
    /// revisions were recorded on the log.
    pub revision: u64,
    /// The entry, its details as stored.
    pub entry: ActivityEntry<StoredDetails>,
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
    /// Only entries older than this one (the page token: the id of the last
    /// entry of the previous page).
    pub before: Option<ActivityId>,
    /// Whether sign-ins are listed: off by default, so they do not bury the
    /// changes (they are still logged).
    pub include_sign_ins: bool,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

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
