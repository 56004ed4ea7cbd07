//! Access requests: a member asking for a permission they lack.

use chrono::{DateTime, Utc};

use crate::domain::ids::{AccessRequestId, AccountId, UserId};
use crate::domain::permissions::Permission;

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
