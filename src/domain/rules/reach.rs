//! Rule 6 of docs/domain.md, the one place it is written: what one member's
//! permissions and scopes cover. Every use case that grants (invite, change a
//! member, approve a request), edits (a role held by others) or acts on
//! another member (change, deactivate, reactivate, remove) asks this question,
//! so "holds the permission" never stands in for "holds it everywhere".

use crate::domain::model::{ResourceType, Scopes};
use crate::domain::permissions::PermissionSet;

/// What a member may do, or would be able to do after a change: permissions
/// (the implicit ones included) and the scopes that narrow them.
#[derive(Clone, Copy, Debug)]
pub struct Reach<'a> {
    /// The permissions held.
    pub permissions: PermissionSet,
    /// The resource types limited to chosen ids.
    pub scopes: &'a Scopes,
}

/// The part of a reach that another does not cover; empty when covered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uncovered {
    /// Permissions held by the one and not by the other.
    pub permissions: PermissionSet,
    /// Resource types on which the other is scoped and the one reaches ids
    /// outside that scope (unscoped, or scoped to other ids).
    pub resource_types: Vec<ResourceType>,
}

impl Uncovered {
    /// Whether everything is covered.
    pub fn is_empty(&self) -> bool {
        self.permissions.is_empty() && self.resource_types.is_empty()
    }

    /// The uncovered part for a person: permission names, then scoped types.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.permissions.is_empty() {
            parts.push(format!("permissions {}", self.permissions.names().join(", ")));
        }
        if !self.resource_types.is_empty() {
            let types: Vec<&str> = self.resource_types.iter().map(|t| t.as_str()).collect();
            parts.push(format!(
                "resources of type {} outside your scope",
                types.join(", ")
            ));
        }
        parts.join("; ")
    }
}

impl Reach<'_> {
    /// What of `other` lies outside this reach. `other` is covered when it
    /// holds no permission this reach lacks and, on every resource type this
    /// reach is scoped on and `other` reaches, is scoped too, to ids within
    /// this reach's.
    ///
    /// `other` reaches a type when it holds a permission that may be checked
    /// against a resource of it (rule 2's table): an unscoped viewer holds
    /// no list permission and reaches no list, so an actor scoped to list 4
    /// covers them; an unscoped list manager reaches every list, and that
    /// actor does not.
    pub fn uncovered(&self, other: &Reach<'_>) -> Uncovered {
        let resource_types = self
            .scopes
            .iter()
            .filter(|(resource_type, ids)| {
                resource_type.reached_by(other.permissions)
                    && !other
                        .scopes
                        .ids_of(*resource_type)
                        .is_some_and(|other_ids| other_ids.is_subset(ids))
            })
            .map(|(resource_type, _)| resource_type)
            .collect();
        Uncovered {
            permissions: other.permissions.difference(self.permissions),
            resource_types,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::ResourceId;
    use crate::domain::permissions::Permission;

    fn lists(ids: &[&str]) -> Scopes {
        Scopes::build(
            "scopes",
            [(
                ResourceType::List,
                ids.iter()
                    .map(|id| ResourceId::from_trusted((*id).into()))
                    .collect(),
            )],
        )
        .unwrap()
    }

    fn set(permissions: &[Permission]) -> PermissionSet {
        PermissionSet::of(permissions)
    }

    #[test]
    fn an_unscoped_actor_covers_any_scope_of_what_it_holds() {
        let unscoped = Scopes::default();
        let four = lists(&["4"]);
        let actor = Reach {
            permissions: set(&[Permission::LISTS_EDIT, Permission::LISTS_VIEW]),
            scopes: &unscoped,
        };
        for scopes in [&unscoped, &four] {
            let other = Reach {
                permissions: set(&[Permission::LISTS_EDIT]),
                scopes,
            };
            assert!(actor.uncovered(&other).is_empty());
        }
        let more = Reach {
            permissions: set(&[Permission::LISTS_EXPORT]),
            scopes: &four,
        };
        assert_eq!(
            actor.uncovered(&more).permissions,
            set(&[Permission::LISTS_EXPORT])
        );
    }

    #[test]
    fn a_scoped_actor_covers_only_narrower_scopes_of_the_same_type() {
        let unscoped = Scopes::default();
        let four = lists(&["4"]);
        let four_nine = lists(&["4", "9"]);
        let actor = Reach {
            permissions: PermissionSet::all(),
            scopes: &four_nine,
        };
        let covered_lister = |scopes: &Scopes| {
            actor
                .uncovered(&Reach {
                    permissions: set(&[Permission::LISTS_VIEW]),
                    scopes,
                })
                .is_empty()
        };
        assert!(covered_lister(&four));
        assert!(covered_lister(&four_nine));
        assert!(!covered_lister(&lists(&["4", "5"])));
        assert!(!covered_lister(&unscoped), "unscoped reaches every list");
        // Contacts live in lists: a contacts permission reaches lists too.
        let contacts = Reach {
            permissions: set(&[Permission::CONTACTS_VIEW]),
            scopes: &unscoped,
        };
        assert!(!actor.uncovered(&contacts).is_empty());
    }

    #[test]
    fn a_scope_on_a_type_the_other_does_not_reach_is_not_compared() {
        let unscoped = Scopes::default();
        let four = lists(&["4"]);
        let actor = Reach {
            permissions: PermissionSet::all(),
            scopes: &four,
        };
        // A viewer (campaigns and reports) reaches no list at all.
        let viewer = Reach {
            permissions: set(&[Permission::CAMPAIGNS_VIEW, Permission::REPORTS_VIEW]),
            scopes: &unscoped,
        };
        assert!(actor.uncovered(&viewer).is_empty());
    }
}
