//! Authorization: the facts a decision reads and the answers it gives.

use super::accounts::AccountState;
use super::consistency::{AccountRevision, ConsistencyToken};
use super::ends::Expiry;
use super::members::MemberAccess;
use super::resources::{Resource, ResourceType, Scopes};
use chrono::{DateTime, Utc};

use crate::domain::ids::{AccountId, Email, ResourceId, UserId};
use crate::domain::permissions::{Permission, PermissionSet};

/// What a user may do in one account, as far as the store knows: the input
/// of every decision, read in one consistent snapshot so that a decision
/// never mixes two states, and complete, so that deciding does no I/O.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessFacts {
    /// The account's revision in the snapshot (0 when it does not exist).
    pub revision: u64,
    /// The account, if it exists.
    pub account: Option<AccountFacts>,
    /// The user's own membership there.
    pub membership: Option<MemberAccess>,
    /// The state of the account's parent when the user owns that parent;
    /// what it gives is docs/domain.md rule 4, decided in `decision`.
    pub owned_parent_state: Option<AccountState>,
}

/// The account facts a decision needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountFacts {
    /// Team parent, for a child account.
    pub parent_id: Option<AccountId>,
    /// The parent's revision in the same snapshot: a child's decisions
    /// depend on its parent (rules 4 and 5).
    pub parent_revision: Option<u64>,
    /// Templates the parent shares into this account, sorted (rule 5).
    pub shared_templates: Vec<ResourceId>,
    /// Suppression lists the parent shares into this account, sorted (rule 5).
    pub shared_suppression_lists: Vec<ResourceId>,
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
    /// Shared suppression list, read-only in a child.
    SharedSuppressionListReadOnly,
    /// No such account.
    AccountNotFound,
    /// What alone granted it has ended (rule 17).
    AccessExpired,
}

impl Reason {
    /// The stable name of the reason (the proto's `DecisionReason` without
    /// its prefix), also the ErrorInfo reason of an admin call it refuses.
    pub fn code(self) -> &'static str {
        match self {
            Self::Allowed => "ALLOWED",
            Self::NotAMember => "NOT_A_MEMBER",
            Self::MembershipInactive => "MEMBERSHIP_INACTIVE",
            Self::PermissionNotGranted => "PERMISSION_NOT_GRANTED",
            Self::OutOfScope => "OUT_OF_SCOPE",
            Self::AccountClosed => "ACCOUNT_CLOSED",
            Self::MfaRequired => "MFA_REQUIRED",
            Self::SharedTemplateReadOnly => "SHARED_TEMPLATE_READ_ONLY",
            Self::SharedSuppressionListReadOnly => "SHARED_SUPPRESSION_LIST_READ_ONLY",
            Self::AccountNotFound => "ACCOUNT_NOT_FOUND",
            Self::AccessExpired => "ACCESS_EXPIRED",
        }
    }
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
    /// The revisions of the state the answer was computed from.
    pub computed_at: ConsistencyToken,
    /// What ended, when the reason is [`Reason::AccessExpired`].
    pub expired: Option<Expiry>,
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

/// The checks of a batch, each naming its (account, user) pair by index, so
/// that each pair is read and judged once however many checks ask about it.
#[derive(Clone, Debug)]
pub struct CheckBatch {
    /// The distinct pairs, (account, user), in the order the checks name them.
    pub pairs: Vec<(AccountId, UserId)>,
    /// The questions, in order.
    pub checks: Vec<PairCheck>,
}

/// One question of a batch, about one of its pairs.
#[derive(Clone, Debug)]
pub struct PairCheck {
    /// The (account, user) pair: an index into [`CheckBatch::pairs`].
    pub pair: usize,
    /// What.
    pub permission: Permission,
    /// On what, optionally.
    pub resource: Option<Resource>,
    /// The session passed two-factor.
    pub mfa_verified: bool,
}

/// What every answer judged in one standing (a pair, with or without
/// two-factor) says besides allowed and why: written once for all of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grounds {
    /// The role that decided, if any.
    pub role: Option<String>,
    /// The parent account whose ownership decided, for parent owners in a child.
    pub via_parent: Option<AccountId>,
    /// The revisions of the state the answers were computed from.
    pub computed_at: ConsistencyToken,
}

