//! Access that ends: the end times a membership, an extra grant and a scope
//! entry may carry, and what a decision says once one has passed. Ends are
//! instants in UTC; whether one has passed is judged against the `now` the
//! caller passes in (docs/domain.md rule 17), never a clock read here.

use chrono::{DateTime, Utc};

use super::resources::{Resource, ResourceType};
use crate::domain::ids::ResourceId;
use crate::domain::permissions::{Permission, PermissionSet};

/// The ends a membership's access carries, as the store holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessEnds {
    /// When the membership (with its role and everything on it) ends. The
    /// owner's membership never ends: the decision ignores one there.
    pub membership: Option<DateTime<Utc>>,
    /// Extra grants that end, each with its end. A timed grant is not part of
    /// the membership's stored permissions: it counts only before its end.
    pub grants: Vec<(Permission, DateTime<Utc>)>,
    /// Scope entries that end, each with its end, sorted. The entry itself
    /// is in the membership's scopes; past its end the id is out of reach
    /// while its type stays scoped (fail closed: never unrestricted).
    pub scopes: Vec<(ResourceType, ResourceId, DateTime<Utc>)>,
}

/// What ended, as an expiry names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The membership itself.
    Membership,
    /// An extra grant of one permission.
    Grant(Permission),
    /// One id of a scope.
    Scope(ResourceType, ResourceId),
}

/// One end, of something that has or has not ended yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expiry {
    /// What ends.
    pub what: Ended,
    /// When, in UTC.
    pub at: DateTime<Utc>,
}

impl Ended {
    /// What ended as ErrorInfo metadata and logs name it: `membership`,
    /// `grant`, `scope`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Membership => "membership",
            Self::Grant(_) => "grant",
            Self::Scope(..) => "scope",
        }
    }

    /// The permission or `type:id` that ended, empty for a membership.
    pub fn subject(&self) -> String {
        match self {
            Self::Membership => String::new(),
            Self::Grant(permission) => permission.name().to_owned(),
            Self::Scope(resource_type, id) => format!("{}:{id}", resource_type.as_str()),
        }
    }
}

/// Whether an end has passed at `now`: the end instant itself is already
/// past (access runs up to, not through, its end).
pub fn has_passed(end: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    end <= now
}

impl AccessEnds {
    /// Whether nothing here ends.
    pub fn is_empty(&self) -> bool {
        self.membership.is_none() && self.grants.is_empty() && self.scopes.is_empty()
    }

    /// Whether the membership has ended at `now`; the owner's never does.
    pub fn membership_ended(&self, is_owner: bool, now: DateTime<Utc>) -> bool {
        !is_owner && self.membership.is_some_and(|end| has_passed(end, now))
    }

    /// The timed grants still in force at `now`.
    pub fn live_grants(&self, now: DateTime<Utc>) -> PermissionSet {
        self.grants
            .iter()
            .filter(|(_, end)| !has_passed(*end, now))
            .map(|(permission, _)| *permission)
            .collect()
    }

    /// The timed grants of `permission` that have ended at `now`: the
    /// latest, so an expiry names the end that mattered.
    pub fn ended_grant(&self, permission: Permission, now: DateTime<Utc>) -> Option<Expiry> {
        self.grants
            .iter()
            .filter(|(granted, end)| *granted == permission && has_passed(*end, now))
            .map(|(_, end)| *end)
            .max()
            .map(|at| Expiry {
                what: Ended::Grant(permission),
                at,
            })
    }

    /// The end of the scope entry for `resource` when it has passed at `now`.
    pub fn ended_scope(&self, resource: &Resource, now: DateTime<Utc>) -> Option<Expiry> {
        self.scope_end(resource.resource_type, &resource.id)
            .filter(|end| has_passed(*end, now))
            .map(|at| Expiry {
                what: Ended::Scope(resource.resource_type, resource.id.clone()),
                at,
            })
    }

    /// The end of one scope entry, if it has one.
    pub fn scope_end(&self, resource_type: ResourceType, id: &ResourceId) -> Option<DateTime<Utc>> {
        self.scopes
            .iter()
            .find(|(t, i, _)| *t == resource_type && i == id)
            .map(|(_, _, end)| *end)
    }

    /// Every end not yet passed at `now`, earliest first: what
    /// GetEffectivePermissions shows.
    pub fn in_force(&self, now: DateTime<Utc>) -> Vec<Expiry> {
        let mut ends: Vec<Expiry> = self
            .membership
            .map(|at| Expiry {
                what: Ended::Membership,
                at,
            })
            .into_iter()
            .chain(self.grants.iter().map(|(permission, at)| Expiry {
                what: Ended::Grant(*permission),
                at: *at,
            }))
            .chain(self.scopes.iter().map(|(t, id, at)| Expiry {
                what: Ended::Scope(*t, id.clone()),
                at: *at,
            }))
            .filter(|expiry| !has_passed(expiry.at, now))
            .collect();
        ends.sort_by_key(|expiry| expiry.at);
        ends
    }

    /// Every end, passed or not, earliest first: what ListUsers shows.
    pub fn all(&self) -> Vec<Expiry> {
        self.in_force(DateTime::<Utc>::MIN_UTC)
    }

    /// The earliest end still ahead at `now`: the instant before which an
    /// answer drawn from these facts cannot change for time's sake.
    pub fn next_end(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.in_force(now).first().map(|expiry| expiry.at)
    }
}
