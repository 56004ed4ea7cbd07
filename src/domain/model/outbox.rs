//! Messages a change sends: written to the outbox in the change's own
//! transaction (nothing is sent for a change that rolled back, nothing lost
//! for one that committed), delivered by the dispatcher after the commit.

use chrono::{DateTime, Utc};

use crate::domain::ids::{AccountId, Email, InvitationId};

/// What a message is about; each kind has its own templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// An invitation (or a resend of one), with the accept link: to the invitee.
    Invitation,
    /// A member asked for a permission: to the account's owner.
    AccessRequested,
    /// An access request was approved or rejected: to the member who asked.
    AccessDecided,
    /// Ownership moved: to the new owner.
    OwnershipTransferred,
    /// A member was removed: to that member.
    MemberRemoved,
}

impl MessageKind {
    /// Every kind.
    pub const ALL: [Self; 5] = [
        Self::Invitation,
        Self::AccessRequested,
        Self::AccessDecided,
        Self::OwnershipTransferred,
        Self::MemberRemoved,
    ];

    /// Stable storage name, also the name of its templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::AccessRequested => "access_requested",
            Self::AccessDecided => "access_decided",
            Self::OwnershipTransferred => "ownership_transferred",
            Self::MemberRemoved => "member_removed",
        }
    }

    /// Reads a storage name back.
    pub fn from_storage(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// A message to send, as the use case writes it to the outbox.
#[derive(Clone, Debug)]
pub struct OutboxMessage {
    /// Its id: stable across attempts, so it makes the Message-ID header.
    pub id: String,
    /// What it is about.
    pub kind: MessageKind,
    /// The account the change was made in.
    pub account_id: AccountId,
    /// Who gets it.
    pub recipient: Email,
    /// The templates' variables (names, role, expiry...); never a secret.
    pub facts: serde_json::Value,
    /// The raw invitation token the accept link needs: kept in the outbox
    /// only until the message is sent (or has failed for good).
    pub token: Option<String>,
    /// The invitations the message offers (empty for other kinds).
    pub invitation_ids: Vec<InvitationId>,
    /// When the change was made.
    pub created_at: DateTime<Utc>,
}

impl OutboxMessage {
    /// A new message with a fresh id.
    pub fn new(
        kind: MessageKind,
        account_id: &AccountId,
        recipient: &Email,
        facts: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            account_id: account_id.clone(),
            recipient: recipient.clone(),
            facts,
            token: None,
            invitation_ids: Vec::new(),
            created_at: at,
        }
    }
}

/// Where a message's delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its first or next attempt.
    Queued,
    /// Accepted by the SMTP relay.
    Sent,
    /// Given up after the last attempt.
    Failed,
}

impl DeliveryState {
    /// Every state.
    pub const ALL: [Self; 3] = [Self::Queued, Self::Sent, Self::Failed];

    /// Stable storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// Reads a storage name back.
    pub fn from_storage(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

/// The delivery of the latest message that offered an invitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Queued, sent or failed.
    pub state: DeliveryState,
    /// Attempts made so far (one in flight counts).
    pub attempts: u32,
    /// Why the last attempt failed (empty when none did).
    pub last_error: String,
}