/// The answers to a batch, in the order of its checks.
#[derive(Clone, Debug)]
pub struct BatchDecisions {
    /// The grounds the answers share.
    pub grounds: Vec<Grounds>,
    /// For each check: the index of its grounds in `grounds`, why it was
    /// answered so (allowed exactly when the reason is [`Reason::Allowed`]),
    /// and what ended when the reason is [`Reason::AccessExpired`].
    pub answers: Vec<(usize, Reason, Option<Expiry>)>,
}

/// Facts about the actor's session on an admin call that the account's
/// policies depend on (rules 3 and 15). The default is a session that proved
/// nothing: an actor is held to two-factor unless the caller vouches for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActorSession {
    /// The actor's session passed two-factor authentication.
    pub mfa_verified: bool,
    /// How the acting person is known.
    pub proof: ActorProof,
}

/// How the service knows who is acting (rule 15).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ActorProof {
    /// The calling system's word: it authenticated the person itself (the
    /// caller's-word mode, for a gateway that does, or for development).
    #[default]
    CallersWord,
    /// A token of the platform's identity provider, verified by this service.
    Token(ProvenActor),
}

/// What a verified actor token says about the person presenting it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenActor {
    /// The token's subject: the acting person.
    pub subject: UserId,
    /// When the person last authenticated (`auth_time`), if the token says.
    pub signed_in_at: Option<DateTime<Utc>>,
    /// The address the token names, if any.
    pub email: Option<Email>,
    /// Whether the identity provider verified that address.
    pub email_verified: bool,
}

impl ActorSession {
    /// The verified token behind this session, if any.
    pub fn token(&self) -> Option<&ProvenActor> {
        match &self.proof {
            ActorProof::Token(proven) => Some(proven),
            ActorProof::CallersWord => None,
        }
    }
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
    /// The revisions of the state the answer was computed from.
    pub computed_at: ConsistencyToken,
    /// The ends of what these permissions and scopes come from, earliest
    /// first (rule 17); with [`Reason::AccessExpired`], the membership's
    /// own end that passed.
    pub ends: Vec<Expiry>,
}

impl AccessFacts {
    /// The facts of an account that does not exist: nothing else matters then.
    pub fn no_account() -> Self {
        Self {
            revision: 0,
            account: None,
            membership: None,
            owned_parent_state: None,
        }
    }

    /// The revisions these facts were read at: the account's, and its
    /// parent's for a child account.
    pub fn computed_at(&self, account: &AccountId) -> ConsistencyToken {
        let Some(facts) = &self.account else {
            return ConsistencyToken::default();
        };
        let mut revisions = vec![AccountRevision {
            account: account.clone(),
            revision: self.revision,
        }];
        if let (Some(parent), Some(revision)) = (&facts.parent_id, facts.parent_revision) {
            revisions.push(AccountRevision {
                account: parent.clone(),
                revision,
            });
        }
        ConsistencyToken(revisions)
    }

    /// Whether these facts are at least as new as `token` requires, for a
    /// decision in `account`: the token's revision of the account and of its
    /// parent must be reached; accounts it names that these facts do not
    /// depend on do not matter.
    pub fn satisfies(&self, account: &AccountId, token: &ConsistencyToken) -> bool {
        if token
            .revision_of(account)
            .is_some_and(|needed| self.revision < needed)
        {
            return false;
        }
        let Some(facts) = &self.account else {
            return true;
        };
        match &facts.parent_id {
            Some(parent) => token
                .revision_of(parent)
                .is_none_or(|needed| facts.parent_revision.unwrap_or(0) >= needed),
            None => true,
        }
    }

    /// Whether the parent shares `resource` into this account (only
    /// templates and suppression lists are ever shared).
    pub fn shared_from_parent(&self, resource: &Resource) -> bool {
        self.account.as_ref().is_some_and(|facts| {
            let shared = match resource.resource_type {
                ResourceType::Template => &facts.shared_templates,
                ResourceType::SuppressionList => &facts.shared_suppression_lists,
                ResourceType::List
                | ResourceType::Campaign
                | ResourceType::Automation
                | ResourceType::Segment => return false,
            };
            shared.binary_search(&resource.id).is_ok()
        })
    }
}
