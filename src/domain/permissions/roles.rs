//! The built-in roles of docs/domain.md: seeded, immutable, the same in
//! every account, each defined over the permission catalogue's constants.

use super::{Permission, PermissionSet};

/// A built-in role: seeded, immutable, the same in every account.
#[derive(Debug)]
pub struct BuiltinRole {
    /// The role name callers use, e.g. `list_manager`.
    pub name: &'static str,
    /// One line for role pickers.
    pub description: &'static str,
    /// Counts toward the account's limit on restricted roles (Mailjet's "accesses").
    pub restricted: bool,
    grants: Grants,
}

#[derive(Debug)]
enum Grants {
    /// Everything except these permissions.
    AllBut(&'static [Permission]),
    /// Everything in these areas plus these single permissions, minus exclusions.
    Pick {
        areas: &'static [&'static str],
        permissions: &'static [Permission],
    },
}

impl BuiltinRole {
    /// The role's permissions, including the implicit ones.
    pub fn permissions(&self) -> PermissionSet {
        let granted: PermissionSet = match self.grants {
            Grants::AllBut(excluded) => PermissionSet::all().difference(PermissionSet::of(excluded)),
            Grants::Pick { areas, permissions } => Permission::all()
                .filter(|p| areas.contains(&p.area()))
                .collect::<PermissionSet>()
                .union(PermissionSet::of(permissions)),
        };
        granted.with_implicit()
    }
}

/// Name of the owner role.
pub const OWNER_ROLE: &str = "owner";
/// Name of the role an old owner gets after a transfer.
pub const ADMIN_ROLE: &str = "admin";

