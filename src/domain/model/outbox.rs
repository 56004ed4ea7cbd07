//! Messages a change sends: written to the outbox in the change's own
//! transaction (nothing is sent for a change that rolled back, nothing lost
//! for one that committed), delivered by the dispatcher after the commit.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::ids::{AccountId, Email, InvitationId, UserId};

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

    /// The kinds the email limits count: those a caller's request makes
    /// the service write to someone, and could repeat at will (inviting,
    /// resending, asking for access). The others follow a decision about
    /// someone already in the account.
    pub const LIMITED: [Self; 2] = [Self::Invitation, Self::AccessRequested];
}

/// Whose emails an email limit counts: every [`MessageKind::LIMITED`]
/// email of one account, written by one person's acts, or to one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailCounter<'a> {
    /// Written for this account.
    Account(&'a AccountId),
    /// Written by this person's acts, in any account.
    Actor(&'a UserId),
    /// To this address, from any account.
    Recipient(&'a Email),
}

impl EmailCounter<'_> {
    /// The name the refusal gives the limit (`per` in its metadata).
    pub fn per(&self) -> &'static str {
        match self {
            Self::Account(_) => "account",
            Self::Actor(_) => "actor",
            Self::Recipient(_) => "recipient",
        }
    }
}

/// A message to send: as the use case writes it to the outbox, with typed
/// facts (the default), and as the dispatcher reads it back, with the facts
/// as stored ([`StoredFacts`]). Its `Debug` hides the token.
#[derive(Clone)]
pub struct OutboxMessage<F = MessageFacts> {
    /// Its id: stable across attempts, so it makes the Message-ID header.
    pub id: String,
    /// The account the change was made in.
    pub account_id: AccountId,
    /// Who gets it.
    pub recipient: Email,
    /// What it is about, with the templates' variables (names, role,
    /// expiry...); never a secret.
    pub facts: F,
    /// The raw invitation token the accept link needs: kept in the outbox
    /// only while the message can still be sent (docs/email.md, "The token").
    pub token: Option<String>,
    /// The person whose act wrote it (the inviter, the resender, the member
    /// asking for access), for the limits that count emails per actor.
    pub actor: Option<UserId>,
    /// The invitations the message offers (empty for other kinds).
    pub invitation_ids: Vec<InvitationId>,
    /// When the change was made.
    pub created_at: DateTime<Utc>,
}

impl<F> OutboxMessage<F> {
    /// A new message with a fresh id.
    pub fn new(account_id: &AccountId, recipient: &Email, facts: F, at: DateTime<Utc>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            account_id: account_id.clone(),
            recipient: recipient.clone(),
            facts,
            token: None,
            actor: None,
            invitation_ids: Vec::new(),
            created_at: at,
        }
    }
}

impl<F: std::fmt::Debug> std::fmt::Debug for OutboxMessage<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A message printed in a log line must not carry the accept link's secret.
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("recipient", &self.recipient)
            .field("facts", &self.facts)
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("actor", &self.actor)
            .field("invitation_ids", &self.invitation_ids)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl OutboxMessage {
    /// What it is about: the kind its facts are of.
    pub fn kind(&self) -> MessageKind {
        self.facts.kind()
    }

    /// The message with its facts as they are stored: what the templates
    /// render, so a preview renders exactly what the dispatcher would send.
    pub fn into_stored(self) -> OutboxMessage<StoredFacts> {
        OutboxMessage {
            id: self.id,
            account_id: self.account_id,
            recipient: self.recipient,
            facts: StoredFacts::from(&self.facts),
            token: self.token,
            actor: self.actor,
            invitation_ids: self.invitation_ids,
            created_at: self.created_at,
        }
    }
}

impl OutboxMessage<StoredFacts> {
    /// What it is about, as stored.
    pub fn kind(&self) -> MessageKind {
        self.facts.kind()
    }
}

