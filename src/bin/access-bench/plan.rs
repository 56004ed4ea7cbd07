//! The data set's plan: every id follows from the run prefix and an index,
//! every member's role from its place, and every check the benchmark sends
//! comes with the answer the seeded data should give. `seed.rs` writes the
//! plan through the API.

use access_service::domain::permissions::{Permission, PermissionSet, builtin_role};
use access_service::grpc::pb;

use crate::pairs::{plain_checks, scoped_list_checks, split};
use crate::seed::Sizes;

/// Built-in roles handed out in turn to members, each with one permission
/// it grants and one it does not, so checks are half allowed, half denied.
/// `list_manager` is scoped: its denied check is a list outside its scope.
const ROLES: &[(&str, &str, &str)] = &[
    ("admin", "users.invite", "account.transfer"),
    ("account_manager", "users.remove", "account.close"),
    ("manager", "campaigns.send", "billing.view"),
    ("author", "campaigns.edit", "campaigns.send"),
    ("viewer", "reports.view", "campaigns.edit"),
    ("power_user", "billing.edit", "users.invite"),
    ("accountant", "billing.edit", "campaigns.view"),
    ("developer", "api_keys.manage", "lists.view"),
    ("marketer", "campaigns.send", "billing.view"),
    ("designer", "templates.edit", "templates.publish"),
    ("list_manager", "lists.edit", "lists.edit"),
    ("collaborator", "campaigns.edit", "campaigns.send"),
    ("watcher", "reports.export", "contacts.edit"),
];

/// The custom role some accounts define.
pub const CUSTOM_ROLE: &str = "campaign-editor";
/// Its permissions; its allowed and denied checks follow.
pub const CUSTOM_PERMISSIONS: &[&str] = &[
    "campaigns.view",
    "campaigns.edit",
    "campaigns.send",
    "reports.view",
];
const CUSTOM_ALLOWED: &str = "campaigns.send";
const CUSTOM_DENIED: &str = "billing.view";

/// Roles of the large account's members (its list shows a mix).
pub const BIG_ROLES: &[&str] = &["viewer", "author", "manager", "marketer", "designer"];

/// Templates the team parent shares with all its children.
pub const SHARED_TEMPLATES: usize = 5;

/// One check with the answer the seeded data should give.
#[derive(Clone)]
pub struct Key {
    /// The request.
    pub request: pb::AuthorizeRequest,
    /// Whether it should be allowed.
    pub allowed: bool,
}

/// The seeding plan: every id follows from the run prefix and an index.
pub struct Plan {
    /// Prefix of every id of this run.
    pub run: String,
    /// How large a data set.
    pub sizes: Sizes,
}

impl Plan {
    pub fn account(&self, i: usize) -> String {
        format!("{}-a{i}", self.run)
    }
    pub fn user(&self, i: usize, j: usize) -> String {
        format!("{}-a{i}-u{j}", self.run)
    }
    pub fn big(&self) -> String {
        format!("{}-big", self.run)
    }
    pub fn big_owner(&self) -> String {
        format!("{}-big-owner", self.run)
    }
    pub fn big_member(&self, k: usize) -> String {
        format!("{}-big-m{k}", self.run)
    }
    pub fn roamer(&self) -> String {
        format!("{}-roamer", self.run)
    }
    pub fn roamer_account(&self, k: usize) -> String {
        format!("{}-roam-{k}", self.run)
    }
    pub fn team(&self) -> String {
        format!("{}-team", self.run)
    }
    pub fn boss(&self) -> String {
        format!("{}-team-boss", self.run)
    }
    pub fn child(&self, k: usize) -> String {
        format!("{}-team-c{k}", self.run)
    }
    pub fn child_owner(&self, k: usize) -> String {
        format!("{}-team-c{k}-owner", self.run)
    }
    pub fn template(&self, t: usize) -> String {
        format!("{}-tpl{t}", self.run)
    }
    pub fn has_custom_role(&self, i: usize) -> bool {
        self.sizes.custom_role_every > 0 && i.is_multiple_of(self.sizes.custom_role_every)
    }
    /// Member j (≥ 1) of account i: the role, and its (allowed, denied) permissions.
    pub fn member_role(&self, i: usize, j: usize) -> (&'static str, &'static str, &'static str) {
        if j == 1 && self.has_custom_role(i) {
            return (CUSTOM_ROLE, CUSTOM_ALLOWED, CUSTOM_DENIED);
        }
        ROLES[(i * 7 + j) % ROLES.len()]
    }
    /// The lists a scoped list manager of account i may touch.
    pub fn scoped_lists(i: usize) -> Vec<String> {
        vec![format!("l{i}-1"), format!("l{i}-2")]
    }