/// The built-in roles of docs/domain.md, in the order role pickers show them.
pub const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        name: OWNER_ROLE,
        description: "Everything; exactly one per account",
        restricted: false,
        grants: Grants::AllBut(&[]),
    },
    BuiltinRole {
        name: ADMIN_ROLE,
        description: "Everything but transferring ownership (Mailchimp Admin)",
        restricted: false,
        grants: Grants::AllBut(&[Permission::ACCOUNT_TRANSFER]),
    },
    BuiltinRole {
        name: "account_manager",
        description: "Everything but transferring ownership and closing the account (Mailigen Account Manager)",
        restricted: false,
        grants: Grants::AllBut(&[Permission::ACCOUNT_TRANSFER, Permission::ACCOUNT_CLOSE]),
    },
    BuiltinRole {
        name: "manager",
        description: "Create and send campaigns, import lists, view reports (Mailchimp Manager)",
        restricted: false,
        grants: Grants::Pick {
            areas: &["segments"],
            permissions: &[
                Permission::CAMPAIGNS_VIEW,
                Permission::CAMPAIGNS_EDIT,
                Permission::CAMPAIGNS_SEND,
                Permission::CAMPAIGNS_PAUSE,
                Permission::TEMPLATES_VIEW,
                Permission::TEMPLATES_EDIT,
                Permission::LISTS_VIEW,
                Permission::LISTS_IMPORT,
                Permission::CONTACTS_VIEW,
                Permission::CONTACTS_ADD,
                Permission::CONTACTS_EDIT,
                Permission::REPORTS_VIEW,
                Permission::REPORTS_SUBSCRIBER,
                Permission::AUTOMATIONS_VIEW,
            ],
        },
    },
    BuiltinRole {
        name: "author",
        description: "Create, edit and delete campaigns, templates and automations; view reports (Mailchimp Author)",
        restricted: false,
        grants: Grants::Pick {
            areas: &["automations"],
            permissions: &[
                Permission::CAMPAIGNS_VIEW,
                Permission::CAMPAIGNS_EDIT,
                Permission::CAMPAIGNS_DELETE,
                Permission::TEMPLATES_VIEW,
                Permission::TEMPLATES_EDIT,
                Permission::TEMPLATES_DELETE,
                Permission::REPORTS_VIEW,
            ],
        },
    },
    BuiltinRole {
        name: "viewer",
        description: "View reports and campaigns (Mailchimp Viewer)",
        restricted: false,
        grants: Grants::Pick {
            areas: &[],
            permissions: &[Permission::REPORTS_VIEW, Permission::CAMPAIGNS_VIEW],
        },
    },
    BuiltinRole {
        name: "power_user",
        description: "The entire account except account sharing (Mailjet Manager)",
        restricted: false,
        grants: Grants::AllBut(&[
            Permission::USERS_VIEW,
            Permission::USERS_INVITE,
            Permission::USERS_EDIT,
            Permission::USERS_REMOVE,
            Permission::ACCOUNT_CLOSE,
            Permission::ACCOUNT_TRANSFER,
        ]),
    },
    BuiltinRole {
        name: "accountant",
        description: "Plan details, deposits and invoices (Mailjet Accountant)",
        restricted: false,
        grants: Grants::Pick {
            areas: &["billing"],
            permissions: &[Permission::ACCOUNT_VIEW],
        },
    },
    BuiltinRole {
        name: "developer",
        description: "API keys, monitoring, transactional templates (Mailjet Developer)",
        restricted: true,
        grants: Grants::Pick {
            areas: &["transactional"],
            permissions: &[
                Permission::API_KEYS_MANAGE,
                Permission::MONITORING_MANAGE,
                Permission::TEMPLATES_LOCK,
            ],
        },
    },
    BuiltinRole {
        name: "marketer",
        description: "Lists, contacts, campaigns and automations; suggest transactional changes (Mailjet Marketer)",
        restricted: true,
        grants: Grants::Pick {
            areas: &["lists", "contacts", "segments", "campaigns", "automations"],
            permissions: &[
                Permission::TRANSACTIONAL_VIEW,
                Permission::TRANSACTIONAL_EDIT,
                Permission::REPORTS_VIEW,
            ],
        },
    },
    BuiltinRole {
        name: "designer",
        description: "Templates only, without publishing (Mailjet Designer)",
        restricted: true,
        grants: Grants::Pick {
            areas: &[],
            permissions: &[
                Permission::TEMPLATES_VIEW,
                Permission::TEMPLATES_EDIT,
                Permission::TEMPLATES_LOCK,
                Permission::TRANSACTIONAL_VIEW,
                Permission::TRANSACTIONAL_EDIT,
            ],
        },
    },
    BuiltinRole {
        name: "list_manager",
        description: "Lists, contacts and segments, usually scoped to chosen lists (Mailigen List Manager)",
        restricted: false,
        grants: Grants::Pick {
            areas: &["lists", "contacts", "segments"],
            permissions: &[],
        },
    },
    BuiltinRole {
        name: "collaborator",
        description: "Campaigns and templates without sending (Mailigen Collaborator)",
        restricted: false,
        grants: Grants::Pick {
            areas: &[],
            permissions: &[
                Permission::CAMPAIGNS_VIEW,
                Permission::CAMPAIGNS_EDIT,
                Permission::TEMPLATES_VIEW,
                Permission::TEMPLATES_EDIT,
                Permission::TEMPLATES_DELETE,
                Permission::REPORTS_VIEW,
            ],
        },
    },
    BuiltinRole {
        name: "watcher",
        description: "Reports with export, subscriber details, campaigns (Mailigen Watcher)",
        restricted: false,
        grants: Grants::Pick {
            areas: &[],
            permissions: &[
                Permission::REPORTS_VIEW,
                Permission::REPORTS_EXPORT,
                Permission::CONTACTS_VIEW,
                Permission::CAMPAIGNS_VIEW,
            ],
        },
    },
];

/// The built-in role with this name.
pub fn builtin_role(name: &str) -> Option<&'static BuiltinRole> {
    BUILTIN_ROLES.iter().find(|role| role.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_a_role_mentions_is_in_the_catalogue() {
        for role in BUILTIN_ROLES {
            let (areas, named): (&[&str], &[Permission]) = match role.grants {
                Grants::AllBut(named) => (&[], named),
                Grants::Pick { areas, permissions } => (areas, permissions),
            };
            // The single permissions are catalogue constants, checked while
            // compiling; the areas are names, checked here.
            for permission in named {
                assert_eq!(
                    Permission::lookup(permission.name()),
                    Some(*permission),
                    "{}",
                    role.name
                );
            }
            for area in areas {
                assert!(
                    Permission::all().any(|p| p.area() == *area),
                    "{}: {area}",
                    role.name
                );
            }
        }
    }
}