/// The variables of a message's templates, one shape per kind: the variant
/// is the kind, so a message cannot carry another kind's facts, and each
/// variable is named once, here (and in src/email/templates/). Stored as a
/// JSON object with its keys in alphabetical order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageFacts {
    /// An invitation, or a resend of one.
    Invitation(InvitationFacts),
    /// A member asked for a permission.
    AccessRequested(AccessRequestedFacts),
    /// An access request was decided.
    AccessDecided(AccessDecidedFacts),
    /// Ownership moved.
    OwnershipTransferred(OwnershipTransferredFacts),
    /// A member was removed.
    MemberRemoved(MemberRemovedFacts),
}

/// An invitation email; the first account offered is the primary one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvitationFacts {
    /// Who invites, by name (their id when the store has none).
    pub inviter_name: String,
    /// The inviter's email (empty when unknown).
    pub inviter_email: String,
    /// The invitee's name as the inviter gave it.
    pub invitee_name: String,
    /// Who is invited.
    pub email: String,
    /// The primary account.
    pub account_id: String,
    /// Its name.
    pub account_name: String,
    /// The role offered there.
    pub role: String,
    /// Every account offered, the primary first.
    pub accounts: Vec<OfferedAccount>,
    /// The inviter's note.
    pub message: String,
    /// When the token stops working, as the message prints it.
    pub expires_at: String,
    /// Whether this is a resend.
    pub resend: bool,
}

/// One account an invitation email offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OfferedAccount {
    /// The account.
    pub account_id: String,
    /// Its name.
    pub account_name: String,
    /// The role offered there.
    pub role: String,
}

/// To the owner: a member asks for a permission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessRequestedFacts {
    /// The account.
    pub account_id: String,
    /// Its name.
    pub account_name: String,
    /// The owner's name.
    pub owner_name: String,
    /// Who asks, by name.
    pub requester_name: String,
    /// Their email.
    pub requester_email: String,
    /// The permission asked for, by name.
    pub permission: String,
    /// The requester's note.
    pub note: String,
    /// The request.
    pub request_id: String,
}

/// To the requester: their request was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessDecidedFacts {
    /// The account.
    pub account_id: String,
    /// Its name.
    pub account_name: String,
    /// The requester's name.
    pub requester_name: String,
    /// The permission asked for, by name.
    pub permission: String,
    /// Approved or rejected.
    pub approved: bool,
    /// Who decided, by name.
    pub decided_by: String,
}

/// To the new owner: the account is theirs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OwnershipTransferredFacts {
    /// The account.
    pub account_id: String,
    /// Its name.
    pub account_name: String,
    /// The previous owner's name.
    pub previous_owner_name: String,
    /// The new owner's name.
    pub new_owner_name: String,
}

/// To the removed member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemberRemovedFacts {
    /// The account.
    pub account_id: String,
    /// Its name.
    pub account_name: String,
    /// The member's name.
    pub member_name: String,
    /// Who removed them, by name.
    pub removed_by: String,
}

impl MessageFacts {
    /// The kind of message these are the facts of.
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Invitation(_) => MessageKind::Invitation,
            Self::AccessRequested(_) => MessageKind::AccessRequested,
            Self::AccessDecided(_) => MessageKind::AccessDecided,
            Self::OwnershipTransferred(_) => MessageKind::OwnershipTransferred,
            Self::MemberRemoved(_) => MessageKind::MemberRemoved,
        }
    }

    /// The stored JSON object (keys sorted, as `serde_json::Value` keeps them).
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            Self::Invitation(facts) => serde_json::to_value(facts),
            Self::AccessRequested(facts) => serde_json::to_value(facts),
            Self::AccessDecided(facts) => serde_json::to_value(facts),
            Self::OwnershipTransferred(facts) => serde_json::to_value(facts),
            Self::MemberRemoved(facts) => serde_json::to_value(facts),
        };
        // Plain structs of strings, booleans and lists: serializing cannot fail.
        value.unwrap_or_else(|_| serde_json::Value::Object(serde_json::Map::new()))
    }
}

/// A message's facts as the outbox holds them: its kind and the JSON object
/// stored with it, whatever its shape. A message queued by an earlier
/// version may have another shape than today's [`MessageFacts`]: it is
/// rendered from what was stored, and a variable its template needs but it
/// lacks fails that message's render, not the reading of the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredFacts {
    kind: MessageKind,
    json: serde_json::Value,
}