    /// Every check the data set answers, with the expected answer.
    pub fn keys(&self) -> Vec<Key> {
        let check = |user: String, account: String, permission: &str, resource: Option<pb::Resource>| {
            pb::AuthorizeRequest {
                user_id: user,
                account_id: account,
                permission: permission.to_owned(),
                resource,
                context: None,
                consistency: None,
            }
        };
        let list = |id: String| {
            Some(pb::Resource {
                r#type: pb::ResourceType::List as i32,
                id,
            })
        };
        let mut keys = Vec::new();
        let accounts = self.sizes.accounts;
        for i in 0..accounts {
            let account = self.account(i);
            // The owner: everything at home, nothing in the next account.
            keys.push(Key {
                request: check(self.user(i, 0), account.clone(), "account.close", None),
                allowed: true,
            });
            keys.push(Key {
                request: check(
                    self.user(i, 0),
                    self.account((i + 1) % accounts),
                    "campaigns.view",
                    None,
                ),
                allowed: accounts == 1,
            });
            for j in 1..self.sizes.members_per_account {
                let (role, allowed, denied) = self.member_role(i, j);
                let (on_allowed, on_denied) = if role == "list_manager" {
                    (list(format!("l{i}-1")), list(format!("l{i}-9")))
                } else {
                    (None, None)
                };
                keys.push(Key {
                    request: check(self.user(i, j), account.clone(), allowed, on_allowed),
                    allowed: true,
                });
                keys.push(Key {
                    request: check(self.user(i, j), account.clone(), denied, on_denied),
                    allowed: false,
                });
            }
        }
        for k in 0..self.sizes.team_children {
            let template = Some(pb::Resource {
                r#type: pb::ResourceType::Template as i32,
                id: self.template(k % SHARED_TEMPLATES),
            });
            // The parent owner acts as owner in the child; the child's own
            // owner may use the shared template but not edit it.
            keys.push(Key {
                request: check(self.boss(), self.child(k), "templates.view", template.clone()),
                allowed: true,
            });
            keys.push(Key {
                request: check(self.child_owner(k), self.child(k), "templates.edit", template),
                allowed: false,
            });
        }
        for k in self.sizes.admin_write_targets..self.sizes.big_account_members {
            let role = BIG_ROLES[k % BIG_ROLES.len()];
            let (allowed, denied) = match role {
                "viewer" => ("reports.view", "campaigns.edit"),
                "author" => ("campaigns.edit", "campaigns.send"),
                "manager" => ("campaigns.send", "billing.view"),
                "marketer" => ("lists.export", "billing.view"),
                _ => ("templates.lock", "templates.publish"),
            };
            let permission = if k.is_multiple_of(2) { allowed } else { denied };
            keys.push(Key {
                request: check(self.big_member(k), self.big(), permission, None),
                allowed: k.is_multiple_of(2),
            });
        }
        keys
    }

    /// Checks grouped by (user, account) pair (see [`Dataset::pairs`]); the
    /// expected answers follow the built-in roles' definitions, and the run
    /// checks a sample of them against the server before measuring.
    pub fn pair_checks(&self) -> Vec<Vec<Key>> {
        let mut pairs = Vec::new();
        let accounts = self.sizes.accounts;
        for i in 0..accounts {
            let account = self.account(i);
            // The owner holds everything at home and nothing next door.
            let all = Permission::all().collect::<Vec<_>>();
            pairs.push(plain_checks(&self.user(i, 0), &account, &all, &[], i));
            let next = self.account((i + 1) % accounts);
            let (home, away) = if accounts == 1 {
                (&all[..], &[][..])
            } else {
                (&[][..], &all[..])
            };
            pairs.push(plain_checks(&self.user(i, 0), &next, home, away, i));
            for j in 1..self.sizes.members_per_account {
                let user = self.user(i, j);
                let (role, _, _) = self.member_role(i, j);
                if role == "list_manager" {
                    pairs.push(scoped_list_checks(&user, &account, i));
                    continue;
                }
                let granted = if role == CUSTOM_ROLE {
                    let named: Vec<Permission> = CUSTOM_PERMISSIONS
                        .iter()
                        .filter_map(|name| Permission::lookup(name))
                        .collect();
                    PermissionSet::of(&named).with_implicit()
                } else {
                    builtin_role(role).map_or(PermissionSet::EMPTY, |r| r.permissions())
                };
                let (allowed, denied) = split(granted);
                pairs.push(plain_checks(&user, &account, &allowed, &denied, i + j));
            }
        }
        for k in self.sizes.admin_write_targets..self.sizes.big_account_members {
            let role = BIG_ROLES[k % BIG_ROLES.len()];
            let granted = builtin_role(role).map_or(PermissionSet::EMPTY, |r| r.permissions());
            let (allowed, denied) = split(granted);
            pairs.push(plain_checks(
                &self.big_member(k),
                &self.big(),
                &allowed,
                &denied,
                k,
            ));
        }
        pairs
    }

    /// Every seeded (user, account) membership.
    pub fn memberships(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        for i in 0..self.sizes.accounts {
            for j in 0..self.sizes.members_per_account {
                pairs.push((self.user(i, j), self.account(i)));
            }
        }
        for k in 0..self.sizes.team_children {
            pairs.push((self.boss(), self.child(k)));
            pairs.push((self.child_owner(k), self.child(k)));
        }
        for k in self.sizes.admin_write_targets..self.sizes.big_account_members {
            pairs.push((self.big_member(k), self.big()));
        }
        pairs
    }
}
