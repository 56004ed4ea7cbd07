//! The compact forms stored in Redis and published between replicas
//! (protobuf through prost). Permissions travel as bits, valid only with the
//! same catalogue: every entry carries the catalogue's fingerprint, and an
//! entry written by a version with another catalogue, or another
//! [`FACTS_FORMAT`], reads as a miss.

use std::sync::LazyLock;

use prost::Message;

use crate::domain::ids::{AccountId, ResourceId};
use chrono::{DateTime, Utc};

use crate::domain::model::{
    AccessEnds, AccessFacts, AccountFacts, AccountRevision, AccountState, MemberAccess, MembershipStatus,
    ResourceType, Scopes,
};
use crate::domain::permissions::{BUILTIN_ROLES, CATALOGUE, Permission, PermissionSet};

/// What the facts hold, bumped when a release adds a fact whose absence
/// would read as "no" (format 2: shared suppression lists, rule 5; format 3:
/// the ends of access, rule 17): an entry of an older format would say
/// nothing is shared or nothing ends, so it is a miss.
const FACTS_FORMAT: &[u8] = b"facts-format-3";

/// FNV-1a of the facts format, of the catalogue's names in order and of each
/// built-in role's permissions: changes whenever a bit would mean another
/// permission, a release changes what a built-in role grants, or the facts
/// gain a field.
static CATALOGUE_FINGERPRINT: LazyLock<u64> = LazyLock::new(|| {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for byte in bytes.iter().copied().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(FACTS_FORMAT);
    for (name, _) in CATALOGUE {
        eat(name.as_bytes());
    }
    for role in BUILTIN_ROLES {
        eat(role.name.as_bytes());
        eat(&role.permissions().bits().to_le_bytes());
    }
    hash
});

/// One cached entry: the facts of (account, user) and what makes them valid.
#[derive(Clone, PartialEq, Message)]
struct EntryPb {
    #[prost(uint64, tag = "1")]
    catalogue: u64,
    #[prost(uint64, tag = "2")]
    epoch: u64,
    #[prost(uint64, tag = "3")]
    generation: u64,
    /// Wall-clock expiry (Unix ms): the safety net, coarse enough that clock
    /// skew between replicas does not matter.
    #[prost(int64, tag = "4")]
    expires_at_ms: i64,
    #[prost(message, optional, tag = "5")]
    facts: Option<FactsPb>,
}

#[derive(Clone, PartialEq, Message)]
struct FactsPb {
    #[prost(uint64, tag = "1")]
    revision: u64,
    #[prost(message, optional, tag = "2")]
    account: Option<AccountPb>,
    #[prost(message, optional, tag = "3")]
    membership: Option<MemberPb>,
    /// 0: the user owns no parent; 1: owns it, open; 2: owns it, closed.
    #[prost(uint32, tag = "4")]
    owned_parent: u32,
}

