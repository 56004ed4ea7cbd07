//! Conversions between stored columns and domain values, shared by every aggregate.

use chrono::{DateTime, Utc};

use crate::domain::ids::{Email, UserId};
use crate::domain::model::{AccountState, InvitationState, MembershipStatus, Person, ResourceType, Scopes};
use crate::domain::{DomainError, DomainResult};
use crate::storage::entity::users;

// The stored spellings of account states and membership statuses.
pub(super) const OPEN: &str = "open";
pub(super) const CLOSED: &str = "closed";
pub(super) const ACTIVE: &str = "active";
pub(super) const DEACTIVATED: &str = "deactivated";

pub(super) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(super) fn time(ms: i64) -> DomainResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| DomainError::Internal(format!("stored time {ms} out of range")))
}

pub(super) fn account_state(value: &str) -> DomainResult<AccountState> {
    match value {
        OPEN => Ok(AccountState::Open),
        CLOSED => Ok(AccountState::Closed),
        other => Err(DomainError::Internal(format!("unknown account state '{other}'"))),
    }
}

pub(super) fn membership_status(value: &str) -> DomainResult<MembershipStatus> {
    match value {
        ACTIVE => Ok(MembershipStatus::Active),
        DEACTIVATED => Ok(MembershipStatus::Deactivated),
        other => Err(DomainError::Internal(format!(
            "unknown membership status '{other}'"
        ))),
    }
}

pub(super) fn resource_type(value: &str) -> DomainResult<ResourceType> {
    ResourceType::from_storage(value)
        .ok_or_else(|| DomainError::Internal(format!("unknown resource type '{value}'")))
}

pub(super) fn stored_invitation_state(value: &str) -> DomainResult<InvitationState> {
    InvitationState::from_storage(value)
        .ok_or_else(|| DomainError::Internal(format!("unknown invitation state '{value}'")))
}

pub(super) fn to_person(row: users::Model) -> Person {
    Person {
        user_id: UserId::from_trusted(row.id),
        email: Email::from_trusted(row.email),
        name: row.name,
    }
}

pub(super) fn scope_rows(scopes: &Scopes) -> impl Iterator<Item = (ResourceType, String)> + '_ {
    scopes
        .iter()
        .flat_map(|(t, ids)| ids.iter().map(move |id| (t, id.as_str().to_owned())))
}