impl StoredFacts {
    /// The facts stored for a message of `kind`.
    pub fn new(kind: MessageKind, json: serde_json::Value) -> Self {
        Self { kind, json }
    }

    /// The kind of message they are the facts of.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The JSON as stored.
    pub fn json(&self) -> &serde_json::Value {
        &self.json
    }
}

impl From<&MessageFacts> for StoredFacts {
    fn from(facts: &MessageFacts) -> Self {
        Self::new(facts.kind(), facts.to_json())
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

#[cfg(test)]
impl MessageFacts {
    /// One message of each kind, with the JSON the outbox has always stored
    /// for it (as the use cases built it with `json!`).
    pub(crate) fn samples() -> Vec<(Self, serde_json::Value)> {
        use serde_json::json;
        vec![
            (
                MessageFacts::Invitation(InvitationFacts {
                    inviter_name: "Olivia".into(),
                    inviter_email: "olivia@example.com".into(),
                    invitee_name: String::new(),
                    email: "lee@example.com".into(),
                    account_id: "acme".into(),
                    account_name: "Acme".into(),
                    role: "manager".into(),
                    accounts: vec![OfferedAccount {
                        account_id: "acme".into(),
                        account_name: "Acme".into(),
                        role: "manager".into(),
                    }],
                    message: "hi".into(),
                    expires_at: "2026-12-03 10:00 UTC".into(),
                    resend: false,
                }),
                json!({
                    "inviter_name": "Olivia", "inviter_email": "olivia@example.com",
                    "invitee_name": "", "email": "lee@example.com",
                    "account_id": "acme", "account_name": "Acme", "role": "manager",
                    "accounts": [{ "account_id": "acme", "account_name": "Acme", "role": "manager" }],
                    "message": "hi", "expires_at": "2026-12-03 10:00 UTC", "resend": false,
                }),
            ),
            (
                MessageFacts::AccessRequested(AccessRequestedFacts {
                    account_id: "acme".into(),
                    account_name: "Acme".into(),
                    owner_name: "Olivia".into(),
                    requester_name: "Bob".into(),
                    requester_email: "bob@example.com".into(),
                    permission: "billing.view".into(),
                    note: "please".into(),
                    request_id: "r1".into(),
                }),
                json!({
                    "account_id": "acme", "account_name": "Acme", "owner_name": "Olivia",
                    "requester_name": "Bob", "requester_email": "bob@example.com",
                    "permission": "billing.view", "note": "please", "request_id": "r1",
                }),
            ),
            (
                MessageFacts::AccessDecided(AccessDecidedFacts {
                    account_id: "acme".into(),
                    account_name: "Acme".into(),
                    requester_name: "Bob".into(),
                    permission: "billing.view".into(),
                    approved: true,
                    decided_by: "Olivia".into(),
                }),
                json!({
                    "account_id": "acme", "account_name": "Acme", "requester_name": "Bob",
                    "permission": "billing.view", "approved": true, "decided_by": "Olivia",
                }),
            ),
            (
                MessageFacts::OwnershipTransferred(OwnershipTransferredFacts {
                    account_id: "acme".into(),
                    account_name: "Acme".into(),
                    previous_owner_name: "Olivia".into(),
                    new_owner_name: "Bob".into(),
                }),
                json!({
                    "account_id": "acme", "account_name": "Acme",
                    "previous_owner_name": "Olivia", "new_owner_name": "Bob",
                }),
            ),
            (
                MessageFacts::MemberRemoved(MemberRemovedFacts {
                    account_id: "acme".into(),
                    account_name: "Acme".into(),
                    member_name: "Bob".into(),
                    removed_by: "Olivia".into(),
                }),
                json!({
                    "account_id": "acme", "account_name": "Acme", "member_name": "Bob", "removed_by": "Olivia",
                }),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_stores_the_bytes_it_always_stored() {
        let shapes = MessageFacts::samples();
        for kind in MessageKind::ALL {
            assert!(shapes.iter().any(|(facts, _)| facts.kind() == kind), "{kind:?}");
        }
        for (facts, stored) in shapes {
            let written = facts.to_json().to_string();
            assert_eq!(written, stored.to_string(), "{facts:?}");
        }
    }
}
