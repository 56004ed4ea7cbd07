//! Invitations: offers of a membership to an email address.

use chrono::{DateTime, Utc};

use super::outbox::Delivery;
use super::resources::Scopes;
use crate::domain::ids::{AccountId, Email, InvitationId, RoleName, UserId};
use crate::domain::page::NewestFirstKey;

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
    /// The invitee's name as the inviter gave it (empty when none was):
    /// the pending row's name in the user list until they accept.
    pub invitee_name: String,
    /// How many times it was sent.
    pub send_count: u32,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When the membership accepting it creates ends, if it does (rule 17).
    pub member_ends_at: Option<DateTime<Utc>>,
    /// How its latest email is doing; filled in by ListInvitations only
    /// (None elsewhere, and for an invitation no email was written for).
    pub delivery: Option<Delivery>,
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

/// One page of an account's invitations, as the store reads it: newest
/// first (ties by id, descending), from after a key.
#[derive(Clone, Debug)]
pub struct InvitationPageQuery {
    /// Only invitations in this effective state (a pending one past its
    /// expiry is expired; expiry is derived, never stored).
    pub state: Option<InvitationState>,
    /// Rows strictly after this one; None from the newest.
    pub after: Option<NewestFirstKey>,
    /// Rows wanted; the store returns at most this many, in list order.
    pub limit: usize,
    /// Pending invitations whose expiry is at or before this instant are expired.
    pub now: DateTime<Utc>,
}
