//! The pure decision function (`access_service::domain::rules::decision::decide`)
//! against the reference model of docs/domain.md rules 1-5 (`model.rs`),
//! over many random scenarios: roles built in and custom, extra grants,
//! scopes, membership status, two-factor policy, parent ownership, shared
//! resources and the ends of rule 17 (at the end instant and just before). No server: the facts are built as storage would read them, so
//! it affords thousands of cases. The same model judges the real server in
//! `../decisions.rs`.

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use access_service::domain::ids::{AccountId, ResourceId, UserId};
use access_service::domain::model::{
    AccessEnds, AccessFacts, AccountFacts, AccountState, Check, MemberAccess, MembershipStatus, Resource,
    ResourceType, Scopes,
};
use access_service::domain::permissions::{OWNER_ROLE, Permission, PermissionSet, builtin_role};
use access_service::domain::rules::decision::decide;

use super::model::{self, RoleSpec, Scenario};

/// The document's name of a type ("suppression list") as the code's.
fn resource_type(name: &str) -> ResourceType {
    ResourceType::from_storage(&name.replace(' ', "_")).expect("a type of rule 2's table")
}

fn permissions<'a>(names: impl IntoIterator<Item = &'a String>) -> PermissionSet {
    names
        .into_iter()
        .map(|name| Permission::lookup(name).expect("a permission of the catalogue"))
        .collect()
}

fn ids(ids: &std::collections::BTreeSet<String>) -> Vec<ResourceId> {
    ids.iter()
        .map(|id| ResourceId::from_trusted(id.clone()))
        .collect()
}

/// The facts the store would read for the scenario (what storage computes:
/// role permissions with grants; nothing for a deactivated member).
fn facts(s: &Scenario) -> AccessFacts {
    if !s.exists {
        return AccessFacts::no_account();
    }
    let membership = s.member.as_ref().map(|member| {
        let (role, role_permissions) = match &member.role {
            RoleSpec::Builtin(name) => (
                name.clone(),
                builtin_role(name).expect("a built-in role").permissions(),
            ),
            RoleSpec::Custom(set) => ("custom".to_owned(), permissions(set)),
        };
        let status = if member.deactivated {
            MembershipStatus::Deactivated
        } else {
            MembershipStatus::Active
        };
        let (permissions, scopes) = match status {
            MembershipStatus::Active => (
                role_permissions.union(permissions(&member.grants)),
                Scopes::build(
                    "scopes",
                    member
                        .scopes
                        .iter()
                        .map(|(kind, set)| (resource_type(kind), ids(set))),
                )
                .expect("valid scopes"),
            ),
            MembershipStatus::Deactivated => (PermissionSet::EMPTY, Scopes::default()),
        };
        let ends = AccessEnds {
            membership: member.ended.map(end),
            grants: member
                .timed_grants
                .iter()
                .map(|(name, ended)| (Permission::lookup(name).expect("a permission"), end(*ended)))
                .collect(),
            scopes: member
                .scope_ends
                .iter()
                .map(|((kind, id), ended)| {
                    (
                        resource_type(kind),
                        ResourceId::from_trusted(id.clone()),
                        end(*ended),
                    )
                })
                .collect(),
        };
        MemberAccess {
            is_owner: role == OWNER_ROLE,
            role,
            status,
            permissions,
            scopes,
            ends,
        }
    });
    AccessFacts {
        revision: 1,
        account: Some(AccountFacts {
            parent_id: s.parent.map(|_| AccountId::from_trusted("team".into())),
            parent_revision: s.parent.map(|_| 1),
            shared_templates: ids(&s.shared_templates),
            shared_suppression_lists: ids(&s.shared_suppression_lists),
            state: if s.closed {
                AccountState::Closed
            } else {
                AccountState::Open
            },
            require_two_factor: s.two_factor,
        }),
        membership,
        owned_parent_state: s.parent.flatten().map(|open| {
            if open {
                AccountState::Open
            } else {
                AccountState::Closed
            }
        }),
    }
}

/// Even sampling: the pure function affords many cases.
const EVEN: model::Weights = model::Weights {
    parent: 0.5,
    rule_5: 1,
    broad_roles: 1,
    ends: true,
};

/// The instant the property decides at.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("a valid instant")
}

/// An end that has passed at [`now`] (the end instant itself: access runs up
/// to its end, not through it), or one a millisecond ahead.
fn end(ended: bool) -> DateTime<Utc> {
    if ended {
        now()
    } else {
        now() + chrono::Duration::milliseconds(1)
    }
}

proptest! {
    #![proptest_config(Config {
        cases: 4096,
        // A failure is saved here (committed when it happens), and replayed
        // first on every later run.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/it_decide.txt",
        ))),
        ..Config::default()
    })]

    /// Never an allow the model denies (nor a denial it allows), and the
    /// reason is one the model gives.
    #[test]
    fn decide_agrees_with_the_reference_model(s in model::scenario(EVEN)) {
        let check = Check {
            user_id: UserId::from_trusted("u".into()),
            account_id: AccountId::from_trusted("a".into()),
            permission: Permission::lookup(&s.permission).expect("a permission of the catalogue"),
            resource: s.resource.as_ref().map(|(kind, id)| Resource {
                resource_type: resource_type(kind),
                id: ResourceId::from_trusted(id.clone()),
            }),
            mfa_verified: s.mfa_verified,
        };
        let decision = decide(&facts(&s), &check, now());
        let expected = model::expect(&s);
        prop_assert_eq!(decision.allowed, expected.allowed, "{:?} -> {:?}", expected, decision);
        prop_assert!(
            expected.reasons.contains(&decision.reason.code()),
            "reason {:?}, the model accepts {:?}",
            decision.reason,
            expected.reasons
        );
    }
}
