//! A reference model of the Authorize decision, written from docs/domain.md
//! alone, so that the code is judged by the document and not by itself: the
//! catalogue, the built-in roles and rule 2's table of resource types are
//! read from the document's own tables, and rules 1-5 are written out below,
//! without calling the service's code. The property tests build random
//! scenarios ([`scenario`]), ask the service (the pure decision function in
//! `pure.rs`, the real server in `../decisions.rs`) and compare with
//! [`expect`]. It uses only std and proptest.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::{select, subsequence};

/// docs/domain.md, the model's only source.
const DOMAIN: &str = include_str!("../../../../docs/domain.md");

/// What the document says, as data.
pub struct Docs {
    /// The permission catalogue, in the document's order.
    pub catalogue: Vec<String>,
    /// Built-in roles and their permissions (without the implicit ones).
    pub roles: BTreeMap<String, BTreeSet<String>>,
    /// Rule 2: resource type (as the document names it) -> permission areas.
    pub types: BTreeMap<String, BTreeSet<String>>,
}

/// Permissions every role holds ("Every role also holds `account.view`").
pub const IMPLICIT: &str = "account.view";
/// The owner-only permission, never in a custom role or a grant.
pub const OWNER_ONLY: &str = "account.transfer";

/// The backticked words of a table cell.
fn ticked(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The rows of the first table after `heading`, as trimmed cells.
fn table_after(heading: &str) -> Vec<Vec<String>> {
    let start = DOMAIN
        .find(heading)
        .unwrap_or_else(|| panic!("docs/domain.md has no {heading:?}"));
    DOMAIN[start..]
        .lines()
        .skip_while(|line| !line.trim_start().starts_with('|'))
        .take_while(|line| line.trim_start().starts_with('|'))
        .skip(2) // the header and its rule
        .map(|line| {
            line.trim()
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

/// The document, parsed once.
pub static DOCS: LazyLock<Docs> = LazyLock::new(|| {
    let catalogue: Vec<String> = table_after("## Permission catalogue")
        .iter()
        .flat_map(|row| ticked(&row[0]))
        .collect();
    let everything: BTreeSet<String> = catalogue.iter().cloned().collect();
    let roles = table_after("## Built-in roles")
        .iter()
        .map(|row| {
            let name = ticked(&row[0]).remove(0);
            let cell = &row[2];
            let permissions: BTreeSet<String> = if cell.starts_with("everything") {
                let except: BTreeSet<String> = ticked(cell).into_iter().collect();
                everything.difference(&except).cloned().collect()
            } else {
                ticked(cell).into_iter().collect()
            };
            (name, permissions)
        })
        .collect();
    let types = table_after("2. **Scopes narrow by resource.**")
        .iter()
        .map(|row| (row[0].clone(), ticked(&row[1]).into_iter().collect()))
        .collect();
    Docs {
        catalogue,
        roles,
        types,
    }
});

/// The resource types of rule 2, as the document names them.
pub const LIST: &str = "list";
/// A template (rule 5).
pub const TEMPLATE: &str = "template";
/// A suppression list (rule 5).
pub const SUPPRESSION_LIST: &str = "suppression list";

/// The area of a permission: what comes before the dot.
pub fn area(permission: &str) -> &str {
    permission.split('.').next().unwrap_or(permission)
}

/// Rule 2's table: may `permission` be checked against a resource of `kind`?
pub fn admits(kind: &str, permission: &str) -> bool {
    DOCS.types
        .get(kind)
        .is_some_and(|areas| areas.contains(area(permission)))
}

/// Rule 5: what a shared resource of `kind` withholds in a child ("editing,
/// deleting, publishing, locking, labelling or re-sharing"; a suppression
/// list is "never changed").
fn read_only(kind: &str) -> (&'static [&'static str], &'static str) {
    match kind {
        TEMPLATE => (
            &[
                "templates.edit",
                "templates.delete",
                "templates.publish",
                "templates.lock",
                "templates.labels",
                "templates.share",
            ],
            "SHARED_TEMPLATE_READ_ONLY",
        ),
        SUPPRESSION_LIST => (&["suppressions.edit"], "SHARED_SUPPRESSION_LIST_READ_ONLY"),
        _ => (&[], ""),
    }
}

/// A member's role: built in (by name) or custom (its permissions).
#[derive(Clone, Debug)]
pub enum RoleSpec {
    /// One of the document's built-in roles.
    Builtin(String),
    /// A custom role of the account.
    Custom(BTreeSet<String>),
}

/// The user's own membership in the account.
#[derive(Clone, Debug)]
pub struct MemberSpec {
    /// Their role.
    pub role: RoleSpec,
    /// Deactivated rather than active.
    pub deactivated: bool,
    /// Extra grants.
    pub grants: BTreeSet<String>,
    /// Scopes: resource type -> ids.
    pub scopes: BTreeMap<String, BTreeSet<String>>,
    /// Rule 17: the membership's end, if any: whether it has passed.
    pub ended: Option<bool>,
    /// Rule 17: extra grants with an end: permission -> whether it has passed.
    pub timed_grants: BTreeMap<String, bool>,
    /// Rule 17: scope entries with an end: (type, id) -> whether it has passed.
    pub scope_ends: BTreeMap<(String, String), bool>,
}

impl MemberSpec {
    /// Whether this is the owner's membership.
    pub fn is_owner(&self) -> bool {
        matches!(&self.role, RoleSpec::Builtin(name) if name == "owner")
    }
}

/// One random situation and one check in it.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The account exists.
    pub exists: bool,
    /// The account is closed.
    pub closed: bool,
    /// The account requires two-factor.
    pub two_factor: bool,
    /// The caller says the session passed two-factor.
    pub mfa_verified: bool,
    /// None: a top-level account. Some(None): a child whose parent the user
    /// does not own. Some(Some(open)): a child whose parent the user owns.
    pub parent: Option<Option<bool>>,
    /// The user's own membership.
    pub member: Option<MemberSpec>,
    /// Template ids the parent shares into the account.
    pub shared_templates: BTreeSet<String>,
    /// Suppression list ids the parent shares into the account.
    pub shared_suppression_lists: BTreeSet<String>,
    /// The permission checked.
    pub permission: String,
    /// The resource checked, if any: (type, id).
    pub resource: Option<(String, String)>,
}

/// The model's answer: allowed or not, and the reasons it accepts (more
/// than one where the document does not say which rule speaks first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// Whether the check must be allowed.
    pub allowed: bool,
    /// Acceptable reasons, by their proto names without the prefix.
    pub reasons: Vec<&'static str>,
}

fn deny(reason: &'static str) -> Expected {
    Expected {
        allowed: false,
        reasons: vec![reason],
    }
}

/// What docs/domain.md says the answer is.
pub fn expect(s: &Scenario) -> Expected {
    // Rule 1: an unknown or closed account allows nothing.
    if !s.exists {
        return deny("ACCOUNT_NOT_FOUND");
    }
    if s.closed {
        return deny("ACCOUNT_CLOSED");
    }
    let everything: BTreeSet<String> = DOCS.catalogue.iter().cloned().collect();
    // Rule 4: the owner of the (open) parent has every permission here,
    // whatever their own membership says; nobody else gets anything from it.
    let (permissions, scopes) = if s.parent == Some(Some(true)) {
        (everything, BTreeMap::new())
    } else {
        let Some(member) = &s.member else {
            return deny("NOT_A_MEMBER");
        };
        if member.deactivated {
            return deny("MEMBERSHIP_INACTIVE");
        }
        // Rule 17: an ended membership grants nothing; the owner's never ends.
        if member.ended == Some(true) && !member.is_owner() {
            return deny("ACCESS_EXPIRED");
        }
        let mut permissions = match &member.role {
            RoleSpec::Builtin(name) => DOCS.roles[name].clone(),
            RoleSpec::Custom(permissions) => permissions.clone(),
        };
        permissions.extend(member.grants.iter().cloned());
        permissions.extend(
            member
                .timed_grants
                .iter()
                .filter(|(_, ended)| !**ended)
                .map(|(permission, _)| permission.clone()),
        );
        permissions.insert(IMPLICIT.to_owned());
        (permissions, member.scopes.clone())
    };
    let member_ends =
        |f: &dyn Fn(&MemberSpec) -> bool| s.parent != Some(Some(true)) && s.member.as_ref().is_some_and(f);
    // Rule 3, once the user is known to be in.
    if s.two_factor && !s.mfa_verified {
        return deny("MFA_REQUIRED");
    }
    if !permissions.contains(&s.permission) {
        // Rule 17: held only through a grant that has ended.
        if member_ends(&|m| m.timed_grants.get(&s.permission) == Some(&true)) {
            return deny("ACCESS_EXPIRED");
        }
        return deny("PERMISSION_NOT_GRANTED");
    }
    let Some((kind, id)) = &s.resource else {
        // Rule 2: no resource named, allowed on scoped types too.
        return Expected {
            allowed: true,
            reasons: vec!["ALLOWED"],
        };
    };
    let mut reasons = Vec::new();
    // Rule 5, in a child account only.
    let shared = match kind.as_str() {
        TEMPLATE => &s.shared_templates,
        SUPPRESSION_LIST => &s.shared_suppression_lists,
        _ => &BTreeSet::new(),
    };
    let (withheld, reason) = read_only(kind);
    if s.parent.is_some() && shared.contains(id) && withheld.contains(&s.permission.as_str()) {
        reasons.push(reason);
    }
    // Rule 2: a scoped type allows only the ids in the scope.
    if scopes.get(kind).is_some_and(|ids| !ids.contains(id)) {
        reasons.push("OUT_OF_SCOPE");
    } else if member_ends(&|m| m.scope_ends.get(&(kind.clone(), id.clone())) == Some(&true)) {
        // Rule 17: an ended scope entry takes its id out of reach.
        reasons.push("ACCESS_EXPIRED");
    }
    if reasons.is_empty() {
        Expected {
            allowed: true,
            reasons: vec!["ALLOWED"],
        }
    } else {
        Expected {
            allowed: false,
            reasons,
        }
    }
}

// === Random scenarios ===

/// How often scenarios meet what storage and the cache must carry: the
/// server-level property has few cases, so it leans on parents, shares and
/// broad roles; the pure one samples evenly. Each property says its own.
#[derive(Clone, Copy, Debug)]
pub struct Weights {
    /// Chance that the account is a child.
    pub parent: f64,
    /// Weight of rule 5's checks against any check (3).
    pub rule_5: u32,
    /// Weight of roles holding nearly everything against any role (4).
    pub broad_roles: u32,
    /// Whether memberships, grants and scope entries carry ends (rule 17).
    pub ends: bool,
}

/// Resource ids drawn from a small set, so scopes and shares meet checks.
pub const IDS: [&str; 3] = ["1", "2", "3"];

fn ids() -> impl Strategy<Value = BTreeSet<String>> {
    subsequence(IDS.to_vec(), 0..=IDS.len()).prop_map(|ids| ids.into_iter().map(str::to_owned).collect())
}

/// Permissions a custom role or a grant may carry: anything but owner-only.
fn grantable() -> Vec<String> {
    DOCS.catalogue
        .iter()
        .filter(|p| *p != OWNER_ONLY)
        .cloned()
        .collect()
}

fn role(weights: Weights) -> impl Strategy<Value = RoleSpec> {
    let builtin: Vec<String> = DOCS.roles.keys().cloned().collect();
    let broad: Vec<String> = ["admin", "account_manager", "power_user"]
        .map(str::to_owned)
        .to_vec();
    let grantable = grantable();
    let size = grantable.len();
    prop_oneof![
        3 => select(builtin).prop_map(RoleSpec::Builtin),
        1 => subsequence(grantable, 0..=size)
            .prop_map(|permissions| RoleSpec::Custom(permissions.into_iter().collect())),
        weights.broad_roles => select(broad).prop_map(RoleSpec::Builtin),
    ]
}

/// Scopes on up to two types, each to a non-empty set of ids.
fn scopes() -> impl Strategy<Value = BTreeMap<String, BTreeSet<String>>> {
    let kinds: Vec<String> = DOCS.types.keys().cloned().collect();
    proptest::collection::btree_map(
        select(kinds),
        subsequence(IDS.to_vec(), 1..=IDS.len()).prop_map(|ids| ids.into_iter().map(str::to_owned).collect()),
        0..=2,
    )
}

/// Ends of rule 17, when the weights ask for them: the membership's (or
/// none), timed grants, and for each scope entry an end or none.
type EndsDraw = (Option<bool>, BTreeMap<String, bool>, Vec<Option<bool>>);

fn ends(weights: Weights) -> BoxedStrategy<EndsDraw> {
    if !weights.ends {
        return Just((None, BTreeMap::new(), Vec::new())).boxed();
    }
    (
        prop::option::weighted(0.4, prop::bool::weighted(0.3)),
        proptest::collection::btree_map(select(grantable()), any::<bool>(), 0..=3),
        proptest::collection::vec(prop::option::weighted(0.5, any::<bool>()), 6),
    )
        .boxed()
}

/// A membership; the owner's is active, unscoped and has no grants, as the
/// service keeps it (and may carry an end, which must not count).
pub fn member(weights: Weights) -> impl Strategy<Value = MemberSpec> {
    let grantable = grantable();
    (
        role(weights),
        prop::bool::weighted(0.2),
        subsequence(grantable, 0..=3),
        scopes(),
        ends(weights),
    )
        .prop_map(
            |(role, deactivated, grants, scopes, (ended, timed_grants, entry_ends))| {
                let entries = scopes
                    .iter()
                    .flat_map(|(kind, ids)| ids.iter().map(move |id| (kind.clone(), id.clone())));
                let scope_ends = entries
                    .zip(entry_ends)
                    .filter_map(|(entry, end)| end.map(|ended| (entry, ended)))
                    .collect();
                let mut member = MemberSpec {
                    role,
                    deactivated,
                    grants: grants.into_iter().collect(),
                    scopes,
                    ended,
                    timed_grants,
                    scope_ends,
                };
                if member.is_owner() {
                    member.deactivated = false;
                    member.grants.clear();
                    member.scopes.clear();
                    member.timed_grants.clear();
                    member.scope_ends.clear();
                }
                member
            },
        )
}

/// A check: any ([`any_check`]), or one of rule 5's: a template or a
/// suppression list (even odds), with a permission sharing withholds or one
/// it keeps.
fn check(weights: Weights) -> impl Strategy<Value = (String, Option<(String, String)>)> {
    let of_kind = |kind: &'static str, kept: &'static [&'static str]| {
        let (withheld, _) = read_only(kind);
        let permissions: Vec<&'static str> = withheld.iter().chain(kept).copied().collect();
        (select(permissions), select(IDS.to_vec()))
            .prop_map(move |(permission, id)| (permission.to_owned(), Some((kind.to_owned(), id.to_owned()))))
    };
    let shared = prop_oneof![
        of_kind(TEMPLATE, &["templates.view", "campaigns.edit"]),
        of_kind(SUPPRESSION_LIST, &["suppressions.view"]),
    ];
    prop_oneof![3 => any_check(), weights.rule_5 => shared]
}

/// Any permission of the catalogue, and half the time a resource of a type
/// its area goes with.
fn any_check() -> impl Strategy<Value = (String, Option<(String, String)>)> {
    select(DOCS.catalogue.clone()).prop_flat_map(|permission| {
        let kinds: Vec<String> = DOCS
            .types
            .keys()
            .filter(|kind| admits(kind, &permission))
            .cloned()
            .collect();
        let resource = if kinds.is_empty() {
            Just(None).boxed()
        } else {
            prop::option::of((select(kinds), select(IDS.to_vec()).prop_map(str::to_owned))).boxed()
        };
        (Just(permission), resource)
    })
}

/// A whole scenario. `exists` and `closed` are drawn rarely: they end the
/// decision at once.
pub fn scenario(weights: Weights) -> impl Strategy<Value = Scenario> {
    (
        (
            prop::bool::weighted(0.95),
            prop::bool::weighted(0.05),
            prop::bool::weighted(0.2),
            any::<bool>(),
        ),
        prop::option::weighted(
            weights.parent,
            prop::option::weighted(0.3, prop::bool::weighted(0.8)),
        ),
        prop::option::weighted(0.9, member(weights)),
        (ids(), ids()),
        check(weights),
    )
        .prop_map(
            |((exists, closed, two_factor, mfa_verified), parent, member, shared, (permission, resource))| {
                // Only a child account has anything shared into it.
                let (shared_templates, shared_suppression_lists) = if parent.is_some() {
                    shared
                } else {
                    (BTreeSet::new(), BTreeSet::new())
                };
                Scenario {
                    exists,
                    closed,
                    two_factor,
                    mfa_verified,
                    parent,
                    member,
                    shared_templates,
                    shared_suppression_lists,
                    permission,
                    resource,
                }
            },
        )
}

#[test]
fn the_document_parses_into_a_usable_model() {
    let docs = &*DOCS;
    assert_eq!(docs.catalogue.len(), 50, "{:?}", docs.catalogue);
    assert_eq!(docs.roles.len(), 14);
    assert_eq!(docs.roles["owner"].len(), 50);
    assert!(!docs.roles["admin"].contains(OWNER_ONLY));
    assert!(docs.roles["viewer"].contains("campaigns.view"));
    assert_eq!(docs.types.len(), 6);
    assert!(admits(LIST, "contacts.edit") && !admits(LIST, "campaigns.view"));
    assert!(admits(SUPPRESSION_LIST, "suppressions.edit"));
}