#[derive(Clone, PartialEq, Message)]
struct AccountPb {
    #[prost(string, optional, tag = "1")]
    parent_id: Option<String>,
    #[prost(uint64, tag = "2")]
    parent_revision: u64,
    #[prost(string, repeated, tag = "3")]
    shared_templates: Vec<String>,
    #[prost(bool, tag = "4")]
    closed: bool,
    #[prost(bool, tag = "5")]
    require_two_factor: bool,
    #[prost(string, repeated, tag = "6")]
    shared_suppression_lists: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
struct MemberPb {
    #[prost(string, tag = "1")]
    role: String,
    #[prost(bool, tag = "2")]
    is_owner: bool,
    #[prost(bool, tag = "3")]
    deactivated: bool,
    #[prost(fixed64, tag = "4")]
    permissions_low: u64,
    #[prost(fixed64, tag = "5")]
    permissions_high: u64,
    #[prost(message, repeated, tag = "6")]
    scopes: Vec<ScopePb>,
    /// The membership's end (Unix ms), if it has one.
    #[prost(int64, optional, tag = "7")]
    ends_at_ms: Option<i64>,
    #[prost(message, repeated, tag = "8")]
    grant_ends: Vec<GrantEndPb>,
    #[prost(message, repeated, tag = "9")]
    scope_ends: Vec<ScopeEndPb>,
}

/// A timed grant: its permission by name (bits are for the stored set).
#[derive(Clone, PartialEq, Message)]
struct GrantEndPb {
    #[prost(string, tag = "1")]
    permission: String,
    #[prost(int64, tag = "2")]
    at_ms: i64,
}

#[derive(Clone, PartialEq, Message)]
struct ScopeEndPb {
    #[prost(string, tag = "1")]
    resource_type: String,
    #[prost(string, tag = "2")]
    id: String,
    #[prost(int64, tag = "3")]
    at_ms: i64,
}

#[derive(Clone, PartialEq, Message)]
struct ScopePb {
    #[prost(string, tag = "1")]
    resource_type: String,
    #[prost(string, repeated, tag = "2")]
    ids: Vec<String>,
}

/// A write's invalidation, published to every replica.
#[derive(Clone, PartialEq, Message)]
struct InvalidationPb {
    #[prost(string, tag = "1")]
    origin: String,
    #[prost(uint64, tag = "2")]
    write_id: u64,
    #[prost(message, repeated, tag = "3")]
    revisions: Vec<RevisionPb>,
}

#[derive(Clone, PartialEq, Message)]
struct RevisionPb {
    #[prost(string, tag = "1")]
    account_id: String,
    #[prost(uint64, tag = "2")]
    revision: u64,
}

/// What makes a Redis entry usable: same epoch and generation as now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The cache epoch the entry was filled in.
    pub epoch: u64,
    /// The account's generation the filler saw before reading the database.
    pub generation: u64,
}

fn state(closed: bool) -> AccountState {
    if closed {
        AccountState::Closed
    } else {
        AccountState::Open
    }
}

fn facts_to_pb(facts: &AccessFacts) -> FactsPb {
    FactsPb {
        revision: facts.revision,
        account: facts.account.as_ref().map(|a| AccountPb {
            parent_id: a.parent_id.as_ref().map(ToString::to_string),
            parent_revision: a.parent_revision.unwrap_or(0),
            shared_templates: a.shared_templates.iter().map(ToString::to_string).collect(),
            shared_suppression_lists: a
                .shared_suppression_lists
                .iter()
                .map(ToString::to_string)
                .collect(),
            closed: a.state == AccountState::Closed,
            require_two_factor: a.require_two_factor,
        }),
        membership: facts.membership.as_ref().map(|m| {
            let bits = m.permissions.bits();
            MemberPb {
                role: m.role.clone(),
                is_owner: m.is_owner,
                deactivated: m.status == MembershipStatus::Deactivated,
                // Truncation intended: the two halves of the 128-bit set.
                permissions_low: bits as u64,
                permissions_high: (bits >> 64) as u64,
                scopes: m
                    .scopes
                    .iter()
                    .map(|(resource_type, ids)| ScopePb {
                        resource_type: resource_type.as_str().to_owned(),
                        ids: ids.iter().map(ToString::to_string).collect(),
                    })
                    .collect(),
                ends_at_ms: m.ends.membership.map(|at| at.timestamp_millis()),
                grant_ends: m
                    .ends
                    .grants
                    .iter()
                    .map(|(permission, at)| GrantEndPb {
                        permission: permission.name().to_owned(),
                        at_ms: at.timestamp_millis(),
                    })
                    .collect(),
                scope_ends: m
                    .ends
                    .scopes
                    .iter()
                    .map(|(resource_type, id, at)| ScopeEndPb {
                        resource_type: resource_type.as_str().to_owned(),
                        id: id.to_string(),
                        at_ms: at.timestamp_millis(),
                    })
                    .collect(),
            }
        }),
        owned_parent: match facts.owned_parent_state {
            None => 0,
            Some(AccountState::Open) => 1,
            Some(AccountState::Closed) => 2,
        },
    }
}

