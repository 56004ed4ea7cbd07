//! Sharing: templates and suppression lists a parent account shares with
//! its children (rule 5 of docs/domain.md).

use chrono::{DateTime, Utc};

use super::Resource;
use crate::domain::ids::{AccountId, UserId};

/// Most children one share (ShareTemplate, ShareSuppressionList) may name
/// (more: share with all of them).
/// Its activity entry lists every one, which the details column holds.
pub const MAX_SHARED_CHILDREN: usize = 1000;

/// A parent account's resource (a template, a suppression list) shared to
/// its children: read-only there (rule 5).
#[derive(Clone, Debug)]
pub struct SharedResource {
    /// The parent that owns the resource.
    pub parent_account_id: AccountId,
    /// What is shared: its type and its id in its own service.
    pub resource: Resource,
    /// Shared with every child, present and future.
    pub all_children: bool,
    /// The chosen children otherwise.
    pub child_account_ids: Vec<AccountId>,
    /// Who shared it.
    pub shared_by: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
}