fn facts_from_pb(pb: FactsPb) -> Option<AccessFacts> {
    let membership = match pb.membership {
        None => None,
        Some(m) => {
            let mut scopes = Scopes::default();
            for scope in m.scopes {
                let resource_type = ResourceType::from_storage(&scope.resource_type)?;
                for id in scope.ids {
                    scopes.insert(resource_type, ResourceId::from_trusted(id));
                }
            }
            // An end that does not read back makes the whole entry a miss:
            // dropping it would make the access last for ever.
            let instant = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms);
            let mut ends = AccessEnds {
                membership: m
                    .ends_at_ms
                    .map(instant)
                    .map(|at| at.ok_or(()))
                    .transpose()
                    .ok()?,
                ..AccessEnds::default()
            };
            for grant in m.grant_ends {
                // A permission this version does not know grants nothing here.
                if let Some(permission) = Permission::lookup(&grant.permission) {
                    ends.grants.push((permission, instant(grant.at_ms)?));
                }
            }
            for scope in m.scope_ends {
                ends.scopes.push((
                    ResourceType::from_storage(&scope.resource_type)?,
                    ResourceId::from_trusted(scope.id),
                    instant(scope.at_ms)?,
                ));
            }
            Some(MemberAccess {
                role: m.role,
                is_owner: m.is_owner,
                status: if m.deactivated {
                    MembershipStatus::Deactivated
                } else {
                    MembershipStatus::Active
                },
                permissions: PermissionSet::from_bits(
                    u128::from(m.permissions_low) | (u128::from(m.permissions_high) << 64),
                ),
                scopes,
                ends,
            })
        }
    };
    Some(AccessFacts {
        revision: pb.revision,
        account: pb.account.map(|a| AccountFacts {
            parent_revision: a.parent_id.as_ref().map(|_| a.parent_revision),
            parent_id: a.parent_id.map(AccountId::from_trusted),
            shared_templates: a
                .shared_templates
                .into_iter()
                .map(ResourceId::from_trusted)
                .collect(),
            shared_suppression_lists: a
                .shared_suppression_lists
                .into_iter()
                .map(ResourceId::from_trusted)
                .collect(),
            state: state(a.closed),
            require_two_factor: a.require_two_factor,
        }),
        membership,
        owned_parent_state: match pb.owned_parent {
            0 => None,
            1 => Some(AccountState::Open),
            _ => Some(AccountState::Closed),
        },
    })
}

/// The bytes stored in Redis for `facts`.
pub fn encode_entry(facts: &AccessFacts, stamp: Stamp, expires_at_ms: i64) -> Vec<u8> {
    EntryPb {
        catalogue: *CATALOGUE_FINGERPRINT,
        epoch: stamp.epoch,
        generation: stamp.generation,
        expires_at_ms,
        facts: Some(facts_to_pb(facts)),
    }
    .encode_to_vec()
}

/// The facts in an entry, if it is usable now: same catalogue, epoch and
/// generation as `current`, and not past its expiry at `now_ms`.
pub fn decode_entry(bytes: &[u8], current: Stamp, now_ms: i64) -> Option<AccessFacts> {
    let entry = EntryPb::decode(bytes).ok()?;
    let usable = entry.catalogue == *CATALOGUE_FINGERPRINT
        && entry.epoch == current.epoch
        && entry.generation == current.generation
        && entry.expires_at_ms > now_ms;
    if !usable {
        return None;
    }
    facts_from_pb(entry.facts?)
}

/// An invalidation as published: who wrote, which write, what revisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalidation {
    /// The replica that made the write.
    pub origin: String,
    /// Its number for the write, echoed in acknowledgements.
    pub write_id: u64,
    /// The accounts written and their new revisions.
    pub revisions: Vec<AccountRevision>,
}

/// The bytes published for an invalidation.
pub fn encode_invalidation(invalidation: &Invalidation) -> Vec<u8> {
    InvalidationPb {
        origin: invalidation.origin.clone(),
        write_id: invalidation.write_id,
        revisions: invalidation
            .revisions
            .iter()
            .map(|r| RevisionPb {
                account_id: r.account.to_string(),
                revision: r.revision,
            })
            .collect(),
    }
    .encode_to_vec()
}

/// An invalidation read off the channel.
pub fn decode_invalidation(bytes: &[u8]) -> Option<Invalidation> {
    let pb = InvalidationPb::decode(bytes).ok()?;
    Some(Invalidation {
        origin: pb.origin,
        write_id: pb.write_id,
        revisions: pb
            .revisions
            .into_iter()
            .map(|r| AccountRevision {
                account: AccountId::from_trusted(r.account_id),
                revision: r.revision,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::permissions::builtin_role;

    fn facts() -> AccessFacts {
        let mut scopes = Scopes::default();
        scopes.insert(ResourceType::List, ResourceId::from_trusted("4".into()));
        scopes.insert(ResourceType::List, ResourceId::from_trusted("9".into()));
        AccessFacts {
            revision: 12,
            account: Some(AccountFacts {
                parent_id: Some(AccountId::from_trusted("team".into())),
                parent_revision: Some(4),
                shared_templates: vec![ResourceId::from_trusted("t1".into())],
                shared_suppression_lists: vec![ResourceId::from_trusted("s1".into())],
                state: AccountState::Open,
                require_two_factor: true,
            }),
            membership: Some(MemberAccess {
                role: "list_manager".into(),
                is_owner: false,
                status: MembershipStatus::Active,
                permissions: builtin_role("list_manager").unwrap().permissions(),
                scopes,
                ends: AccessEnds::default(),
            }),
            owned_parent_state: Some(AccountState::Closed),
        }
    }

    #[test]
    fn entries_round_trip_only_with_the_same_stamp_and_before_expiry() {
        let stamp = Stamp {
            epoch: 3,
            generation: 8,
        };
        let bytes = encode_entry(&facts(), stamp, 2_000);
        assert_eq!(decode_entry(&bytes, stamp, 1_000), Some(facts()));
        assert!(bytes.len() < 120, "{} bytes", bytes.len());
        let newer = Stamp {
            generation: 9,
            ..stamp
        };
        assert_eq!(decode_entry(&bytes, newer, 1_000), None);
        let other_epoch = Stamp { epoch: 4, ..stamp };
        assert_eq!(decode_entry(&bytes, other_epoch, 1_000), None);
        assert_eq!(decode_entry(&bytes, stamp, 2_000), None);
        assert_eq!(decode_entry(b"garbage", stamp, 1_000), None);
    }

    #[test]
    fn ends_round_trip_to_the_millisecond() {
        let at = |ms| DateTime::<Utc>::from_timestamp_millis(ms).unwrap();
        let mut facts = facts();
        let member = facts.membership.as_mut().unwrap();
        member.ends = AccessEnds {
            membership: Some(at(1_800_000_000_123)),
            grants: vec![(Permission::lookup("lists.export").unwrap(), at(1_800_000_000_456))],
            scopes: vec![(
                ResourceType::List,
                ResourceId::from_trusted("4".into()),
                at(1_800_000_000_789),
            )],
        };
        let stamp = Stamp {
            epoch: 1,
            generation: 1,
        };
        let bytes = encode_entry(&facts, stamp, 2_000);
        assert_eq!(decode_entry(&bytes, stamp, 1_000), Some(facts));
    }

    #[test]
    fn a_missing_account_round_trips() {
        let stamp = Stamp {
            epoch: 1,
            generation: 0,
        };
        let bytes = encode_entry(&AccessFacts::no_account(), stamp, 10);
        assert_eq!(decode_entry(&bytes, stamp, 0), Some(AccessFacts::no_account()));
    }

    #[test]
    fn invalidations_round_trip() {
        let invalidation = Invalidation {
            origin: "r1".into(),
            write_id: 5,
            revisions: vec![AccountRevision {
                account: AccountId::from_trusted("acme".into()),
                revision: 3,
            }],
        };
        assert_eq!(
            decode_invalidation(&encode_invalidation(&invalidation)),
            Some(invalidation)
        );
    }
}
